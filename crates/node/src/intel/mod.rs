//! Threat intelligence in the node: the indicator book persisted in the node's redb file, the
//! admin-token-guarded import endpoint, feed answers for `GET /v1/check`, STIX exports, the
//! TAXII 2.1 server under `/taxii2/`, and the task that appends ledger reports, opinions and
//! confirmed indicators to the TAXII collections as blocks commit.
//!
//! Invariants: the book in memory is always the one last committed to the database — an import
//! is compared with the book entry by entry into a plan of what changes, the merged book is
//! written in one redb write transaction, and only then is the plan applied in memory, so a
//! failed or refused import changes nothing; imports are serialised; merging the same feed twice
//! writes nothing the second time, and copies nothing. Readers (`/v1/check`, detectors) take a
//! snapshot ([`Intel::book`]); they wait for an import only while its committed changes are put
//! into the book (one insert per changed record), never while it is read, compared or written. Secrets (the admin token, TAXII
//! credentials) never reach a log. A TAXII pull ([`pull`]) merges page by page, each page with
//! its cursor in one transaction.

mod admin;
pub mod check;
pub mod export;
pub mod pull;
pub mod service;
pub mod taxii_feed;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use vigil_core::Indicator;
use vigil_detect::{IndicatorIndex, IndicatorMeta, IndicatorUpdate};
use vigil_intel::stix::Tlp;
use vigil_intel::{BookBytes, BookDecodeError, ImportReport, IndicatorBook, MergePlan, Timestamp};
use vigil_taxii::TaxiiState;

pub use admin::AdminToken;

/// The book, in its storage form ([`IndicatorBook::to_bytes`]), under [`BOOK_KEY`].
const BOOK: TableDefinition<&str, &[u8]> = TableDefinition::new("intel_book");
/// The history of imports that changed the book: sequence → JSON [`ImportRecord`].
const IMPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("intel_imports");
const BOOK_KEY: &str = "book";

/// What [`Intel::import`] writes besides the book: nothing.
type NothingMore = fn(&redb::WriteTransaction) -> Result<(), IntelError>;

/// The `[intel]` section of the node's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntelConfig {
    /// File holding the admin token that write endpoints (`POST /v1/intel/imports`) require
    /// as `Authorization: Bearer <token>`. Created (mode 0600, 256 random bits) at the first
    /// start when absent; relative to the configuration file's directory.
    pub admin_token_file: PathBuf,
    /// Largest import request body, in bytes.
    pub max_import_bytes: usize,
    /// TLP marking of what the node exports and serves over TAXII.
    pub tlp: Tlp,
    /// TAXII 2.1 collections the node pulls indicators from on a schedule (`[[intel.pull]]`).
    pub pull: Vec<pull::PullConfig>,
}

impl Default for IntelConfig {
    fn default() -> Self {
        Self {
            admin_token_file: "admin.token".into(),
            max_import_bytes: 256 << 20,
            tlp: Tlp::Clear,
            pull: Vec::new(),
        }
    }
}

impl IntelConfig {
    /// What is wrong with the section, as `(field, why)`.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        self.pull.iter().try_for_each(pull::PullConfig::check)
    }

    /// The same section with a relative token path made relative to `base`.
    pub fn resolved(mut self, base: &Path) -> Self {
        if self.admin_token_file.is_relative() {
            self.admin_token_file = base.join(&self.admin_token_file);
        }
        self
    }
}

