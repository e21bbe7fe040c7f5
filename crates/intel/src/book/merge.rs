//! Merging a feed into a book without building whole copies of either.
//!
//! A feed parsed elsewhere arrives as a book in storage form ([`BookBytes`]). Merging it takes
//! three steps, so that a node can keep serving its book while an import is merged and write
//! nothing when the feed brings nothing new:
//!
//! 1. [`IndicatorBook::plan_merge`] reads the feed entry by entry and compares each record with
//!    what the book holds for that source: the [`MergePlan`] keeps only what would change (for a
//!    feed imported before: nothing), and the book is not touched;
//! 2. [`IndicatorBook::write_merged`] writes the storage form of the book with the plan applied,
//!    streamed from the book and the plan (no merged copy is built);
//! 3. [`IndicatorBook::apply`] applies the plan to the book in place.
//!
//! Invariants: the plan of a feed is the same whether the feed comes as bytes or as a book
//! ([`IndicatorBook::merge`] is plan + apply); `write_merged` writes exactly the bytes that
//! [`IndicatorBook::to_bytes`] gives after `apply` on the book the plan was made from; every map
//! of the storage form is read with strictly ascending keys (a form [`IndicatorBook::to_bytes`]
//! always writes), so a plan is sorted as the book is.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::iter::Peekable;

use borsh::{BorshDeserialize, BorshSerialize};
use vigil_core::{Domain, Indicator};

use super::{BOOK_FORMAT, BookDecodeError, Entry, IndicatorBook, Merged, SourceRecord};
use crate::decay::{DecayPolicy, PolicyError};
use crate::domains::FuzzyTarget;

/// A book in its storage form ([`IndicatorBook::to_bytes`]), checked once as it is made and
/// then read entry by entry: what an import carries to the node, merged without first being
/// decoded into a second book.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct BookBytes {
    bytes: Vec<u8>,
    entries: usize,
    allow: usize,
    fuzzy: usize,
    sources: BTreeSet<String>,
}

impl BookBytes {
    /// Checks `bytes` as [`IndicatorBook::from_bytes`] would (and that every map's keys are
    /// strictly ascending), keeping only counts and source names, not the decoded book.
    pub fn new(bytes: Vec<u8>) -> Result<Self, BookDecodeError> {
        let mut out =
            Self { bytes: Vec::new(), entries: 0, allow: 0, fuzzy: 0, sources: BTreeSet::new() };
        let mut last: Option<Key> = None;
        for item in Items::new(&bytes)? {
            let item = item?;
            let key = match item {
                BookItem::Entry(indicator, entry) => {
                    out.entries += 1;
                    out.sources.extend(entry.sources.into_keys());
                    Key::Entry(indicator)
                }
                BookItem::Allow(domain, sources) => {
                    out.allow += 1;
                    out.sources.extend(sources);
                    Key::Allow(domain)
                }
                BookItem::Fuzzy(domain, target) => {
                    out.fuzzy += 1;
                    out.sources.extend(target.sources);
                    Key::Fuzzy(domain)
                }
                BookItem::Policy(source, _) => {
                    out.sources.insert(source.clone());
                    Key::Policy(source)
                }
            };
            if last.as_ref().is_some_and(|last| !last.precedes(&key)) {
                return Err(BookDecodeError::Corrupt(format!("{key} is out of order")));
            }
            last = Some(key);
        }
        out.bytes = bytes;
        Ok(out)
    }

    /// The storage form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of indicators.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether there is no indicator.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Number of allow-list and fuzzy-list names.
    pub fn domain_rules_len(&self) -> usize {
        self.allow + self.fuzzy
    }

    /// Every source named (by entries, domain rules or policies).
    pub fn sources(&self) -> &BTreeSet<String> {
        &self.sources
    }
}

impl From<&IndicatorBook> for BookBytes {
    fn from(book: &IndicatorBook) -> Self {
        Self {
            bytes: book.to_bytes(),
            entries: book.entries.len(),
            allow: book.domain_rules.allow.len(),
            fuzzy: book.domain_rules.fuzzy.len(),
            sources: book.sources().into_iter().map(str::to_owned).collect(),
        }
    }
}

/// Why a feed could not be planned into a book.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A source's decay policy is invalid.
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    /// The feed's storage form does not decode.
    #[error(transparent)]
    Decode(#[from] BookDecodeError),
}

