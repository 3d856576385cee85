// Validates a MapLibre style read from stdin with the official style-spec
// validator; prints the errors and exits 1 when there is any.
//   node validate-style.mjs < style.json
import { validateStyleMin } from '@maplibre/maplibre-gl-style-spec';

let text = '';
for await (const chunk of process.stdin) text += chunk;
const style = JSON.parse(text);
const errors = validateStyleMin(style);
for (const e of errors) console.error(e.message);
console.log(JSON.stringify({ errors: errors.map((e) => e.message), layers: style.layers.length }));
process.exit(errors.length ? 1 : 0);
