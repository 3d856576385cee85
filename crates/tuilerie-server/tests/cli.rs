//! End-to-end tests of the real `tuilerie` binary: `inspect` output and exit
//! codes, `serve` on loopback with a bad layer skipped.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tuilerie"))
}

use common::{free_port, http_get, root, shared};

mod common;

#[test]
fn inspect_prints_crs_encoding_and_counts_of_both_shapefiles() {
    let out = bin()
        .arg("inspect")
        .arg(shared("gironde/shp/communes-33-l93.shp"))
        .arg(shared("gironde/shp/decheteries-33-l93.shp"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    let (communes, decheteries) = text.split_at(text.find("decheteries-33-l93.shp").unwrap());
    assert!(communes.contains("CRS         RGF93 v1 / Lambert-93 (EPSG:2154) (from .prj file)"), "{communes}");
    assert!(communes.contains("encoding    ISO-8859-1 (from .cpg file)"), "{communes}");
    assert!(communes.contains("features    538\n"), "{communes}");
    assert!(communes.contains("geometry    Polygon, MultiPolygon"), "{communes}");
    assert!(communes.contains("population           int          534 values"), "{communes}");
    assert!(communes.contains("skipped     0"), "{communes}");
    assert!(decheteries.contains("CRS         RGF93 v1 / Lambert-93 (EPSG:2154) (from .prj file)"), "{decheteries}");
    assert!(decheteries.contains("encoding    UTF-8 (from .cpg file)"), "{decheteries}");
    assert!(decheteries.contains("features    44\n"), "{decheteries}");
    assert!(decheteries.contains("\"Emmaüs Lescar Pau\""), "{decheteries}");
}

#[test]
fn inspect_exits_non_zero_on_a_bad_file_and_names_it() {
    let dir = std::env::temp_dir().join(format!("tuilerie-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.geojson");
    std::fs::write(&bad, "{\"type\":\n\"FeatureCollection\" \"features\": []}").unwrap();
    let out = bin().arg("inspect").arg(&bad).arg(root().join("data/communes-gironde.geojson")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.geojson: invalid JSON at line 2, column 21"), "{err}");
    // The good file is still reported.
    assert!(String::from_utf8_lossy(&out.stdout).contains("features    534"));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tuilerie ARGS` on a free loopback port (TUILERIE_ADDR) and waits
/// for `/health` to answer 200: the server, its port and that answer.
fn start_server(args: &[&std::ffi::OsStr], stderr: Stdio) -> (Server, u16, String) {
    let port = free_port();
    let child = bin()
        .args(args)
        .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let server = Server(child);
    let start = Instant::now();
    loop {
        if let Some((200, body)) = http_get(port, "/health") {
            return (server, port, body);
        }
        assert!(start.elapsed() < Duration::from_secs(30), "server not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn serve_skips_a_bad_layer_serves_the_rest_and_honours_tuilerie_addr() {
    let dir = std::env::temp_dir().join(format!("tuilerie-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.geojson"), "{ not json").unwrap();
    std::fs::copy(root().join("data/communes-gironde.geojson"), dir.join("communes.geojson")).unwrap();
    let (mut server, port, body) = start_server(&["serve".as_ref(), dir.as_os_str()], Stdio::piped());
    let health: serde_json::Value = serde_json::from_str(body.trim()).unwrap_or_default();
    assert_eq!(health["layers"], 1, "{body}");
    assert_eq!(health["failed"], 1, "{body}");
    let (status, body) = http_get(port, "/catalog").unwrap();
    assert_eq!(status, 200);
    assert!(body.contains("broken.geojson: invalid JSON at line 1, column 3"), "{body}");
    let _ = server.0.kill();
    let mut err = String::new();
    if let Some(mut e) = server.0.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(err.contains("broken.geojson"), "{err}");
}

/// Reads until the server closes the connection: what came, and whether it
/// closed within `limit` (a read timeout means it did not).
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, bool) {
    s.set_read_timeout(Some(limit)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (String::from_utf8_lossy(&got).into_owned(), true)
            }
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

#[test]
fn slow_and_idle_clients_are_disconnected_and_shutdown_has_a_deadline() {
    let dir = std::env::temp_dir().join(format!("tuilerie-timeouts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tuilerie.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nheader_timeout = 1\nbody_timeout = 1\nshutdown_timeout = 2\n[[layers]]\npath = {:?}\n",
            root().join("data/communes-gironde.geojson")
        ),
    )
    .unwrap();
    let (mut server, port, _) =
        start_server(&["serve".as_ref(), "--config".as_ref(), config.as_os_str()], Stdio::null());
    // Headers that never end: the connection is closed after the timeout.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1").unwrap();
    let t = Instant::now();
    let (_, closed) = read_until_closed(&mut slow, Duration::from_secs(8));
    assert!(closed, "a client sending partial headers was kept for {:?}", t.elapsed());
    // A body that does not arrive whole within body_timeout: 408, closed.
    let mut slow_body = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow_body
        .write_all(b"POST /tables?id=t HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/csv\r\nContent-Length: 100\r\n\r\ncode;v\n")
        .unwrap();
    let t = Instant::now();
    let (answer, _) = read_until_closed(&mut slow_body, Duration::from_secs(8));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // A request head over 64 KiB is refused, not buffered.
    let mut big = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let long = "a".repeat(100_000);
    let _ = big.write_all(format!("GET /waste-categories?q={long} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").as_bytes());
    let (answer, closed) = read_until_closed(&mut big, Duration::from_secs(8));
    assert!(
        closed && (answer.is_empty() || answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 414")),
        "{answer}"
    );
    // An idle keep-alive connection is closed after its response, too.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let (answer, closed) = read_until_closed(&mut idle, Duration::from_secs(8));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(closed, "an idle keep-alive connection stayed open");
    // SIGTERM while a client holds a connection open with partial headers:
    // the process exits (the drain ends at the shutdown timeout at worst).
    let mut holder = TcpStream::connect(("127.0.0.1", port)).unwrap();
    holder.write_all(b"GET /health HTTP/1.1\r\n").unwrap();
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let t = Instant::now();
    loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(8), "still running 8 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(holder);
}

/// `GET path` with extra header lines: the whole response (head and body).
fn http_raw(port: u16, path: &str, extra: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n").unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn header_of(response: &str, name: &str) -> Option<String> {
    let head = response.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// A GeoJSON FeatureCollection of `n` points, written the way editors
/// save: a temporary file renamed over the old one.
fn write_points(path: &std::path::Path, n: usize) {
    let features: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"type":"Feature","properties":{{"name":"p{i}"}},"geometry":{{"type":"Point","coordinates":[{},44.8]}}}}"#,
                -0.6 + i as f64 * 0.01
            )
        })
        .collect();
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, format!(r#"{{"type":"FeatureCollection","features":[{}]}}"#, features.join(","))).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Polls `check` every 100 ms for up to 10 s.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let t = Instant::now();
    while !check() {
        assert!(t.elapsed() < Duration::from_secs(10), "not within 10 s: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn matched(port: u16, layer: &str) -> i64 {
    let (_, body) = http_get(port, &format!("/collections/{layer}/items?limit=1")).unwrap_or_default();
    serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["numberMatched"].as_i64()).unwrap_or(-1)
}

#[test]
fn changed_files_are_reloaded_a_broken_one_keeps_its_layer_and_sighup_reloads_everything() {
    let dir = std::env::temp_dir().join(format!("tuilerie-reload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let points = dir.join("points.geojson");
    write_points(&points, 2);
    let log_path = dir.join("log.jsonl");
    let log = std::fs::File::create(&log_path).unwrap();
    let (server, port, _) =
        start_server(&["serve".as_ref(), "--log-format".as_ref(), "json".as_ref(), dir.as_os_str()], log.into());
    assert_eq!(matched(port, "points"), 2);
    let tile_etag = || header_of(&http_raw(port, "/tiles/points/0/0/0.mvt", ""), "etag");
    let before = tile_etag().unwrap();

    // A changed file: served within the debounce and load time, with new tiles.
    write_points(&points, 3);
    eventually("3 points after the rewrite", || matched(port, "points") == 3);
    assert_ne!(tile_etag().unwrap(), before, "the tile of a reloaded layer must change");

    // A broken file: the old layer stays, the error is in /catalog.
    let tmp = dir.join("points.tmp");
    std::fs::write(&tmp, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
    std::fs::rename(&tmp, &points).unwrap();
    eventually("the failed reload listed in /catalog", || {
        http_get(port, "/catalog").is_some_and(|(_, b)| b.contains("points.geojson") && b.contains("\"failed\":[{"))
    });
    assert_eq!(matched(port, "points"), 3, "a failed reload must keep the previous layer");

    // A new file in the served folder becomes a layer; fixing the broken
    // one clears its failure.
    write_points(&dir.join("more.geojson"), 4);
    write_points(&points, 5);
    eventually("the new layer and the fixed one", || matched(port, "more") == 4 && matched(port, "points") == 5);
    let (_, catalog) = http_get(port, "/catalog").unwrap();
    assert!(catalog.contains("\"failed\":[]"), "{catalog}");

    // SIGHUP reloads every layer even when nothing changed.
    let pid = server.0.id().to_string();
    assert!(Command::new("kill").args(["-HUP", &pid]).status().unwrap().success());
    let reloads =
        || std::fs::read_to_string(&log_path).unwrap().lines().filter(|l| l.contains("layer reloaded")).count();
    let seen = reloads();
    eventually("a reload after SIGHUP", || reloads() >= seen + 2);
    assert_eq!(matched(port, "points"), 5);

    // Metrics of the same process.
    let (status, metrics) = http_get(port, "/metrics").unwrap();
    assert_eq!(status, 200);
    for needle in [
        "tuilerie_layer_reloads_total{result=\"ok\"}",
        "tuilerie_layer_reloads_total{result=\"failed\"} 1",
        "tuilerie_layer_features{layer=\"points\"} 5",
        "tuilerie_layer_features{layer=\"more\"} 4",
        "route=\"/collections/{id}/items\"",
        "route=\"/tiles/{layers}/{z}/{x}/{y}\"",
        "tuilerie_tile_cache_misses_total",
        "tuilerie_http_request_duration_seconds_bucket{route=\"/catalog\",le=\"+Inf\"}",
        "tuilerie_connections_total",
    ] {
        assert!(metrics.contains(needle), "{needle} missing in\n{metrics}");
    }
    drop(server);
    // Every log line is one JSON object.
    let text = std::fs::read_to_string(&log_path).unwrap();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["fields"]["message"].is_string(), "{line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn request_ids_are_echoed_or_made_and_carried_by_the_log_lines() {
    let dir = std::env::temp_dir().join(format!("tuilerie-reqid-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log_path = dir.join("log.jsonl");
    let log = std::fs::File::create(&log_path).unwrap();
    let port = free_port();
    let child = bin()
        .args(["serve", "--log-format", "json"])
        .arg(root().join("data/communes-gironde.geojson"))
        .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info,tuilerie_server::metrics=debug")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let server = Server(child);
    eventually("ready", || http_get(port, "/health").is_some_and(|(s, _)| s == 200));
    let given = http_raw(port, "/collections/nope", "X-Request-Id: rq-4242\r\n");
    assert!(given.starts_with("HTTP/1.1 404"), "{given}");
    assert_eq!(header_of(&given, "x-request-id").as_deref(), Some("rq-4242"));
    // An id with a control character or over 128 characters is replaced.
    let long = "x".repeat(200);
    let replaced = http_raw(port, "/health", &format!("X-Request-Id: {long}\r\n"));
    let made = header_of(&replaced, "x-request-id").unwrap();
    assert!(!made.is_empty() && made.len() < 40 && made != long, "{made}");
    let other = header_of(&http_raw(port, "/health", ""), "x-request-id").unwrap();
    assert_ne!(made, other, "ids must differ between requests");
    eventually("the access log line of rq-4242", || {
        std::fs::read_to_string(&log_path).unwrap().lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            let span = &v["spans"][0];
            span["id"] == "rq-4242" && span["route"] == "/collections/{id}" && v["fields"]["status"] == 404
        })
    });
    // The request metrics count every request once, whichever worker
    // thread answered it (their handles are kept per thread), and a
    // method nobody standardised is labelled OTHER (bounded labels).
    let threads: Vec<_> = (0..3)
        .map(|_| {
            std::thread::spawn(move || assert!(http_raw(port, "/collections/nope", "").starts_with("HTTP/1.1 404")))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(s, "BREW /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut brewed = Vec::new();
    let _ = s.read_to_end(&mut brewed);
    assert!(String::from_utf8_lossy(&brewed).starts_with("HTTP/1.1 405"), "{}", String::from_utf8_lossy(&brewed));
    let (_, metrics) = http_get(port, "/metrics").unwrap();
    for needle in [
        "tuilerie_http_requests_total{route=\"/collections/{id}\",method=\"GET\",status=\"404\"} 4",
        "tuilerie_http_requests_total{route=\"/health\",method=\"OTHER\",status=\"405\"} 1",
        "tuilerie_http_request_duration_seconds_count{route=\"/collections/{id}\"} 4",
    ] {
        assert!(metrics.contains(needle), "{needle} missing in\n{metrics}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn token_commands_and_inspect_report_the_store_and_its_conflicts() {
    use tuilerie_server::store::{ChangeRecord, Effect, Store, Write};
    let dir = common::temp_dir("cli-store");
    let out = bin()
        .args(["token", "create", "--role", "editor", "--layers", "pts", "--name", "alice", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8(out.stdout).unwrap();
    assert_eq!(secret.lines().count(), 1, "only the token on stdout");
    let again =
        bin().args(["token", "create", "--role", "admin", "--name", "alice", "--data-dir"]).arg(&dir).output().unwrap();
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let bad = bin()
        .args(["token", "create", "--role", "editor", "--layers", "a b", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(!bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--layers"));
    let list = bin().args(["token", "list", "--json", "--data-dir"]).arg(&dir).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(list[0]["name"], "alice");
    assert_eq!(list[0]["layers"], serde_json::json!(["pts"]));
    assert!(!String::from_utf8_lossy(&serde_json::to_vec(&list).unwrap()).contains(secret.trim()), "never the secret");
    assert!(bin().args(["token", "revoke", "alice", "--data-dir"]).arg(&dir).status().unwrap().success());
    assert!(!bin().args(["token", "revoke", "alice", "--data-dir"]).arg(&dir).status().unwrap().success());

    // An edit of feature 7 of a file that no longer has it: a conflict.
    let store = tuilerie_server::store::sqlite::SqliteStore::open(&dir).unwrap();
    let after =
        r#"{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[-0.5,44.8]},"properties":{"name":"x"}}"#;
    let change = ChangeRecord {
        seq: 0,
        at: tuilerie_server::store::now(),
        token: "alice".into(),
        op: "update".into(),
        kind: "feature".into(),
        layer: Some("pts".into()),
        id: "7".into(),
        before: None,
        after: Some(after.into()),
    };
    store.apply(&[Write { change, effect: Effect::Feature { created: false, content: Some(after.into()) } }]).unwrap();
    drop(store);
    let data = common::temp_dir("cli-store-data");
    let file = data.join("pts.geojson");
    std::fs::write(&file, r#"{"type":"FeatureCollection","features":[{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[0,0]},"properties":{}}]}"#).unwrap();
    let out = bin().args(["inspect", "--json", "--data-dir"]).arg(&dir).arg(&file).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["edits"], serde_json::json!({"edited_features": 1, "conflicts": ["7"]}));
}

#[test]
fn a_read_only_data_directory_serves_reads_and_refuses_writes_with_503() {
    // procfs takes no new directory, even from root: a real read-only place.
    let (_server, port, _) = start_server(
        &[
            "serve".as_ref(),
            root().join("data").as_os_str(),
            "--data-dir".as_ref(),
            "/proc/tuilerie-read-only".as_ref(),
        ],
        Stdio::null(),
    );
    let (status, _) = http_get(port, "/collections/points-collecte-synthetiques/items?limit=1").unwrap();
    assert_eq!(status, 200);
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let body = "code;v\n1;2\n";
    write!(
        s,
        "POST /tables?id=t HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("writes are off") && answer.contains("/proc/tuilerie-read-only"), "{answer}");
}

#[test]
fn inspect_lists_every_layer_of_an_osm_file() {
    let out = bin().arg("inspect").arg(shared("osm/monaco-latest.osm.pbf")).arg("--json").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = reports.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap_or_default()).collect();
    assert_eq!(
        ids,
        ["monaco-latest-recycling", "monaco-latest-waste-disposal", "monaco-latest-waste-baskets"],
        "{reports}"
    );
    assert!(reports.as_array().unwrap().iter().all(|r| r["format"] == "OSM PBF"), "{reports}");
}

#[test]
fn font_folders_of_the_configuration_are_served_beside_the_embedded_fonts() {
    let dir = std::env::temp_dir().join(format!("tuilerie-fonts-{}", std::process::id()));
    let fonts = dir.join("fonts");
    std::fs::create_dir_all(&fonts).unwrap();
    // A font of another name (Debian fonts-dejavu-core), and one whose name
    // the embedded fonts already have (skipped).
    std::fs::copy("/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf", fonts.join("serif.ttf"))
        .expect("fonts-dejavu-core (scripts/setup.sh installs it)");
    std::fs::copy(root().join("crates/tuilerie-server/fonts/DejaVuSans.ttf"), fonts.join("same.ttf")).unwrap();
    std::fs::write(dir.join("tuilerie.toml"), "[web]\nfonts = [\"fonts\"]\n").unwrap();
    let config = dir.join("tuilerie.toml");
    let (_server, port, _) = start_server(
        &[
            "serve".as_ref(),
            "--config".as_ref(),
            config.as_os_str(),
            root().join("data/communes-gironde.geojson").as_os_str(),
        ],
        Stdio::null(),
    );
    let (status, body) = http_get(port, "/fonts").unwrap();
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["fonts"], serde_json::json!(["DejaVu Sans Book", "DejaVu Sans Bold", "DejaVu Serif Book"]), "{body}");
    // The range is binary: read as bytes, the status line checked.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /fonts/DejaVu%20Serif%20Book/0-255.pbf HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer[..answer.len().min(200)]));
    assert!(answer.len() > 20_000, "{} bytes", answer.len());
    // A file that is not a font stops the start, named.
    std::fs::write(fonts.join("broken.ttf"), b"not a font").unwrap();
    let out = bin().args(["serve", "--config"]).arg(&config).env("TUILERIE_ADDR", "127.0.0.1:1").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.ttf") && err.contains("[web] fonts"), "{err}");
}
