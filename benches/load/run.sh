#!/usr/bin/env bash
# Load benchmark: wrk on GET /Users?filter=userName eq "…" against Rollcall and
# against the scim2-server peer (PyPI), at several user counts, in one run.
#
# Loopback only. Every step is bounded in time; the servers started here and the
# temporary directory are removed on exit (trap).
#
# Knobs (environment):
#   SIZES="10000 100000"      user counts; each size gets a fresh server of each kind
#   DURATION=20s              wrk duration per run
#   WRK_THREADS=2 WRK_CONNS=16
#   SERVERS="rollcall scim2-server"   which servers to measure
#   SEED_CONCURRENCY=8        seed.py worker processes (one keep-alive connection each)
#   PEER_SEED_MAX_SECONDS=600 cap on seeding the peer (largest size reached is recorded)
#   RC_SEED_MAX_SECONDS=1200  cap on seeding Rollcall
#   ROLLCALL_BIN=path         use this binary instead of `cargo build --release --bin rollcall`
#   PEER_VERSION=0.8.3        pinned scim2-server version
#   PEER_VENV=/tmp/scim2server-venv-$PEER_VERSION
#   RC_PORT=18181 PEER_PORT=18080
#   RUST_LOG                  passed through to Rollcall (default: its own, info = one log line per request)
#   OTHER_CPU_WARN=0.25       note runs where other processes used more cores than this
#   WRK_ATTEMPTS=3            repeat a wrk run (up to this many times in all) when other load exceeded OTHER_CPU_WARN
#   QUIET_WAIT=300            before each wrk run, wait up to this long for other load to drop below it
#   RESULTS=benches/load/results-YYYY-MM-DD-HHMM.md
#
# Exit status: 0 if every run was clean, 3 if a run was flagged (errors or a
# capped seeding), 1 on a failure to set up.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"

SIZES="${SIZES:-10000 100000}"
DURATION="${DURATION:-20s}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNS="${WRK_CONNS:-16}"
SERVERS="${SERVERS:-rollcall scim2-server}"
SEED_CONCURRENCY="${SEED_CONCURRENCY:-8}"
PEER_SEED_MAX_SECONDS="${PEER_SEED_MAX_SECONDS:-600}"
RC_SEED_MAX_SECONDS="${RC_SEED_MAX_SECONDS:-1200}"
PEER_VERSION="${PEER_VERSION:-0.8.3}"
PEER_VENV="${PEER_VENV:-/tmp/scim2server-venv-$PEER_VERSION}"
RC_PORT="${RC_PORT:-18181}"
PEER_PORT="${PEER_PORT:-18080}"
OTHER_CPU_WARN="${OTHER_CPU_WARN:-0.25}"
QUIET_WAIT="${QUIET_WAIT:-300}"
WRK_ATTEMPTS="${WRK_ATTEMPTS:-3}"
RESULTS="${RESULTS:-$HERE/results-$(date +%F-%H%M).md}"
HOST=127.0.0.1
BASE_PATH=/scim/v2
PEER_TOKEN=bench-secret-token
PY="${PYTHON:-python3}"

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- cleanup
WORK="$(mktemp -d /tmp/rollcall-load.XXXXXX)"
SERVER_PID=""
stop_server() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  SERVER_PID=""
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- tools
command -v wrk >/dev/null || (apt-get update && apt-get install -y wrk)
command -v wrk >/dev/null || die "wrk is not installed"
[[ -x /usr/bin/time ]] || (apt-get update && apt-get install -y time)
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is not installed"
command -v curl >/dev/null || die "curl is needed"

RC_BIN="${ROLLCALL_BIN:-}"
if [[ " $SERVERS " == *" rollcall "* ]]; then
  if [[ -z "$RC_BIN" ]]; then
    log "building rollcall (release)"
    (cd "$REPO" && cargo build --release --bin rollcall) >&2
    RC_BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/rollcall"
  fi
  [[ -x "$RC_BIN" ]] || die "no rollcall binary at $RC_BIN"
fi

if [[ " $SERVERS " == *" scim2-server "* ]]; then
  have="$("$PEER_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("scim2-server"))' 2>/dev/null || true)"
  if [[ "$have" != "$PEER_VERSION" ]]; then
    log "installing scim2-server==$PEER_VERSION into $PEER_VENV"
    "$PY" -m venv "$PEER_VENV"
    "$PEER_VENV/bin/pip" install -q "scim2-server==$PEER_VERSION" >&2
  fi
