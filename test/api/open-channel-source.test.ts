import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type NodeRoom, joinRoom } from '../../src/api/node.js';
import { RecordingsServer } from '../../src/agent/recordings-server.js';
import { RECORDINGS_PRESENCE_SOURCE } from '../../src/agent/recorder.js';
import { concatBytes, newDeviceId, PeercamError, Room } from '../../src/protocol/index.js';
import { RECORDINGS_LABEL, RECORDINGS_SOURCE, type RecordingsOverview } from '../../src/protocol/recordings-wire.js';
import { buildClip, readClip } from '../../src/record/clip.js';
import { SealedChannel } from '../../src/signaling/channel.js';
import { MqttTransport } from '../../src/signaling/mqtt.js';
import { RecordingsLink } from '../../src/web/recordings/link.js';
import { RemoteRecorder } from '../../src/web/recordings/remote.js';
import { startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';
import { recordClip } from '../helpers/recorded-clip.js';
import { waitFor } from '../helpers/wait.js';
import { NO_ICE } from '../helpers/loopback.js';

const START = Date.UTC(2026, 0, 7, 9, 0, 0);

/**
 * `openChannel` with `source`: a device that answers one of its own sources with a data channel (the recorder's
 * RecordingsServer), reached through the high-level API as the Recordings page reaches it away from home (RemoteRecorder,
 * RecordingsLink over a PeerChannel), node-datachannel on both ends over Mosquitto.
 */
describe('openChannel to a source of the other device (the recorder’s recordings)', () => {
  const root = mkdtempSync(join(tmpdir(), 'peercam-api-source-'));
  let broker: MosquittoBroker;
  let recorderChannel: SealedChannel;
  let server: RecordingsServer;
  let member: NodeRoom;
  const serve = () =>
    new RecordingsServer({
      channel: recorderChannel,
      peerConfig: NO_ICE,
      root,
      engine: { bindAddress: '127.0.0.1' },
      status: () => ({ recording: ['Porch'], state: 'ok' }),
    });

  before(async () => {
    await recordClip(root, 'Porch', { start: START, seconds: 10, segmentMs: 5000 });
    broker = await startMosquitto();
    const room = await Room.create({ broker: broker.url });
    recorderChannel = new SealedChannel(room, new MqttTransport({ url: broker.url }), {
      self: newDeviceId(),
      presence: { name: 'recorder', role: 'viewer', sources: [RECORDINGS_PRESENCE_SOURCE] },
    });
    await recorderChannel.start();
    server = serve();
    member = await joinRoom({ link: room, name: 'member', bindAddress: '127.0.0.1' });
  });
  after(async () => {
    // The recorder's peers first: the member's leave() shuts the WebRTC engine down once no room is left, and
    // that waits for every connection of the process.
    await server?.close();
    await recorderChannel?.close();
    await member?.leave();
    await broker?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a channel offered for the default (a room device’s channel) is refused by the recorder; for `source` it opens', async () => {
    await waitFor(() => member.devices.has(recorderChannel.self), { timeoutMs: 15_000, what: 'the recorder present' });
    await assert.rejects(member.openChannel(recorderChannel.self, { label: RECORDINGS_LABEL, timeoutMs: 20_000 }), (err: unknown) => {
      assert.ok(err instanceof PeercamError, String(err));
      assert.match(err.message, /recordings only/);
      return true;
    });
    const ch = await member.openChannel(recorderChannel.self, { source: RECORDINGS_SOURCE, label: RECORDINGS_LABEL, timeoutMs: 20_000 });
    assert.equal(ch.label, RECORDINGS_LABEL);
    assert.equal(ch.device, recorderChannel.self);
    ch.close();
  });

  it('the Recordings page’s link over it: asks, a clip paced by credit, the same bytes as over HTTP; opens again after a drop', async () => {
    const remote = new RemoteRecorder(member);
    try {
      const link = await remote.open();
      const overview = await link.ask<RecordingsOverview>({ op: 'overview' });
      assert.deepEqual(
        overview.cameras.map((c) => c.camera),
        ['Porch'],
      );
      assert.equal(await remote.open(), link, 'an open link is reused');

      const credit = 60_000;
      const parts: Uint8Array[] = [];
      let done: number | undefined;
      const { id, header } = await link.clip('Porch', START + 2000, 6, credit, {
        onBytes: (b) => parts.push(b.slice()),
        onDone: (bytes) => {
          done = bytes;
        },
      });
      assert.ok(header.size > credit, JSON.stringify(header));
      const received = () => parts.reduce((n, p) => n + p.length, 0);
      await waitFor(() => received() >= credit, { timeoutMs: 10_000, what: 'the first credit' });
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(received() < credit + 241 * 1024 && done === undefined, `held at its credit: ${received()} of ${header.size} bytes`);
      link.credit(id, header.size);
      await waitFor(() => done !== undefined, { timeoutMs: 10_000, what: 'the end of the clip' });
      assert.equal(done, header.size);
      const expected: Uint8Array[] = [];
      const built = buildClip(root, 'Porch', START + 2000, 6000);
      assert.ok(built);
      for await (const c of readClip(built)) expected.push(c);
      assert.deepEqual(concatBytes(...parts), concatBytes(...expected));

      // The recorder restarts its server: the link drops, asks in flight fail, and the next open() connects anew.
      await server.close();
      await waitFor(() => !link.open, { timeoutMs: 15_000, what: 'the link closed' });
      await assert.rejects(link.ask({ op: 'overview' }), /closed/);
      server = serve();
      const again = await remote.open();
      assert.notEqual(again, link);
      assert.equal((await again.ask<RecordingsOverview>({ op: 'overview' })).state, 'ok');
    } finally {
      remote.close();
    }
  });

  it('an ask to a member that never answers (an old or stuck recorder) fails after its reply timeout instead of waiting forever', async () => {
    const room = member.room;
    const silent = await joinRoom({ link: room, name: 'silent', bindAddress: '127.0.0.1' });
    const got: string[] = [];
    silent.on('channel', (ch) => ch.on('message', (m) => got.push(String(m))));
    try {
      await waitFor(() => member.devices.has(silent.self), { timeoutMs: 15_000, what: 'the silent member present' });
      const ch = await member.openChannel(silent.self, { label: RECORDINGS_LABEL, timeoutMs: 20_000 });
      const link = new RecordingsLink(ch, 500);
      const outcome = await Promise.race([
        link.ask({ op: 'overview' }).then(
          () => 'answered',
          (err: unknown) => err,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5000)),
      ]);
      assert.ok(outcome instanceof PeercamError && outcome.code === 'timeout', String(outcome));
      assert.match(outcome.message, /did not answer "overview" within 0.5 s/);
      await waitFor(() => got.length === 1, { timeoutMs: 5000, what: 'the ask delivered' });
      link.close();
    } finally {
      await silent.leave();
    }
  });
});
