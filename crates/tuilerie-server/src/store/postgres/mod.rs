//! PostgreSQL behind the [`Store`] trait (`--store postgres://...`): the
//! store several replicas share.
//!
//! - The same guarantees as SQLite: a batch is one transaction, committed
//!   (`synchronous_commit` as the server has it, on by default) before
//!   `apply_all` returns; the audit log is append-only (a trigger refuses
//!   updates, deletes and truncation).
//! - Sequence numbers are shared by the audit log and the observations and
//!   increase in commit order: a batch takes a transaction-scoped advisory
//!   lock before it reads the last number, so writers on several replicas
//!   commit one after the other and a reader catching up by number never
//!   skips one committed late.
//! - The schema is versioned in `tuilerie_store` and migrated at open under
//!   an advisory lock (replicas starting together migrate once). A database
//!   of a newer schema, or one whose tables have our names without our
//!   marker, is refused and left unchanged.
//! - Every server writes: an edit is checked against the state of the
//!   server that received it, so a batch of edits is stored only if that
//!   server had applied every write before it (`apply_after`, checked
//!   under the sequence lock); else nothing is written, the server catches
//!   up and checks the edits again (`edits::committer`). `If-Match` and
//!   created ids thus hold across servers as on one.
//! - The `postgres` client is blocking and must not run inside the async
//!   runtime: each connection lives on its own thread, which callers hand
//!   their work to: one writes (in sequence order, as SQLite's writer), a
//!   pool of up to [`READERS`] reads. A lost
//!   connection fails the operation (503 for writes) and is opened again
//!   for the next one.

use super::{
    ChangeRecord, FeatureRecord, ObservationFilter, ObservationRecord, Observed, Role, Store, StoreError, StoreResult,
    StoredResource, TokenRecord, Write,
};
use postgres::{Client, NoTls, Row};
use std::sync::mpsc;
use std::sync::Mutex;

/// `pg_advisory_xact_lock` keys: schema migrations, and the sequence.
const MIGRATE_LOCK: i64 = 0x5455_4c52_0001;
const WRITE_LOCK: i64 = 0x5455_4c52_0002;
/// Seconds without a notice after which the follower catches up anyway.
const FOLLOW_EVERY_S: u32 = 5;
/// Connections that read at once (history, audit log, catch-up), opened
/// as they are needed.
const READERS: usize = 4;
/// The channel of commit notices (`LISTEN tuilerie`).
const CHANNEL: &str = "tuilerie";

use super::migrations::POSTGRES as MIGRATIONS;

mod batch;
use batch::insert;

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

type Job = Box<dyn FnOnce(Option<&mut Client>) + Send>;

/// A connection on its own thread.
struct Connection {
    jobs: Mutex<mpsc::Sender<Job>>,
}

impl Connection {
    /// `threads` connections taking jobs from one queue (a pool of
    /// blocking clients), each opened at its first job and again after it
    /// was lost.
    fn start(config: postgres::Config, name: &str, threads: usize) -> StoreResult<Connection> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let (config, rx) = (config.clone(), rx.clone());
            std::thread::Builder::new()
                .name(format!("store-{name}-{i}"))
                .spawn(move || {
                    let mut session: Option<Client> = None;
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok(job) = job else { return };
                        if session.as_ref().is_none_or(|c| c.is_closed()) {
                            session = config.connect(NoTls).ok();
                        }
                        job(session.as_mut());
                    }
                })
                .map_err(|e| StoreError::Open(format!("cannot start the store's {name} thread: {e}")))?;
        }
        Ok(Connection { jobs: Mutex::new(tx) })
    }

    /// Runs `f` on the connection's thread and waits for its result.
    fn run<T: Send + 'static>(
        &self,
        target: &str,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = mpsc::channel();
        let job: Job = Box::new(move |session: Option<&mut Client>| {
            let result = match session {
                Some(s) => f(s),
                None => Err(StoreError::Io("no connection to the database".to_string())),
            };
            let _ = tx.send(result);
        });
        let sent = self.jobs.lock().unwrap_or_else(|e| e.into_inner()).send(job);
        let fail = |e: String| StoreError::Io(format!("store {target}: {what}: {e}"));
        sent.map_err(|_| fail("the store's thread stopped".into()))?;
        match rx.recv().map_err(|_| fail("the store's thread stopped".into()))? {
            Err(StoreError::Io(e)) => Err(fail(e)),
            other => other,
        }
    }
}

/// An error with the server's own message ("db error" says nothing).
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_string(),
        },
        None => e.to_string(),
    }
}

/// PostgreSQL behind the [`Store`] trait.
pub struct PostgresStore {
    /// The URL without its password, for messages.
    target: String,
    config: postgres::Config,
    writer: Connection,
    reader: Connection,
}

