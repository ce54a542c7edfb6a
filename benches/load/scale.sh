#!/usr/bin/env bash
# The scale benchmark in one command: builds what it measures, installs what
# it needs (wrk from Debian, scim2-server from PyPI in a venv, PostgreSQL via
# scripts/postgres), then runs benches/load/scale.py with the arguments given
# (see its --help). Writes the report to benches/load/scale-YYYY-MM-DD-HHMM.md
# unless --out is given.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PEER_VERSION="${PEER_VERSION:-0.8.3}"
PEER_VENV="${PEER_VENV:-/tmp/scim2server-venv-$PEER_VERSION}"

if ! command -v wrk >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk
fi
if ! "$PEER_VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("scim2-server") != sys.argv[1])' "$PEER_VERSION" 2>/dev/null; then
  python3 -m venv "$PEER_VENV"
  "$PEER_VENV/bin/pip" install -q "scim2-server==$PEER_VERSION"
fi
if [ -z "${ROLLCALL_BIN:-}" ] || [ -z "${CEILING_BIN:-}" ]; then
  cargo build --release --bin rollcall --example ceiling
fi
TARGET="${CARGO_TARGET_DIR:-target}"
ROLLCALL_BIN="${ROLLCALL_BIN:-$TARGET/release/rollcall}"
CEILING_BIN="${CEILING_BIN:-$TARGET/release/examples/ceiling}"

args=("$@")
case " $* " in
  *" --out "*) ;;
  *) args+=(--out "benches/load/scale-$(date -u +%Y-%m-%d-%H%M).md") ;;
esac
exec python3 benches/load/scale.py --rollcall "$ROLLCALL_BIN" --ceiling "$CEILING_BIN" \
  --peer-venv "$PEER_VENV" "${args[@]}"
