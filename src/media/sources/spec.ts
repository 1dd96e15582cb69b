import { PeercamError } from '../../protocol/index.js';

/** What `--source` names. */
export type SourceSpec =
  /** The clip shipped with peercam; needs no ffmpeg. */
  | { readonly kind: 'demo' }
  /** ffmpeg's test pattern (lavfi testsrc2) with a running clock. */
  | { readonly kind: 'testsrc' }
  /** A video file, looped forever at its own pace. */
  | { readonly kind: 'file'; readonly path: string }
  /** A V4L2 camera (USB webcam, Pi camera). */
  | { readonly kind: 'v4l2'; readonly device: string }
  /** An IP camera's RTSP stream, forwarded without re-encoding. */
  | { readonly kind: 'rtsp'; readonly url: string };

const USAGE =
  'Use one of: demo, testsrc, file:PATH (a video file, looped), v4l2:/dev/videoN (a camera), rtsp://HOST[:PORT]/PATH (an IP camera).';

/** Parses a source spec; throws PeercamError('bad-config') saying what is accepted when it is not one. */
export function parseSourceSpec(spec: string): SourceSpec {
  const s = spec.trim();
  if (s === 'demo') return { kind: 'demo' };
  if (s === 'testsrc') return { kind: 'testsrc' };
  if (s.startsWith('file:')) {
    const path = s.slice('file:'.length);
    if (!path) throw PeercamError.config(`The source "${spec}" names no file. ${USAGE}`);
    return { kind: 'file', path };
  }
  if (s.startsWith('v4l2:') || /^\/dev\/video\d+$/.test(s)) {
    const device = s.startsWith('v4l2:') ? s.slice('v4l2:'.length) : s;
    if (!device.startsWith('/dev/')) {
      throw PeercamError.config(`The source "${spec}" needs a device path such as v4l2:/dev/video0. ${USAGE}`);
    }
    return { kind: 'v4l2', device };
  }
  if (/^rtsps?:\/\//i.test(s)) {
    let url: URL;
    try {
      url = new URL(s);
    } catch (cause) {
      throw new PeercamError('bad-config', `The RTSP address "${spec}" is not a valid URL. ${USAGE}`, { cause });
    }
    if (!url.hostname) throw PeercamError.config(`The RTSP address "${spec}" has no host. ${USAGE}`);
    return { kind: 'rtsp', url: s };
  }
  throw PeercamError.config(`Unknown source "${spec}". ${USAGE}`);
}

/** The spec as text again, with any RTSP password hidden: safe for logs and for presence. */
export function describeSourceSpec(spec: SourceSpec): string {
  switch (spec.kind) {
    case 'demo':
    case 'testsrc':
      return spec.kind;
    case 'file':
      return `file:${spec.path}`;
    case 'v4l2':
      return `v4l2:${spec.device}`;
    case 'rtsp': {
      const url = new URL(spec.url);
      if (url.password) url.password = '***';
      return url.toString();
    }
  }
}
