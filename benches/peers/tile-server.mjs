// geojson-vt (polygons, lines) and supercluster (points), the libraries
// MapLibre GL JS uses to tile GeoJSON, behind a minimal node HTTP server so
// that they take the same wrk load as the other systems.
//   node --max-old-space-size=12000 benches/peers/tile-server.mjs PORT id=FILE[:cluster] ...
// GET /tiles/{id}/{z}/{x}/{y}.mvt answers the tile encoded with vt-pbf
// (uncompressed), 204 when empty. Prints {"ready": true, "load_ms": ...}
// once every file is parsed and indexed.
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import geojsonvt from 'geojson-vt';
import Supercluster from 'supercluster';
import vtpbf from 'vt-pbf';

const [port, ...specs] = process.argv.slice(2);
const t0 = performance.now();
const indexes = new Map();
for (const spec of specs) {
  const [id, rest] = spec.split('=');
  const [file, mode] = rest.split(':');
  const data = JSON.parse(readFileSync(file, 'utf8'));
  if (mode === 'cluster') {
    // Same radius and cluster zooms as tuilerie's defaults (40 px of 512, up to z12).
    const sc = new Supercluster({ radius: 40, extent: 4096, maxZoom: 12, minPoints: 2 });
    sc.load(data.features);
    indexes.set(id, (z, x, y) => sc.getTile(z, x, y));
  } else {
    const vt = geojsonvt(data, { maxZoom: 14, indexMaxZoom: 5, extent: 4096, buffer: 64 });
    indexes.set(id, (z, x, y) => vt.getTile(z, x, y));
  }
}
const loadMs = performance.now() - t0;

createServer((req, res) => {
  const m = /^\/tiles\/([^/]+)\/(\d+)\/(\d+)\/(\d+)\.mvt$/.exec(req.url);
  const get = m && indexes.get(m[1]);
  if (!get) {
    res.writeHead(404).end();
    return;
  }
  const tile = get(Number(m[2]), Number(m[3]), Number(m[4]));
  if (!tile || !tile.features.length) {
    res.writeHead(204).end();
    return;
  }
  const body = Buffer.from(vtpbf.fromGeojsonVt({ [m[1]]: tile }, { version: 2, extent: 4096 }));
  res.writeHead(200, { 'Content-Type': 'application/vnd.mapbox-vector-tile', 'Content-Length': body.length }).end(body);
}).listen(Number(port), '127.0.0.1', () => {
  console.log(JSON.stringify({ ready: true, load_ms: Math.round(loadMs) }));
});
