#!/usr/bin/env python3
"""Bulk throughput of one Rollcall binary on a fresh SQLite file.

    python3 benches/load/bulk_rate.py BIN create N     # N Bulk creates (1,000 a request)
    python3 benches/load/bulk_rate.py BIN patch N      # Bulk PATCH active=false of N users
    PERF=1 python3 benches/load/bulk_rate.py …         # and record a perf profile to bulk-WHAT.data

2,000 users are seeded first (and, for `patch`, N more when N > 2,000).
Prints operations per second. Uses scale.py's server and client.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale  # noqa: E402

binary, what, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
wd = tempfile.mkdtemp()
srv = scale.Rollcall(binary, f"sqlite://{wd}/r.db", wd, "bulk-rate")
try:
    c = scale.Client(srv.port, srv.token)
    ids = []
    scale.seed_bulk(c, 0, max(2000, n if what == "patch" else 0), ids)
    perf = None
    if os.environ.get("PERF"):
        perf = subprocess.Popen(["perf", "record", "-F", "999", "-g", "--call-graph", "dwarf,16384",
                                 "-p", str(srv.proc.pid), "-o", f"bulk-{what}.data"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1)
    t0 = time.monotonic()
    if what == "create":
        scale.seed_bulk(c, len(ids), len(ids) + n, ids)
    else:
        for i in range(0, n, 1000):
            c.bulk([{"method": "PATCH", "path": f"/Users/{u}",
                     "data": {"schemas": [scale.PATCH],
                              "Operations": [{"op": "replace", "path": "active", "value": False}]}}
                    for u in ids[i:min(i + 1000, n)]])
    dt = time.monotonic() - t0
    if perf:
        perf.send_signal(2)
        perf.wait()
    print(f"{what}: {n / dt:.0f} operations/s")
finally:
    srv.stop()
