//! Helpers shared by the server's integration tests: where the data is,
//! requests through `app(state).oneshot(..)` without a socket, and plain
//! HTTP/1.1 over loopback for tests of the real binary.
#![allow(dead_code)]
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use tower::ServiceExt;
use tuilerie_server::{app, AppState};

pub mod postgres;

/// The repository's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A demo file of `data/`.
pub fn demo(name: &str) -> PathBuf {
    root().join("data").join(name)
}

/// The shared real data: `$TUILERIE_SHARED_DATA`, else `../shared/data`
/// beside the repository (as README says); a clear panic otherwise.
pub fn shared_data() -> PathBuf {
    let p = std::env::var("TUILERIE_SHARED_DATA").map(PathBuf::from).unwrap_or_else(|_| root().join("../shared/data"));
    assert!(
        p.join("gironde").is_dir(),
        "shared test data not found at {}: set TUILERIE_SHARED_DATA to the folder holding gironde/ (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A file of the shared data (`gironde/communes-33.geojson`...).
pub fn shared(rel: &str) -> PathBuf {
    shared_data().join(rel)
}

/// A file of the shared Gironde data.
pub fn gironde(name: &str) -> PathBuf {
    shared_data().join("gironde").join(name)
}

/// The demo layers as `communes` and `points`, ready.
pub fn demo_state() -> AppState {
    use tuilerie_geo::{Catalog, LayerId, LoadOptions};
    let root = root().join("data");
    let a = LoadOptions { id: Some(LayerId::new("communes").unwrap()), ..Default::default() };
    let b = LoadOptions { id: Some(LayerId::new("points").unwrap()), ..Default::default() };
    let catalog = Catalog::load(
        vec![(root.join("communes-gironde.geojson"), a), (root.join("points-collecte-synthetiques.geojson"), b)],
        2,
    );
    AppState::ready(catalog, tuilerie_server::ServerOptions::default())
}

/// A GET with a host, and its status, content type and JSON body.
pub async fn get_json(s: &AppState, uri: &str) -> (StatusCode, String, serde_json::Value) {
    let r = send(s, Request::get(uri).header("host", "t.test").body(Body::empty()).unwrap()).await;
    (r.status, r.header("content-type"), r.json())
}

/// A response read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).map(|v| v.to_str().unwrap_or_default().to_string()).unwrap_or_default()
    }
}

/// Sends `req` to the app, without a socket.
pub async fn send(state: &AppState, mut req: Request<Body>) -> Reply {
    let write =
        !matches!(*req.method(), axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    if write && state.writes.is_some() && !req.headers().contains_key("authorization") {
        req.headers_mut().insert("authorization", format!("Bearer {ADMIN}").parse().unwrap());
    }
    let resp = app(state.clone()).oneshot(req).await.expect("the router answers");
    let (parts, body) = resp.into_parts();
    Reply {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.expect("body").to_bytes().to_vec(),
    }
}

/// The admin token of [`with_store`] states (their writes send it unless
/// the request has its own `Authorization`).
pub const ADMIN: &str = "tlr_test-admin-token";
/// An editor token of [`with_store`] states.
pub const EDITOR: &str = "tlr_test-editor-token";

/// A fresh, empty directory under the system's temporary folder.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let d = std::env::temp_dir().join(format!(
        "tuilerie-test-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Creates a token in `dir`'s store.
pub fn add_token(
    dir: &std::path::Path,
    secret: &str,
    name: &str,
    role: tuilerie_server::store::Role,
    layers: Option<Vec<String>>,
) {
    use tuilerie_server::store::Store;
    let store = tuilerie_server::store::sqlite::SqliteStore::open(dir).unwrap();
    store
        .create_token(&tuilerie_server::store::TokenRecord {
            name: name.into(),
            hash: tuilerie_server::auth::digest(secret),
            role,
            layers,
            created: tuilerie_server::store::now(),
            last_used: None,
            revoked: None,
        })
        .unwrap();
}

/// A state with a store in `dir` (created with [`ADMIN`] and [`EDITOR`]
/// tokens when new), the layers of `layers` loaded, the editable ones under
/// their stored edits.
pub fn with_store_in(
    dir: &std::path::Path,
    layers: &[tuilerie_server::config::LayerConfig],
    options: tuilerie_server::ServerOptions,
) -> AppState {
    with_store_opts(dir, layers, options, Default::default())
}

/// [`with_store_in`] with write options (budget, group commit).
pub fn with_store_opts(
    dir: &std::path::Path,
    layers: &[tuilerie_server::config::LayerConfig],
    options: tuilerie_server::ServerOptions,
    write_options: tuilerie_server::edits::WriteOptions,
) -> AppState {
    use tuilerie_server::store::{Role, Store};
    let known = tuilerie_server::store::sqlite::SqliteStore::open(dir).unwrap().tokens().unwrap();
    if !known.iter().any(|t| t.name == "test-admin") {
        add_token(dir, ADMIN, "test-admin", Role::Admin, None);
        add_token(dir, EDITOR, "test-editor", Role::Editor, None);
    }
    let store = std::sync::Arc::new(tuilerie_server::store::sqlite::SqliteStore::open(dir).unwrap());
    let writes = tuilerie_server::edits::Writes::open(store, write_options).unwrap();
    let state = AppState::with_writes(options, Some(writes));
    let catalog = tuilerie_server::loading::load_catalog(layers, false);
    state.set_catalog(tuilerie_server::loading::apply_edits(&state, catalog, layers));
    tuilerie_server::loading::restore_api_resources(&state);
    state
}

/// [`with_store_in`] a new temporary directory.
pub fn with_store(
    layers: &[tuilerie_server::config::LayerConfig],
    options: tuilerie_server::ServerOptions,
) -> AppState {
    with_store_in(&temp_dir("store"), layers, options)
}

/// A layer of the configuration.
pub fn layer(path: PathBuf, id: &str, editable: bool) -> tuilerie_server::config::LayerConfig {
    tuilerie_server::config::LayerConfig { path, id: Some(id.into()), editable, ..Default::default() }
}

/// `GET uri`.
pub async fn get(state: &AppState, uri: &str) -> Reply {
    send(state, Request::get(uri).body(Body::empty()).expect("request")).await
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// `GET path` on the loopback port: status and body.
pub fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Some((status, body))
}

/// Runs `tests/node/<script>` with `args` and `stdin`: success and output.
pub fn node(script: &str, args: &[PathBuf], stdin: Option<&[u8]>) -> (bool, String) {
    let mut child = Command::new("node")
        .arg(root().join("tests/node").join(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node is needed (run scripts/setup.sh)");
    child.stdin.take().expect("stdin").write_all(stdin.unwrap_or_default()).expect("write stdin");
    let out = child.wait_with_output().expect("node output");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr))
}