/// What merging a feed would change in a book, and nothing else: the merged record of each
/// `(indicator, source)` that is new or would change, the allow and fuzzy names that gain a
/// source (with their merged value), and the policies of sources the book has none for. All
/// sorted by key.
#[derive(Clone, PartialEq, Debug, Default)]
pub struct MergePlan {
    records: Vec<(Indicator, String, SourceRecord)>,
    allow: Vec<(Domain, BTreeSet<String>)>,
    fuzzy: Vec<(Domain, FuzzyTarget)>,
    policies: Vec<(String, DecayPolicy)>,
    merged: Merged,
}

impl MergePlan {
    /// The counts of the merge (`changed` is whether the plan changes anything).
    pub fn merged(&self) -> Merged {
        self.merged
    }

    /// Whether applying the plan would change nothing.
    pub fn is_empty(&self) -> bool {
        !self.merged.changed
    }

    /// Number of source records the plan adds or changes.
    pub fn records(&self) -> usize {
        self.records.len()
    }
}

impl IndicatorBook {
    /// What merging `feed` into this book would change, with the rules of
    /// [`merge`](Self::merge), reading the feed entry by entry; the book is not touched.
    pub fn plan_merge(&self, feed: &BookBytes) -> Result<MergePlan, MergeError> {
        self.plan(Items::new(&feed.bytes)?)
    }

    /// The plan of a sequence of items sorted by key, as a book's storage form holds them.
    pub(super) fn plan(
        &self,
        items: impl Iterator<Item = Result<BookItem, BookDecodeError>>,
    ) -> Result<MergePlan, MergeError> {
        let mut plan = MergePlan::default();
        let mut count = |known: bool| {
            if known { plan.merged.merged += 1 } else { plan.merged.new += 1 }
        };
        let (mut records, mut allow, mut fuzzy, mut policies) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for item in items {
            match item? {
                BookItem::Entry(indicator, entry) => {
                    let have = self.entries.get(&indicator);
                    count(have.is_some() || entry.sources.is_empty());
                    for (source, rec) in entry.sources {
                        let rec = match have.and_then(|e| e.sources.get(&source)) {
                            Some(cur) if cur.absorbs(&rec) => continue,
                            Some(cur) => {
                                let mut merged = cur.clone();
                                merged.absorb(rec);
                                merged
                            }
                            None => rec,
                        };
                        records.push((indicator.clone(), source, rec));
                    }
                }
                BookItem::Allow(domain, sources) => {
                    let have = self.domain_rules.allow.get(&domain);
                    count(have.is_some());
                    if sources.iter().any(|s| !have.is_some_and(|h| h.contains(s))) {
                        let mut all = have.cloned().unwrap_or_default();
                        all.extend(sources);
                        allow.push((domain, all));
                    }
                }
                BookItem::Fuzzy(domain, target) => {
                    let have = self.domain_rules.fuzzy.get(&domain);
                    count(have.is_some());
                    // A name with no source adds nothing (as `DomainRules::fuzzy` per source).
                    if target.sources.is_empty() {
                        continue;
                    }
                    let merged = match have {
                        Some(h) => FuzzyTarget {
                            tolerance: h.tolerance.max(target.tolerance),
                            sources: h.sources.union(&target.sources).cloned().collect(),
                        },
                        None => target,
                    };
                    if have != Some(&merged) {
                        fuzzy.push((domain, merged));
                    }
                }
                BookItem::Policy(source, policy) => {
                    policy.validate()?;
                    if !self.policies.contains_key(&source) {
                        policies.push((source, policy));
                    }
                }
            }
        }
        plan.records = records;
        plan.allow = allow;
        plan.fuzzy = fuzzy;
        plan.policies = policies;
        plan.merged.changed = !(plan.records.is_empty()
            && plan.allow.is_empty()
            && plan.fuzzy.is_empty()
            && plan.policies.is_empty());
        Ok(plan)
    }

    /// Applies a plan made from this book. (Applied to a book that changed since, it still
    /// merges by the same rules: records are merged, not overwritten.)
    pub fn apply(&mut self, plan: MergePlan) {
        for (indicator, source, rec) in plan.records {
            let sources = &mut self.entries.entry(indicator).or_default().sources;
            match sources.get_mut(&source) {
                Some(cur) => cur.absorb(rec),
                None => {
                    sources.insert(source, rec);
                }
            }
        }
        for (domain, sources) in plan.allow {
            self.domain_rules.allow.entry(domain).or_default().extend(sources);
        }
        for (domain, target) in plan.fuzzy {
            for source in &target.sources {
                self.domain_rules.fuzzy(domain.clone(), target.tolerance, source);
            }
        }
        for (source, policy) in plan.policies {
            self.policies.entry(source).or_insert(policy);
        }
    }

