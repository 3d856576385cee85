//! The embedded store: one SQLite database, `tuilerie.db`, in the data
//! directory.
//!
//! - WAL journal with `synchronous = FULL`: a transaction is on disk (the
//!   WAL fsynced) when `COMMIT` returns, so an acknowledged write survives
//!   a crash or a power cut. Readers never block the writer.
//! - One connection writes, one reads (each behind its own lock); other
//!   processes (`tuilerie token ...` while the server runs) wait up to
//!   `BUSY_TIMEOUT` for the write lock.
//! - The schema is versioned (`PRAGMA user_version`) and marked as
//!   tuilerie's (`PRAGMA application_id`); migrations run at open, in one
//!   transaction each. A store of a newer version, or a database that is not
//!   a tuilerie store, is refused, never altered.
//! - The audit log (`changes`) is append-only: triggers refuse updates and
//!   deletes.

use super::{
    ChangeRecord, Effect, FeatureRecord, ObservationFilter, ObservationRecord, Observed, Role, Store, StoreError,
    StoreResult, StoredResource, TokenRecord, Write,
};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// `PRAGMA application_id` of a tuilerie store ("TULR").
const APPLICATION_ID: i64 = 0x5455_4c52;

/// How long a write waits for another process holding the write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

use super::migrations::MIGRATIONS;

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// SQLite behind the [`Store`] trait.
pub struct SqliteStore {
    path: PathBuf,
    writer: Mutex<Connection>,
    reader: Mutex<Connection>,
}

fn io<'a>(path: &'a Path, what: &str) -> impl Fn(rusqlite::Error) -> StoreError + 'a {
    let what = what.to_string();
    move |e| StoreError::Io(format!("store {}: {what}: {e}", path.display()))
}

impl SqliteStore {
    /// Opens (creating the directory and the database on first use) and
    /// migrates the store in `dir`.
    pub fn open(dir: &Path) -> StoreResult<Self> {
        Self::open_with(dir, None)
    }

