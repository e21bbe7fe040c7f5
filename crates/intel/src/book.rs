//! The indicator book: every indicator Vigil knows from feeds, with every source that listed it.
//!
//! Invariants: one entry per [`Indicator`]; an entry has at least one source; merging a sighting
//! is idempotent (labels are a set, first seen is the minimum, last seen the maximum), so
//! importing the same data twice leaves the book equal to itself.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{Category, Domain, Indicator, MAX_REPORT_INDICATORS, Report, Severity, WebUrl};

use crate::decay::{DecayPolicy, PolicyError};
use crate::domains::DomainRules;
use crate::time::Timestamp;

mod merge;

pub use merge::{BookBytes, MergeError, MergePlan};

/// Format version written in front of [`IndicatorBook::to_bytes`].
const BOOK_FORMAT: u8 = 1;

/// What one source says about one indicator.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SourceRecord {
    /// The kind of threat the source files it under.
    pub category: Category,
    /// The source's labels (tags, names) for it.
    pub labels: BTreeSet<String>,
    /// When the source first reported it.
    pub first_seen: Timestamp,
    /// When the source last reported it.
    pub last_seen: Timestamp,
    /// The source's own confidence (0–100), if it states one; else its policy's base score.
    pub confidence: Option<u8>,
    /// When the source says it stops being valid, if it says.
    pub valid_until: Option<Timestamp>,
}

impl SourceRecord {
    /// Whether merging `new` into this record would leave it as it is.
    fn absorbs(&self, new: &SourceRecord) -> bool {
        new.labels.is_subset(&self.labels)
            && new.first_seen >= self.first_seen
            && new.last_seen <= self.last_seen
            && !(self.category == Category::Other && new.category != Category::Other)
            && new.confidence <= self.confidence
            && new.valid_until <= self.valid_until
    }

    /// Merges what the same source says again: labels are a set, first seen the minimum, last
    /// seen the maximum, a specific category beats "other" (otherwise the first one stays),
    /// the highest confidence and the latest end of validity.
    fn absorb(&mut self, new: SourceRecord) {
        self.labels.extend(new.labels);
        self.first_seen = self.first_seen.min(new.first_seen);
        self.last_seen = self.last_seen.max(new.last_seen);
        if self.category == Category::Other {
            self.category = new.category;
        }
        self.confidence = self.confidence.max(new.confidence);
        self.valid_until = self.valid_until.max(new.valid_until);
    }
}

/// One indicator's entry: its sources by name.
#[derive(
    Clone, PartialEq, Eq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct Entry {
    /// Every source that listed the indicator, by source name.
    pub sources: BTreeMap<String, SourceRecord>,
}

/// One report of an indicator by a source, as an importer produces it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Sighting {
    /// The source's name, e.g. `ofac` or `forta-etherscan`.
    pub source: String,
    /// The kind of threat.
    pub category: Category,
    /// A label, if the source gives one.
    pub label: Option<String>,
    /// When the source saw it (the feed's own date, or the file's).
    pub seen: Timestamp,
    /// The source's own confidence, if any.
    pub confidence: Option<u8>,
    /// End of validity, if the source states one.
    pub valid_until: Option<Timestamp>,
}

/// What recording a sighting did to the book.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Recorded {
    /// The indicator was not in the book.
    New,
    /// The indicator was there: the sighting merged into its entry (possibly changing nothing).
    Merged,
}

/// What [`IndicatorBook::merge`] did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Merged {
    /// Indicators and allow/fuzzy names that were not in the book.
    pub new: u64,
    /// Indicators and names that were there already (their records merged).
    pub merged: u64,
    /// Whether the book changed at all.
    pub changed: bool,
}

/// How an indicator was matched by [`IndicatorBook::check`].
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum MatchKind {
    /// The indicator itself is listed.
    Exact,
    /// The address is listed for every EVM chain (the query named one chain).
    AnyChain,
    /// A parent of the domain is listed.
    ParentDomain(Domain),
    /// The URL's host (or a parent of it) is listed as a domain.
    UrlHost(Domain),
    /// A page on this domain is listed as a URL.
    UrlOnHost(WebUrl),
    /// The domain is a look-alike of a fuzzy-list name.
    LookAlike {
        /// The name it imitates.
        of: Domain,
        /// Levenshtein distance between their fuzzy forms.
        distance: u32,
    },
}

