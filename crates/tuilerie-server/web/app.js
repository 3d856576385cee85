// tuilerie web map: draws /style.json with MapLibre GL JS (embedded, no CDN),
// a layer switcher, popups, and the "Où déposer ?" finder over /nearest.
// The map object is `window.map` so browser tests and users can query it.
import * as maplibregl from './maplibre-gl.mjs';
import { startEditor } from './editor.js';

const TEXT = {
  fr: {
    finderTitle: 'Où déposer ?', wasteLabel: 'Mon déchet', placeholder: 'verre, piles, frigo, gravats…',
    openNowOnly: 'Ouvert maintenant seulement', availableOnly: 'Benne disponible (ni pleine ni fermée)',
    full: 'plein', fill: 'Remplissage', crowd: 'Affluence', people: 'personnes', stale: 'ancien', busyHours: 'Affluence habituelle aujourd’hui',
    states: { open: 'ouvert', closed: 'fermé', full: 'complet', out_of_service: 'hors service' }, allSkips: 'conteneur', clickHint: 'Puis cliquez sur la carte ou', locate: 'utilisez ma position',
    layers: 'Couches', legend: 'Couleurs des points (premier déchet accepté)', chooseWaste: 'Saisissez d’abord un déchet.', unknownWaste: 'Déchet inconnu.',
    didYouMean: 'Vouliez-vous dire', searching: 'Recherche…', none: 'Aucun point de collecte ne correspond.',
    found: (n) => `${n} lieu${n > 1 ? 'x' : ''} le${n > 1 ? 's' : ''} plus proche${n > 1 ? 's' : ''}`,
    open: 'Ouvert', closed: 'Fermé', unknownHours: 'Horaires inconnus', until: 'jusqu’à', opens: 'ouvre',
    accepts: 'Accepte', hours: 'Horaires', features: 'objets', geolocError: 'Position indisponible',
    geolocUnsupported: 'La géolocalisation n’est pas disponible dans ce navigateur.', other: 'Lang', switchTo: 'English',
    error: 'Erreur', cluster: (n) => `${n} points — cliquez pour zoomer`, from: 'depuis ce point',
    mapsTitle: 'Cartes thématiques', noMap: '— aucune —', makerTitle: 'Créer une carte', mkTitle: 'Titre',
    mkLayer: 'Couche de polygones', mkTable: 'Tableau de statistiques (CSV)', noTable: 'aucun (propriétés de la couche)',
    uploadTable: 'importer un fichier…', mkKey: 'Colonne code du tableau', mkField: 'Champ code de la couche',
    mkValue: 'Valeur', count: (l) => `nombre de points « ${l} »`, mkRatio: 'Rapporter à', noRatio: 'rien (valeur brute)',
    perKm2: 'la surface (par km²)', perInhabitants: '1 000 habitants (champ population)', mkMethod: 'Discrétisation',
    mkClasses: 'Nombre de classes', mkPalette: 'Palette', mkReverse: 'Inverser les couleurs', mkPreview: 'Aperçu',
    methods: { quantile: 'quantiles', equal_interval: 'intervalles égaux', natural_breaks: 'seuils naturels (Jenks)', std_dev: 'écarts-types', manual: 'manuelle' },
    noData: 'Pas de donnée', uploaded: (t) => `${t.rows} lignes, ${t.columns.length} colonnes (${t.encoding}, « ${t.delimiter} »)`,
    built: (m) => `Carte prête : ${m.legend.total - m.legend.no_data.count} valeurs, ${m.legend.no_data.count} sans donnée.`,
    joined: (j) => `Jointure : ${j.matched} / ${j.features} objets, ${j.unmatched_rows.length} lignes sans objet.`,
    tokenTitle: 'Contribuer', tokenLabel: 'Jeton (tuilerie token create), gardé pour cet onglet seulement',
    tokenSet: 'Jeton enregistré pour cet onglet.', tokenNone: 'Sans jeton, la carte se consulte mais ne se modifie pas.',
  },
  en: {
    finderTitle: 'Where do I take this?', wasteLabel: 'My waste', placeholder: 'glass, batteries, fridge, rubble…',
    openNowOnly: 'Open now only', availableOnly: 'Skip available (not full, not closed)',
    full: 'full', fill: 'Fill level', crowd: 'Crowd', people: 'people', stale: 'old', busyHours: 'Usual crowd today',
    states: { open: 'open', closed: 'closed', full: 'full', out_of_service: 'out of service' }, allSkips: 'container', clickHint: 'Then click on the map or', locate: 'use my location',
    layers: 'Layers', legend: 'Point colours (first waste accepted)', chooseWaste: 'Type a waste first.', unknownWaste: 'Unknown waste.',
    didYouMean: 'Did you mean', searching: 'Searching…', none: 'No collection point matches.',
    found: (n) => `${n} nearest place${n > 1 ? 's' : ''}`,
    open: 'Open', closed: 'Closed', unknownHours: 'Opening hours unknown', until: 'until', opens: 'opens',
    accepts: 'Accepts', hours: 'Opening hours', features: 'features', geolocError: 'Location unavailable',
    geolocUnsupported: 'Geolocation is not available in this browser.', switchTo: 'Français',
    error: 'Error', cluster: (n) => `${n} points — click to zoom in`, from: 'from this point',
    mapsTitle: 'Thematic maps', noMap: '— none —', makerTitle: 'Make a map', mkTitle: 'Title',
    mkLayer: 'Polygon layer', mkTable: 'Statistics table (CSV)', noTable: 'none (layer properties)',
    uploadTable: 'upload a file…', mkKey: 'Code column of the table', mkField: 'Code field of the layer',
    mkValue: 'Value', count: (l) => `number of "${l}" points`, mkRatio: 'Divide by', noRatio: 'nothing (raw value)',
    perKm2: 'area (per km²)', perInhabitants: '1,000 inhabitants (population field)', mkMethod: 'Classification',
    mkClasses: 'Number of classes', mkPalette: 'Palette', mkReverse: 'Reverse colours', mkPreview: 'Preview',
    methods: { quantile: 'quantiles', equal_interval: 'equal intervals', natural_breaks: 'natural breaks (Jenks)', std_dev: 'standard deviation', manual: 'manual' },
    noData: 'No data', uploaded: (t) => `${t.rows} rows, ${t.columns.length} columns (${t.encoding}, "${t.delimiter}")`,
    built: (m) => `Map ready: ${m.legend.total - m.legend.no_data.count} values, ${m.legend.no_data.count} without data.`,
    joined: (j) => `Join: ${j.matched} / ${j.features} features, ${j.unmatched_rows.length} rows without a feature.`,
    tokenTitle: 'Contribute', tokenLabel: 'Token (tuilerie token create), kept for this tab only',
    tokenSet: 'Token kept for this tab.', tokenNone: 'Without a token the map can be read but not changed.',
  },
};

