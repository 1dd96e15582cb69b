/**
 * Memory for the frames a recorder holds until its muxer has written them (about one keyframe interval), carved
 * from slabs that are used again instead of a new buffer per frame.
 *
 * Why: a buffer that lives a few seconds outlives V8's young generation, and the bytes of such buffers count
 * against the old generation's limit until a full collection frees them. A new buffer per frame made the recorder
 * run a full GC about once a second at 10 cameras of 2 Mb/s (docs/RECORDING.md, "Many cameras"); slabs that are
 * never freed grow nothing.
 *
 * Frames are numbered in the order they are taken. The holder says which frames it still needs by the number of
 * the oldest one (`release`): every slab whose frames are all older goes back for reuse. A holder that never calls
 * `release` gets fresh slabs as it goes, and the pool forgets the oldest beyond `maxSlabs` (left to the GC, never
 * reused): a missed release costs speed, never a frame.
 */
export class FramePool {
  /** Slabs holding frames, oldest first; the last one is being filled. */
  private readonly live: Slab[] = [];
  private readonly spare: Buffer[] = [];
  private nextSeq = 0;
  /** Slabs taken from the spares instead of allocated (stats, tests). */
  reused = 0;
  /** Slabs allocated. */
  allocated = 0;

  constructor(
    /** Bytes per slab: a few frames of the largest keyframes. */
    readonly slabBytes = 512 * 1024,
    /** Most slabs tracked (live and spare); past it the oldest is left to the GC. */
    readonly maxSlabs = 64,
    /** Spare slabs kept for reuse; more are left to the GC (the memory of a burst goes back). */
    readonly maxSpare = 2,
  ) {}

  /**
   * `size` bytes for the next frame, and its number. Not zeroed: the caller writes every byte. A frame larger than a
   * quarter of a slab gets a buffer of its own.
   */
  take(size: number): { readonly data: Uint8Array; readonly seq: number } {
    const seq = this.nextSeq++;
    if (size > this.slabBytes / 4) return { data: Buffer.allocUnsafeSlow(size), seq };
    let slab = this.live.at(-1);
    if (!slab || slab.used + size > slab.bytes.length) {
      slab = { bytes: this.newSlab(), used: 0, lastSeq: seq };
      this.live.push(slab);
      if (this.live.length + this.spare.length > this.maxSlabs) this.live.shift();
    }
    const data = slab.bytes.subarray(slab.used, slab.used + size);
    slab.used += size;
    slab.lastSeq = seq;
    return { data, seq };
  }

  /** Frames numbered below `oldestHeld` are no longer read by the holder: their slabs may be used again. */
  release(oldestHeld: number): void {
    while (this.live.length > 0 && this.live[0]!.lastSeq < oldestHeld) {
      const slab = this.live.shift()!;
      if (this.spare.length < this.maxSpare) this.spare.push(slab.bytes);
    }
  }

  private newSlab(): Buffer {
    const spare = this.spare.pop();
    if (spare) {
      this.reused++;
      return spare;
    }
    this.allocated++;
    return Buffer.allocUnsafeSlow(this.slabBytes);
  }
}

interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Number of the newest frame in it. */
  lastSeq: number;
}

/**
 * Frames handed to writers (a recorder's segment files) that have not written them yet, oldest first: the number of
 * the oldest one is what a FramePool holder still needs of them.
 */
export class HandedFrames<W> {
  private readonly queue: { readonly writer: W; readonly frames: readonly { readonly ticks: number; readonly seq: number }[]; written: number }[] = [];

  /** `frames` (in order, after every frame handed before) went to `writer`. */
  hand(writer: W, frames: readonly { readonly ticks: number; readonly seq: number }[]): void {
    this.queue.push({ writer, frames, written: 0 });
  }

  /** `writer` has written its frames below `belowTicks` (Infinity: all of them). */
  written(writer: W, belowTicks: number): void {
    for (const h of this.queue) {
      if (h.writer !== writer) continue;
      while (h.written < h.frames.length && h.frames[h.written]!.ticks < belowTicks) h.written++;
    }
    while (this.queue.length > 0 && this.queue[0]!.written === this.queue[0]!.frames.length) this.queue.shift();
  }

  /** The number of the oldest frame not written yet (Infinity when none). */
  get oldestSeq(): number {
    const h = this.queue[0];
    return h?.frames[h.written]?.seq ?? Number.POSITIVE_INFINITY;
  }
}
