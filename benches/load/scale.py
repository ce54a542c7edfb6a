#!/usr/bin/env python3
"""Scale benchmark: every scenario, every server, one run (stdlib only).

    scale.py --rollcall BIN --ceiling BIN [--servers ceiling,sqlite,postgres,peer]
             [--sizes 10000,100000,1000000] [--pg-sizes 10000,100000]
             [--peer-sizes 10000] [--duration 10] [--out FILE]

Servers, one at a time, each on a fresh database, loopback only:
  ceiling   a bare axum handler returning a lookup's JSON (examples/ceiling.rs)
  sqlite    Rollcall on a new SQLite file
  postgres  Rollcall on a new database of a private PostgreSQL cluster
            (scripts/postgres, durable settings: fsync on)
  peer      scim2-server from PyPI (--peer-venv)

Scenarios (Rollcall; the peer where it can):
  creates    POST /Users with 16 connections (wrk, create.lua), empty database
  seed       users u0000001… through POST /Bulk, 1,000 operations a request
  lookup     GET /Users?filter=userName eq "…" at each size (wrk -c16, lookup.lua)
  member     add then remove one member (wrk -t1 -c1, member.lua) in a group of
             10 and of 100,000 members (peer: of 10,000), plain and with
             ?excludedAttributes=members
  deactivate 100,000 users set active=false through POST /Bulk
  rss        the server's peak RSS (VmHWM) after each phase

Prints a markdown report (and writes it to --out).
"""

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def log(*a):
    print("scale:", *a, file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port}")


def rss(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS"):
                    out[k] = int(v.split()[0]) // 1024
    except OSError:
        pass
    return out


def mem(pid):
    """The process's memory figures, as report columns."""
    return {f"rss_{k}": v for k, v in rss(pid).items()}


class Client:
    def __init__(self, port, token, base="/scim/v2"):
        self.port, self.token, self.base = port, token, base
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)

    def call(self, method, path, body=None, ok=(200, 201, 204)):
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/scim+json"}
        data = None if body is None else json.dumps(body)
        for attempt in range(2):
            try:
                self.conn.request(method, self.base + path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (http.client.HTTPException, OSError):
                if attempt:
                    raise
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=3600)
        if r.status not in ok:
            sys.exit(f"{method} {path}: HTTP {r.status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def bulk(self, ops):
        resp = self.call("POST", "/Bulk", {"schemas": [BULK], "Operations": ops})
        out = []
        for o in resp["Operations"]:
            if not str(o["status"]).startswith("2"):
                sys.exit(f"bulk operation failed: {o}")
            out.append(o.get("location", "").rsplit("/", 1)[-1])
        return out


def user(name):
    return {"schemas": [CORE], "userName": name, "name": {"givenName": "Load", "familyName": "Test"},
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}], "active": True}


def wrk(script, port, args, duration, threads=2, conns=16, base="/scim/v2"):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "--timeout", "30s", "-s",
           os.path.join(HERE, script), f"http://127.0.0.1:{port}", "--", base] + [str(a) for a in args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 120).stdout
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        sys.exit(f"wrk printed no RESULT:\n{out}")
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def extra_config(a):
    if not a.extra_config:
        return ""
    with open(a.extra_config) as f:
        return "\n" + f.read()


