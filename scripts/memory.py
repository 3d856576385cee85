#!/usr/bin/env python3
"""Memory per client, measured on the server's resident memory (VmRSS and
the peak VmHWM from /proc): the binary serves the demo data, then

1. an 8 MiB CSV of two short columns is uploaded: the table must cost at
   most 3 times its size;
2. tables of 1, 8, 16, 20 and 32 MiB are uploaded one after another: the
   total is capped (refusals name the limit) and memory stays bounded;
   replacing a table under the same id must not grow memory;
3. eight 8000-pixel PNG exports at once: the peak must stay under 1 GB.

    python3 scripts/memory.py [--binary PATH]
"""
import argparse
import concurrent.futures
import os
import subprocess
import sys
import tempfile
import time

import serverkit

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--binary", default=None)
args = ap.parse_args()
binary = serverkit.binary(args.binary)
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
log = tempfile.NamedTemporaryFile(prefix="tuilerie-memory-", suffix=".log", delete=False)
data_dir, token = serverkit.store(binary)
auth = {"Authorization": f"Bearer {token}"}
server = subprocess.Popen([binary, "serve", "--config", os.path.join(ROOT, "data", "tuilerie.toml"), "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir], stdout=log, stderr=log)


def status(field):
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def request(path, data=None, method=None, headers=None):
    return serverkit.request(base, path, data, method, headers, timeout=300)


def csv_of(mib):
    rows, size, i = [b"code;valeur\n"], 12, 0
    while size < mib * 1024 * 1024:
        line = b"%05d;%d\n" % (i % 100000, i % 997)
        rows.append(line)
        size += len(line)
        i += 1
    return b"".join(rows)


MB = 1024 * 1024
failures = []
try:
    if not serverkit.wait_ready(base, server):
        sys.exit(f"memory: the server did not start (log {log.name})")
    # 1. One 8 MiB table.
    body = csv_of(8)
    before = status("VmRSS")
    code, _ = request("/tables?id=big", body, "POST", {"Content-Type": "text/csv", **auth})
    time.sleep(0.5)
    after = status("VmRSS")
    ratio = (after - before) / len(body)
    print(f"memory: 8 MiB CSV ({len(body) / MB:.1f} MiB, status {code}): resident +{(after - before) / MB:.1f} MiB = {ratio:.2f} x the file")
    if code != 201 or ratio > 3:
        failures.append(f"8 MiB CSV cost {ratio:.2f} x its size (status {code})")
    # 2. Tables of growing sizes, then a replacement under the same id.
    base_rss = status("VmRSS")
    for i, mib in enumerate([1, 8, 16, 20, 32]):
        code, answer = request(f"/tables?id=t{i}", csv_of(mib), "POST", {"Content-Type": "text/csv", **auth})
        print(f"memory: {mib} MiB table t{i}: status {code} {answer[:120].decode(errors='replace') if code >= 400 else ''}")
    after_all = status("VmRSS")
    for _ in range(3):
        request("/tables?id=t4", csv_of(32), "POST", {"Content-Type": "text/csv", **auth})
    after_replace = status("VmRSS")
    print(f"memory: after 1+8+16+20+32 MiB of tables: resident {after_all / MB:.0f} MiB (+{(after_all - base_rss) / MB:.0f}); after replacing t4 three times: {after_replace / MB:.0f} MiB")
    if after_replace > after_all * 1.10 + 16 * MB:
        failures.append(f"replacing a table grew memory from {after_all / MB:.0f} to {after_replace / MB:.0f} MiB")
    if after_all > 1024 * MB:
        failures.append(f"tables took {after_all / MB:.0f} MiB")
    for i in range(5):
        request(f"/tables/t{i}", None, "DELETE", auth)
    request("/tables/big", None, "DELETE", auth)
    # 3. Eight 8000-pixel PNG exports at once; the peak (VmHWM) is reset
    # by measuring from the current resident size.
    start_rss = status("VmRSS")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        t0 = time.time()
        peak = 0
        futures = [pool.submit(request, "/maps/densite-population.png?width=8000") for _ in range(8)]
        while not all(f.done() for f in futures):
            peak = max(peak, status("VmRSS"))
            time.sleep(0.02)
        codes = [f.result()[0] for f in futures]
    peak = max(peak, status("VmRSS"))
    print(f"memory: 8 concurrent 8000-px PNG exports: statuses {sorted(codes)}, resident before {start_rss / MB:.0f} MiB, peak {peak / MB:.0f} MiB (sampled every 20 ms), {time.time() - t0:.1f} s")
    if peak > 1000 * 1000 * 1000:
        failures.append(f"PNG exports peaked at {peak / MB:.0f} MiB")
    if any(c >= 500 and c != 503 for c in codes):
        failures.append(f"PNG statuses {codes}")
finally:
    server.terminate()
    server.wait(timeout=20)
if failures:
    sys.exit("memory FAILED: " + "; ".join(failures) + f" (server log {log.name})")
print("memory: passed")