fi

# ---------------------------------------------------------------- servers
wait_http() {  # url token seconds
  local url="$1" tok="$2" n="$3"
  for _ in $(seq 1 $((n * 10))); do
    kill -0 "$SERVER_PID" 2>/dev/null || return 1
    if curl -fsS -o /dev/null -m 2 -H "Authorization: Bearer $tok" "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

start_rollcall() {  # dir -> sets SERVER_PID TOKEN
  local dir="$1" db="sqlite://$1/rollcall.db"
  TOKEN="$("$RC_BIN" token create --tenant bench --database "$db" 2>"$dir/token.err")" \
    || { cat "$dir/token.err" >&2; die "rollcall token create failed"; }
  TOKEN="$(printf '%s' "$TOKEN" | grep -o 'rc_[A-Za-z0-9_-]*' | head -1)"
  [[ -n "$TOKEN" ]] || die "no token printed by rollcall token create"
  "$RC_BIN" serve --listen "$HOST:$RC_PORT" --database "$db" >"$dir/server.out" 2>"$dir/server.err" &
  SERVER_PID=$!
  wait_http "http://$HOST:$RC_PORT$BASE_PATH/ServiceProviderConfig" "$TOKEN" 30 \
    || { tail -20 "$dir/server.err" >&2; die "rollcall did not start"; }
}

start_peer() {  # dir -> sets SERVER_PID TOKEN
  local dir="$1"
  TOKEN="$PEER_TOKEN"
  # --tenant scim serves the API under /scim/v2, the same path as Rollcall.
  "$PEER_VENV/bin/scim2-server" --hostname "$HOST" --port "$PEER_PORT" \
    --bearer-token "$PEER_TOKEN" --tenant scim >"$dir/server.out" 2>"$dir/server.err" &
  SERVER_PID=$!
  wait_http "http://$HOST:$PEER_PORT$BASE_PATH/ServiceProviderConfig" "$TOKEN" 30 \
    || { tail -20 "$dir/server.err" >&2; die "scim2-server did not start"; }
}

proc_kb() {  # field (VmHWM|VmRSS) -> kB
  awk -v f="$1:" '$1==f {print $2}' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0
}

CLK_TCK="$(getconf CLK_TCK)"
NCPU="$(nproc)"
cpu_snap() {  # -> "busy_jiffies total_jiffies server_jiffies" (all cores)
  local busy total srv
  read -r busy total < <(awk '$1=="cpu" {b=$2+$3+$4+$7+$8+$9; print b, b+$5+$6}' /proc/stat)
  srv="$(awk '{print $14+$15}' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)"
  echo "$busy $total $srv"
}
# cores used on average between two snapshots: cores BEFORE AFTER WHAT [extra_jiffies]
# WHAT: server | busy | rest (busy - server - extra)
cores() {
  awk -v a="$1" -v b="$2" -v w="$3" -v x="${4:-0}" -v n="$NCPU" 'BEGIN {
    split(a, p, " "); split(b, q, " ");
    wall = (q[2] - p[2]) / n; if (wall <= 0) { print "?"; exit }
    busy = q[1] - p[1]; srv = q[3] - p[3];
    v = (w == "server") ? srv : (w == "busy") ? busy : busy - srv - x;
    if (v < 0) v = 0;
    printf "%.2f", v / wall }'
}

# Wait (at most QUIET_WAIT seconds) until processes other than the server use
# less than OTHER_CPU_WARN cores over a 3 s sample.
wait_quiet() {
  local deadline=$((SECONDS + QUIET_WAIT)) a b other
  while :; do
    a="$(cpu_snap)"; sleep 3; b="$(cpu_snap)"
    other="$(cores "$a" "$b" rest)"
    if awk -v o="$other" -v m="$OTHER_CPU_WARN" 'BEGIN {exit !(o <= m)}'; then return 0; fi
    if (( SECONDS >= deadline )); then
      log "machine still busy (other processes: $other cores) after ${QUIET_WAIT}s; running anyway"
      return 0
    fi
    log "machine busy (other processes: $other cores); waiting"
    sleep 7
  done
}

listen_overflows() {  # TcpExt ListenOverflows, machine-wide (accept queue full: the SYN is dropped)
  awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ListenOverflows") c = i; h = 1 } else print $c }' /proc/net/netstat
}

