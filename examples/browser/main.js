import { joinRoom } from 'peercam';

// The page's fragment is the room link: http://host/page#k=...&b=wss://broker/mqtt
const room = await joinRoom(location.hash);
room.on('join', async (device) => {
  if (!device.sources?.length) return; // cameras (and hubs with cameras) list their sources
  const video = Object.assign(document.createElement('video'), { id: device.id, autoplay: true, muted: true, playsInline: true });
  video.srcObject = (await room.watch(device)).stream;
  document.body.append(video);
});
room.on('leave', (device) => document.getElementById(device.id)?.remove());
