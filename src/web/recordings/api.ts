/** One recorded span of a camera, as GET /api/recordings/list gives it. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export interface Overview {
  readonly cameras: readonly { camera: string; start: string; end: string }[];
  readonly recording: readonly string[];
  readonly state: string;
  readonly error?: string;
}

/** The hub's recordings API with the room's HTTP token (derived from the room key in the page's link). */
export class RecordingsApi {
  constructor(private readonly token: string) {}

  async overview(): Promise<Overview | 'not-recording' | 'unauthorized'> {
    const r = await fetch('/api/recordings', { headers: this.headers() });
    if (r.status === 401) return 'unauthorized';
    if (r.status === 404) return 'not-recording';
    return (await r.json()) as Overview;
  }

  async spans(camera: string, from: number, to: number): Promise<Span[]> {
    const q = new URLSearchParams({ camera, start: new Date(from).toISOString(), end: new Date(to).toISOString() });
    const r = await fetch(`/api/recordings/list?${q}`, { headers: this.headers() });
    if (!r.ok) return [];
    const list = (await r.json()) as { start: string; duration: number }[];
    return list.map((s) => ({ start: Date.parse(s.start), end: Date.parse(s.start) + s.duration * 1000 }));
  }

  /** A clip URL a `<video>` or a download link can use (the token rides in access_token: they cannot send headers). */
  clipUrl(camera: string, start: number, seconds: number, download = false): string {
    const q = new URLSearchParams({ camera, start: new Date(start).toISOString(), duration: String(Math.max(1, Math.round(seconds))), access_token: this.token });
    if (download) q.set('download', '1');
    return `/api/recordings/get?${q}`;
  }

  /** Where the clip for `start` really begins (the keyframe at or before it) and how long it is. */
  async clipInfo(camera: string, start: number, seconds: number): Promise<{ start: number; seconds: number } | undefined> {
    const r = await fetch(this.clipUrl(camera, start, seconds), { method: 'HEAD' });
    if (!r.ok) return undefined;
    return { start: Date.parse(r.headers.get('x-clip-start') ?? ''), seconds: Number(r.headers.get('x-clip-duration')) };
  }

  private headers(): Record<string, string> {
    return { authorization: `Bearer ${this.token}` };
  }
}
