#!/usr/bin/env bash
# The whole check: types, lint, build, then every test. Tests run inside a fresh network namespace that has only
# loopback (and whatever namespaces the tests create inside it), so nothing a test starts can reach a real interface.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PEERCAM_ISOLATED:-}" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "scripts/test.sh: tests need root to run in an isolated network namespace (unshare -n)." >&2
    echo "Run it as root (CI does), e.g. sudo npm test." >&2
    exit 2
  fi
  exec unshare -n -- env PEERCAM_ISOLATED=1 bash "$0" "$@"
fi
ip link set lo up
export PEERCAM_MDNS="${PEERCAM_MDNS:-off}"
if [ "$#" -eq 0 ]; then
  npx tsc -p .
  npx biome lint
  npm run build --silent
  mapfile -t files < <(find test -name '*.test.ts' | sort)
  set -- "${files[@]}"
fi
exec node --import tsx --test --test-concurrency=1 --test-timeout=300000 "$@"
