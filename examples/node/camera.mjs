// This process as a camera of the room, from a source spec: testsrc (a test pattern, needs ffmpeg), demo (a bundled
// clip), file:clip.mp4, v4l2:/dev/video0, rtsp://... Every viewer gets the same encode, peer to peer.
// Run: PEERCAM_ROOM='...' node camera.mjs testsrc
import { joinRoom } from 'peercam';

const room = await joinRoom({ link: process.env.PEERCAM_ROOM, name: 'node camera' });
const camera = await room.publish(process.argv[2] ?? 'demo', {
  name: 'garden',
  on: { viewer: (e) => console.log(`viewer ${e.viewer} ${e.change}, ${e.viewers} watching`) },
});
console.log(`camera "garden" is live as ${room.self}`);
process.on('SIGTERM', () => void camera.close().then(() => room.leave()).then(() => process.exit(0)));