/// `postgres://user:secret@host/db` without the secret.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let user = &url[s + 3..at];
            let user = user.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &url[..s + 3], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`, or a Unix socket
    /// with `?host=/run/postgresql`) and migrates the schema.
    pub fn connect(url: &str) -> StoreResult<PostgresStore> {
        let target = redact(url);
        let config: postgres::Config = url.parse().map_err(|e| StoreError::Open(format!("store URL {target}: {e}")))?;
        let mut client = config
            .connect(NoTls)
            .map_err(|e| StoreError::Open(format!("cannot connect to the store {target}: {}", describe(&e))))?;
        migrate(&mut client, &target)?;
        drop(client);
        Ok(PostgresStore {
            writer: Connection::start(config.clone(), "writer", 1)?,
            reader: Connection::start(config.clone(), "reader", READERS)?,
            target,
            config,
        })
    }

    fn write<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> StoreResult<T> {
        self.writer.run(&self.target, what, |c| f(c).map_err(io))
    }

    fn read<T: Send + 'static>(
        &self,
        what: &str,
        f: impl FnOnce(&mut Client) -> Result<T, postgres::Error> + Send + 'static,
    ) -> StoreResult<T> {
        self.reader.run(&self.target, what, |c| f(c).map_err(io))
    }

    /// Applies a batch; with `after`, only if nothing was committed after it.
    fn apply_checked(
        &self,
        after: Option<i64>,
        batch: &[Write],
        observations: &[ObservationRecord],
    ) -> StoreResult<(Vec<i64>, Vec<Observed>)> {
        let (batch, observations) = (batch.to_vec(), observations.to_vec());
        self.writer.run(&self.target, "write", move |client| {
            let mut tx = client.transaction().map_err(io)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK]).map_err(io)?;
            let last: i64 = tx.query_one(LAST_SEQ, &[]).map_err(io)?.get(0);
            if after.is_some_and(|a| last > a) {
                return Err(StoreError::Behind(last));
            }
            let (seqs, observed) = insert(&mut tx, last + 1, &batch, &observations).map_err(io)?;
            tx.commit().map_err(io)?;
            Ok((seqs, observed))
        })
    }
}

/// A client error as the store's I/O failure, with the server's message.
fn io(e: postgres::Error) -> StoreError {
    StoreError::Io(describe(&e))
}

fn migrate(client: &mut Client, target: &str) -> StoreResult<()> {
    let fail = |e: postgres::Error| StoreError::Open(format!("store {target}: {}", describe(&e)));
    let mut tx = client.transaction().map_err(fail)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK]).map_err(fail)?;
    let ours: bool = tx.query_one("SELECT to_regclass('tuilerie_store') IS NOT NULL", &[]).map_err(fail)?.get(0);
    let version: i64 = if ours {
        tx.query_opt("SELECT value::bigint FROM tuilerie_store WHERE key = 'schema_version'", &[])
            .map_err(fail)?
            .map_or(0, |r| r.get(0))
    } else {
        let taken: i64 = tx
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()
                 AND tablename IN ('tokens', 'changes', 'features', 'maps', 'csv_tables', 'observations', 'current_status')",
                &[],
            )
            .map_err(fail)?
            .get(0);
        if taken > 0 {
            return Err(StoreError::Open(format!(
                "{target} has tables named as tuilerie's but is not a tuilerie store; use another database or schema"
            )));
        }
        tx.batch_execute("CREATE TABLE tuilerie_store (key TEXT PRIMARY KEY, value TEXT NOT NULL)").map_err(fail)?;
        0
    };
    if version as usize > SCHEMA_VERSION {
        return Err(StoreError::Open(format!(
            "store {target} has schema version {version}, written by a newer tuilerie (this one knows up to {SCHEMA_VERSION}); \
             it was left unchanged: run the newer version"
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(sql).map_err(fail)?;
        tx.execute(
            "INSERT INTO tuilerie_store (key, value) VALUES ('schema_version', $1)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
            &[&(i + 1).to_string()],
        )
        .map_err(fail)?;
        tracing::info!(store = %target, version = i + 1, "store schema migrated");
    }
    tx.commit().map_err(fail)
}

const LAST_SEQ: &str =
    "SELECT GREATEST(coalesce((SELECT max(seq) FROM changes), 0), coalesce((SELECT max(seq) FROM observations), 0))";

const OBSERVATION_COLUMNS: &str = "o.seq, o.layer, o.feature, o.kind, o.category, o.source, o.observed_at, o.value, \
     o.count, o.state, o.until, o.token, o.received";

fn observation_row(r: &Row) -> ObservationRecord {
    ObservationRecord {
        seq: r.get(0),
        layer: r.get(1),
        feature: r.get(2),
        kind: r.get(3),
        category: r.get(4),
        source: r.get(5),
        observed_at: r.get(6),
        value: r.get(7),
        count: r.get(8),
        state: r.get(9),
        until: r.get(10),
        token: r.get(11),
        received: r.get(12),
    }
}

fn token_row(r: &Row) -> TokenRecord {
    let hash: Vec<u8> = r.get(1);
    let role: String = r.get(2);
    let layers: Option<String> = r.get(3);
    TokenRecord {
        name: r.get(0),
        hash: hash.try_into().unwrap_or([0; 32]),
        role: Role::parse(&role).unwrap_or(Role::Sensor),
        layers: layers.map(|l| l.split(',').map(String::from).collect()),
        created: r.get(4),
        last_used: r.get(5),
        revoked: r.get(6),
    }
}

impl Store for PostgresStore {
    fn apply_all(&self, batch: &[Write], observations: &[ObservationRecord]) -> StoreResult<(Vec<i64>, Vec<Observed>)> {
        self.apply_checked(None, batch, observations)
    }

    fn apply_after(
        &self,
        applied: i64,
        batch: &[Write],
        observations: &[ObservationRecord],
    ) -> StoreResult<(Vec<i64>, Vec<Observed>)> {
        self.apply_checked(Some(applied), batch, observations)
    }

    fn current_observations(&self) -> StoreResult<Vec<ObservationRecord>> {
        self.read("read the current status", |c| {
            let sql = format!(
                "SELECT {OBSERVATION_COLUMNS} FROM current_status s JOIN observations o ON o.seq = s.seq ORDER BY o.seq"
            );
            Ok(c.query(&sql, &[])?.iter().map(observation_row).collect())
        })
    }

    fn observations(&self, f: &ObservationFilter, offset: usize, limit: usize) -> StoreResult<Vec<ObservationRecord>> {
        let f = f.clone();
        self.read("read observations", move |c| {
            let sql = format!(
                "SELECT {OBSERVATION_COLUMNS} FROM observations o
                 WHERE layer = $1 AND feature = $2 AND observed_at >= $3 AND observed_at < $4
                   AND ($5::text IS NULL OR kind = $5) AND ($6::text IS NULL OR category = $6)
                 ORDER BY observed_at DESC, seq DESC LIMIT $7 OFFSET $8"
            );
            let rows = c.query(
                &sql,
                &[
                    &f.layer,
                    &f.feature,
                    &f.from.unwrap_or(i64::MIN),
                    &f.to.unwrap_or(i64::MAX),
                    &f.kind,
                    &f.category,
                    &(limit as i64),
                    &(offset as i64),
                ],
            )?;
            Ok(rows.iter().map(observation_row).collect())
        })
    }

    fn observations_since(&self, since: i64, limit: usize) -> StoreResult<Vec<ObservationRecord>> {
        self.read("read observations", move |c| {
            let sql = format!("SELECT {OBSERVATION_COLUMNS} FROM observations o WHERE seq > $1 ORDER BY seq LIMIT $2");
            Ok(c.query(&sql, &[&since, &(limit as i64)])?.iter().map(observation_row).collect())
        })
    }

    fn prune_observations(&self, layer: &str, before: i64) -> StoreResult<usize> {
        let layer = layer.to_string();
        self.write("prune observations", move |c| {
            let n = c.execute(
                "DELETE FROM observations WHERE layer = $1 AND observed_at < $2
                 AND seq NOT IN (SELECT seq FROM current_status WHERE layer = $1)
                 AND seq < (SELECT max(seq) FROM observations)",
                &[&layer, &before],
            )?;
            Ok(n as usize)
        })
    }

    fn last_seq(&self) -> StoreResult<i64> {
        self.read("read the sequence", |c| Ok(c.query_one(LAST_SEQ, &[])?.get(0)))
    }

    fn features(&self) -> StoreResult<Vec<FeatureRecord>> {
        self.read("read features", |c| {
            let rows = c.query("SELECT layer, id, created, seq, content FROM features ORDER BY seq", &[])?;
            Ok(rows
                .iter()
                .map(|r| FeatureRecord {
                    layer: r.get(0),
                    id: r.get(1),
                    created: r.get(2),
                    seq: r.get(3),
                    content: r.get(4),
                })
                .collect())
        })
    }

    fn maps(&self) -> StoreResult<Vec<StoredResource>> {
        self.read("read maps", |c| {
            let rows = c.query("SELECT id, definition FROM maps ORDER BY seq", &[])?;
            Ok(rows.iter().map(|r| StoredResource { id: r.get(0), text: r.get(1), bytes: Vec::new() }).collect())
        })
    }

    fn tables(&self) -> StoreResult<Vec<StoredResource>> {
        self.read("read tables", |c| {
            let rows = c.query("SELECT id, name, csv FROM csv_tables ORDER BY seq", &[])?;
            Ok(rows.iter().map(|r| StoredResource { id: r.get(0), text: r.get(1), bytes: r.get(2) }).collect())
        })
    }

    fn changes(
        &self,
        since: i64,
        layer: Option<&str>,
        id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ChangeRecord>> {
        let (layer, id) = (layer.map(String::from), id.map(String::from));
        self.read("read changes", move |c| {
            let rows = c.query(
                "SELECT seq, at, token, op, kind, layer, id, before, after FROM changes
                 WHERE seq > $1 AND ($2::text IS NULL OR layer = $2) AND ($3::text IS NULL OR id = $3)
                 ORDER BY seq LIMIT $4",
                &[&since, &layer, &id, &(limit as i64)],
            )?;
            Ok(rows
                .iter()
                .map(|r| ChangeRecord {
                    seq: r.get(0),
                    at: r.get(1),
                    token: r.get(2),
                    op: r.get(3),
                    kind: r.get(4),
                    layer: r.get(5),
                    id: r.get(6),
                    before: r.get(7),
                    after: r.get(8),
                })
                .collect())
        })
    }

    fn tokens(&self) -> StoreResult<Vec<TokenRecord>> {
        self.read("read tokens", |c| {
            let rows = c.query(
                "SELECT name, hash, role, layers, created, last_used, revoked FROM tokens ORDER BY created",
                &[],
            )?;
            Ok(rows.iter().map(token_row).collect())
        })
    }

    fn create_token(&self, t: &TokenRecord) -> StoreResult<()> {
        let t = t.clone();
        let name = t.name.clone();
        let inserted = self.write("create token", move |c| {
            let n = c.execute(
                "INSERT INTO tokens (name, hash, role, layers, created) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (name) DO NOTHING",
                &[&t.name, &t.hash.as_slice(), &t.role.as_str(), &t.layers.as_ref().map(|l| l.join(",")), &t.created],
            )?;
            Ok(n)
        })?;
        if inserted == 0 {
            return Err(StoreError::Conflict(format!(
                "a token named {name:?} exists already (tuilerie token list); choose another --name or revoke it"
            )));
        }
        Ok(())
    }

    fn revoke_token(&self, name: &str, at: &str) -> StoreResult<bool> {
        let (name, at) = (name.to_string(), at.to_string());
        self.write("revoke token", move |c| {
            Ok(c.execute("UPDATE tokens SET revoked = $2 WHERE name = $1 AND revoked IS NULL", &[&name, &at])? > 0)
        })
    }

    fn touch_tokens(&self, used: &[(String, String)]) -> StoreResult<()> {
        let used = used.to_vec();
        self.write("record token use", move |c| {
            let mut tx = c.transaction()?;
            for (name, at) in &used {
                tx.execute("UPDATE tokens SET last_used = $2 WHERE name = $1", &[name, at])?;
            }
            tx.commit()
        })
    }

    fn follow(&self, wake: Box<dyn Fn() + Send>) -> bool {
        let (config, target) = (self.config.clone(), self.target.clone());
        let listen = move || {
            use postgres::fallible_iterator::FallibleIterator;
            loop {
                match config.connect(NoTls) {
                    Ok(mut client) => match client.batch_execute(&format!("LISTEN {CHANNEL}")) {
                        Ok(()) => {
                            // Whatever was committed while nobody listened.
                            wake();
                            let mut quiet = 0;
                            loop {
                                match client.notifications().timeout_iter(std::time::Duration::from_secs(1)).next() {
                                    Ok(Some(_)) => {
                                        quiet = 0;
                                        wake();
                                    }
                                    Ok(None) => {
                                        quiet += 1;
                                        if quiet % FOLLOW_EVERY_S == 0 {
                                            wake();
                                        }
                                    }
                                    Err(e) => {
                                        tracing::warn!(store = %target, error = %describe(&e), "lost the store's notices; reconnecting");
                                        break;
                                    }
                                }
                            }
                        }
                        Err(e) => tracing::warn!(store = %target, error = %describe(&e), "cannot listen to the store"),
                    },
                    Err(e) => {
                        tracing::warn!(store = %target, error = %describe(&e), "cannot reach the store to follow it")
                    }
                }
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        };
        std::thread::Builder::new().name("store-follow".into()).spawn(listen).is_ok()
    }

    fn size_bytes(&self) -> u64 {
        self.read("size", |c| Ok(c.query_one("SELECT pg_database_size(current_database())", &[])?.get::<_, i64>(0)))
            .map_or(0, |n| n.max(0) as u64)
    }
}
