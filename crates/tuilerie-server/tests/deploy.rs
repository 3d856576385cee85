//! The example deployment in deploy/ stays what the server reads: its
//! configuration parses with no unknown key and says what deploy/README.md
//! says it does. (deploy/nginx/tuilerie.conf is run by scripts/replicas.py.)
#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod common;

use tuilerie_server::config::Config;

#[test]
fn the_example_configuration_is_valid_and_complete() {
    let path = common::root().join("deploy/tuilerie.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut unknown = Vec::new();
    let _: Config =
        serde_ignored::deserialize(toml::Deserializer::parse(&text).unwrap(), |p| unknown.push(p.to_string())).unwrap();
    assert!(unknown.is_empty(), "keys the server ignores: {unknown:?}");
    let c = Config::from_file(&path).expect("deploy/tuilerie.toml");
    assert!(c.server.store.as_deref().is_some_and(|s| s.starts_with("postgres://")), "a shared store");
    assert!(c.server.public_url.is_some(), "every replica builds the same links");
    assert_eq!(c.tiles.cache_control, "public, max-age=300, stale-while-revalidate=3600");
    assert_eq!(c.layers.len(), 2);
    assert!(c.layers[0].editable && !c.layers[1].editable);
    // The unit starts replicas on the file the README installs.
    let unit = std::fs::read_to_string(common::root().join("deploy/systemd/tuilerie@.service")).unwrap();
    assert!(unit.contains("--config /etc/tuilerie/tuilerie.toml") && unit.contains("--addr 127.0.0.1:%i"), "{unit}");
}