mib() { awk -v k="${1:-0}" 'BEGIN {printf "%.0f", k/1024}'; }
ms() { awk -v u="${1:-0}" 'BEGIN {printf "%.2f", u/1000}'; }
kv() { printf '%s\n' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }

# ---------------------------------------------------------------- machine
CPU_MODEL="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
MEM_TOTAL="$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
RUSTC="$(rustc --version 2>/dev/null || echo unknown)"
WRK_V="$( (wrk -v 2>&1 || true) | awk 'NR==1 {print $1, $2}')"
PY_V="$("$PY" --version 2>&1)"
PEER_PY_V="$("$PEER_VENV/bin/python" --version 2>&1 || true)"
RC_V="$("${RC_BIN:-false}" --version 2>/dev/null || echo "rollcall (not run)")"
[[ -z "$RC_BIN" ]] || RC_V="$RC_V, sha256 $(sha256sum "$RC_BIN" | cut -c1-12)"
GIT_REV="$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(cd "$REPO" && git status --porcelain -- src crates migrations Cargo.toml Cargo.lock 2>/dev/null)" ]]; then
  GIT_REV="$GIT_REV (with uncommitted changes in the source tree)"
fi

# ---------------------------------------------------------------- runs
ROWS=()
SROWS=()
FLAGGED=0
NOTES=()
WRK_CMD_SHOWN=""
SEED_CMD_SHOWN=""

