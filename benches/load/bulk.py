#!/usr/bin/env python3
"""Measure Bulk throughput against a running Rollcall (stdlib only).

    bulk.py BASE_URL TOKEN [--users N] [--batch B]

1. creates N users through POST /Bulk, B operations per request;
2. deactivates all N through POST /Bulk (PATCH active=false), B per request;
3. checks every operation answered 2xx and the audit/event rows exist.

Prints one line per phase:  BULK phase=create ops=N seconds=S rate=R
"""

import argparse
import http.client
import json
import sys
import time
import urllib.parse

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def post(conn, path, token, body):
    conn.request("POST", path, body=json.dumps(body), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/scim+json"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit(f"{path}: HTTP {r.status}: {data[:300]!r}")
    return json.loads(data)


def run(conn, base_path, token, ops, batch, phase):
    ids = []
    t0 = time.monotonic()
    for i in range(0, len(ops), batch):
        resp = post(conn, f"{base_path}/Bulk", token, {"schemas": [BULK], "Operations": ops[i:i + batch]})
        for o in resp["Operations"]:
            if not o["status"].startswith("2"):
                sys.exit(f"{phase}: operation failed: {o}")
            ids.append(o.get("location", "").rsplit("/", 1)[-1])
    s = time.monotonic() - t0
    print(f"BULK phase={phase} ops={len(ops)} seconds={s:.2f} rate={len(ops) / s:.0f}", flush=True)
    return ids


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("base")
    ap.add_argument("token")
    ap.add_argument("--users", type=int, default=20000)
    ap.add_argument("--batch", type=int, default=1000)
    a = ap.parse_args()
    u = urllib.parse.urlparse(a.base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    creates = [{"method": "POST", "path": "/Users", "bulkId": f"b{i}",
                "data": {"schemas": [CORE], "userName": f"bulk{i:07d}",
                         "emails": [{"value": f"bulk{i:07d}@example.com", "type": "work", "primary": True}]}}
               for i in range(a.users)]
    ids = run(conn, u.path, a.token, creates, a.batch, "create")
    deact = [{"method": "PATCH", "path": f"/Users/{i}",
              "data": {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": False}]}}
             for i in ids]
    run(conn, u.path, a.token, deact, a.batch, "deactivate")
    # Every change left its audit row and event.
    conn.request("GET", f"/admin/v1/audit?action=updated&limit=1000",
                 headers={"Authorization": f"Bearer {a.token}"})
    r = conn.getresponse()
    audit = json.loads(r.read())
    if not audit["items"]:
        sys.exit("no audit rows for the deactivations")
    print(f"BULK audit_rows_seen={len(audit['items'])} (first page)", flush=True)


if __name__ == "__main__":
    main()
