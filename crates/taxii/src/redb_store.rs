//! The redb implementation of [`TaxiiStore`], in tables of a database the node owns (every
//! table name starts with `taxii_`).
//!
//! Layout (`coll` is the collection id):
//! - `taxii_objects`: `(coll, object id, version)` → the object and its `date_added`/sequence;
//! - `taxii_added`: `(coll, date_added, seq)` → `(id, version, spec_version)`, every version;
//! - `taxii_latest`: the same, only for the current latest version of each object;
//! - `taxii_type_added` / `taxii_type_latest`: the same keyed `(coll, type, date_added, seq)`;
//! - `taxii_latest_of`: `(coll, id)` → the latest version's `(version, date_added, seq)`;
//! - `taxii_status`, `taxii_review`, `taxii_meta`.
//!
//! A page is a range scan of one index from the cursor (or one per requested type, merged), so
//! its cost does not grow with the collection. Filters the indexes do not cover (explicit
//! versions, `first`, spec versions) are checked per entry while scanning.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Bound;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::value::RawValue;
use vigil_intel::stix::StixObject;

use crate::store::{
    AddOutcome, Cursor, Page, Query, Record, ReviewItem, StoreError, TaxiiStore, VersionSel,
};
use crate::time::{Micros, parse_micros};

type IndexKey<'a> = (&'a str, u64, u64);
type TypeIndexKey<'a> = (&'a str, &'a str, u64, u64);
type IndexValue<'a> = (&'a str, u64, &'a str);

const OBJECTS: TableDefinition<(&str, &str, u64), &[u8]> = TableDefinition::new("taxii_objects");
const ADDED: TableDefinition<IndexKey, IndexValue> = TableDefinition::new("taxii_added");
const LATEST: TableDefinition<IndexKey, IndexValue> = TableDefinition::new("taxii_latest");
const TYPE_ADDED: TableDefinition<TypeIndexKey, IndexValue> =
    TableDefinition::new("taxii_type_added");
const TYPE_LATEST: TableDefinition<TypeIndexKey, IndexValue> =
    TableDefinition::new("taxii_type_latest");
const LATEST_OF: TableDefinition<(&str, &str), (u64, u64, u64)> =
    TableDefinition::new("taxii_latest_of");
const STATUS: TableDefinition<&str, (&str, &[u8])> = TableDefinition::new("taxii_status");
const REVIEW: TableDefinition<u64, &[u8]> = TableDefinition::new("taxii_review");
const META: TableDefinition<&str, u64> = TableDefinition::new("taxii_meta");

/// A stored object version.
#[derive(BorshSerialize, BorshDeserialize)]
struct ObjectRow {
    added: u64,
    seq: u64,
    spec_version: String,
    json: Vec<u8>,
}

fn db_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Db(e.to_string())
}

/// The type part of an object id (`indicator--…` → `indicator`).
fn type_of(id: &str) -> &str {
    id.split_once("--").map_or(id, |(t, _)| t)
}

/// TAXII collections in a redb database shared with the rest of the node.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
}

/// One index entry, owned.
struct Hit {
    added: u64,
    seq: u64,
    id: String,
    version: u64,
    spec: String,
}

