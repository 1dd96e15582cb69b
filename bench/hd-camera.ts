/**
 * One camera for `bench:record --hd`: loops a pre-encoded clip (Annex-B H.264, no encoder running) in the room, as
 * `peercam camera` would, so that 10 cameras at 720p30 2 Mb/s fit on a 2-core machine beside the recorder.
 *
 *   node --import tsx bench/hd-camera.ts LINK BROKER NAME CLIP
 */
import { startCamera } from '../src/agent/camera.js';
import { DemoSource } from '../src/media/sources/index.js';
import { newDeviceId, Room } from '../src/protocol/index.js';
import { SealedChannel } from '../src/signaling/channel.js';
import { MqttTransport } from '../src/signaling/mqtt.js';
import { NO_ICE } from '../test/helpers/loopback.js';

const [link = '', broker = '', name = 'hd', clip = ''] = process.argv.slice(2);
const room = await Room.fromLink(link);
const channel = new SealedChannel(room, new MqttTransport({ url: broker }), { self: newDeviceId(), presence: { name, role: 'camera' } });
await channel.start();
const camera = await startCamera({ channel, source: await DemoSource.open({ file: clip }), name, peerConfig: NO_ICE });
process.stdout.write(`camera "${name}" is live in room\n`);
process.on('SIGTERM', () => {
  void camera.close().then(() => channel.close()).finally(() => process.exit(0));
});
