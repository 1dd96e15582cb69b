import { createServer } from 'node:http';
import { chromium } from 'playwright-core';
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox','--disable-gpu','--allow-loopback-in-peer-connection','--use-fake-device-for-media-stream','--use-fake-ui-for-media-stream','--disable-features=WebRtcHideLocalIpsWithMdns','--autoplay-policy=no-user-gesture-required','--enable-logging=stderr','--v=0','--vmodule=video_stream_encoder*=2,video_send_stream*=2,rtp_transport_controller_send*=2,pacing_controller*=1,bitrate_allocator*=2,video_receive_stream*=2,dtls_transport*=1'] });
const context = await browser.newContext();
const page = await context.newPage();
const srv = createServer((_q, r) => r.end('<html><body><video id=v muted autoplay playsinline></video></body></html>'));
await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
await page.goto(`http://127.0.0.1:${(srv.address() as { port: number }).port}/`);
const rates = (process.argv[2] ?? '1000,3000').split(',').map(Number);
const out: string[] = await page.evaluate(`(async () => {
  const rates = ${JSON.stringify(rates)};
  const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720 } });
  const res = [];
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const munge = (sdp, k) => {
    let video = false; const out = [];
    const lines = sdp.split('\\r\\n');
    const fm = new Set(lines.filter((l) => l.startsWith('a=fmtp:')).map((l) => l.split(' ')[0].slice(7)));
    for (const l of lines) {
      if (l.startsWith('m=')) video = l.startsWith('m=video');
      const m = video && /^a=rtpmap:(\\d+) (VP8|VP9|H264|AV1)\\//.exec(l);
      const f = video && /^a=fmtp:(\\d+) /.exec(l);
      if (f) { out.push(l + ';x-google-start-bitrate=' + k); continue; }
      out.push(l);
      if (m && !fm.has(m[1])) out.push('a=fmtp:' + m[1] + ' x-google-start-bitrate=' + k);
    }
    return out.join('\\r\\n');
  };
  for (let trial = 0; trial < 20; trial++) {
    const k = 1000; const want = rates[trial % rates.length] === 1 ? 'video/H264' : 'video/VP8';
    const viewer = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const vt = viewer.addTransceiver('video', { direction: 'recvonly' });

    const cam = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    viewer.onicecandidate = (e) => e.candidate && cam.addIceCandidate(e.candidate);
    cam.onicecandidate = (e) => e.candidate && viewer.addIceCandidate(e.candidate);
    const v = document.getElementById('v');
    const gotTrack = new Promise((r) => viewer.ontrack = (e) => r(e.streams[0] ?? new MediaStream([e.track])));
    await viewer.setLocalDescription(await viewer.createOffer());
    await cam.setRemoteDescription({ type: 'offer', sdp: munge(viewer.localDescription.sdp, k) });
    const t = cam.getTransceivers()[0];
    if (want === 'video/H264') { const cs = RTCRtpReceiver.getCapabilities('video').codecs; t.setCodecPreferences([...cs.filter((c) => c.mimeType === 'video/H264'), ...cs.filter((c) => c.mimeType !== 'video/H264')]); }
    await t.sender.replaceTrack(stream.getVideoTracks()[0]); t.direction = 'sendrecv';
    await cam.setLocalDescription(await cam.createAnswer());
    await viewer.setRemoteDescription(cam.localDescription);
    v.srcObject = await gotTrack;
    const connected = new Promise((r) => { const f = () => viewer.connectionState === 'connected' && r(performance.now()); viewer.onconnectionstatechange = f; f(); });
    const frame = new Promise((r) => v.requestVideoFrameCallback((now, md) => r({ now: performance.now(), w: md.width })));
    const tc = await connected;
    const marks = {}; let done = false; frame.then(() => (done = true));
    (async () => { while (!done) {
      const [a, b] = await Promise.all([cam.getStats(), viewer.getStats()]);
      const now = performance.now() - tc;
      a.forEach((s) => { if (s.type === 'outbound-rtp' && s.kind === 'video') { if (s.framesEncoded > 0 && !marks.enc) marks.enc = now; if (s.packetsSent > 0 && !marks.sent) marks.sent = now; } });
      b.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') { if (s.packetsReceived > 0 && !marks.recv) marks.recv = now; if (s.framesReceived > 0 && !marks.frecv) marks.frecv = now; if (s.framesDecoded > 0 && !marks.dec) marks.dec = now; } });
      await sleep(4);
    } })();
    const fr = await frame;
    const st = await viewer.getStats(); let bytes = 0, codec = '';
    st.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') bytes = s.bytesReceived; if (s.type === 'codec') codec = s.mimeType; });
    res.push(JSON.stringify(Object.fromEntries(Object.entries(marks).map(([a, b]) => [a, Math.round(b)]))) + ' ' + k + ' ' + codec + ' connected->frame ' + (fr.now - tc).toFixed(0) + ' ms, width ' + fr.w + ', bytes at frame+stats ' + bytes);
    viewer.close(); cam.close(); v.srcObject = null;
    await sleep(300);
  }
  return res;
})()`);
const by = new Map<string, number[]>();
for (const l of out) { console.log(l); const k = l.split(' ')[1]!; const ms = Number(/->frame (\d+)/.exec(l)?.[1]); by.set(k, [...(by.get(k) ?? []), ms]); }
for (const [k, v] of by) { v.sort((a, b) => a - b); console.log(k, 'median', v[v.length >> 1], 'all', v.join(',')); }
await browser.close();
srv.close();
