//! Facility status in process: observations by sensor tokens (idempotent,
//! out of order, each refusal naming its member), the status in items,
//! `/nearest` (`available`, `max_crowd`) and tiles (only the facility's
//! tiles change), the batch form, history, buckets, busy hours, and the
//! status kept across a restart. Then the real binary: `/events` streams
//! the change, and `Last-Event-ID` replays what was missed.
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{demo, send, Reply};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tuilerie_server::store::Role;
use tuilerie_server::{AppState, ServerOptions};

const SENSOR: &str = "tlr_test-sensor";
/// The demo's recycling centre of Ambarès-et-Lagrave (it takes glass and paper).
const CENTRE: &str = "4020";
const CENTRE_AT: (f64, f64) = (-0.490256, 44.94966);
const ITEM: &str = "/collections/points-collecte/items/4020";

fn layers() -> Vec<tuilerie_server::config::LayerConfig> {
    let mut points = common::layer(demo("points-collecte-synthetiques.geojson"), "points-collecte", false);
    points.crowd_capacity = Some(40.0);
    vec![points, common::layer(demo("communes-gironde.geojson"), "communes", false)]
}

async fn post(state: &AppState, uri: &str, token: &str, body: Value) -> Reply {
    let r = Request::post(uri)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    send(state, r).await
}