    /// Writes the storage form of this book with `plan` applied, streamed from both: the same
    /// bytes as [`to_bytes`](Self::to_bytes) after [`apply`](Self::apply), without building
    /// the merged book.
    pub fn write_merged<W: io::Write>(&self, plan: &MergePlan, out: &mut W) -> io::Result<()> {
        out.write_all(&[BOOK_FORMAT])?;
        let groups = plan.records.chunk_by(|a, b| a.0 == b.0).map(|g| (&g[0].0, g));
        write_len(self.entries.len() + added(&self.entries, groups.clone()), out)?;
        for (indicator, base, over) in join(self.entries.iter(), groups) {
            indicator.serialize(out)?;
            let empty = BTreeMap::new();
            let base = base.map_or(&empty, |e| &e.sources);
            let over = over.unwrap_or_default().iter().map(|(_, s, r)| (s, r));
            write_len(base.len() + added(base, over.clone()), out)?;
            for (source, base, over) in join(base.iter(), over) {
                source.serialize(out)?;
                write_some(over.or(base), out)?;
            }
        }
        write_overlaid(&self.domain_rules.allow, &plan.allow, out)?;
        write_overlaid(&self.domain_rules.fuzzy, &plan.fuzzy, out)?;
        write_overlaid(&self.policies, &plan.policies, out)
    }

    /// The length of what [`write_merged`](Self::write_merged) writes.
    pub fn merged_len(&self, plan: &MergePlan) -> usize {
        let mut counter = Counter(0);
        // Counting cannot fail.
        let _ = self.write_merged(plan, &mut counter);
        counter.0
    }

    /// The book's items in storage order, consumed.
    pub(super) fn into_items(self) -> impl Iterator<Item = BookItem> {
        let IndicatorBook { entries, domain_rules, policies } = self;
        entries
            .into_iter()
            .map(|(i, e)| BookItem::Entry(i, e))
            .chain(domain_rules.allow.into_iter().map(|(d, s)| BookItem::Allow(d, s)))
            .chain(domain_rules.fuzzy.into_iter().map(|(d, t)| BookItem::Fuzzy(d, t)))
            .chain(policies.into_iter().map(|(s, p)| BookItem::Policy(s, p)))
    }
}

/// One item of a book's storage form.
pub(super) enum BookItem {
    Entry(Indicator, Entry),
    Allow(Domain, BTreeSet<String>),
    Fuzzy(Domain, FuzzyTarget),
    Policy(String, DecayPolicy),
}

/// The key of an item, for the order check.
enum Key {
    Entry(Indicator),
    Allow(Domain),
    Fuzzy(Domain),
    Policy(String),
}

impl Key {
    /// Whether `next` may follow this key: a later section, or a greater key in the same one.
    fn precedes(&self, next: &Key) -> bool {
        match (self, next) {
            (Key::Entry(a), Key::Entry(b)) => a < b,
            (Key::Allow(a), Key::Allow(b)) | (Key::Fuzzy(a), Key::Fuzzy(b)) => a < b,
            (Key::Policy(a), Key::Policy(b)) => a < b,
            _ => self.section() < next.section(),
        }
    }

    fn section(&self) -> u8 {
        match self {
            Key::Entry(_) => 0,
            Key::Allow(_) => 1,
            Key::Fuzzy(_) => 2,
            Key::Policy(_) => 3,
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Entry(i) => write!(f, "indicator {i}"),
            Key::Allow(d) => write!(f, "allow-list name {d}"),
            Key::Fuzzy(d) => write!(f, "fuzzy-list name {d}"),
            Key::Policy(s) => write!(f, "policy of {s:?}"),
        }
    }
}

/// The sections of the storage form, in order (the fields of [`IndicatorBook`]).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    Entries,
    Allow,
    Fuzzy,
    Policies,
    Done,
}

/// Reads a book's storage form item by item.
struct Items<'a> {
    rest: &'a [u8],
    section: Section,
    left: u32,
}

fn corrupt(e: impl std::fmt::Display) -> BookDecodeError {
    BookDecodeError::Corrupt(e.to_string())
}

