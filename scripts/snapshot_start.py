#!/usr/bin/env python3
"""How fast a server starts from a snapshot, against parsing the file, and
whether it answers the same (issue 21).

Start 1 serves FILE with an empty data directory: it parses the file and
writes the layer's snapshot. Starts 2..RUNS+1 serve it again and start from
the snapshot. Each start is timed from the process launch to the first 200
of /health (polled every 2 ms). Every start's answers are compared byte for
byte with those of start 1: the tiles of benches/workloads (France z6,
Gironde z10, Bordeaux z14) and the first 200 /nearest queries of
nearest-france.txt.

    python3 scripts/snapshot_start.py bench-data/containers-world-10000000.geojson
    python3 scripts/snapshot_start.py data/points-collecte-synthetiques.geojson --runs 2   # quick

Target (10M points): serving in at most 0.5 s from the snapshot.

With --replicas N, N servers then start at once from the same snapshot
file (each its own data directory, whose snapshots/ links to it), answer
the same, and each one's memory is read from /proc/PID/smaps_rollup:
resident, proportional (PSS: shared pages divided among the processes
mapping them) and shared with the others. The point tree is read in place
from the map, so its pages are held once for all replicas.
"""
import argparse, os, shutil, signal, statistics, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverkit

WORKLOADS = os.path.join(serverkit.ROOT, "benches", "workloads")


def urls(layer):
    out = []
    for name in ("tiles-france-z6.txt", "tiles-gironde-z10.txt", "tiles-bordeaux-z14.txt"):
        with open(os.path.join(WORKLOADS, name)) as f:
            out += [f"/tiles/{layer}/{line.strip()}.mvt" for line in f if line.strip()]
    with open(os.path.join(WORKLOADS, "nearest-france.txt")) as f:
        out += [line.strip().replace("layers=points", f"layers={layer}") for line in f if line.strip()][:200]
    return out


def start(binary, path, data):
    port = serverkit.free_port()
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(data, "server.log"), "ab")
    t0 = time.perf_counter()
    proc = subprocess.Popen([binary, "serve", path, "--data-dir", data, "--addr", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=log)
    while True:
        try:
            if serverkit.request(base, "/health", timeout=2)[0] == 200:
                return proc, base, time.perf_counter() - t0
        except OSError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; log in {data}/server.log")
        time.sleep(0.002)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rollup(pid):
    """Resident, proportional and shared kB of a process."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out["Rss"], out["Pss"], out.get("Shared_Clean", 0) + out.get("Shared_Dirty", 0)


def replicas(n, binary, path, data, snap, layer, want, reference):
    """Starts n servers at once from one snapshot file; prints their memory."""
    procs, differ = [], 0
    try:
        for i in range(n):
            d = os.path.join(data, f"replica-{i}")
            os.makedirs(os.path.join(d, "snapshots"), exist_ok=True)
            os.symlink(snap, os.path.join(d, "snapshots", f"{layer}.tsnap"))
            procs.append(start(binary, path, d))
        for i, (proc, base, took) in enumerate(procs):
            got = [serverkit.request(base, u) for u in want]
            bad = sum(r != g for r, g in zip(reference, got))
            differ += bad
            rss, pss, shared = rollup(proc.pid)
            print(f"  replica {i + 1}: started in {took:.3f} s, {len(want) - bad}/{len(want)} answers identical; "
                  f"resident {rss / 1024:.0f} MiB, proportional {pss / 1024:.0f} MiB, shared {shared / 1024:.0f} MiB")
        total_rss = sum(rollup(p.pid)[0] for p, _, _ in procs)
        total_pss = sum(rollup(p.pid)[1] for p, _, _ in procs)
        print(f"{n} replicas: {total_pss / 1024:.0f} MiB of memory in all (sum of PSS), "
              f"against {total_rss / 1024:.0f} MiB resident summed")
    finally:
        for proc, _, _ in procs:
            stop(proc)
    return differ


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("file")
    ap.add_argument("--binary")
    ap.add_argument("--runs", type=int, default=3, help="starts from the snapshot (default 3)")
    ap.add_argument("--replicas", type=int, default=0, help="then start this many servers at once (default 0)")
    a = ap.parse_args()
    binary = serverkit.binary(a.binary)
    path = os.path.abspath(a.file)
    stem = os.path.basename(path).rsplit(".", 1)[0]
    layer = "".join(c if c.isalnum() or c in "_." else "-" for c in stem.lower())
    data = tempfile.mkdtemp(prefix="tuilerie-snapshot-start-")
    try:
        proc, base, parsed = start(binary, path, data)
        want = urls(layer)
        reference = [serverkit.request(base, u) for u in want]
        stop(proc)
        snap = os.path.join(data, "snapshots", f"{layer}.tsnap")
        if not os.path.exists(snap):
            raise SystemExit(f"no snapshot written at {snap}; log in {data}/server.log")
        print(f"{a.file}: parse start {parsed:.2f} s; snapshot {os.path.getsize(snap) / 1e6:.0f} MB")
        times, differ = [], 0
        for run in range(a.runs):
            proc, base, took = start(binary, path, data)
            got = [serverkit.request(base, u) for u in want]
            stop(proc)
            times.append(took)
            bad = [u for u, r, g in zip(want, reference, got) if r != g]
            differ += len(bad)
            print(f"  start {run + 1} from the snapshot: {took:.3f} s, {len(want) - len(bad)}/{len(want)} answers identical"
                  + (f" (first differing: {bad[0]})" if bad else ""))
        if a.replicas:
            differ += replicas(a.replicas, binary, path, data, snap, layer, want, reference)
        statuses = sorted({r[0] for r in reference})
        print(f"median start from the snapshot: {statistics.median(times):.3f} s "
              f"(parse start {parsed:.2f} s); answers compared: {len(want)} (statuses {statuses})")
        with open(os.path.join(data, "server.log"), errors="replace") as f:
            loaded = sum("loaded from snapshot" in line for line in f)
        if loaded < a.runs:
            print(f"only {loaded} of {a.runs} starts logged 'loaded from snapshot'", file=sys.stderr)
            return 1
        return 1 if differ else 0
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
