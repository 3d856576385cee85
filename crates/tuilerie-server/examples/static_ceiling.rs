//! The HTTP ceiling for cached tiles: a trivial axum handler returning a
//! static body (500 bytes unless a size is given), run with the same
//! runtime settings as tuilerie. A second size shows what the body's size
//! alone costs (e.g. the 10.7 KB of a gzipped communes z6 tile).
//!
//!     cargo run --release -p tuilerie-server --example static_ceiling -- 127.0.0.1:18081 [BYTES]

use axum::routing::get;
use axum::Router;
use bytes::Bytes;

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    let size: usize = match std::env::args().nth(2) {
        Some(s) => s.parse().map_err(|_| anyhow::anyhow!("body size must be a number of bytes, got {s:?}"))?,
        None => 500,
    };
    let body = Bytes::from(vec![b'x'; size]);
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let app = Router::new().fallback(get(move || async move { body.clone() }));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}
