#!/usr/bin/env bash
# Writes a Mosquitto password file and ACL for one peercam room: one user per device, named by its device id.
#   scripts/mosquitto-room-users.sh <out dir> <roomId> <deviceId>:<password> [<deviceId>:<password> ...]
# Produces <out dir>/passwd (hashed with mosquitto_passwd) and <out dir>/acl (docs/mosquitto-acl.acl for the room).
# Point docs/mosquitto-acl.conf's password_file and acl_file at them and reload Mosquitto (SIGHUP).
set -euo pipefail
if [ "$#" -lt 3 ]; then
  echo "usage: $0 <out dir> <roomId> <deviceId>:<password> [<deviceId>:<password> ...]" >&2
  exit 2
fi
out="$1"
room="$2"
shift 2
here="$(cd "$(dirname "$0")/.." && pwd)"
if ! [[ "$room" =~ ^[a-z2-7]{20}$ ]]; then
  echo "$0: \"$room\" is not a room id (20 characters a-z, 2-7; \`peercam room show\` prints it)" >&2
  exit 2
fi
command -v mosquitto_passwd >/dev/null || { echo "$0: mosquitto_passwd not found: apt-get install mosquitto" >&2; exit 2; }
mkdir -p "$out"
passwd="$out/passwd"
: > "$passwd"
for pair in "$@"; do
  id="${pair%%:*}"
  pass="${pair#*:}"
  if ! [[ "$id" =~ ^[a-z2-7]{16}$ ]] || [ "$pass" = "$pair" ] || [ -z "$pass" ]; then
    echo "$0: \"$id\" must be <deviceId>:<password> with a 16-character device id (a-z, 2-7)" >&2
    exit 2
  fi
  mosquitto_passwd -b "$passwd" "$id" "$pass"
done
sed "/^#/!s/ROOM_ID/$room/g" "$here/docs/mosquitto-acl.acl" > "$out/acl"
# Mosquitto drops to its own user before reading these.
chmod 0644 "$passwd" "$out/acl"
echo "wrote $passwd ($# users) and $out/acl for room $room"
