//! Feed importers: each reads one feed format into the [`IndicatorBook`].
//!
//! An import first parses the whole input; only when that succeeds are its records merged into
//! the book. A fatal problem (input too large, not the expected format, wrong columns) returns an
//! [`ImportError`] and leaves the book as it was; a bad record is rejected with its line and
//! reason while the rest are imported. Every import returns an [`ImportReport`] with
//! `read = imported + merged + skipped + rejected`.

mod csv_feeds;
mod json_feeds;
mod json_path;
mod lines;
mod misp;
mod text_feed;
mod values;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use vigil_core::{Category, EvmChainId, Indicator};

use crate::book::{IndicatorBook, Recorded, Sighting};
use crate::decay::DecayPolicy;
use crate::domains::DomainRules;
use crate::stix::StixError;
use crate::time::Timestamp;

pub use json_path::{JsonPath, JsonPathError};
pub(crate) use lines::LineIndex;
pub use values::{CategoryMap, CategoryMapError};

/// Largest input accepted by default (256 MiB).
pub const DEFAULT_MAX_BYTES: usize = 256 * 1024 * 1024;
/// Rejections listed one by one in a report; beyond this they are only counted.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;
/// Records between two progress callbacks.
const PROGRESS_EVERY: u64 = 4_096;

/// The feed formats Vigil imports.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// Forta labelled datasets (CSV): Etherscan labels, malicious contracts, phishing scams.
    Forta,
    /// OFAC sanctioned addresses: one per line, or a JSON array.
    Ofac,
    /// MetaMask `eth-phishing-detect` `config.json`.
    #[serde(rename = "metamask")]
    MetaMask,
    /// Generic CSV of addresses or domains.
    Csv,
    /// Generic JSON of addresses or domains.
    Json,
    /// A STIX 2.1 bundle.
    Stix,
    /// A text file with one value per line (`#` comments; hosts-file lines too).
    Text,
    /// MISP events (an export, a REST search answer, or a list of events).
    Misp,
}

impl FeedKind {
    /// Every kind.
    pub const ALL: [FeedKind; 8] = [
        FeedKind::Forta,
        FeedKind::Ofac,
        FeedKind::MetaMask,
        FeedKind::Csv,
        FeedKind::Json,
        FeedKind::Stix,
        FeedKind::Text,
        FeedKind::Misp,
    ];

    /// The CLI name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Forta => "forta",
            Self::Ofac => "ofac",
            Self::MetaMask => "metamask",
            Self::Csv => "csv",
            Self::Json => "json",
            Self::Stix => "stix",
            Self::Text => "text",
            Self::Misp => "misp",
        }
    }

    /// The decay policy a new source of this kind gets.
    pub fn default_policy(self) -> DecayPolicy {
        match self {
            Self::Ofac => DecayPolicy::SANCTIONS,
            Self::Forta => DecayPolicy::LABELLED_ADDRESSES,
            Self::MetaMask => DecayPolicy::PHISHING_DOMAINS,
            Self::Csv | Self::Json | Self::Stix | Self::Text | Self::Misp => DecayPolicy::DEFAULT,
        }
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown feed kind name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown feed kind {0:?}; expected forta, ofac, metamask, csv, json, stix, text or misp")]
pub struct UnknownFeedKind(pub String);

impl FromStr for FeedKind {
    type Err = UnknownFeedKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFeedKind(s.to_owned()))
    }
}

/// How to import.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The source name recorded on every indicator; the kind's name when `None`.
    pub source: Option<String>,
    /// When the feed's records were seen, unless a record carries its own date (STIX). The
    /// CLI passes the file's modification time, so re-importing the same file changes nothing.
    pub seen: Timestamp,
    /// The EVM chain the feed's addresses belong to; every chain when `None`.
    pub chain: Option<EvmChainId>,
    /// The categories of generic CSV/JSON/text records: the feed's own words mapped to
    /// Vigil's, and the default for records that name none.
    pub categories: CategoryMap,
    /// Where a generic JSON feed keeps its values; detected from the common shapes when empty.
    pub json_paths: Vec<JsonPath>,
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
}

