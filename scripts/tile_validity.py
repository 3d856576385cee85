#!/usr/bin/env python3
"""Validity of the polygons of served tiles (MVT 2.1, 4.3.4.4: rings must
not self-intersect or self-touch), checked with GEOS through shapely on
every tile of a zoom range over Gironde, as GDAL (CLIP=NO), PostGIS or
shapely users would read them.

    ~/.cache/tuilerie-venv/bin/python scripts/tile_validity.py [--binary PATH] [--maxzoom 14] [--layer FILE]

Default layers: the Gironde communes of the shared data and the demo
communes (polygons with holes: enclaves). Tiles are decoded by an
independent decoder (@mapbox/vector-tile, tests/node/decode-mvt.mjs), rings
grouped into polygons by their winding (exterior then its holes), each
polygon checked with shapely's is_valid. Prints the count per zoom and the
first invalid ones with GEOS's reason; exits 1 if any polygon is invalid.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import urllib.request

import serverkit
from shapely.geometry import Polygon
from shapely.validation import explain_validity

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--binary", default=None)
ap.add_argument("--maxzoom", type=int, default=14)
ap.add_argument("--minzoom", type=int, default=0)
ap.add_argument("--layer", action="append", default=None)
ap.add_argument("--bbox", default="-1.27,44.19,0.32,45.58", help="west,south,east,north (default: Gironde)")
args = ap.parse_args()
binary = serverkit.binary(args.binary)
shared = os.environ.get("TUILERIE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
layers = args.layer or [os.path.join(shared, "gironde", "communes-33.geojson"), os.path.join(ROOT, "data", "communes-gironde.geojson")]
west, south, east, north = map(float, args.bbox.split(","))


def tile_range(z):
    n = 2 ** z
    x = lambda lon: int((lon + 180) / 360 * n)
    y = lambda lat: int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return range(x(west), min(x(east), n - 1) + 1), range(y(north), min(y(south), n - 1) + 1)


def area2(r):
    return sum(r[i][0] * r[(i + 1) % len(r)][1] - r[(i + 1) % len(r)][0] * r[i][1] for i in range(len(r)))


def polygons(rings):
    """MVT rings -> [(exterior, [holes])]: a ring of the first ring's sign opens a polygon."""
    out = []
    sign = None
    for r in rings:
        a = area2(r)
        if a == 0:
            continue
        if sign is None:
            sign = a > 0
        if (a > 0) == sign:
            out.append((r, []))
        elif out:
            out[-1][1].append(r)
    return out


port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen([binary, "serve", *layers, "--addr", f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
bad_total = 0
checked_total = 0
try:
    if not serverkit.wait_ready(base, server):
        sys.exit("tile_validity: the server did not start")
    ids = [c["id"] for c in json.loads(urllib.request.urlopen(base + "/collections").read())["collections"]]
    with tempfile.TemporaryDirectory() as tmp:
        for z in range(args.minzoom, args.maxzoom + 1):
            xs, ys = tile_range(z)
            files = []
            for layer in ids:
                for x in xs:
                    for y in ys:
                        status, body = serverkit.request(base, f"/tiles/{layer}/{z}/{x}/{y}.mvt")
                        if status == 200:
                            p = os.path.join(tmp, f"{layer}-{z}-{x}-{y}.mvt")
                            open(p, "wb").write(body)
                            files.append(p)
            checked = bad = 0
            for i in range(0, len(files), 200):
                batch = files[i:i + 200]
                out = subprocess.run(["node", os.path.join(ROOT, "tests", "node", "decode-mvt.mjs"), *batch], check=True, capture_output=True, text=True).stdout
                for path, line in zip(batch, out.splitlines()):
                    for name, layer in json.loads(line)["layers"].items():
                        for f in layer["features"]:
                            if f["type"] != "Polygon":
                                continue
                            for ext, holes in polygons(f["rings"]):
                                checked += 1
                                p = Polygon(ext, holes)
                                if not p.is_valid:
                                    bad += 1
                                    if bad_total + bad <= 10:
                                        print(f"  invalid: {os.path.basename(path)} {f['properties'].get('nom', f['id'])}: {explain_validity(p)}")
                for p in batch:
                    os.unlink(p)
            print(f"z{z}: {len(files)} tiles, {checked} polygons, {bad} invalid ({100 * bad / max(checked, 1):.2f}%)")
            bad_total += bad
            checked_total += checked
finally:
    server.terminate()
    server.wait()
print(f"tile_validity: {checked_total} polygons, {bad_total} invalid")
sys.exit(1 if bad_total else 0)
