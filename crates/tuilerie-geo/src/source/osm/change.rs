//! osmChange files (`.osc`, `.osc.gz`, OSM's diffs) laid over an extract:
//! read in order, the last change to an object wins; a deletion removes it.

use super::{Member, OsmObject};
use crate::error::{GeoError, GeoResult};
use hashbrown::HashMap;
use quick_xml::events::{BytesStart, Event};
use std::io::Read;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OsmKind {
    Node,
    Way,
    Relation,
}

impl OsmKind {
    pub fn name(self) -> &'static str {
        match self {
            OsmKind::Node => "node",
            OsmKind::Way => "way",
            OsmKind::Relation => "relation",
        }
    }
}

/// One object's fate after every change file.
#[derive(Debug, Clone)]
struct Entry {
    /// The object as last changed; `None` when deleted.
    object: Option<OsmObject>,
    /// The first change to it was a creation (so the extract need not have it).
    created: bool,
    /// The file and line of the first change (for reports).
    origin: String,
}

/// The changes of every osmChange file of a layer, by object.
#[derive(Debug, Clone, Default)]
pub(crate) struct ChangeSet {
    entries: HashMap<(OsmKind, i64), Entry>,
    /// Changes read, all files together.
    pub count: usize,
}

impl ChangeSet {
    /// Reads the files in order.
    pub fn read(files: &[PathBuf]) -> GeoResult<ChangeSet> {
        let mut set = ChangeSet::default();
        for f in files {
            set.read_file(f)?;
        }
        Ok(set)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, kind: OsmKind, id: i64) -> bool {
        self.entries.contains_key(&(kind, id))
    }

    /// `None`: not changed; `Some(None)`: deleted; `Some(Some(o))`: `o` now.
    pub fn get(&self, kind: OsmKind, id: i64) -> Option<Option<&OsmObject>> {
        self.entries.get(&(kind, id)).map(|e| e.object.as_ref())
    }

    /// The objects that exist after the changes.
    pub fn current(&self) -> impl Iterator<Item = (&(OsmKind, i64), &OsmObject)> {
        self.entries.iter().filter_map(|(k, e)| e.object.as_ref().map(|o| (k, o)))
    }

    /// Changes that modify or delete an object the extract does not hold
    /// (`seen` says which changed objects it holds), as `(origin, what)`.
    pub fn missing(&self, seen: &hashbrown::HashSet<(OsmKind, i64)>) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .entries
            .iter()
            .filter(|(k, e)| !e.created && !seen.contains(*k))
            .map(|((kind, id), e)| {
                let what = if e.object.is_some() { "modifies" } else { "deletes" };
                (e.origin.clone(), format!("{what} {}/{id}, which the extract does not hold", kind.name()))
            })
            .collect();
        out.sort();
        out
    }

    fn read_file(&mut self, path: &Path) -> GeoResult<()> {
        let raw = std::fs::read(path).map_err(|e| GeoError::io(path, e))?;
        let text = if raw.starts_with(&[0x1f, 0x8b]) {
            let mut out = Vec::new();
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| change_error(path, None, format!("not a valid gzip file: {e}")))?;
            out
        } else {
            raw
        };
        let mut reader = quick_xml::Reader::from_reader(&text[..]);
        let mut action: Option<&'static str> = None;
        let mut current: Option<(OsmKind, OsmObject, usize)> = None;
        let mut root = false;
        loop {
            let pos = reader.buffer_position() as usize;
            let line = || 1 + text[..pos.min(text.len())].iter().filter(|&&b| b == b'\n').count();
            let event = reader.read_event().map_err(|e| change_error(path, Some(line()), e.to_string()))?;
            let (start, empty) = match &event {
                Event::Start(s) => (Some(s), false),
                Event::Empty(s) => (Some(s), true),
                _ => (None, false),
            };
            if let Some(s) = start {
                let name = s.name();
                let name = name.as_ref();
                match name {
                    b"osmChange" => root = true,
                    _ if !root => {
                        let found = String::from_utf8_lossy(name).into_owned();
                        return Err(change_error(
                            path,
                            Some(line()),
                            format!("not an osmChange file (the root element is <{found}>, expected <osmChange>)"),
                        ));
                    }
                    b"create" | b"modify" | b"delete" if root => {
                        action = Some(match name {
                            b"create" => "create",
                            b"modify" => "modify",
                            _ => "delete",
                        })
                    }
                    b"node" | b"way" | b"relation" => {
                        let Some(a) = action else {
                            return Err(change_error(
                                path,
                                Some(line()),
                                "an object outside <create>, <modify> or <delete>".into(),
                            ));
                        };
                        let kind = match name {
                            b"node" => OsmKind::Node,
                            b"way" => OsmKind::Way,
                            _ => OsmKind::Relation,
                        };
                        let object = object_of(path, line(), kind, s, a)?;
                        current = Some((kind, object, line()));
                    }
                    b"tag" => {
                        if let Some((_, o, _)) = current.as_mut() {
                            let k = attr(path, line(), s, "k")?;
                            let v = attr(path, line(), s, "v")?;
                            o.tags.push((k, v));
                        }
                    }
                    b"nd" => {
                        if let Some((_, o, _)) = current.as_mut() {
                            let r = number(path, line(), s, "ref")?;
                            o.push_ref(r);
                        }
                    }
                    b"member" => {
                        if let Some((_, o, _)) = current.as_mut() {
                            let kind = attr(path, line(), s, "type")?;
                            let r = number(path, line(), s, "ref")?;
                            let role = attr(path, line(), s, "role").unwrap_or_default();
                            o.push_member(if kind == "way" { Member::Way(r, role) } else { Member::Other });
                        }
                    }
                    _ => {}
                }
            }
            let end_of_object = match &event {
                Event::End(e) => matches!(e.name().as_ref(), b"node" | b"way" | b"relation"),
                _ => empty && start.is_some_and(|s| matches!(s.name().as_ref(), b"node" | b"way" | b"relation")),
            };
            if end_of_object {
                if let (Some((kind, object, at)), Some(a)) = (current.take(), action) {
                    self.apply(kind, object, a, format!("{}:{at}", path.display()));
                }
            }
            match event {
                Event::End(e) if matches!(e.name().as_ref(), b"create" | b"modify" | b"delete") => action = None,
                Event::Eof => break,
                _ => {}
            }
        }
        if !root {
            return Err(change_error(path, None, "not an osmChange file (no <osmChange> element)".into()));
        }
        Ok(())
    }

    fn apply(&mut self, kind: OsmKind, object: OsmObject, action: &str, origin: String) {
        self.count += 1;
        let id = object.id;
        let object = (action != "delete").then_some(object);
        match self.entries.get_mut(&(kind, id)) {
            Some(e) => e.object = object,
            None => {
                self.entries.insert((kind, id), Entry { object, created: action == "create", origin });
            }
        }
    }
}