const params = new URLSearchParams(location.search);
const lang = params.get('lang') === 'en' ? 'en' : 'fr';
const t = TEXT[lang];
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

async function getJson(url) {
  const r = await fetch(url);
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || `${url}: HTTP ${r.status}`);
  return body;
}

function localise() {
  document.documentElement.lang = lang;
  for (const node of document.querySelectorAll('[data-t]')) node.textContent = t[node.dataset.t];
  $('#waste').placeholder = t.placeholder;
  const other = new URLSearchParams(params);
  if (lang === 'en') other.delete('lang'); else other.set('lang', 'en');
  const sw = $('#lang-switch');
  sw.textContent = t.switchTo;
  sw.href = `?${other}`;
  sw.hreflang = lang === 'en' ? 'fr' : 'en';
}

const [style, catalog, taxonomy, mapsIndex] = await Promise.all([
  getJson('style.json'), getJson('catalog'), getJson('waste-categories'), getJson('maps'),
]);
localise();
const title = (style.metadata && style.metadata['tuilerie:title']) || 'tuilerie';
document.title = title;
$('#title').textContent = title;
const categories = new Map(taxonomy.categories.map((c) => [c.id, c]));
const label = (id) => (categories.get(id) ? categories.get(id)[lang] : id);
const layersById = new Map(catalog.layers.map((l) => [l.id, l]));

// Fit the data's bounds in the part of the map the panel leaves free
// (beside it on a desktop, above it on a phone).
const bounds = style.metadata && style.metadata['tuilerie:bounds'];
function freePadding() {
  const panel = $('#panel').getBoundingClientRect();
  const phone = window.innerWidth <= 640;
  return phone ? { top: 20, left: 20, right: 20, bottom: Math.min(panel.height, window.innerHeight / 2) + 10 }
    : { top: 30, bottom: 30, right: 50, left: Math.min(panel.right, window.innerWidth / 2) + 20 };
}
// Versions of tiles changed by live events (see transformRequest).
const tileVersions = new Map();
const map = new maplibregl.Map({
  container: 'viewer',
  style,
  bounds: bounds ? [[bounds[0], bounds[1]], [bounds[2], bounds[3]]] : undefined,
  fitBoundsOptions: { padding: freePadding() },
  attributionControl: { compact: true },
  hash: false,
  // Tiles a live event said changed get a version in their URL, so the
  // browser's cache does not answer for them.
  transformRequest: (url) => {
    const m = /\/tiles\/[^/]+\/(\d+)\/(\d+)\/(\d+)\.mvt$/.exec(url.split('?')[0]);
    const v = m && tileVersions.get(`${m[1]}/${m[2]}/${m[3]}`);
    return v ? { url: `${url.split('?')[0]}?v=${v}` } : { url };
  },
});
window.map = map;
map.addControl(new maplibregl.NavigationControl(), 'top-right');
map.addControl(new maplibregl.ScaleControl({ unit: 'metric' }), 'bottom-right');

