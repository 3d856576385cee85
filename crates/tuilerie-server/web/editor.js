// tuilerie web map: editing the points of editable layers (OGC API Features
// Part 4) with the token pasted in the page. Add a point (click the map),
// move one, edit its name, the wastes it takes (checkboxes from the
// taxonomy) and its opening hours (the server's parser message shown on a
// mistake), delete one. Every change sends the ETag it started from: when
// someone else changed the point meanwhile, both versions are shown.

const TEXT = {
  fr: {
    title: 'Modifier la carte', hint: 'Ajoutez un point de collecte, ou ouvrez un point et choisissez « Modifier ».',
    add: 'Ajouter un point', clickMap: 'Cliquez sur la carte à l’emplacement du point.', name: 'Nom', wastes: 'Déchets acceptés',
    hours: 'Horaires (syntaxe opening_hours d’OpenStreetMap)', move: 'Déplacer', moveClick: 'Cliquez sur le nouvel emplacement.',
    save: 'Enregistrer', remove: 'Supprimer', cancel: 'Annuler', edit: 'Modifier', saved: 'Enregistré.', added: 'Point ajouté.',
    removed: 'Point supprimé.', error: 'Erreur', conflict: 'Ce point a été modifié entretemps. Version du serveur et la vôtre :',
    server: 'Serveur', mine: 'La vôtre', keepMine: 'Garder la mienne', takeServer: 'Reprendre celle du serveur',
    editing: (id) => `Point ${id}`, newPoint: 'Nouveau point',
  },
  en: {
    title: 'Edit the map', hint: 'Add a collection point, or open a point and choose “Edit”.',
    add: 'Add a point', clickMap: 'Click the map where the point is.', name: 'Name', wastes: 'Wastes accepted',
    hours: 'Opening hours (OpenStreetMap opening_hours syntax)', move: 'Move', moveClick: 'Click the new place.',
    save: 'Save', remove: 'Delete', cancel: 'Cancel', edit: 'Edit', saved: 'Saved.', added: 'Point added.',
    removed: 'Point deleted.', error: 'Error', conflict: 'This point was changed meanwhile. The server’s version and yours:',
    server: 'Server', mine: 'Yours', keepMine: 'Keep mine', takeServer: 'Take the server’s',
    editing: (id) => `Point ${id}`, newPoint: 'New point',
  },
};

