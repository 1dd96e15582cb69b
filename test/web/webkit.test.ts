import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
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

  before(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    hub = await startHubProcess();
    webkit = await WebKit.launch();
    process.stdout.write(`# WebKitGTK ${webkit.version}\n`);
  });
  after(async () => {
    await webkit?.close();
    await hub?.close();
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
});
