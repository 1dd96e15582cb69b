#!/usr/bin/env bash
# Regenerates assets/demo/demo.h264, the clip the "demo" source loops when no ffmpeg is installed.
# Annex-B H.264 constrained baseline, 640x360, 30 fps, 3 s, an IDR (with SPS/PPS) every 30 frames, no B-frames:
# what a browser decodes from the first packet and what packetizes in packetization-mode 1 (RFC 6184).
# The output is committed; run this only to change the clip.
set -euo pipefail
cd "$(dirname "$0")/.."
FFMPEG="${PEERCAM_FFMPEG:-ffmpeg}"
out=assets/demo/demo.h264
mkdir -p "$(dirname "$out")"
# testsrc2 has its own moving parts; the white box sweeping across makes motion obvious on a dashboard.
"$FFMPEG" -hide_banner -loglevel error -y \
  -f lavfi -i "testsrc2=size=640x360:rate=30:duration=3" \
  -vf "drawbox=x='mod(t*213,640)-80':y=250:w=80:h=80:color=white@0.9:t=fill" \
  -c:v libx264 -profile:v baseline -level:v 3.1 -pix_fmt yuv420p -preset slow -tune zerolatency -bf 0 \
  -g 30 -keyint_min 30 -sc_threshold 0 -b:v 600k -maxrate 800k -bufsize 600k \
  -x264-params repeat-headers=1 -f h264 "$out"
ls -l "$out"
