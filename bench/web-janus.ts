/**
 * bench:web's reference arm (j): the same measure for another project's viewer on the same machine, at the same
 * moment. Debian's Janus 1.1 (Streaming plugin, one RTP mountpoint with keyframe buffering on, `videobufferkf`, the
 * setting that made it fastest in issue 15's own measurement) fed by ffmpeg with the exact encode of arm (a)
 * (testsrc2 720p30 with its clock, 2 Mb/s, 4 s keyframe interval, libx264 as `peercam camera` runs it; not its
 * motion-analysis output), and a minimal viewer page:
 * a few lines of inline script that speak Janus's WebSocket API (no janus.js, no framework), its RTCPeerConnection
 * made at the script's first line. So it is close to the least a page can do here to show a WebRTC stream: what
 * is left of arm (a)'s time above it is ours.
 *
 * The page marks the same steps as peercam's pages (src/web/lib/timeline.ts): `online` (WebSocket open), `offer`
 * (Janus's offer received: here the server offers), `answer` (the page's answer set and sent), `ice`, `frame`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canDrawText, ffmpegArgs } from '../src/media/sources/ffmpeg-args.js';
import { freePort, untilListening } from '../test/helpers/brokers.js';
import { childProcesses, writeJanusConfig } from '../test/helpers/janus.js';

export interface JanusReference {
  /** The viewer page: open it in a fresh browser context per trial. */
  readonly url: string;
  output(): string;
  close(): Promise<void>;
}

const MOUNTPOINT = 1;
/**
 * Janus (libnice) gathers no candidate on loopback, so it gets an interface of its own inside the bench's namespace
 * (bench/lib.ts `isolate`) while the reference runs: a veth pair with both ends in it (this kernel has no dummy
 * interfaces). Its address is local to the namespace, so nothing leaves.
 */
const IFACE = 'pcjref0';

function ownInterface(up: boolean): void {
  if (!process.env.PEERCAM_ISOLATED) throw new Error('the Janus reference runs only inside the bench\'s own network namespace');
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'ignore' });
  if (!up) return void ip('link', 'del', IFACE);
  ip('link', 'add', IFACE, 'type', 'veth', 'peer', 'name', `${IFACE}p`);
  ip('addr', 'add', '10.203.0.1/24', 'dev', IFACE);
  ip('link', 'set', `${IFACE}p`, 'up');
  ip('link', 'set', IFACE, 'up');
}

/** The viewer page: Janus's WebSocket API by hand, marks as peercam's pages make them. */
function page(janusWs: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Janus reference</title>
<style>body{margin:0;background:#111}video{width:100%}</style>
<script>
const mark = (step) => performance.mark('peercam:' + step + ':janus');
mark('start');
const pc = new RTCPeerConnection();
const ws = new WebSocket(${JSON.stringify(janusWs)}, 'janus-protocol');
const waiting = new Map();
let n = 0;
const ask = (msg, until) => new Promise((resolve, reject) => {
  const transaction = 't' + ++n;
  waiting.set(transaction, { resolve, reject, until });
  ws.send(JSON.stringify({ ...msg, transaction }));
});
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  const w = waiting.get(m.transaction);
  if (!w || m.janus === 'ack') return;
  waiting.delete(m.transaction);
  if (m.janus === 'error' || m.plugindata?.data?.error) w.reject(new Error(e.data)); else w.resolve(m);
};
pc.ontrack = (e) => {
  const video = document.querySelector('video');
  video.srcObject = new MediaStream([e.track]);
  video.requestVideoFrameCallback(() => mark('frame'));
};
pc.oniceconnectionstatechange = () => { if (pc.iceConnectionState === 'connected') mark('ice'); };
ws.onopen = async () => {
  mark('online');
  const session = (await ask({ janus: 'create' })).data.id;
  const handle = (await ask({ janus: 'attach', session_id: session, plugin: 'janus.plugin.streaming' })).data.id;
  const to = { session_id: session, handle_id: handle };
  pc.onicecandidate = (e) => ws.send(JSON.stringify({ janus: 'trickle', ...to, transaction: 'c' + ++n, candidate: e.candidate ?? { completed: true } }));
  const watched = await ask({ janus: 'message', ...to, body: { request: 'watch', id: ${MOUNTPOINT} } });
  mark('offer');
  await pc.setRemoteDescription(watched.jsep);
  await pc.setLocalDescription(await pc.createAnswer());
  mark('answer');
  await ask({ janus: 'message', ...to, body: { request: 'start' }, jsep: pc.localDescription });
};
</script></head><body><video autoplay muted playsinline></video></body></html>`;
}

/** Janus (WebSocket API on 127.0.0.1, ICE on its own interface), ffmpeg feeding its mountpoint, and the page's server. */
export async function startJanusReference(ffmpeg = 'ffmpeg'): Promise<JanusReference> {
  const dir = await mkdtemp(join(tmpdir(), 'peercam-janus-ref-'));
  const [wsPort, rtpPort] = [await freePort(), await freePort()];
  // Warnings and errors only: its log must not cost it time.
  await writeJanusConfig(dir, { plugin: 'streaming', iceInterface: IFACE, wsPort, debugLevel: 3 });
  await writeFile(
    join(dir, 'janus.plugin.streaming.jcfg'),
    `general: { }
reference: {
  type = "rtp"
  id = ${MOUNTPOINT}
  description = "testsrc 720p30"
  audio = false
  video = true
  videoport = ${rtpPort}
  videopt = 96
  videocodec = "h264"
  videofmtp = "profile-level-id=42e01f;packetization-mode=1"
  videobufferkf = true
}
`,
  );
  const procs = childProcesses(dir);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(page(`ws://127.0.0.1:${wsPort}`));
  });
  const close = async () => {
    server.close();
    await procs.stop();
    await rm(dir, { recursive: true, force: true });
    ownInterface(false);
  };
  ownInterface(true);
  try {
    procs.start('janus', ['--configs-folder', dir, '--config', join(dir, 'janus.jcfg'), '--disable-colors']);
    await untilListening(wsPort, 30_000);
    const encode = { width: 1280, height: 720, fps: 30, bitrate: 2_000_000, gopSeconds: 4, preset: 'veryfast', codec: 'H264' } as const;
    procs.start(ffmpeg, ffmpegArgs({ kind: 'testsrc' }, { video: rtpPort }, { ...encode, clock: await canDrawText(ffmpeg) }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, output: procs.output, close };
  } catch (err) {
    await close();
    throw new Error(`the Janus reference did not start: ${String(err)}\n${procs.output()}`);
  }
}
