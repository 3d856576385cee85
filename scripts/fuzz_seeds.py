#!/usr/bin/env python3
"""Writes the starting corpus of each fuzz target into DIR/<target>/.

Seeds come from the shared data (read in place, small files only) and from
the examples below; libFuzzer mutates them from there. Usage:
    scripts/fuzz_seeds.py DIR SHARED_DATA
"""
import json
import os
import struct
import sys
import urllib.parse

out, shared = sys.argv[1], sys.argv[2]


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def shared_file(*parts):
    p = os.path.join(shared, *parts)
    return open(p, "rb").read() if os.path.exists(p) else None


# GeoJSON: a few real features, and every geometry type.
dech = shared_file("gironde", "decheteries-6element.geojson")
if dech:
    fc = json.loads(dech)
    put("geojson", "decheteries-3", json.dumps({"type": "FeatureCollection", "features": fc["features"][:3]}))
communes = shared_file("gironde", "communes-33.geojson")
if communes:
    fc = json.loads(communes)
    small = sorted(fc["features"], key=lambda f: len(json.dumps(f)))[:2]
    put("geojson", "communes-2", json.dumps({"type": "FeatureCollection", "features": small}))
geoms = [
    {"type": "Point", "coordinates": [-0.57, 44.84]},
    {"type": "MultiPoint", "coordinates": [[-0.57, 44.84], [-0.5, 44.9]]},
    {"type": "LineString", "coordinates": [[-0.57, 44.84], [-0.5, 44.9]]},
    {"type": "MultiLineString", "coordinates": [[[-0.57, 44.84], [-0.5, 44.9]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], [[0.2, 0.2], [0.4, 0.2], [0.4, 0.4], [0.2, 0.2]]]},
    {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]]},
    {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [1, 2]}]},
]
for i, g in enumerate(geoms):
    put("geojson", f"geometry-{i}", json.dumps({"type": "Feature", "id": i, "properties": {"name": "é", "n": i, "opening_hours": "Mo-Fr 08:00-12:00", "recycling:glass": "yes"}, "geometry": g}))

# Shapefile: the four files cut as the target reads them (two-byte lengths).
shp = shared_file("gironde", "shp", "decheteries-33-l93.shp")
if shp:
    shx = shared_file("gironde", "shp", "decheteries-33-l93.shx")
    dbf = shared_file("gironde", "shp", "decheteries-33-l93.dbf")
    cpg = shared_file("gironde", "shp", "decheteries-33-l93.cpg") or b""
    pack = b"".join(struct.pack("<H", len(p)) + p for p in (shp[:4000], shx[:2000], dbf[:8000])) + cpg
    put("shapefile", "decheteries", pack)

# .prj and CRS texts.
for name in ("communes-33-l93.prj",):
    p = shared_file("gironde", "shp", name)
    if p:
        put("prj", name, p)
for i, t in enumerate(["EPSG:2154", "+proj=lcc +lat_1=49 +lat_2=44 +lat_0=46.5 +lon_0=3 +x_0=700000 +y_0=6600000 +ellps=GRS80", 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]']):
    put("prj", f"text-{i}", t)

# CSV tables.
pop = shared_file("gironde", "population-33.csv")
if pop:
    put("csv", "population", b"\n".join(pop.split(b"\n")[:20]))
put("csv", "latin1", b"code;nom;pop\r\n01001;L'Abergement-Cl\xe9menciat;1 832,5\r\n2A004;Ajaccio;71361\r\n")
put("csv", "quotes", '\ufeffcode,"nom, complet",v\n33001,"Abzac ""G""",1.5\n')

# Taxonomy words and accepts lists.
for i, w in enumerate(["verre", "glass_bottles", "Déchets verts", "carton,papier", "piles;batteries", "électroménager", "gravats"]):
    put("taxonomy", f"word-{i}", w)

# Opening hours: four bytes of time, then the text.
for i, h in enumerate(["Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-17:00; PH off", "24/7", "Mo-Sa 09:00-19:00; Su 10:00-12:00 \"sur rendez-vous\"", "Jan-Mar Mo 10:00-11:00; week 1-53/2 Tu 08:00-09:00", "sunrise-sunset"]):
    put("hours", f"hours-{i}", struct.pack("<I", 850_000_000 + i * 1_000_000) + h.encode())

# Requests: a selector byte (index into the target's route prefixes) and
# the rest of the URI, or a POST body for the last three selectors.
requests = [
    (0, "lon=-0.58&lat=44.84&k=3&accepts=verre&open=now"),
    (1, "k=5&radius=20000&at=2026-06-01T10:00:00Z&accepts=glass_bottles,papier"),
    (2, "limit=5&offset=2&bbox=-1,44,0,45&datetime=2026-01-01T00:00:00Z"),
    (3, "limit=1&nom=Bordeaux&properties=nom,code"),
    (3, "filter=nom%20LIKE%20'Saint-%25'%20AND%20population%20BETWEEN%201000%20AND%205000"),
    (3, "filter=S_INTERSECTS(geometry,POLYGON((-1%2044,0%2044,0%2045,-1%2044)))%20OR%20NOT%20code%20IN%20('33063','33281')"),
    (3, "filter-lang=cql2-json&filter=" + urllib.parse.quote(json.dumps({"op": "and", "args": [{"op": "s_within", "args": [{"property": "geometry"}, {"bbox": [-1, 44, 0, 45]}]}, {"op": "isNull", "args": [{"property": "population"}]}]}))),
    (2, "filter=%22recycling:glass%22%3D'yes'%20AND%20S_DISJOINT(geometry,MULTIPOINT((0%200),(1%201)))"),
    (4, "33063"),
    (6, "communes/10/507/368.mvt"),
    (7, "14/8123/5900.pbf"),
    (9, "q=verr&lang=fr"),
    (11, "width=600"),
    (13, "kind=fill_level&category=verre&limit=3&interval=1h&from=2026-11-01T00:00:00Z"),
    (15, "since=0&limit=2&layer=points-collecte"),
    (16, "lang=en"),
    (20, json.dumps({"id": "densite", "title": "Densité", "layer": "communes", "value": {"field": "code"}, "method": "quantiles", "classes": 5})),
    (21, json.dumps([{"layer": "points-collecte", "feature": "4020", "kind": "fill_level", "category": "verre", "value": 0.9, "observed_at": "2026-12-01T09:00:00Z", "source": "s"}, {"layer": "points-collecte", "feature": "4020", "kind": "crowd", "value": {"count": 3}, "observed_at": "2026-12-01T09:00:00Z", "source": "s"}])),
    (22, "code;v\n33063;1,5\n33001;2\n"),
]
for i, (sel, text) in enumerate(requests):
    put("requests", f"request-{i}", bytes([sel]) + text.encode())
