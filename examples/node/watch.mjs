// Watches every camera of the room for a few seconds and prints what arrived (RTP in, frames counted).
import { joinRoom } from 'peercam';

const seconds = Number(process.argv[2] ?? 5);
const room = await joinRoom({ link: process.env.PEERCAM_ROOM, name: 'node watcher' });
const watches = [];
room.on('join', async (device) => {
  if (!device.sources?.length) return;
  const watch = await room.watch(device);
  watch.on('connected', ({ ms }) => console.log(`${device.name}: connected in ${ms} ms`));
  watches.push(watch);
});
await new Promise((r) => setTimeout(r, seconds * 1000));
for (const w of watches) console.log(`${w.device.name}: ${w.stats.frames} frames ${w.stats.width}x${w.stats.height} ${w.codec}`);
await room.leave();