class Rollcall:
    def __init__(self, binary, db, workdir, name, extra=""):
        self.name = name
        self.port = free_port()
        self.token = subprocess.run([binary, "token", "create", "--tenant", "bench", "--database", db],
                                    capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        cfg = os.path.join(workdir, "rollcall.toml")
        with open(cfg, "w") as f:
            f.write("bulk_max_operations = 10000\n")
            f.write(extra)
        env = dict(os.environ, RUST_LOG=os.environ.get("RUST_LOG", "warn"))
        self.log = open(os.path.join(workdir, f"{name}.log"), "w")
        self.proc = subprocess.Popen([binary, "serve", "--listen", f"127.0.0.1:{self.port}", "--database", db,
                                      "--config", cfg], env=env, stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Peer:
    def __init__(self, venv, workdir):
        self.name = "scim2-server"
        self.port = free_port()
        self.token = "peer-bench-token"
        self.log = open(os.path.join(workdir, "peer.log"), "w")
        self.proc = subprocess.Popen([os.path.join(venv, "bin", "scim2-server"), "--hostname", "127.0.0.1",
                                      "--port", str(self.port), "--bearer-token", self.token, "--tenant", "scim"],
                                     stdout=self.log, stderr=self.log)
        wait_port(self.port, self.proc)

    stop = Rollcall.stop


def seed_bulk(c, start, end, ids, batch=1000):
    """Create users start+1..end through /Bulk; append their ids."""
    t0 = time.monotonic()
    for i in range(start, end, batch):
        ops = [{"method": "POST", "path": "/Users", "bulkId": f"b{k}", "data": user(f"u{k + 1:07d}")}
               for k in range(i, min(i + batch, end))]
        ids.extend(c.bulk(ops))
    return (end - start) / max(time.monotonic() - t0, 1e-9)


def seed_posts(c, start, end, ids):
    """Create users one POST at a time (the peer)."""
    t0 = time.monotonic()
    for k in range(start, end):
        ids.append(c.call("POST", "/Users", user(f"u{k + 1:07d}"))["id"])
    return (end - start) / max(time.monotonic() - t0, 1e-9)


def group_with(c, name, member_ids, chunk=1000):
    g = c.call("POST", "/Groups", {"schemas": [GROUP], "displayName": name})
    for i in range(0, len(member_ids), chunk):
        c.call("PATCH", f"/Groups/{g['id']}?excludedAttributes=members",
               {"schemas": [PATCH], "Operations": [{"op": "add", "path": "members",
                                                     "value": [{"value": m} for m in member_ids[i:i + chunk]]}]})
    return g["id"]


def member_runs(srv, c, ids, pool_ids, big, duration, workdir, results):
    pool = os.path.join(workdir, "pool.txt")
    with open(pool, "w") as f:
        f.write("\n".join(pool_ids) + "\n")
    small_g = group_with(c, "bench-small", ids[:10])
    big_g = group_with(c, "bench-big", ids[:big])
    for label, gid, size in (("10", small_g, 10), (f"{big:,}", big_g, big)):
        for query in ("", "?excludedAttributes=members"):
            r = wrk("member.lua", srv.port, [srv.token, gid, pool, query], duration, threads=1, conns=1)
            results.append({"scenario": "add+remove one member", "server": srv.name,
                            "size": f"{label} members", "variant": query or "full response", **r})
            log(srv.name, "member", label, query, f"{r['rps']:.0f}/s p50 {r['p50_us'] / 1000:.2f} ms")


def run_rollcall(kind, a, db, workdir, results, sizes):
    srv = Rollcall(a.rollcall, db, workdir, f"rollcall-{kind}", extra_config(a))
    name = f"Rollcall ({'SQLite' if kind == 'sqlite' else 'PostgreSQL'})"
    srv.name = name
    try:
        c = Client(srv.port, srv.token)
        r = wrk("create.lua", srv.port, [srv.token, kind], a.duration)
        results.append({"scenario": "POST creates, 16 connections", "server": name, "size": "empty", **r})
        log(name, "creates", f"{r['rps']:.0f}/s")
        ids, done = [], 0
        pool = []
        for size in sizes:
            rate = seed_bulk(c, done, size, ids)
            results.append({"scenario": "seed through /Bulk", "server": name, "size": f"{size:,} users",
                            "rps": rate, **mem(srv.proc.pid)})
            log(name, "seeded", size, f"{rate:.0f}/s")
            done = size
            r = wrk("lookup.lua", srv.port, [srv.token, size, "u", 7], a.duration)
            results.append({"scenario": "filtered lookup", "server": name, "size": f"{size:,} users", **r,
                            **mem(srv.proc.pid)})
            log(name, "lookup", size, f"{r['rps']:.0f}/s")
            if size == a.member_size:
                pool = [c.call("POST", "/Users", user(f"pool{k:05d}"))["id"] for k in range(1000)]
                member_runs(srv, c, ids, pool, a.member_size, a.duration, workdir, results)
                n = min(a.deactivate, len(ids))
                t0 = time.monotonic()
                for i in range(0, n, 1000):
                    c.bulk([{"method": "PATCH", "path": f"/Users/{u}",
                             "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active",
                                                                          "value": False}]}}
                            for u in ids[i:min(i + 1000, n)]])
                rate = n / (time.monotonic() - t0)
                results.append({"scenario": "bulk deactivation", "server": name, "size": f"{n:,} users",
                                "rps": rate, **mem(srv.proc.pid)})
                log(name, "deactivated", n, f"{rate:.0f}/s")
        results.append({"scenario": "peak RSS", "server": name, "size": f"{done:,} users",
                        **mem(srv.proc.pid)})
    finally:
        srv.stop()