impl RedbStore {
    /// Opens the store's tables in `db`, creating them when missing.
    pub fn new(db: Arc<Database>) -> Result<Self, StoreError> {
        let txn = db.begin_write().map_err(db_err)?;
        {
            txn.open_table(OBJECTS).map_err(db_err)?;
            txn.open_table(ADDED).map_err(db_err)?;
            txn.open_table(LATEST).map_err(db_err)?;
            txn.open_table(TYPE_ADDED).map_err(db_err)?;
            txn.open_table(TYPE_LATEST).map_err(db_err)?;
            txn.open_table(LATEST_OF).map_err(db_err)?;
            txn.open_table(STATUS).map_err(db_err)?;
            txn.open_table(REVIEW).map_err(db_err)?;
            txn.open_table(META).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(Self { db })
    }

    /// The database (for the node's own tables).
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    fn add_in(
        &self,
        txn: &redb::WriteTransaction,
        collection: &str,
        objects: &[StixObject],
        now: Micros,
    ) -> Result<(AddOutcome, Vec<(String, u64)>), StoreError> {
        let mut objects_t = txn.open_table(OBJECTS).map_err(db_err)?;
        let mut added_t = txn.open_table(ADDED).map_err(db_err)?;
        let mut latest_t = txn.open_table(LATEST).map_err(db_err)?;
        let mut type_added_t = txn.open_table(TYPE_ADDED).map_err(db_err)?;
        let mut type_latest_t = txn.open_table(TYPE_LATEST).map_err(db_err)?;
        let mut latest_of_t = txn.open_table(LATEST_OF).map_err(db_err)?;
        let mut meta = txn.open_table(META).map_err(db_err)?;
        let mut seq = meta.get("seq").map_err(db_err)?.map_or(0, |v| v.value());
        let last_added = meta.get("last_added").map_err(db_err)?.map_or(0, |v| v.value());
        // date_added never goes backwards, even if the clock does: incremental sync by
        // added_after must not miss objects.
        let added = now.max(last_added);
        let mut outcome = AddOutcome { date_added: added, ..AddOutcome::default() };
        let mut new = Vec::new();
        for obj in objects {
            let id = obj.id();
            let version = obj.version().and_then(parse_micros).unwrap_or(added);
            outcome.added.push((id.to_owned(), version));
            if objects_t.get((collection, id, version)).map_err(db_err)?.is_some() {
                continue;
            }
            seq += 1;
            let spec = obj.spec_version();
            let t = type_of(id);
            let row = ObjectRow {
                added,
                seq,
                spec_version: spec.to_owned(),
                json: obj.to_json().into_bytes(),
            };
            let bytes = borsh::to_vec(&row).map_err(db_err)?;
            objects_t.insert((collection, id, version), bytes.as_slice()).map_err(db_err)?;
            added_t.insert((collection, added, seq), (id, version, spec)).map_err(db_err)?;
            type_added_t
                .insert((collection, t, added, seq), (id, version, spec))
                .map_err(db_err)?;
            let previous = latest_of_t.get((collection, id)).map_err(db_err)?.map(|g| g.value());
            let is_latest = match previous {
                Some((v, _, _)) if v > version => false,
                Some((_, a, s)) => {
                    latest_t.remove((collection, a, s)).map_err(db_err)?;
                    type_latest_t.remove((collection, t, a, s)).map_err(db_err)?;
                    true
                }
                None => true,
            };
            if is_latest {
                latest_of_t.insert((collection, id), (version, added, seq)).map_err(db_err)?;
                latest_t.insert((collection, added, seq), (id, version, spec)).map_err(db_err)?;
                type_latest_t
                    .insert((collection, t, added, seq), (id, version, spec))
                    .map_err(db_err)?;
            }
            outcome.new += 1;
            new.push((id.to_owned(), version));
        }
        meta.insert("seq", seq).map_err(db_err)?;
        meta.insert("last_added", added).map_err(db_err)?;
        Ok((outcome, new))
    }
}

/// Whether `(added, seq)` lies after the query's start.
fn after_start(added: u64, seq: u64, start: Option<(u64, u64)>) -> bool {
    start.is_none_or(|s| (added, seq) > s)
}

/// The exclusive start position of a query: after `added_after` and after the cursor.
fn start_of(query: &Query) -> Option<(u64, u64)> {
    let a = query.added_after.map(|a| (a, u64::MAX));
    let c = query.next.map(|c| (c.added, c.seq));
    a.max(c)
}

impl TaxiiStore for RedbStore {
    fn add(
        &self,
        collection: &str,
        objects: &[StixObject],
        now: Micros,
    ) -> Result<AddOutcome, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let (outcome, _) = self.add_in(&txn, collection, objects, now)?;
        txn.commit().map_err(db_err)?;
        Ok(outcome)
    }

