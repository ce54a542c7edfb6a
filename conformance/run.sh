#!/usr/bin/env bash
# Run the scim2-tester SCIM 2.0 conformance suite against a freshly built Rollcall.
#
#   conformance/run.sh
#   conformance/run.sh --setup-only   only (a): the venv, which the API tests
#                                     also use (aiosmtpd, the SMTP sink)
#
# Steps: (a) make sure conformance/.venv holds the pinned tester (re-created only
# when missing or when the pins change), (b) cargo build --release --bin rollcall,
# (c) temp dir + tenant token, (d) start `rollcall serve` on 127.0.0.1:0 and wait
# for the address it logs and for GET /healthz, (e) run `scim2 test` with the
# status-code and content-type checks, (f) count the checks and fail unless every
# one is SUCCESS, (g) always stop the server and remove the temp dir.
#
# Environment knobs (all optional):
#   ROLLCALL_BIN=path           use this binary instead of building target/release/rollcall
#   CONFORMANCE_URL=url         test an already running server (skips build, token, serve);
#   CONFORMANCE_TOKEN=token     ... with this bearer token (optional)
#   CONFORMANCE_SEED_ADMIN=0    do not create the seed user before the run (default 1)
#   CONFORMANCE_VERBOSE=1       pass --verbose to scim2 test (prints response data; long)
#   CONFORMANCE_KEEP_TMP=1      keep the temp dir (server log, tester output)
#   CONFORMANCE_OUTPUT=path     also copy the full tester output to this file
# See conformance/TESTER_NOTES.md for what the tester checks.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
VENV="$HERE/.venv"
STAMP="$VENV/.conformance-pins"
PYTHON="${PYTHON:-python3}"

# Pinned tool chain. scim2-tester 0.5.2 is the suite; scim2-cli 0.6.0 is the
# newest CLI and requires scim2-tester>=0.5.1. The rest is the resolved set
# (scim2-client / scim2-models decide how strictly responses are validated).
PINS=(
  scim2-tester==0.5.2
  scim2-cli==0.6.0
  scim2-client==0.13.2
  scim2-models==0.12.3
  pydantic==2.14.3
  pydantic_core==2.50.4
  httpx2==2.16.2
  httpcore2==2.16.2
  click==8.5.1
  pydanclick==0.5.1
  email-validator==2.4.0
  lark==1.3.1
  # The SMTP sink of the invitation-email test (tests/smtp/sink.py).
  aiosmtpd==1.4.6
  atpublic==9.0.0
  attrs==26.1.0
)

