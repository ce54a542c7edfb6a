#!/usr/bin/env bash
# Install what the console's browser tests need (idempotent):
#   - Debian's chromium at /usr/bin/chromium (apt-get, only when missing;
#     never a downloaded browser build);
#   - the npm packages playwright-core and axe-core, from package-lock.json
#     (npm ci only when node_modules is missing or the lock is newer than
#     the stamp written after the last install).
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAMP="$DIR/node_modules/.rollcall-setup-stamp"

if [[ ! -x /usr/bin/chromium ]]; then
  SUDO=""
  if [[ "$(id -u)" != 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >&2
fi

if [[ -d "$DIR/node_modules/playwright-core" && -d "$DIR/node_modules/axe-core" \
      && -f "$STAMP" && ! "$DIR/package-lock.json" -nt "$STAMP" ]]; then
  exit 0
fi

npm ci --no-audit --no-fund --prefix "$DIR" >&2
touch "$STAMP"