    /// [`SqliteStore::open`] with a size bound: past `max_bytes` the
    /// database is full (as on a full disk) and writes fail.
    pub fn open_with(dir: &Path, max_bytes: Option<u64>) -> StoreResult<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::ReadOnly(format!("cannot create the data directory {}: {e}", dir.display())))?;
        let path = dir.join("tuilerie.db");
        let open = |flags| {
            let c = Connection::open_with_flags(&path, flags).map_err(|e| {
                let message = format!("cannot open the store {}: {e}", path.display());
                // No file and no right to create one, or a read-only file.
                match e.sqlite_error_code() {
                    Some(
                        rusqlite::ErrorCode::CannotOpen
                        | rusqlite::ErrorCode::ReadOnly
                        | rusqlite::ErrorCode::PermissionDenied,
                    ) => StoreError::ReadOnly(message),
                    _ => StoreError::Open(message),
                }
            })?;
            c.busy_timeout(BUSY_TIMEOUT).map_err(|e| StoreError::Open(format!("store {}: {e}", path.display())))?;
            Ok::<_, StoreError>(c)
        };
        let mut writer = open(OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE)?;
        let fail = |e: rusqlite::Error| StoreError::Open(format!("store {}: {e}", path.display()));
        // WAL is persistent in the file; FULL syncs the WAL at every commit.
        // Switching to WAL answers "database is locked" at once, without
        // the busy handler, while another process opens the new file too:
        // tried again until the busy timeout.
        let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
        let mode: String = loop {
            match writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(5))
                }
                r => break r.map_err(fail)?,
            }
        };
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Open(format!("store {}: WAL mode refused (journal mode {mode})", path.display())));
        }
        writer.execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;").map_err(fail)?;
        migrate(&mut writer, &path)?;
        if let Some(max) = max_bytes {
            let page: i64 = writer.query_row("PRAGMA page_size", [], |r| r.get(0)).map_err(fail)?;
            let pages = (max / page.max(512) as u64).max(1);
            let _: i64 =
                writer.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |r| r.get(0)).map_err(fail)?;
        }
        let reader = open(OpenFlags::SQLITE_OPEN_READ_WRITE)?;
        Ok(SqliteStore { path, writer: Mutex::new(writer), reader: Mutex::new(reader) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn reader(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Brings the schema to [`SCHEMA_VERSION`], or refuses a store it does not
/// know. The version is read and the migrations run in one write
/// transaction: processes opening a new store at once (replicas started
/// together) migrate it once, the others waiting for the lock and then
/// finding it done (read outside, both saw version 0 and the second failed
/// on "table tokens already exists").
fn migrate(conn: &mut Connection, path: &Path) -> StoreResult<()> {
    let fail = |e: rusqlite::Error| StoreError::Open(format!("store {}: {e}", path.display()));
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(fail)?;
    let conn = &tx;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(fail)?;
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).map_err(fail)?;
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).map_err(fail)?;
    if app != APPLICATION_ID && (app != 0 || tables > 0) {
        return Err(StoreError::Open(format!(
            "{} is not a tuilerie store (application id {app:#x}); point --data-dir at another directory",
            path.display()
        )));
    }
    if version as usize > SCHEMA_VERSION {
        return Err(StoreError::Open(format!(
            "store {} has schema version {version}, written by a newer tuilerie (this one knows up to {SCHEMA_VERSION}); \
             it was left unchanged: run the newer version, or restore a backup",
            path.display()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql).map_err(fail)?;
        tx.execute_batch(&format!("PRAGMA user_version = {}; PRAGMA application_id = {APPLICATION_ID};", i + 1))
            .map_err(fail)?;
    }
    tx.commit().map_err(fail)?;
    if (version as usize) < MIGRATIONS.len() {
        tracing::info!(store = %path.display(), from = version, to = MIGRATIONS.len(), "store schema migrated");
    }
    Ok(())
}

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    let hash: Vec<u8> = r.get(1)?;
    let role: String = r.get(2)?;
    let layers: Option<String> = r.get(3)?;
    Ok(TokenRecord {
        name: r.get(0)?,
        hash: hash.try_into().unwrap_or([0; 32]),
        role: Role::parse(&role).unwrap_or(Role::Sensor),
        layers: layers.map(|l| l.split(',').map(String::from).collect()),
        created: r.get(4)?,
        last_used: r.get(5)?,
        revoked: r.get(6)?,
    })
}

/// A table's CSV written in chunks into a zero-filled blob: SQLite never
/// holds a second copy of a large upload in memory.
fn write_csv(tx: &rusqlite::Transaction<'_>, id: &str, name: &str, csv: &[u8], seq: i64) -> rusqlite::Result<()> {
    let len =
        i64::try_from(csv.len()).map_err(|_| rusqlite::Error::ToSqlConversionFailure("table too large".into()))?;
    tx.execute(
        "INSERT OR REPLACE INTO csv_tables (id, name, csv, seq) VALUES (?1, ?2, zeroblob(?3), ?4)",
        params![id, name, len, seq],
    )?;
    let row = tx.last_insert_rowid();
    let mut blob = tx.blob_open(rusqlite::MAIN_DB, "csv_tables", "csv", row, false)?;
    for chunk in csv.chunks(64 * 1024) {
        std::io::Write::write_all(&mut blob, chunk)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    }
    Ok(())
}

/// The highest sequence number of the audit log and the observations.
fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT max(coalesce((SELECT max(seq) FROM changes), 0), coalesce((SELECT max(seq) FROM observations), 0))",
        [],
        |r| r.get(0),
    )
}

const OBSERVATION_COLUMNS: &str = "o.seq, o.layer, o.feature, o.kind, o.category, o.source, o.observed_at, o.value, \
     o.count, o.state, o.until, o.token, o.received";

fn observation_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ObservationRecord> {
    Ok(ObservationRecord {
        seq: r.get(0)?,
        layer: r.get(1)?,
        feature: r.get(2)?,
        kind: r.get(3)?,
        category: r.get(4)?,
        source: r.get(5)?,
        observed_at: r.get(6)?,
        value: r.get(7)?,
        count: r.get(8)?,
        state: r.get(9)?,
        until: r.get(10)?,
        token: r.get(11)?,
        received: r.get(12)?,
    })
}

