#!/usr/bin/env python3
"""Durability of acknowledged writes under SIGKILL, on the real binary.

    python3 scripts/durability.py [--kills 20] [--writers 16] [--binary PATH]

Serves the demo collection points as an editable layer with a store in a
temporary directory. WRITERS threads create features and patch their own
(If-Match), each write carrying a unique attempt number; meanwhile the
server is killed with SIGKILL at random moments, KILLS times, and started
again. Every answer is recorded: 2xx (acknowledged), another status
(refused), or no answer (unknown: the kill came first).

At the end, on a last restart, every feature is read back and:
- every acknowledged write is there with its last acknowledged content, or
  with the content of a later write whose answer was lost (that write may
  have been committed just before the kill);
- every feature's content is exactly one attempt's content: nothing
  half-applied, no mixture of two writes;
- a feature whose creation was never acknowledged exists only with its
  attempt's content.
Exit 1 on any violation. Prints a JSON report.
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import serverkit

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--kills", type=int, default=20)
ap.add_argument("--writers", type=int, default=16)
ap.add_argument("--binary", default=None)
args = ap.parse_args()

binary = serverkit.binary(args.binary)
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
tmp = tempfile.mkdtemp(prefix="tuilerie-durability-")
data_dir, token = serverkit.store(binary)
config_path = os.path.join(tmp, "durability.toml")
with open(config_path, "w", encoding="utf-8") as f:
    f.write(f"""[server]
write_rate = 0
watch = false