    fn add_for_review(
        &self,
        collection: &str,
        objects: &[StixObject],
        now: Micros,
        posted_by: &str,
    ) -> Result<AddOutcome, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let (outcome, new) = self.add_in(&txn, collection, objects, now)?;
        {
            let mut review = txn.open_table(REVIEW).map_err(db_err)?;
            let mut meta = txn.open_table(META).map_err(db_err)?;
            let mut seq = meta.get("review_seq").map_err(db_err)?.map_or(0, |v| v.value());
            for (id, version) in new {
                seq += 1;
                let item = ReviewItem {
                    seq,
                    collection: collection.to_owned(),
                    id,
                    version,
                    posted_by: posted_by.to_owned(),
                };
                let bytes = borsh::to_vec(&item).map_err(db_err)?;
                review.insert(seq, bytes.as_slice()).map_err(db_err)?;
            }
            meta.insert("review_seq", seq).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        Ok(outcome)
    }

    fn query(
        &self,
        collection: &str,
        query: &Query,
        with_objects: bool,
    ) -> Result<Page, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let objects_t = txn.open_table(OBJECTS).map_err(db_err)?;
        let latest_of_t = txn.open_table(LATEST_OF).map_err(db_err)?;
        let limit = query.limit.max(1);
        let start = start_of(query);
        let versions =
            if query.versions.is_empty() { vec![VersionSel::Last] } else { query.versions.clone() };

        // Does this version of this object pass the version selectors?
        let version_ok = |id: &str, version: u64| -> Result<bool, StoreError> {
            for sel in &versions {
                let ok = match sel {
                    VersionSel::All => true,
                    VersionSel::At(t) => *t == version,
                    VersionSel::Last => latest_of_t
                        .get((collection, id))
                        .map_err(db_err)?
                        .is_some_and(|g| g.value().0 == version),
                    VersionSel::First => {
                        let mut r = objects_t
                            .range((collection, id, 0)..=(collection, id, u64::MAX))
                            .map_err(db_err)?;
                        match r.next() {
                            Some(first) => first.map_err(db_err)?.0.value().2 == version,
                            None => false,
                        }
                    }
                };
                if ok {
                    return Ok(true);
                }
            }
            Ok(false)
        };
        let spec_ok = |spec: &str| {
            query.spec_versions.is_empty() || query.spec_versions.iter().any(|s| s == spec)
        };

