#!/usr/bin/env python3
"""Edit-to-visible latency across servers on one PostgreSQL store (issue
17): a PostgreSQL started in a temporary directory (as the tests do), N
`tuilerie serve --store` (3 by default) on the demo points, an editor
token; edits (creations, then merge-patches of the created points)
through the first server, each polled on every other until all serve the
new state. Prints p50, p90, p99 and max, from the first server's answer
to the last other's first matching answer (polling every millisecond). A
benchmark, not a test.

    python3 scripts/replica_latency.py [--edits 200] [--replicas 3] [--binary PATH]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import serverkit

ap = argparse.ArgumentParser()
ap.add_argument("--edits", type=int, default=200)
ap.add_argument("--replicas", type=int, default=3, help="servers: edits go through the first, the others are polled")
ap.add_argument("--binary", default=None)
args = ap.parse_args()
binary = serverkit.binary(args.binary)
root = serverkit.ROOT

servers = []
with serverkit.Postgres("lat") as pg:
    try:
        url, work = pg.url, pg.dir
        layer = os.path.join(work, "points.geojson")
        shutil.copy(os.path.join(root, "data", "points-collecte-synthetiques.geojson"), layer)
        config = os.path.join(work, "tuilerie.toml")
        with open(config, "w") as f:
            f.write(f'[[layers]]\npath = "{layer}"\nid = "points"\neditable = true\n[server]\nwrite_rate = 0\n')
        token = subprocess.run([binary, "token", "create", "--role", "editor", "--layers", "points", "--name", "bench", "--store", url],
                               check=True, capture_output=True, text=True).stdout.strip()
        bases = []
        for name in [chr(ord("a") + i) for i in range(max(2, args.replicas))]:
            port = serverkit.free_port()
            p = subprocess.Popen([binary, "serve", "--config", config, "--store", url, "--addr", f"127.0.0.1:{port}",
                                  "--data-dir", os.path.join(work, name)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            servers.append(p)
            base = f"http://127.0.0.1:{port}"
            if not serverkit.wait_ready(base, p):
                sys.exit(f"replica_latency: server {name} did not start")
            bases.append(base)
        a, others = bases[0], bases[1:]
        auth = {"Authorization": f"Bearer {token}"}
        latencies = []
        created = []
        for i in range(args.edits):
            if i < args.edits // 2:
                body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.6 + i * 1e-4, 44.8]},
                        "properties": {"name": f"latence {i}"}}
                status, reply = serverkit.request(a, "/collections/points/items", json.dumps(body).encode(), "POST",
                                                  {**auth, "Content-Type": "application/geo+json"})
                assert status == 201, reply
                fid = json.loads(reply)["id"]
                created.append(fid)
                want = f"latence {i}"
            else:
                fid = created[i - args.edits // 2]
                path = f"/collections/points/items/{fid}"
                with urllib.request.urlopen(urllib.request.Request(a + path, headers=auth)) as r:
                    etag = r.headers["ETag"]
                patch = {"properties": {"name": f"moved {i}"}}
                status, reply = serverkit.request(a, path, json.dumps(patch).encode(), "PATCH",
                                                  {**auth, "Content-Type": "application/merge-patch+json", "If-Match": etag})
                assert status == 200, reply
                want = f"moved {i}"
            t0 = time.perf_counter()
            path = f"/collections/points/items/{fid}"
            # Visible when every other server serves it.
            waiting = list(others)
            while waiting:
                status, reply = serverkit.request(waiting[0], path)
                if status == 200 and want.encode() in reply:
                    waiting.pop(0)
                    continue
                if time.perf_counter() - t0 > 10:
                    sys.exit(f"replica_latency: {path} not on {waiting[0]} after 10 s")
                time.sleep(0.001)
            latencies.append(time.perf_counter() - t0)
        latencies.sort()
        q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
        print(f"replica_latency: {len(latencies)} edits through one server seen on all {len(others)} others: p50 {q(0.5):.2f} ms, p90 {q(0.9):.2f} ms, "
              f"p99 {q(0.99):.2f} ms, max {latencies[-1] * 1000:.2f} ms")
    finally:
        for p in servers:
            p.kill()
            p.wait()
