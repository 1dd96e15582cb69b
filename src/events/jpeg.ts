/**
 * A small baseline JPEG encoder (ITU T.81) for motion snapshots, straight from YUV 4:2:0 planes (what ffmpeg hands the
 * detector), with the example quantisation and Huffman tables of Annex K. Built for 100-px-high frames: tables are
 * made once, a 178x100 frame takes about a millisecond. (jpeg-js rebuilds its tables on every call: ~100 ms of CPU.)
 */

/** Annex K.1, table K.1 (luminance) and K.2 (chrominance), in natural (row-major) order. */
const LUMA_Q = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68,
  109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];
const CHROMA_Q = [17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99, ...Array<number>(32).fill(99)];

/** Zigzag position k -> natural index (Figure A.6). */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29,
  22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/** Annex K.3: code counts per length 1..16, and the symbols in code order. */
interface HuffSpec {
  readonly bits: readonly number[];
  readonly values: readonly number[];
}
const DC_LUMA: HuffSpec = { bits: [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
const DC_CHROMA: HuffSpec = { bits: [0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0], values: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] };
/**
 * Tables K.5 and K.6: the symbols with codes of up to 15 bits are listed; every other AC symbol (EOB 0x00, ZRL 0xf0,
 * run << 4 | size for sizes 1..10) has a 16-bit code, in ascending order, as in the standard's tables.
 */
const AC_LUMA = acSpec(
  [0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 0x7d],
  [
    0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23,
    0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82,
  ],
);
const AC_CHROMA = acSpec(
  [0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 0x77],
  [
    0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1,
    0xb1, 0xc1, 0x09, 0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1,
  ],
);

function acSpec(bits: number[], short: number[]): HuffSpec {
  const all = [0x00, 0xf0];
  for (let run = 0; run < 16; run++) for (let size = 1; size <= 10; size++) all.push((run << 4) | size);
  const rest = all.filter((s) => !short.includes(s)).sort((a, b) => a - b);
  const values = [...short, ...rest];
  if (bits.slice(0, 15).reduce((a, b) => a + b, 0) !== short.length || values.length !== 162) throw new Error('jpeg: bad AC table');
  return { bits, values };
}

/** Annex C: code and length per symbol. */
function codesOf(spec: HuffSpec): { code: Uint16Array; len: Uint8Array } {
  const code = new Uint16Array(256);
  const len = new Uint8Array(256);
  let c = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    for (let i = 0; i < spec.bits[l - 1]!; i++) {
      const v = spec.values[k++]!;
      code[v] = c++;
      len[v] = l;
    }
    c <<= 1;
  }
  return { code, len };
}

const TABLES = {
  dcLuma: codesOf(DC_LUMA),
  acLuma: codesOf(AC_LUMA),
  dcChroma: codesOf(DC_CHROMA),
  acChroma: codesOf(AC_CHROMA),
};

/** cos[u * 8 + x] = C(u) / 2 * cos((2x + 1) u pi / 16) (A.3.3). */
const COS = new Float64Array(64);
for (let u = 0; u < 8; u++) for (let x = 0; x < 8; x++) COS[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);

const quantCache = new Map<number, { luma: Uint8Array; chroma: Uint8Array }>();

/** IJG's quality scaling of the Annex K tables (1..100). */
function quantTables(quality: number): { luma: Uint8Array; chroma: Uint8Array } {
  const q = Math.min(100, Math.max(1, Math.round(quality)));
  const known = quantCache.get(q);
  if (known) return known;
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const make = (base: number[]) => Uint8Array.from(base, (b) => Math.min(255, Math.max(1, Math.floor((b * scale + 50) / 100))));
  const t = { luma: make(LUMA_Q), chroma: make(CHROMA_Q) };
  quantCache.set(q, t);
  return t;
}

class BitWriter {
  private buf = new Uint8Array(4096);
  length = 0;
  private acc = 0;
  private n = 0;

  byte(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = b;
  }

  bytes(bs: ArrayLike<number>): void {
    for (let i = 0; i < bs.length; i++) this.byte(bs[i]!);
  }

  word(w: number): void {
    this.byte(w >> 8);
    this.byte(w & 0xff);
  }

  /** Entropy-coded bits, most significant first, with 0xFF stuffed by 0x00 (F.1.2.3). */
  bits(value: number, count: number): void {
    this.acc = (this.acc << count) | (value & ((1 << count) - 1));
    this.n += count;
    while (this.n >= 8) {
      const b = (this.acc >> (this.n - 8)) & 0xff;
      this.byte(b);
      if (b === 0xff) this.byte(0);
      this.n -= 8;
    }
    this.acc &= (1 << this.n) - 1;
  }

