//! `vigil-intel`: threat intelligence in and out.
//!
//! It owns:
//! - the [`IndicatorBook`]: every indicator known from feeds, duplicates merged across feeds
//!   with every source kept (name, labels, first/last seen), and a confidence that decays with
//!   age after MISP's polynomial model, with parameters per source ([`DecayPolicy`]);
//! - merging a feed that arrives in storage form ([`BookBytes`]) entry by entry: a
//!   [`MergePlan`] of only what changes, the merged storage form streamed from book and plan,
//!   and the plan applied in place — no copy of the book, nothing at all for a feed merged
//!   before;
//! - the feed importers ([`import()`]): Forta labelled datasets, OFAC lists, MetaMask's
//!   `eth-phishing-detect` config (with its allow list and Levenshtein look-alike rule), generic
//!   CSV/JSON lists, STIX 2.1 bundles ([`stix::import_bundle`]) and the TAXII 2.1 envelopes
//!   a collection's pages come in ([`stix::import_envelope`]);
//! - the STIX 2.1 mapping of Vigil's reports, attestations, alerts, vulnerabilities and
//!   participants ([`stix`]), with deterministic ids, TLP 2.0 markings and Vigil's own
//!   extension for EVM observables.
//!
//! Invariants: no network, no database, no clock — time arrives as [`Timestamp`] parameters;
//! every parser of outside input returns an error naming what was wrong and never panics; an
//! import that fails leaves the book unchanged, and importing the same data twice changes
//! nothing.

mod book;
mod decay;
mod domains;
pub mod import;
pub mod misp;
pub mod stix;
mod time;

pub use book::{
    BookBytes, BookDecodeError, DomainVerdict, Entry, Hit, IndicatorBook, MatchKind, MergeError,
    MergePlan, Merged, Recorded, Sighting, SourceRecord,
};
pub use decay::{DecayPolicy, PolicyError};
pub use domains::{DomainRules, FuzzyTarget, fuzzy_form};
pub use import::{
    CategoryMap, CategoryMapError, FeedKind, ImportError, ImportOptions, ImportReport, JsonPath,
    JsonPathError, Progress, Rejection, UnknownFeedKind, import, import_misp_feed,
};
pub use time::{Timestamp, TimestampError};
