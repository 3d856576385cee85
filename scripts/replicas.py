#!/usr/bin/env python3
"""Replicas behind nginx on one PostgreSQL store (issue 17), on the real
binaries: PostgreSQL started in a temporary directory, N `tuilerie serve`
on the demo collection points (editable) and communes, and Debian's nginx
running deploy/nginx/tuilerie.conf itself (its ports moved to free ones).

Check (the default): writers edit through nginx (creations, merge-patches
with If-Match, deletions) while readers read through nginx and from each
replica directly; one replica is killed with SIGKILL a third of the way
in and started again. At the end:
- every acknowledged write is in the store's audit log under the sequence
  number its ETag gave, and is the state every replica serves (or a later
  write of the same feature whose outcome the writer could not know);
- every replica answers the same, byte for byte, for every item of the
  layer (all pages) and for every tile touched by the writes, z0-z14;
- reads through nginx never failed, even while a replica was down.
Exit status 1 on any difference.

    python3 scripts/replicas.py [--replicas 3] [--seconds 20] [--writers 4]

Throughput (--bench SECONDS): requests/s of a tile list (hot cache) with
wrk, on one replica directly, then through nginx with 1 and N replicas,
runs interleaved, medians printed. A benchmark, not a test.
"""
import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import serverkit

ROOT = serverkit.ROOT