impl Store for SqliteStore {
    fn apply_all(&self, batch: &[Write], observations: &[ObservationRecord]) -> StoreResult<(Vec<i64>, Vec<Observed>)> {
        let path = &self.path;
        let mut conn = self.writer();
        let tx = conn.transaction().map_err(io(path, "begin"))?;
        let mut next = last_seq(&tx).map_err(io(path, "read the sequence"))? + 1;
        let mut seqs = Vec::with_capacity(batch.len());
        {
            let mut log = tx
                .prepare_cached(
                    "INSERT INTO changes (seq, at, token, op, kind, layer, id, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(io(path, "prepare"))?;
            for w in batch {
                let c = &w.change;
                let seq = next;
                next += 1;
                log.execute(params![seq, c.at, c.token, c.op, c.kind, c.layer, c.id, c.before, c.after])
                    .map_err(io(path, "append to the audit log"))?;
                seqs.push(seq);
                match &w.effect {
                    Effect::Feature { created, content } => tx
                        .execute(
                            "INSERT INTO features (layer, id, created, seq, content) VALUES (?1, ?2, ?3, ?4, ?5)
                             ON CONFLICT (layer, id) DO UPDATE SET seq = ?4, content = ?5",
                            params![c.layer, c.id, created, seq, content],
                        )
                        .map(drop),
                    Effect::PutMap { definition } => tx
                        .execute(
                            "INSERT OR REPLACE INTO maps (id, definition, seq) VALUES (?1, ?2, ?3)",
                            params![c.id, definition, seq],
                        )
                        .map(drop),
                    Effect::DeleteMap => tx.execute("DELETE FROM maps WHERE id = ?1", params![c.id]).map(drop),
                    Effect::PutTable { name, csv } => write_csv(&tx, &c.id, name, csv, seq),
                    Effect::DeleteTable => tx.execute("DELETE FROM csv_tables WHERE id = ?1", params![c.id]).map(drop),
                }
                .map_err(io(path, "write"))?;
            }
        }
        let mut observed = Vec::with_capacity(observations.len());
        if !observations.is_empty() {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO observations (seq, layer, feature, kind, category, source, observed_at, value, count, state, until, token, received)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)
                     ON CONFLICT (layer, feature, observed_at, kind, category, source) DO NOTHING",
                )
                .map_err(io(path, "prepare"))?;
            let mut current = tx
                .prepare_cached(
                    "INSERT INTO current_status (layer, feature, kind, category, observed_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (layer, feature, kind, category) DO UPDATE SET observed_at = excluded.observed_at, seq = excluded.seq
                     WHERE excluded.observed_at > current_status.observed_at
                        OR (excluded.observed_at = current_status.observed_at AND excluded.seq > current_status.seq)",
                )
                .map_err(io(path, "prepare"))?;
            for o in observations {
                let n = insert
                    .execute(params![
                        next,
                        o.layer,
                        o.feature,
                        o.kind,
                        o.category,
                        o.source,
                        o.observed_at,
                        o.value,
                        o.count,
                        o.state,
                        o.until,
                        o.token,
                        o.received
                    ])
                    .map_err(io(path, "store an observation"))?;
                if n == 0 {
                    observed.push(Observed::Duplicate);
                    continue;
                }
                current
                    .execute(params![o.layer, o.feature, o.kind, o.category, o.observed_at, next])
                    .map_err(io(path, "store an observation"))?;
                observed.push(Observed::Stored(next));
                next += 1;
            }
        }
        tx.commit().map_err(io(path, "commit"))?;
        Ok((seqs, observed))
    }

    fn current_observations(&self) -> StoreResult<Vec<ObservationRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare(&format!(
                "SELECT {OBSERVATION_COLUMNS} FROM current_status c JOIN observations o ON o.seq = c.seq ORDER BY o.seq"
            ))
            .map_err(io(&self.path, "read the current status"))?;
        let rows = st.query_map([], observation_row).map_err(io(&self.path, "read the current status"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read the current status"))
    }

    fn observations(&self, f: &ObservationFilter, offset: usize, limit: usize) -> StoreResult<Vec<ObservationRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations o
                 WHERE layer = ?1 AND feature = ?2 AND observed_at >= ?3 AND observed_at < ?4
                   AND (?5 IS NULL OR kind = ?5) AND (?6 IS NULL OR category = ?6)
                 ORDER BY observed_at DESC, seq DESC LIMIT ?7 OFFSET ?8"
            ))
            .map_err(io(&self.path, "read observations"))?;
        let rows = st
            .query_map(
                params![
                    f.layer,
                    f.feature,
                    f.from.unwrap_or(i64::MIN),
                    f.to.unwrap_or(i64::MAX),
                    f.kind,
                    f.category,
                    limit as i64,
                    offset as i64
                ],
                observation_row,
            )
            .map_err(io(&self.path, "read observations"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read observations"))
    }

    fn observations_since(&self, since: i64, limit: usize) -> StoreResult<Vec<ObservationRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare_cached(&format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations o WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))
            .map_err(io(&self.path, "read observations"))?;
        let rows =
            st.query_map(params![since, limit as i64], observation_row).map_err(io(&self.path, "read observations"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read observations"))
    }

    fn prune_observations(&self, layer: &str, before: i64) -> StoreResult<usize> {
        let conn = self.writer();
        conn.execute(
            "DELETE FROM observations WHERE layer = ?1 AND observed_at < ?2
             AND seq NOT IN (SELECT seq FROM current_status WHERE layer = ?1)
             AND seq < (SELECT max(seq) FROM observations)",
            params![layer, before],
        )
        .map_err(io(&self.path, "delete old observations"))
    }

    fn last_seq(&self) -> StoreResult<i64> {
        last_seq(&self.reader()).map_err(io(&self.path, "read the sequence"))
    }

    fn features(&self) -> StoreResult<Vec<FeatureRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare("SELECT layer, id, created, seq, content FROM features ORDER BY seq")
            .map_err(io(&self.path, "read features"))?;
        let rows = st
            .query_map([], |r| {
                Ok(FeatureRecord {
                    layer: r.get(0)?,
                    id: r.get(1)?,
                    created: r.get(2)?,
                    seq: r.get(3)?,
                    content: r.get(4)?,
                })
            })
            .map_err(io(&self.path, "read features"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read features"))
    }

    fn maps(&self) -> StoreResult<Vec<StoredResource>> {
        let conn = self.reader();
        let mut st =
            conn.prepare("SELECT id, definition FROM maps ORDER BY seq").map_err(io(&self.path, "read maps"))?;
        let rows = st
            .query_map([], |r| Ok(StoredResource { id: r.get(0)?, text: r.get(1)?, bytes: Vec::new() }))
            .map_err(io(&self.path, "read maps"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read maps"))
    }

    fn tables(&self) -> StoreResult<Vec<StoredResource>> {
        let conn = self.reader();
        let mut st =
            conn.prepare("SELECT id, name, csv FROM csv_tables ORDER BY seq").map_err(io(&self.path, "read tables"))?;
        let rows = st
            .query_map([], |r| Ok(StoredResource { id: r.get(0)?, text: r.get(1)?, bytes: r.get(2)? }))
            .map_err(io(&self.path, "read tables"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read tables"))
    }

    fn changes(
        &self,
        since: i64,
        layer: Option<&str>,
        id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ChangeRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare_cached(
                "SELECT seq, at, token, op, kind, layer, id, before, after FROM changes
                 WHERE seq > ?1 AND (?2 IS NULL OR layer = ?2) AND (?3 IS NULL OR id = ?3)
                 ORDER BY seq LIMIT ?4",
            )
            .map_err(io(&self.path, "read changes"))?;
        let rows = st
            .query_map(params![since, layer, id, limit as i64], |r| {
                Ok(ChangeRecord {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    token: r.get(2)?,
                    op: r.get(3)?,
                    kind: r.get(4)?,
                    layer: r.get(5)?,
                    id: r.get(6)?,
                    before: r.get(7)?,
                    after: r.get(8)?,
                })
            })
            .map_err(io(&self.path, "read changes"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read changes"))
    }

    fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        let conn = self.reader();
        let mut st = conn
            .prepare_cached("SELECT name, hash, role, layers, created, last_used, revoked FROM tokens ORDER BY created")
            .map_err(io(&self.path, "read tokens"))?;
        let rows = st.query_map([], token_row).map_err(io(&self.path, "read tokens"))?;
        rows.collect::<Result<_, _>>().map_err(io(&self.path, "read tokens"))
    }

    fn create_token(&self, t: &TokenRecord) -> StoreResult<()> {
        let conn = self.writer();
        let exists: Option<String> = conn
            .query_row("SELECT name FROM tokens WHERE name = ?1", params![t.name], |r| r.get(0))
            .optional()
            .map_err(io(&self.path, "read tokens"))?;
        if exists.is_some() {
            return Err(StoreError::Conflict(format!(
                "a token named {:?} exists already (tuilerie token list); choose another --name or revoke it",
                t.name
            )));
        }
        conn.execute(
            "INSERT INTO tokens (name, hash, role, layers, created) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![t.name, t.hash.as_slice(), t.role.as_str(), t.layers.as_ref().map(|l| l.join(",")), t.created],
        )
        .map_err(io(&self.path, "create token"))?;
        Ok(())
    }

    fn revoke_token(&self, name: &str, at: &str) -> StoreResult<bool> {
        let conn = self.writer();
        let n = conn
            .execute("UPDATE tokens SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL", params![name, at])
            .map_err(io(&self.path, "revoke token"))?;
        Ok(n > 0)
    }

    fn touch_tokens(&self, used: &[(String, String)]) -> StoreResult<()> {
        let mut conn = self.writer();
        let tx = conn.transaction().map_err(io(&self.path, "begin"))?;
        for (name, at) in used {
            tx.execute("UPDATE tokens SET last_used = ?2 WHERE name = ?1", params![name, at])
                .map_err(io(&self.path, "record token use"))?;
        }
        tx.commit().map_err(io(&self.path, "commit"))
    }

    fn size_bytes(&self) -> u64 {
        let wal = self.path.with_extension("db-wal");
        [self.path.as_path(), wal.as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
    }
}

#[cfg(test)]
mod tests;