impl ImportOptions {
    /// Options with defaults and the given sighting time.
    pub fn seen_at(seen: Timestamp) -> Self {
        Self {
            source: None,
            seen,
            chain: None,
            categories: CategoryMap::default(),
            json_paths: Vec::new(),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// How far an import has got, for a progress bar.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Progress {
    /// Input bytes parsed so far.
    pub bytes_done: u64,
    /// Input size.
    pub bytes_total: u64,
    /// Records read so far.
    pub records: u64,
}

/// A record that was not imported.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Rejection {
    /// The 1-based line of the input where the record starts.
    pub line: u64,
    /// Why it was rejected.
    pub reason: String,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// What an import did.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ImportReport {
    /// The feed kind.
    pub kind: FeedKind,
    /// The source name recorded.
    pub source: String,
    /// Records read (data rows, list entries, STIX objects).
    pub read: u64,
    /// Records that added something new: an indicator not in the book before, or a new
    /// allow/fuzzy-list name.
    pub imported: u64,
    /// Records whose indicator or rule was already known (a duplicate in this input, or listed
    /// before by this or another feed): merged into the existing entry.
    pub merged: u64,
    /// Records deliberately not imported (other chains' addresses, STIX objects that carry
    /// no indicator Vigil can use).
    pub skipped: u64,
    /// Skipped records by kind (e.g. `Bitcoin address` → 12).
    #[serde(default)]
    pub skipped_by: BTreeMap<String, u64>,
    /// Records rejected as malformed (total, including those beyond the listed ones).
    pub rejected_total: u64,
    /// Rejections by kind of problem (e.g. `not an indicator` → 3).
    #[serde(default)]
    pub rejected_by: BTreeMap<String, u64>,
    /// The first [`MAX_LISTED_REJECTIONS`] rejections with line and reason.
    pub rejected: Vec<Rejection>,
    /// Records imported with something worth knowing (a wrong EIP-55 checksum, a category
    /// word Vigil does not know), by what it was.
    #[serde(default)]
    pub warnings: BTreeMap<String, u64>,
}

impl ImportReport {
    /// A one-line summary for people.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} ({}): read {}, imported {}, duplicates merged {}, rejected {}",
            self.source, self.kind, self.read, self.imported, self.merged, self.rejected_total
        );
        if self.skipped > 0 {
            s.push_str(&format!(", skipped {} ({})", self.skipped, counts(&self.skipped_by)));
        }
        s
    }

    /// Lines that break the counts down: rejections and skips by kind, then warnings.
    pub fn details(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (why, n) in &self.rejected_by {
            out.push(format!("rejected {n:>7}  {why}"));
        }
        for (why, n) in &self.skipped_by {
            out.push(format!("skipped  {n:>7}  {why}"));
        }
        for (why, n) in &self.warnings {
            out.push(format!("warning  {n:>7}  {why}"));
        }
        out
    }
}

fn counts(by: &BTreeMap<String, u64>) -> String {
    let parts: Vec<String> = by.iter().map(|(why, n)| format!("{n} {why}")).collect();
    if parts.is_empty() { "no reason recorded".into() } else { parts.join(", ") }
}