class Replicas:
    """N servers and nginx in front, on one PostgreSQL (`pg`; None: one
    server on its own SQLite store)."""

    def __init__(self, binary, pg, work, n, public):
        self.binary, self.pg, self.work = binary, pg, work
        self.ports = [serverkit.free_port() for _ in range(n)]
        self.nginx_port = serverkit.free_port()
        self.public = public
        self.procs = [None] * n
        self.config = os.path.join(work, "tuilerie.toml")
        layer = os.path.join(work, "points.geojson")
        shutil.copy(os.path.join(ROOT, "data", "points-collecte-synthetiques.geojson"), layer)
        communes = os.path.join(ROOT, "data", "communes-gironde.geojson")
        url = f'public_url = "http://127.0.0.1:{self.nginx_port}"\n' if public else ""
        with open(self.config, "w") as f:
            f.write(f'[server]\nwrite_rate = 0\nwatch = false\n{url}'
                    f'[[layers]]\npath = "{layer}"\nid = "points"\neditable = true\n'
                    f'[[layers]]\npath = "{communes}"\nid = "communes"\n')

    def start(self, i):
        log = open(os.path.join(self.work, f"replica-{i}.log"), "ab")
        store = ["--store", self.pg.url] if self.pg else []
        p = subprocess.Popen([self.binary, "serve", "--config", self.config, *store,
                              "--addr", f"127.0.0.1:{self.ports[i]}", "--data-dir", os.path.join(self.work, f"r{i}")],
                             stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "RUST_LOG": "warn"})
        self.procs[i] = p
        if not serverkit.wait_ready(self.base(i), p):
            sys.exit(f"replicas: replica {i} did not start (see {log.name})")

    def base(self, i):
        return f"http://127.0.0.1:{self.ports[i]}"

    def kill(self, i):
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()

    def nginx(self, upstreams, workers=1, writes_everywhere=False):
        """Runs deploy/nginx/tuilerie.conf in front of the first `upstreams`
        replicas (`writes_everywhere`: writes to every replica in turn
        too, not to one, for comparison)."""
        conf = open(os.path.join(ROOT, "deploy", "nginx", "tuilerie.conf")).read()
        assert len(re.findall(r"^\s*server 127\.0\.0\.1:808[1-3]", conf, re.M)) == 6 and "listen 8080;" in conf, \
            "deploy/nginx/tuilerie.conf changed shape"
        lines = []
        for line in conf.split("\n"):
            m = re.match(r"^\s*server 127\.0\.0\.1:808([1-3])", line)
            if m:
                i = int(m.group(1)) - 1
                if i >= upstreams:
                    continue
                line = line.replace(f"127.0.0.1:808{i + 1}", f"127.0.0.1:{self.ports[i]}")
            lines.append(line)
        conf = "\n".join(lines).replace("listen 8080;", f"listen 127.0.0.1:{self.nginx_port};")
        if writes_everywhere:
            assert "default tuilerie_writes;" in conf
            conf = conf.replace("default tuilerie_writes;", "default tuilerie;")
        d = os.path.join(self.work, "nginx")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "tuilerie.conf"), "w") as f:
            f.write(conf)
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"daemon off; {user}worker_processes {workers}; pid {d}/nginx.pid; error_log {d}/error.log warn;\n"
                    f"events {{ worker_connections 4096; }}\n"
                    f"http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy;\n"
                    f"  fastcgi_temp_path {d}/fastcgi; uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi;\n"
                    f"  include {d}/tuilerie.conf; }}\n")
        p = subprocess.Popen(["nginx", "-e", f"{d}/error.log", "-p", d, "-c", f"{d}/nginx.conf"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{self.nginx_port}"
        if not serverkit.wait_ready(base, p, 10):
            sys.exit("replicas: nginx did not start: " + open(f"{d}/error.log").read())
        return p, base

    def stop(self):
        for p in self.procs:
            if p and p.poll() is None:
                p.kill()
                p.wait()


def stop_nginx(p):
    """SIGTERM: nginx's master stops its workers (SIGKILL would orphan them)."""
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def get(base, path, timeout=10):
    """(status, headers, body); status 0 when the server cannot be reached."""
    try:
        with urllib.request.urlopen(urllib.request.Request(base + path), timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
    except OSError:
        return 0, {}, b""


def tiles_of(lon, lat):
    """z0-z14 tiles holding a point."""
    out = []
    for z in range(15):
        n = 2 ** z
        x = int((lon + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
        out.append(f"{z}/{x}/{y}")
    return out


class Writer(threading.Thread):
    """Edits its own features through nginx; remembers what was acknowledged."""

    def __init__(self, k, base, token, stop):
        super().__init__(daemon=True)
        self.k, self.base, self.stop = k, base, stop
        self.auth = {"Authorization": f"Bearer {token}"}
        self.rng = random.Random(k)
        # id -> {"props": name or None (deleted), "etag", "maybe": [states a write of unknown outcome may have left]}
        self.features = {}
        self.acks = []  # (seq, id)
        self.refused = {}  # status -> count
        self.why = {}  # status -> the first answer's body
        self.points = set()  # coordinates written, for the tiles to compare

    def send(self, method, path, body, headers):
        """(status, ETag, body); status 0 when nothing came back."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={**self.auth, **headers})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.headers.get("ETag"), r.read()
        except urllib.error.HTTPError as e:
            return e.code, None, e.read()
        except OSError:
            return 0, None, b""

    def refresh(self, fid):
        """After a write of unknown outcome: the state as stored (once
        every replica had time to follow it)."""
        time.sleep(0.5)
        for _ in range(50):
            status, headers, body = get(self.base, f"/collections/points/items/{fid}")
            if status == 404:
                self.features[fid].update(name=None, etag=None)
                return
            if status == 200:
                self.features[fid].update(name=json.loads(body)["properties"].get("name"), etag=headers["ETag"])
                return
            time.sleep(0.1)

    def adopt(self):
        """A few features of the file become this writer's too (edited in
        place by a full build, laid after the others by an overlay)."""
        status, _, body = get(self.base, f"/collections/points/items?limit=3&offset={100 + 10 * self.k}")
        for f in json.loads(body)["features"]:
            fid = str(f["id"])
            _, headers, _ = get(self.base, f"/collections/points/items/{fid}")
            status, etag, reply = self.send("PATCH", f"/collections/points/items/{fid}",
                                            {"properties": {"name": f"w{self.k}-file"}},
                                            {"Content-Type": "application/merge-patch+json", "If-Match": headers["ETag"]})
            assert status == 200, reply
            self.features[fid] = {"name": f"w{self.k}-file", "etag": etag, "maybe": []}
            self.acks.append((int(etag.strip('"')[1:]), fid))

    def run(self):
        self.adopt()
        n = 0
        while not self.stop.is_set():
            n += 1
            live = [f for f, s in self.features.items() if s["name"] is not None]
            lon, lat = -0.58 + self.rng.uniform(-0.05, 0.05), 44.84 + self.rng.uniform(-0.05, 0.05)
            name = f"w{self.k}-{n}"
            roll = self.rng.random()
            try:
                if len(live) < 7 or roll < 0.35:
                    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                            "properties": {"name": name}}
                    status, etag, reply = self.send("POST", "/collections/points/items", body,
                                                    {"Content-Type": "application/geo+json"})
                    if status == 201:
                        fid = str(json.loads(reply)["id"])
                        self.features[fid] = {"name": name, "etag": etag, "maybe": []}
                        self.acks.append((int(etag.strip('"')[1:]), fid))
                        self.points.add((lon, lat))
                    else:
                        self.refused[status] = self.refused.get(status, 0) + 1
                        self.why.setdefault(status, reply[:160].decode("utf-8", "replace"))
                    continue
                fid = self.rng.choice(live)
                state = self.features[fid]
                path = f"/collections/points/items/{fid}"
                if roll < 0.9:
                    patch = {"properties": {"name": name}, "geometry": {"type": "Point", "coordinates": [lon, lat]}}
                    status, etag, reply = self.send("PATCH", path, patch, {
                        "Content-Type": "application/merge-patch+json", "If-Match": state["etag"]})
                    after = name
                    self.points.add((lon, lat))
                else:
                    status, etag, reply = self.send("DELETE", path, None, {"If-Match": state["etag"]})
                    after = None
            except OSError:
                status, etag, reply = 0, None, b""
            if status in (200, 204):
                state.update(name=after, maybe=[], etag=etag)
                # A deletion answers without an ETag: checked by its absence.
                self.acks.append((int(etag.strip('"')[1:]) if etag else None, fid))
            else:
                self.refused[status] = self.refused.get(status, 0) + 1
                self.why.setdefault(status, reply[:160].decode("utf-8", "replace"))
                if status not in (400, 409, 422, 428):
                    # Unknown outcome (the replica died with the request),
                    # or a state this writer did not know: learn it.
                    state["maybe"].append(after)
                    self.refresh(fid)


def reader(targets, stop, counts, paths):
    """GETs items and tiles round the targets; counts statuses per target."""
    rng = random.Random(len(targets))
    while not stop.is_set():
        name, base = rng.choice(targets)
        status, _, _ = get(base, rng.choice(paths), timeout=5)
        key = (name, status)
        counts[key] = counts.get(key, 0) + 1
        time.sleep(0.002)


def all_items(base):
    """Every item of the points layer, by id, through every page."""
    items, path = {}, "/collections/points/items?limit=1000"
    while path:
        status, _, body = get(base, path, timeout=30)
        if status != 200:
            return None
        page = json.loads(body)
        for f in page["features"]:
            items[str(f["id"])] = json.dumps(f, sort_keys=True)
        nxt = [link["href"] for link in page.get("links", []) if link.get("rel") == "next"]
        path = nxt[0][nxt[0].index("/collections/"):] if nxt else None
    return items


def check(args, binary):
    failures = []
    with serverkit.Postgres("replicas") as pg:
        work = tempfile.mkdtemp(prefix="tlr-replicas-")
        r = Replicas(binary, pg, work, args.replicas, public=True)
        nginx = None
        try:
            token = subprocess.run([binary, "token", "create", "--role", "editor", "--layers", "points", "--name", "w",
                                    "--store", pg.url], check=True, capture_output=True, text=True).stdout.strip()
            for i in range(args.replicas):
                r.start(i)
            nginx, front = r.nginx(args.replicas)
            stop = threading.Event()
            writers = [Writer(k, front, token, stop) for k in range(args.writers)]
            counts = {}
            paths = ["/collections/points/items?limit=20", "/tiles/points/12/2041/1476.mvt",
                     "/tiles/communes/8/127/92.mvt", "/nearest?lon=-0.58&lat=44.84&k=3&layers=points", "/health"]
            targets = [("nginx", front)] + [(f"replica-{i}", r.base(i)) for i in range(args.replicas)]
            readers = [threading.Thread(target=reader, args=(targets, stop, counts, paths), daemon=True)
                       for _ in range(args.readers)]
            for t in writers + readers:
                t.start()
            victim = 0  # the replica nginx sends writes to
            time.sleep(args.seconds / 3)
            r.kill(victim)
            killed_at = time.time()
            time.sleep(1)
            r.start(victim)
            back_after = time.time() - killed_at
            time.sleep(max(0, args.seconds - args.seconds / 3 - back_after))
            stop.set()
            for t in writers + readers:
                t.join(60)

            acks = [a for w in writers for a in w.acks]
            # Every acknowledged write is in the log under its number.
            logged = {}
            for line in pg.psql("SELECT seq, id FROM changes WHERE layer = 'points'").splitlines():
                seq, fid = line.split("|")
                logged[int(seq)] = fid
            lost = [(seq, fid) for seq, fid in acks if seq is not None and logged.get(seq) != fid]
            if lost:
                failures.append(f"{len(lost)} acknowledged writes not in the log as acknowledged: {lost[:5]}")
            # Every replica converges on the same items, byte for byte.
            deadline = time.time() + 15
            while True:
                views = [all_items(r.base(i)) for i in range(args.replicas)]
                if all(v is not None and v == views[0] for v in views) or time.time() > deadline:
                    break
                time.sleep(0.2)
            for i, v in enumerate(views[1:], 1):
                if v != views[0]:
                    diff = sorted(k for k in set(v or {}) | set(views[0] or {}) if (v or {}).get(k) != (views[0] or {}).get(k))
                    failures.append(f"replica {i} serves other items than replica 0: {diff[:5]}")
            # ... and the one each writer last acknowledged.
            for w in writers:
                for fid, s in w.features.items():
                    got = views[0].get(fid) if views[0] else None
                    name = json.loads(got)["properties"].get("name") if got else None
                    if name != s["name"] and name not in s["maybe"]:
                        failures.append(f"feature {fid}: acknowledged {s['name']!r}, served {name!r}")
            # ... the same ETags ...
            for fid in [f for w in writers for f in w.features][:200]:
                tags = {get(r.base(i), f"/collections/points/items/{fid}")[1].get("ETag") for i in range(args.replicas)}
                if len(tags) != 1:
                    failures.append(f"feature {fid}: ETags differ between replicas: {tags}")
            # ... and the same tiles wherever the writes went, z0-z14. While
            # edits flow, each replica lays them over its last full build
            # (clusters may differ); after IDLE_COMPACTION (3 s) without
            # edits, each builds the layer in full: the same bytes.
            tiles = sorted({t for w in writers for p in w.points for t in tiles_of(*p)})
            deadline = time.time() + 20
            while True:
                differ = []
                for t in tiles:
                    bodies = set()
                    for i in range(args.replicas):
                        status, _, body = get(r.base(i), f"/tiles/points/{t}.mvt")
                        bodies.add((status, hashlib.sha256(body).hexdigest()[:12]))
                    if len(bodies) != 1:
                        differ.append(f"points/{t} {sorted(bodies)}")
                        if os.environ.get("REPLICAS_DUMP") and time.time() > deadline:
                            for i in range(args.replicas):
                                with open(f"{os.environ['REPLICAS_DUMP']}/{t.replace('/', '-')}-r{i}.mvt", "wb") as f:
                                    f.write(get(r.base(i), f"/tiles/points/{t}.mvt")[2])
                if not differ or time.time() > deadline:
                    break
                time.sleep(0.5)
            tiles_after = round(time.time() - (deadline - 20), 1)
            for d in differ:
                failures.append(f"tile differs between replicas: {d}")
            through = {s: n for (name, s), n in counts.items() if name == "nginx"}
            bad = {s: n for s, n in through.items() if s not in (200, 304)}
            if bad:
                failures.append(f"reads through nginx failed: {bad}")
            refused, why = {}, {}
            for w in writers:
                why.update(w.why)
                for s, n in w.refused.items():
                    refused[s] = refused.get(s, 0) + n
            behind = 0
            for i in range(args.replicas):
                m = re.search(rb"^tuilerie_store_behind_total (\d+)", get(r.base(i), "/metrics")[2], re.M)
                behind += int(m.group(1)) if m else 0
            summary = {
                "replicas": args.replicas, "seconds": args.seconds, "acknowledged_writes": len(acks),
                "writes_not_acknowledged": refused, "why": why, "batches_checked_again": behind, "items_compared": len(views[0] or {}),
                "tiles_compared": len(tiles), "tiles_equal_after_s": tiles_after, "reads": {f"{k[0]} {k[1]}": n for k, n in sorted(counts.items())},
                "killed_replica_back_after_s": round(back_after, 2), "log_entries": len(logged),
            }
            print("replicas: " + json.dumps(summary))
        finally:
            if failures and os.environ.get("REPLICAS_KEEP"):
                print(f"replicas: kept for 900 s: {[r.base(i) for i in range(args.replicas)]} {pg.url}", flush=True)
                time.sleep(900)
            if nginx:
                stop_nginx(nginx)
            r.stop()
            shutil.rmtree(work, ignore_errors=True)
    for f in failures:
        print("replicas: FAIL " + f, file=sys.stderr)
    return 1 if failures else 0


def bench(args, binary):
    """Requests/s of a hot tile list: one replica directly, then through
    nginx with 1 and N replicas, interleaved runs, medians."""
    tiles = os.path.join(ROOT, "benches", "workloads", "tiles-gironde-z10.txt")
    lua = os.path.join(ROOT, "benches", "http", "urls.lua")
    results = {}
    with serverkit.Postgres("replicas-bench") as pg:
        work = tempfile.mkdtemp(prefix="tlr-replicas-")
        r = Replicas(binary, pg, work, args.replicas, public=True)
        try:
            for i in range(args.replicas):
                r.start(i)

            def wrk(base):
                out = subprocess.run(["wrk", "-t2", f"-c{args.connections}", f"-d{int(args.bench)}s", "-s", lua, base, "--",
                                      tiles, "/tiles/communes/"], check=True, capture_output=True, text=True).stdout
                return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

            for i in range(args.replicas):  # warm every replica's cache
                wrk_once = subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-s", lua, r.base(i), "--", tiles,
                                           "/tiles/communes/"], capture_output=True)
                assert wrk_once.returncode == 0
            for _ in range(args.runs):
                results.setdefault("one replica, no nginx", []).append(wrk(r.base(0)))
                for n in (1, args.replicas):
                    p, front = r.nginx(n, workers=2)
                    try:
                        results.setdefault(f"nginx, {n} replica(s)", []).append(wrk(front))
                    finally:
                        stop_nginx(p)
        finally:
            r.stop()
            shutil.rmtree(work, ignore_errors=True)
    for label, runs in results.items():
        runs.sort()
        print(f"replicas bench: {label}: median {runs[len(runs) // 2]:.0f} req/s (runs: {', '.join(f'{x:.0f}' for x in runs)})")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicas", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--readers", type=int, default=2)
    ap.add_argument("--binary", default=None)
    ap.add_argument("--bench", type=float, default=0, help="seconds per wrk run: measure instead of check")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=64)
    args = ap.parse_args()
    if args.replicas < 2 and not args.bench:
        sys.exit("replicas: --replicas must be at least 2 (one is killed)")
    binary = serverkit.binary(args.binary)
    sys.exit(bench(args, binary) if args.bench else check(args, binary))


if __name__ == "__main__":
    main()
