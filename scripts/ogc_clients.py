#!/usr/bin/env python3
"""OGC API Features as clients nobody here wrote use it, on the real binary
serving the demo data, the 6element déchèteries (a sparse GeoJSON) and the
Lambert-93 communes shapefile:

1. GDAL's OAPIF driver (gdal-bin): `ogr2ogr` without options copies every
   column of each collection (compared with the source files read by
   Python's json and by GDAL itself), and `-where` is pushed down as a
   filter (seen in GDAL's request log) and selects what GDAL's own
   evaluation over the source file selects.
2. OWSLib: collections, conformance, queryables, schema and filtered items.
3. shapely: spatial filters (S_INTERSECTS, S_WITHIN, S_DISJOINT,
   S_CONTAINS, S_TOUCHES) select what shapely selects over the source.
4. pyproj: items in Lambert-93, WGS 84 (latitude first), Web Mercator,
   UTM 30N and ETRS89-LAEA equal pyproj's transform of the CRS84 items;
   the shapefile layer in its storage CRS gives back the file's own
   coordinates; bbox-crs selects what the reprojected box selects.

    ~/.cache/tuilerie-venv/bin/python scripts/ogc_clients.py [--binary PATH]

Needs owslib, shapely and pyproj (scripts/conformance.sh's venv has them
once scripts/test.sh has run) and gdal-bin (scripts/setup.sh).
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import urllib.parse

import serverkit
from owslib.ogcapi.features import Features
from pyproj import Transformer
from shapely.geometry import box, shape

ROOT = serverkit.ROOT
ap = argparse.ArgumentParser()
ap.add_argument("--binary", default=None)
args = ap.parse_args()
binary = serverkit.binary(args.binary)
shared = os.environ.get("TUILERIE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
dech_file = os.path.join(shared, "gironde", "decheteries-6element.geojson")
shp_file = os.path.join(shared, "gironde", "shp", "communes-33-l93.shp")
communes_file = os.path.join(ROOT, "data", "communes-gironde.geojson")
points_file = os.path.join(ROOT, "data", "points-collecte-synthetiques.geojson")
port = serverkit.free_port()
base = f"http://127.0.0.1:{port}"
data_dir, _ = serverkit.store(binary)
server = subprocess.Popen(
    [binary, "serve", os.path.join(ROOT, "data"), dech_file, shp_file, "--addr", f"127.0.0.1:{port}", "--data-dir", data_dir],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL,
)
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)


def get_json(path):
    status, body = serverkit.request(base, path)
    if status != 200:
        raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    return json.loads(body)


def all_items(layer, **params):
    q = urllib.parse.urlencode({"limit": 10000, **params})
    return get_json(f"/collections/{layer}/items?{q}")["features"]


def flat(coords):
    """Every position of a GeoJSON coordinates array, in order."""
    if isinstance(coords[0], (int, float)):
        return [coords]
    return [p for c in coords for p in flat(c)]


def source(path):
    return json.load(open(path, encoding="utf-8"))["features"]


try:
    if not serverkit.wait_ready(base, server):
        sys.exit("ogc_clients: the server did not start")
    ids = {c["id"] for c in get_json("/collections")["collections"]}
    communes, points, dech, l93 = "communes-gironde", "points-collecte-synthetiques", "decheteries-6element", "communes-33-l93"
    check({communes, points, dech, l93} <= ids, f"collections served: {sorted(ids)}")

    # 1. GDAL: every column without options, filters pushed down.
    with tempfile.TemporaryDirectory() as tmp:
        gpkg = os.path.join(tmp, "out.gpkg")
        subprocess.run(["ogr2ogr", "-f", "GPKG", gpkg, f"OAPIF:{base}/", communes, points, dech], check=True, capture_output=True)
        db = sqlite3.connect(gpkg)
        for layer, path in [(points, points_file), (dech, dech_file), (communes, communes_file)]:
            want = []
            for f in source(path):
                for k in f["properties"]:
                    if k not in want:
                        want.append(k)
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{layer}")')]
            got = [c for c in cols if c not in ("fid", "geom", "id")]
            check(got == want, f"ogr2ogr copies every column of {layer} in source order ({len(got)} of {len(want)})")
            n = db.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
            check(n == len(source(path)), f"ogr2ogr copies every feature of {layer} ({n})")
            # Values too: the non-null count of each column equals the file's.
            counts_ok = all(
                db.execute(f'SELECT count("{k}") FROM "{layer}"').fetchone()[0]
                == sum(1 for f in source(path) if f["properties"].get(k) is not None)
                for k in want
            )
            check(counts_ok, f"every value of {layer} arrives (non-null counts per column)")
        recycling = [c for c in (r[1] for r in db.execute(f'PRAGMA table_info("{points}")')) if c.startswith("recycling:")]
        check(len(recycling) >= 15, f"the sparse points keep their recycling:* columns ({len(recycling)})")
        dech_cols = [r[1] for r in db.execute(f'PRAGMA table_info("{dech}")')]
        check("address" in dech_cols and "phone" in dech_cols, "the déchèteries keep address and phone")

        def names(src, where):
            out = subprocess.run(
                ["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", src] + ([communes] if src.startswith("OAPIF:") else []) + ["-where", where],
                check=True, capture_output=True, text=True, env={**os.environ, "CPL_DEBUG": "ON"},
            )
            got = sorted(f["properties"]["nom"] for f in json.loads(out.stdout)["features"])
            return got, out.stderr

        for where in ["nom = 'Bordeaux'", "population > 50000 OR nom LIKE 'Saint-Médard%'", "population < 200 AND NOT (nom LIKE 'Saint%')", "population IS NULL OR population >= 100000"]:
            remote, log = names(f"OAPIF:{base}/", where)
            local, _ = names(communes_file, where)
            pushed = re.search(r"Fetch\([^)]*filter=", log) is not None
            check(pushed, f"GDAL pushes -where \"{where}\" down as a filter")
            check(remote == local and (local or "IS NULL" in where), f"-where \"{where}\": {len(remote)} features, as GDAL over the file")

    # 2. OWSLib.
    w = Features(base)
    conf = w.conformance()["conformsTo"]
    check(any(c.endswith("ogcapi-features-3/1.0/conf/filter") for c in conf), "OWSLib: conformance lists Part 3 filter")
    check(any(c.endswith("ogcapi-features-2/1.0/conf/crs") for c in conf), "OWSLib: conformance lists Part 2 crs")
    q = w.collection_queryables(points)
    check("recycling:glass" in q["properties"] and "geometry" in q["properties"], "OWSLib: queryables of the points")
    sch = w.collection_schema(dech)
    check("address" in sch["properties"] and "phone" in sch["properties"], "OWSLib: schema of the déchèteries")
    r = w.collection_items(communes, filter="nom LIKE 'Saint-%' AND population > 2000", limit=1000)
    want = sorted(f["properties"]["nom"] for f in source(communes_file) if f["properties"]["nom"].startswith("Saint-") and (f["properties"].get("population") or 0) > 2000)
    check(sorted(f["properties"]["nom"] for f in r["features"]) == want, f"OWSLib: filtered items ({len(want)})")
    col = w.collection(l93)
    check(col["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/2154", f"OWSLib: storageCrs of the shapefile is Lambert-93 ({col['storageCrs']})")

    # 3. shapely: spatial filters against shapely over the source files.
    src_communes = source(communes_file)
    src_points = source(points_file)
    bordeaux = next(f for f in src_communes if f["properties"]["nom"] == "Bordeaux")
    bshape = shape(bordeaux["geometry"])
    bwkt = bshape.wkt
    cases = [
        (points, src_points, f"S_INTERSECTS(geometry, {bwkt})", lambda g: g.intersects(bshape)),
        (points, src_points, f"S_WITHIN(geometry, {bwkt})", lambda g: g.within(bshape)),
        (communes, src_communes, f"S_TOUCHES(geometry, {bwkt})", lambda g: g.touches(bshape)),
        (communes, src_communes, "S_CONTAINS(geometry, POINT(-0.5792 44.8378))", lambda g: g.contains(shape({"type": "Point", "coordinates": [-0.5792, 44.8378]}))),
        (communes, src_communes, "S_DISJOINT(geometry, BBOX(-0.7, 44.7, -0.4, 45.0))", lambda g: g.disjoint(box(-0.7, 44.7, -0.4, 45.0))),
        (communes, src_communes, "S_INTERSECTS(geometry, LINESTRING(-1.2 44.6, 0.2 45.2))", lambda g: g.intersects(shape({"type": "LineString", "coordinates": [[-1.2, 44.6], [0.2, 45.2]]}))),
    ]
    for layer, src, flt, pred in cases:
        got = sorted(str(f["id"]) for f in all_items(layer, filter=flt))
        want = sorted(str(f.get("id", i)) for i, f in enumerate(src) if pred(shape(f["geometry"])))
        label = flt if len(flt) < 80 else flt[:60] + "...)"
        check(got == want and len(want) > 0, f"{layer} {label}: {len(got)} features, as shapely ({len(want)})")

    # 4. pyproj: answers in other CRSs.
    crs84 = {str(f["id"]): f for f in all_items(communes, bbox="-0.7,44.75,-0.45,44.95")}
    for code in [2154, 4326, 3857, 32630, 3035]:
        uri = f"http://www.opengis.net/def/crs/EPSG/0/{code}"
        t = Transformer.from_crs("OGC:CRS84", f"EPSG:{code}")  # the target's own axis order
        status, body = serverkit.request(base, f"/collections/{communes}/items?" + urllib.parse.urlencode({"limit": 10000, "bbox": "-0.7,44.75,-0.45,44.95", "crs": uri}))
        feats = {str(f["id"]): f for f in json.loads(body)["features"]}
        worst = 0.0
        for fid, f in crs84.items():
            a, b = flat(f["geometry"]["coordinates"]), flat(feats[fid]["geometry"]["coordinates"])
            if len(a) != len(b):
                worst = float("inf")
            for (lon, lat), (x, y) in zip(a, b):
                ex, ey = t.transform(lon, lat)
                worst = max(worst, abs(ex - x), abs(ey - y))
        tol = 1e-9 if code == 4326 else 1e-4
        check(status == 200 and set(feats) == set(crs84) and worst <= tol, f"crs=EPSG:{code}: {len(feats)} features, largest difference from pyproj {worst:.2e}")
    # The storage CRS gives back the shapefile's own coordinates.
    raw = json.loads(subprocess.run(["ogr2ogr", "-f", "GeoJSON", "/vsistdout/", shp_file, "-where", "nom = 'Bordeaux'"], check=True, capture_output=True, text=True).stdout)["features"][0]
    served = all_items(l93, nom="Bordeaux", crs="http://www.opengis.net/def/crs/EPSG/0/2154")[0]
    a, b = flat(raw["geometry"]["coordinates"]), flat(served["geometry"]["coordinates"])
    d = max(abs(p - q) for u, v in zip(a, b) for p, q in zip(u, v)) if len(a) == len(b) else float("inf")
    check(d < 1e-3, f"the shapefile's layer in its storage CRS gives back the file's coordinates (within {d:.1e} m)")
    # bbox-crs: a Lambert-93 box selects what the reprojected box selects.
    lb = (410000, 6415000, 425000, 6430000)
    inv = Transformer.from_crs("EPSG:2154", "OGC:CRS84", always_xy=True)
    ring = [inv.transform(x, y) for x, y in [(lb[0] + (lb[2] - lb[0]) * i / 100, lb[1]) for i in range(100)] + [(lb[2], lb[1] + (lb[3] - lb[1]) * i / 100) for i in range(100)] + [(lb[2] - (lb[2] - lb[0]) * i / 100, lb[3]) for i in range(100)] + [(lb[0], lb[3] - (lb[3] - lb[1]) * i / 100) for i in range(100)]]
    poly = shape({"type": "Polygon", "coordinates": [ring + [ring[0]]]})
    got = sorted(f["properties"]["nom"] for f in all_items(communes, bbox=",".join(map(str, lb)), **{"bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/2154"}))
    want = sorted(f["properties"]["nom"] for f in src_communes if shape(f["geometry"]).intersects(poly))
    check(got == want and len(want) > 3, f"bbox-crs=EPSG:2154: {len(got)} communes, as shapely with pyproj ({len(want)})")
    status, body = serverkit.request(base, f"/collections/{communes}/items?crs=EPSG:9999")
    check(status == 400 and json.loads(body)["parameter"] == "crs", "an unknown crs is 400 naming crs")
finally:
    server.terminate()
    server.wait()

if failures:
    sys.exit(f"ogc_clients: {len(failures)} failure(s)")
print("ogc_clients: every client check passed")
