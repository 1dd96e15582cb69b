import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { type AedesBroker, startAedes } from '../helpers/brokers.js';
import { cliHome, runCli, spawnCli } from '../helpers/cli.js';
import { type JanusWhip, startJanusWhip } from '../helpers/janus.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `peercam camera --whip-out` publishes to Debian's Janus (VideoRoom) through Meetecho's simple-whip-server. Janus'
 * libnice gathers no loopback candidates, so this namespace gets a veth address for Janus and the camera.
 */
const IFACE = 'pcjan0';
const ADDRESS = '10.79.0.1';

interface VideoroomPublisher {
  codec: string | undefined;
  packets: number;
  bytes: number;
}

describe('camera --whip-out to Janus through simple-whip-server', () => {
  let broker: AedesBroker;
  let janus: JanusWhip;

  before(async () => {
    execFileSync('ip', ['link', 'add', IFACE, 'type', 'veth', 'peer', 'name', 'pcjan1']);
    execFileSync('ip', ['addr', 'add', `${ADDRESS}/24`, 'dev', IFACE]);
    execFileSync('ip', ['link', 'set', IFACE, 'up']);
    execFileSync('ip', ['link', 'set', 'pcjan1', 'up']);
    broker = await startAedes();
    janus = await startJanusWhip({ iceInterface: IFACE });
  });
  after(async () => {
    await janus?.close();
    await broker?.stop();
    execFileSync('ip', ['link', 'del', IFACE]);
  });

  /** The VideoRoom publishers of the test room, from Janus' Admin API (handle_info of every handle). */
  async function publishers(): Promise<VideoroomPublisher[]> {
    const found: VideoroomPublisher[] = [];
    const { sessions = [] } = (await janus.admin({ janus: 'list_sessions' })) as { sessions?: number[] };
    for (const session_id of sessions) {
      const { handles = [] } = (await janus.admin({ janus: 'list_handles', session_id })) as { handles?: number[] };
      for (const handle_id of handles) {
        const { info } = (await janus.admin({ janus: 'handle_info', session_id, handle_id })) as { info?: HandleInfo };
        const plugin = info?.plugin_specific;
        if (info?.plugin !== 'janus.plugin.videoroom' || plugin?.type !== 'publisher' || plugin.room !== janus.room) continue;
        const video = Object.values(info.webrtc?.media ?? {}).find((m) => m.type === 'video');
        found.push({ codec: video?.codecs?.codec, packets: video?.stats?.in?.packets ?? 0, bytes: video?.stats?.in?.bytes ?? 0 });
      }
    }
    return found;
  }

  it('Janus VideoRoom receives the camera\'s H.264 (Admin API: a publisher with growing video bytes); stopping the camera DELETEs it', async () => {
    const home = await cliHome();
    const env = { ...home.env, PEERCAM_ICE_BIND: ADDRESS };
    assert.equal((await runCli(['room', 'new', '--no-qr'], env)).code, 0);
    const t0 = Date.now();
    const camera = spawnCli(['camera', '--source', 'demo', '--name', 'Porch', '--broker', broker.url, '--whip-out', janus.whipUrl, '--token', janus.token], env);
    try {
      await camera.waitFor(/WHIP output live/, 30_000);
      process.stdout.write(`# --whip-out to Janus: camera start -> live ${Date.now() - t0} ms\n`);
      let first: VideoroomPublisher | undefined;
      await waitFor(
        async () => {
          first = (await publishers()).find((p) => p.packets > 50);
          return first !== undefined;
        },
        { timeoutMs: 20_000, intervalMs: 250, what: 'a VideoRoom publisher receiving video' },
      );
      assert.equal(first?.codec, 'h264');
      // Still flowing a moment later, not a burst at the start.
      const before = first?.bytes ?? 0;
      await waitFor(async () => ((await publishers())[0]?.bytes ?? 0) > before + 20_000, { timeoutMs: 15_000, intervalMs: 250, what: 'more video bytes at Janus' });
      const [now] = await publishers();
      process.stdout.write(`# Janus VideoRoom publisher: ${JSON.stringify(now)}\n`);

      assert.equal(await camera.stop(), 0);
      await waitFor(async () => (await publishers()).length === 0, { timeoutMs: 15_000, intervalMs: 250, what: 'the Janus publisher to go after the WHIP DELETE' });
    } finally {
      await camera.kill();
      await home.remove();
    }
  });
});

interface HandleInfo {
  plugin?: string;
  plugin_specific?: { type?: string; room?: number };
  webrtc?: { media?: Record<string, { type?: string; codecs?: { codec?: string }; stats?: { in?: { packets?: number; bytes?: number } } }> };
}
