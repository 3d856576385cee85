//! The SQL schema of the stores, as numbered migrations (applied
//! in order at open by `sqlite::migrate` and `postgres::migrate`; never
//! edited once released).

/// Schema migrations; version N is the state after `MIGRATIONS[..N]`.
pub const MIGRATIONS: &[&str] = &[
    // 1: tokens, feature journal, API maps and tables, audit log.
    "CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        hash BLOB NOT NULL UNIQUE,
        role TEXT NOT NULL,
        layers TEXT,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked TEXT
     );
     CREATE TABLE changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        token TEXT NOT NULL,
        op TEXT NOT NULL,
        kind TEXT NOT NULL,
        layer TEXT,
        id TEXT NOT NULL,
        before TEXT,
        after TEXT
     );
     CREATE INDEX changes_by_feature ON changes (layer, id, seq);
     CREATE TRIGGER changes_no_update BEFORE UPDATE ON changes
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TRIGGER changes_no_delete BEFORE DELETE ON changes
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
     CREATE TABLE features (
        layer TEXT NOT NULL,
        id TEXT NOT NULL,
        created INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        content TEXT,
        PRIMARY KEY (layer, id)
     ) WITHOUT ROWID;
     CREATE TABLE maps (id TEXT PRIMARY KEY, definition TEXT NOT NULL, seq INTEGER NOT NULL);
     CREATE TABLE csv_tables (id TEXT PRIMARY KEY, name TEXT NOT NULL, csv BLOB NOT NULL, seq INTEGER NOT NULL);",
    // 2: status observations (their sequence numbers continue the audit
    // log's), one per (feature, time, kind, category, source), and the
    // current one of each (feature, kind, category).
    "CREATE TABLE observations (
        seq INTEGER PRIMARY KEY,
        layer TEXT NOT NULL,
        feature TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL,
        source TEXT NOT NULL,
        observed_at INTEGER NOT NULL,
        value REAL,
        count INTEGER,
        state TEXT,
        until INTEGER,
        token TEXT NOT NULL,
        received INTEGER NOT NULL
     );
     CREATE UNIQUE INDEX observations_once ON observations (layer, feature, observed_at, kind, category, source);
     CREATE TABLE current_status (
        layer TEXT NOT NULL,
        feature TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL,
        observed_at INTEGER NOT NULL,
        seq INTEGER NOT NULL,
        PRIMARY KEY (layer, feature, kind, category)
     ) WITHOUT ROWID;",
];

/// The same migrations for PostgreSQL (`postgres::PostgresStore`), in its
/// types: version N is the state after `POSTGRES[..N]`.
pub const POSTGRES: &[&str] = &[
    "CREATE TABLE tokens (
        name TEXT PRIMARY KEY,
        hash BYTEA NOT NULL UNIQUE,
        role TEXT NOT NULL,
        layers TEXT,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked TEXT
     );
     CREATE TABLE changes (
        seq BIGINT PRIMARY KEY,
        at TEXT NOT NULL,
        token TEXT NOT NULL,
        op TEXT NOT NULL,
        kind TEXT NOT NULL,
        layer TEXT,
        id TEXT NOT NULL,
        before TEXT,
        after TEXT
     );
     CREATE INDEX changes_by_feature ON changes (layer, id, seq);
     CREATE FUNCTION tuilerie_append_only() RETURNS trigger LANGUAGE plpgsql AS
        $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
     CREATE TRIGGER changes_no_rewrite BEFORE UPDATE OR DELETE ON changes
        FOR EACH ROW EXECUTE FUNCTION tuilerie_append_only();
     CREATE TRIGGER changes_no_truncate BEFORE TRUNCATE ON changes
        FOR EACH STATEMENT EXECUTE FUNCTION tuilerie_append_only();
     CREATE TABLE features (
        layer TEXT NOT NULL,
        id TEXT NOT NULL,
        created BOOLEAN NOT NULL,
        seq BIGINT NOT NULL,
        content TEXT,
        PRIMARY KEY (layer, id)
     );
     CREATE TABLE maps (id TEXT PRIMARY KEY, definition TEXT NOT NULL, seq BIGINT NOT NULL);
     CREATE TABLE csv_tables (id TEXT PRIMARY KEY, name TEXT NOT NULL, csv BYTEA NOT NULL, seq BIGINT NOT NULL);",
    "CREATE TABLE observations (
        seq BIGINT PRIMARY KEY,
        layer TEXT NOT NULL,
        feature TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL,
        source TEXT NOT NULL,
        observed_at BIGINT NOT NULL,
        value DOUBLE PRECISION,
        count BIGINT,
        state TEXT,
        until BIGINT,
        token TEXT NOT NULL,
        received BIGINT NOT NULL
     );
     CREATE UNIQUE INDEX observations_once ON observations (layer, feature, observed_at, kind, category, source);
     CREATE TABLE current_status (
        layer TEXT NOT NULL,
        feature TEXT NOT NULL,
        kind TEXT NOT NULL,
        category TEXT NOT NULL,
        observed_at BIGINT NOT NULL,
        seq BIGINT NOT NULL,
        PRIMARY KEY (layer, feature, kind, category)
     );",
];
