#!/usr/bin/env python3
"""Re-measure lookups with a given binary: the ceiling, a fresh SQLite
database seeded through /Bulk to 10k then 100k users, and an existing
database (e.g. the one a scale run seeded to 1M users), in one run.

    lookup_recheck.py ROLLCALL_BIN CEILING_BIN EXISTING_DB_URL EXISTING_USERS [SECONDS]
"""
import sys
import tempfile

import scale


def main():
    rollcall, ceiling, existing, users = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    seconds = int(sys.argv[5]) if len(sys.argv) > 5 else 10

    class Args:
        pass

    a = Args()
    a.ceiling, a.duration = ceiling, seconds
    res = []
    scale.run_ceiling(a, res)
    work = tempfile.mkdtemp(prefix="rollcall-recheck.")

    def lookup(srv, size, label):
        r = scale.wrk("lookup.lua", srv.port, [srv.token, size, "u", 7], seconds)
        res.append({"server": "Rollcall (SQLite)", "size": label, **r,
                    **scale.mem(srv.proc.pid)})

    srv = scale.Rollcall(rollcall, f"sqlite://{work}/r.db", work, "fresh")
    c = scale.Client(srv.port, srv.token)
    ids, done = [], 0
    for size in (10000, 100000):
        scale.seed_bulk(c, done, size, ids)
        done = size
        lookup(srv, size, f"{size:,} users")
    srv.stop()
    srv = scale.Rollcall(rollcall, existing, work, "existing")
    lookup(srv, users, f"{users:,} users (existing database)")
    srv.stop()
    print("| server | size | req/s | p50 ms | p99 ms | errors | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for x in res:
        print(f"| {x.get('server', 'bare axum (ceiling)')} | {x.get('size', '-')} | {x['rps']:,.0f} | "
              f"{x['p50_us'] / 1000:.2f} | {x['p99_us'] / 1000:.2f} | {int(x.get('non200', 0) + x.get('miss', 0))} | "
              f"{x.get('rss_VmHWM', '')} |")


if __name__ == "__main__":
    main()