const styleLayersOf = (id, roles) => style.layers
  .filter((l) => l.metadata && l.metadata['tuilerie:layer'] === id && (!roles || roles.includes(l.metadata['tuilerie:role'])))
  .map((l) => l.id);
const pointRoles = ['points', 'clusters'];
const allPointLayers = catalog.layers.flatMap((l) => styleLayersOf(l.id, pointRoles));
const allAreaLayers = catalog.layers.flatMap((l) => styleLayersOf(l.id, ['fill', 'lines']));

// Layer switcher.
for (const l of catalog.layers) {
  const box = el('input', { type: 'checkbox', id: `layer-${l.id}` });
  box.checked = true;
  box.addEventListener('change', () => {
    for (const id of styleLayersOf(l.id)) map.setLayoutProperty(id, 'visibility', box.checked ? 'visible' : 'none');
  });
  const count = el('span', { class: 'count' }, ` ${l.feature_count.toLocaleString(lang)} ${t.features}`);
  $('#layer-list').append(el('li', {}, el('label', { class: 'inline', for: `layer-${l.id}` }, box, ` ${l.title}`, count)));
}

// Legend of point colours, when a layer has waste categories.
if (catalog.layers.some((l) => l.waste_features > 0)) {
  const details = el('details', { id: 'legend' }, el('summary', {}, t.legend));
  details.append(el('div', {}, ...chips(taxonomy.categories.map((c) => c.id))));
  $('#layers').append(details);
}

$('#panel-toggle').addEventListener('click', () => {
  const collapsed = $('#panel').classList.toggle('collapsed');
  $('#panel-toggle').textContent = collapsed ? '+' : '–';
  $('#panel-toggle').setAttribute('aria-expanded', String(!collapsed));
});

// Formatting.
const formatDistance = (m) => (m < 1000 ? `${Math.round(m)} m`
  : `${(m / 1000).toLocaleString(lang, { maximumFractionDigits: m < 10000 ? 1 : 0 })} km`);
function formatTime(rfc3339, timeZone) {
  const d = new Date(rfc3339);
  const sameDay = d.toDateString() === new Date().toDateString();
  return d.toLocaleString(lang, { timeZone, hour: '2-digit', minute: '2-digit', ...(sameDay ? {} : { weekday: 'long' }) });
}
function openState(props, timeZone) {
  if (props.open_now === true) {
    return el('span', { class: 'open' }, t.open, props.next_change ? ` ${t.until} ${formatTime(props.next_change, timeZone)}` : '');
  }
  if (props.open_now === false) {
    return el('span', { class: 'closed' }, t.closed, props.next_change ? ` · ${t.opens} ${formatTime(props.next_change, timeZone)}` : '');
  }
  return el('span', { class: 'unknown' }, t.unknownHours);
}
function chips(ids) {
  return ids.filter(Boolean).map((id) => {
    const c = categories.get(id);
    return el('span', { class: 'chip', style: `background:${c ? c.color : '#495057'}` }, label(id));
  });
}
const nameOf = (props, layerId) => props.name || props.nom || props.NOM || props.nom_commune || props.libelle
  || `${(layersById.get(layerId) || {}).title || layerId}`;