/// Why intelligence could not be loaded, stored or served.
#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    /// The database failed.
    #[error("intel storage: {0}")]
    Db(String),
    /// The stored book does not decode: the node refuses to start rather than lose it.
    #[error("the stored indicator book cannot be read ({0}); the database is kept as it is")]
    Corrupt(#[from] BookDecodeError),
    /// The admin token file.
    #[error("admin token {path}: {reason}")]
    AdminToken {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The `[taxii]` section.
    #[error("{0}")]
    Taxii(#[from] vigil_taxii::ConfigError),
    /// The TAXII store.
    #[error("taxii store: {0}")]
    TaxiiStore(#[from] vigil_taxii::StoreError),
    /// What was asked for does not exist.
    #[error("{0}")]
    NotFound(String),
    /// An import that cannot be merged.
    #[error("{0}")]
    BadImport(String),
}

fn db_err(e: impl std::fmt::Display) -> IntelError {
    IntelError::Db(e.to_string())
}

/// One import that changed the book, as `GET /v1/intel/sources` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportRecord {
    /// Position in the history.
    pub seq: u64,
    /// When the node merged it.
    pub at: Timestamp,
    /// The file name the CLI read, if it said.
    pub file: Option<String>,
    /// What the import did (counts relative to the node's book).
    pub report: ImportReport,
}

/// An import as the CLI sends it: a feed parsed locally into a book of its own.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// What the local parse found (read, skipped, rejected, duplicates within the file).
    pub parsed: ImportReport,
    /// The file name, for the history.
    #[serde(default)]
    pub file: Option<String>,
    /// The parsed feed: entries, allow/fuzzy names and policy of the one source
    /// `parsed.source`, in its storage form ([`IndicatorBook::to_bytes`]) as base64 — compact,
    /// and checked as it is decoded. The node merges it from that form entry by entry: it is
    /// never built as a second book.
    #[serde(with = "book_base64")]
    pub book: BookBytes,
}

/// A book's storage form as base64.
mod book_base64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use vigil_intel::BookBytes;

    pub fn serialize<S: Serializer>(book: &BookBytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(book.as_bytes()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BookBytes, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = STANDARD
            .decode(text.as_bytes())
            .map_err(|e| D::Error::custom(format!("book is not base64: {e}")))?;
        drop(text);
        BookBytes::new(bytes).map_err(D::Error::custom)
    }
}

/// What an import did on the node.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportOutcome {
    /// The import report, counted against the node's book: `imported` are indicators and
    /// names new to the node; `merged` are duplicates within the file plus those already known.
    pub report: ImportReport,
    /// Whether the book changed (`false` when the same feed was imported before).
    pub changed: bool,
    /// Indicators in the book now.
    pub indicators: usize,
}

/// The book's share of the detection index at one moment: one entry per active
/// `(indicator, "feed:<source>")`, with the source's decayed confidence, first label and
/// category.
pub type FeedEntries = BTreeMap<(Indicator, String), IndicatorMeta>;

/// The updates that turn a running index holding `old` into one holding `new`: an upsert for
/// each entry that is new or changed (a confidence decayed, a label re-imported), a removal for
/// each that is gone (expired, decayed below its threshold, past its `valid_until`).
pub fn feed_updates(old: &FeedEntries, new: &FeedEntries) -> Vec<IndicatorUpdate> {
    let gone = old.keys().filter(|k| !new.contains_key(*k)).map(|(indicator, source)| {
        IndicatorUpdate::Remove { indicator: indicator.clone(), source: source.clone() }
    });
    let changed = new
        .iter()
        .filter(|(k, meta)| old.get(*k) != Some(*meta))
        .map(|((i, _), meta)| IndicatorUpdate::Upsert { indicator: i.clone(), meta: meta.clone() });
    gone.chain(changed).collect()
}

/// An object posted to a writable TAXII collection and waiting for an operator's decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewEntry {
    /// Position in the queue (what `vigil feed review --accept|--reject` takes).
    pub seq: u64,
    /// The collection it was posted to.
    pub collection: String,
    /// The STIX id.
    pub id: String,
    /// Its version, RFC 3339.
    pub version: String,
    /// The TAXII user who posted it.
    pub posted_by: String,
    /// The object itself (absent if it was deleted from the collection meanwhile).
    pub object: Option<serde_json::Value>,
}

