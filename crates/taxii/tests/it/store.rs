//! The redb store on its own: versions, deletes, persistence across reopening.

use std::sync::Arc;

use vigil_taxii::{Query, RedbStore, TaxiiStore, VersionSel};

use crate::support::indicator;

#[test]
fn data_survives_reopening_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.redb");
    {
        let store = RedbStore::new(Arc::new(redb::Database::create(&path).unwrap())).unwrap();
        store.add("c", &[indicator(1, 1_700_000_000), indicator(2, 1_700_000_000)], 10).unwrap();
    }
    let store = RedbStore::new(Arc::new(redb::Database::create(&path).unwrap())).unwrap();
    let page = store.query("c", &Query::latest(10), true).unwrap();
    assert_eq!(page.records.len(), 2);
    // date_added never goes back even if the clock does.
    let out = store.add("c", &[indicator(3, 1_700_000_000)], 5).unwrap();
    assert_eq!(out.date_added, 10);
    // Other collections are separate.
    assert!(store.query("other", &Query::latest(10), false).unwrap().records.is_empty());
}

#[test]
fn deleting_the_latest_version_promotes_the_previous_one() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        RedbStore::new(Arc::new(redb::Database::create(dir.path().join("db")).unwrap())).unwrap();
    store.add("c", &[indicator(1, 1_700_000_000)], 1).unwrap();
    store.add("c", &[indicator(1, 1_700_000_100)], 2).unwrap();
    let latest = |s: &RedbStore| {
        s.query("c", &Query::latest(10), false)
            .unwrap()
            .records
            .iter()
            .map(|r| r.version)
            .collect::<Vec<_>>()
    };
    assert_eq!(latest(&store), [1_700_000_100_000_000]);
    let n =
        store.delete("c", indicator(1, 0).id(), &[VersionSel::At(1_700_000_100_000_000)]).unwrap();
    assert_eq!(n, 1);
    assert_eq!(latest(&store), [1_700_000_000_000_000]);
    assert_eq!(store.delete("c", indicator(1, 0).id(), &[VersionSel::All]).unwrap(), 1);
    assert!(latest(&store).is_empty());
}
