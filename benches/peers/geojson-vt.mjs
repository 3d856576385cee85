// Side-by-side peer: geojson-vt + vt-pbf (and supercluster for points), the
// way MapLibre tiles GeoJSON in the browser, on the same files and tiles.
//   node --max-old-space-size=12000 benches/peers/geojson-vt.mjs FILE.geojson LIST.txt [--cluster] [--runs N]
// Prints JSON: index build time and, per run, the time to produce every tile
// of the list from a fresh index (cold: no tile of the list generated yet).
import { readFileSync } from 'node:fs';
import geojsonvt from 'geojson-vt';
import Supercluster from 'supercluster';
import vtpbf from 'vt-pbf';

const [file, list, ...rest] = process.argv.slice(2);
const cluster = rest.includes('--cluster');
const runs = Number(rest[rest.indexOf('--runs') + 1] || 5);
const tiles = readFileSync(list, 'utf8').trim().split('\n').map((l) => l.split('/').map(Number));

let t0 = performance.now();
const data = JSON.parse(readFileSync(file, 'utf8'));
const parseMs = performance.now() - t0;

function build() {
  if (cluster) {
    const sc = new Supercluster({ radius: 40, extent: 512, maxZoom: 12 });
    sc.load(data.features);
    return { getTile: (z, x, y) => sc.getTile(z, x, y) };
  }
  return geojsonvt(data, { maxZoom: 14, indexMaxZoom: 5, extent: 4096, buffer: 64 });
}

const indexMs = [];
const tileMs = [];
let bytes = 0;
for (let r = 0; r < runs; r++) {
  t0 = performance.now();
  const index = build();
  indexMs.push(performance.now() - t0);
  t0 = performance.now();
  bytes = 0;
  for (const [z, x, y] of tiles) {
    const t = index.getTile(z, x, y);
    if (t) bytes += vtpbf.fromGeojsonVt({ layer: t }, { version: 2, extent: cluster ? 512 : 4096 }).length;
  }
  tileMs.push(performance.now() - t0);
}
const median = (a) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)];
console.log(JSON.stringify({
  peer: cluster ? 'supercluster+vt-pbf' : 'geojson-vt+vt-pbf', file, list, tiles: tiles.length,
  parse_ms: Math.round(parseMs), index_ms_median: Math.round(median(indexMs)),
  tiles_ms_median: +median(tileMs).toFixed(2), tiles_ms_runs: tileMs.map((v) => +v.toFixed(2)), bytes,
}));
