#!/usr/bin/env python3
"""Acknowledged writes per second by store, in one run (issue 17): the
same binary, the same wrk load (benches/load/edits.lua: every request
creates a feature, 32 connections), each mode on a fresh store:
- sqlite: one server on its SQLite store (the default);
- postgres: one server on PostgreSQL (started in a temporary directory,
  synchronous_commit on, as the tests do);
- postgres-3-nginx: three servers on one PostgreSQL behind nginx
  (deploy/nginx/tuilerie.conf: writes to one of them, the others its
  backups);
- postgres-3-all-write: the same with writes sent to every server in
  turn (each batch then checked against the others' writes).
Modes are interleaved run by run; the medians are printed. A 2xx is a
committed write in every mode. A benchmark, not a test.

    python3 scripts/store_writes.py [--seconds 10] [--runs 3] [--binary PATH]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

import serverkit
from replicas import Replicas, stop_nginx

ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=int, default=10)
ap.add_argument("--runs", type=int, default=3)
ap.add_argument("--connections", type=int, default=32)
ap.add_argument("--binary", default=None)
args = ap.parse_args()
binary = serverkit.binary(args.binary)
lua = os.path.join(serverkit.ROOT, "benches", "load", "edits.lua")


def measure(mode):
    pg = serverkit.Postgres("writes") if mode != "sqlite" else None
    work = tempfile.mkdtemp(prefix="tlr-writes-")
    n = 3 if mode.startswith("postgres-3") else 1
    r = Replicas(binary, pg, work, n, public=False)
    nginx = None
    try:
        store = ["--store", pg.url] if pg else ["--data-dir", os.path.join(work, "r0")]
        token = subprocess.run([binary, "token", "create", "--role", "editor", "--layers", "points", "--name", "bench",
                                *store], check=True, capture_output=True, text=True).stdout.strip()
        for i in range(n):
            r.start(i)
        base = r.base(0)
        if n > 1:
            nginx, base = r.nginx(n, workers=1, writes_everywhere=mode == "postgres-3-all-write")
        out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "-s", lua, base],
                             check=True, capture_output=True, text=True, env={**os.environ, "TUILERIE_TOKEN": token}).stdout
        line = json.loads(next(l for l in out.splitlines() if l.startswith("JSON "))[5:])
        if pg:
            stored = int(pg.psql("SELECT count(*) FROM changes"))
        else:
            stored = int(subprocess.run(["sqlite3", os.path.join(work, "r0", "tuilerie.db"), "SELECT count(*) FROM changes"],
                                        check=True, capture_output=True, text=True).stdout)
        acked = line["requests"] - line["errors"]
        return {"mode": mode, "acknowledged_per_s": acked / line["seconds"], "p50_ms": line["p50_ms"],
                "p99_ms": line["p99_ms"], "refused": line["errors"], "stored": stored, "acknowledged": acked}
    finally:
        if nginx:
            stop_nginx(nginx)
        r.stop()
        if pg:
            pg.__exit__()
        shutil.rmtree(work, ignore_errors=True)


results = {}
for run in range(args.runs):
    for mode in ("sqlite", "postgres", "postgres-3-nginx", "postgres-3-all-write"):
        m = measure(mode)
        print("store_writes: " + json.dumps(m), flush=True)
        if m["stored"] < m["acknowledged"]:
            raise SystemExit(f"store_writes: {mode}: {m['acknowledged']} acknowledged but {m['stored']} stored")
        results.setdefault(mode, []).append(m)
for mode, ms in results.items():
    ms.sort(key=lambda m: m["acknowledged_per_s"])
    mid = ms[len(ms) // 2]
    print(f"store_writes: {mode}: median {mid['acknowledged_per_s']:.0f} acknowledged writes/s "
          f"(p50 {mid['p50_ms']} ms, p99 {mid['p99_ms']} ms; runs: "
          f"{', '.join(str(round(m['acknowledged_per_s'])) for m in ms)})")
