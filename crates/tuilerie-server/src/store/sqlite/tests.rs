//! The SQLite store's tests: journal, observations, schema versions and
//! concurrent opening.

use super::*;

fn change(id: &str, op: &str) -> ChangeRecord {
    ChangeRecord {
        seq: 0,
        at: super::super::now(),
        token: "t".into(),
        op: op.into(),
        kind: "feature".into(),
        layer: Some("l".into()),
        id: id.into(),
        before: None,
        after: Some("{\"a\":1}".into()),
    }
}

#[test]
fn a_batch_is_applied_whole_and_survives_reopening() {
    let dir = std::env::temp_dir().join(format!("tuilerie-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let s = SqliteStore::open(&dir).unwrap();
        let w = |id: &str| Write {
            change: change(id, "create"),
            effect: Effect::Feature { created: true, content: Some("{}".into()) },
        };
        let seqs = s.apply(&[w("a"), w("b")]).unwrap();
        assert_eq!(seqs, vec![1, 2]);
        let del = Write { change: change("a", "delete"), effect: Effect::Feature { created: true, content: None } };
        s.apply(&[del]).unwrap();
    }
    let s = SqliteStore::open(&dir).unwrap();
    let f = s.features().unwrap();
    assert_eq!(f.len(), 2);
    let a = f.iter().find(|r| r.id == "a").unwrap();
    assert_eq!((a.seq, a.content.as_deref()), (3, None));
    assert_eq!(s.changes(0, Some("l"), Some("a"), 10).unwrap().len(), 2);
    assert_eq!(s.changes(2, None, None, 10).unwrap().len(), 1);
    // The audit log cannot be rewritten, even by hand.
    let e = s.writer().execute("DELETE FROM changes", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn observations_are_stored_once_and_pruning_keeps_the_current_ones() {
    let dir = std::env::temp_dir().join(format!("tuilerie-store-obs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let s = SqliteStore::open(&dir).unwrap();
    let o = |at: i64, source: &str| ObservationRecord {
        layer: "l".into(),
        feature: "f".into(),
        kind: "fill_level".into(),
        source: source.into(),
        observed_at: at,
        value: Some(0.5),
        token: "t".into(),
        ..Default::default()
    };
    let w = Write { change: change("a", "create"), effect: Effect::Feature { created: true, content: None } };
    let (seqs, got) = s.apply_all(&[w], &[o(1000, "a"), o(1000, "a"), o(500, "b"), o(2000, "a")]).unwrap();
    // One sequence for the audit log and the observations.
    assert_eq!(seqs, vec![1]);
    assert_eq!(got, vec![Observed::Stored(2), Observed::Duplicate, Observed::Stored(3), Observed::Stored(4)]);
    let current = s.current_observations().unwrap();
    assert_eq!(current.iter().map(|c| c.observed_at).collect::<Vec<_>>(), vec![2000]);
    assert_eq!(s.observations_since(2, 10).unwrap().len(), 2);
    // Everything older than 3000 goes, but the current one stays.
    assert_eq!(s.prune_observations("l", 3000).unwrap(), 2);
    let filter = ObservationFilter { layer: "l".into(), feature: "f".into(), ..Default::default() };
    assert_eq!(s.observations(&filter, 0, 10).unwrap().len(), 1);
    assert_eq!(s.last_seq().unwrap(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn processes_opening_a_new_store_at_once_all_open_it() {
    // Two openers released together on a fresh directory, many times:
    // each must open the store, migrated once.
    for round in 0..25 {
        let dir = std::env::temp_dir().join(format!("tuilerie-store-race-{}-{round}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let go = std::sync::Arc::new(std::sync::Barrier::new(2));
        let openers: Vec<_> = (0..2)
            .map(|_| {
                let (dir, go) = (dir.clone(), go.clone());
                std::thread::spawn(move || {
                    go.wait();
                    SqliteStore::open(&dir).map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        for o in openers {
            assert_eq!(o.join().unwrap(), Ok(()), "round {round}");
        }
        let db = Connection::open(dir.join("tuilerie.db")).unwrap();
        let v: i64 = db.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(v as usize, SCHEMA_VERSION);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_store_of_a_newer_version_or_another_application_is_refused_unchanged() {
    let dir = std::env::temp_dir().join(format!("tuilerie-store-newer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    drop(SqliteStore::open(&dir).unwrap());
    let db = dir.join("tuilerie.db");
    Connection::open(&db).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let e = SqliteStore::open(&dir).err().unwrap().to_string();
    assert!(e.contains("schema version 99") && e.contains("newer tuilerie"), "{e}");
    let v: i64 = Connection::open(&db).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(v, 99);
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    Connection::open(&db).unwrap().execute_batch("CREATE TABLE other (x)").unwrap();
    let e = SqliteStore::open(&dir).err().unwrap().to_string();
    assert!(e.contains("not a tuilerie store"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