fn change_error(path: &Path, line: Option<usize>, message: String) -> GeoError {
    let at = line.map(|l| format!(" line {l}:")).unwrap_or_default();
    GeoError::Osm { path: path.to_path_buf(), message: format!("osmChange{at} {message}") }
}

fn attr(path: &Path, line: usize, s: &BytesStart, name: &str) -> GeoResult<String> {
    match s.try_get_attribute(name) {
        Ok(Some(a)) => a
            .unescape_value()
            .map(|v| v.into_owned())
            .map_err(|e| change_error(path, Some(line), format!("attribute {name}: {e}"))),
        Ok(None) => Err(change_error(
            path,
            Some(line),
            format!("<{}> without attribute {name}", String::from_utf8_lossy(s.name().as_ref())),
        )),
        Err(e) => Err(change_error(path, Some(line), e.to_string())),
    }
}

fn number<T: std::str::FromStr>(path: &Path, line: usize, s: &BytesStart, name: &str) -> GeoResult<T> {
    let v = attr(path, line, s, name)?;
    v.parse().map_err(|_| change_error(path, Some(line), format!("attribute {name}={v:?} is not a number")))
}

fn object_of(path: &Path, line: usize, kind: OsmKind, s: &BytesStart, action: &str) -> GeoResult<OsmObject> {
    let id: i64 = number(path, line, s, "id")?;
    let version = number::<i32>(path, line, s, "version").unwrap_or(0);
    let timestamp = match attr(path, line, s, "timestamp") {
        Ok(t) => Some(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|e| change_error(path, Some(line), format!("timestamp {t:?}: {e}")))?
                .timestamp_millis(),
        ),
        Err(_) => None,
    };
    let mut o = OsmObject::new(id, &[], version, timestamp, 0);
    match kind {
        OsmKind::Node => {
            let lat = number::<f64>(path, line, s, "lat");
            let lon = number::<f64>(path, line, s, "lon");
            if let (Ok(lat), Ok(lon)) = (lat, lon) {
                if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                    return Err(change_error(
                        path,
                        Some(line),
                        format!("node {id}: location {lat}, {lon} out of range"),
                    ));
                }
                o.set_location(((lon * 1e7).round() as i32, (lat * 1e7).round() as i32));
            } else if action != "delete" {
                return Err(change_error(path, Some(line), format!("node {id} without lat and lon")));
            }
        }
        OsmKind::Way => o.set_refs(Vec::new()),
        OsmKind::Relation => o.set_members(Vec::new()),
    }
    Ok(o)
}
