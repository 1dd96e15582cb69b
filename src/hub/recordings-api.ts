import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { buildClip, readClip } from '../record/clip.js';
import { mergeSpans, recordedCameras } from '../record/catalog.js';
import { eventsJson, readSnapshot } from '../record/event-log.js';
import { MAX_EVENTS } from '../protocol/recordings-request.js';
import { cameraFolder } from '../protocol/index.js';
import { listSegments } from '../record/store.js';


/** A request handler of the hub's web server. */
export type RecordingsRoute = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface RecordingsApiOptions {
  /** The recordings folder (one folder per camera). */
  readonly root: string;
  /** The room's HTTP token (Room.credentials.httpToken). */
  readonly token: string;
  /** What the recorder running in this process says (cameras being recorded, disk state); absent when none runs. */
  readonly status?: () => { readonly recording: readonly string[]; readonly state: string; readonly error?: string | undefined };
}

/** Longest clip served at once (one request). */
const MAX_CLIP_MS = 6 * 3_600_000;

/**
 * The recordings API (MediaMTX-like), for members of the room only:
 * - `GET /api/recordings` -> `{cameras: [{camera, start, end}], recording, state, error}`
 * - `GET /api/recordings/list?camera=&start=&end=` -> `[{start, duration, url}]`: recorded spans (ISO start, seconds)
 * - `GET /api/recordings/get?camera=&start=&duration=[&download]` -> one fragmented MP4 cut at keyframes, with Range.
 * - `GET /api/recordings/events?[camera=]&start=&end=[&limit=]` -> `[{camera, event, start, duration, score, box,
 *   snapshot}]`: the motion events the recorder heard (ISO start, seconds; duration null while under way), of one camera
 *   or of all, oldest first; `limit` keeps the newest that many.
 * - `GET /api/recordings/snapshot?camera=&event=` -> the camera's JPEG still of that event.
 * The token goes in `Authorization: Bearer`, or for a `<video src>` or a download link in `access_token=` (RFC 6750
 * 2.1 and 2.3). No token or a wrong one: 401 and no bytes.
 */