/// Why an import failed as a whole (the book is unchanged).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The input is larger than allowed.
    #[error("input is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is empty.
    #[error("input is empty")]
    Empty,
    /// A CSV header lacks the columns this feed needs.
    #[error("wrong columns: expected {expected}; found {found:?}")]
    Columns {
        /// What was expected.
        expected: String,
        /// The header found.
        found: Vec<String>,
    },
    /// The CSV cannot be read at all.
    #[error("CSV error at line {line}: {message}")]
    Csv {
        /// Line of the problem.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// The JSON is malformed (e.g. truncated).
    #[error("JSON error at line {line}, column {column}: {message}")]
    Json {
        /// Line of the problem.
        line: u64,
        /// Column of the problem.
        column: u64,
        /// What is wrong.
        message: String,
    },
    /// Valid JSON of the wrong shape.
    #[error("unexpected document shape: {0}")]
    Shape(String),
    /// A file of a feed directory could not be read.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// An invalid STIX bundle.
    #[error("invalid STIX: {0}")]
    Stix(#[from] StixError),
}

impl ImportError {
    pub(crate) fn json(e: &serde_json::Error) -> Self {
        Self::Json { line: e.line() as u64, column: e.column() as u64, message: e.to_string() }
    }
}

/// One parsed record, ready to merge.
pub(crate) struct Parsed {
    pub indicator: Indicator,
    pub category: Category,
    pub label: Option<String>,
    pub seen: Option<Timestamp>,
    pub confidence: Option<u8>,
    pub valid_until: Option<Timestamp>,
}

/// What a parser hands back: records and rules to merge, and the counts of the rest.
#[derive(Default)]
pub(crate) struct Staged {
    pub records: Vec<Parsed>,
    pub allow: Vec<vigil_core::Domain>,
    pub fuzzy: Vec<(vigil_core::Domain, u32)>,
    pub read: u64,
    pub skipped: u64,
    pub skipped_by: BTreeMap<String, u64>,
    pub rejected_total: u64,
    pub rejected_by: BTreeMap<String, u64>,
    pub rejected: Vec<Rejection>,
    pub warnings: BTreeMap<String, u64>,
}

/// Distinct warning texts kept; beyond this they are counted under one line.
const MAX_WARNING_KINDS: usize = 100;

impl Staged {
    /// Rejects a record: `class` is a short fixed description that counts rejections of one
    /// kind; `reason` names the value.
    pub fn reject(&mut self, line: u64, class: &str, reason: impl Into<String>) {
        self.rejected_total += 1;
        bump(&mut self.rejected_by, class);
        if self.rejected.len() < MAX_LISTED_REJECTIONS {
            self.rejected.push(Rejection { line, reason: reason.into() });
        }
    }

    /// Takes in what `other` staged from the file `file`; its rejections name the file.
    pub fn absorb(&mut self, other: Staged, file: &str) {
        self.records.extend(other.records);
        self.allow.extend(other.allow);
        self.fuzzy.extend(other.fuzzy);
        self.read += other.read;
        self.skipped += other.skipped;
        self.rejected_total += other.rejected_total;
        for (map, from) in [
            (&mut self.skipped_by, other.skipped_by),
            (&mut self.rejected_by, other.rejected_by),
            (&mut self.warnings, other.warnings),
        ] {
            for (k, n) in from {
                *map.entry(k).or_default() += n;
            }
        }
        for r in other.rejected {
            if self.rejected.len() < MAX_LISTED_REJECTIONS {
                self.rejected
                    .push(Rejection { line: r.line, reason: format!("{file}: {}", r.reason) });
            }
        }
    }

    pub fn skip(&mut self, kind: &str) {
        self.skipped += 1;
        bump(&mut self.skipped_by, kind);
    }

    pub fn warn(&mut self, what: &str) {
        if self.warnings.len() < MAX_WARNING_KINDS || self.warnings.contains_key(what) {
            bump(&mut self.warnings, what);
        } else {
            bump(&mut self.warnings, "other warnings");
        }
    }

    /// Records the outcome of [`values::classify`] for a value read at `line`.
    pub fn not_imported(&mut self, line: u64, why: values::NotImported) {
        match why {
            values::NotImported::Skip(kind) => self.skip(kind),
            values::NotImported::Reject { class, reason } => self.reject(line, class, reason),
        }
    }
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    match map.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            map.insert(key.to_owned(), 1);
        }
    }
}

/// Calls the progress callback every [`PROGRESS_EVERY`] records and at the end.
pub(crate) struct Ticker<'a> {
    callback: &'a mut dyn FnMut(Progress),
    total: u64,
    records: u64,
}

impl<'a> Ticker<'a> {
    pub fn new(callback: &'a mut dyn FnMut(Progress), total: usize) -> Self {
        Self { callback, total: total as u64, records: 0 }
    }

    pub fn tick(&mut self, bytes_done: usize) {
        self.records += 1;
        if self.records.is_multiple_of(PROGRESS_EVERY) {
            (self.callback)(Progress {
                bytes_done: bytes_done as u64,
                bytes_total: self.total,
                records: self.records,
            });
        }
    }

    pub fn finish(&mut self) {
        (self.callback)(Progress {
            bytes_done: self.total,
            bytes_total: self.total,
            records: self.records,
        });
    }
}

/// Imports one feed into the book. See the module docs for the guarantees.
pub fn import(
    book: &mut IndicatorBook,
    kind: FeedKind,
    input: &[u8],
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    if input.len() > options.max_bytes {
        return Err(ImportError::TooLarge { size: input.len(), limit: options.max_bytes });
    }
    if input.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty);
    }
    let mut ticker = Ticker::new(progress, input.len());
    let staged = match kind {
        FeedKind::Forta => csv_feeds::forta(input, options, &mut ticker)?,
        FeedKind::Csv => csv_feeds::generic(input, options, &mut ticker)?,
        FeedKind::Ofac => json_feeds::ofac(input, options, &mut ticker)?,
        FeedKind::MetaMask => json_feeds::metamask(input, options, &mut ticker)?,
        FeedKind::Json => json_feeds::generic(input, options, &mut ticker)?,
        FeedKind::Stix => crate::stix::import::stage(input, options, &mut ticker, false)?.0,
        FeedKind::Text => text_feed::text(input, options, &mut ticker)?,
        FeedKind::Misp => misp::misp(input, options, &mut ticker)?,
    };
    ticker.finish();
    let source = options.source.clone().unwrap_or_else(|| kind.as_str().to_owned());
    Ok(apply(book, kind, &source, options.seen, staged))
}

