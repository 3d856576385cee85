#!/usr/bin/env python3
"""Writes the fixed tile workloads (z/x/y per line) used by every benchmark:
  tiles-gironde-z6.txt   tiles covering Gironde at z6
  tiles-gironde-z10.txt  tiles covering Gironde at z10
  tiles-bordeaux-z14.txt a 16x16 block of z14 tiles around Bordeaux
  tiles-france-z6.txt    tiles covering metropolitan France at z6
Run: python3 benches/workloads/make_workloads.py"""
import math, os
HERE = os.path.dirname(os.path.abspath(__file__))
def tile(lon, lat, z):
    n = 2 ** z
    x = (lon / 360 + 0.5) * n
    y = (0.5 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)) * n
    return int(x), int(y)
def cover(w, s, e, n, z):
    x0, y0 = tile(w, n, z); x1, y1 = tile(e, s, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
def write(name, tiles):
    with open(os.path.join(HERE, name), "w") as f:
        f.writelines(f"{z}/{x}/{y}\n" for z, x, y in tiles)
    print(name, len(tiles))
gironde = (-1.27, 44.19, 0.32, 45.58)
write("tiles-gironde-z6.txt", cover(*gironde, 6))
write("tiles-gironde-z10.txt", cover(*gironde, 10))
cx, cy = tile(-0.58, 44.84, 14)
write("tiles-bordeaux-z14.txt", [(14, x, y) for x in range(cx - 8, cx + 8) for y in range(cy - 8, cy + 8)])
write("tiles-france-z6.txt", cover(-5.2, 41.3, 9.6, 51.1, 6))

# Nearest queries: 1000 fixed random points over metropolitan France, k=5,
# every other one with a category (glass or batteries).
import random
rng = random.Random(5)
with open(os.path.join(HERE, "nearest-france.txt"), "w") as f:
    for i in range(1000):
        lon, lat = -4.5 + rng.random() * 12.0, 42.5 + rng.random() * 8.5
        extra = ["", "&accepts=glass", "", "&accepts=batteries"][i % 4]
        f.write(f"/nearest?lon={lon:.5f}&lat={lat:.5f}&k=5&layers=points{extra}\n")
print("nearest-france.txt", 1000)