/// A positive answer of [`IndicatorBook::check`].
#[derive(Clone, PartialEq, Debug)]
pub struct Hit<'a> {
    /// How it matched.
    pub kind: MatchKind,
    /// The book entry that matched (`None` for look-alikes, which match a rule, not an entry).
    pub entry: Option<(&'a Indicator, &'a Entry)>,
    /// Decayed confidence now, the best over the matching sources (0–100).
    pub confidence: u8,
    /// Whether any source is still above its threshold and within its validity.
    pub active: bool,
}

/// The answer about a domain.
#[derive(Clone, PartialEq, Debug)]
pub enum DomainVerdict<'a> {
    /// On an allow list (itself or a parent): never flagged.
    Allowed {
        /// The allow-list name that covers it.
        by: &'a Domain,
    },
    /// Flagged.
    Flagged(Hit<'a>),
    /// Nothing known.
    Unknown,
}

/// Why a serialised book could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BookDecodeError {
    /// Empty input or an unknown format version.
    #[error("indicator book format {found:?} is not supported (expected {BOOK_FORMAT})")]
    Format {
        /// The version byte found, if any.
        found: Option<u8>,
    },
    /// The bytes do not decode.
    #[error("indicator book is corrupt: {0}")]
    Corrupt(String),
}

/// Every indicator known from feeds, with sources, domain rules and per-source decay policies.
#[derive(
    Clone, PartialEq, Debug, Default, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct IndicatorBook {
    #[serde(with = "indicator_keys")]
    entries: BTreeMap<Indicator, Entry>,
    domain_rules: DomainRules,
    policies: BTreeMap<String, DecayPolicy>,
}

