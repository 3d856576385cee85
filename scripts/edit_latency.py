#!/usr/bin/env python3
"""Edit latencies and reads under edits, on the real binary:

    python3 scripts/edit_latency.py [--layer FILE] [--edits 50] [--seconds 10] [--binary PATH]

Serves FILE (default: the demo collection points; the 1,000,000-point
benchmark layer is bench-data/containers-france-1000000.geojson) as an
editable layer, then measures:
1. for EDITS edits one after another: the acknowledged edit latency (POST
   to 201) and the time until the new point is visible in /nearest and in
   its z14 tile (polled every 5 ms);
2. hot-tile and /nearest throughput with wrk (2 threads, 32 connections,
   SECONDS each), first without edits, then while 100 edits per second
   arrive.
Prints a JSON report with medians and 99th percentiles.
"""
import argparse
import json
import math
import os
import random
import subprocess
import tempfile
import threading
import time

import serverkit

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--layer", default=os.path.join(ROOT, "data", "points-collecte-synthetiques.geojson"))
ap.add_argument("--edits", type=int, default=50)
ap.add_argument("--seconds", type=int, default=10)
ap.add_argument("--binary", default=None)
args = ap.parse_args()

binary = serverkit.binary(args.binary)
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp(prefix="tuilerie-edit-latency-")
data_dir, token = serverkit.store(binary)
config = os.path.join(tmp, "latency.toml")
with open(config, "w", encoding="utf-8") as f:
    f.write(f'[server]\nwrite_rate = 0\nwatch = false\n\n[[layers]]\npath = "{os.path.abspath(args.layer)}"\nid = "points"\neditable = true\n')
log = open(os.path.join(tmp, "server.log"), "w")
server = subprocess.Popen([binary, "serve", "--config", config, "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir],
                          stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
if not serverkit.wait_ready(base, server, 600):
    raise SystemExit("the server did not start")
AUTH = {"Authorization": f"Bearer {token}", "Content-Type": "application/geo+json"}


def tile(z, lon, lat):
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/points/{z}/{x}/{y}.mvt"


def post(name, lon, lat):
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": name, "amenity": "recycling", "recycling:glass_bottles": "yes"}}
    t = time.perf_counter()
    status, answer = serverkit.request(base, "/collections/points/items", json.dumps(body).encode(), "POST", AUTH)
    return status, json.loads(answer), time.perf_counter() - t


def pct(values, p):
    v = sorted(values)
    return round(v[min(len(v) - 1, int(p / 100 * len(v)))] * 1000, 2) if v else None


rng = random.Random(7)
ack, nearest, tiles = [], [], []
for i in range(args.edits):
    lon, lat = -0.9 + rng.random() * 0.6, 44.6 + rng.random() * 0.4
    name = f"latency-{i}-{rng.randrange(1 << 30)}"
    t0 = time.perf_counter()
    status, body, took = post(name, lon, lat)
    assert status == 201, body
    ack.append(took)
    fid = body["id"]
    seen_nearest = seen_tile = None
    while seen_nearest is None or seen_tile is None:
        now = time.perf_counter() - t0
        if now > 30:
            raise SystemExit(f"edit {fid} not visible after 30 s")
        if seen_nearest is None:
            _, n = serverkit.request(base, f"/nearest?lon={lon}&lat={lat}&k=1&layers=points")
            if json.loads(n)["features"][0]["id"] == fid:
                seen_nearest = time.perf_counter() - t0
        if seen_tile is None:
            _, t = serverkit.request(base, tile(14, lon, lat))
            if name.encode() in t:
                seen_tile = time.perf_counter() - t0
        time.sleep(0.005)
    nearest.append(seen_nearest)
    tiles.append(seen_tile)


def wrk(path):
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{args.seconds}s", base + path], capture_output=True, text=True, check=True).stdout
    return float(next(line.split()[1] for line in out.splitlines() if line.startswith("Requests/sec")))


hot_tile = tile(12, -0.5792, 44.8378)
hot_nearest = "/nearest?lon=-0.5792&lat=44.8378&k=5&accepts=verre&layers=points"
quiet = {"tile": wrk(hot_tile), "nearest": wrk(hot_nearest)}
stop = threading.Event()
edits_done = [0]


def editor():
    i = 0
    while not stop.is_set():
        t = time.perf_counter()
        post(f"load-{i}", -0.9 + rng.random() * 0.6, 44.6 + rng.random() * 0.4)
        edits_done[0] += 1
        i += 1
        stop.wait(max(0.0, 0.01 - (time.perf_counter() - t)))


th = threading.Thread(target=editor, daemon=True)
th.start()
t_edits = time.perf_counter()
busy = {"tile": wrk(hot_tile), "nearest": wrk(hot_nearest)}
stop.set()
th.join()
edit_rate = edits_done[0] / (time.perf_counter() - t_edits)
server.terminate()
server.wait()
report = {
    "layer": os.path.basename(args.layer),
    "edits": args.edits,
    "ack_ms": {"p50": pct(ack, 50), "p99": pct(ack, 99)},
    "visible_in_nearest_ms": {"p50": pct(nearest, 50), "p99": pct(nearest, 99)},
    "visible_in_tile_ms": {"p50": pct(tiles, 50), "p99": pct(tiles, 99)},
    "reads_per_s_without_edits": quiet,
    "reads_per_s_with_edits": busy,
    "edits_per_s_during_reads": round(edit_rate, 1),
}
print(json.dumps(report, indent=1))