  /** Pads the last byte with ones. */
  flush(): void {
    if (this.n > 0) this.bits(0x7f, 8 - this.n);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Bits needed for |v| (the size category, F.1.2.1). */
function category(v: number): number {
  let a = v < 0 ? -v : v;
  let s = 0;
  while (a > 0) {
    s++;
    a >>= 1;
  }
  return s;
}

/**
 * Encodes a YUV 4:2:0 planar frame (Y plane w*h, then U and V (w/2)*(h/2); even sizes) as a baseline JPEG.
 * `quality` 1..100 as in libjpeg. `range`: 'limited' for video levels (luma 16..235, what ffmpeg's yuv420p is),
 * stretched to JPEG's full range; 'full' as is.
 */
export function encodeJpeg420(width: number, height: number, yuv: Uint8Array, quality = 70, range: 'full' | 'limited' = 'full'): Uint8Array {
  if (width % 2 || height % 2 || yuv.length < (width * height * 3) / 2) throw new RangeError(`jpeg: a ${width}x${height} YUV 4:2:0 frame needs even sizes and ${(width * height * 3) / 2} bytes`);
  const q = quantTables(quality);
  const out = new BitWriter();
  out.word(0xffd8);
  // APP0 JFIF 1.01, no thumbnail.
  out.bytes([0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  out.bytes([0xff, 0xdb, 0, 132, 0]);
  for (let k = 0; k < 64; k++) out.byte(q.luma[ZIGZAG[k]!]!);
  out.byte(1);
  for (let k = 0; k < 64; k++) out.byte(q.chroma[ZIGZAG[k]!]!);
  out.bytes([0xff, 0xc0, 0, 17, 8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
  const specs: [number, HuffSpec][] = [[0x00, DC_LUMA], [0x10, AC_LUMA], [0x01, DC_CHROMA], [0x11, AC_CHROMA]];
  out.word(0xffc4);
  out.word(2 + specs.reduce((n, [, s]) => n + 17 + s.values.length, 0));
  for (const [id, s] of specs) {
    out.byte(id);
    out.bytes(s.bits);
    out.bytes(s.values);
  }
  out.bytes([0xff, 0xda, 0, 12, 3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0]);

  const cw = width / 2;
  const ch = height / 2;
  const uOff = width * height;
  const vOff = uOff + cw * ch;
  const block = new Float64Array(64);
  const tmp = new Float64Array(64);
  const coef = new Int32Array(64);
  const dc = [0, 0, 0];
  const limited = range === 'limited';
  const encodeBlock = (plane: number, pw: number, ph: number, bx: number, by: number, comp: 0 | 1 | 2) => {
    // Level shift to -128..127 (A.3.1), from video levels when limited (BT.601: 219 luma, 224 chroma steps).
    const gain = limited ? (comp === 0 ? 255 / 219 : 255 / 224) : 1;
    const zero = limited && comp === 0 ? 16 : 0;
    const shift = limited && comp === 0 ? 128 / gain : 128;
    for (let y = 0; y < 8; y++) {
      const row = plane + Math.min(by + y, ph - 1) * pw;
      for (let x = 0; x < 8; x++) block[y * 8 + x] = (yuv[row + Math.min(bx + x, pw - 1)]! - zero - shift) * gain;
    }
    // Separable 2-D DCT: rows, then columns.
    for (let y = 0; y < 8; y++)
      for (let u = 0; u < 8; u++) {
        let s = 0;
        for (let x = 0; x < 8; x++) s += COS[u * 8 + x]! * block[y * 8 + x]!;
        tmp[y * 8 + u] = s;
      }
    const qt = comp === 0 ? q.luma : q.chroma;
    for (let v = 0; v < 8; v++)
      for (let u = 0; u < 8; u++) {
        let s = 0;
        for (let y = 0; y < 8; y++) s += COS[v * 8 + y]! * tmp[y * 8 + u]!;
        coef[v * 8 + u] = Math.round(s / qt[v * 8 + u]!);
      }
    const dcT = comp === 0 ? TABLES.dcLuma : TABLES.dcChroma;
    const acT = comp === 0 ? TABLES.acLuma : TABLES.acChroma;
    const diff = coef[0]! - dc[comp]!;
    dc[comp] = coef[0]!;
    const s0 = category(diff);
    out.bits(dcT.code[s0]!, dcT.len[s0]!);
    if (s0) out.bits(diff < 0 ? diff - 1 : diff, s0);
    let run = 0;
    for (let k = 1; k < 64; k++) {
      const c = coef[ZIGZAG[k]!]!;
      if (c === 0) {
        run++;
        continue;
      }
      while (run > 15) {
        out.bits(acT.code[0xf0]!, acT.len[0xf0]!);
        run -= 16;
      }
      const s = category(c);
      const sym = (run << 4) | s;
      out.bits(acT.code[sym]!, acT.len[sym]!);
      out.bits(c < 0 ? c - 1 : c, s);
      run = 0;
    }
    if (run > 0) out.bits(acT.code[0]!, acT.len[0]!);
  };
  for (let my = 0; my < height; my += 16) {
    for (let mx = 0; mx < width; mx += 16) {
      encodeBlock(0, width, height, mx, my, 0);
      encodeBlock(0, width, height, mx + 8, my, 0);
      encodeBlock(0, width, height, mx, my + 8, 0);
      encodeBlock(0, width, height, mx + 8, my + 8, 0);
      encodeBlock(uOff, cw, ch, mx / 2, my / 2, 1);
      encodeBlock(vOff, cw, ch, mx / 2, my / 2, 2);
    }
  }
  out.flush();
  out.word(0xffd9);
  return out.result();
}
