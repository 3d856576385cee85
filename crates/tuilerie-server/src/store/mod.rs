//! The durable store: tokens, the journal of feature edits, the maps and
//! tables created through the API, and the append-only audit log.
//!
//! [`Store`] is deliberately narrow (one batch of writes in one transaction,
//! and a few reads) so that another engine can stand behind it; the
//! embedded implementation is SQLite ([`sqlite::SqliteStore`]); replicas
//! share PostgreSQL ([`postgres::PostgresStore`]). Group commit
//! is not the store's business: the committer (`edits::committer`) gathers
//! the writes that arrive while the previous batch is being synced and hands
//! them over as one batch.

mod migrations;
pub mod postgres;
pub mod sqlite;

use serde::Serialize;
use std::path::{Path, PathBuf};

/// Errors of the store: the message says what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be opened or migrated (a newer version, a file that
    /// is not a store): the service must not start on it.
    #[error("{0}")]
    Open(String),
    /// The data directory cannot be written (a read-only file system, no
    /// permission): the server serves reads and refuses writes with 503.
    #[error("{0}")]
    ReadOnly(String),
    /// A write or read failed (disk full, read-only directory, I/O error):
    /// writes answer 503, reads of the files go on.
    #[error("{0}")]
    Io(String),
    /// A write that conflicts with what is stored (a token name in use).
    #[error("{0}")]
    Conflict(String),
    /// `apply_after`: another server committed after the given sequence
    /// number (the highest now): nothing was written; catch up and check
    /// the writes again.
    #[error("another server wrote up to {0} since; nothing of the batch was written")]
    Behind(i64),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything: maps, tables, every layer, the audit log.
    Admin,
    /// Feature edits on the layers of its scope.
    Editor,
    /// Status observations on the layers of its scope.
    Sensor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Sensor => "sensor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "editor" => Some(Role::Editor),
            "sensor" => Some(Role::Sensor),
            _ => None,
        }
    }
}

/// A token as stored: its SHA-256 digest, never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct TokenRecord {
    pub name: String,
    #[serde(skip)]
    pub hash: [u8; 32],
    pub role: Role,
    /// Layer ids (and `maps`) the token is limited to; `None`: every layer.
    pub layers: Option<Vec<String>>,
    pub created: String,
    pub last_used: Option<String>,
    pub revoked: Option<String>,
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeRecord {
    /// Position in the log (assigned by the store, increasing).
    pub seq: i64,
    /// RFC 3339 UTC.
    pub at: String,
    /// Name of the token that made the change.
    pub token: String,
    /// `create`, `replace`, `update`, `delete`.
    pub op: String,
    /// `feature`, `map` or `table`.
    pub kind: String,
    pub layer: Option<String>,
    /// Feature, map or table id.
    pub id: String,
    /// JSON before and after (`None`: did not exist / deleted).
    #[serde(serialize_with = "raw_json")]
    pub before: Option<String>,
    #[serde(serialize_with = "raw_json")]
    pub after: Option<String>,
}

fn raw_json<S: serde::Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    match v.as_deref().map(serde_json::from_str::<&serde_json::value::RawValue>) {
        Some(Ok(raw)) => raw.serialize(s),
        Some(Err(_)) | None => s.serialize_none(),
    }
}

/// The current state of an edited feature.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureRecord {
    pub layer: String,
    pub id: String,
    /// Created through the API (`true`) or an edit of a file feature.
    pub created: bool,
    /// Sequence number of the last change (the strong ETag derives from it).
    pub seq: i64,
    /// The GeoJSON Feature; `None` once deleted.
    pub content: Option<String>,
}

/// A map or table created through the API.
#[derive(Debug, Clone)]
pub struct StoredResource {
    pub id: String,
    /// The map definition (JSON), or the table's file name.
    pub text: String,
    /// A table's CSV bytes (empty for a map).
    pub bytes: Vec<u8>,
}

/// What one write does besides its audit entry.
#[derive(Debug, Clone)]
pub enum Effect {
    /// The new state of a feature (content `None`: deleted).
    Feature {
        created: bool,
        content: Option<String>,
    },
    PutMap {
        definition: String,
    },
    DeleteMap,
    /// The CSV as uploaded (shared with the request, not copied).
    PutTable {
        name: String,
        csv: bytes::Bytes,
    },
    DeleteTable,
}

/// One write: an audit entry and its effect, applied together.
#[derive(Debug, Clone)]
pub struct Write {
    pub change: ChangeRecord,
    pub effect: Effect,
}

/// A status observation as stored (validated by `status::observation`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObservationRecord {
    /// Position in the store's sequence (shared with the audit log; 0
    /// before it is stored).
    pub seq: i64,
    pub layer: String,
    pub feature: String,
    /// `fill_level`, `crowd` or `state`.
    pub kind: String,
    /// A waste category key for a fill level (`""`: the whole container).
    pub category: String,
    pub source: String,
    /// Milliseconds since the Unix epoch.
    pub observed_at: i64,
    /// Fill level or crowd level, 0 to 1.
    pub value: Option<f64>,
    /// People counted (crowd).
    pub count: Option<i64>,
    /// `open`, `closed`, `full`, `out_of_service` (state).
    pub state: Option<String>,
    /// Milliseconds since the epoch: the state holds until then.
    pub until: Option<i64>,
    /// Name of the token that posted it.
    pub token: String,
    /// When the server received it (milliseconds since the epoch).
    pub received: i64,
}