def run_peer(a, workdir, results):
    srv = Peer(a.peer_venv, workdir)
    try:
        c = Client(srv.port, srv.token)
        r = wrk("create.lua", srv.port, [srv.token, "peer"], a.duration)
        results.append({"scenario": "POST creates, 16 connections", "server": srv.name, "size": "empty", **r})
        log("peer creates", f"{r['rps']:.0f}/s")
        ids, done = [], 0
        for size in a.peer_sizes:
            rate = seed_posts(c, done, size, ids)
            done = size
            results.append({"scenario": "seed (POST, one connection)", "server": srv.name,
                            "size": f"{size:,} users", "rps": rate})
            r = wrk("lookup.lua", srv.port, [srv.token, size, "u", 7], a.duration)
            results.append({"scenario": "filtered lookup", "server": srv.name, "size": f"{size:,} users", **r,
                            **mem(srv.proc.pid)})
            log("peer lookup", size, f"{r['rps']:.0f}/s")
        pool = [c.call("POST", "/Users", user(f"pool{k:05d}"))["id"] for k in range(1000)]
        member_runs(srv, c, ids, pool, min(done, 10000), a.duration, workdir, results)
        results.append({"scenario": "peak RSS", "server": srv.name, "size": f"{done:,} users",
                        **mem(srv.proc.pid)})
    finally:
        srv.stop()


def run_ceiling(a, results):
    port = free_port()
    proc = subprocess.Popen([a.ceiling, f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        r = wrk("lookup.lua", port, ["-", 1, "u", 7], a.duration)
        results.append({"scenario": "filtered lookup", "server": "bare axum (ceiling)", "size": "-", **r,
                        **mem(proc.pid)})
        log("ceiling", f"{r['rps']:.0f}/s")
    finally:
        proc.terminate()
        proc.wait(10)


def fmt_ms(us):
    return f"{us / 1000:.2f}"


def report(results, a, started):
    lines = [f"# Scale benchmark run, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}", "",
             "Command:", "", "```", "benches/load/scale.sh " + " ".join(sys.argv[1:]), "```", "",
             f"Machine: {os.cpu_count()} CPUs, {platform.machine()}, kernel {platform.release()}; "
             "the load generator, the server and (for PostgreSQL) the database share the cores.", "",
             "| scenario | server | size | variant | rate (/s) | p50 ms | p99 ms | errors | peak RSS MiB |",
             "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in results:
        errors = int(r.get("non200", 0) + r.get("miss", 0) + r.get("bad", 0) + r.get("socket", 0)
                     + r.get("connect", 0) + r.get("read", 0) + r.get("timeout", 0))
        lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
            r["scenario"], r["server"], r.get("size", ""), r.get("variant", ""),
            f"{r['rps']:,.0f}" if "rps" in r else "",
            fmt_ms(r["p50_us"]) if "p50_us" in r else "", fmt_ms(r["p99_us"]) if "p99_us" in r else "",
            errors if ("p50_us" in r) else "", r.get("rss_VmHWM", "")))
    lines.append("")
    lines.append("Raw results (JSON):")
    lines.append("")
    lines.append("```json")
    lines.append(json.dumps(results, indent=None))
    lines.append("```")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rollcall", required=True)
    ap.add_argument("--ceiling", required=True)
    ap.add_argument("--servers", default="ceiling,sqlite,postgres,peer")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--pg-sizes", default="10000,100000")
    ap.add_argument("--peer-sizes", default="10000")
    ap.add_argument("--member-size", type=int, default=100000)
    ap.add_argument("--deactivate", type=int, default=100000)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--peer-venv", default="/tmp/scim2server-venv-0.8.3")
    ap.add_argument("--out", default="")
    ap.add_argument("--extra-config", default="", help="a TOML file appended to Rollcall's config (e.g. [request_log] enabled = false)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (server logs)")
    a = ap.parse_args()
    a.sizes = [int(s) for s in a.sizes.split(",") if s]
    a.pg_sizes = [int(s) for s in a.pg_sizes.split(",") if s]
    a.peer_sizes = [int(s) for s in a.peer_sizes.split(",") if s]
    servers = a.servers.split(",")
    started = time.time()
    results = []
    work = tempfile.mkdtemp(prefix="rollcall-scale.")
    pg_dir = os.path.join(work, "pg")
    try:
        if "ceiling" in servers:
            run_ceiling(a, results)
        if "sqlite" in servers:
            d = os.path.join(work, "sqlite")
            os.makedirs(d)
            run_rollcall("sqlite", a, f"sqlite://{d}/rollcall.db", d, results, a.sizes)
        if "postgres" in servers:
            pg = os.path.join(ROOT, "scripts", "postgres")
            subprocess.run([pg, "start", pg_dir], check=True, capture_output=True, text=True)
            db = subprocess.run([pg, "createdb", pg_dir, "bench"], check=True, capture_output=True,
                                text=True).stdout.strip()
            d = os.path.join(work, "postgres")
            os.makedirs(d)
            run_rollcall("postgres", a, db, d, results, a.pg_sizes)
        if "peer" in servers:
            d = os.path.join(work, "peer")
            os.makedirs(d)
            run_peer(a, d, results)
    finally:
        text = report(results, a, started)
        print(text)
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
        if os.path.exists(os.path.join(pg_dir, "port")):
            subprocess.run([os.path.join(ROOT, "scripts", "postgres"), "stop", pg_dir], capture_output=True)
        if a.keep:
            log("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