for size in $SIZES; do
  for server in $SERVERS; do
    dir="$WORK/$server-$size"; mkdir -p "$dir"
    case "$server" in
      rollcall)     start_rollcall "$dir"; port=$RC_PORT;  cap=$RC_SEED_MAX_SECONDS ;;
      scim2-server) start_peer "$dir";     port=$PEER_PORT; cap=$PEER_SEED_MAX_SECONDS ;;
      *) die "unknown server $server" ;;
    esac
    base="http://$HOST:$port$BASE_PATH"
    log "$server: seeding $size users (cap ${cap}s, $SEED_CONCURRENCY workers)"
    SEED_CMD_SHOWN="python3 benches/load/seed.py --base $base --token TOKEN --end $size --concurrency $SEED_CONCURRENCY --max-seconds $cap"
    wait_quiet
    snap0="$(cpu_snap)"
    seed_line="$(timeout $((cap + 120)) "$PY" "$HERE/seed.py" --base "$base" --token "$TOKEN" \
      --end "$size" --concurrency "$SEED_CONCURRENCY" --max-seconds "$cap" --max-errors 1000000 \
      2> >(tee "$dir/seed.err" >&2) | grep '^SEED' || true)"
    [[ -n "$seed_line" ]] || die "$server: seeding failed"
    snap1="$(cpu_snap)"
    seed_srv_cpu="$(cores "$snap0" "$snap1" server)"; seed_rest_cpu="$(cores "$snap0" "$snap1" rest)"
    log "$server: $seed_line (server used $seed_srv_cpu cores, everything else $seed_rest_cpu)"
    created="$(kv created "$seed_line")"; seed_err="$(kv errors "$seed_line")"
    reached="$(kv reached "$seed_line")"; seed_rate="$(kv rate "$seed_line")"
    seed_secs="$(kv seconds "$seed_line")"; capped="$(kv capped "$seed_line")"
    flag=""
    if [[ "$capped" == 1 ]]; then
      flag="seeding capped at ${cap}s: ${reached} of ${size}"
      NOTES+=("$server: seeding ${size} users was stopped by the ${cap}s cap after ${reached} users (${seed_rate} creates/s); its lookups ran on the ${reached} users it holds.")
      FLAGGED=1
    fi
    if [[ "$seed_err" != 0 ]]; then
      flag="${flag:+$flag; }${seed_err} seeding errors"; FLAGGED=1
    fi
    count="$reached"

    # Check what the server holds, and warm up (builds lazy indexes, caches).
    total="$(curl -fsS -m 60 -H "Authorization: Bearer $TOKEN" "$base/Users?count=0" \
      | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("totalResults"))' || echo '?')"
    probe="$(printf 'u%06d' "$count")"
    warm="$(curl -sS -m 60 -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
      "$base/Users?filter=userName%20eq%20%22$probe%22" || echo 000)"
    log "$server: holds totalResults=$total; warm-up lookup of $probe -> $warm"
    [[ "$total" == "$created" ]] || { flag="${flag:+$flag; }holds $total users, seeded $created"; FLAGGED=1; }
    hwm_seed="$(proc_kb VmHWM)"

    log "$server: wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION on $count users"
    WRK_CMD_SHOWN="wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION --latency --timeout 10s -s benches/load/lookup.lua http://$HOST:PORT -- $BASE_PATH TOKEN COUNT"
    attempt=0
    while :; do
      attempt=$((attempt + 1))
      wait_quiet
      lo0="$(listen_overflows)"; snap0="$(cpu_snap)"
      timeout 600 /usr/bin/time -f 'WRKCPU %U %S' -o "$dir/wrk.time" wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"$DURATION" --latency --timeout 10s \
        -s "$HERE/lookup.lua" "http://$HOST:$port" -- "$BASE_PATH" "$TOKEN" "$count" \
        >"$dir/wrk.out" 2>&1 || { cat "$dir/wrk.out" >&2; die "$server: wrk failed"; }
      snap1="$(cpu_snap)"; lo1="$(listen_overflows)"
      cat "$dir/wrk.out" >&2
      overflows=$((lo1 - lo0))
      wrk_j="$(awk -v t="$CLK_TCK" '$1=="WRKCPU" {printf "%.0f", ($2+$3)*t}' "$dir/wrk.time")"
      run_srv_cpu="$(cores "$snap0" "$snap1" server)"
      run_wrk_cpu="$(awk -v a="$snap0" -v b="$snap1" -v x="$wrk_j" -v n="$NCPU" 'BEGIN {split(a,p," "); split(b,q," "); printf "%.2f", x / ((q[2]-p[2])/n)}')"
      run_other_cpu="$(cores "$snap0" "$snap1" rest "$wrk_j")"
      log "$server: CPU during wrk (cores): server $run_srv_cpu, wrk $run_wrk_cpu, other $run_other_cpu; listen queue overflows: $overflows"
      busy_flag=""
      if awk -v o="$run_other_cpu" -v m="$OTHER_CPU_WARN" 'BEGIN {exit !(o > m)}'; then
        busy_flag="other load ${run_other_cpu} cores"
        if (( attempt < WRK_ATTEMPTS )); then
          log "$server: other processes used $run_other_cpu cores during the run; running it again ($((attempt + 1))/$WRK_ATTEMPTS)"
          continue
        fi
        NOTES+=("$server at $count users: other processes used $run_other_cpu cores during the wrk run (attempt $attempt of $WRK_ATTEMPTS): the machine was not quiet.")
      fi
      break
    done
    (( attempt == 1 )) || NOTES+=("$server at $count users: the wrk run was repeated $((attempt - 1)) time(s) because other processes loaded the machine; the table shows attempt $attempt.")
    res="$(grep '^RESULT' "$dir/wrk.out" || true)"
    [[ -n "$res" ]] || die "$server: no RESULT line from wrk"
    hwm="$(proc_kb VmHWM)"; rss="$(proc_kb VmRSS)"
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then flag="${flag:+$flag; }server died"; FLAGGED=1; fi
    non200="$(kv non200 "$res")"; miss="$(kv miss "$res")"
    sock=$(( $(kv connect "$res") + $(kv read "$res") + $(kv write "$res") + $(kv timeout "$res") ))
    if (( non200 + miss + sock > 0 )); then
      flag="${flag:+$flag; }ERRORS: non200=$non200 miss=$miss socket=$sock"; FLAGGED=1
    fi
    rps="$(kv rps "$res")"
    allflags="$flag${busy_flag:+${flag:+; }$busy_flag}"
    ROWS+=("| $server | $count | $(printf '%.0f' "$rps") | $(ms "$(kv p50_us "$res")") | $(ms "$(kv p90_us "$res")") | $(ms "$(kv p99_us "$res")") | $(ms "$(kv max_us "$res")") | $(kv requests "$res") | $non200 | $miss | $sock | $overflows | $run_srv_cpu / $run_wrk_cpu / $run_other_cpu | ${allflags:-ok} |")
    SROWS+=("| $server | $size | $created | $seed_secs | $seed_rate | $seed_srv_cpu | $seed_rest_cpu | $(mib "$hwm_seed") | $(mib "$hwm") | $(mib "$rss") |")
    eval "RPS_${server//-/_}_$size=$rps"
    stop_server
  done
