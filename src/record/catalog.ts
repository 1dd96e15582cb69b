import { listCameras, listSegments, type SegmentInfo } from './store.js';

/** Segments closer than this are one span (file names carry ms; a session's segments meet exactly). */
const JOIN_MS = 50;

/** Contiguous segments as one span each. */
export function mergeSpans(segs: readonly SegmentInfo[]): { start: number; durationMs: number }[] {
  const out: { start: number; durationMs: number }[] = [];
  for (const s of segs) {
    const last = out.at(-1);
    if (last && Math.abs(last.start + last.durationMs - s.start) <= JOIN_MS) last.durationMs = s.start + s.durationMs - last.start;
    else out.push({ start: s.start, durationMs: s.durationMs });
  }
  return out.map((s) => ({ start: s.start, durationMs: Math.round(s.durationMs) }));
}

/** Every camera folder with something recorded, and the time its recordings cover (ISO). */
export function recordedCameras(root: string): { camera: string; start: string; end: string }[] {
  return listCameras(root).flatMap((camera) => {
    const segs = listSegments(root, camera);
    const first = segs[0];
    const last = segs.at(-1);
    return first && last ? [{ camera, start: iso(first.start), end: iso(last.start + last.durationMs) }] : [];
  });
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The MIME type with codecs (RFC 6381) of an fMP4 init segment, for MediaSource.addSourceBuffer: `avc1.PPCCLL` from
 * the avcC box (ISO/IEC 14496-15 5.3.3.1), `vp8` for a vp08 sample entry, `opus` for an Opus one.
 */
export function clipMime(init: Uint8Array): string {
  const codecs: string[] = [];
  const at = (fourcc: string) => {
    for (let i = 4; i + 4 <= init.length; i++)
      if (init[i] === fourcc.charCodeAt(0) && init[i + 1] === fourcc.charCodeAt(1) && init[i + 2] === fourcc.charCodeAt(2) && init[i + 3] === fourcc.charCodeAt(3)) return i;
    return -1;
  };
  const hex = (n: number | undefined) => (n ?? 0).toString(16).padStart(2, '0');
  const avcC = at('avcC');
  // Box type, then configurationVersion, AVCProfileIndication, profile_compatibility, AVCLevelIndication.
  if (avcC >= 0) codecs.push(`avc1.${hex(init[avcC + 5])}${hex(init[avcC + 6])}${hex(init[avcC + 7])}`);
  else if (at('vp08') >= 0) codecs.push('vp8');
  if (at('Opus') >= 0) codecs.push('opus');
  return `video/mp4; codecs="${codecs.join(',')}"`;
}
