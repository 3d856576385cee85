#!/usr/bin/env bash
# Captures reference outputs from GDAL/PROJ once, as small committed fixtures.
# Needs gdal-bin (ogrinfo). Run from the repository root:
#   bash scripts/make_fixtures.sh
set -euo pipefail
shared="${TUILERIE_SHARED_DATA:-../shared/data}"
out=crates/tuilerie-geo/tests/fixtures
mkdir -p "$out"
for layer in communes-33-l93 decheteries-33-l93; do
  # Attribute values as GDAL reads them (honours the .cpg).
  ogrinfo -al -q -geom=NO "$shared/gironde/shp/$layer.shp" \
    | grep -v DBF_DATE_LAST_UPDATE > "$out/ogrinfo-$layer.txt"
done
echo "fixtures written to $out (GDAL $(ogrinfo --version))"
