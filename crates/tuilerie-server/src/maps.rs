//! Thematic maps and the CSV tables they join: defined in the config file
//! (built once the layers are loaded) or created through the API. Each
//! built map has a version so that its cached tiles never go stale when it
//! is replaced.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use tuilerie_geo::thematic::{MapDefinition, MapInputs, Table, ThematicError, ThematicMap};
use tuilerie_geo::Catalog;

/// A built map and the version its tiles are cached under.
#[derive(Clone)]
pub struct MapEntry {
    pub map: Arc<ThematicMap>,
    pub version: u64,
}

/// A configured map that could not be built.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FailedMap {
    pub id: String,
    pub parameter: String,
    pub error: String,
}

#[derive(Default)]
struct Inner {
    tables: HashMap<String, Arc<Table>>,
    maps: BTreeMap<String, MapEntry>,
    failed: Vec<FailedMap>,
    /// Ids of maps and tables of the configuration file (read-only through
    /// the API), with the file.
    configured_maps: HashMap<String, std::path::PathBuf>,
    configured_tables: HashMap<String, std::path::PathBuf>,
}

fn read_only(kind: &str, id: &str, file: Option<std::path::PathBuf>, verb: &str) -> Result<(), crate::error::ApiError> {
    match file {
        None => Ok(()),
        Some(file) => Err(crate::error::ApiError::Conflict {
            message: format!("{kind} {id:?} is defined in {}: {verb} it there, not through the API", file.display()),
            used_by: vec![file.display().to_string()],
        }),
    }
}

/// Shared by every handler.
#[derive(Default)]
pub struct MapStore {
    inner: RwLock<Inner>,
    next_version: AtomicU64,
    limits: crate::limits::Limits,
}

