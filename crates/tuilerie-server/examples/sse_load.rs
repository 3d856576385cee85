//! Load for the live map: N subscribers on `GET /events` while observations
//! arrive at a fixed rate, measuring the delivery latency (from the post of
//! an observation to its event at each subscriber) and the server's memory.
//!
//!   cargo run --release -p tuilerie-server --example sse_load -- \
//!       ADDR TOKEN LAYER SUBSCRIBERS RATE SECONDS [FEATURES] [SERVER_PID]
//!
//! RATE observations per second are posted in batches every 100 ms
//! (POST /observations), fill levels of features 1..=FEATURES of LAYER.
//! With SUBSCRIBERS = 0 it only posts (the load of a throughput test). Prints
//! one JSON line: events delivered, latency p50/p99/max in ms, the server's
//! resident memory before and after the subscribers connected (from
//! /proc/SERVER_PID/status).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    text.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

/// Milliseconds since the epoch of the `observed_at` of an event's
/// observation.
fn observed_ms(data: &str) -> Option<i64> {
    let at = data.find("\"observation\":")?;
    let rest = &data[at..];
    let t = rest.find("\"observed_at\":\"")? + "\"observed_at\":\"".len();
    let end = rest[t..].find('"')?;
    chrono::DateTime::parse_from_rfc3339(&rest[t..t + end]).ok().map(|d| d.timestamp_millis())
}

async fn subscriber(addr: String, latencies: Arc<Mutex<Vec<u32>>>, events: Arc<AtomicU64>, ready: Arc<AtomicU64>) {
    let Ok(mut s) = TcpStream::connect(&addr).await else { return };
    let req = format!("GET /events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
    if s.write_all(req.as_bytes()).await.is_err() {
        return;
    }
    let mut r = BufReader::with_capacity(1 << 16, s);
    let mut line = String::new();
    let mut counted = false;
    loop {
        line.clear();
        match r.read_line(&mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if !counted && line.starts_with(": tuilerie events") {
            counted = true;
            ready.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let now = chrono::Utc::now().timestamp_millis();
            if let Some(t) = observed_ms(data) {
                // This subscriber's own lock: never contended but at the end.
                latencies.lock().unwrap_or_else(|e| e.into_inner()).push((now - t).max(0) as u32);
                events.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Posts `rate` observations a second for `seconds`, in batches every 100
/// ms on one keep-alive connection.
async fn poster(addr: String, token: String, layer: String, rate: u64, features: u64, seconds: f64, me: u64) -> u64 {
    let Ok(mut s) = TcpStream::connect(&addr).await else { return 0 };
    let per_batch = (rate / 10).max(1);
    let start = Instant::now();
    let mut n = 0u64;
    // (A late tick is made up for at once: the mean rate holds.)
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut buf = vec![0u8; 1 << 20];
    while start.elapsed().as_secs_f64() < seconds {
        tick.tick().await;
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let items: Vec<String> = (0..per_batch)
            .map(|_| {
                n += 1;
                format!(
                    r#"{{"layer":"{layer}","feature":"{}","kind":"fill_level","category":"glass","value":{:.3},"observed_at":"{at}","source":"load-{me}-{n}"}}"#,
                    1 + (n * 7919 + me * 104729) % features,
                    (n % 1000) as f64 / 1000.0
                )
            })
            .collect();
        let body = format!("[{}]", items.join(","));
        let req = format!(
            "POST /observations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if s.write_all(req.as_bytes()).await.is_err() {
            break;
        }
        // Read the answer: headers, then Content-Length bytes.
        let mut head = Vec::new();
        loop {
            let k = match s.read(&mut buf).await {
                Ok(0) | Err(_) => return n,
                Ok(k) => k,
            };
            head.extend_from_slice(&buf[..k]);
            let text = String::from_utf8_lossy(&head);
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                    .and_then(|v| v.parse::<usize>().ok())
                    .unwrap_or(0);
                if !text.starts_with("HTTP/1.1 200") {
                    eprintln!("sse_load: post answered {}", text.lines().next().unwrap_or(""));
                }
                if head.len() >= end + 4 + len {
                    break;
                }
            }
        }
    }
    n
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 6 {
        eprintln!("usage: sse_load ADDR TOKEN LAYER SUBSCRIBERS RATE SECONDS [FEATURES] [SERVER_PID]");
        std::process::exit(2);
    }
    let (addr, token, layer) = (a[0].clone(), a[1].clone(), a[2].clone());
    let subscribers: u64 = a[3].parse().expect("SUBSCRIBERS");
    let rate: u64 = a[4].parse().expect("RATE");
    let seconds: f64 = a[5].parse().expect("SECONDS");
    let features: u64 = a.get(6).map(|f| f.parse().expect("FEATURES")).unwrap_or(4000);
    let pid: Option<u32> = a.get(7).map(|p| p.parse().expect("SERVER_PID"));
    let rss_before = rss_kib(pid);
    let mut all: Vec<Arc<Mutex<Vec<u32>>>> = Vec::new();
    let events = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicU64::new(0));
    for _ in 0..subscribers {
        let mine = Arc::new(Mutex::new(Vec::new()));
        all.push(mine.clone());
        tokio::spawn(subscriber(addr.clone(), mine, events.clone(), ready.clone()));
    }
    let wait = Instant::now();
    while ready.load(Ordering::Relaxed) < subscribers && wait.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let connected = ready.load(Ordering::Relaxed);
    let rss_connected = rss_kib(pid);
    // Four posters on their own connections, so that one slow answer does
    // not lower the rate.
    let posters: Vec<_> = (0..4u64)
        .map(|i| {
            let (addr, token, layer) = (addr.clone(), token.clone(), layer.clone());
            tokio::spawn(poster(addr, token, layer, rate / 4, features, seconds, i))
        })
        .collect();
    let mut posted = 0;
    for p in posters {
        posted += p.await.unwrap_or(0);
    }
    // Let the last events arrive.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut l: Vec<u32> =
        all.iter().flat_map(|m| std::mem::take(&mut *m.lock().unwrap_or_else(|e| e.into_inner()))).collect();
    l.sort_unstable();
    let per_sub = match (rss_before, rss_connected) {
        (Some(b), Some(c)) if connected > 0 => Some((c.saturating_sub(b)) as f64 * 1024.0 / connected as f64),
        _ => None,
    };
    println!(
        "{}",
        serde_json::json!({
            "subscribers": connected,
            "posted": posted,
            "seconds": seconds,
            "events_delivered": events.load(Ordering::Relaxed),
            "latency_p50_ms": percentile(&l, 0.5),
            "latency_p99_ms": percentile(&l, 0.99),
            "latency_max_ms": l.last().copied().unwrap_or(0),
            "rss_kib_before": rss_before,
            "rss_kib_connected": rss_connected,
            "rss_kib_end": rss_kib(pid),
            "bytes_per_subscriber": per_sub.map(|b| b.round()),
        })
    );
    std::process::exit(0);
}