        let mut hits: Vec<Hit> = Vec::new();
        let mut more = false;
        if !query.ids.is_empty() {
            // By id: every stored version of the named objects, filtered, in date_added order.
            for id in &query.ids {
                if !query.types.is_empty() && !query.types.iter().any(|t| t == type_of(id)) {
                    continue;
                }
                for item in objects_t
                    .range((collection, id.as_str(), 0)..=(collection, id.as_str(), u64::MAX))
                    .map_err(db_err)?
                {
                    let (k, v) = item.map_err(db_err)?;
                    let version = k.value().2;
                    let row = ObjectRow::try_from_slice(v.value())
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                    if after_start(row.added, row.seq, start)
                        && spec_ok(&row.spec_version)
                        && version_ok(id, version)?
                    {
                        hits.push(Hit {
                            added: row.added,
                            seq: row.seq,
                            id: id.clone(),
                            version,
                            spec: row.spec_version,
                        });
                    }
                }
            }
            hits.sort_by_key(|h| (h.added, h.seq));
            hits.dedup_by_key(|h| h.seq);
            more = hits.len() > limit;
            hits.truncate(limit);
        } else {
            let only_last = versions == [VersionSel::Last];
            let lo = start.map_or(Bound::Unbounded, Bound::Excluded);
            // One ordered stream per index range; several types are merged by position.
            let mut streams: Vec<Box<dyn Iterator<Item = Result<Hit, StoreError>> + '_>> =
                Vec::new();
            let owned = |added: u64, seq: u64, v: IndexValue<'_>| Hit {
                added,
                seq,
                id: v.0.to_owned(),
                version: v.1,
                spec: v.2.to_owned(),
            };
            let latest_t;
            let added_t;
            let type_latest_t;
            let type_added_t;
            if query.types.is_empty() {
                let table = if only_last {
                    latest_t = txn.open_table(LATEST).map_err(db_err)?;
                    &latest_t
                } else {
                    added_t = txn.open_table(ADDED).map_err(db_err)?;
                    &added_t
                };
                let from = match lo {
                    Bound::Excluded((a, s)) => Bound::Excluded((collection, a, s)),
                    _ => Bound::Included((collection, 0, 0)),
                };
                let range = table
                    .range::<IndexKey>((from, Bound::Included((collection, u64::MAX, u64::MAX))))
                    .map_err(db_err)?;
                streams.push(Box::new(range.map(move |r| {
                    r.map_err(db_err).map(|(k, v)| {
                        let (_, a, s) = k.value();
                        owned(a, s, v.value())
                    })
                })));
            } else {
                let table = if only_last {
                    type_latest_t = txn.open_table(TYPE_LATEST).map_err(db_err)?;
                    &type_latest_t
                } else {
                    type_added_t = txn.open_table(TYPE_ADDED).map_err(db_err)?;
                    &type_added_t
                };
                let mut types: Vec<&str> = query.types.iter().map(String::as_str).collect();
                types.sort_unstable();
                types.dedup();
                for t in types {
                    let from = match lo {
                        Bound::Excluded((a, s)) => Bound::Excluded((collection, t, a, s)),
                        _ => Bound::Included((collection, t, 0, 0)),
                    };
                    let range = table
                        .range::<TypeIndexKey>((
                            from,
                            Bound::Included((collection, t, u64::MAX, u64::MAX)),
                        ))
                        .map_err(db_err)?;
                    streams.push(Box::new(range.map(move |r| {
                        r.map_err(db_err).map(|(k, v)| {
                            let (_, _, a, s) = k.value();
                            owned(a, s, v.value())
                        })
                    })));
                }
            }
            // k-way merge by (added, seq).
            let mut heads: Vec<Option<Hit>> = Vec::with_capacity(streams.len());
            let mut heap = BinaryHeap::new();
            for (i, s) in streams.iter_mut().enumerate() {
                let h = s.next().transpose()?;
                if let Some(h) = &h {
                    heap.push(Reverse((h.added, h.seq, i)));
                }
                heads.push(h);
            }
            while let Some(Reverse((_, _, i))) = heap.pop() {
                let Some(hit) = heads[i].take() else { continue };
                if let Some(n) = streams[i].next().transpose()? {
                    heap.push(Reverse((n.added, n.seq, i)));
                    heads[i] = Some(n);
                }
                if !spec_ok(&hit.spec) || (!only_last && !version_ok(&hit.id, hit.version)?) {
                    continue;
                }
                if hits.len() == limit {
                    more = true;
                    break;
                }
                hits.push(hit);
            }
        }

        let mut records = Vec::with_capacity(hits.len());
        for h in hits {
            let object = if with_objects {
                let guard = objects_t
                    .get((collection, h.id.as_str(), h.version))
                    .map_err(db_err)?
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "index names {} but the object is missing",
                            h.id
                        ))
                    })?;
                let row = ObjectRow::try_from_slice(guard.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                let text =
                    String::from_utf8(row.json).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Some(RawValue::from_string(text).map_err(|e| StoreError::Corrupt(e.to_string()))?)
            } else {
                None
            };
            records.push(Record {
                cursor: Cursor { added: h.added, seq: h.seq },
                id: h.id,
                version: h.version,
                date_added: h.added,
                spec_version: h.spec,
                object,
            });
        }
        Ok(Page { records, more })
    }

    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &[VersionSel],
    ) -> Result<usize, StoreError> {
        let all = Query {
            added_after: None,
            ids: vec![id.to_owned()],
            types: Vec::new(),
            versions: versions.to_vec(),
            spec_versions: Vec::new(),
            limit: usize::MAX,
            next: None,
        };
        let doomed = self.query(collection, &all, false)?.records;
        if doomed.is_empty() {
            return Ok(0);
        }
        let t = type_of(id);
        let txn = self.db.begin_write().map_err(db_err)?;
        {
            let mut objects_t = txn.open_table(OBJECTS).map_err(db_err)?;
            let mut added_t = txn.open_table(ADDED).map_err(db_err)?;
            let mut latest_t = txn.open_table(LATEST).map_err(db_err)?;
            let mut type_added_t = txn.open_table(TYPE_ADDED).map_err(db_err)?;
            let mut type_latest_t = txn.open_table(TYPE_LATEST).map_err(db_err)?;
            let mut latest_of_t = txn.open_table(LATEST_OF).map_err(db_err)?;
            for r in &doomed {
                objects_t.remove((collection, id, r.version)).map_err(db_err)?;
                added_t.remove((collection, r.date_added, r.cursor.seq)).map_err(db_err)?;
                type_added_t.remove((collection, t, r.date_added, r.cursor.seq)).map_err(db_err)?;
                latest_t.remove((collection, r.date_added, r.cursor.seq)).map_err(db_err)?;
                type_latest_t
                    .remove((collection, t, r.date_added, r.cursor.seq))
                    .map_err(db_err)?;
            }
            latest_of_t.remove((collection, id)).map_err(db_err)?;
            // The newest remaining version becomes the latest.
            let newest = objects_t
                .range((collection, id, 0)..=(collection, id, u64::MAX))
                .map_err(db_err)?
                .next_back()
                .transpose()
                .map_err(db_err)?
                .map(|(k, v)| (k.value().2, v.value().to_vec()));
            if let Some((version, bytes)) = newest {
                let row = ObjectRow::try_from_slice(&bytes)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                latest_of_t
                    .insert((collection, id), (version, row.added, row.seq))
                    .map_err(db_err)?;
                let spec = row.spec_version.as_str();
                latest_t
                    .insert((collection, row.added, row.seq), (id, version, spec))
                    .map_err(db_err)?;
                type_latest_t
                    .insert((collection, t, row.added, row.seq), (id, version, spec))
                    .map_err(db_err)?;
            }
        }
        txn.commit().map_err(db_err)?;
        Ok(doomed.len())
    }

    fn put_status(&self, id: &str, owner: &str, status: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        txn.open_table(STATUS).map_err(db_err)?.insert(id, (owner, status)).map_err(db_err)?;
        txn.commit().map_err(db_err)
    }

    fn status(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(STATUS).map_err(db_err)?;
        Ok(t.get(id).map_err(db_err)?.map(|g| {
            let (owner, bytes) = g.value();
            (owner.to_owned(), bytes.to_vec())
        }))
    }

    fn review_queue(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ReviewItem>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(REVIEW).map_err(db_err)?;
        let from = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut out = Vec::new();
        for item in t.range::<u64>((from, Bound::Unbounded)).map_err(db_err)?.take(limit) {
            let (_, v) = item.map_err(db_err)?;
            out.push(
                ReviewItem::try_from_slice(v.value())
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        Ok(out)
    }

    fn review_done(&self, seq: u64) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let removed =
            txn.open_table(REVIEW).map_err(db_err)?.remove(seq).map_err(db_err)?.is_some();
        txn.commit().map_err(db_err)?;
        Ok(removed)
    }
}
