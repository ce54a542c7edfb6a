#!/usr/bin/env python3
"""Time `rollcall deprovision` on N leavers (default 10,000) on SQLite.

Seeds a fresh SQLite database with N users through SCIM Bulk on the real
server, stops it, writes the leavers' emails to a CSV file, then times the
command line: a dry run, a deactivation, the same list again (nothing to
do), and a deletion of another N users. Prints a Markdown table.
"""
import argparse, json, os, platform, subprocess, sys, tempfile, time, urllib.request

def bulk(addr, token, users):
    ops = [{"method": "POST", "path": "/Users", "bulkId": f"b{i}", "data": {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": u, "displayName": u,
        "emails": [{"value": f"{u}@leavers.example", "primary": True}]}} for i, u in enumerate(users)]
    body = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": ops}).encode()
    req = urllib.request.Request(f"http://{addr}/scim/v2/Bulk", data=body, method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    with urllib.request.urlopen(req, timeout=600) as r:
        out = json.load(r)
    bad = [o for o in out["Operations"] if not str(o.get("status", "")).startswith("2")]
    if bad:
        sys.exit(f"seeding failed: {bad[:3]}")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/rollcall")
    ap.add_argument("--leavers", type=int, default=10_000)
    ap.add_argument("--keep", type=int, default=2_000, help="users that stay")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    db = f"sqlite://{tmp}/bench.db"
    token = subprocess.check_output([a.bin, "token", "create", "--tenant", "acme", "--database", db], text=True).strip()
    srv = subprocess.Popen([a.bin, "serve", "--listen", "127.0.0.1:0", "--database", db],
                           stderr=subprocess.PIPE, text=True, env={**os.environ, "RUST_LOG": "warn"})
    addr = None
    for line in srv.stderr:
        if line.startswith("rollcall listening on "):
            addr = line.split()[-1]
            break
    names = [f"leaver{i:05}" for i in range(a.leavers)] + [f"gone{i:05}" for i in range(a.leavers)] \
        + [f"stay{i:05}" for i in range(a.keep)]
    t0 = time.time()
    for i in range(0, len(names), 1000):
        bulk(addr, token, names[i:i + 1000])
    seeded = time.time() - t0
    srv.terminate(); srv.wait()
    rows = []
    def run(label, names_, mode, extra=()):
        path = f"{tmp}/{label}.csv"
        with open(path, "w") as f:
            f.write("email\n" + "".join(f"{n.upper()}@leavers.example\n" for n in names_))
        t = time.time()
        out = subprocess.run([a.bin, "deprovision", "--tenant", "acme", "--input", path, "--mode", mode,
                              "--report", f"{tmp}/{label}-report.csv", "--json", "--database", db, *extra],
                             capture_output=True, text=True)
        secs = time.time() - t
        if out.returncode != 0:
            sys.exit(out.stderr)
        actions = json.loads(out.stdout)["actions"]
        rows.append((label, len(names_), secs, actions))
    leavers = names[:a.leavers]
    run("dry-run", leavers, "deactivate", ["--dry-run"])
    run("deactivate", leavers, "deactivate")
    run("re-run", leavers, "deactivate")
    run("delete", names[a.leavers:2 * a.leavers], "delete")
    print(f"SQLite, {len(names):,} users seeded in {seeded:.1f}s over SCIM Bulk; {platform.machine()}, {os.cpu_count()} cores")
    print()
    print("| run | leavers | wall time (s) | rows/s | actions |")
    print("|---|---:|---:|---:|---|")
    for label, n, secs, actions in rows:
        print(f"| {label} | {n:,} | {secs:.2f} | {n / secs:,.0f} | {json.dumps(actions)} |")
    with open(f"{tmp}/deactivate-report.csv") as f:
        head = [next(f) for _ in range(4)]
    print()
    print("First lines of the deactivation report:")
    print()
    print("```")
    print("".join(head).rstrip())
    print("```")

if __name__ == "__main__":
    main()
