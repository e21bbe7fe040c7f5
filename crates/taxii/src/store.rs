//! The store seam: what the TAXII server needs from storage, independent of the database.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use vigil_intel::stix::StixObject;

use crate::time::Micros;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("storage error: {0}")]
    Db(String),
    /// Stored bytes do not decode (corruption or a newer format).
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
}

/// A position in a collection: the `(date_added, sequence)` of the last entry of a page.
/// Unique per entry, so a page boundary falls between two entries even when many share one
/// `date_added`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Cursor {
    /// The entry's `date_added`.
    pub added: Micros,
    /// The store's sequence number of the entry (strictly increasing with insertion).
    pub seq: u64,
}

/// Which versions of each object a query returns (TAXII `match[version]`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum VersionSel {
    /// The latest version (the default).
    Last,
    /// The first version.
    First,
    /// Every version.
    All,
    /// The version with this timestamp.
    At(Micros),
}

/// A query over one collection (the TAXII filters and paging parameters).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Query {
    /// Only entries added strictly after this time.
    pub added_after: Option<Micros>,
    /// Only these object ids (none: every id).
    pub ids: Vec<String>,
    /// Only these object types (none: every type).
    pub types: Vec<String>,
    /// Which versions (an entry passes if any selector matches).
    pub versions: Vec<VersionSel>,
    /// Only these `spec_version`s (none: every one).
    pub spec_versions: Vec<String>,
    /// Most entries to return.
    pub limit: usize,
    /// Continue after this position.
    pub next: Option<Cursor>,
}

impl Query {
    /// Every latest version, `limit` at a time.
    pub fn latest(limit: usize) -> Self {
        Self {
            added_after: None,
            ids: Vec::new(),
            types: Vec::new(),
            versions: vec![VersionSel::Last],
            spec_versions: Vec::new(),
            limit,
            next: None,
        }
    }
}

/// One stored version of one object, as a query returns it.
#[derive(Clone, Debug)]
pub struct Record {
    /// The object id.
    pub id: String,
    /// Its version (`modified`, else `created`, else `date_added`).
    pub version: Micros,
    /// When the server added it.
    pub date_added: Micros,
    /// Its position.
    pub cursor: Cursor,
    /// Its `spec_version`.
    pub spec_version: String,
    /// The object's JSON, when asked for.
    pub object: Option<Box<RawValue>>,
}

/// A page of a query.
#[derive(Clone, Debug)]
pub struct Page {
    /// The entries, in `(date_added, sequence)` order.
    pub records: Vec<Record>,
    /// Whether more entries match after these.
    pub more: bool,
}

impl Page {
    /// The cursor to continue from, when there is more.
    pub fn next(&self) -> Option<Cursor> {
        if self.more { self.records.last().map(|r| r.cursor) } else { None }
    }
}

/// What adding objects did.
#[derive(Clone, Debug, Default)]
pub struct AddOutcome {
    /// Objects stored (id, version), including those already present (adding is idempotent).
    pub added: Vec<(String, Micros)>,
    /// Of those, how many were new.
    pub new: usize,
    /// The `date_added` given to the new ones.
    pub date_added: Micros,
}

/// An object posted to a writable collection and waiting for review.
#[derive(
    Clone,
    PartialEq,
    Eq,
    Debug,
    Serialize,
    Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct ReviewItem {
    /// Position in the review queue.
    pub seq: u64,
    /// The collection it was posted to.
    pub collection: String,
    /// The object id.
    pub id: String,
    /// Its version.
    pub version: Micros,
    /// Who posted it.
    pub posted_by: String,
}

/// Storage for TAXII collections. Implementations must answer a page in time proportional to
/// the page (plus index look-ups), not to the collection.
pub trait TaxiiStore: Send + Sync + 'static {
    /// Adds objects to a collection at `now` (the store keeps `date_added` non-decreasing).
    /// An object already stored with the same id and version is left as it was.
    fn add(
        &self,
        collection: &str,
        objects: &[StixObject],
        now: Micros,
    ) -> Result<AddOutcome, StoreError>;

    /// Adds objects and queues the new ones for review, in one transaction.
    fn add_for_review(
        &self,
        collection: &str,
        objects: &[StixObject],
        now: Micros,
        posted_by: &str,
    ) -> Result<AddOutcome, StoreError>;

    /// Runs a query; `with_objects` also loads each entry's JSON.
    fn query(
        &self,
        collection: &str,
        query: &Query,
        with_objects: bool,
    ) -> Result<Page, StoreError>;

    /// Deletes the versions of one object the query selects; returns how many.
    fn delete(
        &self,
        collection: &str,
        id: &str,
        versions: &[VersionSel],
    ) -> Result<usize, StoreError>;

    /// Stores a status resource (JSON) under its id.
    fn put_status(&self, id: &str, owner: &str, status: &[u8]) -> Result<(), StoreError>;

    /// A status resource and its owner.
    fn status(&self, id: &str) -> Result<Option<(String, Vec<u8>)>, StoreError>;

    /// Up to `limit` queued review items after position `after`.
    fn review_queue(&self, after: Option<u64>, limit: usize)
    -> Result<Vec<ReviewItem>, StoreError>;

    /// Removes a review item once reviewed; `true` if it was queued.
    fn review_done(&self, seq: u64) -> Result<bool, StoreError>;
}
