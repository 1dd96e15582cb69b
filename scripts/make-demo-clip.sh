#!/usr/bin/env bash
# Regenerates the clips the "demo" source loops when no ffmpeg is installed: assets/demo/demo.h264 for viewers with
# H.264 and assets/demo/demo.ivf (VP8) for viewers without it (Firefox without OpenH264).
# Both 640x360, 30 fps, 3 s, a keyframe every 30 frames (1 s): what a browser decodes from the first packet.
# H.264: Annex-B constrained baseline, no B-frames, SPS/PPS before every IDR, packetization-mode 1 (RFC 6184).
# VP8: IVF, real-time mode without alt-ref frames, error resilient (RFC 7741 packetizes it).
# The outputs are committed; run this only to change the clips (`h264` or `vp8` to make one of them).
set -euo pipefail
cd "$(dirname "$0")/.."
FFMPEG="${PEERCAM_FFMPEG:-ffmpeg}"
which="${1:-all}"
mkdir -p assets/demo
# testsrc2 has its own moving parts; the white box sweeping across makes motion obvious on a dashboard.
input=(-f lavfi -i "testsrc2=size=640x360:rate=30:duration=3" -vf "drawbox=x='mod(t*213,640)-80':y=250:w=80:h=80:color=white@0.9:t=fill")
if [ "$which" = all ] || [ "$which" = h264 ]; then
  "$FFMPEG" -hide_banner -loglevel error -y "${input[@]}" \
    -c:v libx264 -profile:v baseline -level:v 3.1 -pix_fmt yuv420p -preset slow -tune zerolatency -bf 0 \
    -g 30 -keyint_min 30 -sc_threshold 0 -b:v 600k -maxrate 800k -bufsize 600k \
    -x264-params repeat-headers=1 -f h264 assets/demo/demo.h264
  ls -l assets/demo/demo.h264
fi
if [ "$which" = all ] || [ "$which" = vp8 ]; then
  "$FFMPEG" -hide_banner -loglevel error -y "${input[@]}" \
    -c:v libvpx -pix_fmt yuv420p -deadline good -cpu-used 2 -lag-in-frames 0 -auto-alt-ref 0 -error-resilient 1 \
    -g 30 -keyint_min 30 -b:v 600k -maxrate 800k -bufsize 600k -f ivf assets/demo/demo.ivf
  ls -l assets/demo/demo.ivf
fi
