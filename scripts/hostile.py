#!/usr/bin/env python3
"""Hostile but cheap requests, measured on the real binary (the cases of
issue 18): tiles must stay fast while they run, and the cost of each must
grow at most about linearly with its size.

    python3 scripts/hostile.py [--binary PATH]

1. While two 100,000-column CSV uploads and four 60,000-character `q=` /
   `accepts=` requests run, every tile request is answered within 100 ms.
2. Ten times the input costs at most 20 times the time (median of 3) for:
   CSV rows, CSV columns, query-string length, and the vertices of a
   self-intersecting polygon at load (`tuilerie inspect`).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import serverkit

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--binary", default=None)
args = ap.parse_args()
binary = serverkit.binary(args.binary)
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
data_dir, token = serverkit.store(binary)
server = subprocess.Popen([binary, "serve", os.path.join(ROOT, "data"), "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def request(path, data=None, headers=None):
    # Uploads are an admin's; the token changes nothing for reads.
    return serverkit.request(base, path, data, headers={**(headers or {}), "Authorization": f"Bearer {token}"})


def timed(f, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


failures = []
try:
    if not serverkit.wait_ready(base, server):
        sys.exit("hostile: the server did not start")
    # 1. Tiles while hostile requests run.
    wide = (";".join(f"c{i}" for i in range(100_000)) + "\n" + ";".join("1" for _ in range(100_000)) + "\n").encode()
    long_q = "verre" * 12_000
    hostile = [lambda: request("/tables?id=wide", wide, {"Content-Type": "text/csv"}) for _ in range(2)]
    hostile += [lambda: request("/waste-categories?q=" + long_q) for _ in range(2)]
    hostile += [lambda: request("/nearest?lon=-0.58&lat=44.84&accepts=" + long_q) for _ in range(2)]
    threads = [threading.Thread(target=h) for h in hostile]
    for t in threads:
        t.start()
    worst, n = 0.0, 0
    z, x0, y0 = 14, 8165, 5895
    while any(t.is_alive() for t in threads) or n < 20:
        t = time.perf_counter()
        status, _ = request(f"/tiles/communes,points-collecte/{z}/{x0 + n % 30}/{y0 + n // 30}.mvt")
        worst = max(worst, time.perf_counter() - t)
        n += 1
    for t in threads:
        t.join()
    print(f"hostile: {n} tile requests during 2 wide CSV uploads and 4 long queries: slowest {worst * 1000:.1f} ms")
    if worst > 0.1:
        failures.append(f"a tile took {worst * 1000:.0f} ms while hostile requests ran")
    code, body = request("/tables?id=wide", wide, {"Content-Type": "text/csv"})
    print(f"hostile: 100,000-column CSV: {code} {body[:100].decode(errors='replace')}")

    # 2. Scaling.
    def csv_rows(n):
        return ("code;v\n" + "".join(f"{i};{i % 97}\n" for i in range(n))).encode()

    def csv_cols(n):
        return (";".join(f"c{i}" for i in range(n)) + "\n" + ";".join(str(i) for i in range(n)) + "\n") .encode() * 1

    cases = []
    small, large = csv_rows(20_000), csv_rows(200_000)
    cases.append(("CSV rows 20k -> 200k", lambda: request("/tables?id=rows", small, {"Content-Type": "text/csv"}), lambda: request("/tables?id=rows", large, {"Content-Type": "text/csv"})))
    c1, c2 = csv_cols(100), csv_cols(1000)
    many = lambda c: b"".join([c] + [c.split(b"\n")[1] + b"\n"] * 200)  # noqa: E731
    m1, m2 = many(c1), many(c2)
    cases.append(("CSV columns 100 -> 1000", lambda: request("/tables?id=cols", m1, {"Content-Type": "text/csv"}), lambda: request("/tables?id=cols", m2, {"Content-Type": "text/csv"})))
    q1, q2 = "frigo" * 1200, "frigo" * 12000
    cases.append(("q= 6k -> 60k chars", lambda: request("/waste-categories?q=" + q1), lambda: request("/waste-categories?q=" + q2)))
    a1, a2 = ",".join(["verre"] * 1000), ",".join(["verre"] * 10000)
    cases.append(("accepts= 6k -> 60k chars", lambda: request("/nearest?lon=-0.58&lat=44.84&accepts=" + a1), lambda: request("/nearest?lon=-0.58&lat=44.84&accepts=" + a2)))
    tmp = tempfile.mkdtemp(prefix="tuilerie-hostile-")

    def zigzag(n, name):
        # A ring that crosses itself at almost every edge.
        coords = [[(-0.5 + (i % 2) * 0.2), 44.0 + i * (1.0 / n)] for i in range(n)]
        coords.append(coords[0])
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            json.dump({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [coords]}}]}, f)
        return path

    p1, p2 = zigzag(10_000, "z10k.geojson"), zigzag(100_000, "z100k.geojson")
    run = lambda p: subprocess.run([binary, "inspect", p], capture_output=True, check=False)  # noqa: E731
    cases.append(("self-intersecting polygon 10k -> 100k vertices (load)", lambda: run(p1), lambda: run(p2)))
    for name, f_small, f_large in cases:
        t1, t2 = timed(f_small), timed(f_large)
        ratio = (t2 + 0.002) / (t1 + 0.002)
        print(f"hostile: {name}: {t1 * 1000:.1f} ms -> {t2 * 1000:.1f} ms (x{ratio:.1f})")
        if ratio > 20:
            failures.append(f"{name} grew x{ratio:.1f}")
finally:
    server.terminate()
    server.wait(timeout=20)
if failures:
    sys.exit("hostile FAILED: " + "; ".join(failures))
print("hostile: passed")
