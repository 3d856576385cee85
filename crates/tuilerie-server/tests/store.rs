//! The store's contract, run against both engines: the embedded SQLite and
//! a real PostgreSQL (started in a temporary directory, tests/common/postgres.rs).
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use tuilerie_server::store::postgres::PostgresStore;
use tuilerie_server::store::sqlite::SqliteStore;
use tuilerie_server::store::{
    ChangeRecord, Effect, ObservationFilter, ObservationRecord, Observed, Role, Store, StoreError, TokenRecord, Write,
};

fn change(id: &str, op: &str, kind: &str) -> ChangeRecord {
    ChangeRecord {
        seq: 0,
        at: tuilerie_server::store::now(),
        token: "t".into(),
        op: op.into(),
        kind: kind.into(),
        layer: (kind == "feature").then(|| "l".into()),
        id: id.into(),
        before: None,
        after: Some("{\"a\":1}".into()),
    }
}

fn feature(id: &str, content: Option<&str>) -> Write {
    Write {
        change: change(id, if content.is_some() { "create" } else { "delete" }, "feature"),
        effect: Effect::Feature { created: true, content: content.map(String::from) },
    }
}

fn observation(at: i64, source: &str) -> ObservationRecord {
    ObservationRecord {
        layer: "l".into(),
        feature: "f".into(),
        kind: "fill_level".into(),
        source: source.into(),
        observed_at: at,
        value: Some(0.5),
        token: "t".into(),
        ..Default::default()
    }
}

/// Everything the service asks of a store, on an empty one.
fn contract(s: &dyn Store) {
    assert_eq!(s.last_seq().unwrap(), 0);
    // Writes: one transaction, sequence numbers in order.
    assert_eq!(s.apply(&[feature("a", Some("{}")), feature("b", Some("{}"))]).unwrap(), vec![1, 2]);
    assert_eq!(s.apply(&[feature("a", None)]).unwrap(), vec![3]);
    let f = s.features().unwrap();
    assert_eq!(f.len(), 2);
    let a = f.iter().find(|r| r.id == "a").unwrap();
    assert_eq!((a.seq, a.content.as_deref(), a.created), (3, None, true));
    assert_eq!(s.changes(0, Some("l"), Some("a"), 10).unwrap().len(), 2);
    assert_eq!(s.changes(2, None, None, 10).unwrap().iter().map(|c| c.seq).collect::<Vec<_>>(), vec![3]);
    assert_eq!(s.changes(0, None, None, 2).unwrap().len(), 2);
    assert_eq!(s.changes(0, Some("other"), None, 10).unwrap().len(), 0);

    // Observations share the sequence; a replay is stored once; the
    // current one survives pruning.
    let (seqs, got) = s
        .apply_all(
            &[feature("c", Some("{}"))],
            &[observation(1000, "a"), observation(1000, "a"), observation(500, "b"), observation(2000, "a")],
        )
        .unwrap();
    assert_eq!(seqs, vec![4]);
    assert_eq!(got, vec![Observed::Stored(5), Observed::Duplicate, Observed::Stored(6), Observed::Stored(7)]);
    let current = s.current_observations().unwrap();
    assert_eq!(current.iter().map(|c| (c.observed_at, c.seq)).collect::<Vec<_>>(), vec![(2000, 7)]);
    assert_eq!(current[0].value, Some(0.5));
    assert_eq!(s.observations_since(5, 10).unwrap().len(), 2);
    let filter = ObservationFilter { layer: "l".into(), feature: "f".into(), ..Default::default() };
    let newest_first: Vec<i64> = s.observations(&filter, 0, 10).unwrap().iter().map(|o| o.observed_at).collect();
    assert_eq!(newest_first, vec![2000, 1000, 500]);
    assert_eq!(s.observations(&filter, 1, 1).unwrap()[0].observed_at, 1000);
    let kind = ObservationFilter { kind: Some("crowd".into()), ..filter.clone() };
    assert!(s.observations(&kind, 0, 10).unwrap().is_empty());
    assert_eq!(s.prune_observations("l", 3000).unwrap(), 2);
    assert_eq!(s.observations(&filter, 0, 10).unwrap().len(), 1);
    assert_eq!(s.last_seq().unwrap(), 7);

    // Maps and tables made through the API.
    let map = Write {
        change: change("m", "create", "map"),
        effect: Effect::PutMap { definition: "{\"title\":\"M\"}".into() },
    };
    let table = Write {
        change: change("t", "create", "table"),
        effect: Effect::PutTable { name: "t.csv".into(), csv: bytes::Bytes::from_static(b"code;v\n1;2\n") },
    };
    s.apply(&[map, table]).unwrap();
    assert_eq!(
        s.maps().unwrap().iter().map(|m| (m.id.as_str(), m.text.as_str())).collect::<Vec<_>>(),
        vec![("m", "{\"title\":\"M\"}")]
    );
    let t = &s.tables().unwrap()[0];
    assert_eq!((t.id.as_str(), t.text.as_str(), t.bytes.as_slice()), ("t", "t.csv", b"code;v\n1;2\n".as_slice()));
    s.apply(&[Write { change: change("m", "delete", "map"), effect: Effect::DeleteMap }]).unwrap();
    assert!(s.maps().unwrap().is_empty());

    // Tokens: unique names, revocation once, use recorded.
    let token = |name: &str| TokenRecord {
        name: name.into(),
        hash: [name.len() as u8; 32],
        role: Role::Editor,
        layers: Some(vec!["l".into(), "k".into()]),
        created: tuilerie_server::store::now(),
        last_used: None,
        revoked: None,
    };
    s.create_token(&token("alice")).unwrap();
    assert!(matches!(s.create_token(&token("alice")), Err(StoreError::Conflict(_))));
    s.touch_tokens(&[("alice".into(), "2026-12-01T10:00:00.000Z".into())]).unwrap();
    let t = &s.tokens().unwrap()[0];
    assert_eq!(
        (t.role, t.layers.clone(), t.last_used.as_deref()),
        (Role::Editor, Some(vec!["l".into(), "k".into()]), Some("2026-12-01T10:00:00.000Z"))
    );
    assert_eq!(t.hash, [5; 32]);
    assert!(s.revoke_token("alice", "2026-12-01T11:00:00.000Z").unwrap());
    assert!(!s.revoke_token("alice", "2026-12-01T12:00:00.000Z").unwrap());
    assert_eq!(s.tokens().unwrap()[0].revoked.as_deref(), Some("2026-12-01T11:00:00.000Z"));
    assert!(s.size_bytes() > 0);
}