export function startEditor({ map, maplibregl, catalog, taxonomy, style, lang, auth, $, el }) {
  const t = TEXT[lang] || TEXT.fr;
  const layers = catalog.layers.filter((l) => l.editable && l.geometry_types.length
    && l.geometry_types.every((g) => g.includes('Point')));
  const state = { layer: layers[0] && layers[0].id, id: null, etag: null, at: null, mode: null, before: null };
  let marker = null;

  const section = el('section', { id: 'editor', hidden: '' },
    el('h2', {}, t.title), el('p', { class: 'hint' }, t.hint));
  const layerSelect = el('select', { id: 'ed-layer' }, ...layers.map((l) => el('option', { value: l.id }, l.title || l.id)));
  const wastes = el('fieldset', { id: 'ed-wastes' }, el('legend', {}, t.wastes),
    ...taxonomy.categories.map((c) => el('label', { class: 'inline' },
      el('input', { type: 'checkbox', value: c.id, 'data-keys': c.keys.join(' ') }), ` ${lang === 'en' ? c.en : c.fr}`)));
  const form = el('form', { id: 'ed-form', hidden: '' },
    el('p', { id: 'ed-what', class: 'meta' }),
    el('label', { for: 'ed-name' }, t.name), el('input', { id: 'ed-name' }),
    wastes,
    el('label', { for: 'ed-hours' }, t.hours), el('input', { id: 'ed-hours', placeholder: 'Mo-Sa 08:00-19:00' }),
    el('div', { class: 'buttons' },
      el('button', { id: 'ed-save', type: 'submit' }, t.save),
      el('button', { id: 'ed-move', type: 'button' }, t.move),
      el('button', { id: 'ed-delete', type: 'button' }, t.remove),
      el('button', { id: 'ed-cancel', type: 'button' }, t.cancel)),
    el('p', { id: 'ed-status', 'aria-live': 'polite' }),
    el('div', { id: 'ed-conflict', hidden: '' }));
  section.append(layerSelect, el('button', { id: 'ed-add', type: 'button' }, t.add), form);
  $('#panel-body').append(section);

  const status = (text, error = false) => {
    $('#ed-status').textContent = text;
    $('#ed-status').classList.toggle('error', error);
  };
  const show = () => { section.hidden = !(layers.length && auth().Authorization); };
  window.addEventListener('tuilerie-token', show);
  show();

  function place(lngLat) {
    state.at = [Number(lngLat.lng.toFixed(7)), Number(lngLat.lat.toFixed(7))];
    if (!marker) marker = new maplibregl.Marker({ color: '#c2255c' });
    marker.setLngLat(state.at).addTo(map);
  }

  function fill(props) {
    $('#ed-name').value = props.name || '';
    $('#ed-hours').value = props.opening_hours || '';
    for (const box of wastes.querySelectorAll('input')) {
      box.checked = box.dataset.keys.split(' ').some((k) => props[k] === 'yes');
    }
  }

  function reset() {
    Object.assign(state, { id: null, etag: null, at: null, mode: null, before: null });
    form.hidden = true;
    $('#ed-conflict').hidden = true;
    if (marker) { marker.remove(); marker = null; }
  }

  // The properties the form says, as a merge patch over `before`.
  function properties(before) {
    const p = { name: $('#ed-name').value.trim() || null, opening_hours: $('#ed-hours').value.trim() || null };
    for (const box of wastes.querySelectorAll('input')) {
      const keys = box.dataset.keys.split(' ');
      if (box.checked) {
        if (!keys.some((k) => before[k] === 'yes')) p[keys[keys.length - 1]] = 'yes';
      } else {
        for (const k of keys) if (before[k] !== undefined) p[k] = null;
      }
    }
    if (!state.id) {
      p.amenity = 'recycling';
      p.recycling_type = 'container';
      for (const k of Object.keys(p)) if (p[k] === null) delete p[k];
    }
    return p;
  }

  // Tiles of the layer again (the server has dropped the changed ones).
  function refresh(layerId) {
    for (const [id, s] of Object.entries(style.sources)) {
      if (!s.tiles || !s.tiles.some((u) => u.includes(`/tiles/${layerId}/`))) continue;
      const src = map.getSource(id);
      const stamp = Date.now();
      if (src && src.setTiles) src.setTiles(s.tiles.map((u) => `${u}${u.includes('?') ? '&' : '?'}v=${stamp}`));
    }
  }
  const refreshSoon = (layerId) => { setTimeout(() => refresh(layerId), 300); setTimeout(() => refresh(layerId), 1200); };

  async function send(method, url, body, headers = {}) {
    const r = await fetch(url, { method, headers: { ...auth(), ...headers }, body: body && JSON.stringify(body) });
    const json = r.status === 204 ? null : await r.json().catch(() => null);
    return { r, json };
  }

  async function edit(layerId, id) {
    reset();
    state.layer = layerId;
    layerSelect.value = layerId;
    const r = await fetch(`collections/${encodeURIComponent(layerId)}/items/${encodeURIComponent(id)}`);
    if (!r.ok) { status(`${t.error} : ${r.status}`, true); return; }
    const f = await r.json();
    Object.assign(state, { id, etag: r.headers.get('ETag'), before: f.properties || {} });
    fill(state.before);
    place({ lng: f.geometry.coordinates[0], lat: f.geometry.coordinates[1] });
    $('#ed-what').textContent = t.editing(id);
    $('#ed-delete').hidden = false;
    form.hidden = false;
    section.hidden = false;
    status('');
  }

  function conflict(mine, server) {
    const box = $('#ed-conflict');
    const table = (title, props) => el('div', {}, el('h4', {}, title),
      el('table', {}, ...Object.entries(props).filter(([, v]) => v !== null)
        .map(([k, v]) => el('tr', {}, el('td', {}, k), el('td', {}, String(v))))));
    const keep = el('button', { type: 'button' }, t.keepMine);
    const take = el('button', { type: 'button' }, t.takeServer);
    keep.addEventListener('click', () => { state.etag = server.etag; box.hidden = true; form.requestSubmit(); });
    take.addEventListener('click', () => edit(state.layer, state.id));
    box.replaceChildren(el('p', {}, t.conflict), table(t.server, server.properties), table(t.mine, mine), keep, take);
    box.hidden = false;
  }

  $('#ed-add').addEventListener('click', () => {
    reset();
    state.layer = layerSelect.value;
    state.mode = 'add';
    fill({});
    $('#ed-what').textContent = t.newPoint;
    $('#ed-delete').hidden = true;
    status(t.clickMap);
  });
  $('#ed-move').addEventListener('click', () => { state.mode = 'move'; status(t.moveClick); });
  $('#ed-cancel').addEventListener('click', () => { reset(); status(''); });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const items = `collections/${encodeURIComponent(state.layer)}/items`;
    const geometry = state.at && { type: 'Point', coordinates: state.at };
    if (!state.id) {
      if (!geometry) { status(t.clickMap, true); return; }
      const body = { type: 'Feature', geometry, properties: properties({}) };
      const { r, json } = await send('POST', items, body, { 'Content-Type': 'application/geo+json' });
      if (!r.ok) { status(`${t.error} (${(json && json.parameter) || r.status}) : ${json && json.error}`, true); return; }
      await edit(state.layer, json.id);
      status(t.added);
      refreshSoon(state.layer);
      return;
    }
    const patch = { properties: properties(state.before) };
    if (geometry) patch.geometry = geometry;
    const { r, json } = await send('PATCH', `${items}/${encodeURIComponent(state.id)}`, patch,
      { 'Content-Type': 'application/merge-patch+json', 'If-Match': state.etag });
    if (r.status === 412) {
      const now = await fetch(`${items}/${encodeURIComponent(state.id)}`);
      const server = await now.json();
      conflict(patch.properties, { etag: now.headers.get('ETag'), properties: server.properties || {} });
      status(t.conflict, true);
      return;
    }
    if (!r.ok) { status(`${t.error} (${(json && json.parameter) || r.status}) : ${json && json.error}`, true); return; }
    Object.assign(state, { etag: r.headers.get('ETag'), before: json.properties || {} });
    status(t.saved);
    refreshSoon(state.layer);
  });

  $('#ed-delete').addEventListener('click', async () => {
    if (!state.id) return;
    const { r, json } = await send('DELETE', `collections/${encodeURIComponent(state.layer)}/items/${encodeURIComponent(state.id)}`,
      null, { 'If-Match': state.etag });
    if (!r.ok) { status(`${t.error} (${r.status}) : ${json && json.error}`, true); return; }
    const layerId = state.layer;
    reset();
    status(t.removed);
    refreshSoon(layerId);
  });

  return {
    // A map click while placing or moving a point: taken here.
    click(e) {
      if (!state.mode) return false;
      place(e.lngLat);
      state.mode = null;
      form.hidden = false;
      status('');
      return true;
    },
    // The "Edit" button of a point's popup, when the token may edit.
    button(layerId, id) {
      if (!layers.some((l) => l.id === layerId) || !auth().Authorization || id === undefined) return null;
      const b = el('button', { type: 'button', class: 'ed-open' }, t.edit);
      b.addEventListener('click', () => edit(layerId, String(id)));
      return b;
    },
  };
}
