#!/usr/bin/env python3
"""Plays SIMULATED status observations for the recycling centres of a layer,
through tuilerie's public API with a sensor token: a living map for demos,
and a steady load for benchmarks. Every observation's source says
"simulateur" - this is not real data.

    python3 scripts/simulate_status.py --url http://127.0.0.1:8080 --token TOKEN
        [--layer points-collecte] [--hours 24] [--step 10] [--live SECONDS] [--seed 1]

1. A day (--hours) up to now is played at once, one reading every --step
   minutes per centre: crowd following a weekly pattern (Saturday mornings
   busiest, nothing at night or on Sundays), skips filling with the crowd
   and emptied by a truck once nearly full, posted in batches of 1,000
   (POST /observations). The busy-hours profile and the history fill up.
2. With --live S, it then goes on for S seconds in real time, one round
   every --interval seconds: the map changes while you watch it.

Make a sensor token first:  tuilerie token create --role sensor --layers points-collecte
"""
import argparse
import datetime as dt
import json
import math
import random
import sys
import time
import urllib.request

# Waste categories a centre's skips are simulated for, when it takes them.
SKIPS = ["glass", "paper", "green_waste", "scrap_metal", "wood", "cardboard"]
OSM_KEYS = {"glass": ["glass", "glass_bottles"], "paper": ["paper"], "green_waste": ["green_waste"],
            "scrap_metal": ["scrap_metal"], "wood": ["wood"], "cardboard": ["cardboard"]}


def request(url, token=None, body=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if data else "GET")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        sys.exit(f"simulate: {req.get_method()} {url} answered {e.code}: {e.read().decode(errors='replace')}")


def centres(base, layer):
    out, url = [], f"{base}/collections/{layer}/items?recycling_type=centre&limit=1000"
    while url:
        page = request(url)
        out.extend(page["features"])
        url = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
    return out


def crowd_level(t, rng):
    """Busy-ness of a centre at local time t (0..1), a weekly pattern."""
    day, hour = t.weekday(), t.hour + t.minute / 60
    if day == 6 or hour < 9 or hour >= 18 or 12 <= hour < 14:
        return None  # closed
    peak = math.exp(-((hour - 10.5) ** 2) / 2) + 0.8 * math.exp(-((hour - 16.5) ** 2) / 2)
    base = 0.25 + (0.35 if day == 5 else 0.0)
    return max(0.0, min(1.0, base + 0.45 * peak + rng.gauss(0, 0.05)))


class Centre:
    def __init__(self, feature, rng):
        p = feature["properties"]
        self.id = str(feature["id"])
        self.skips = {c: rng.uniform(0.05, 0.6) for c in SKIPS
                      if any(p.get(f"recycling:{k}") == "yes" for k in OSM_KEYS[c])}

    def step(self, t, minutes, rng, source):
        """Observations at time t after `minutes` of activity."""
        stamp = t.astimezone(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        out = []
        level = crowd_level(t, rng)
        if level is not None:
            out.append({"kind": "crowd", "value": round(level, 3), "observed_at": stamp, "source": source})
        for c, fill in self.skips.items():
            fill += (level or 0) * minutes / 60 * rng.uniform(0.02, 0.12)
            if fill > 0.9 and rng.random() < 0.3:  # the truck came
                fill = rng.uniform(0.0, 0.05)
            self.skips[c] = min(fill, 1.0)
            out.append({"kind": "fill_level", "category": c, "value": round(self.skips[c], 3),
                        "observed_at": stamp, "source": f"{source}-{c}"})
        return out


def post(base, token, layer, items):
    sent = stored = 0
    for i in range(0, len(items), 1000):
        batch = [dict(o, layer=layer, feature=fid) for fid, o in items[i:i + 1000]]
        r = request(f"{base}/observations", token, batch)
        sent += len(batch)
        stored += r["stored"]
        if r["refused"]:
            bad = next(x for x in r["results"] if x["status"] >= 400)
            sys.exit(f"simulate: {r['refused']} observations refused, e.g. {bad}")
    return sent, stored


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default="http://127.0.0.1:8080")
    ap.add_argument("--token", required=True, help="a sensor (or editor/admin) token scoped to the layer")
    ap.add_argument("--layer", default="points-collecte")
    ap.add_argument("--hours", type=float, default=24, help="history played at once, up to now")
    ap.add_argument("--step", type=float, default=10, help="minutes between two readings")
    ap.add_argument("--live", type=float, default=0, help="seconds of real-time play after the history")
    ap.add_argument("--interval", type=float, default=5, help="seconds between live rounds")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timezone", default="Europe/Paris")
    a = ap.parse_args()
    base = a.url.rstrip("/")
    rng = random.Random(a.seed)
    try:
        from zoneinfo import ZoneInfo
        tz = ZoneInfo(a.timezone)
    except Exception:
        tz = dt.timezone.utc
    features = centres(base, a.layer)
    if not features:
        sys.exit(f"simulate: layer {a.layer} has no recycling centre (recycling_type=centre)")
    sims = [Centre(f, rng) for f in features]
    source = "simulateur"
    now = dt.datetime.now(tz)
    t = now - dt.timedelta(hours=a.hours)
    items = []
    while t <= now:
        for c in sims:
            items.extend((c.id, o) for o in c.step(t, a.step, rng, source))
        t += dt.timedelta(minutes=a.step)
    started = time.time()
    sent, stored = post(base, a.token, a.layer, items)
    print(f"simulate: {len(sims)} centres, {a.hours} h played: {sent} observations sent, {stored} stored "
          f"in {time.time() - started:.1f} s (SIMULATED data, source {source!r})")
    end = time.time() + a.live
    while time.time() < end:
        time.sleep(a.interval)
        t = dt.datetime.now(tz)
        items = [(c.id, o) for c in sims for o in c.step(t, a.interval / 60 * 30, rng, source)]
        sent, stored = post(base, a.token, a.layer, items)
        print(f"simulate: live round at {t:%H:%M:%S}: {sent} sent, {stored} stored", flush=True)


if __name__ == "__main__":
    main()