impl<'a> Items<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, BookDecodeError> {
        match bytes.split_first() {
            Some((&BOOK_FORMAT, rest)) => {
                let mut rest = rest;
                let left = u32::deserialize(&mut rest).map_err(corrupt)?;
                Ok(Self { rest, section: Section::Entries, left })
            }
            other => Err(BookDecodeError::Format { found: other.map(|(v, _)| *v) }),
        }
    }

    fn item(&mut self) -> borsh::io::Result<BookItem> {
        let r = &mut self.rest;
        Ok(match self.section {
            Section::Entries => BookItem::Entry(Indicator::deserialize(r)?, Entry::deserialize(r)?),
            Section::Allow => BookItem::Allow(Domain::deserialize(r)?, BTreeSet::deserialize(r)?),
            Section::Fuzzy => {
                BookItem::Fuzzy(Domain::deserialize(r)?, FuzzyTarget::deserialize(r)?)
            }
            Section::Policies => {
                BookItem::Policy(String::deserialize(r)?, DecayPolicy::deserialize(r)?)
            }
            Section::Done => {
                return Err(borsh::io::Error::other("no item after the last section"));
            }
        })
    }
}

impl Iterator for Items<'_> {
    type Item = Result<BookItem, BookDecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.left == 0 {
            self.section = match self.section {
                Section::Entries => Section::Allow,
                Section::Allow => Section::Fuzzy,
                Section::Fuzzy => Section::Policies,
                Section::Policies | Section::Done => {
                    let trailing = !self.rest.is_empty();
                    self.section = Section::Done;
                    self.rest = &[];
                    return trailing.then(|| Err(corrupt("bytes after the end of the book")));
                }
            };
            match u32::deserialize(&mut self.rest) {
                Ok(n) => self.left = n,
                Err(e) => {
                    self.section = Section::Done;
                    return Some(Err(corrupt(e)));
                }
            }
        }
        self.left -= 1;
        match self.item() {
            Ok(item) => Some(Ok(item)),
            Err(e) => {
                self.section = Section::Done;
                self.left = 0;
                self.rest = &[];
                Some(Err(corrupt(e)))
            }
        }
    }
}

