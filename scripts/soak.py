#!/usr/bin/env python3
"""Soak: the release binary on the demo data under a mixed load for a
fixed time, with slow idle clients holding connections, and checks that
nothing degrades.

    python3 scripts/soak.py [--seconds 600] [--idle 1000] [--connections 32]

Load: wrk (benches/load/soak.lua) on tiles, /nearest, items, maps and
malformed requests; a client exporting SVG and PNG maps and uploading and
deleting a CSV table in a loop; IDLE clients that send a request head one
byte every 3 s (and reconnect when the server closes them).
Fails unless: 0 answers 5xx, no wrk timeout or read error, every export
and upload answered, and resident memory at the end within 10% of its
value after the warm-up (the first minute), for runs of 5 minutes or more.
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

import serverkit

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--seconds", type=int, default=600)
ap.add_argument("--idle", type=int, default=1000)
ap.add_argument("--connections", type=int, default=32)
ap.add_argument("--binary", default=None)
args = ap.parse_args()

binary = serverkit.binary(args.binary)
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"

# The demo configuration with absolute paths and room for the idle clients.
config = open(os.path.join(ROOT, "data", "tuilerie.toml"), encoding="utf-8").read()
config = config.replace('path = "', f'path = "{os.path.join(ROOT, "data")}/')
config = config.replace("[server]\n", f"[server]\nmax_connections = {args.idle + args.connections + 200}\n", 1)
tmp = tempfile.mkdtemp(prefix="tuilerie-soak-")
config_path = os.path.join(tmp, "soak.toml")
open(config_path, "w", encoding="utf-8").write(config)
log = open(os.path.join(tmp, "server.log"), "w")
data_dir, token = serverkit.store(binary)
auth = {"Authorization": f"Bearer {token}"}
server = subprocess.Popen([binary, "serve", "--config", config_path, "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir], stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})


def get(path, data=None, method=None, headers=None, timeout=60):
    """The status, or the failure of a request left unanswered."""
    try:
        return serverkit.request(base, path, data, method, headers, timeout)[0]
    except Exception as e:  # noqa: BLE001 - any failure is an unanswered request
        return f"error: {e}"


def rss_mb():
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


try:
    if not serverkit.wait_ready(base, server):
        sys.exit("soak: the server did not start; see " + log.name)
    stop = threading.Event()

    # Slow idle clients.
    idle_stats = {"reconnects": 0, "open": 0}

    def idle_client(i):
        s = None
        while not stop.is_set():
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), timeout=5)
                    s.sendall(b"GET /health HTTP/1.1\r\nHost: soak\r\nX-Slow: ")
                    idle_stats["open"] += 1
                s.sendall(b"a")
                stop.wait(3)
            except OSError:
                if s is not None:
                    s.close()
                    idle_stats["open"] -= 1
                s = None
                idle_stats["reconnects"] += 1
                stop.wait(0.5)
        if s is not None:
            s.close()

    idlers = [threading.Thread(target=idle_client, args=(i,), daemon=True) for i in range(args.idle)]
    for t in idlers:
        t.start()

    # Exports and uploads, one at a time.
    heavy = {"ok": 0, "bad": []}

    def heavy_client():
        n = 0
        while not stop.is_set():
            n += 1
            for path, data, method, headers, want in [
                ("/maps/densite-population.svg", None, None, None, 200),
                ("/maps/distance-verre.png?width=800", None, None, None, 200),
                ("/tables?id=soak", b"code;v\n33063;1,5\n33001;2\n", "POST", {"Content-Type": "text/csv", **auth}, 201),
                ("/tables/soak", None, "DELETE", auth, 204),
            ]:
                status = get(path, data, method, headers)
                if status == want:
                    heavy["ok"] += 1
                else:
                    heavy["bad"].append((path, status))
            stop.wait(0.5)

    heavy_thread = threading.Thread(target=heavy_client, daemon=True)
    heavy_thread.start()

    # Resident memory, every 2 s.
    samples = []

    def sampler():
        start = time.time()
        while not stop.is_set():
            samples.append((time.time() - start, rss_mb()))
            stop.wait(2)

    threading.Thread(target=sampler, daemon=True).start()

    wrk = subprocess.run(
        ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s", "--timeout", "10s", "-s", os.path.join(ROOT, "benches", "load", "soak.lua"), base],
        capture_output=True, text=True,
    )
    stop.set()
    heavy_thread.join(timeout=120)
    alive = server.poll() is None
    final_health = get("/health", timeout=10)
    print(wrk.stdout)
    if wrk.stderr.strip():
        print(wrk.stderr)
    counts = dict(re.findall(r"(\d)xx=(\d+)", wrk.stdout))
    errors = dict(re.findall(r"(connect|read|write|timeout|status)=(\d+)", wrk.stdout))
    warm = min(60, args.seconds / 6)
    after_warm = next((r for t, r in samples if t >= warm), samples[-1][1] if samples else 0)
    end = samples[-1][1] if samples else 0
    peak = max((r for _, r in samples), default=0)
    growth = (end - after_warm) / after_warm * 100 if after_warm else 0
    print(f"soak: {args.seconds} s, {args.connections} wrk connections, {args.idle} slow idle clients ({idle_stats['reconnects']} reconnections after the server closed them)")
    print(f"soak: exports/uploads answered as expected: {heavy['ok']}, otherwise: {len(heavy['bad'])} {heavy['bad'][:5]}")
    print(f"soak: RSS after warm-up ({warm:.0f} s) {after_warm:.1f} MB, at the end {end:.1f} MB ({growth:+.1f}%), peak {peak:.1f} MB")
    failures = []
    if int(counts.get("5", 1)) != 0:
        failures.append(f"{counts.get('5')} answers 5xx")
    if int(errors.get("timeout", 1)) or int(errors.get("read", 1)):
        failures.append(f"wrk errors {errors}")
    if heavy["bad"] or heavy["ok"] == 0:
        failures.append(f"exports/uploads: {heavy['bad'][:5]}")
    # A short run (the test command's) is all warm-up: memory is judged
    # from five minutes on.
    if args.seconds >= 300 and abs(growth) > 10:
        failures.append(f"memory changed by {growth:+.1f}% after the warm-up")
    if not alive or final_health != 200:
        failures.append(f"server alive={alive}, /health={final_health}")
    if failures:
        sys.exit("soak FAILED: " + "; ".join(failures) + f" (server log: {log.name})")
    print("soak: passed")
finally:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
