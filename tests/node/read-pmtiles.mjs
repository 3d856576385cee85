// Independent PMTiles reader for tuilerie's tests: the `pmtiles` package
// (Protomaps' JavaScript reader, the one MapLibre pages use) over a local
// file. Usage: node read-pmtiles.mjs ARCHIVE < tiles.json, where tiles.json
// is [[z, x, y], ...] → one JSON document: {header, metadata, tiles:
// {"z/x/y": sha256 of the decompressed tile, or null when absent}}.
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { PMTiles } from 'pmtiles';

class LocalSource {
  constructor(path, handle) {
    this.path = path;
    this.handle = handle;
  }
  getKey() {
    return this.path;
  }
  async getBytes(offset, length) {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await this.handle.read(buf, 0, length, offset);
    const data = buf.buffer.slice(buf.byteOffset, buf.byteOffset + bytesRead);
    return { data };
  }
}

const path = process.argv[2];
const handle = await open(path, 'r');
const archive = new PMTiles(new LocalSource(path, handle));
const header = await archive.getHeader();
const metadata = await archive.getMetadata();
const wanted = JSON.parse(readFileSync(0, 'utf8'));
const tiles = {};
for (const [z, x, y] of wanted) {
  const r = await archive.getZxy(z, x, y);
  tiles[`${z}/${x}/${y}`] = r ? createHash('sha256').update(new Uint8Array(r.data)).digest('hex') : null;
}
await handle.close();
process.stdout.write(JSON.stringify({ header, metadata, tiles }));