// Live status (fill levels, crowd, state) as a line of text.
const pct = (x) => `${Math.round(x * 100)} %`;
function statusLine(status) {
  if (!status) return null;
  const parts = [];
  const old = (r) => (r.stale ? ` (${t.stale})` : '');
  if (status.state) parts.push(el('span', { class: status.state.value === 'open' ? 'open' : 'closed' }, `${t.states[status.state.value] || status.state.value}${old(status.state)}`));
  for (const f of status.fill || []) {
    const what = f.category ? label(f.category) : t.allSkips;
    parts.push(el('span', { class: f.full ? 'closed' : '' }, `${what} : ${f.full ? t.full : pct(f.level)}${old(f)}`));
  }
  if (status.crowd) {
    const c = status.crowd;
    parts.push(el('span', {}, `${t.crowd} : ${c.level != null ? pct(c.level) : ''}${c.count != null ? ` (${c.count} ${t.people})` : ''}${old(c)}`));
  }
  if (!parts.length) return null;
  const line = el('div', { class: 'meta status' });
  parts.forEach((p, i) => { if (i) line.append(' · '); line.append(p); });
  return line;
}
// Today's usual crowd per hour (busy-hours profile) as small bars.
async function busyChart(layerId, id) {
  const r = await getJson(`collections/${encodeURIComponent(layerId)}/items/${encodeURIComponent(id)}/busy-hours`);
  if (!r.observations) return null;
  const day = r.days[(new Date().getDay() + 6) % 7];
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 240 40');
  svg.setAttribute('class', 'busy');
  day.mean.forEach((m, h) => {
    if (m == null) return;
    const bar = document.createElementNS(ns, 'rect');
    const hgt = Math.max(1, m * 36);
    Object.entries({ x: h * 10 + 1, y: 38 - hgt, width: 8, height: hgt, fill: '#1971c2' }).forEach(([k, v]) => bar.setAttribute(k, v));
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${h} h : ${pct(m)} (${day.count[h]})`;
    bar.append(title);
    svg.append(bar);
  });
  return el('div', {}, el('div', { class: 'meta' }, t.busyHours), svg);
}

// Popups.
function propertyTable(props) {
  const rows = Object.entries(props)
    .filter(([k]) => !['waste_category', 'waste_categories', 'cluster'].includes(k))
    .map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, String(v))));
  return el('table', {}, ...rows);
}
async function pointPopup(feature, lngLat) {
  const layerId = feature.layer.metadata['tuilerie:layer'];
  const p = feature.properties;
  const body = el('div', { class: 'popup' }, el('h3', {}, nameOf(p, layerId)));
  if (p.waste_categories) body.append(el('div', {}, ...chips(p.waste_categories.split(','))));
  const status = el('p', { class: 'meta' });
  if (p.opening_hours) body.append(el('p', { class: 'meta' }, `${t.hours} : ${p.opening_hours}`));
  const table = propertyTable(p);
  body.append(status, table);
  const popup = new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(lngLat).setDOMContent(body).addTo(map);
  // Open now and the next change come from the server (time zone, holidays).
  const [lon, lat] = feature.geometry.coordinates;
  try {
    const r = await getJson(`nearest?lon=${lon}&lat=${lat}&layers=${encodeURIComponent(layerId)}&k=1`);
    const hit = r.features[0];
    if (hit && hit.properties.distance_m < 1) {
      status.replaceChildren(openState(hit.properties, (layersById.get(layerId) || {}).timezone));
      const live = statusLine(hit.status);
      if (live) status.after(live);
      openPopup = { layerId, id: String(hit.id), refresh: () => { popup.remove(); pointPopup(feature, lngLat); } };
      popup.on('close', () => { if (openPopup && openPopup.id === String(hit.id)) openPopup = null; });
      if (liveOn) busyChart(layerId, hit.id).then((c) => { if (c) body.insertBefore(c, table); }).catch(() => {});
      const edit = editor && editor.button(layerId, hit.id);
      if (edit) body.append(edit);
    }
  } catch (e) {
    status.textContent = `${t.error} : ${e.message}`;
  }
  return popup;
}

// The facility whose popup is open (refreshed when its status changes).
let openPopup = null;

// The point editor (created once the token box exists, below).
let editor = null;

// A click places a point being added or moved; else it searches from
// there once a waste is typed; otherwise it zooms into a cluster or opens
// the popup of what is under the pointer.
map.on('click', async (e) => {
  if (editor && editor.click(e)) return;
  if ($('#waste').value.trim()) {
    find(e.lngLat.lng, e.lngLat.lat);
    return;
  }
  const points = map.queryRenderedFeatures(e.point, { layers: allPointLayers.filter((id) => map.getLayer(id)) });
  const cluster = points.find((f) => f.properties.cluster);
  if (cluster) {
    map.easeTo({ center: cluster.geometry.coordinates, zoom: Math.min(map.getZoom() + 2, 18) });
    return;
  }
  if (points.length) {
    pointPopup(points[0], e.lngLat);
    return;
  }
  const areas = map.queryRenderedFeatures(e.point, { layers: ['thematic-fill', ...allAreaLayers].filter((id) => map.getLayer(id)) });
  if (areas.length) {
    const f = areas[0];
    const layerId = f.layer.metadata['tuilerie:layer'] || f.layer.metadata['tuilerie:map'];
    const body = el('div', { class: 'popup' }, el('h3', {}, nameOf(f.properties, layerId)), propertyTable(f.properties));
    new maplibregl.Popup({ maxWidth: '320px' }).setLngLat(e.lngLat).setDOMContent(body).addTo(map);
  }
});
for (const id of [...allPointLayers]) {
  map.on('mouseenter', id, () => { map.getCanvas().style.cursor = 'pointer'; });
  map.on('mouseleave', id, () => { map.getCanvas().style.cursor = ''; });
}

// Finder: autocomplete on the taxonomy's labels and synonyms.
const words = new Set();
for (const c of taxonomy.categories) {
  words.add(c[lang]);
  for (const s of c.synonyms) words.add(s);
}
$('#waste-words').append(...[...words].sort((a, b) => a.localeCompare(b, lang)).map((w) => el('option', { value: w })));

let resolveSeq = 0;
async function resolveWaste() {
  const q = $('#waste').value.trim();
  const out = $('#waste-resolved');
  const seq = ++resolveSeq;
  if (!q) { out.replaceChildren(); return null; }
  const r = await getJson(`waste-categories?q=${encodeURIComponent(q)}`);
  if (seq !== resolveSeq) return null;
  if (r.categories.length) {
    out.replaceChildren(...chips(r.categories.map((c) => c.id)));
    return r.categories.map((c) => c.id);
  }
  const sugg = r.suggestions.length ? ` ${t.didYouMean} ${r.suggestions.join(', ')} ?` : '';
  out.replaceChildren(el('span', { class: 'unknown' }, `${t.unknownWaste}${sugg}`));
  return null;
}
$('#waste').addEventListener('input', () => { resolveWaste().catch(() => {}); });

const resultMarkers = [];
let origin = null;
let lastOrigin = null;

function ensureResultLayers() {
  if (map.getSource('finder-lines')) return;
  map.addSource('finder-lines', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
  map.addLayer({
    id: 'finder-lines', type: 'line', source: 'finder-lines',
    paint: { 'line-color': '#c2255c', 'line-width': 1.5, 'line-dasharray': [2, 2] },
  });
}

// `quiet`: a live refresh, which keeps the view where it is.
async function find(lon, lat, quiet = false) {
  const status = $('#finder-status');
  const list = $('#results');
  status.classList.remove('error');
  const ids = await resolveWaste().catch(() => null);
  if (!$('#waste').value.trim() || !ids) {
    status.textContent = $('#waste').value.trim() ? t.unknownWaste : t.chooseWaste;
    return;
  }
  lastOrigin = [lon, lat];
  if (origin) origin.remove();
  origin = new maplibregl.Marker({ element: el('div', { class: 'marker-origin', title: t.from }) }).setLngLat([lon, lat]).addTo(map);
  status.textContent = t.searching;
  const q = new URLSearchParams({ lon: lon.toFixed(6), lat: lat.toFixed(6), k: '5' });
  q.set($('#available').checked ? 'available' : 'accepts', ids.join(','));
  if ($('#open-now').checked) q.set('open', 'now');
  let r;
  try {
    r = await getJson(`nearest?${q}`);
  } catch (e) {
    status.textContent = `${t.error} : ${e.message}`;
    status.classList.add('error');
    return;
  }
  for (const m of resultMarkers.splice(0)) m.remove();
  ensureResultLayers();
  map.getSource('finder-lines').setData({
    type: 'FeatureCollection',
    features: r.features.map((f) => ({
      type: 'Feature', properties: {}, geometry: { type: 'LineString', coordinates: [[lon, lat], f.geometry.coordinates] },
    })),
  });
  status.textContent = r.features.length ? t.found(r.features.length) : t.none;
  list.replaceChildren(...r.features.map((f, i) => {
    const p = f.properties;
    const tz = (layersById.get(p.layer) || {}).timezone;
    const coords = f.geometry.type === 'Point' ? f.geometry.coordinates : [lon, lat];
    const marker = new maplibregl.Marker({ element: el('div', { class: 'marker-rank' }, String(i + 1)) }).setLngLat(coords).addTo(map);
    resultMarkers.push(marker);
    const item = el('li', { tabindex: '0', 'data-distance': String(p.distance_m), 'data-layer': p.layer },
      el('span', { class: 'rank' }, String(i + 1)),
      el('div', {},
        el('div', { class: 'result-name' }, nameOf(p, p.layer)),
        el('div', { class: 'meta' }, `${formatDistance(p.distance_m)} · `, openState(p, tz)),
        el('div', {}, ...chips(p.accepts || [])),
        statusLine(f.status) || ''));
    const focus = () => map.flyTo({ center: coords, zoom: Math.max(map.getZoom(), 15) });
    item.addEventListener('click', focus);
    item.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') focus(); });
    marker.getElement().addEventListener('click', (ev) => { ev.stopPropagation(); item.scrollIntoView({ block: 'nearest' }); item.focus(); });
    return item;
  }));
  if (r.features.length && !quiet) {
    const b = new maplibregl.LngLatBounds([lon, lat], [lon, lat]);
    for (const f of r.features) if (f.geometry.type === 'Point') b.extend(f.geometry.coordinates);
    const pad = freePadding();
    map.fitBounds(b, { padding: { top: pad.top + 30, bottom: pad.bottom + 30, left: pad.left + 30, right: pad.right + 30 }, maxZoom: 16 });
  }
}
$('#open-now').addEventListener('change', () => { if (lastOrigin) find(...lastOrigin); });
$('#available').addEventListener('change', () => { if (lastOrigin) find(...lastOrigin); });

// Live updates: /events says which feature changed and which tiles; those
// tiles are fetched again, the finder's list and an open popup refreshed.
let refreshTimer = null;
let liveOn = false;
async function live() {
  if (!window.EventSource || !(await getJson('health')).writes) return;
  liveOn = true;
  const source = new EventSource('events');
  const onChange = (ev) => {
    const d = JSON.parse(ev.data);
    for (const [z, x, y] of d.tiles || []) tileVersions.set(`${z}/${x}/${y}`, d.id);
    if (map.getSource(d.layer)) {
      // Past the source's last zoom, the map shows its tiles' children.
      const ids = (d.tiles || []).map(([z, x, y]) => ({ z, x, y }));
      const last = Math.max(0, ...ids.map((i) => i.z));
      const top = Math.min(22, Math.floor(map.getZoom()) + 1);
      if (top - last > 4) map.refreshTiles(d.layer);
      else {
        for (const i of ids.filter((i) => i.z === last)) {
          for (let dz = 1; last + dz <= top; dz += 1) {
            const n = 1 << dz;
            for (let a = 0; a < n; a += 1) for (let b = 0; b < n; b += 1) ids.push({ z: last + dz, x: i.x * n + a, y: i.y * n + b });
          }
        }
        map.refreshTiles(d.layer, ids);
      }
    }
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      if (lastOrigin && $('#waste').value.trim()) find(...lastOrigin, true);
      if (openPopup && openPopup.layerId === d.layer && openPopup.id === String(d.feature_id)) openPopup.refresh();
    }, 100);
    window.liveEvents = (window.liveEvents || 0) + 1;
  };
  source.addEventListener('status', onChange);
  source.addEventListener('feature', onChange);
  source.addEventListener('reload', () => { source.close(); setTimeout(live, 1000); });
}
live().catch(() => {});
// For browser tests and users' scripts, like window.map.
window.finder = { find, popup: pointPopup };
$('#waste').addEventListener('change', () => { if (lastOrigin && $('#waste').value.trim()) find(...lastOrigin); });

$('#locate').addEventListener('click', () => {
  const status = $('#finder-status');
  if (!navigator.geolocation) { status.textContent = t.geolocUnsupported; return; }
  navigator.geolocation.getCurrentPosition(
    (pos) => find(pos.coords.longitude, pos.coords.latitude),
    (err) => { status.textContent = `${t.geolocError} (${err.message})`; status.classList.add('error'); },
    { enableHighAccuracy: true, timeout: 10000 },
  );
});

// Thematic maps: show one with its legend and exports, or make one.
const fmt = (x) => x.toLocaleString(lang, { maximumFractionDigits: Math.abs(x) >= 100 ? 0 : 2 });
let shownMap = null;

function mapOption(m) {
  return el('option', { value: m.id }, m.title);
}
function fillMapSelect(selected) {
  const sel = $('#map-select');
  sel.replaceChildren(el('option', { value: '' }, t.noMap), ...mapsIndex.maps.map(mapOption));
  sel.value = selected || '';
}

async function showMap(id) {
  for (const l of ['thematic-fill', 'thematic-outline']) if (map.getLayer(l)) map.removeLayer(l);
  if (map.getSource('thematic')) map.removeSource('thematic');
  $('#map-legend').replaceChildren();
  $('#map-exports').hidden = true;
  shownMap = null;
  if (!id) return null;
  const [info, mapStyle] = await Promise.all([getJson(`maps/${encodeURIComponent(id)}`), getJson(`maps/${encodeURIComponent(id)}/style.json`)]);
  map.addSource('thematic', mapStyle.sources.map);
  // Under the points, over the plain polygons.
  const before = allPointLayers.find((l) => map.getLayer(l));
  for (const l of mapStyle.layers.filter((x) => x.source === 'map')) {
    const role = l.type === 'fill' ? 'fill' : 'outline';
    map.addLayer({ ...l, id: `thematic-${role}`, source: 'thematic' }, before);
  }
  const lg = info.legend;
  const rows = lg.classes.map((c) => el('tr', {},
    el('td', {}, el('span', { class: 'swatch', style: `background:${c.color}` })),
    el('td', {}, `${fmt(c.lower)} – ${fmt(c.upper)}`), el('td', { class: 'count' }, `(${c.count})`)));
  if (lg.no_data.count) {
    rows.push(el('tr', {}, el('td', {}, el('span', { class: 'swatch', style: `background:${lg.no_data.color}` })),
      el('td', {}, t.noData), el('td', { class: 'count' }, `(${lg.no_data.count})`)));
  }
  $('#map-legend').replaceChildren(el('strong', {}, info.title), lg.unit ? el('div', { class: 'meta' }, lg.unit) : null,
    el('table', { class: 'legend' }, ...rows),
    ...info.warnings.map((w) => el('div', { class: 'warning meta' }, w)));
  $('#export-svg').href = `maps/${encodeURIComponent(id)}.svg?width=1600`;
  $('#export-png').href = `maps/${encodeURIComponent(id)}.png?width=1600`;
  $('#export-svg').setAttribute('download', `${id}.svg`);
  $('#export-png').setAttribute('download', `${id}.png`);
  $('#map-exports').hidden = false;
  shownMap = info;
  if (info.bounds) map.fitBounds([[info.bounds[0], info.bounds[1]], [info.bounds[2], info.bounds[3]]], { padding: freePadding(), duration: 0 });
  return info;
}
window.tuilerieShowMap = showMap;
$('#map-select').addEventListener('change', (e) => { showMap(e.target.value).catch((err) => { $('#map-legend').textContent = `${t.error} : ${err.message}`; }); });
fillMapSelect();

// The map maker form.
const polygonLayers = catalog.layers.filter((l) => l.geometry_types.some((g) => g.includes('Polygon')));
const pointLayers = catalog.layers.filter((l) => l.geometry_types.length && l.geometry_types.every((g) => g.includes('Point')));
const numericTypes = ['integer', 'float', 'number', 'int', 'double'];
let tables = mapsIndex.tables;
const draftId = `brouillon-${Math.random().toString(36).slice(2, 8)}`;

function options(sel, list, keep) {
  const previous = sel.value;
  sel.replaceChildren(...list.map(([v, label]) => el('option', { value: v }, label)));
  if (keep && list.some(([v]) => v === previous)) sel.value = previous;
}
function currentTable() { return tables.find((x) => x.id === $('#mk-table').value); }
function refreshMaker() {
  const layer = catalog.layers.find((l) => l.id === $('#mk-layer').value);
  const table = currentTable();
  $('#mk-join').hidden = !table;
  $('#mk-file').hidden = $('#mk-table').value !== '__upload__';
  const fields = layer ? layer.fields : [];
  if (table) {
    options($('#mk-key'), table.columns.map((c) => [c, c]), true);
    options($('#mk-field'), fields.map((f) => [f.name, f.name]), true);
  }
  const values = [
    ...(table ? table.columns.map((c) => [`column:${c}`, `${c} (${table.name})`]) : []),
    ...fields.filter((f) => numericTypes.includes(String(f.type).toLowerCase())).map((f) => [`field:${f.name}`, f.name]),
    ...pointLayers.map((p) => [`count:${p.id}`, t.count(p.title)]),
  ];
  options($('#mk-value'), values, true);
  const ratioFields = [
    ...(table ? table.columns.map((c) => [c, `${c} (${table.name})`]) : []),
    ...fields.filter((f) => numericTypes.includes(String(f.type).toLowerCase())).map((f) => [f.name, f.name]),
  ];
  options($('#mk-ratio-field'), ratioFields, true);
  const popField = ratioFields.find(([v]) => /pop/i.test(v));
  if (popField && !$('#mk-ratio-field').dataset.touched) $('#mk-ratio-field').value = popField[0];
  $('#mk-ratio-field').hidden = $('#mk-ratio').value !== 'inhabitants';
}
options($('#mk-layer'), polygonLayers.map((l) => [l.id, l.title]));
function fillTables(selected) {
  options($('#mk-table'), [['', t.noTable], ...tables.map((x) => [x.id, `${x.name} (${x.rows})`]), ['__upload__', t.uploadTable]]);
  $('#mk-table').value = selected || '';
}
fillTables();
options($('#mk-ratio'), [['', t.noRatio], ['km2', t.perKm2], ['inhabitants', t.perInhabitants]]);
options($('#mk-method'), mapsIndex.methods.filter((m) => m !== 'manual').map((m) => [m, t.methods[m] || m]));
options($('#mk-palette'), mapsIndex.palettes.map((p) => [p.name, `${p.name} (${p.kind})`]));
$('#mk-palette').value = 'YlOrRd';
for (const id of ['#mk-layer', '#mk-table', '#mk-ratio']) $(id).addEventListener('change', refreshMaker);
$('#mk-ratio-field').addEventListener('change', () => { $('#mk-ratio-field').dataset.touched = '1'; });
refreshMaker();

// The token of writes: pasted by the user, kept in sessionStorage (this tab
// only, gone when it closes), sent as Authorization: Bearer.
const TOKEN_KEY = 'tuilerie-token';
function auth() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}
function showToken() {
  $('#token-status').textContent = sessionStorage.getItem(TOKEN_KEY) ? t.tokenSet : t.tokenNone;
}
$('#token').value = sessionStorage.getItem(TOKEN_KEY) || '';
$('#token').addEventListener('change', () => {
  const v = $('#token').value.trim();
  if (v) sessionStorage.setItem(TOKEN_KEY, v); else sessionStorage.removeItem(TOKEN_KEY);
  showToken();
  window.dispatchEvent(new Event('tuilerie-token'));
});
showToken();
editor = startEditor({ map, maplibregl, catalog, taxonomy, style, lang, auth, $, el });

$('#mk-file').addEventListener('change', async () => {
  const file = $('#mk-file').files[0];
  const status = $('#mk-status');
  if (!file) return;
  status.classList.remove('error');
  const id = `import-${file.name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[-.]+/, '').slice(0, 40) || 'csv'}`;
  const r = await fetch(`tables?id=${encodeURIComponent(id)}&name=${encodeURIComponent(file.name)}`, { method: 'POST', headers: { 'Content-Type': 'text/csv', ...auth() }, body: file });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { status.textContent = `${t.error} : ${body.error}`; status.classList.add('error'); return; }
  tables = [...tables.filter((x) => x.id !== id), body];
  fillTables(id);
  status.textContent = `${file.name} : ${t.uploaded(body)}`;
  refreshMaker();
});

$('#maker-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const status = $('#mk-status');
  status.classList.remove('error');
  const [kind, name] = $('#mk-value').value.split(/:(.*)/s);
  const def = {
    id: draftId,
    title: $('#mk-title').value.trim(),
    layer: $('#mk-layer').value,
    method: $('#mk-method').value,
    classes: Number($('#mk-classes').value),
    palette: $('#mk-palette').value,
    reverse: $('#mk-reverse').checked,
    value: kind === 'count' ? { count: name } : { field: name },
  };
  const table = currentTable();
  if (table) def.join = { table: table.id, key: $('#mk-key').value, field: $('#mk-field').value };
  if ($('#mk-ratio').value === 'km2') { def.ratio = { per: 'km2' }; def.unit = lang === 'en' ? 'per km²' : 'par km²'; }
  if ($('#mk-ratio').value === 'inhabitants') { def.ratio = { per: $('#mk-ratio-field').value, scale: 1000 }; def.unit = lang === 'en' ? 'per 1,000 inhabitants' : 'pour 1 000 hab.'; }
  const r = await fetch('maps', { method: 'POST', headers: { 'Content-Type': 'application/json', ...auth() }, body: JSON.stringify(def) });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) { status.textContent = `${t.error} (${body.parameter || r.status}) : ${body.error}`; status.classList.add('error'); return; }
  if (!mapsIndex.maps.some((m) => m.id === body.id)) mapsIndex.maps.push({ id: body.id, title: body.title });
  else mapsIndex.maps.find((m) => m.id === body.id).title = body.title;
  fillMapSelect(body.id);
  await showMap(body.id);
  status.textContent = `${t.built(body)} ${body.join ? t.joined(body.join) : ''}`;
});