impl IndicatorBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the book has no indicator.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every indicator and its entry, in indicator order.
    pub fn entries(&self) -> impl Iterator<Item = (&Indicator, &Entry)> {
        self.entries.iter()
    }

    /// The entries some source saw at or after `since` (for incremental exports).
    pub fn entries_seen_since(
        &self,
        since: Timestamp,
    ) -> impl Iterator<Item = (&Indicator, &Entry)> {
        self.entries.iter().filter(move |(_, e)| e.last_seen() >= since)
    }

    /// The entry of exactly this indicator.
    pub fn get(&self, indicator: &Indicator) -> Option<&Entry> {
        self.entries.get(indicator)
    }

    /// The allow and fuzzy lists.
    pub fn domain_rules(&self) -> &DomainRules {
        &self.domain_rules
    }

    /// Mutable access to the allow and fuzzy lists (importers of phishing configs use it).
    pub fn domain_rules_mut(&mut self) -> &mut DomainRules {
        &mut self.domain_rules
    }

    /// Merges one sighting into the book.
    pub fn record(&mut self, indicator: Indicator, sighting: Sighting) -> Recorded {
        let Sighting { source, category, label, seen, confidence, valid_until } = sighting;
        let rec = SourceRecord {
            category,
            labels: label.into_iter().collect(),
            first_seen: seen,
            last_seen: seen,
            confidence,
            valid_until,
        };
        self.merge_record(indicator, source, rec).0
    }

    /// Merges what one source says about one indicator; also says whether anything changed.
    fn merge_record(
        &mut self,
        indicator: Indicator,
        source: String,
        new: SourceRecord,
    ) -> (Recorded, bool) {
        let (entry, recorded) = match self.entries.get_mut(&indicator) {
            Some(entry) => (entry, Recorded::Merged),
            None => (self.entries.entry(indicator).or_default(), Recorded::New),
        };
        let changed = match entry.sources.get_mut(&source) {
            Some(rec) if rec.absorbs(&new) => false,
            Some(rec) => {
                rec.absorb(new);
                true
            }
            None => {
                entry.sources.insert(source, new);
                true
            }
        };
        (recorded, changed)
    }

    /// Merges another book (e.g. one feed parsed elsewhere) into this one, with the same rules
    /// as [`record`](Self::record): labels are a set, first seen the minimum, last seen the
    /// maximum; allow and fuzzy names keep every source; a source's policy is taken only when
    /// this book has none for it. Merging the same book twice changes nothing the second time.
    /// ([`plan_merge`](Self::plan_merge) does the same from a feed's storage form without
    /// building it as a book.)
    pub fn merge(&mut self, other: IndicatorBook) -> Result<Merged, PolicyError> {
        let plan = match self.plan(other.into_items().map(Ok)) {
            Ok(plan) => plan,
            Err(MergeError::Policy(e)) => return Err(e),
            // Items of a book in memory are never undecodable.
            Err(MergeError::Decode(_)) => return Ok(Merged::default()),
        };
        let merged = plan.merged();
        self.apply(plan);
        Ok(merged)
    }

    /// Every source named in the book (by entries, domain rules or policies).
    pub fn sources(&self) -> BTreeSet<&str> {
        let mut out: BTreeSet<&str> = self.policies.keys().map(String::as_str).collect();
        for entry in self.entries.values() {
            out.extend(entry.sources.keys().map(String::as_str));
        }
        for sources in self.domain_rules.allow.values() {
            out.extend(sources.iter().map(String::as_str));
        }
        for target in self.domain_rules.fuzzy.values() {
            out.extend(target.sources.iter().map(String::as_str));
        }
        out
    }

    /// Removes everything one source contributed (its records, allow and fuzzy names, policy);
    /// returns how many indicators disappeared because no other source lists them.
    pub fn remove_source(&mut self, source: &str) -> usize {
        let before = self.entries.len();
        self.entries.retain(|_, e| {
            e.sources.remove(source);
            !e.sources.is_empty()
        });
        self.domain_rules.remove_source(source);
        self.policies.remove(source);
        before - self.entries.len()
    }

    /// Sets the decay policy of one source.
    pub fn set_policy(&mut self, source: &str, policy: DecayPolicy) -> Result<(), PolicyError> {
        policy.validate()?;
        self.policies.insert(source.to_owned(), policy);
        Ok(())
    }

    /// Whether a policy was set for this source.
    pub fn has_policy(&self, source: &str) -> bool {
        self.policies.contains_key(source)
    }

    /// The decay policy of one source ([`DecayPolicy::DEFAULT`] unless set).
    pub fn policy(&self, source: &str) -> DecayPolicy {
        self.policies.get(source).copied().unwrap_or_default()
    }

    /// Decayed confidence of an entry at `now` and whether it is still active: the best
    /// over its sources.
    pub fn confidence(&self, entry: &Entry, now: Timestamp) -> (u8, bool) {
        let mut best = (0u8, false);
        for (name, rec) in &entry.sources {
            let policy = self.policy(name);
            let score = policy.score(rec.confidence, rec.last_seen.seconds_until(now));
            let valid = rec.valid_until.is_none_or(|until| now <= until);
            let active = valid && !policy.is_expired(score);
            let score = if valid { score } else { 0 };
            best = (best.0.max(score), best.1 || active);
        }
        best
    }

    fn hit<'a>(
        &'a self,
        kind: MatchKind,
        key: &'a Indicator,
        entry: &'a Entry,
        now: Timestamp,
    ) -> Hit<'a> {
        let (confidence, active) = self.confidence(entry, now);
        Hit { kind, entry: Some((key, entry)), confidence, active }
    }

    /// Looks an indicator up as detectors and `/v1/check` need it: an address on one chain
    /// also matches the same address listed for every chain; a domain follows
    /// [`check_domain`](Self::check_domain).
    pub fn check(&self, indicator: &Indicator, now: Timestamp) -> Option<Hit<'_>> {
        if let Indicator::Domain(domain) = indicator {
            return match self.check_domain(domain, now) {
                DomainVerdict::Flagged(hit) => Some(hit),
                DomainVerdict::Allowed { .. } | DomainVerdict::Unknown => None,
            };
        }
        if let Some((key, entry)) = self.entries.get_key_value(indicator) {
            return Some(self.hit(MatchKind::Exact, key, entry, now));
        }
        if let Indicator::Url(url) = indicator {
            return match self.check_domain(url.host(), now) {
                DomainVerdict::Flagged(hit) => Some(Hit {
                    kind: match hit.kind {
                        MatchKind::ParentDomain(d) => MatchKind::UrlHost(d),
                        MatchKind::Exact => MatchKind::UrlHost(url.host().clone()),
                        other => other,
                    },
                    ..hit
                }),
                DomainVerdict::Allowed { .. } | DomainVerdict::Unknown => None,
            };
        }
        if let Indicator::Address { chain: Some(_), address } = indicator {
            let any = Indicator::address(*address);
            if let Some((key, entry)) = self.entries.get_key_value(&any) {
                return Some(self.hit(MatchKind::AnyChain, key, entry, now));
            }
        }
        None
    }

    /// Checks a domain as MetaMask's phishing detector does: allow list first (with
    /// subdomains), then listed domains (with subdomains), then look-alikes of fuzzy-list names.
    pub fn check_domain(&self, domain: &Domain, now: Timestamp) -> DomainVerdict<'_> {
        if let Some(by) = self.domain_rules.allowed_by(domain) {
            return DomainVerdict::Allowed { by };
        }
        let exact = Indicator::Domain(domain.clone());
        if let Some((key, entry)) = self.entries.get_key_value(&exact) {
            return DomainVerdict::Flagged(self.hit(MatchKind::Exact, key, entry, now));
        }
        for parent in domain.parents() {
            let Ok(parent) = parent.parse::<Domain>() else { continue };
            let key = Indicator::Domain(parent.clone());
            if let Some((key, entry)) = self.entries.get_key_value(&key) {
                return DomainVerdict::Flagged(self.hit(
                    MatchKind::ParentDomain(parent),
                    key,
                    entry,
                    now,
                ));
            }
        }
        if let Some((url, key, entry)) = self.url_on_host(domain) {
            return DomainVerdict::Flagged(self.hit(
                MatchKind::UrlOnHost(url.clone()),
                key,
                entry,
                now,
            ));
        }
        if let Some((of, distance)) = self.domain_rules.look_alike_of(domain) {
            let rule = &self.domain_rules.fuzzy[of];
            let base = rule.sources.iter().map(|s| self.policy(s).base_score).max().unwrap_or(0);
            return DomainVerdict::Flagged(Hit {
                kind: MatchKind::LookAlike { of: of.clone(), distance },
                entry: None,
                confidence: base,
                active: true,
            });
        }
        DomainVerdict::Unknown
    }

    /// The first listed URL whose host is `domain` (http or https, any port): URLs sort by
    /// their text, so those of one host sit together after `http(s)://host/`.
    fn url_on_host(&self, domain: &Domain) -> Option<(&WebUrl, &Indicator, &Entry)> {
        ["http", "https"].into_iter().find_map(|scheme| {
            let start: WebUrl = format!("{scheme}://{domain}/").parse().ok()?;
            let prefix = format!("{scheme}://{domain}");
            self.entries
                .range(Indicator::Url(start)..)
                .map_while(|(i, e)| match i {
                    Indicator::Url(u) if u.as_str().starts_with(&prefix) => Some((u, i, e)),
                    _ => None,
                })
                .find(|(u, _, _)| u.host() == domain)
        })
    }

    /// Ledger reports carrying what one source listed, for publishing a signed local import:
    /// one report per category, split into chunks of at most [`MAX_REPORT_INDICATORS`]
    /// indicators, in indicator order. Each passes [`Report::check_shape`] when `summary` is
    /// 1 to 4,000 bytes.
    pub fn reports_for_source(
        &self,
        source: &str,
        severity: Severity,
        summary: &str,
    ) -> Vec<Report> {
        let mut by_category: BTreeMap<Category, Vec<Indicator>> = BTreeMap::new();
        for (indicator, entry) in &self.entries {
            if let Some(rec) = entry.sources.get(source) {
                by_category.entry(rec.category).or_default().push(indicator.clone());
            }
        }
        let mut reports = Vec::new();
        for (category, indicators) in by_category {
            let parts = indicators.len().div_ceil(MAX_REPORT_INDICATORS);
            for (i, chunk) in indicators.chunks(MAX_REPORT_INDICATORS).enumerate() {
                let summary = if parts > 1 {
                    format!("{summary} ({category}, part {} of {parts})", i + 1)
                } else {
                    format!("{summary} ({category})")
                };
                reports.push(Report {
                    indicators: chunk.to_vec(),
                    severity,
                    category,
                    summary,
                    evidence: Vec::new(),
                    affected_protocols: Vec::new(),
                    detection: Vec::new(),
                    revokes: Vec::new(),
                });
            }
        }
        reports
    }

    /// The book in its storage form: a format byte and the canonical (borsh) encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![BOOK_FORMAT];
        // Writing into a Vec cannot fail.
        borsh::to_writer(&mut out, self).unwrap_or_default();
        out
    }

    /// Reads a book written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BookDecodeError> {
        match bytes.split_first() {
            Some((&BOOK_FORMAT, rest)) => {
                borsh::from_slice(rest).map_err(|e| BookDecodeError::Corrupt(e.to_string()))
            }
            other => Err(BookDecodeError::Format { found: other.map(|(v, _)| *v) }),
        }
    }
}

