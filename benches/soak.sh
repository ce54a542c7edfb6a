#!/usr/bin/env bash
# Soak: 10 minutes of mixed IdP traffic against the release binary (see
# benches/soak.py --help). Not part of the test suite.
#   benches/soak.sh [--minutes 10] [--clients 8] [--database URL] [--out FILE]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${ROLLCALL_BIN:-}" ]; then
  cargo build --release --bin rollcall
fi
BIN="${ROLLCALL_BIN:-${CARGO_TARGET_DIR:-target}/release/rollcall}"
exec python3 benches/soak.py --rollcall "$BIN" "$@"