/// What an operator decides about a queued object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewDecision {
    /// Import its indicators into the book (source `taxii:<poster>` unless named).
    Accept,
    /// Drop it from the queue and delete it from the collection.
    Reject,
}

/// The result of a decision.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReviewOutcome {
    /// The item decided.
    pub item: ReviewEntry,
    /// What was decided.
    pub decision: ReviewDecision,
    /// The import into the book, for an accepted object.
    pub import: Option<ImportOutcome>,
}

/// The node's threat intelligence: the book and what serves it.
pub struct Intel {
    db: Arc<Database>,
    book: RwLock<Arc<IndicatorBook>>,
    version: watch::Sender<u64>,
    writer: Mutex<()>,
    admin: OnceLock<AdminToken>,
    taxii: OnceLock<Arc<TaxiiState>>,
    config: OnceLock<IntelConfig>,
    pulls: pull::Running,
}

/// A queued item with its object, read from its collection.
fn review_entry(
    store: &dyn vigil_taxii::TaxiiStore,
    item: vigil_taxii::ReviewItem,
) -> Result<ReviewEntry, IntelError> {
    let query = vigil_taxii::Query {
        ids: vec![item.id.clone()],
        versions: vec![vigil_taxii::VersionSel::At(item.version)],
        ..vigil_taxii::Query::latest(1)
    };
    let page = store.query(&item.collection, &query, true)?;
    let object = page
        .records
        .into_iter()
        .find_map(|r| r.object)
        .map(|raw| serde_json::from_str(raw.get()).map_err(db_err))
        .transpose()?;
    Ok(ReviewEntry {
        seq: item.seq,
        // The collection posted to, not the store key of the poster's submissions in it.
        collection: vigil_taxii::collection_of_key(&item.collection).to_owned(),
        id: item.id,
        version: vigil_taxii::format_micros(item.version),
        posted_by: item.posted_by,
        object,
    })
}

/// Now, in whole seconds.
pub fn now() -> Timestamp {
    Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0))
}

impl Intel {
    /// An empty book over the node's database; [`load`](Self::load) reads the stored one.
    pub fn new(db: Arc<Database>) -> Self {
        Self {
            db,
            book: RwLock::new(Arc::new(IndicatorBook::new())),
            version: watch::Sender::new(0),
            writer: Mutex::new(()),
            admin: OnceLock::new(),
            taxii: OnceLock::new(),
            config: OnceLock::new(),
            pulls: pull::Running::default(),
        }
    }

