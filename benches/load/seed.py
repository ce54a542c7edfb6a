#!/usr/bin/env python3
"""Seed a SCIM server with users through its HTTP API (stdlib only).

Creates users named PREFIX + zero-padded index (u000001, u000002, ...) by
POSTing to BASE/Users over keep-alive connections (http.client), from several
worker processes (so the client is not bound to one core by the GIL). A shared
counter hands out the next index, so when the time cap stops the run, the users
created are exactly the indices 1..reached (every handed-out index is finished).

Prints progress to stderr and, at the end, one machine-readable line on stdout:

    SEED created=N errors=E reached=R seconds=S rate=C capped=0|1

Exits 0 even when capped (the caller records the size reached); exits 1 if no
user could be created or on more errors than --max-errors.
"""

import argparse
import http.client
import json
import multiprocessing as mp
import sys
import time
import urllib.parse

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def user_name(prefix, width, i):
    return f"{prefix}{i:0{width}d}"


def body_for(prefix, width, i):
    name = user_name(prefix, width, i)
    return json.dumps(
        {
            "schemas": [CORE],
            "userName": name,
            "emails": [{"value": f"{name}@example.com", "type": "work", "primary": True}],
            "name": {"givenName": "A", "familyName": "B"},
        }
    ).encode()


def worker(args, counter, created, errors, stop_at, first_errors):
    u = urllib.parse.urlsplit(args.base)
    path = u.path.rstrip("/") + "/Users"
    headers = {
        "Authorization": f"Bearer {args.token}",
        "Content-Type": "application/scim+json",
        "Accept": "application/scim+json",
    }
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=args.timeout)
    ok = bad = 0
    while True:
        if time.monotonic() >= stop_at:
            break
        with counter.get_lock():
            i = counter.value + 1
            if i > args.end:
                break
            counter.value = i
        data = body_for(args.prefix, args.width, i)
        status = None
        for attempt in range(3):
            try:
                conn.request("POST", path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                status = resp.status
                if resp.will_close:
                    conn.close()  # HTTP/1.0 peers: http.client reopens on next request
                break
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                payload = repr(e).encode()
                status = None
                time.sleep(0.05 * (attempt + 1))
        if status == 201:
            ok += 1
        else:
            bad += 1
            with first_errors.get_lock():
                if first_errors.value < 5:
                    first_errors.value += 1
                    print(f"seed: index {i}: status {status}: {payload[:300]!r}", file=sys.stderr)
        if (ok + bad) % 200 == 0:
            with created.get_lock():
                created.value += ok
            with errors.get_lock():
                errors.value += bad
            ok = bad = 0
    with created.get_lock():
        created.value += ok
    with errors.get_lock():
        errors.value += bad
    conn.close()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base", required=True, help="SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2")
    p.add_argument("--token", required=True)
    p.add_argument("--start", type=int, default=1, help="first index (default 1)")
    p.add_argument("--end", type=int, required=True, help="last index, inclusive")
    p.add_argument("--prefix", default="u")
    p.add_argument("--width", type=int, default=6)
    p.add_argument("--concurrency", type=int, default=8, help="worker processes, one connection each")
    p.add_argument("--max-seconds", type=float, default=600, help="stop handing out new users after this")
    p.add_argument("--timeout", type=float, default=30, help="per-request socket timeout")
    p.add_argument("--max-errors", type=int, default=0)
    args = p.parse_args()

    u = urllib.parse.urlsplit(args.base)
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("seed: refusing a non-loopback or non-http base URL")

    counter = mp.Value("q", args.start - 1)
    created = mp.Value("q", 0)
    errors = mp.Value("q", 0)
    first_errors = mp.Value("i", 0)
    t0 = time.monotonic()
    stop_at = t0 + args.max_seconds
    procs = [
        mp.Process(target=worker, args=(args, counter, created, errors, stop_at, first_errors))
        for _ in range(args.concurrency)
    ]
    for pr in procs:
        pr.start()
    last = t0
    while any(pr.is_alive() for pr in procs):
        time.sleep(0.5)
        now = time.monotonic()
        if now - last >= 10:
            last = now
            done = counter.value - args.start + 1
            print(
                f"seed: {done} handed out in {now - t0:.0f}s ({done / (now - t0):.0f}/s)",
                file=sys.stderr,
            )
    for pr in procs:
        pr.join()
    secs = time.monotonic() - t0
    reached = counter.value
    capped = 1 if reached < args.end else 0
    n = created.value
    print(
        f"SEED created={n} errors={errors.value} reached={reached} seconds={secs:.1f} "
        f"rate={n / secs if secs else 0:.0f} capped={capped}"
    )
    if n == 0 or errors.value > args.max_errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