/// Walks two sequences sorted by strictly ascending key, yielding each key once with what each
/// side has for it.
fn join<'k, K: Ord + 'k, A, B>(
    a: impl Iterator<Item = (&'k K, A)>,
    b: impl Iterator<Item = (&'k K, B)>,
) -> impl Iterator<Item = (&'k K, Option<A>, Option<B>)> {
    let (mut a, mut b): (Peekable<_>, Peekable<_>) = (a.peekable(), b.peekable());
    std::iter::from_fn(move || {
        let order = match (a.peek(), b.peek()) {
            (None, None) => return None,
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (Some((ka, _)), Some((kb, _))) => ka.cmp(kb),
        };
        Some(match order {
            std::cmp::Ordering::Less => a.next().map(|(k, v)| (k, Some(v), None))?,
            std::cmp::Ordering::Greater => b.next().map(|(k, v)| (k, None, Some(v)))?,
            std::cmp::Ordering::Equal => {
                let (k, va) = a.next()?;
                let (_, vb) = b.next()?;
                (k, Some(va), Some(vb))
            }
        })
    })
}

/// How many keys of `over` `base` lacks.
fn added<'k, K: Ord + 'k, V, B>(
    base: &BTreeMap<K, V>,
    over: impl Iterator<Item = (&'k K, B)>,
) -> usize {
    over.filter(|(k, _)| !base.contains_key(k)).count()
}

/// A map's length as borsh writes it.
fn write_len<W: io::Write>(len: usize, out: &mut W) -> io::Result<()> {
    u32::try_from(len).map_err(|_| io::Error::other("more than 2^32 items"))?.serialize(out)
}

/// Writes `base` with the values of `over` (sorted by key) put in, as borsh writes a map.
fn write_overlaid<K: Ord + BorshSerialize, V: BorshSerialize, W: io::Write>(
    base: &BTreeMap<K, V>,
    over: &[(K, V)],
    out: &mut W,
) -> io::Result<()> {
    let over = over.iter().map(|(k, v)| (k, v));
    write_len(base.len() + added(base, over.clone()), out)?;
    for (k, base, over) in join(base.iter(), over) {
        k.serialize(out)?;
        write_some(over.or(base), out)?;
    }
    Ok(())
}

/// Writes the value a [`join`] found on either side (it always finds one).
fn write_some<V: BorshSerialize, W: io::Write>(value: Option<&V>, out: &mut W) -> io::Result<()> {
    value.map_or(Ok(()), |v| v.serialize(out))
}

/// Counts what is written to it.
struct Counter(usize);

impl io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use vigil_core::Category;

    use super::*;
    use crate::book::Sighting;
    use crate::time::Timestamp;

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

    fn feed(source: &str, names: std::ops::Range<u32>, seen: u64) -> IndicatorBook {
        let mut book = IndicatorBook::new();
        for i in names {
            let domain: Indicator = format!("phish{i}.example").parse().unwrap();
            book.record(domain, sighting(source, "scam", seen));
        }
        book.domain_rules_mut().allow("good.example".parse().unwrap(), source);
        book.domain_rules_mut().fuzzy("wallet.example".parse().unwrap(), 2, source);
        book.set_policy(source, DecayPolicy::PHISHING_DOMAINS).unwrap();
        book
    }

    /// Plans `feed` into `book` from its bytes, checks the streamed storage form against the
    /// applied book and that `merge` agrees; returns the merged book and the counts.
    fn plan_write_apply(book: &IndicatorBook, feed: &IndicatorBook) -> (IndicatorBook, Merged) {
        let bytes = BookBytes::from(feed);
        assert_eq!(BookBytes::new(feed.to_bytes()).unwrap(), bytes);
        let plan = book.plan_merge(&bytes).unwrap();
        let mut streamed = Vec::new();
        book.write_merged(&plan, &mut streamed).unwrap();
        assert_eq!(book.merged_len(&plan), streamed.len());
        let merged = plan.merged();
        let mut applied = book.clone();
        applied.apply(plan);
        assert_eq!(streamed, applied.to_bytes(), "streamed form differs from the applied book");
        let mut by_merge = book.clone();
        assert_eq!(by_merge.merge(feed.clone()).unwrap(), merged);
        assert_eq!(by_merge, applied);
        (applied, merged)
    }

    #[test]
    fn a_feed_imported_before_plans_nothing() {
        let first = feed("mm", 0..100, 10);
        let (book, m) = plan_write_apply(&IndicatorBook::new(), &first);
        assert_eq!(m, Merged { new: 102, merged: 0, changed: true });
        let plan = book.plan_merge(&BookBytes::from(&first)).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.records(), 0);
        assert_eq!(plan.merged(), Merged { new: 0, merged: 102, changed: false });
        // A copy dated otherwise moves first or last seen of every record.
        let older = book.plan_merge(&BookBytes::from(&feed("mm", 0..100, 5))).unwrap();
        assert_eq!(older.records(), 100);
        let newer = book.plan_merge(&BookBytes::from(&feed("mm", 0..100, 20))).unwrap();
        assert_eq!(newer.records(), 100);
    }

    #[test]
    fn plans_stream_the_same_bytes_as_the_applied_book() {
        let (book, _) = plan_write_apply(&IndicatorBook::new(), &feed("a", 0..50, 10));
        // Overlapping names from a second source, new names, more allow/fuzzy sources.
        let (book, m) = plan_write_apply(&book, &feed("b", 25..75, 7));
        assert_eq!(m, Merged { new: 25, merged: 27, changed: true });
        let e = book.get(&"phish30.example".parse().unwrap()).unwrap();
        assert_eq!(e.sources.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(book.domain_rules().allow.values().next().unwrap().len(), 2);
        // A wider tolerance for a fuzzy name, and a new label for a known record.
        let mut wider = IndicatorBook::new();
        wider.domain_rules_mut().fuzzy("wallet.example".parse().unwrap(), 3, "a");
        wider.record("phish1.example".parse().unwrap(), sighting("a", "drainer", 10));
        let (book, m) = plan_write_apply(&book, &wider);
        assert_eq!(m, Merged { new: 0, merged: 2, changed: true });
        assert_eq!(book.domain_rules().fuzzy.values().next().unwrap().tolerance, 3);
        plan_write_apply(&book, &IndicatorBook::new());
        plan_write_apply(&IndicatorBook::new(), &IndicatorBook::new());
    }

    #[test]
    fn an_invalid_policy_plans_an_error() {
        let mut bad = feed("x", 0..3, 1);
        bad.policies.insert("x".into(), DecayPolicy { lifetime_secs: 0, ..DecayPolicy::DEFAULT });
        let e = IndicatorBook::new().plan_merge(&BookBytes::from(&bad)).unwrap_err();
        assert!(matches!(e, MergeError::Policy(_)), "{e}");
    }

    #[test]
    fn bad_storage_forms_are_named() {
        let good = feed("mm", 0..3, 1).to_bytes();
        assert!(matches!(BookBytes::new(vec![]), Err(BookDecodeError::Format { found: None })));
        assert!(matches!(BookBytes::new(vec![9]), Err(BookDecodeError::Format { found: Some(9) })));
        for cut in 1..good.len() {
            assert!(BookBytes::new(good[..cut].to_vec()).is_err(), "cut at {cut}");
        }
        let mut trailing = good.clone();
        trailing.push(0);
        let e = BookBytes::new(trailing).unwrap_err().to_string();
        assert!(e.contains("after the end"), "{e}");
        // Two entries swapped: out of order.
        let mut two = IndicatorBook::new();
        two.record("a.example".parse().unwrap(), sighting("s", "l", 1));
        two.record("b.example".parse().unwrap(), sighting("s", "l", 1));
        let bytes = two.to_bytes();
        let one = {
            let mut b = IndicatorBook::new();
            b.record("a.example".parse().unwrap(), sighting("s", "l", 1));
            b.to_bytes()
        };
        // [format][u32 count][entry a][entry b][rules, policies]: swap the entries. One entry's
        // length is what the second one adds, whatever the trailer holds.
        let entry_len = bytes.len() - one.len();
        let (a, b) = (5..5 + entry_len, 5 + entry_len..5 + 2 * entry_len);
        let mut swapped = bytes.clone();
        swapped[a.clone()].copy_from_slice(&bytes[b.clone()]);
        swapped[b].copy_from_slice(&bytes[a]);
        // (Whether `IndicatorBook::from_bytes` accepts them depends on borsh's
        // `de_strict_order` feature, which other crates of the workspace turn on.)
        let e = BookBytes::new(swapped).unwrap_err().to_string();
        assert!(e.contains("out of order"), "{e}");
    }

    fn arb_book() -> impl Strategy<Value = IndicatorBook> {
        let record = (0u8..12, 0u8..3, 0u8..3, 0u64..4, 0usize..3, proptest::option::of(0u8..100));
        let rule = (0u8..4, 0u8..3, 0u32..3, any::<bool>());
        (
            proptest::collection::vec(record, 0..30),
            proptest::collection::vec(rule, 0..6),
            proptest::collection::vec((0u8..3, any::<bool>()), 0..3),
        )
            .prop_map(|(records, rules, policies)| {
                let mut book = IndicatorBook::new();
                for (i, source, label, seen, category, confidence) in records {
                    let indicator: Indicator = if i % 2 == 0 {
                        format!("0x{:040x}", u32::from(i) * 7919).parse().unwrap()
                    } else {
                        format!("site{i}.example").parse().unwrap()
                    };
                    let category = [Category::Other, Category::Phishing, Category::Scam][category];
                    book.record(
                        indicator,
                        Sighting {
                            source: format!("s{source}"),
                            category,
                            label: Some(format!("l{label}")),
                            seen: Timestamp(seen),
                            confidence,
                            valid_until: (seen == 3).then_some(Timestamp(9)),
                        },
                    );
                }
                for (name, source, tolerance, fuzzy) in rules {
                    let domain: Domain = format!("name{name}.example").parse().unwrap();
                    let source = format!("s{source}");
                    if fuzzy {
                        book.domain_rules_mut().fuzzy(domain, tolerance, &source);
                    } else {
                        book.domain_rules_mut().allow(domain, &source);
                    }
                }
                for (source, sanctions) in policies {
                    let p = if sanctions { DecayPolicy::SANCTIONS } else { DecayPolicy::DEFAULT };
                    book.set_policy(&format!("s{source}"), p).unwrap();
                }
                book
            })
    }

    proptest! {
        /// Plan + apply is `merge`, the streamed form is the applied book's, and a feed merged
        /// once plans nothing the second time.
        #[test]
        fn plan_apply_is_merge_and_streams_the_applied_book(book in arb_book(), feed in arb_book()) {
            let (merged, _) = plan_write_apply(&book, &feed);
            let again = merged.plan_merge(&BookBytes::from(&feed)).unwrap();
            prop_assert!(again.is_empty());
        }
    }
}