    /// Reads the stored book (an empty one when none was stored); returns its size.
    pub fn load(&self) -> Result<usize, IntelError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let book = match txn.open_table(BOOK) {
            Ok(table) => match table.get(BOOK_KEY).map_err(db_err)? {
                Some(bytes) => IndicatorBook::from_bytes(bytes.value())?,
                None => IndicatorBook::new(),
            },
            Err(redb::TableError::TableDoesNotExist(_)) => IndicatorBook::new(),
            Err(e) => return Err(db_err(e)),
        };
        let n = book.len();
        *self.book.write() = Arc::new(book);
        self.version.send_modify(|v| *v += 1);
        Ok(n)
    }

    /// A snapshot of the book (cheap: shares the current one).
    pub fn book(&self) -> Arc<IndicatorBook> {
        Arc::clone(&self.book.read())
    }

    /// Notified with a new version number after each import that changed the book (and after
    /// the stored book is loaded at start). Detectors rebuild their index from
    /// [`detection_indicators`](Self::detection_indicators) when it changes.
    pub fn changes(&self) -> watch::Receiver<u64> {
        self.version.subscribe()
    }

    /// The book's detection entries at `now` (see [`FeedEntries`]); expired and no-longer-valid
    /// entries are left out.
    pub fn detection_entries(&self, now: Timestamp) -> FeedEntries {
        let book = self.book();
        let mut out = FeedEntries::new();
        for (indicator, entry) in book.entries() {
            for (name, rec) in &entry.sources {
                let policy = book.policy(name);
                let score = policy.score(rec.confidence, rec.last_seen.seconds_until(now));
                let valid = rec.valid_until.is_none_or(|until| now <= until);
                if !valid || policy.is_expired(score) {
                    continue;
                }
                let meta = IndicatorMeta {
                    confidence: score.min(100),
                    source: format!("feed:{name}"),
                    label: rec.labels.iter().next().cloned(),
                    category: Some(rec.category),
                };
                out.insert((indicator.clone(), meta.source.clone()), meta);
            }
        }
        out
    }

    /// The detection index of `entries` — ready for `vigil_detect::Engine::replace_indicators`
    /// (merge ledger entries, `ledger:<report id>`, into the same index).
    pub fn detection_index(entries: &FeedEntries) -> IndicatorIndex {
        let mut index = IndicatorIndex::with_capacity(entries.len());
        for ((indicator, _), meta) in entries {
            // Scores are at most 100 and names are never empty: insert cannot fail.
            let _ = index.insert(indicator, meta);
        }
        index
    }

    /// Up to `limit` objects waiting for review, after position `after`.
    pub fn review_queue(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<ReviewEntry>, IntelError> {
        let Some(taxii) = self.taxii() else { return Ok(Vec::new()) };
        let store = taxii.store();
        let items = store.review_queue(after, limit)?;
        items.into_iter().map(|item| review_entry(store.as_ref(), item)).collect()
    }

    /// Decides about queued object `seq`: accepting imports its indicators into the book (as
    /// an import from `source`, default `taxii:<poster>`), rejecting deletes it from its
    /// collection; either way it leaves the queue. An object that carries no indicator Vigil
    /// can use is accepted with an import of nothing.
    pub fn review(
        &self,
        seq: u64,
        decision: ReviewDecision,
        source: Option<String>,
    ) -> Result<ReviewOutcome, IntelError> {
        let taxii = self.taxii().ok_or_else(|| {
            IntelError::NotFound("this node has no TAXII server, so no review queue".into())
        })?;
        let store = taxii.store();
        let item = store
            .review_queue(seq.checked_sub(1), 1)?
            .into_iter()
            .find(|i| i.seq == seq)
            .ok_or_else(|| {
                IntelError::NotFound(format!("no object #{seq} is waiting for review"))
            })?;
        let (collection, id, version) = (item.collection.clone(), item.id.clone(), item.version);
        let posted_by = item.posted_by.clone();
        let entry = review_entry(store.as_ref(), item)?;
        let import = match decision {
            ReviewDecision::Accept => {
                let object = entry.object.clone().ok_or_else(|| {
                    IntelError::BadImport(format!(
                        "{id} is no longer in collection {collection}; reject it instead"
                    ))
                })?;
                let bundle = serde_json::json!({
                    "type": "bundle",
                    // A wrapper for the importer; the id only has to be well formed.
                    "id": format!("bundle--00000000-0000-4000-8000-{:012x}", seq & 0xffff_ffff_ffff),
                    "objects": [object],
                });
                let bytes = serde_json::to_vec(&bundle).map_err(db_err)?;
                let opts = vigil_intel::ImportOptions {
                    source: Some(source.unwrap_or_else(|| format!("taxii:{posted_by}"))),
                    ..vigil_intel::ImportOptions::seen_at(now())
                };
                let mut book = IndicatorBook::new();
                let parsed = vigil_intel::import(
                    &mut book,
                    vigil_intel::FeedKind::Stix,
                    &bytes,
                    &opts,
                    &mut |_| {},
                )
                .map_err(|e| IntelError::BadImport(format!("{id}: {e}")))?;
                let file =
                    Some(format!("taxii {} {id}", vigil_taxii::collection_of_key(&collection)));
                Some(self.import(ImportRequest { parsed, file, book: BookBytes::from(&book) })?)
            }
            ReviewDecision::Reject => {
                store.delete(&collection, &id, &[vigil_taxii::VersionSel::At(version)])?;
                None
            }
        };
        store.review_done(seq)?;
        tracing::info!(seq, %id, ?decision, "TAXII inbox object reviewed");
        Ok(ReviewOutcome { item: entry, decision, import })
    }

    /// The configuration (defaults until [`open`] sets it).
    pub fn config(&self) -> IntelConfig {
        self.config.get().cloned().unwrap_or_default()
    }

    /// The admin token, once [`open`] has read or created it.
    pub fn admin(&self) -> Option<&AdminToken> {
        self.admin.get()
    }

    /// The TAXII server, once [`open`] has set it up.
    pub fn taxii(&self) -> Option<&Arc<TaxiiState>> {
        self.taxii.get()
    }

    /// Merges a feed parsed elsewhere into the book, atomically: the merged book and a
    /// history record are written in one transaction before the node uses them. Nothing is
    /// written when the feed adds nothing new.
    ///
    /// The feed is compared entry by entry with the book (a [`MergePlan`] of only what
    /// changes), the merged book is streamed from the book and the plan into the database, and
    /// only then is the plan applied to the book in memory. No copy of the book or of the feed
    /// as a book is made, so importing the same feed again costs no more than reading it.
    pub fn import(&self, request: ImportRequest) -> Result<ImportOutcome, IntelError> {
        self.import_and_write(request, None::<NothingMore>)
    }

    /// [`import`](Self::import), with `also` written in the same database transaction as the
    /// merged book — in a transaction of its own when the feed adds nothing — so that what it
    /// records (a TAXII pull's cursor) is committed exactly when the merge is.
    pub fn import_and_write(
        &self,
        request: ImportRequest,
        also: Option<impl FnOnce(&redb::WriteTransaction) -> Result<(), IntelError>>,
    ) -> Result<ImportOutcome, IntelError> {
        let ImportRequest { parsed, file, book: incoming } = request;
        let source = parsed.source.clone();
        if source.trim().is_empty() || source.len() > 200 {
            return Err(IntelError::BadImport("source name must be 1 to 200 bytes".into()));
        }
        if let Some(other) = incoming.sources().iter().find(|s| **s != source) {
            return Err(IntelError::BadImport(format!(
                "the import for source {source:?} also names source {other:?}"
            )));
        }
        let incoming_items = incoming.len() + incoming.domain_rules_len();
        if u64::try_from(incoming_items).unwrap_or(u64::MAX) != parsed.imported {
            return Err(IntelError::BadImport(format!(
                "the report says {} records were imported but the book holds {incoming_items}",
                parsed.imported
            )));
        }
        let _writer = self.writer.lock();
        let started = std::time::Instant::now();
        // Imports are serialised by `writer`: the book cannot change under this snapshot.
        let book = self.book();
        let plan = book.plan_merge(&incoming).map_err(|e| IntelError::BadImport(e.to_string()))?;
        drop(incoming);
        let merged = plan.merged();
        let report = ImportReport {
            imported: merged.new,
            merged: parsed.merged.saturating_add(merged.merged),
            ..parsed
        };
        if plan.is_empty() {
            if let Some(also) = also {
                let txn = self.db.begin_write().map_err(db_err)?;
                also(&txn)?;
                txn.commit().map_err(db_err)?;
            }
            return Ok(ImportOutcome { report, changed: false, indicators: book.len() });
        }
        let txn = self.db.begin_write().map_err(db_err)?;
        if let Some(also) = also {
            also(&txn)?;
        }
        {
            let mut table = txn.open_table(BOOK).map_err(db_err)?;
            let len = book.merged_len(&plan);
            let mut value = table.insert_reserve(BOOK_KEY, len).map_err(db_err)?;
            let mut out: &mut [u8] = value.as_mut();
            book.write_merged(&plan, &mut out).map_err(db_err)?;
            if !out.is_empty() {
                return Err(IntelError::Db(format!(
                    "the merged book came out {} bytes short of its length",
                    out.len()
                )));
            }
            drop(value);
            let mut imports = txn.open_table(IMPORTS).map_err(db_err)?;
            let seq = imports
                .last()
                .map_err(db_err)?
                .map(|(k, _)| k.value().saturating_add(1))
                .unwrap_or(0);
            let record = ImportRecord { seq, at: now(), file, report: report.clone() };
            let json = serde_json::to_vec(&record).map_err(db_err)?;
            imports.insert(seq, json.as_slice()).map_err(db_err)?;
        }
        txn.commit().map_err(db_err)?;
        drop(book);
        let records = plan.records();
        let indicators = self.apply(plan);
        self.version.send_modify(|v| *v += 1);
        tracing::info!(
            %source,
            new = merged.new,
            records,
            indicators,
            elapsed_ms = started.elapsed().as_millis(),
            "indicator book updated"
        );
        Ok(ImportOutcome { report, changed: true, indicators })
    }

    /// Applies a committed plan to the book in memory; returns the book's size. In place when
    /// no reader holds a snapshot (readers wait only for the plan's inserts); otherwise into a
    /// copy that replaces the book, so the reader's snapshot stays as it was.
    fn apply(&self, plan: MergePlan) -> usize {
        {
            let mut slot = self.book.write();
            if let Some(book) = Arc::get_mut(&mut slot) {
                book.apply(plan);
                return book.len();
            }
        }
        tracing::debug!("a reader holds the indicator book: merging into a copy");
        let mut book = IndicatorBook::clone(&self.book());
        book.apply(plan);
        let indicators = book.len();
        *self.book.write() = Arc::new(book);
        indicators
    }

    /// The history of imports that changed the book, oldest first.
    pub fn imports(&self) -> Result<Vec<ImportRecord>, IntelError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = match txn.open_table(IMPORTS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(db_err(e)),
        };
        let mut out = Vec::new();
        for row in table.iter().map_err(db_err)? {
            let (_, v) = row.map_err(db_err)?;
            out.push(serde_json::from_slice(v.value()).map_err(db_err)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use vigil_intel::{FeedKind, ImportOptions};

    use super::*;

    fn intel(dir: &Path) -> Intel {
        Intel::new(Arc::new(Database::create(dir.join("db.redb")).unwrap()))
    }

    fn parsed(text: &str, source: &str) -> ImportRequest {
        let mut book = IndicatorBook::new();
        let opts = ImportOptions {
            source: Some(source.into()),
            ..ImportOptions::seen_at(Timestamp(1_700_000_000))
        };
        let parsed =
            vigil_intel::import(&mut book, FeedKind::Csv, text.as_bytes(), &opts, &mut |_| {})
                .unwrap();
        ImportRequest { parsed, file: Some("list.csv".into()), book: BookBytes::from(&book) }
    }

    const LIST: &str = "address,label\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,ronin\n\
                        0x098b716b8aaf21512996dc57eb0615e2383e2f96,ronin\nevil.example,x\n";

    /// What the index answers for every indicator of `entries`, as `(source, confidence)`.
    fn answers(index: &IndicatorIndex, entries: &FeedEntries) -> Vec<Vec<(String, u8)>> {
        entries
            .keys()
            .map(|(i, _)| index.get(i).map(|h| (h.source.to_owned(), h.confidence)).collect())
            .collect()
    }

    #[test]
    fn feed_updates_decay_and_expire_entries_in_a_running_index() {
        let dir = tempfile::tempdir().unwrap();
        let a = intel(dir.path());
        a.import(parsed(LIST, "mine")).unwrap();
        let day = 86_400;
        let start = a.detection_entries(Timestamp(1_700_000_000));
        assert_eq!(start.len(), 2);
        assert!(feed_updates(&start, &start).is_empty(), "nothing changed, nothing sent");
        let all = feed_updates(&FeedEntries::new(), &start);
        assert_eq!(all.len(), 2);
        assert!(all.iter().all(|u| matches!(u, IndicatorUpdate::Upsert { .. })));

        // Ninety days on, the confidences have decayed: the running index follows.
        let later = a.detection_entries(Timestamp(1_700_000_000 + 90 * day));
        assert_eq!(later.len(), 2);
        let mut index = Intel::detection_index(&start);
        let updates = feed_updates(&start, &later);
        assert_eq!(updates.len(), 2);
        for u in &updates {
            let IndicatorUpdate::Upsert { indicator, meta } = u else { panic!("{u:?}") };
            assert!(meta.confidence < start[&(indicator.clone(), meta.source.clone())].confidence);
            index.apply(u).unwrap();
        }
        assert_eq!(answers(&index, &later), answers(&Intel::detection_index(&later), &later));

        // Years on, every entry has expired: removed from the running index, not left to fire.
        let gone = a.detection_entries(Timestamp(1_800_000_000));
        assert!(gone.is_empty());
        for u in feed_updates(&later, &gone) {
            assert!(matches!(u, IndicatorUpdate::Remove { .. }), "{u:?}");
            index.apply(&u).unwrap();
        }
        assert!(index.is_empty());
    }

    #[test]
    fn imports_persist_merge_and_reimport_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = intel(dir.path());
        assert_eq!(a.load().unwrap(), 0);
        let mut changes = a.changes();
        let first = a.import(parsed(LIST, "mine")).unwrap();
        assert!(first.changed);
        assert_eq!((first.report.read, first.report.imported, first.report.merged), (3, 2, 1));
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();
        let again = a.import(parsed(LIST, "mine")).unwrap();
        assert!(!again.changed);
        assert_eq!((again.report.imported, again.report.merged), (0, 3));
        assert!(!changes.has_changed().unwrap());
        let other = a.import(parsed(LIST, "theirs")).unwrap();
        assert_eq!((other.report.imported, other.report.merged), (0, 3));
        assert_eq!(a.imports().unwrap().len(), 2);
        let entries = a.detection_entries(Timestamp(1_700_000_000));
        assert_eq!(entries.len(), 4, "two indicators from two sources");
        let (_, first) = entries.first_key_value().unwrap();
        assert_eq!(first.label.as_deref(), Some("ronin"));
        assert_eq!(Intel::detection_index(&entries).len(), 4);
        // Long after: every entry has decayed away.
        assert!(a.detection_entries(Timestamp(1_800_000_000)).is_empty());
        let before = a.book();
        drop(a);

        let b = intel(dir.path());
        assert_eq!(b.load().unwrap(), 2);
        assert_eq!(*b.book(), *before);
    }

    #[test]
    fn a_refused_import_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let a = intel(dir.path());
        a.import(parsed(LIST, "mine")).unwrap();
        let before = a.book();
        let mut wrong = parsed(LIST, "mine");
        wrong.parsed.source = "other".into();
        let e = a.import(wrong).unwrap_err().to_string();
        assert!(e.contains("also names source \"mine\""), "{e}");
        let mut lying = parsed(LIST, "x");
        lying.parsed.imported = 99;
        assert!(a.import(lying).is_err());
        assert_eq!(*a.book(), *before);
        assert_eq!(a.imports().unwrap().len(), 1);
    }

    #[test]
    fn a_corrupt_stored_book_stops_the_node_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let a = intel(dir.path());
        let txn = a.db.begin_write().unwrap();
        txn.open_table(BOOK).unwrap().insert(BOOK_KEY, &[1u8, 2, 3][..]).unwrap();
        txn.commit().unwrap();
        let e = a.load().unwrap_err().to_string();
        assert!(e.contains("cannot be read"), "{e}");
    }
}