log() { printf 'conformance: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- (a) venv
ensure_venv() {
  local want
  want="$(printf '%s\n' "${PINS[@]}"; "$PYTHON" --version 2>&1)"
  if [ -x "$VENV/bin/scim2" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    return 0
  fi
  log "creating $VENV with ${PINS[*]}"
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (on Debian: apt-get install python3-venv)"
  "$VENV/bin/pip" install --disable-pip-version-check --quiet "${PINS[@]}"
  printf '%s\n' "$want" >"$STAMP"
}
ensure_venv
if [ "${1:-}" = "--setup-only" ]; then
  log "$VENV is ready"
  exit 0
fi

# Small HTTP helper that needs nothing but the venv's python.
# http_status URL [TOKEN [JSON_BODY]] -> prints the status code (000 on connection error)
http_status() {
  "$VENV/bin/python" - "$@" <<'PY'
import sys, urllib.request, urllib.error
url = sys.argv[1]
token = sys.argv[2] if len(sys.argv) > 2 else ""
body = sys.argv[3].encode() if len(sys.argv) > 3 else None
req = urllib.request.Request(url, data=body, method="POST" if body else "GET")
if token:
    req.add_header("Authorization", f"Bearer {token}")
if body:
    req.add_header("Content-Type", "application/scim+json")
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")
PY
}

# ------------------------------------------------------- temp dir + cleanup
TMP="$(mktemp -d "${TMPDIR:-/tmp}/rollcall-conformance.XXXXXX")"
SERVER_PID=""
cleanup() {
  local rc=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${CONFORMANCE_KEEP_TMP:-0}" = "1" ]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${CONFORMANCE_URL:-}" ]; then
  BASE_URL="${CONFORMANCE_URL%/}"
  TOKEN="${CONFORMANCE_TOKEN:-}"
  log "testing the running server at $BASE_URL"
else
  # ------------------------------------------------------------- (b) build
  if [ -n "${ROLLCALL_BIN:-}" ]; then
    BIN="$ROLLCALL_BIN"
  else
    (cd "$ROOT" && cargo build --release --bin rollcall)
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/rollcall"
    case "$BIN" in /*) ;; *) BIN="$ROOT/$BIN" ;; esac
  fi
  [ -x "$BIN" ] || die "no executable at $BIN"

  # ------------------------------------------------------------- (c) token
  # CONFORMANCE_DATABASE: an empty database to run on (default: a new SQLite file).
  DB="${CONFORMANCE_DATABASE:-sqlite://$TMP/rollcall.db}"
  TOKEN="$("$BIN" token create --tenant conformance --database "$DB" | tail -n 1 | tr -d '[:space:]')"
  [ -n "$TOKEN" ] || die "rollcall token create printed no token"

  # ------------------------------------------------------------- (d) serve
  NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" \
    "$BIN" serve --listen 127.0.0.1:0 --database "$DB" \
    >"$TMP/server.stdout" 2>"$TMP/server.log" &
  SERVER_PID=$!

  ADDR=""
  deadline=$((SECONDS + 30))
  while [ -z "$ADDR" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "rollcall serve exited early"; }
    # strip ANSI colour codes, then take the first "listening on 127.0.0.1:PORT"
    ADDR="$(sed -e 's/\x1b\[[0-9;]*m//g' "$TMP/server.log" \
      | grep -o 'listening on[^0-9]*127\.0\.0\.1:[0-9]\+' | head -n 1 \
      | grep -o '127\.0\.0\.1:[0-9]\+' || true)"
    [ -n "$ADDR" ] && break
    [ "$SECONDS" -lt "$deadline" ] || { cat "$TMP/server.log" >&2; die "no 'listening on 127.0.0.1:PORT' within 30s"; }
    sleep 0.2
  done
  until [ "$(http_status "http://$ADDR/healthz")" = "200" ]; do
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/server.log" >&2; die "rollcall serve exited early"; }
    [ "$SECONDS" -lt "$deadline" ] || { cat "$TMP/server.log" >&2; die "GET /healthz did not answer 200 within 30s"; }
    sleep 0.2
  done
  BASE_URL="http://$ADDR/scim/v2"
  log "server pid $SERVER_PID at $BASE_URL"
fi

# The last active super-admin of a tenant cannot be demoted, disabled or
# deleted: the tester randomly asserts role=super-admin on its throw-away users
# and later changes it, so seed a super-admin that stays.
if [ "${CONFORMANCE_SEED_ADMIN:-1}" = "1" ]; then
  seed_status="$(http_status "$BASE_URL/Users" "$TOKEN" \
    '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:rollcall:scim:schemas:extension:access:2.0:User"],"userName":"conformance-owner@example.com","urn:rollcall:scim:schemas:extension:access:2.0:User":{"role":"super-admin"}}')"
  log "seed user POST /Users -> $seed_status"
fi

# ------------------------------------------------------------- (e) tester
OUT="$TMP/scim2-tester.txt"
TEST_ARGS=(test --check-status-code --check-content-type)
[ "${CONFORMANCE_VERBOSE:-0}" = "1" ] && TEST_ARGS+=(--verbose)
set +e
# The token goes through the environment (';'-separated list), not argv.
SCIM_CLI_HEADERS="${TOKEN:+Authorization: Bearer $TOKEN}" \
  "$VENV/bin/scim2" --url "$BASE_URL" "${TEST_ARGS[@]}" >"$OUT" 2>&1
tester_rc=$?
set -e
cat "$OUT"
[ -n "${CONFORMANCE_OUTPUT:-}" ] && cp "$OUT" "$CONFORMANCE_OUTPUT"

# ------------------------------------------------------------- (f) verdict
# Each check prints "STATUS check_name" (STATUS in SUCCESS, COMPLIANT, ACCEPTABLE,
# DEVIATION, ERROR, CRITICAL, SKIPPED), then indented and possibly multi-line
# reasons. Only SUCCESS counts as a pass (scim2 test itself exits 1 otherwise).
STATUS_RE='^(SUCCESS|COMPLIANT|ACCEPTABLE|DEVIATION|ERROR|CRITICAL|SKIPPED) [A-Za-z_][A-Za-z0-9_:]*$'
CLEAN="$TMP/scim2-tester.clean.txt"
sed -e 's/\x1b\[[0-9;]*m//g' "$OUT" >"$CLEAN"
total="$(grep -Ec "$STATUS_RE" "$CLEAN" || true)"
success="$(grep -Ec '^SUCCESS [A-Za-z_][A-Za-z0-9_:]*$' "$CLEAN" || true)"
failed=$((total - success))

if [ "$failed" -gt 0 ]; then
  echo
  echo "Checks that did not succeed:"
  # the status line and its first reason line
  awk -v re="$STATUS_RE" '
    p { print "    " $0; p = 0 }
    $0 ~ re && $1 != "SUCCESS" { print "  " $0; p = 1 }
  ' "$CLEAN"
  breakdown="$(grep -E "$STATUS_RE" "$CLEAN" | awk '$1 != "SUCCESS" {print $1}' | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')"
  echo
  echo "scim2-tester: $total checks, $success SUCCESS, $failed failed ($breakdown)"
else
  echo "scim2-tester: $total checks, $success SUCCESS, $failed failed"
fi
echo "conformance: $success passed, $failed failed"

if [ "$total" -eq 0 ]; then
  log "no check ran (scim2 exit code $tester_rc): discovery of ServiceProviderConfig/ResourceTypes/Schemas failed?"
  exit 1
fi
if [ "$failed" -ne 0 ] || [ "$tester_rc" -ne 0 ]; then
  exit 1
fi
exit 0
