//! Checks that the web map's MapLibre GL JS build is installed: the page
//! embeds `web/node_modules/maplibre-gl/dist/*` (from npm, pinned by
//! `web/package-lock.json`), so the binary needs no CDN.

use std::path::Path;

const FILES: &[&str] = &["maplibre-gl.mjs", "maplibre-gl-worker.mjs", "maplibre-gl.css"];

fn main() {
    let dist = Path::new("web/node_modules/maplibre-gl/dist");
    println!("cargo:rerun-if-changed=web/package-lock.json");
    for f in FILES {
        let p = dist.join(f);
        println!("cargo:rerun-if-changed={}", p.display());
        if !p.is_file() {
            panic!(
                "\n\n{} is missing: the web map embeds MapLibre GL JS from npm.\n\
                 Run `bash scripts/setup.sh` (or `npm ci --prefix crates/tuilerie-server/web`) and build again.\n\n",
                p.display()
            );
        }
    }
    for f in ["index.html", "app.js", "editor.js", "app.css", "favicon.svg"] {
        println!("cargo:rerun-if-changed=web/{f}");
    }
}