[[layers]]
path = "{os.path.join(ROOT, 'data', 'points-collecte-synthetiques.geojson')}"
id = "points"
editable = true
""")
log = open(os.path.join(tmp, "server.log"), "w")
ITEMS = "/collections/points/items"
server = None
server_lock = threading.Lock()


def start():
    global server
    server = subprocess.Popen([binary, "serve", "--config", config_path, "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir],
                              stdout=log, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
    if not serverkit.wait_ready(base, server, 120):
        print(open(log.name).read()[-3000:], file=sys.stderr)
        raise SystemExit("the server did not start")


def call(method, path, body=None, headers=None):
    """(status, json, headers); status None when no answer came."""
    data = json.dumps(body).encode() if body is not None else None
    h = {"Authorization": f"Bearer {token}", **(headers or {})}
    req = urllib.request.Request(base + path, data=data, method=method, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None), r.headers
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw), e.headers
        except ValueError:
            return e.code, None, e.headers
    except Exception:  # noqa: BLE001 - a killed server answers nothing
        return None, None, None


attempts = {}  # attempt number -> content sent (properties)
attempt_lock = threading.Lock()
counter = [0]


def next_attempt(writer):
    with attempt_lock:
        counter[0] += 1
        return counter[0]


stats = {"acknowledged": 0, "refused": 0, "unknown": 0, "kills": 0, "refused_by_status": {}}
features = {}  # id -> {"acked": attempt, "after": [attempts sent after the last ack with no answer]}
orphans = []  # creations with no answer: attempt numbers
stop = threading.Event()
problems = []


def feature(writer, attempt):
    lon = -0.6 + writer * 0.01
    lat = 44.8 + (attempt % 100) * 0.001
    props = {"name": f"writer {writer} attempt {attempt}", "writer": writer, "attempt": attempt, "payload": "x" * (attempt % 300)}
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": props}


def writer_loop(w):
    mine = []  # (id, etag) known
    rng = random.Random(w)
    while not stop.is_set():
        a = next_attempt(w)
        if not mine or rng.random() < 0.4:
            f = feature(w, a)
            attempts[a] = f["properties"]
            status, body, _ = call("POST", ITEMS, f, {"Content-Type": "application/geo+json"})
            if status == 201:
                stats["acknowledged"] += 1
                features[body["id"]] = {"acked": a, "after": []}
                mine.append([body["id"], None])
            elif status is None:
                stats["unknown"] += 1
                orphans.append(a)
                time.sleep(0.05)
            else:
                stats["refused"] += 1
                stats["refused_by_status"][status] = stats["refused_by_status"].get(status, 0) + 1
            continue
        i = rng.randrange(len(mine))
        fid, etag = mine[i]
        if etag is None:
            status, body, headers = call("GET", f"{ITEMS}/{fid}")
            if status != 200:
                time.sleep(0.05)
                continue
            etag = headers["ETag"]
            # Resynchronise: what the server has is the truth from here on.
            got = body["properties"].get("attempt")
            rec = features[fid]
            if got != rec["acked"]:
                if got not in rec["after"]:
                    problems.append(f"{fid}: attempt {got} read back, acknowledged {rec['acked']}, unanswered {rec['after']}")
                rec["acked"] = got
            rec["after"] = []
            mine[i][1] = etag
        props = feature(w, a)["properties"]
        attempts[a] = props
        patch = {"properties": {"name": props["name"], "attempt": a, "payload": props["payload"]}}
        status, body, headers = call("PATCH", f"{ITEMS}/{fid}", patch, {"Content-Type": "application/merge-patch+json", "If-Match": etag})
        if status == 200:
            stats["acknowledged"] += 1
            features[fid] = {"acked": a, "after": []}
            mine[i][1] = headers["ETag"]
        elif status is None:
            stats["unknown"] += 1
            features[fid]["after"].append(a)
            mine[i][1] = None
            time.sleep(0.05)
        else:
            stats["refused"] += 1
            stats["refused_by_status"][status] = stats["refused_by_status"].get(status, 0) + 1
            mine[i][1] = None


def killer():
    rng = random.Random(1)
    while stats["kills"] < args.kills:
        time.sleep(rng.uniform(0.2, 1.0))
        with server_lock:
            server.send_signal(signal.SIGKILL)
            server.wait()
            stats["kills"] += 1
            start()
    stop.set()


start()
t0 = time.time()
writers = [threading.Thread(target=writer_loop, args=(w,), daemon=True) for w in range(args.writers)]
for t in writers:
    t.start()
k = threading.Thread(target=killer)
k.start()
k.join()
for t in writers:
    t.join(timeout=60)
elapsed = time.time() - t0

# Read everything back after a last kill and restart.
server.send_signal(signal.SIGKILL)
server.wait()
start()
seen = {}
offset = 0
while True:
    status, page, _ = call("GET", f"{ITEMS}?limit=10000&offset={offset}")
    if status != 200:
        problems.append(f"items page at {offset}: {status}")
        break
    for f in page["features"]:
        if "attempt" in f["properties"]:
            seen[str(f["id"])] = f["properties"]
    if len(page["features"]) < 10000:
        break
    offset += 10000

for fid, rec in features.items():
    got = seen.get(fid)
    if got is None:
        problems.append(f"{fid}: acknowledged (attempt {rec['acked']}) but missing")
        continue
    allowed = [rec["acked"], *rec["after"]]
    if got["attempt"] not in allowed:
        problems.append(f"{fid}: attempt {got['attempt']} read back, expected one of {allowed}")
        continue
    sent = attempts[got["attempt"]]
    if got["name"] != sent["name"] or got["payload"] != sent["payload"]:
        problems.append(f"{fid}: content of attempt {got['attempt']} is not what was sent (half-applied)")
known = set(features)
orphan_set = set(orphans)
for fid, props in seen.items():
    if fid in known:
        continue
    if props["attempt"] not in orphan_set:
        problems.append(f"{fid}: attempt {props['attempt']} exists but was never sent without an answer")
    elif props["name"] != attempts[props["attempt"]]["name"]:
        problems.append(f"{fid}: unanswered creation half-applied")

server.send_signal(signal.SIGTERM)
server.wait()
report = {**stats, "writers": args.writers, "seconds": round(elapsed, 1), "features_checked": len(features),
          "unanswered_creations_found": len([f for f in seen if f not in known]), "problems": problems[:20]}
print(json.dumps(report, indent=1))
if problems or stats["kills"] < args.kills or stats["acknowledged"] == 0:
    sys.exit(1)
