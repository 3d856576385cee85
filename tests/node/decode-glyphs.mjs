// Independent decoder of glyph ranges (the Mapbox `glyphs` protocol
// buffer) with the `pbf` package: prints, per file given, its font stacks
// with each glyph's id, metrics and bitmap length, as one JSON line.
import { readFileSync } from 'node:fs';
import Pbf from 'pbf';

function readGlyph(tag, g, pbf) {
  if (tag === 1) g.id = pbf.readVarint();
  else if (tag === 2) g.bitmap = pbf.readBytes().length;
  else if (tag === 3) g.width = pbf.readVarint();
  else if (tag === 4) g.height = pbf.readVarint();
  else if (tag === 5) g.left = pbf.readSVarint();
  else if (tag === 6) g.top = pbf.readSVarint();
  else if (tag === 7) g.advance = pbf.readVarint();
}

function readStack(tag, s, pbf) {
  if (tag === 1) s.name = pbf.readString();
  else if (tag === 2) s.range = pbf.readString();
  else if (tag === 3) s.glyphs.push(pbf.readMessage(readGlyph, { bitmap: 0 }));
}

for (const file of process.argv.slice(2)) {
  const pbf = new Pbf(readFileSync(file));
  const stacks = pbf.readFields((tag, out, p) => {
    if (tag === 1) out.push(p.readMessage(readStack, { glyphs: [] }));
  }, []);
  console.log(JSON.stringify(stacks));
}