impl MapStore {
    /// An empty store holding at most what `limits` allow.
    pub fn new(limits: crate::limits::Limits) -> Self {
        MapStore { limits, ..Default::default() }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks maps and tables as defined by the configuration `file`.
    pub fn set_configured(&self, maps: &[String], tables: &[String], file: &std::path::Path) {
        let mut inner = self.write();
        for m in maps {
            inner.configured_maps.insert(m.clone(), file.to_path_buf());
        }
        for t in tables {
            inner.configured_tables.insert(t.clone(), file.to_path_buf());
        }
    }

    /// The configuration file defining map `id`, if it is one of its maps.
    pub fn configured_map(&self, id: &str) -> Option<std::path::PathBuf> {
        self.read().configured_maps.get(id).cloned()
    }

    pub fn configured_table(&self, id: &str) -> Option<std::path::PathBuf> {
        self.read().configured_tables.get(id).cloned()
    }

    /// `Ok` unless map `id` is the configuration's: 409 naming the file,
    /// where to `verb` (change, remove) it instead.
    pub fn map_writable(&self, id: &str, verb: &str) -> Result<(), crate::error::ApiError> {
        read_only("map", id, self.configured_map(id), verb)
    }

    /// [`MapStore::map_writable`] for tables.
    pub fn table_writable(&self, id: &str, verb: &str) -> Result<(), crate::error::ApiError> {
        read_only("table", id, self.configured_table(id), verb)
    }

    /// Maps that join table `id`.
    pub fn table_users(&self, id: &str) -> Vec<String> {
        self.read()
            .maps
            .values()
            .filter(|e| e.map.spec.join.as_ref().is_some_and(|j| j.table == id))
            .map(|e| e.map.id.clone())
            .collect()
    }

    /// Puts back a map as it was (`None`: absent), after a write that could
    /// not be stored.
    pub fn restore_map(&self, id: &str, previous: Option<MapEntry>) {
        let mut inner = self.write();
        match previous {
            Some(e) => inner.maps.insert(id.to_string(), e),
            None => inner.maps.remove(id),
        };
    }

    /// Puts back a table as it was (`None`: absent).
    pub fn restore_table(&self, id: &str, previous: Option<Arc<Table>>) {
        let mut inner = self.write();
        match previous {
            Some(t) => inner.tables.insert(id.to_string(), t),
            None => inner.tables.remove(id),
        };
    }

    /// Builds a map of the API: refused (409) when its id is one of the
    /// configuration's. Returns the map and the one it replaced.
    pub fn build_api(
        &self,
        definition: MapDefinition,
        catalog: &Catalog,
    ) -> Result<(MapEntry, Option<MapEntry>), crate::error::ApiError> {
        let tables = self.read().tables.clone();
        let map = ThematicMap::build(definition, &MapInputs { catalog, tables: &tables })?;
        self.map_writable(&map.id, "change")?;
        let previous = self.get(&map.id);
        Ok((self.insert(map)?, previous))
    }

    /// Builds again the maps drawn on the layers `ids` (after a reload or
    /// an edit); a map that fails keeps its previous version.
    pub fn rebuild_on(&self, ids: &[String], catalog: &Catalog, why: &str) {
        for entry in self.list() {
            if !ids.iter().any(|id| entry.map.spec.reads(id)) {
                continue;
            }
            match self.build(entry.map.definition.clone(), catalog) {
                Ok(_) => tracing::debug!(map = %entry.map.id, "map rebuilt on the {why} layer"),
                Err(e) => tracing::error!(map = %entry.map.id, error = %e, "map not rebuilt; the previous one stays"),
            }
        }
    }

    pub fn table(&self, id: &str) -> Option<Arc<Table>> {
        self.read().tables.get(id).cloned()
    }

    pub fn tables(&self) -> Vec<(String, Arc<Table>)> {
        let mut v: Vec<_> = self.read().tables.iter().map(|(k, t)| (k.clone(), t.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Adds or replaces a table; an error when the store is full.
    pub fn put_table(&self, id: String, table: Table) -> Result<(), ThematicError> {
        self.put_table_within(id, table, self.limits.max_table_bytes)
    }

    /// [`MapStore::put_table`] with a byte budget for all tables together
    /// (the replaced table's bytes are freed first).
    pub fn put_table_within(&self, id: String, table: Table, max_bytes: usize) -> Result<(), ThematicError> {
        let mut inner = self.write();
        let max = self.limits.max_tables;
        if !inner.tables.contains_key(&id) && inner.tables.len() >= max {
            crate::metrics::refusal("max_tables");
            return Err(ThematicError::new(
                "id",
                format!("at most {max} tables (limits.max_tables); replace one (same id)"),
            ));
        }
        let others: usize = inner.tables.iter().filter(|(k, _)| **k != id).map(|(_, t)| t.heap_bytes()).sum();
        if others + table.heap_bytes() > max_bytes {
            crate::metrics::refusal("max_table_bytes");
            return Err(ThematicError::new(
                "body",
                format!(
                    "tables would hold {} bytes together, more than the limit of {max_bytes} (limits.max_table_bytes); delete or replace one",
                    others + table.heap_bytes()
                ),
            ));
        }
        inner.tables.insert(id, Arc::new(table));
        Ok(())
    }

    /// Removes a table: `Ok(false)` when unknown, `Err(maps)` (their ids)
    /// while maps join it.
    pub fn remove_table(&self, id: &str) -> Result<bool, Vec<String>> {
        let mut inner = self.write();
        let users: Vec<String> = inner
            .maps
            .values()
            .filter(|e| e.map.spec.join.as_ref().is_some_and(|j| j.table == id))
            .map(|e| e.map.id.clone())
            .collect();
        if !users.is_empty() {
            return Err(users);
        }
        Ok(inner.tables.remove(id).is_some())
    }

    pub fn get(&self, id: &str) -> Option<MapEntry> {
        self.read().maps.get(id).cloned()
    }

    pub fn list(&self) -> Vec<MapEntry> {
        self.read().maps.values().cloned().collect()
    }

    pub fn failed(&self) -> Vec<FailedMap> {
        self.read().failed.clone()
    }

    pub fn remove(&self, id: &str) -> bool {
        self.write().maps.remove(id).is_some()
    }

    /// Builds a map from `definition` and stores it (replacing one with the
    /// same id). Blocking: call it off the async runtime.
    pub fn build(&self, definition: MapDefinition, catalog: &Catalog) -> Result<MapEntry, ThematicError> {
        let tables = self.read().tables.clone();
        let map = ThematicMap::build(definition, &MapInputs { catalog, tables: &tables })?;
        self.insert(map)
    }

    fn insert(&self, map: ThematicMap) -> Result<MapEntry, ThematicError> {
        let entry = MapEntry { map: Arc::new(map), version: self.next_version.fetch_add(1, Ordering::Relaxed) };
        let mut inner = self.write();
        let max = self.limits.max_maps;
        if !inner.maps.contains_key(&entry.map.id) && inner.maps.len() >= max {
            crate::metrics::refusal("max_maps");
            return Err(ThematicError::new(
                "id",
                format!("at most {max} maps (limits.max_maps); replace or delete one"),
            ));
        }
        inner.failed.retain(|f| f.id != entry.map.id);
        inner.maps.insert(entry.map.id.clone(), entry.clone());
        Ok(entry)
    }

    /// Records a configured map that failed to build.
    pub fn record_failure(&self, id: String, e: &ThematicError) {
        self.write().failed.push(FailedMap { id, parameter: e.parameter.clone(), error: e.message.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_share_a_byte_budget_and_a_replaced_table_frees_its_share() {
        let store = MapStore::default();
        let csv = |n: usize| {
            let mut s = String::from("code;v\n");
            for i in 0..n {
                s.push_str(&i.to_string());
                s.push_str(";1\n");
            }
            Table::parse("t.csv", s.as_bytes()).unwrap()
        };
        let one = csv(1_000).heap_bytes();
        let budget = one * 2 + one / 2;
        store.put_table_within("a".into(), csv(1_000), budget).unwrap();
        store.put_table_within("b".into(), csv(1_000), budget).unwrap();
        let e = store.put_table_within("c".into(), csv(1_000), budget).unwrap_err();
        assert!(e.message.contains("more than the limit"), "{e}");
        // Replacing "b" under the same id counts only the new table.
        store.put_table_within("b".into(), csv(1_000), budget).unwrap();
        assert_eq!(store.tables().len(), 2);
    }
}