/// Imports a MISP feed directory (`manifest.json` and the `<uuid>.json` event files it lists)
/// into the book, as one import: every event file is read like `vigil feed import misp FILE`,
/// and a rejection names its file. A listed file that is missing or not a MISP event is
/// rejected (the others still import); a directory without a readable manifest imports nothing.
pub fn import_misp_feed(
    book: &mut IndicatorBook,
    dir: &std::path::Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, ImportError> {
    let file_error = |file: &std::path::Path, message: String| ImportError::File {
        file: file.display().to_string(),
        message,
    };
    let manifest_path = dir.join("manifest.json");
    let manifest = std::fs::read(&manifest_path).map_err(|e| {
        file_error(&manifest_path, format!("a MISP feed directory has a manifest.json: {e}"))
    })?;
    let manifest: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_slice(&manifest)
        .map_err(|e| {
            file_error(&manifest_path, format!("not a MISP feed manifest ({{uuid: event}}): {e}"))
        })?;
    let mut staged = Staged::default();
    let mut total = 0usize;
    let mut done = 0usize;
    let mut sizes = Vec::new();
    for uuid in manifest.keys() {
        // Uuids only: a manifest must not name files outside the directory.
        let valid = !uuid.is_empty() && uuid.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
        let path = dir.join(format!("{uuid}.json"));
        let size =
            if valid { std::fs::metadata(&path).map(|m| m.len() as usize).ok() } else { None };
        total = total.saturating_add(size.unwrap_or(0));
        sizes.push((uuid, valid, path, size));
    }
    if total > options.max_bytes {
        return Err(ImportError::TooLarge { size: total, limit: options.max_bytes });
    }
    let mut ticker = Ticker::new(progress, total);
    for (uuid, valid, path, size) in sizes {
        let name = format!("{uuid}.json");
        const UNREADABLE: &str = "MISP feed event file missing or unreadable";
        // A file that cannot be read counts as one record read and rejected.
        let read = if !valid {
            Err((UNREADABLE, format!("manifest.json: {uuid:?} is not an event uuid")))
        } else {
            match size.map(|_| std::fs::read(&path)) {
                Some(Ok(input)) => Ok(input),
                Some(Err(e)) => Err((UNREADABLE, format!("{name}: {e}"))),
                None => Err((UNREADABLE, format!("{name}: listed in manifest.json but absent"))),
            }
        };
        let input = match read {
            Ok(input) => input,
            Err((class, reason)) => {
                staged.read += 1;
                staged.reject(0, class, reason);
                continue;
            }
        };
        let mut quiet = |_: Progress| {};
        let mut inner = Ticker::new(&mut quiet, input.len());
        match misp::misp(&input, options, &mut inner) {
            Ok(event) => staged.absorb(event, &name),
            Err(e) => {
                staged.read += 1;
                staged.reject(0, "MISP feed event file not a MISP event", format!("{name}: {e}"));
            }
        }
        done = done.saturating_add(input.len());
        ticker.tick(done);
    }
    ticker.finish();
    let source = options.source.clone().unwrap_or_else(|| FeedKind::Misp.as_str().to_owned());
    Ok(apply(book, FeedKind::Misp, &source, options.seen, staged))
}

/// Merges staged records into the book and writes the report.
pub(crate) fn apply(
    book: &mut IndicatorBook,
    kind: FeedKind,
    source: &str,
    seen: Timestamp,
    staged: Staged,
) -> ImportReport {
    if !book.has_policy(source) {
        // A kind's default policy is valid by construction.
        book.set_policy(source, kind.default_policy()).unwrap_or_default();
    }
    let mut report = ImportReport {
        kind,
        source: source.to_owned(),
        read: staged.read,
        imported: 0,
        merged: 0,
        skipped: staged.skipped,
        skipped_by: staged.skipped_by,
        rejected_total: staged.rejected_total,
        rejected_by: staged.rejected_by,
        rejected: staged.rejected,
        warnings: staged.warnings,
    };
    for p in staged.records {
        let sighting = Sighting {
            source: source.to_owned(),
            category: p.category,
            label: p.label,
            seen: p.seen.unwrap_or(seen),
            confidence: p.confidence,
            valid_until: p.valid_until,
        };
        match book.record(p.indicator, sighting) {
            Recorded::New => report.imported += 1,
            Recorded::Merged => report.merged += 1,
        }
    }
    let rules: &mut DomainRules = book.domain_rules_mut();
    for domain in staged.allow {
        let new = !rules.allow.contains_key(&domain);
        rules.allow(domain, source);
        if new { report.imported += 1 } else { report.merged += 1 }
    }
    for (domain, tolerance) in staged.fuzzy {
        let new = !rules.fuzzy.contains_key(&domain);
        rules.fuzzy(domain, tolerance, source);
        if new { report.imported += 1 } else { report.merged += 1 }
    }
    report
}
