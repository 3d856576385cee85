#!/usr/bin/env python3
"""Reference class breaks from independent implementations (mapclassify, jenkspy).

Writes crates/tuilerie-geo/tests/fixtures/classification/reference.json with the
inputs and, for 2 to 9 classes, mapclassify's Quantiles and FisherJenks bins
and jenkspy's breaks; tests/classification.rs compares ours with them.

    pip install mapclassify==2.10.0 jenkspy==0.4.1
    python3 scripts/classification_reference.py
"""
import json
import math
import os

import jenkspy
import mapclassify
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "crates/tuilerie-geo/tests/fixtures/classification/reference.json")

with open(os.path.join(ROOT, "data/communes-gironde.geojson"), encoding="utf-8") as f:
    communes = json.load(f)["features"]
population = [float(c["properties"]["population"]) for c in communes]
# A fixed, skewed synthetic set with ties.
skewed = [round(math.exp(((i * 7919) % 1000) / 130.0), 1) for i in range(300)] + [5.0] * 20

inputs = {"gironde_population": population, "skewed": skewed}
reference = {
    "generated_by": "python3 scripts/classification_reference.py",
    "versions": {"mapclassify": mapclassify.__version__, "jenkspy": jenkspy.__version__, "numpy": np.__version__},
    "inputs": inputs,
    "cases": [],
}
for name, values in inputs.items():
    y = np.array(values)
    for k in range(2, 10):
        reference["cases"].append({
            "input": name,
            "k": k,
            "quantile": [float(b) for b in mapclassify.Quantiles(y, k=k).bins],
            "fisher_jenks": [float(b) for b in mapclassify.FisherJenks(y, k=k).bins],
            "jenkspy": [float(b) for b in jenkspy.jenks_breaks(values, n_classes=k)[1:]],
        })
with open(OUT, "w", encoding="utf-8") as f:
    json.dump(reference, f, indent=1)
print(f"wrote {OUT}: {len(reference['cases'])} cases")
