//! The HTTP ceiling for cached tiles: a trivial axum handler returning a
//! static 500-byte body, run with the same runtime settings as tuilerie.
//!
//!     cargo run --release -p tuilerie-server --example static_ceiling -- 127.0.0.1:18081

use axum::routing::get;
use axum::Router;

static BODY: [u8; 500] = [b'x'; 500];

fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18081".into());
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let app = Router::new().fallback(get(|| async { &BODY[..] }));
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        axum::serve(listener, app).await?;
        Ok(())
    })
}
