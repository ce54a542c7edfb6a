#!/usr/bin/env python3
"""Soak: minutes of mixed IdP traffic against the release binary.

Starts `rollcall serve` on a fresh database (SQLite in a temporary folder,
or --database URL), makes a token, then runs --clients threads for
--minutes, each sending what an IdP sends in a provisioning cycle:

  40%  GET /Users?filter=userName eq "…"   (the IdP's "does this user exist")
  20%  POST /Users                          (a new hire)
  15%  PATCH /Users/{id} active/title       (an update or a deactivation)
  10%  PATCH /Groups/{id} add member        (a group push)
  10%  GET /Users?startIndex=…&count=100    (a full import page)
   5%  PUT /Users/{id}                      (Entra's replace)

Every minute it reports requests, p50 and p99 latency, errors (any status
that is not the expected one: 5xx, or a 4xx the mix never provokes) and the
server's RSS (from /proc/PID/status, sampled every second; the minute's
peak). Writes a Markdown report to --out (and stdout). Standard library
only. Not run in CI.
"""

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def start_server(binary, database):
    proc = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", "--database", database],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    for line in proc.stderr:
        if line.startswith("rollcall listening on "):
            addr = line.strip().rsplit(" ", 1)[1]
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, addr
    raise SystemExit("the server did not start")


def make_token(binary, database):
    out = subprocess.run(
        [binary, "token", "create", "--tenant", "acme", "--label", "soak", "--database", database],
        check=True, capture_output=True, text=True)
    return out.stdout.strip()


class Client:
    def __init__(self, addr, token):
        host, port = addr.rsplit(":", 1)
        self.conn = http.client.HTTPConnection(host, int(port), timeout=60)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"}

    def call(self, method, path, body=None):
        data = json.dumps(body) if body is not None else None
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=self.headers)
            resp = self.conn.getresponse()
            payload = resp.read()
            status = resp.status
        except (OSError, http.client.HTTPException):
            self.conn.close()
            status, payload = 0, b""
        return status, time.perf_counter() - start, payload


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lat = []
        self.errors = {}

    def add(self, seconds, ok, what):
        with self.lock:
            self.lat.append(seconds)
            if not ok:
                self.errors[what] = self.errors.get(what, 0) + 1

    def take(self):
        with self.lock:
            lat, err = self.lat, self.errors
            self.lat, self.errors = [], {}
        return lat, err


def worker(addr, token, stop, stats, seed, users, users_lock, group_id):
    rnd = random.Random(seed)
    c = Client(addr, token)
    n = 0
    while not stop.is_set():
        n += 1
        roll = rnd.random()
        with users_lock:
            known = rnd.choice(users) if users else None
        if roll < 0.40 and known:
            status, t, _ = c.call("GET", f"/scim/v2/Users?filter=userName%20eq%20%22{known[1]}%22")
            stats.add(t, status == 200, f"lookup {status}")
        elif roll < 0.60 or not known:
            name = f"s{seed}-{n}@acme.test"
            body = {"schemas": [USER], "userName": name, "active": True,
                    "name": {"givenName": "Soak", "familyName": str(n)},
                    "emails": [{"value": name, "primary": True, "type": "work"}]}
            status, t, payload = c.call("POST", "/scim/v2/Users", body)
            stats.add(t, status == 201, f"create {status}")
            if status == 201:
                with users_lock:
                    users.append((json.loads(payload)["id"], name))
        elif roll < 0.75:
            op = rnd.choice([{"op": "replace", "path": "active", "value": rnd.random() < 0.5},
                             {"op": "replace", "path": "title", "value": f"T{n}"}])
            status, t, _ = c.call("PATCH", f"/scim/v2/Users/{known[0]}",
                                  {"schemas": [PATCH], "Operations": [op]})
            stats.add(t, status in (200, 204), f"patch {status}")
        elif roll < 0.85:
            status, t, _ = c.call("PATCH", f"/scim/v2/Groups/{group_id}",
                                  {"schemas": [PATCH], "Operations": [
                                      {"op": "add", "path": "members", "value": [{"value": known[0]}]}]})
            stats.add(t, status in (200, 204), f"member {status}")
        elif roll < 0.95:
            start = rnd.randint(1, max(1, len(users) - 100))
            status, t, _ = c.call("GET", f"/scim/v2/Users?startIndex={start}&count=100")
            stats.add(t, status == 200, f"page {status}")
        else:
            body = {"schemas": [USER], "userName": known[1], "active": True, "title": f"P{n}",
                    "emails": [{"value": known[1], "primary": True, "type": "work"}]}
            status, t, _ = c.call("PUT", f"/scim/v2/Users/{known[0]}", body)
            stats.add(t, status == 200, f"put {status}")


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def pct(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))] * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rollcall", default="target/release/rollcall")
    ap.add_argument("--database", help="default: a SQLite file in a temporary folder")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--out")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rollcall-soak-")
    database = args.database or f"sqlite://{tmp}/soak.db"
    token = make_token(args.rollcall, database)
    proc, addr = start_server(args.rollcall, database)
    try:
        c = Client(addr, token)
        status, _, payload = c.call("POST", "/scim/v2/Groups", {"schemas": [GROUP], "displayName": "Soak"})
        assert status == 201, (status, payload)
        group_id = json.loads(payload)["id"]
        users, users_lock, stop, stats = [], threading.Lock(), threading.Event(), Stats()
        threads = [threading.Thread(target=worker, daemon=True,
                                    args=(addr, token, stop, stats, i, users, users_lock, group_id))
                   for i in range(args.clients)]
        for t in threads:
            t.start()
        rows, total_errors, started = [], {}, time.time()
        minutes = int(args.minutes) if args.minutes >= 1 else 1
        span = args.minutes * 60 / minutes
        for minute in range(1, minutes + 1):
            peak = 0
            end = started + minute * span
            while time.time() < end:
                peak = max(peak, rss_kib(proc.pid))
                time.sleep(1)
            lat, err = stats.take()
            for k, v in err.items():
                total_errors[k] = total_errors.get(k, 0) + v
            rows.append((minute, len(lat), len(lat) / span, pct(lat, 0.50), pct(lat, 0.99),
                         sum(err.values()), peak / 1024, len(users)))
            print(f"minute {minute}: {rows[-1]}", file=sys.stderr, flush=True)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    exit_code = proc.returncode
    lines = [
        f"Soak: {args.minutes} min, {args.clients} clients, {database.split('://')[0]}, "
        f"`{' '.join(sys.argv)}`; exit code after SIGTERM: {exit_code}",
        "",
        "| minute | requests | req/s | p50 ms | p99 ms | errors | peak RSS MiB | users |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m, n, rps, p50, p99, e, rss, u in rows:
        lines.append(f"| {m} | {n} | {rps:.0f} | {p50:.1f} | {p99:.1f} | {e} | {rss:.1f} | {u} |")
    lines += ["", f"Errors by kind: {total_errors or 'none'}"]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
