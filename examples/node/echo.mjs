// A device that answers every data channel opened to it: text comes back upper-cased, binary as it came.
// Run: PEERCAM_ROOM='peercam://room#k=...&b=mqtt://broker:1883' node echo.mjs
import { joinRoom } from 'peercam';

const room = await joinRoom({ link: process.env.PEERCAM_ROOM, name: 'echo' });
room.on('channel', (channel) => {
  console.log(`channel "${channel.label}" from ${channel.device}`);
  channel.on('message', (m) => channel.send(typeof m === 'string' ? m.toUpperCase() : m));
});
console.log(`echo: ${room.self} is in room ${room.room.id}`);
process.on('SIGTERM', () => void room.leave().then(() => process.exit(0)));