impl Entry {
    /// The latest time any source saw it.
    pub fn last_seen(&self) -> Timestamp {
        self.sources.values().map(|r| r.last_seen).max().unwrap_or_default()
    }

    /// The earliest time any source saw it.
    pub fn first_seen(&self) -> Timestamp {
        self.sources.values().map(|r| r.first_seen).min().unwrap_or_default()
    }

    /// Every label from every source.
    pub fn labels(&self) -> BTreeSet<&str> {
        self.sources.values().flat_map(|r| r.labels.iter().map(String::as_str)).collect()
    }

    /// The most specific category any source gives (the first one that is not "other").
    pub fn category(&self) -> Category {
        self.sources
            .values()
            .map(|r| r.category)
            .find(|c| *c != Category::Other)
            .unwrap_or(Category::Other)
    }
}

/// Text keys for the book's JSON form. A domain is always written `domain:<name>`: the bare
/// form of a name such as `0xproject.co` would read back as a malformed hex value.
mod indicator_keys {
    use std::collections::BTreeMap;

    use serde::de::Error as _;
    use serde::ser::SerializeMap as _;
    use serde::{Deserialize, Deserializer, Serializer};
    use vigil_core::Indicator;

    use super::Entry;

    pub fn key(indicator: &Indicator) -> String {
        match indicator {
            Indicator::Domain(d) => format!("domain:{d}"),
            other => other.to_string(),
        }
    }