/// Filters of an observation history read.
#[derive(Debug, Clone, Default)]
pub struct ObservationFilter {
    pub layer: String,
    pub feature: String,
    /// Milliseconds since the epoch, inclusive / exclusive.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub kind: Option<String>,
    pub category: Option<String>,
}

/// The outcome of one observation of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Stored under this sequence number.
    Stored(i64),
    /// The same (feature, kind, category, source, time) was stored before:
    /// nothing written (an idempotent replay).
    Duplicate,
}

/// A durable store. Every method is blocking (call it off the runtime);
/// `apply` returns only once the batch is on disk.
pub trait Store: Send + Sync + 'static {
    /// Applies every write of `batch` in one transaction and returns their
    /// sequence numbers, in order. All or nothing.
    fn apply(&self, batch: &[Write]) -> StoreResult<Vec<i64>> {
        self.apply_all(batch, &[]).map(|(seqs, _)| seqs)
    }
    /// Applies `batch` and stores `observations` in one transaction: the
    /// writes' sequence numbers and each observation's outcome, in order.
    /// Sequence numbers are shared by both and increase.
    fn apply_all(&self, batch: &[Write], observations: &[ObservationRecord]) -> StoreResult<(Vec<i64>, Vec<Observed>)>;
    /// As `apply_all`, but only if nothing was committed after `applied`
    /// (checked and numbered under the same lock), else
    /// [`StoreError::Behind`] and nothing written: several servers write
    /// to a shared store, each checking an edit against a state that is
    /// the store's latest. A store only one server writes to has nothing
    /// to check (the default).
    fn apply_after(
        &self,
        applied: i64,
        batch: &[Write],
        observations: &[ObservationRecord],
    ) -> StoreResult<(Vec<i64>, Vec<Observed>)> {
        let _ = applied;
        self.apply_all(batch, observations)
    }
    /// The current observation of every (layer, feature, kind, category):
    /// the latest by `observed_at` (then by sequence).
    fn current_observations(&self) -> StoreResult<Vec<ObservationRecord>>;
    /// Observations of one feature, newest first, `offset` skipped, at most
    /// `limit`.
    fn observations(
        &self,
        filter: &ObservationFilter,
        offset: usize,
        limit: usize,
    ) -> StoreResult<Vec<ObservationRecord>>;
    /// Observations with a sequence number above `since`, oldest first, at
    /// most `limit` (the replay of `/events`).
    fn observations_since(&self, since: i64, limit: usize) -> StoreResult<Vec<ObservationRecord>>;
    /// Deletes the observations of `layer` older than `before` (ms), except
    /// the current ones; how many went.
    fn prune_observations(&self, layer: &str, before: i64) -> StoreResult<usize>;
    /// The highest sequence number given so far (0: none).
    fn last_seq(&self) -> StoreResult<i64>;
    /// The feature states of every edited feature (the overlay replayed at
    /// start).
    fn features(&self) -> StoreResult<Vec<FeatureRecord>>;
    /// Maps created through the API, then tables.
    fn maps(&self) -> StoreResult<Vec<StoredResource>>;
    fn tables(&self) -> StoreResult<Vec<StoredResource>>;
    /// Audit entries after `since`, oldest first, at most `limit`, filtered
    /// by layer and by feature id.
    fn changes(
        &self,
        since: i64,
        layer: Option<&str>,
        id: Option<&str>,
        limit: usize,
    ) -> StoreResult<Vec<ChangeRecord>>;
    fn tokens(&self) -> StoreResult<Vec<TokenRecord>>;
    fn create_token(&self, token: &TokenRecord) -> StoreResult<()>;
    /// Marks a token revoked; `false` if no such (unrevoked) token.
    fn revoke_token(&self, name: &str, at: &str) -> StoreResult<bool>;
    /// Records when tokens were last used.
    fn touch_tokens(&self, used: &[(String, String)]) -> StoreResult<()>;
    /// Bytes on disk (database and journal).
    fn size_bytes(&self) -> u64;
    /// For a store other servers write to (a shared database): calls `wake`
    /// whenever another commit may have happened (a notice from the
    /// database, a reconnection, and every few seconds: a notice is a
    /// hint, the caller catches up by sequence number). `false` (the
    /// default) when no other server writes to this store.
    fn follow(&self, wake: Box<dyn Fn() + Send>) -> bool {
        drop(wake);
        false
    }
}

/// Where the store lives: `--data-dir`, `TUILERIE_DATA_DIR`, `[server]
/// data_dir` (relative to the configuration file), else `tuilerie-data/`
/// beside the configuration file or in the working directory.
pub fn data_dir(flag: Option<PathBuf>, configured: Option<&Path>, config_file: Option<&Path>) -> PathBuf {
    let beside = config_file.and_then(|c| c.parent()).map(Path::to_path_buf).unwrap_or_default();
    if let Some(d) = flag {
        return d;
    }
    match configured {
        Some(d) if d.is_absolute() => d.to_path_buf(),
        Some(d) => beside.join(d),
        None => beside.join("tuilerie-data"),
    }
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}
