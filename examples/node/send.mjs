// Finds the device named "echo" in the room, opens a data channel to it, sends text, then 4 MiB of binary with
// backpressure (send() returns false: wait for drain()), and leaves once everything came back.
import { joinRoom } from 'peercam';

const room = await joinRoom({ link: process.env.PEERCAM_ROOM, name: 'sender' });
const echo = await new Promise((resolve) => room.on('join', (d) => d.name === 'echo' && resolve(d)));
const channel = await room.openChannel(echo, { label: 'chat' });

const text = new Promise((resolve) => channel.on('message', (m) => typeof m === 'string' && resolve(m)));
channel.send('hello over a data channel');
console.log(`echo said: ${await text}`);

let back = 0;
const total = 4 * 1024 * 1024;
const allBack = new Promise((resolve) => channel.on('message', (m) => typeof m !== 'string' && (back += m.length) >= total && resolve()));
for (let sent = 0; sent < total; sent += 16384) {
  if (!channel.send(new Uint8Array(16384).fill(sent / 16384))) await channel.drain();
}
await allBack;
console.log(`binary: ${back} bytes came back`);
await room.leave();
