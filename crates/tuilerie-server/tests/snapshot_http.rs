//! Snapshots through the real binary: a server started from the snapshots
//! its data directory holds answers byte for byte as one that parsed the
//! files; a damaged snapshot is logged, ignored and written again; `tuilerie
//! snapshot` builds them next to the files for a server to start from.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use common::{free_port, http_get, root};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(args: &[&std::ffi::OsStr]) -> Server {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_tuilerie"))
            .args(args)
            .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let server = Server { child, port };
        let start = Instant::now();
        while !matches!(http_get(port, "/health"), Some((200, _))) {
            assert!(start.elapsed() < Duration::from_secs(60), "server not ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        let _ = self.child.wait();
        err
    }
}

/// `GET path`: status and body bytes (no compression asked).
fn get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, buf[split + 4..].to_vec())
}

/// The answers compared between starts: tiles over Gironde from z0 to z14
/// (clustered and not), nearest with and without a waste, items pages.
fn answers(port: u16) -> Vec<(String, u16, Vec<u8>)> {
    let mut urls = Vec::new();
    for z in [0u32, 5, 8, 10, 12, 14] {
        // The tile holding Bordeaux.
        let n = (1u32 << z) as f64;
        let x = ((-0.575 + 180.0) / 360.0 * n) as u32;
        let r = 44.84f64.to_radians();
        let y = ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32;
        urls.push(format!("/tiles/points/{z}/{x}/{y}.mvt"));
        urls.push(format!("/tiles/communes/{z}/{x}/{y}.mvt"));
    }
    for (lon, lat) in [(-0.57, 44.84), (-1.1, 45.3), (0.2, 44.6)] {
        urls.push(format!("/nearest?lon={lon}&lat={lat}&k=5"));
        urls.push(format!("/nearest?lon={lon}&lat={lat}&k=3&accepts=verre&open=2026-12-01T10:00:00Z"));
    }
    urls.push("/collections/points/items?limit=40&offset=1000".into());
    urls.push("/collections/communes/items?limit=5&bbox=-0.7,44.8,-0.5,44.9".into());
    urls.into_iter()
        .map(|u| {
            let (status, mut body) = get(port, &u);
            if u.starts_with("/collections") {
                // Items carry the time and links to this server's port:
                // the features and the count are compared.
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                body = serde_json::to_vec(&(&v["numberMatched"], &v["features"])).unwrap();
            }
            (u, status, body)
        })
        .collect()
}

fn assert_same(a: &[(String, u16, Vec<u8>)], b: &[(String, u16, Vec<u8>)]) {
    assert_eq!(a.len(), b.len());
    let mut tiles = 0;
    for (x, y) in a.iter().zip(b) {
        assert!(x.1 == 200 || x.1 == 204, "{} answered {}", x.0, x.1);
        assert!(x == y, "{} differs between a parsed and a snapshot start", x.0);
        tiles += (x.0.starts_with("/tiles") && x.2.len() > 50) as usize;
    }
    assert!(tiles >= 8, "the tiles compared hold data ({tiles})");
}

/// A folder with copies of the demo files as layers `points` and `communes`.
fn layers(name: &str) -> PathBuf {
    let dir = common::temp_dir(name);
    let files = dir.join("files");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::copy(root().join("data/points-collecte-synthetiques.geojson"), files.join("points.geojson")).unwrap();
    std::fs::copy(root().join("data/communes-gironde.geojson"), files.join("communes.geojson")).unwrap();
    dir
}

fn serve(dir: &Path, data: &str) -> Server {
    let (files, data) = (dir.join("files"), dir.join(data));
    Server::start(&["serve".as_ref(), files.as_os_str(), "--data-dir".as_ref(), data.as_os_str()])
}

#[test]
fn a_server_started_from_its_snapshots_answers_as_one_that_parsed_the_files() {
    let dir = layers("snapshot-start");
    let s = serve(&dir, "data");
    let parsed = answers(s.port);
    let log = s.stop();
    assert!(log.contains("snapshot written layer=points"), "{log}");
    assert!(!log.contains("loaded from snapshot"), "{log}");
    let snap = dir.join("data/snapshots/points.tsnap");
    assert!(snap.is_file() && dir.join("data/snapshots/communes.tsnap").is_file());

    let s = serve(&dir, "data");
    let from_snapshot = answers(s.port);
    let log = s.stop();
    assert!(log.contains("loaded from snapshot layer=points"), "{log}");
    assert!(log.contains("loaded from snapshot layer=communes"), "{log}");
    assert_same(&parsed, &from_snapshot);

    // Bytes flipped in the middle: logged with the reason, built from the
    // file, the same answers, and a good snapshot written again.
    let mut bytes = std::fs::read(&snap).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&snap, &bytes).unwrap();
    let s = serve(&dir, "data");
    let rebuilt = answers(s.port);
    let log = s.stop();
    assert!(log.contains("snapshot ignored") && log.contains("checksum mismatch"), "{log}");
    assert_same(&parsed, &rebuilt);
    let s = serve(&dir, "data");
    let log = s.stop();
    assert!(log.contains("loaded from snapshot layer=points"), "{log}");

    // Truncated: the same.
    std::fs::write(&snap, &bytes[..bytes.len() / 3]).unwrap();
    let s = serve(&dir, "data");
    let again = answers(s.port);
    let log = s.stop();
    assert!(log.contains("snapshot ignored") && log.contains("truncated"), "{log}");
    assert_same(&parsed, &again);
}

#[test]
fn tuilerie_snapshot_builds_snapshots_next_to_the_files_that_a_server_starts_from() {
    let dir = layers("snapshot-command");
    let files = dir.join("files");
    let out = Command::new(env!("CARGO_BIN_EXE_tuilerie")).arg("snapshot").arg(&files).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(text.contains("layer points, 4054 features, snapshot"), "{text}");
    let beside = files.join("points.geojson.points.tsnap");
    assert!(beside.is_file(), "{text}");
    // A second run keeps them.
    let out = Command::new(env!("CARGO_BIN_EXE_tuilerie")).arg("snapshot").arg(&files).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(text.matches("up to date").count(), 2, "{text}");

    let s = serve(&dir, "data");
    let answers_beside = answers(s.port);
    let log = s.stop();
    assert!(log.contains("loaded from snapshot layer=points") && log.contains("points.geojson.points.tsnap"), "{log}");
    // The same answers as a server that parsed the files (no snapshots).
    std::fs::remove_file(&beside).unwrap();
    std::fs::remove_file(files.join("communes.geojson.communes.tsnap")).unwrap();
    let s = serve(&dir, "other-data");
    let parsed = answers(s.port);
    let log = s.stop();
    assert!(!log.contains("loaded from snapshot"), "{log}");
    assert_same(&parsed, &answers_beside);

    // A bad path: named, non-zero exit.
    let out =
        Command::new(env!("CARGO_BIN_EXE_tuilerie")).arg("snapshot").arg(dir.join("missing.geojson")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.geojson"));
}
