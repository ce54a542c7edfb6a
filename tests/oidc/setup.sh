#!/usr/bin/env bash
# Install the OIDC test provider's npm dependencies (idempotent).
# Runs `npm ci` only when node_modules/oidc-provider is missing or
# package-lock.json is newer than the stamp written after the last install.
set -euo pipefail

DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STAMP="$DIR/node_modules/.rollcall-setup-stamp"

if [[ -d "$DIR/node_modules/oidc-provider" && -f "$STAMP" && ! "$DIR/package-lock.json" -nt "$STAMP" ]]; then
  exit 0
fi

npm ci --no-audit --no-fund --prefix "$DIR" >&2
touch "$STAMP"