export function recordingsRoutes(options: RecordingsApiOptions): Record<string, RecordingsRoute> {
  const member = tokenCheck(options.token);
  const guarded =
    (handler: (url: URL, req: IncomingMessage, res: ServerResponse) => Promise<void> | void): RecordingsRoute =>
    async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://hub');
      const verdict = member(req, url);
      if (verdict !== 'member') return unauthorized(res, verdict);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' });
        res.end();
        return;
      }
      await handler(url, req, res);
    };
  return {
    '/api/recordings': guarded((_url, _req, res) => {
      const cameras = recordedCameras(options.root);
      const status = options.status?.();
      sendJson(res, 200, { cameras, recording: status?.recording ?? [], state: status?.state ?? 'not-running', ...(status?.error ? { error: status.error } : {}) });
    }),
    '/api/recordings/list': guarded((url, _req, res) => {
      const camera = url.searchParams.get('camera');
      if (!camera) return badRequest(res, 'camera= is required (a camera name as in GET /api/recordings).');
      const start = time(url.searchParams.get('start'), 0);
      const end = time(url.searchParams.get('end'), Date.now() + 86_400_000);
      if (start === undefined || end === undefined) return badRequest(res, 'start= and end= are ISO 8601 times or ms since the epoch.');
      const spans = mergeSpans(listSegments(options.root, camera, start, end));
      sendJson(
        res,
        200,
        spans.map((s) => ({
          start: iso(s.start),
          duration: s.durationMs / 1000,
          url: `/api/recordings/get?camera=${encodeURIComponent(cameraFolder(camera))}&start=${encodeURIComponent(iso(s.start))}&duration=${s.durationMs / 1000}`,
        })),
      );
    }),
    '/api/recordings/events': guarded((url, _req, res) => {
      const camera = url.searchParams.get('camera') || undefined;
      const start = time(url.searchParams.get('start'), 0);
      const end = time(url.searchParams.get('end'), Date.now() + 86_400_000);
      if (start === undefined || end === undefined) return badRequest(res, 'start= and end= are ISO 8601 times or ms since the epoch.');
      const limit = Number(url.searchParams.get('limit') ?? MAX_EVENTS);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENTS) return badRequest(res, `limit= is a whole number from 1 to ${MAX_EVENTS}.`);
      sendJson(res, 200, eventsJson(options.root, camera, start, end, limit));
    }),
    '/api/recordings/snapshot': guarded((url, req, res) => {
      const camera = url.searchParams.get('camera');
      const event = url.searchParams.get('event');
      if (!camera || !event) return badRequest(res, 'camera= and event= are required (as in GET /api/recordings/events).');
      const jpeg = readSnapshot(options.root, camera, event);
      if (!jpeg) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`No still of event "${event}" of "${camera}" is kept.\n`);
        return;
      }
      // A still never changes: the browser keeps it (privately) for as long as the page lists it.
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': String(jpeg.length), 'cache-control': 'private, max-age=86400, immutable' });
      res.end(req.method === 'HEAD' ? undefined : jpeg);
    }),
    '/api/recordings/get': guarded(async (url, req, res) => {
      const camera = url.searchParams.get('camera');
      const start = time(url.searchParams.get('start'), undefined);
      const seconds = Number(url.searchParams.get('duration') ?? '60');
      if (!camera || start === undefined || !Number.isFinite(seconds) || seconds <= 0)
        return badRequest(res, 'camera=, start= (ISO 8601 or ms) and duration= (seconds) are required.');
      const clip = buildClip(options.root, camera, start, Math.min(seconds * 1000, MAX_CLIP_MS));
      if (!clip) {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`Nothing of "${camera}" is recorded at ${iso(start)}.\n`);
        return;
      }
      const range = parseRange(req.headers.range, clip.size);
      if (range === 'unsatisfiable') {
        res.writeHead(416, { 'content-range': `bytes */${clip.size}` });
        res.end();
        return;
      }
      const [from, to] = range ?? [0, clip.size - 1];
      const headers: Record<string, string> = {
        'content-type': 'video/mp4',
        'accept-ranges': 'bytes',
        'content-length': String(to - from + 1),
        'cache-control': 'private, no-store',
        'x-clip-start': iso(clip.start),
        'x-clip-duration': String(clip.durationMs / 1000),
      };
      if (range) headers['content-range'] = `bytes ${from}-${to}/${clip.size}`;
      if (url.searchParams.has('download')) headers['content-disposition'] = `attachment; filename="${cameraFolder(camera)}_${iso(clip.start).replace(/[:.]/g, '-')}.mp4"`;
      res.writeHead(range ? 206 : 200, headers);
      if (req.method === 'HEAD') return void res.end();
      for await (const chunk of readClip(clip, from, to)) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await new Promise<void>((r) => res.once('drain', r));
      }
      res.end();
    }),
  };
}

/** Consecutive segments that meet (one session cut every N seconds) are one span. */
type Verdict = 'member' | 'none' | 'wrong';

function tokenCheck(token: string): (req: IncomingMessage, url: URL) => Verdict {
  const expected = digest(token);
  return (req, url) => {
    const header = req.headers.authorization;
    const given = header !== undefined ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : url.searchParams.get('access_token');
    if (header === undefined && given === null) return 'none';
    // Digests: equal lengths, constant time.
    return given != null && timingSafeEqual(digest(given), expected) ? 'member' : 'wrong';
  };
}

function unauthorized(res: ServerResponse, verdict: Exclude<Verdict, 'member'>): void {
  res.writeHead(401, {
    'www-authenticate': verdict === 'wrong' ? 'Bearer realm="peercam", error="invalid_token"' : 'Bearer realm="peercam"',
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end("Recordings are for members of the room: send the room's HTTP token (Authorization: Bearer, or access_token=; the room link holds it).\n");
}

const digest = (v: string) => createHash('sha256').update(v).digest();
const iso = (ms: number) => new Date(ms).toISOString();

function time(text: string | null, fallback: number | undefined): number | undefined {
  if (text === null || text === '') return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  return Number.isFinite(n) ? n : undefined;
}

function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let from: number;
  let to: number;
  if (m[1] === '') {
    from = Math.max(0, size - Number(m[2]));
    to = size - 1;
  } else {
    from = Number(m[1]);
    to = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return from > to || from >= size ? 'unsatisfiable' : [from, to];
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

function badRequest(res: ServerResponse, why: string): void {
  res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(`${why}\n`);
}
