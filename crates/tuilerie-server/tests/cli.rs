//! End-to-end tests of the real `tuilerie` binary: `inspect` output and exit
//! codes, `serve` on loopback with a bad layer skipped.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use std::io::Read;
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
    assert!(communes.contains("CRS         RGF93 v1 / Lambert-93 (from .prj file)"), "{communes}");
    assert!(communes.contains("encoding    ISO-8859-1 (from .cpg file)"), "{communes}");
    assert!(communes.contains("features    538\n"), "{communes}");
    assert!(communes.contains("geometry    Polygon, MultiPolygon"), "{communes}");
    assert!(communes.contains("population           int          534 values"), "{communes}");
    assert!(communes.contains("skipped     0"), "{communes}");
    assert!(decheteries.contains("CRS         RGF93 v1 / Lambert-93 (from .prj file)"), "{decheteries}");
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

#[test]
fn serve_skips_a_bad_layer_serves_the_rest_and_honours_tuilerie_addr() {
    let dir = std::env::temp_dir().join(format!("tuilerie-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.geojson"), "{ not json").unwrap();
    std::fs::copy(root().join("data/communes-gironde.geojson"), dir.join("communes.geojson")).unwrap();
    let port = free_port();
    let child = bin()
        .arg("serve")
        .arg(&dir)
        .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let start = Instant::now();
    let body = loop {
        if let Some((200, body)) = http_get(port, "/health") {
            break body;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "server not ready");
        std::thread::sleep(Duration::from_millis(100));
    };
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
