//! What the indicator book says about one indicator, as `GET /v1/check` shows it.

use serde::{Deserialize, Serialize};
use vigil_core::{Category, Indicator};
use vigil_intel::{DomainVerdict, Hit, IndicatorBook, MatchKind, Timestamp};

/// Labels shown per source at most.
const MAX_LABELS: usize = 10;

/// One source that lists the indicator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceAnswer {
    /// The source's name (e.g. `ofac`, `forta`, or the `--source` given at import).
    pub name: String,
    /// The kind of threat it files the indicator under.
    pub category: Category,
    /// Its labels (at most ten).
    pub labels: Vec<String>,
    /// When it first listed the indicator.
    pub first_seen: Timestamp,
    /// When it last listed the indicator.
    pub last_seen: Timestamp,
    /// Its confidence now, decayed with age after the source's policy (0–100).
    pub confidence: u8,
    /// Whether it is still above the source's threshold and within its validity.
    pub active: bool,
}

/// How the book matched.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedMatchKind {
    /// The indicator itself is listed.
    Exact,
    /// The address is listed for every chain.
    AnyChain,
    /// A parent domain is listed.
    ParentDomain,
    /// The URL's host (or a parent of it) is listed.
    UrlHost,
    /// A page on this domain is listed as a URL.
    UrlOnHost,
    /// The domain looks like a name on a phishing list's fuzzy list.
    LookAlike,
}

/// What the imported feeds say about an indicator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeedAnswer {
    /// How it matched.
    #[serde(rename = "match")]
    pub kind: FeedMatchKind,
    /// What matched: the listed indicator, the listed parent domain, or the imitated name.
    pub matched: String,
    /// Levenshtein distance of a look-alike.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    /// Decayed confidence now, the best over the sources (0–100).
    pub confidence: u8,
    /// Whether any source still counts it (not decayed below its threshold, not expired).
    pub active: bool,
    /// Every source that lists it (empty for look-alikes, which match a rule).
    pub sources: Vec<SourceAnswer>,
}

fn answer(book: &IndicatorBook, hit: Hit<'_>, now: Timestamp) -> FeedAnswer {
    let (kind, matched, distance) = match (&hit.kind, hit.entry) {
        (MatchKind::Exact, Some((i, _))) => (FeedMatchKind::Exact, i.to_string(), None),
        (MatchKind::AnyChain, Some((i, _))) => (FeedMatchKind::AnyChain, i.to_string(), None),
        (MatchKind::ParentDomain(d), _) => (FeedMatchKind::ParentDomain, d.to_string(), None),
        (MatchKind::UrlHost(d), _) => (FeedMatchKind::UrlHost, d.to_string(), None),
        (MatchKind::UrlOnHost(u), _) => (FeedMatchKind::UrlOnHost, u.to_string(), None),
        (MatchKind::LookAlike { of, distance }, _) => {
            (FeedMatchKind::LookAlike, of.to_string(), Some(*distance))
        }
        (MatchKind::Exact | MatchKind::AnyChain, None) => {
            (FeedMatchKind::Exact, String::new(), None)
        }
    };
    let sources = hit
        .entry
        .map(|(_, entry)| {
            entry
                .sources
                .iter()
                .map(|(name, rec)| {
                    let policy = book.policy(name);
                    let confidence = policy.score(rec.confidence, rec.last_seen.seconds_until(now));
                    let valid = rec.valid_until.is_none_or(|until| now <= until);
                    SourceAnswer {
                        name: name.clone(),
                        category: rec.category,
                        labels: rec.labels.iter().take(MAX_LABELS).cloned().collect(),
                        first_seen: rec.first_seen,
                        last_seen: rec.last_seen,
                        confidence: if valid { confidence } else { 0 },
                        active: valid && !policy.is_expired(confidence),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    FeedAnswer { kind, matched, distance, confidence: hit.confidence, active: hit.active, sources }
}

/// The book's answer about `indicator` at `now`: a match, or for a domain on an allow list
/// the allow-list name that covers it.
pub fn lookup(
    book: &IndicatorBook,
    indicator: &Indicator,
    now: Timestamp,
) -> (Option<FeedAnswer>, Option<String>) {
    if let Indicator::Domain(domain) = indicator {
        return match book.check_domain(domain, now) {
            DomainVerdict::Allowed { by } => (None, Some(by.to_string())),
            DomainVerdict::Flagged(hit) => (Some(answer(book, hit, now)), None),
            DomainVerdict::Unknown => (None, None),
        };
    }
    (book.check(indicator, now).map(|hit| answer(book, hit, now)), None)
}