    pub fn serialize<S: Serializer>(
        map: &BTreeMap<Indicator, Entry>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(map.len()))?;
        for (k, v) in map {
            m.serialize_entry(&key(k), v)?;
        }
        m.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<Indicator, Entry>, D::Error> {
        let raw = BTreeMap::<String, Entry>::deserialize(d)?;
        raw.into_iter()
            .map(|(k, v)| {
                let i =
                    k.parse::<Indicator>().map_err(|e| D::Error::custom(format!("{k:?}: {e}")))?;
                Ok((i, v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sighting(source: &str, label: &str, seen: u64) -> Sighting {
        Sighting {
            source: source.into(),
            category: Category::Phishing,
            label: Some(label.into()),
            seen: Timestamp(seen),
            confidence: None,
            valid_until: None,
        }
    }

    fn addr(s: &str) -> Indicator {
        s.parse().unwrap()
    }

    #[test]
    fn merging_is_idempotent_and_keeps_sources() {
        let a = addr("0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        let mut book = IndicatorBook::new();
        assert_eq!(book.record(a.clone(), sighting("x", "one", 10)), Recorded::New);
        assert_eq!(book.record(a.clone(), sighting("y", "two", 5)), Recorded::Merged);
        let snapshot = book.clone();
        assert_eq!(book.record(a.clone(), sighting("x", "one", 10)), Recorded::Merged);
        assert_eq!(book, snapshot);
        let e = book.get(&a).unwrap();
        assert_eq!(e.sources.len(), 2);
        assert_eq!(e.first_seen(), Timestamp(5));
        assert_eq!(e.last_seen(), Timestamp(10));
        assert_eq!(e.labels().into_iter().collect::<Vec<_>>(), ["one", "two"]);
    }

    #[test]
    fn chain_specific_query_matches_any_chain_entry() {
        let mut book = IndicatorBook::new();
        book.record(addr("0x098b716b8aaf21512996dc57eb0615e2383e2f96"), sighting("x", "l", 0));
        let on_mainnet = addr("eip155:1:0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        let hit = book.check(&on_mainnet, Timestamp(0)).unwrap();
        assert_eq!(hit.kind, MatchKind::AnyChain);
        assert_eq!(hit.confidence, DecayPolicy::DEFAULT.base_score);
        assert!(hit.active);
        let late = Timestamp(DecayPolicy::DEFAULT.lifetime_secs);
        let hit = book.check(&on_mainnet, late).unwrap();
        assert_eq!((hit.confidence, hit.active), (0, false));
    }

    #[test]
    fn bytes_round_trip_and_bad_bytes_are_named() {
        let mut book = IndicatorBook::new();
        book.record(addr("example.com"), sighting("x", "l", 3));
        book.set_policy("x", DecayPolicy::SANCTIONS).unwrap();
        let bytes = book.to_bytes();
        assert_eq!(IndicatorBook::from_bytes(&bytes).unwrap(), book);
        assert!(matches!(
            IndicatorBook::from_bytes(&[9]),
            Err(BookDecodeError::Format { found: Some(9) })
        ));
        assert!(matches!(
            IndicatorBook::from_bytes(&bytes[..bytes.len() - 1]),
            Err(BookDecodeError::Corrupt(_))
        ));
    }

    #[test]
    fn a_source_becomes_well_formed_reports() {
        let mut book = IndicatorBook::new();
        for i in 0..5_000u32 {
            let mut a = [0u8; 20];
            a[..4].copy_from_slice(&i.to_be_bytes());
            book.record(Indicator::address(vigil_core::EvmAddress(a)), sighting("x", "l", 0));
        }
        book.record(addr("other.example"), sighting("y", "l", 0));
        let reports = book.reports_for_source("x", Severity::High, "Imported from x");
        assert_eq!(reports.len(), 2);
        assert_eq!(reports.iter().map(|r| r.indicators.len()).sum::<usize>(), 5_000);
        for r in &reports {
            r.check_shape().unwrap();
            assert!(r.summary.contains("part"));
        }
    }

    #[test]
    fn merging_books_counts_and_is_idempotent() {
        let a = addr("0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        let mut node = IndicatorBook::new();
        node.record(a.clone(), sighting("x", "one", 10));
        let mut feed = IndicatorBook::new();
        feed.record(a.clone(), sighting("y", "two", 5));
        feed.record(addr("evil.example"), sighting("y", "l", 5));
        feed.domain_rules_mut().allow("good.example".parse().unwrap(), "y");
        feed.domain_rules_mut().fuzzy("wallet.example".parse().unwrap(), 2, "y");
        feed.set_policy("y", DecayPolicy::PHISHING_DOMAINS).unwrap();
        let m = node.merge(feed.clone()).unwrap();
        assert_eq!(m, Merged { new: 3, merged: 1, changed: true });
        assert_eq!(node.get(&a).unwrap().sources.len(), 2);
        assert_eq!(node.policy("y"), DecayPolicy::PHISHING_DOMAINS);
        let snapshot = node.clone();
        let again = node.merge(feed).unwrap();
        assert_eq!(again, Merged { new: 0, merged: 4, changed: false });
        assert_eq!(node, snapshot);
        assert_eq!(node.sources().into_iter().collect::<Vec<_>>(), ["x", "y"]);
        let mut bad = IndicatorBook::new();
        bad.policies.insert("z".into(), DecayPolicy { lifetime_secs: 0, ..DecayPolicy::DEFAULT });
        assert!(node.merge(bad).is_err());
        assert_eq!(node, snapshot);
    }

    #[test]
    fn removing_a_source_keeps_the_others() {
        let a = addr("0x098b716b8aaf21512996dc57eb0615e2383e2f96");
        let b = addr("evil.example");
        let mut book = IndicatorBook::new();
        book.record(a.clone(), sighting("x", "l", 0));
        book.record(a.clone(), sighting("y", "l", 0));
        book.record(b.clone(), sighting("x", "l", 0));
        assert_eq!(book.remove_source("x"), 1);
        assert!(book.get(&b).is_none());
        assert_eq!(book.get(&a).unwrap().sources.len(), 1);
    }
}
