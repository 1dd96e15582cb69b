import { joinRoom } from 'peercam';

const room = await joinRoom(location.hash); // the room link: #k=...&b=wss://broker/mqtt
room.on('channel', (channel) => channel.on('message', (m) => (document.getElementById('log').textContent += `${m}\n`)));
room.on('join', async (device) => device.role === 'viewer' && (await room.openChannel(device)).send(`hello from ${room.self}`));
