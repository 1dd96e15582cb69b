import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebKit } from '../helpers/webkit.js';
import { type HubProcess, startHubProcess } from './hub-process.js';
import { ARTIFACTS } from './pages.js';

/** What a page shows: the status pill and every notice (title + text). */
interface PageState {
  status: string;
  state: string;
  notices: string[];
}

const PAGE_STATE = `
  const s = document.getElementById('status');
  return { status: s ? s.textContent : '', state: s ? s.dataset.state : '',
    notices: [...document.querySelectorAll('.notice')].map((n) => n.innerText.replace(/\\s+/g, ' ')) };`;

/**
 * Safari's engine (issue 9 item 5): Debian's WebKitGTK (MiniBrowser over WebKitWebDriver, Xvfb, mock capture devices)
 * against a real `peercam up --demo`. It is built without WebRTC, so the pages go as far as WebKit allows (the hub's
 * CSP, the broker over WebSocket, presence, the camera preview) and then say plainly that there is no WebRTC.
 */
describe('the web app in WebKitGTK (Safari engine)', { timeout: 170_000 }, () => {
  let hub: HubProcess;
  let webkit: WebKit;
  const recordings = mkdtempSync(join(tmpdir(), 'peercam-webkit-'));

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    // The hub records its demo camera: the Recordings page plays at home over HTTP, which needs no WebRTC.
    hub = await startHubProcess({ args: ['--record', recordings, '--segment', '3s'] });
    webkit = await WebKit.launch();
    process.stdout.write(`# WebKitGTK ${webkit.version}\n`);
  });
  after(async () => {
    await webkit?.close();
    await hub?.close();
    rmSync(recordings, { recursive: true, force: true });
  });

  it('the viewer connects, lists the demo camera, and says this browser has no WebRTC', async () => {
    const t0 = Date.now();
    await webkit.navigate(hub.link);
    const online = await webkit.waitFor<PageState>(`${PAGE_STATE.replace('return', 'const r =')} return r.state === 'online' ? r : null;`, 30_000, 'the viewer "Connected"');
    process.stdout.write(`# WebKit viewer connected ${Date.now() - t0} ms after navigation\n`);
    assert.equal(online.status, 'Connected');
    // Presence works: the demo camera has a tile, which says why it cannot play.
    const tile = await webkit.waitFor<string>(
      `const t = [...document.querySelectorAll('.tile')].find((x) => x.querySelector('.name')?.textContent === 'Demo camera');
       return t && t.dataset.state === 'offline' ? t.querySelector('.stats').textContent : null;`,
      15_000,
      'the demo camera tile',
    );
    assert.match(tile, /this browser has no WebRTC/);
    const state = await webkit.execute<PageState>(PAGE_STATE);
    assert.ok(state.notices.some((n) => /^This browser has no WebRTC/.test(n)), JSON.stringify(state.notices));
    assert.ok(!state.notices.some((n) => /Something went wrong|insecure|Cannot reach/.test(n)), JSON.stringify(state.notices));
    // Sharing this camera (a call) needs WebRTC too: the button stays off and says why.
    const share = await webkit.waitFor<{ disabled: boolean; title: string }>(
      `const b = document.getElementById('share'); return document.body.dataset.ready === 'true' ? { disabled: b.disabled, title: b.title } : null;`,
      10_000,
      'the viewer ready',
    );
    assert.deepEqual(share, { disabled: true, title: 'this browser has no WebRTC: open the page in Safari, Chrome, Edge or Firefox' });
    await webkit.screenshot(`${ARTIFACTS}/webkit-viewer.png`);
  });

  it('the camera page connects and shows the camera preview (mock device), then says there is no WebRTC', async () => {
    const url = new URL(hub.link);
    await webkit.navigate(`${url.origin}/camera?autostart=1${url.hash}`);
    const preview = await webkit.waitFor<{ w: number; h: number }>(
      `const v = document.getElementById('preview'); return v && v.videoWidth > 0 && !v.paused ? { w: v.videoWidth, h: v.videoHeight } : null;`,
      30_000,
      'the camera preview playing',
    );
    assert.ok(preview.w > 0 && preview.h > 0);
    const state = await webkit.waitFor<PageState>(
      `${PAGE_STATE.replace('return', 'const r =')} return r.state === 'online' && r.notices.length > 0 ? r : null;`,
      30_000,
      'the camera page "Connected" and its notice',
    );
    assert.equal(state.status, 'Connected');
    assert.ok(state.notices.some((n) => /^This browser has no WebRTC/.test(n)), JSON.stringify(state.notices));
    assert.ok(!state.notices.some((n) => /Something went wrong|insecure|Cannot reach/.test(n)), JSON.stringify(state.notices));
    process.stdout.write(`# WebKit camera preview ${preview.w}x${preview.h}\n`);
    await webkit.screenshot(`${ARTIFACTS}/webkit-camera.png`);
  });

  it('the Recordings page plays a recording over HTTP (the clip in a <video>, Range requests) and seeks in it', async () => {
    const url = new URL(hub.link);
    await webkit.navigate(`${url.origin}/recordings${url.hash}`);
    // 6 s recorded at least (the earlier tests took that long; a reload shows what was recorded since).
    await webkit.waitFor<boolean>(
      `const m = /(\\d+) s this day/.exec(document.getElementById('summary').textContent || '');
       if (m && Number(m[1]) >= 6 || /min/.test(document.getElementById('summary').textContent || '')) return true;
       location.reload(); return false;`,
      60_000,
      '6 s recorded',
    );
    await webkit.waitFor<boolean>(`const b = document.querySelectorAll('.span-link'); if (!b.length) return false; b[b.length - 1].click(); return true;`, 15_000, 'a recording listed');
    const played = await webkit.waitFor<{ w: number; t: number; mse: string }>(
      `const v = document.getElementById('player');
       return v.videoWidth > 0 && v.currentTime > 1 ? { w: v.videoWidth, t: v.currentTime, mse: typeof ManagedMediaSource + '/' + typeof MediaSource } : null;`,
      30_000,
      'the recording playing',
    );
    assert.equal(played.w, 640);
    await webkit.execute('const v = document.getElementById("player"); v.currentTime = 0.2;');
    await webkit.waitFor<boolean>(`const v = document.getElementById('player'); return !v.seeking && v.currentTime > 0.3 && v.currentTime < 1.5;`, 15_000, 'the seek back');
    const state = await webkit.execute<PageState>(PAGE_STATE);
    assert.ok(!state.notices.some((n) => /Something went wrong|Cannot play/.test(n)), JSON.stringify(state.notices));
    process.stdout.write(`# WebKit played a recording over HTTP (ManagedMediaSource/MediaSource: ${played.mse})\n`);
    await webkit.screenshot(`${ARTIFACTS}/webkit-recordings.png`);

    // What an iPhone does away from home, as far as this WebKit goes without WebRTC: the player's way into WebKit's
    // ManagedMediaSource (remote playback off, an object URL, one SourceBuffer of the clip's type), fed the same
    // fragmented MP4 the recorder streams over the data channel, here fetched from the hub.
    await webkit.execute(`
      window.__mms = 'starting';
      (async () => {
        const clip = document.getElementById('download').href;
        const bytes = await (await fetch(clip)).arrayBuffer();
        const v = document.createElement('video');
        v.muted = true;
        v.disableRemotePlayback = true;
        document.body.append(v);
        const ms = new ManagedMediaSource();
        v.src = URL.createObjectURL(ms);
        await new Promise((r) => ms.addEventListener('sourceopen', r, { once: true }));
        const b = ms.addSourceBuffer('video/mp4; codecs="avc1.42c01f"');
        b.appendBuffer(bytes);
        await new Promise((r) => b.addEventListener('updateend', r, { once: true }));
        ms.endOfStream();
        await v.play();
        window.__mmsVideo = v;
        window.__mms = 'playing';
      })().catch((e) => (window.__mms = 'failed: ' + e));`);
    const managed = await webkit.waitFor<{ w: number; t: number; state: string } | null>(
      `const v = window.__mmsVideo; if (String(window.__mms).startsWith('failed')) return { w: 0, t: 0, state: window.__mms };
       return v && v.videoWidth > 0 && v.currentTime > 0.5 ? { w: v.videoWidth, t: v.currentTime, state: window.__mms } : null;`,
      30_000,
      'the clip playing through ManagedMediaSource',
    );
    assert.equal(managed?.state, 'playing');
    assert.equal(managed?.w, 640);
  });
});