done

# ---------------------------------------------------------------- report
{
  echo "# Rollcall load benchmark — $(date -u '+%F %T UTC')"
  echo
  echo "Lookup: \`GET /scim/v2/Users?filter=userName eq \"uNNNNNN\"\`, a random existing user per request;"
  echo "every response checked for status 200 and \`totalResults: 1\`."
  echo
  echo "## Machine"
  echo
  echo "- nproc: $(nproc); CPU: $CPU_MODEL; memory: $MEM_TOTAL; kernel: $(uname -r)"
  echo "- $RUSTC; $RC_V; binary: \`$RC_BIN\`${ROLLCALL_BIN:+ (prebuilt: given by ROLLCALL_BIN)}; source tree when the report was written: git $GIT_REV"
  echo "- scim2-server $PEER_VERSION on $PEER_PY_V; seeder on $PY_V; $WRK_V"
  echo "- **wrk, the seeder and the server under test share the same $(nproc) cores.** One server runs at a time."
  echo
  echo "## Commands"
  echo
  echo '```'
  echo "${RUST_LOG:+RUST_LOG=$RUST_LOG }${ROLLCALL_BIN:+ROLLCALL_BIN=$ROLLCALL_BIN }SIZES=\"$SIZES\" DURATION=$DURATION WRK_THREADS=$WRK_THREADS WRK_CONNS=$WRK_CONNS SEED_CONCURRENCY=$SEED_CONCURRENCY benches/load/run.sh"
  echo "# per server and size, on a fresh server (Rollcall: empty SQLite file in a temp dir; peer: new process):"
  echo "rollcall token create --tenant bench --database sqlite://DIR/rollcall.db"
  echo "rollcall serve --listen $HOST:$RC_PORT --database sqlite://DIR/rollcall.db"
  echo "scim2-server --hostname $HOST --port $PEER_PORT --bearer-token TOKEN --tenant scim"
  echo "$SEED_CMD_SHOWN"
  echo "$WRK_CMD_SHOWN"
  echo '```'
  echo
  echo "## Results"
  echo
  echo "### Lookup (wrk -t$WRK_THREADS -c$WRK_CONNS -d$DURATION)"
  echo
  echo "Latencies in ms. CPU in cores used on average during the wrk run (of $NCPU): the server, wrk itself,"
  echo "and every other process on the machine. Listen overflows: the kernel's TcpExt ListenOverflows counter"
  echo "(accept queue full, so a SYN was dropped and the client retried after 1 s or more) during the run."
  echo
  echo "| server | users | req/s | p50 | p90 | p99 | max | requests | non-200 | misses | socket errors | listen overflows | CPU server / wrk / other | flags |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "### Seeding and memory"
  echo
  echo "Seeding: POST /Users through seed.py, $SEED_CONCURRENCY worker processes with one keep-alive connection each."
  echo "CPU in cores used on average while seeding: the server, and everything else (the seeder included)."
  echo "RSS in MiB: peak (VmHWM) after seeding, peak after the wrk run, current (VmRSS) after the wrk run."
  echo
  echo "| server | users asked | created | seconds | creates/s | server CPU | other CPU | peak RSS after seed | peak RSS after wrk | RSS after wrk |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  printf '%s\n' "${SROWS[@]}"
  echo
  if [[ " $SERVERS " == *" rollcall "* && " $SERVERS " == *" scim2-server "* ]]; then
    echo "Rollcall / scim2-server throughput ratio:"
    echo
    for size in $SIZES; do
      a="RPS_rollcall_$size"; b="RPS_scim2_server_$size"
      if [[ -n "${!a:-}" && -n "${!b:-}" ]]; then
        echo "- $size users: $(awk -v a="${!a}" -v b="${!b}" 'BEGIN {printf "%.1f", a/b}')×"
      fi
    done
    echo
  fi
  if (( ${#NOTES[@]} )); then
    echo "Notes:"; echo
    for n in "${NOTES[@]}"; do echo "- $n"; done; echo
  fi
  if (( FLAGGED )); then echo "**Some runs are flagged: see the flags column.**"; echo; fi
} | tee "$RESULTS"
log "results written to $RESULTS"
(( FLAGGED == 0 )) || exit 3
