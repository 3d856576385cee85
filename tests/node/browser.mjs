// Drives Debian's chromium (headless, software WebGL) over a running tuilerie
// and checks the web map end to end.
//   node browser.mjs http://127.0.0.1:8080 ARTEFACT_DIR
// Checks: no console error or failed request; every tile answered 200 or
// 204; queryRenderedFeatures non-empty for every catalog layer; the finder
// lists facilities accepting glass, sorted by distance, for a click in
// Bordeaux, identical to /nearest for the same point; a live status change
// (a full glass skip) leaving the finder, the tiles and the popup within 2 s
// without a reload; the phone-sized English
// page. Saves screenshots in ARTEFACT_DIR. Prints a JSON report; exit 1 on failure.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, outDir, csvPath, token] = process.argv.slice(2);
if (!base || !outDir) {
  console.error('usage: node browser.mjs BASE_URL ARTEFACT_DIR');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

const failures = [];
const check = (ok, message) => { if (!ok) failures.push(message); };
const report = { tiles: {}, layers: {}, finder: null, screenshots: [] };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run'],
});

// Statuses the edit steps provoke on purpose (a bad opening_hours, a
// conflict): the browser logs them, they are not failures then.
const provoked = new Set();
function watch(page, name) {
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    if ([...provoked].some((s) => m.text().includes(`status of ${s}`))) return;
    failures.push(`${name}: console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => failures.push(`${name}: page error: ${e.message}`));
  // MapLibre cancels the tile requests it no longer needs when the view
  // moves: an aborted request is not a failure.
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText || '';
    if (!why.includes('ERR_ABORTED')) failures.push(`${name}: request failed: ${r.url()} ${why}`);
  });
  // Nothing leaves the service: no CDN, no font or sprite server.
  page.on('request', (r) => {
    const url = r.url();
    if (!url.startsWith(base) && !url.startsWith('data:') && !url.startsWith('blob:')) failures.push(`${name}: request outside the service: ${url}`);
  });
  page.on('response', (r) => {
    const url = r.url();
    if (url.includes('/tiles/') && url.endsWith('.mvt')) {
      report.tiles[r.status()] = (report.tiles[r.status()] || 0) + 1;
      check(r.status() === 200 || r.status() === 204, `${name}: tile ${url} answered ${r.status()}`);
    } else if (r.status() >= 400 && !provoked.has(r.status())) {
      failures.push(`${name}: ${url} answered ${r.status()}`);
    }
  });
}

async function waitIdle(page) {
  await page.waitForFunction(() => window.map && typeof window.map.loaded === 'function' && window.map.loaded() && window.map.areTilesLoaded(), null, { timeout: 60000 });
  // One more idle after the last tile so rendering has caught up.
  await page.evaluate(() => new Promise((resolve) => {
    if (!window.map.isMoving() && window.map.loaded()) window.map.once('idle', resolve) && window.map.triggerRepaint();
    else window.map.once('idle', resolve);
  }));
}

try {
  // Desktop, French.
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  watch(page, 'desktop');
  await page.goto(`${base}/`, { waitUntil: 'load' });
  await waitIdle(page);
  const catalog = await (await fetch(`${base}/catalog`)).json();
  for (const layer of catalog.layers) {
    const n = await page.evaluate((id) => {
      const ids = window.map.getStyle().layers.filter((l) => l.metadata?.['tuilerie:layer'] === id).map((l) => l.id);
      return window.map.queryRenderedFeatures({ layers: ids }).length;
    }, layer.id);
    report.layers[layer.id] = n;
    check(n > 0, `layer ${layer.id}: queryRenderedFeatures is empty`);
  }
  check(Object.keys(report.tiles).length > 0, 'no tile was requested');
  check((await page.textContent('#finder h2')) === 'Où déposer ?', 'the page is not in French by default');
  const shot = join(outDir, 'map.png');
  await page.screenshot({ path: shot });
  report.screenshots.push(shot);

  // Labels from the service's glyphs: cluster counts at the first view,
  // commune names in a city, facility names at street zoom.
  const rendered = (role) => page.evaluate((r) => {
    const ids = window.map.getStyle().layers.filter((l) => l.metadata?.['tuilerie:role'] === r).map((l) => l.id);
    return window.map.queryRenderedFeatures({ layers: ids }).map((f) => String(f.properties.point_count_abbreviated ?? f.properties.nom ?? f.properties.name));
  }, role);
  report.labels = { 'cluster-counts': await rendered('cluster-counts') };
  await page.evaluate(() => window.map.jumpTo({ center: [-0.5792, 44.8378], zoom: 11 }));
  await waitIdle(page);
  report.labels.labels = await rendered('labels');
  const labelShot = join(outDir, 'labels.png');
  await page.screenshot({ path: labelShot });
  report.screenshots.push(labelShot);
  await page.evaluate(() => window.map.jumpTo({ center: [-0.5792, 44.8378], zoom: 15 }));
  await waitIdle(page);
  report.labels.names = await rendered('names');
  const nameShot = join(outDir, 'names.png');
  await page.screenshot({ path: nameShot });
  report.screenshots.push(nameShot);
  check(report.labels['cluster-counts'].length > 0, 'no cluster count is drawn');
  check(report.labels.labels.includes('Bordeaux'), `commune names drawn: ${report.labels.labels.slice(0, 10)}`);
  check(report.labels.names.length > 0, 'no facility name at zoom 15');
  await page.evaluate(() => window.map.jumpTo({ center: window.map.getStyle().center, zoom: window.map.getStyle().zoom }));
  await waitIdle(page);

  // Finder: "verre", then a click on Bordeaux (place de la Comédie).
  await page.fill('#waste', 'verre');
  await page.waitForFunction(() => document.querySelector('#waste-resolved .chip'), null, { timeout: 10000 });
  const bordeaux = [-0.5748, 44.8425];
  const pixel = await page.evaluate((c) => { const p = window.map.project(c); return [p.x, p.y]; }, bordeaux);
  const box = await page.locator('#viewer canvas').boundingBox();
  const nearestRequest = page.waitForRequest((r) => r.url().includes('/nearest?'));
  await page.mouse.click(box.x + pixel[0], box.y + pixel[1]);
  const requested = new URL((await nearestRequest).url());
  await page.waitForFunction(() => document.querySelectorAll('#results li').length > 0, null, { timeout: 20000 });
  const items = await page.$$eval('#results li', (lis) => lis.map((li) => ({
    name: li.querySelector('.result-name').textContent, meta: li.querySelector('.meta').textContent,
    distance: Number(li.dataset.distance), layer: li.dataset.layer,
    chips: [...li.querySelectorAll('.chip')].map((c) => c.textContent),
  })));
  const lon = Number(requested.searchParams.get('lon'));
  const lat = Number(requested.searchParams.get('lat'));
  check(Math.abs(lon - bordeaux[0]) < 0.01 && Math.abs(lat - bordeaux[1]) < 0.01, `finder searched from ${lon},${lat}, not Bordeaux`);
  check(requested.searchParams.get('available') === 'glass', `finder asked available=${requested.searchParams.get('available')}`);
  const expected = await (await fetch(`${base}/nearest?lon=${lon}&lat=${lat}&k=5&available=glass`)).json();
  check(items.length === expected.features.length && items.length > 0, `finder listed ${items.length}, /nearest has ${expected.features.length}`);
  expected.features.forEach((f, i) => {
    const name = f.properties.name;
    check(items[i] && items[i].name === name && items[i].distance === f.properties.distance_m && items[i].layer === f.properties.layer,
      `finder result ${i + 1} is ${JSON.stringify(items[i])}, /nearest says ${name} at ${f.properties.distance_m} m`);
    if (i > 0) check(items[i].distance >= items[i - 1].distance, `finder results are not sorted by distance at ${i + 1}`);
    check(items[i] && items[i].chips.includes('Verre'), `finder result ${i + 1} does not show Verre`);
  });
  await page.waitForFunction(() => document.querySelectorAll('.marker-rank').length > 0);
  await waitIdle(page);
  report.finder = { lon, lat, items };
  const finderShot = join(outDir, 'finder.png');
  await page.screenshot({ path: finderShot });
  report.screenshots.push(finderShot);

  // Popup: with no waste typed, a click on a collection point opens its
  // popup, with the waste categories and whether it is open (from /nearest).
  await page.fill('#waste', '');
  const target = await page.evaluate(() => {
    const ids = window.map.getStyle().layers.filter((l) => l.metadata?.['tuilerie:role'] === 'points').map((l) => l.id);
    const canvas = window.map.getCanvas();
    const r = canvas.getBoundingClientRect();
    // A point with categories that no marker or control covers.
    for (const f of window.map.queryRenderedFeatures({ layers: ids })) {
      if (!f.properties.waste_categories) continue;
      const p = window.map.project(f.geometry.coordinates);
      if (document.elementFromPoint(r.left + p.x, r.top + p.y) !== canvas) continue;
      // The point drawn on top at that pixel must be this one.
      const top = window.map.queryRenderedFeatures([p.x, p.y], { layers: ids })[0];
      if (top && top.id === f.id) return { x: p.x, y: p.y, name: f.properties.name };
    }
    return null;
  });
  check(target, 'no collection point with waste categories is rendered after the finder zoomed in');
  if (target) {
    const popupStatus = page.waitForResponse((r) => r.url().includes('/nearest?') && r.url().includes('k=1'));
    await page.mouse.click(box.x + target.x, box.y + target.y);
    await popupStatus;
    await page.waitForFunction(() => document.querySelector('.maplibregl-popup .popup .meta span'), null, { timeout: 10000 });
    const popup = await page.evaluate(() => ({
      title: document.querySelector('.maplibregl-popup h3').textContent,
      chips: [...document.querySelectorAll('.maplibregl-popup .chip')].map((c) => c.textContent),
      status: document.querySelector('.maplibregl-popup .popup .meta span').textContent,
    }));
    report.popup = popup;
    check(popup.title === target.name, `popup title ${popup.title} is not ${target.name}`);
    check(popup.chips.length > 0, 'popup shows no waste category');
    check(/^(Ouvert|Fermé|Horaires inconnus)/.test(popup.status), `popup open state: ${popup.status}`);
    const popupShot = join(outDir, 'popup.png');
    await page.screenshot({ path: popupShot });
    report.screenshots.push(popupShot);
  }

  // Thematic maps: show a configured one with its legend.
  await page.evaluate(() => document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove()));
  const maps = await (await fetch(`${base}/maps`)).json();
  if (maps.maps.length) {
    const first = maps.maps[0].id;
    await page.selectOption('#map-select', first);
    await page.waitForFunction(() => document.querySelectorAll('#map-legend tr').length > 0 && window.map.getLayer('thematic-fill'), null, { timeout: 20000 });
    await waitIdle(page);
    const shown = await page.evaluate(() => ({
      rendered: window.map.queryRenderedFeatures({ layers: ['thematic-fill'] }).length,
      rows: document.querySelectorAll('#map-legend tr').length,
      svg: document.querySelector('#export-svg').href,
    }));
    const legend = await (await fetch(`${base}/maps/${first}/legend`)).json();
    check(shown.rendered > 0, `thematic map ${first}: nothing rendered`);
    check(shown.rows === legend.classes.length + (legend.no_data.count ? 1 : 0), `legend has ${shown.rows} rows, expected ${legend.classes.length}`);
    check(shown.svg.endsWith(`/maps/${first}.svg?width=1600`), `SVG link ${shown.svg}`);
    report.thematic = { map: first, ...shown };
    const mapShot = join(outDir, 'thematic.png');
    await page.screenshot({ path: mapShot });
    report.screenshots.push(mapShot);

    // Make a map from the form: upload a CSV, join it, per km², 4 quantiles
    // (writes need the token, pasted into the page as a user would).
    if (token) {
      await page.fill('#token', token);
      await page.dispatchEvent('#token', 'change');
    }
    await page.click('#map-maker summary');
    await page.fill('#mk-title', 'Densité (test navigateur)');
    await page.selectOption('#mk-layer', catalog.layers.find((l) => l.geometry_types.some((g) => g.includes('Polygon'))).id);
    if (csvPath) {
      await page.selectOption('#mk-table', '__upload__');
      await page.setInputFiles('#mk-file', csvPath);
      await page.waitForFunction(() => document.querySelector('#mk-table').value.startsWith('import-'), null, { timeout: 10000 });
      await page.selectOption('#mk-key', 'code_insee');
      await page.selectOption('#mk-field', 'code');
      await page.selectOption('#mk-value', 'column:population_municipale');
    } else {
      await page.selectOption('#mk-value', 'field:population');
    }
    await page.selectOption('#mk-ratio', 'km2');
    await page.selectOption('#mk-method', 'quantile');
    await page.fill('#mk-classes', '4');
    await page.selectOption('#mk-palette', 'Blues');
    await page.click('#mk-preview');
    await page.waitForFunction(() => /^(Carte prête|Map ready)/.test(document.querySelector('#mk-status').textContent)
      || document.querySelector('#mk-status').classList.contains('error'), null, { timeout: 20000 });
    const made = await page.evaluate(() => ({
      status: document.querySelector('#mk-status').textContent,
      error: document.querySelector('#mk-status').classList.contains('error'),
      classes: document.querySelectorAll('#map-legend tr').length,
      selected: document.querySelector('#map-select').value,
      png: document.querySelector('#export-png').href,
    }));
    report.maker = made;
    check(!made.error, `map maker failed: ${made.status}`);
    check(made.classes >= 4, `made map legend has ${made.classes} rows`);
    if (csvPath) check(/Jointure : \d+ \//.test(made.status), `no join report in ${made.status}`);
    await waitIdle(page);
    const png = await fetch(made.png);
    check(png.status === 200 && png.headers.get('content-type') === 'image/png', `PNG export answered ${png.status}`);
    const makerShot = join(outDir, 'map-maker.png');
    await page.screenshot({ path: makerShot });
    report.screenshots.push(makerShot);
  }

  if (token) {
    // Edit in the page: add a glass container where the map is clicked
    // (right of the panel), see the opening-hours parser's message, save;
    // then /nearest finds it and the rendered tiles show it, no reload.
    await page.evaluate(() => window.map.jumpTo({ center: [-0.575, 44.84], zoom: 16 }));
    await waitIdle(page);
    await page.click('#ed-add');
    const canvas = await page.locator('.maplibregl-canvas').boundingBox();
    const side = await page.locator('#panel').boundingBox();
    const x = (side.x + side.width + canvas.x + canvas.width) / 2;
    const y = canvas.y + canvas.height / 2;
    const at = await page.evaluate(([px, py]) => {
      const r = window.map.getCanvas().getBoundingClientRect();
      const ll = window.map.unproject([px - r.left, py - r.top]);
      return { lon: ll.lng, lat: ll.lat };
    }, [x, y]);
    await page.mouse.click(x, y);
    const name = 'Verre ajouté depuis la page';
    await page.fill('#ed-name', name);
    await page.check('#ed-wastes input[value="glass"]');
    provoked.add(400);
    await page.fill('#ed-hours', 'Mo-Zz 25:00');
    await page.click('#ed-save');
    await page.waitForFunction(() => document.querySelector('#ed-status').classList.contains('error'), null, { timeout: 10000 });
    const refused = await page.textContent('#ed-status');
    check(refused.includes('opening_hours') && refused.includes('does not parse'), `no parser message: ${refused}`);
    provoked.delete(400);
    await page.fill('#ed-hours', 'Mo-Su 06:00-22:00');
    await page.click('#ed-save');
    await page.waitForFunction(() => /Point ajouté|Point added/.test(document.querySelector('#ed-status').textContent), null, { timeout: 10000 });
    const near = await (await fetch(`${base}/nearest?lon=${at.lon}&lat=${at.lat}&k=1&accepts=verre`)).json();
    const hit = near.features[0];
    check(hit && hit.properties.name === name && hit.properties.distance_m < 1, `/nearest does not find the added point: ${JSON.stringify(hit && hit.properties)}`);
    await page.waitForFunction((n) => window.map.queryRenderedFeatures().some((f) => f.properties.name === n), name, { timeout: 10000 });
    // Someone else renames it meanwhile: saving shows both versions.
    const item = `${base}/collections/${hit.properties.layer}/items/${encodeURIComponent(hit.id)}`;
    const current = await fetch(item);
    const other = await fetch(item, { method: 'PATCH', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/merge-patch+json', 'If-Match': current.headers.get('etag') }, body: JSON.stringify({ properties: { name: 'Renommé ailleurs' } }) });
    check(other.status === 200, `out-of-band PATCH answered ${other.status}`);
    provoked.add(412);
    await page.fill('#ed-hours', 'Mo-Sa 07:00-21:00');
    await page.click('#ed-save');
    await page.waitForFunction(() => !document.querySelector('#ed-conflict').hidden, null, { timeout: 10000 });
    const both = await page.textContent('#ed-conflict');
    check(both.includes('Renommé ailleurs') && both.includes(name), `conflict does not show both versions: ${both}`);
    await page.click('#ed-conflict button');
    await page.waitForFunction(() => /Enregistré|Saved/.test(document.querySelector('#ed-status').textContent), null, { timeout: 10000 });
    provoked.delete(412);
    const final = await (await fetch(item)).json();
    check(final.properties.opening_hours === 'Mo-Sa 07:00-21:00' && final.properties.name === name, `kept version: ${JSON.stringify(final.properties)}`);
    report.edit = { id: hit.id, at, refused };
    const editShot = join(outDir, 'edit.png');
    await page.screenshot({ path: editShot });
    report.screenshots.push(editShot);

    // Live status: the finder, searching glass from a recycling centre,
    // lists it; its glass skip is reported full; within 2 s (no reload) the
    // finder no longer offers it and its popup says the skip is full.
    const centres = await (await fetch(`${base}/nearest?lon=-0.5748&lat=44.8425&k=1&type=centre&accepts=glass&layers=points-collecte`)).json();
    const centre = centres.features[0];
    const [clon, clat] = centre.geometry.coordinates;
    await page.fill('#waste', 'verre');
    await page.evaluate(([lon, lat]) => window.finder.find(lon, lat), [clon, clat]);
    const listed = (n) => [...document.querySelectorAll('#results .result-name')].some((e) => e.textContent === n);
    await page.waitForFunction(listed, centre.properties.name, { timeout: 10000 });
    await page.evaluate(([lon, lat]) => window.map.jumpTo({ center: [lon, lat], zoom: 15 }), [clon, clat]);
    await waitIdle(page);
    const posted = Date.now();
    const obs = await fetch(`${base}/collections/points-collecte/items/${centre.id}/observations`, {
      method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'fill_level', category: 'verre', value: 1, observed_at: new Date().toISOString(), source: 'browser-test' }),
    });
    check(obs.status === 201, `observation answered ${obs.status}`);
    let gone = true;
    await page.waitForFunction((n) => ![...document.querySelectorAll('#results .result-name')].some((e) => e.textContent === n), centre.properties.name, { timeout: 2000 })
      .catch(() => { gone = false; });
    const delay = Date.now() - posted;
    check(gone, `the finder still offers ${centre.properties.name} 2 s after its glass skip was reported full`);
    // Its tile was fetched again: the rendered point carries the status.
    let tiled = true;
    await page.waitForFunction((id) => window.map.queryRenderedFeatures().some((f) => String(f.id) === String(id) && f.properties.full_categories === 'glass'), centre.id, { timeout: 5000 })
      .catch(() => { tiled = false; });
    if (!tiled) {
      const seen = await page.evaluate((id) => window.map.queryRenderedFeatures().filter((f) => String(f.id) === String(id)).map((f) => ({ layer: f.layer.id, props: f.properties })), centre.id);
      check(false, `the rendered tile of the centre does not say its glass skip is full: ${JSON.stringify(seen)}`);
    }
    const opened = await page.evaluate((id) => {
      const f = window.map.queryRenderedFeatures().find((x) => String(x.id) === String(id) && x.layer.metadata && x.layer.metadata['tuilerie:layer']);
      if (!f) return false;
      window.finder.popup(f, { lng: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] });
      return true;
    }, centre.id);
    check(opened, 'the centre is not rendered, no popup');
    let says = '';
    await page.waitForFunction(() => document.querySelector('.maplibregl-popup .status'), null, { timeout: 5000 }).catch(() => {});
    says = await page.evaluate(() => (document.querySelector('.maplibregl-popup .status') || {}).textContent || '');
    check(says.includes('Verre : plein'), `popup status: ${says}`);
    report.live = { centre: centre.properties.name, ms: delay, popup: says };
    const liveShot = join(outDir, 'live.png');
    await page.screenshot({ path: liveShot });
    report.screenshots.push(liveShot);
  }
  await page.close();

  // Phone, English.
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  watch(phone, 'phone');
  await phone.goto(`${base}/?lang=en`, { waitUntil: 'load' });
  await waitIdle(phone);
  check((await phone.textContent('#finder h2')) === 'Where do I take this?', 'English page title missing');
  const panel = await phone.locator('#panel').boundingBox();
  check(panel && panel.width <= 390 && panel.y > 300, `phone panel is not a bottom sheet: ${JSON.stringify(panel)}`);
  const phoneShot = join(outDir, 'phone-en.png');
  await phone.screenshot({ path: phoneShot });
  report.screenshots.push(phoneShot);
  await phone.close();
} catch (e) {
  failures.push(`exception: ${e.stack || e}`);
} finally {
  await browser.close();
}
report.failures = failures;
console.log(JSON.stringify(report, null, 1));
process.exit(failures.length ? 1 : 0);
