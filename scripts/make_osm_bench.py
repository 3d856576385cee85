#!/usr/bin/env python3
"""Builds the OSM PBF benchmark file (bench-data/, outside git): the France
benchmark points as `amenity=recycling` nodes, plus a street network of
untagged nodes and tagged ways (roads, buildings, a few recycling centres
as closed ways and as multipolygon relations), written as OPL and packed
by `osmium cat` into PBF (dense nodes, sorted by type then id).

    python3 scripts/make_osm_bench.py                 # about 1 GB
    python3 scripts/make_osm_bench.py --ways 200000   # a small one

Everything is synthetic with a fixed seed (not real OSM data). The points
come from bench-data/containers-france-1000000.geojson when it exists
(python3 scripts/make_data.py --bench), else are drawn in France's box.
"""
import argparse, json, os, random, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEST, SOUTH, EAST, NORTH = -4.8, 42.3, 8.2, 51.1
KEYS = ["glass_bottles", "paper", "plastic_packaging", "clothes", "batteries", "green_waste", "cans"]


def points(n, rng):
    src = os.path.join(ROOT, "bench-data", "containers-france-1000000.geojson")
    if os.path.exists(src):
        with open(src) as f:
            for i, feat in enumerate(json.load(f)["features"]):
                if i >= n:
                    return
                x, y = feat["geometry"]["coordinates"]
                yield x, y
        return
    for _ in range(n):
        yield rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)


def fixed(v):
    """OPL coordinates: 7 decimals."""
    return f"{v:.7f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=1_000_000, help="amenity=recycling nodes")
    ap.add_argument("--ways", type=int, default=20_000_000, help="ways of the street network")
    ap.add_argument("--nodes-per-way", type=int, default=9)
    ap.add_argument("--relations", type=int, default=2000, help="recycling centres as multipolygons")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench-data", "france-bench.osm.pbf"))
    a = ap.parse_args()
    rng = random.Random(20261201)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    osmium = subprocess.Popen(["osmium", "cat", "-O", "-F", "opl", "-", "-o", a.out,
                               "--output-header=generator=tuilerie-make_osm_bench", "--output-header=sorting=Type_then_ID"],
                              stdin=subprocess.PIPE, bufsize=1 << 20)
    out = osmium.stdin
    write = lambda lines: out.write(("\n".join(lines) + "\n").encode())
    ts = "t2025-01-01T00:00:00Z"
    # Recycling containers: nodes 1..points.
    buf = []
    nid = 0
    for x, y in points(a.points, rng):
        nid += 1
        keys = rng.sample(KEYS, rng.randint(1, 3))
        tags = "amenity=recycling,recycling_type=container," + ",".join(f"recycling:{k}=yes" for k in keys)
        if nid % 7 == 0:
            tags += ",opening_hours=Mo-Sa%20%08:00-20:00"
        buf.append(f"n{nid} v1 {ts} x{fixed(x)} y{fixed(y)} T{tags}")
        if len(buf) >= 100_000:
            write(buf); buf = []
    write(buf); buf = []
    # Street network: per way, a short walk from a random start; the nodes
    # first (ids in order), the ways after.
    first_street_node = nid + 1
    walk = []
    for w in range(a.ways):
        x, y = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
        closed = w % 20 == 0 or w % 2000 == 1
        n = 4 if closed else a.nodes_per_way
        start = nid + 1
        for i in range(n):
            nid += 1
            if closed:
                dx, dy = [(0, 0), (0.0004, 0), (0.0004, 0.0003), (0, 0.0003)][i]
                px, py = x + dx, y + dy
            else:
                x += rng.uniform(-0.0008, 0.0008); y += rng.uniform(-0.0008, 0.0008)
                px, py = x, y
            buf.append(f"n{nid} v1 {ts} x{fixed(px)} y{fixed(py)} T")
        walk.append((start, n, closed))
        if len(buf) >= 100_000:
            write(buf); buf = []
    # Multipolygon members: an outer and an inner square per relation.
    members = []
    for r in range(a.relations):
        x, y = rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)
        rings = []
        for size, inset in ((0.002, 0.0), (0.0008, 0.0005)):
            start = nid + 1
            for dx, dy in [(0, 0), (size, 0), (size, size), (0, size)]:
                nid += 1
                buf.append(f"n{nid} v1 {ts} x{fixed(x + inset + dx)} y{fixed(y + inset + dy)} T")
            rings.append(start)
        members.append(rings)
    write(buf); buf = []
    print(f"nodes: {nid:,} ({first_street_node - 1:,} recycling)", file=sys.stderr)
    wid = 0
    for start, n, closed in walk:
        wid += 1
        refs = [f"n{start + i}" for i in range(n)]
        if closed:
            refs.append(f"n{start}")
            tags = "amenity=recycling,recycling_type=centre,recycling:green_waste=yes" if wid % 2000 == 2 else "building=yes"
        else:
            tags = f"highway=residential,name=Rue%20%{wid}"
        buf.append(f"w{wid} v1 {ts} T{tags} N{','.join(refs)}")
        if len(buf) >= 100_000:
            write(buf); buf = []
    member_ways = []
    for outer, inner in members:
        ids = []
        for s in (outer, inner):
            wid += 1
            buf.append(f"w{wid} v1 {ts} T N" + ",".join(f"n{s + i}" for i in (0, 1, 2, 3, 0)))
            ids.append(wid)
        member_ways.append(ids)
    write(buf); buf = []
    for r, (o, i) in enumerate(member_ways, start=1):
        buf.append(f"r{r} v1 {ts} Ttype=multipolygon,amenity=recycling,recycling_type=centre Mw{o}@outer,w{i}@inner")
    write(buf)
    print(f"ways: {wid:,}, relations: {len(member_ways):,}", file=sys.stderr)
    out.close()
    if osmium.wait() != 0:
        sys.exit("osmium cat failed")
    print(f"{a.out}: {os.path.getsize(a.out) / 1e6:.0f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
