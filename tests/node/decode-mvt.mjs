// Independent MVT decoder for tuilerie's tests: @mapbox/vector-tile + pbf.
// Usage: node decode-mvt.mjs TILE.mvt [...]  → one JSON document per line:
// {"layers": {name: {version, extent, features: [{id, type, properties,
//   rings: [[[x, y], ...], ...], polygons: GeoJSON type}]}}}
import { readFileSync } from 'node:fs';
import Pbf from 'pbf';
import { VectorTile } from '@mapbox/vector-tile';

for (const path of process.argv.slice(2)) {
  // Copy: pbf reads through a DataView of the whole ArrayBuffer, and Node
  // pools small file buffers at a non-zero offset.
  const tile = new VectorTile(new Pbf(new Uint8Array(readFileSync(path))));
  const out = { layers: {} };
  for (const [name, layer] of Object.entries(tile.layers)) {
    const features = [];
    for (let i = 0; i < layer.length; i++) {
      const f = layer.feature(i);
      const geom = f.loadGeometry();
      features.push({
        id: f.id,
        type: ['Unknown', 'Point', 'LineString', 'Polygon'][f.type],
        properties: f.properties,
        rings: geom.map((r) => r.map((p) => [p.x, p.y])),
        polygons: f.type === 3 ? f.toGeoJSON(0, 0, 0).geometry.type : null,
      });
    }
    out.layers[name] = { version: layer.version, extent: layer.extent, length: layer.length, features };
  }
  console.log(JSON.stringify(out));
}