fn ago(minutes: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::minutes(minutes)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn fill(category: &str, value: f64, minutes_ago: i64) -> Value {
    json!({"kind": "fill_level", "category": category, "value": value, "observed_at": ago(minutes_ago), "source": "capteur-7"})
}

fn tile_of(z: u8, lon: f64, lat: f64) -> (u32, u32) {
    let (x, y) = tuilerie_geo::tiling::lonlat_to_world(lon, lat);
    let n = f64::from(1u32 << z);
    ((x * n) as u32, (y * n) as u32)
}

fn ids(r: &Reply) -> Vec<String> {
    r.json()["features"].as_array().unwrap().iter().map(|f| f["id"].to_string()).collect()
}

#[tokio::test]
async fn observations_fold_into_items_nearest_and_tiles_and_survive_a_restart() {
    let dir = common::temp_dir("status");
    common::add_token(&dir, SENSOR, "sensor-7", Role::Sensor, Some(vec!["points-collecte".into()]));
    let state = common::with_store_in(&dir, &layers(), ServerOptions::default());
    let obs = format!("{ITEM}/observations");

    // Who may post, and what.
    let r = post(&state, &obs, "tlr_nobody", fill("verre", 0.5, 1)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = post(&state, "/collections/communes/items/33003/observations", SENSOR, fill("verre", 0.5, 1)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.json());
    let r =
        post(&state, "/collections/points-collecte/items/no-such/observations", SENSOR, fill("verre", 0.5, 1)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    for (bad, member) in [
        (fill("verre", 1.5, 1), "value"),
        (fill("plutonium", 0.5, 1), "category"),
        (json!({"kind": "fill_level", "value": 0.5, "observed_at": ago(-30), "source": "s"}), "observed_at"),
        (json!({"kind": "crowd", "value": {"count": "many"}, "observed_at": ago(1), "source": "s"}), "value.count"),
        (json!({"kind": "state", "value": "ajar", "observed_at": ago(1), "source": "s"}), "value"),
        (json!({"kind": "noise", "value": 1, "observed_at": ago(1), "source": "s"}), "kind"),
    ] {
        let r = post(&state, &obs, SENSOR, bad).await;
        assert_eq!((r.status, r.json()["parameter"].as_str()), (StatusCode::BAD_REQUEST, Some(member)), "{}", r.json());
    }
    let history = |q: &str| format!("{obs}?{q}");
    assert_eq!(common::get(&state, &history("")).await.json()["numberReturned"], 0, "nothing refused was stored");

    // A cached tile over the centre and a far one, before.
    let (x, y) = tile_of(14, CENTRE_AT.0, CENTRE_AT.1);
    let here = format!("/tiles/points-collecte/14/{x}/{y}.mvt");
    let (fx, fy) = tile_of(14, -0.13365, 45.008765);
    let far = format!("/tiles/points-collecte/14/{fx}/{fy}.mvt");
    let (e_here, e_far) =
        (common::get(&state, &here).await.header("etag"), common::get(&state, &far).await.header("etag"));
    assert!(!e_far.is_empty());

    // The glass skip is full; a replay stores nothing; an older reading
    // arriving late does not replace it.
    let full = fill("verre", 0.97, 5);
    let r = post(&state, &obs, SENSOR, full.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.json());
    assert_eq!(r.json()["observation"]["category"], "glass");
    assert_eq!(post(&state, &obs, SENSOR, full).await.status, StatusCode::OK);
    assert_eq!(post(&state, &obs, SENSOR, fill("glass", 0.1, 30)).await.status, StatusCode::CREATED);
    let item = common::get(&state, ITEM).await.json();
    let glass = &item["status"]["fill"][0];
    assert_eq!(
        (glass["category"].as_str(), glass["level"].as_f64(), glass["full"].as_bool()),
        (Some("glass"), Some(0.97), Some(true)),
        "{item}"
    );
    assert_eq!(glass["stale"], false);

    // /nearest: offered for glass without the filter, not with available=verre.
    let near = |q: &str| format!("/nearest?lon={}&lat={}&k=3&layers=points-collecte&{q}", CENTRE_AT.0, CENTRE_AT.1);
    let r = common::get(&state, &near("accepts=verre&type=centre")).await;
    assert_eq!(ids(&r)[0], CENTRE);
    assert_eq!(r.json()["features"][0]["status"]["fill"][0]["full"], true);
    let r = common::get(&state, &near("available=verre&type=centre")).await;
    assert!(!ids(&r).contains(&CENTRE.to_string()), "{:?}", ids(&r));
    let r = common::get(&state, &near("available=papier&type=centre")).await;
    assert_eq!(ids(&r)[0], CENTRE);
    assert_eq!(r.json()["features"][0]["available"], Value::Null, "no paper reading: kept and flagged unknown");
    assert_eq!(common::get(&state, &near("available=nothing")).await.json()["parameter"], "available");
    assert_eq!(common::get(&state, &near("max_crowd=2")).await.json()["parameter"], "max_crowd");

    // Tiles: the centre's tile changed and says which skip is full; the far one did not.
    let t = common::get(&state, &here).await;
    assert_ne!(t.header("etag"), e_here);
    assert!(t.body.windows(15).any(|w| w == b"full_categories"), "the tile carries the status");
    assert_eq!(common::get(&state, &far).await.header("etag"), e_far);

    // Crowd as people counted (capacity 40) and a closure: paper is no
    // longer available either, and max_crowd filters.
    let crowd = json!({"kind": "crowd", "value": {"count": 30}, "observed_at": ago(2), "source": "porte"});
    assert_eq!(post(&state, &obs, SENSOR, crowd).await.status, StatusCode::CREATED);
    let r = common::get(&state, &near("accepts=papier&type=centre&max_crowd=0.5")).await;
    assert!(!ids(&r).contains(&CENTRE.to_string()));
    let closed = json!({"kind": "state", "value": "closed", "until": (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339(), "observed_at": ago(1), "source": "agent"});
    assert_eq!(post(&state, &obs, SENSOR, closed).await.status, StatusCode::CREATED);
    let r = common::get(&state, &near("available=papier&type=centre")).await;
    assert!(!ids(&r).contains(&CENTRE.to_string()));

    // The batch form reports per item and stores the valid ones.
    let batch = json!([
        {"layer": "points-collecte", "feature": CENTRE, "kind": "fill_level", "category": "papier", "value": 0.4, "observed_at": ago(3), "source": "capteur-8"},
        {"layer": "points-collecte", "feature": CENTRE, "kind": "fill_level", "value": 7, "observed_at": ago(3), "source": "capteur-8"},
        {"layer": "points-collecte", "feature": "no-such", "kind": "crowd", "value": 0.2, "observed_at": ago(3), "source": "x"},
        {"layer": "communes", "feature": "33003", "kind": "crowd", "value": 0.2, "observed_at": ago(3), "source": "x"},
    ]);
    let r = post(&state, "/observations", SENSOR, batch).await;
    assert_eq!(r.status, StatusCode::OK);
    let statuses: Vec<u64> =
        r.json()["results"].as_array().unwrap().iter().map(|x| x["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [201, 400, 404, 403], "{}", r.json());
    assert_eq!(r.json()["results"][1]["parameter"], "value");

    // History: newest first, paged, bucketed; busy hours.
    let page = common::get(&state, &history("limit=2")).await.json();
    let times: Vec<&str> =
        page["observations"].as_array().unwrap().iter().map(|o| o["observed_at"].as_str().unwrap()).collect();
    assert_eq!(times.len(), 2);
    assert!(times[0] >= times[1]);
    let next = page["links"].as_array().unwrap().iter().find(|l| l["rel"] == "next").unwrap()["href"]
        .as_str()
        .unwrap()
        .to_string();
    let rest = common::get(&state, next.trim_start_matches("http://localhost")).await.json();
    assert_eq!(rest["numberReturned"], 2, "{rest}");
    assert!(rest["observations"][0]["observed_at"].as_str().unwrap() <= times[1]);
    assert_eq!(common::get(&state, &history("")).await.json()["numberReturned"], 5, "5 stored in all");
    let glass_only = common::get(&state, &history("kind=fill_level&category=verre")).await.json();
    assert_eq!(glass_only["numberReturned"], 2);
    let buckets = common::get(&state, &history("interval=1d&kind=fill_level&category=glass")).await.json();
    let total: u64 = buckets["buckets"].as_array().unwrap().iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 2, "{buckets}");
    assert_eq!(common::get(&state, &history("interval=soon")).await.json()["parameter"], "interval");
    assert_eq!(common::get(&state, &history("colour=red")).await.json()["parameter"], "colour");
    let busy = common::get(&state, &format!("{ITEM}/busy-hours")).await.json();
    assert_eq!(busy["observations"], 1);
    assert_eq!(busy["timezone"], "Europe/Paris");
    let feed = common::get(&state, "/observations?since=0&layer=points-collecte").await.json();
    assert_eq!(feed["numberReturned"], 5);

    // After a restart the status is the same.
    drop(state);
    let state = common::with_store_in(&dir, &layers(), ServerOptions::default());
    let item = common::get(&state, ITEM).await.json();
    assert_eq!(item["status"]["fill"].as_array().unwrap().len(), 2, "{item}");
    assert_eq!(item["status"]["state"]["value"], "closed");
    assert_eq!(item["status"]["crowd"]["count"], 30);
    assert_eq!(item["status"]["crowd"]["level"], 0.75);
}

/// A running `tuilerie serve`, killed when dropped.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tuilerie"))
}

/// A raw HTTP request on the loopback port: the open stream after the
/// response head, and the head.
fn open(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> (BufReader<TcpStream>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n", body.len());
    for (k, v) in headers {
        req = format!("{req}{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        if line == "\r\n" || line.is_empty() {
            break;
        }
        head.push_str(&line);
    }
    (r, head)
}

/// The next SSE event of a chunked stream: (id, event, data).
fn next_event(r: &mut BufReader<TcpStream>) -> (i64, String, Value) {
    let (mut id, mut event) = (0, String::new());
    loop {
        let mut line = String::new();
        assert!(r.read_line(&mut line).unwrap() > 0, "the stream ended");
        let line = line.trim_end();
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.parse().unwrap();
        } else if let Some(v) = line.strip_prefix("event: ") {
            event = v.to_string();
        } else if let Some(v) = line.strip_prefix("data: ") {
            if !event.is_empty() {
                return (id, event, serde_json::from_str(v).unwrap());
            }
        }
    }
}

#[test]
fn events_stream_status_changes_and_replay_what_was_missed() {
    let dir = common::temp_dir("events");
    let config = dir.join("tuilerie.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nwrite_rate = 0\n\n[[layers]]\npath = {:?}\nid = \"points-collecte\"\n",
            demo("points-collecte-synthetiques.geojson")
        ),
    )
    .unwrap();
    let out = bin()
        .args(["token", "create", "--role", "sensor", "--name", "door", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let port = common::free_port();
    let _server = Server(
        bin()
            .args(["serve", "--config"])
            .arg(&config)
            .env("TUILERIE_ADDR", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let start = Instant::now();
    while common::http_get(port, "/health").map(|r| r.0) != Some(200) {
        assert!(start.elapsed() < Duration::from_secs(30), "server not ready");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut stream, head) = open(port, "GET", "/events?layers=points-collecte", &[], "");
    assert!(head.contains("text/event-stream"), "{head}");
    let observe = |value: f64, minutes: i64| {
        let body = fill("verre", value, minutes).to_string();
        let auth = format!("Bearer {token}");
        let headers = [("Authorization", auth.as_str()), ("Content-Type", "application/json"), ("Connection", "close")];
        let (mut r, head) = open(port, "POST", &format!("{ITEM}/observations"), &headers, &body);
        let mut rest = String::new();
        let _ = r.read_to_string(&mut rest);
        assert!(head.starts_with("HTTP/1.1 201"), "{head}{rest}");
    };
    let sent = Instant::now();
    observe(0.98, 3);
    let (id, event, data) = next_event(&mut stream);
    let latency = sent.elapsed();
    assert_eq!(event, "status");
    assert!(latency < Duration::from_secs(2), "{latency:?}");
    assert_eq!(data["feature_id"], CENTRE);
    assert_eq!(data["feature"]["status"]["fill"][0]["full"], true);
    let (x, y) = tile_of(14, CENTRE_AT.0, CENTRE_AT.1);
    assert!(data["tiles"].as_array().unwrap().contains(&json!([14, x, y])), "{}", data["tiles"]);
    // Two more while disconnected, then a reconnection from the first id.
    drop(stream);
    observe(0.5, 2);
    observe(0.6, 1);
    let last = id.to_string();
    let (mut again, _) = open(port, "GET", "/events", &[("Last-Event-ID", &last)], "");
    let (id2, _, d2) = next_event(&mut again);
    let (id3, _, d3) = next_event(&mut again);
    assert!(id < id2 && id2 < id3, "{id} {id2} {id3}");
    assert_eq!((d2["observation"]["value"].as_f64(), d3["observation"]["value"].as_f64()), (Some(0.5), Some(0.6)));
    assert_eq!(d3["replayed"], true);
    let (_, head) = open(port, "GET", "/events?bbox=nonsense", &[("Connection", "close")], "");
    assert!(head.starts_with("HTTP/1.1 400"), "{head}");
}

/// Reads an in-process event stream until `want` events came (or it ended):
/// the text read.
async fn read_events(body: &mut Body, want: usize) -> String {
    use http_body_util::BodyExt;
    let mut text = String::new();
    while text.matches("\nevent: ").count() + usize::from(text.starts_with("event: ")) < want {
        let frame = tokio::time::timeout(Duration::from_secs(5), body.frame()).await.expect("an event within 5 s");
        match frame {
            Some(Ok(f)) => {
                if let Ok(data) = f.into_data() {
                    text.push_str(&String::from_utf8_lossy(&data));
                }
            }
            _ => break,
        }
    }
    text
}

#[tokio::test]
async fn edits_are_events_too_and_a_subscriber_that_falls_behind_is_dropped() {
    use tower::ServiceExt;
    let mut points = common::layer(demo("points-collecte-synthetiques.geojson"), "points-collecte", true);
    points.status_ttl = Some("1h".into());
    let state = common::with_store(&[points], ServerOptions::default());
    let open = |uri: &str| {
        let app = tuilerie_server::app(state.clone());
        let req = Request::get(uri).body(Body::empty()).unwrap();
        async move { app.oneshot(req).await.unwrap() }
    };
    let r = open("/events?layers=points-collecte").await;
    assert_eq!(r.headers()["content-type"], "text/event-stream; charset=utf-8");
    let mut live = r.into_body();
    // A feature created through Part 4 is announced once its layer is swapped in.
    let glass = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.57, 44.84]},
                       "properties": {"name": "Verre annoncé", "recycling:glass_bottles": "yes"}});
    let req = Request::post("/collections/points-collecte/items")
        .header("content-type", "application/geo+json")
        .body(Body::from(glass.to_string()))
        .unwrap();
    let created = send(&state, req).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let text = read_events(&mut live, 1).await;
    assert!(text.contains("event: feature"), "{text}");
    let data: Value = serde_json::from_str(text.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data["etag"], created.header("etag"));
    assert_eq!(data["feature"]["properties"]["name"], "Verre annoncé");
    // A subscriber that reads nothing while more batches than the channel
    // holds go by is told to reload, and its stream ends.
    let mut slow = open("/events").await.into_body();
    let hub = &state.writes.as_ref().unwrap().hub;
    for i in 0..(tuilerie_server::status::events::CHANNEL_EVENTS as i64 + 10) {
        let e = tuilerie_server::status::events::Event {
            id: 1_000_000 + i,
            kind: "status",
            layer: "points-collecte".into(),
            bbox: None,
            data: "{}".into(),
        };
        hub.publish(vec![std::sync::Arc::new(e)]);
    }
    let text = read_events(&mut slow, usize::MAX).await;
    assert!(text.contains("event: reload") && text.contains("fell behind"), "{text}");
    assert!(!text.contains("id: 1000000\n"), "the oldest batches were dropped, not queued without bound");
}

#[tokio::test]
async fn a_large_batch_is_checked_off_the_request_thread_and_stored_whole() {
    let state = common::with_store(&layers(), ServerOptions::default());
    // 1,000 observations (about 150 KB): past the size checked inline.
    let batch: Vec<Value> = (0..1000)
        .map(|i| {
            json!({"layer": "points-collecte", "feature": (1 + i % 50).to_string(), "kind": "fill_level",
                         "value": 0.5, "observed_at": ago(1), "source": format!("capteur-{i}")})
        })
        .collect();
    let body = Value::Array(batch);
    assert!(body.to_string().len() > 64 * 1024);
    let r = post(&state, "/observations", common::ADMIN, body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.json());
    assert_eq!((r.json()["stored"].as_u64(), r.json()["refused"].as_u64()), (Some(1000), Some(0)));
    // The same batch again stores nothing.
    let again = post(&state, "/observations", common::ADMIN, body).await.json();
    assert_eq!((again["stored"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(1000)));
    let feed = common::get(&state, "/observations?limit=10000").await.json();
    assert_eq!(feed["numberReturned"], 1000);
}
