# The [[layers]] of the HTTP benchmarks' servers, as TOML on stdout, for
# load.sh and nearest_ab.sh (sourced; run from the repository's root, with
# $shared the real data folder):
#   load_layers     Gironde's communes and recycling centres, then the 1M points
#   points_layer    the 1M points alone
points_layer() {
  cat <<TOML
[[layers]]
path = "$PWD/bench-data/containers-france-1000000.geojson"
id = "points"
TOML
}
load_layers() {
  cat <<TOML
[[layers]]
path = "$shared/gironde/communes-33.geojson"
id = "communes"
[[layers]]
path = "$shared/gironde/decheteries-6element.geojson"
id = "decheteries"
TOML
  points_layer
}