#[test]
fn the_sqlite_store_keeps_the_contract() {
    let dir = common::temp_dir("store-contract");
    contract(&SqliteStore::open(&dir).unwrap());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_postgres_store_keeps_the_contract_and_is_shared_by_replicas() {
    let pg = common::postgres::Postgres::start("contract");
    let s = PostgresStore::connect(&pg.url).expect("connect and migrate");
    contract(&s);

    // Another server on the same database: it migrates nothing, reads
    // every write and writes too; a batch checked against an older state
    // than the store's is refused whole, and tokens anyone writes.
    let other = PostgresStore::connect(&pg.url).unwrap();
    assert_eq!(other.last_seq().unwrap(), 10);
    assert_eq!(other.features().unwrap().len(), 3);
    match other.apply_after(9, &[feature("d", Some("{}"))], &[observation(9000, "late")]) {
        Err(StoreError::Behind(10)) => {}
        other => panic!("a stale batch was not refused: {other:?}"),
    }
    assert_eq!(other.last_seq().unwrap(), 10, "nothing of the refused batch was written");
    assert_eq!(other.apply_after(10, &[feature("d", Some("{}"))], &[]).unwrap().0, vec![11]);
    assert_eq!(s.apply(&[feature("e", Some("{}"))]).unwrap(), vec![12]);
    other
        .create_token(&TokenRecord {
            name: "bob".into(),
            hash: [9; 32],
            role: Role::Sensor,
            layers: None,
            created: tuilerie_server::store::now(),
            last_used: None,
            revoked: None,
        })
        .unwrap();
    assert_eq!(s.tokens().unwrap().len(), 2);

    // Writers of two servers at once: every number given once, in commit
    // order, and each server's checked writes go through once it is
    // caught up.
    let (s, other) = (std::sync::Arc::new(s), std::sync::Arc::new(other));
    let threads: Vec<_> = [s.clone(), other.clone()]
        .into_iter()
        .enumerate()
        .map(|(k, s)| {
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                let mut behind = 0;
                for i in 0..40 {
                    loop {
                        let applied = s.last_seq().unwrap();
                        match s.apply_after(applied, &[feature(&format!("r{k}-{i}"), Some("{}"))], &[]) {
                            Ok((got, _)) => break seqs.extend(got),
                            Err(StoreError::Behind(last)) => {
                                assert!(last > applied);
                                behind += 1
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
                (seqs, behind)
            })
        })
        .collect();
    let mut seqs: Vec<i64> = Vec::new();
    for t in threads {
        let (got, behind) = t.join().unwrap();
        eprintln!("{} writes, {behind} refused as behind", got.len());
        seqs.extend(got);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (13..=92).collect::<Vec<_>>());
    let logged: Vec<i64> = other.changes(12, None, None, 1000).unwrap().iter().map(|c| c.seq).collect();
    assert_eq!(logged, (13..=92).collect::<Vec<_>>());
    let stores = [other];
    drop(s);

    // The audit log cannot be rewritten, even by hand.
    let mut c = pg.client();
    for sql in ["DELETE FROM changes", "TRUNCATE changes", "UPDATE changes SET token = 'x'"] {
        let e = c.batch_execute(sql).unwrap_err();
        let message = e.as_db_error().map(|d| d.message().to_string()).unwrap_or_default();
        assert!(message.contains("append-only"), "{sql}: {e:?}");
    }
    // Features 1-4, the map and table 8-10, then 11-92 (observations: 5-7).
    assert_eq!(stores[0].changes(0, None, None, 1000).unwrap().len(), 89);

    // A database of a newer schema is refused and left as it is.
    c.batch_execute("UPDATE tuilerie_store SET value = '99' WHERE key = 'schema_version'").unwrap();
    let e = PostgresStore::connect(&pg.url).err().unwrap().to_string();
    assert!(e.contains("schema version 99") && e.contains("newer tuilerie"), "{e}");
    // A password in the URL never reaches a message.
    let e = PostgresStore::connect("postgres://u:secret@127.0.0.1:1/db").err().unwrap().to_string();
    assert!(e.contains("postgres://u@127.0.0.1:1/db") && !e.contains("secret"), "{e}");
}

/// One HTTP/1.1 request on loopback: status, headers and body as text.
fn http(port: u16, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    let media = if path.ends_with("/observations") || path.starts_with("/maps") {
        "application/json"
    } else if path.starts_with("/tables") {
        "text/csv"
    } else {
        "application/geo+json"
    };
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: {media}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    (out.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0), out)
}

struct Server(std::process::Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(config: &std::path::Path, url: &str, dir: &std::path::Path) -> Server {
    let port = common::free_port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["serve", "--config"])
        .arg(config)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--store", url, "--data-dir"])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child, port);
    let start = std::time::Instant::now();
    while common::http_get(port, "/health").is_none_or(|(s, _)| s != 200) {
        assert!(start.elapsed() < std::time::Duration::from_secs(30), "server not ready");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    server
}

#[test]
fn servers_on_one_postgres_store_share_tokens_and_edits_and_keep_them_through_a_kill() {
    let pg = common::postgres::Postgres::start("serve");
    let dir = common::temp_dir("store-serve");
    std::fs::copy(common::root().join("data/points-collecte-synthetiques.geojson"), dir.join("points.geojson"))
        .unwrap();
    let config = dir.join("tuilerie.toml");
    std::fs::write(&config, "[[layers]]\npath = \"points.geojson\"\nid = \"points\"\neditable = true\n").unwrap();
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["token", "create", "--role", "editor", "--layers", "points", "--name", "field", "--store", &pg.url])
        .output()
        .unwrap();
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    // Each server keeps its own data directory: what they share is the store.
    let (dir_a, dir_b) = (dir.join("a"), dir.join("b"));
    let a = serve(&config, &pg.url, &dir_a);
    let feature = r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[-0.57,44.84]},"properties":{"name":"Nouveau point","recycling:glass":"yes"}}"#;
    let (status, reply) = http(a.1, "POST", "/collections/points/items", &token, feature);
    assert_eq!(status, 201, "{reply}");
    let location = reply.lines().find_map(|l| l.strip_prefix("location: ")).unwrap().trim().to_string();
    let path = location[location.find("/collections/points/items/").unwrap()..].to_string();
    // Acknowledged, then the server is killed: the edit is in PostgreSQL.
    drop(a);
    let b = serve(&config, &pg.url, &dir_b);
    let (status, body) = common::http_get(b.1, &path).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("Nouveau point"), "{body}");
    // The token made on the command line works on every server, and the
    // audit log is the same from each.
    let (status, reply) = http(b.1, "DELETE", &path, &token, "");
    assert_eq!(status, 428, "If-Match is asked for, so the token was accepted: {reply}");
    // Both write: A, started again, edits what B created, and B, given
    // the ETag from before A's edit, refuses it (412) whether or not it
    // heard of A's edit yet: its batch is checked against the store's
    // latest sequence number.
    let (status, reply) = http(b.1, "POST", "/collections/points/items", &token, feature);
    assert_eq!(status, 201, "{reply}");
    let header = |reply: &str, name: &str| {
        reply.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap().trim().to_string()
    };
    let (created, old) = (header(&reply, "location"), header(&reply, "etag"));
    let created = created[created.find("/collections/").unwrap()..].to_string();
    let a = serve(&config, &pg.url, &dir_a);
    let patch = |port: u16, etag: &str, name: &str| {
        use std::io::{Read, Write};
        let body = format!(r#"{{"properties":{{"name":"{name}"}}}}"#);
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            s,
            "PATCH {created} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/merge-patch+json\r\nIf-Match: {etag}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    let reply = patch(a.1, &old, "par A");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    let reply = patch(b.1, &old, "par B");
    assert!(reply.starts_with("HTTP/1.1 412"), "a stale If-Match passed on the other server: {reply}");
    let mut c = pg.client();
    let n: i64 = c.query_one("SELECT count(*) FROM changes WHERE layer = 'points'", &[]).unwrap().get(0);
    assert_eq!(n, 3);
    // The database goes away: reads go on, writes answer 503 until it is
    // back, then go through again, and the other server follows.
    drop(c);
    pg.stop();
    let (status, body) = common::http_get(a.1, &path).unwrap();
    assert_eq!((status, body.contains("Nouveau point")), (200, true), "{body}");
    let (status, reply) = http(a.1, "POST", "/collections/points/items", &token, feature);
    assert_eq!(status, 503, "{reply}");
    pg.restart();
    let (status, reply) = http(a.1, "POST", "/collections/points/items", &token, feature);
    assert_eq!(status, 201, "{reply}");
    let again = header(&reply, "location");
    until(b.1, &again[again.find("/collections/").unwrap()..], |body| body.contains("Nouveau point"));
    let (status, body) = common::http_get(a.1, &path).unwrap();
    assert_eq!((status, body.contains("Nouveau point")), (200, true), "{body}");
    assert!(!dir_a.join("tuilerie.db").exists() && !dir_b.join("tuilerie.db").exists(), "no SQLite store was made");
    let _ = std::fs::remove_dir_all(dir);
}

/// GETs `path` on `port` until `ok` holds of the body; how long it took.
fn until(port: u16, path: &str, ok: impl Fn(&str) -> bool) -> std::time::Duration {
    let start = std::time::Instant::now();
    loop {
        if let Some((200, body)) = common::http_get(port, path) {
            if ok(&body) {
                return start.elapsed();
            }
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "{path} not as expected after 10 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[test]
fn a_server_follows_the_writes_of_another_as_they_commit() {
    let pg = common::postgres::Postgres::start("follow");
    let dir = common::temp_dir("store-follow");
    std::fs::copy(common::root().join("data/points-collecte-synthetiques.geojson"), dir.join("points.geojson"))
        .unwrap();
    let config = dir.join("tuilerie.toml");
    std::fs::copy(common::root().join("data/communes-gironde.geojson"), dir.join("communes.geojson")).unwrap();
    std::fs::write(
        &config,
        "[[layers]]\npath = \"points.geojson\"\nid = \"points\"\neditable = true\n\
         [[layers]]\npath = \"communes.geojson\"\nid = \"communes\"\n",
    )
    .unwrap();
    let token = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["token", "create", "--role", "editor", "--layers", "points", "--name", "field", "--store", &pg.url])
        .output()
        .unwrap();
    let token = String::from_utf8(token.stdout).unwrap().trim().to_string();
    let a = serve(&config, &pg.url, &dir.join("a"));
    let b = serve(&config, &pg.url, &dir.join("b"));
    // B's live stream, open before the edit.
    use std::io::{Read, Write};
    let mut events = std::net::TcpStream::connect(("127.0.0.1", b.1)).unwrap();
    write!(events, "GET /events?layers=points HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n").unwrap();
    events.set_read_timeout(Some(std::time::Duration::from_millis(200))).unwrap();
    // An edit through A: B serves it, with the same ETag, without a restart.
    let feature =
        r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[-0.57,44.84]},"properties":{"name":"Suivi"}}"#;
    let (status, reply) = http(a.1, "POST", "/collections/points/items", &token, feature);
    assert_eq!(status, 201, "{reply}");
    let location = reply.lines().find_map(|l| l.strip_prefix("location: ")).unwrap().trim().to_string();
    let path = location[location.find("/collections/points/items/").unwrap()..].to_string();
    let etag = reply.lines().find_map(|l| l.strip_prefix("etag: ")).unwrap().trim().to_string();
    // ... and announces it on its own /events, with A's sequence number.
    let id = &path["/collections/points/items/".len()..];
    let seq = &etag[2..etag.len() - 1];
    let (mut seen, start) = (String::new(), std::time::Instant::now());
    while !(seen.contains(&format!("\"feature_id\":\"{id}\"")) && seen.contains(&format!("id: {seq}\n"))) {
        assert!(start.elapsed().as_secs() < 10, "B's /events did not announce {id}: {seen}");
        let mut buf = [0u8; 4096];
        if let Ok(n) = events.read(&mut buf) {
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    }
    drop(events);
    let waited = until(b.1, &path, |body| body.contains("Suivi"));
    eprintln!("edit visible on the other server after {waited:?}");
    // B's nearest answers and its tiles know the point too.
    until(b.1, "/nearest?lon=-0.57&lat=44.84&k=1&layers=points", |body| body.contains("Suivi"));
    // A status observation through A reaches B's item.
    let now = tuilerie_server::store::now();
    let obs = format!(r#"{{"kind":"crowd","value":0.8,"observed_at":"{now}","source":"capteur"}}"#);
    let (status, reply) = http(a.1, "POST", &format!("{path}/observations"), &token, &obs);
    assert!(status == 201, "{reply}");
    until(b.1, &path, |body| body.contains("\"crowd\""));
    // The ETag B gives is the one A gave: If-Match works across servers.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", b.1)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    assert!(head.contains(&format!("etag: {etag}")), "{head}");
    // A deletion through A: gone from B.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", a.1)).unwrap();
    write!(s, "DELETE {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nIf-Match: {etag}\r\n\r\n").unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 204"), "{reply}");
    let gone = |port: u16, path: &str| {
        let start = std::time::Instant::now();
        while common::http_get(port, path).is_some_and(|(s, _)| s == 200) {
            assert!(start.elapsed().as_secs() < 10, "{path} still served");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    };
    gone(b.1, &path);
    // A table and a map made through A are served by B; deleted, gone.
    let admin = std::process::Command::new(env!("CARGO_BIN_EXE_tuilerie"))
        .args(["token", "create", "--role", "admin", "--name", "admin", "--store", &pg.url])
        .output()
        .unwrap();
    let admin = String::from_utf8(admin.stdout).unwrap().trim().to_string();
    let (status, reply) = http(a.1, "POST", "/tables?id=stats", &admin, "code;v\n1;2\n2;5\n");
    assert_eq!(status, 201, "{reply}");
    until(b.1, "/tables/stats", |body| body.contains("\"rows\":2"));
    let map = r#"{"id":"m","title":"Carte","layer":"communes","value":{"field":"population"},"classes":4}"#;
    let (status, reply) = http(a.1, "POST", "/maps", &admin, map);
    assert_eq!(status, 201, "{reply}");
    until(b.1, "/maps/m/legend", |body| body.contains("\"total\":534"));
    for path in ["/maps/m", "/tables/stats"] {
        let (status, reply) = http(a.1, "DELETE", path, &admin, "");
        assert_eq!(status, 204, "{reply}");
        gone(b.1, path);
    }
    let _ = std::fs::remove_dir_all(dir);
}
