//! The indicator index: every known-bad address, code hash, selector, transaction and domain,
//! each with who said so (`source`), how sure they are (`confidence`) and a label.
//!
//! One hash map per indicator kind, so a lookup costs the same with ten indicators or ten
//! million (1M is a normal size). Several sources may flag one indicator; each
//! `(indicator, source)` pair is one entry, and inserting it again replaces it. Source and label
//! strings are interned: a feed of 10,000 addresses with one label stores that label once.
//!
//! The node feeds it from confirmed ledger reports and imported feeds, either directly
//! ([`IndicatorIndex::insert`], [`IndicatorIndex::remove`], [`IndicatorIndex::remove_source`]) or
//! as [`IndicatorUpdate`] messages applied between transactions.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use vigil_core::{B256, Category, Domain, EvmAddress, EvmChainId, Indicator, Selector, WebUrl};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Why an indicator could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// Confidence is a percentage.
    #[error("confidence {0} is above 100")]
    Confidence(u8),
    /// Every entry must say where it came from.
    #[error("indicator source must not be empty")]
    EmptySource,
}

/// What is known about one indicator from one source.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct IndicatorMeta {
    /// How sure the source is, 0–100 (a ledger verdict's reputation-weighted confidence, or a
    /// feed's configured trust).
    pub confidence: u8,
    /// Where it came from, e.g. `ledger:<report id>` or `feed:forta-etherscan`.
    pub source: String,
    /// A label for people, e.g. `Fake_Phishing1234` or `Exploiter: Euler`.
    pub label: Option<String>,
    /// What kind of threat, when the source says.
    pub category: Option<Category>,
}

impl IndicatorMeta {
    /// An entry from `source` with `confidence`, no label, no category.
    pub fn new(confidence: u8, source: impl Into<String>) -> Self {
        Self { confidence, source: source.into(), label: None, category: None }
    }

    /// With a label.
    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// With a category.
    pub fn with_category(mut self, category: Category) -> Self {
        self.category = Some(category);
        self
    }
}

/// A change to the index, as the node sends it to a running monitor.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum IndicatorUpdate {
    /// Add or replace the entry of `meta.source` for `indicator`.
    Upsert {
        /// The indicator.
        indicator: Indicator,
        /// What the source says about it.
        meta: IndicatorMeta,
    },
    /// Remove the entry of `source` for `indicator` (a report rejected, a feed entry withdrawn).
    Remove {
        /// The indicator.
        indicator: Indicator,
        /// The source whose entry goes.
        source: String,
    },
    /// Remove every entry of `source` (a feed being reloaded or dropped).
    RemoveSource {
        /// The source.
        source: String,
    },
}

/// An interned string id; 0 means "none".
type StrId = u32;

#[derive(Default, Debug)]
struct Interner {
    ids: FastMap<Arc<str>, StrId>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    fn intern(&mut self, s: &str) -> StrId {
        if let Some(id) = self.ids.get(s) {
            return *id;
        }
        let arc: Arc<str> = Arc::from(s);
        self.strings.push(arc.clone());
        // Ids start at 1; 4 billion distinct strings cannot fit in memory anyway.
        let id = StrId::try_from(self.strings.len()).unwrap_or(StrId::MAX);
        self.ids.insert(arc, id);
        id
    }

    fn lookup(&self, s: &str) -> Option<StrId> {
        self.ids.get(s).copied()
    }

    fn get(&self, id: StrId) -> Option<&str> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        self.strings.get(i).map(|s| &**s)
    }
}

/// One source's entry. `chain` 0 means every chain (EIP-155 chain ids start at 1).
#[derive(Clone, Copy, Debug)]
struct Entry {
    chain: u64,
    source: StrId,
    label: StrId,
    confidence: u8,
    category: Option<Category>,
}

/// Most keys have one source: keep it inline.
#[derive(Clone, Debug)]
enum Entries {
    One(Entry),
    Many(Vec<Entry>),
}

impl Entries {
    fn as_slice(&self) -> &[Entry] {
        match self {
            Self::One(e) => std::slice::from_ref(e),
            Self::Many(v) => v,
        }
    }

    /// Inserts or replaces the entry with the same (chain, source); returns whether it was new.
    fn upsert(&mut self, entry: Entry) -> bool {
        let same = |e: &Entry| e.chain == entry.chain && e.source == entry.source;
        match self {
            Self::One(e) if same(e) => {
                *e = entry;
                false
            }
            Self::One(e) => {
                *self = Self::Many(vec![*e, entry]);
                true
            }
            Self::Many(v) => match v.iter_mut().find(|e| same(e)) {
                Some(e) => {
                    *e = entry;
                    false
                }
                None => {
                    v.push(entry);
                    true
                }
            },
        }
    }

    /// Removes entries matching `pred`; returns how many, and whether none are left.
    fn remove_where(&mut self, pred: impl Fn(&Entry) -> bool) -> (usize, bool) {
        match self {
            Self::One(e) => {
                if pred(e) {
                    (1, true)
                } else {
                    (0, false)
                }
            }
            Self::Many(v) => {
                let before = v.len();
                v.retain(|e| !pred(e));
                let removed = before - v.len();
                let empty = v.is_empty();
                if let [only] = v.as_slice() {
                    *self = Self::One(*only);
                }
                (removed, empty)
            }
        }
    }
}

/// One matching entry, as returned by lookups.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct IndicatorHit<'a> {
    /// How sure its source is, 0–100.
    pub confidence: u8,
    /// Where it came from.
    pub source: &'a str,
    /// Its label.
    pub label: Option<&'a str>,
    /// Its category.
    pub category: Option<Category>,
    /// The chain the entry is limited to, `None` for every chain.
    pub chain: Option<EvmChainId>,
}

/// The entries of one indicator that apply to one chain.
#[derive(Clone)]
pub struct Hits<'a> {
    entries: std::slice::Iter<'a, Entry>,
    chain: u64,
    strings: &'a Interner,
}

impl<'a> Iterator for Hits<'a> {
    type Item = IndicatorHit<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        for e in self.entries.by_ref() {
            if e.chain == 0 || self.chain == 0 || e.chain == self.chain {
                return Some(IndicatorHit {
                    confidence: e.confidence,
                    source: self.strings.get(e.source).unwrap_or(""),
                    label: self.strings.get(e.label),
                    category: e.category,
                    chain: (e.chain != 0).then_some(EvmChainId(e.chain)),
                });
            }
        }
        None
    }
}

/// Hash-based index of indicators of compromise. See the module docs.
#[derive(Default, Debug)]
pub struct IndicatorIndex {
    addresses: FastMap<EvmAddress, Entries>,
    code_hashes: FastMap<B256, Entries>,
    selectors: FastMap<Selector, Entries>,
    transactions: FastMap<B256, Entries>,
    domains: FastMap<Domain, Entries>,
    urls: FastMap<WebUrl, Entries>,
    strings: Interner,
    len: usize,
}

fn upsert_in<K: Eq + Hash>(map: &mut FastMap<K, Entries>, key: K, entry: Entry) -> bool {
    match map.entry(key) {
        std::collections::hash_map::Entry::Occupied(mut o) => o.get_mut().upsert(entry),
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(Entries::One(entry));
            true
        }
    }
}

fn remove_in<K: Eq + Hash>(
    map: &mut FastMap<K, Entries>,
    key: &K,
    pred: impl Fn(&Entry) -> bool,
) -> usize {
    let Some(entries) = map.get_mut(key) else { return 0 };
    let (removed, empty) = entries.remove_where(pred);
    if empty {
        map.remove(key);
    }
    removed
}

fn remove_all<K: Eq + Hash>(map: &mut FastMap<K, Entries>, source: StrId) -> usize {
    let mut removed = 0;
    map.retain(|_, entries| {
        let (n, empty) = entries.remove_where(|e| e.source == source);
        removed += n;
        !empty
    });
    removed
}

impl IndicatorIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index with room for `addresses` address indicators.
    pub fn with_capacity(addresses: usize) -> Self {
        Self {
            addresses: FastMap::with_capacity_and_hasher(addresses, Default::default()),
            ..Self::default()
        }
    }

    /// Number of `(indicator, source)` entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `meta.source`'s entry for `indicator`, replacing an earlier one from the same source.
    /// Returns `true` when the entry is new.
    pub fn insert(
        &mut self,
        indicator: &Indicator,
        meta: &IndicatorMeta,
    ) -> Result<bool, IndexError> {
        if meta.confidence > 100 {
            return Err(IndexError::Confidence(meta.confidence));
        }
        if meta.source.is_empty() {
            return Err(IndexError::EmptySource);
        }
        let source = self.strings.intern(&meta.source);
        let label = meta.label.as_deref().map_or(0, |l| self.strings.intern(l));
        let entry = |chain: u64| Entry {
            chain,
            source,
            label,
            confidence: meta.confidence,
            category: meta.category,
        };
        let new = match indicator {
            Indicator::Address { chain, address } => {
                upsert_in(&mut self.addresses, *address, entry(chain.map_or(0, |c| c.0)))
            }
            Indicator::CodeHash(h) => upsert_in(&mut self.code_hashes, *h, entry(0)),
            Indicator::Selector(s) => upsert_in(&mut self.selectors, *s, entry(0)),
            Indicator::TxHash { chain, hash } => {
                upsert_in(&mut self.transactions, *hash, entry(chain.0))
            }
            Indicator::Domain(d) => upsert_in(&mut self.domains, d.clone(), entry(0)),
            Indicator::Url(u) => upsert_in(&mut self.urls, u.clone(), entry(0)),
        };
        if new {
            self.len += 1;
        }
        Ok(new)
    }

    /// Removes `source`'s entry for `indicator`; returns whether there was one.
    pub fn remove(&mut self, indicator: &Indicator, source: &str) -> bool {
        let Some(source) = self.strings.lookup(source) else { return false };
        let same = |chain: u64| move |e: &Entry| e.source == source && e.chain == chain;
        let removed = match indicator {
            Indicator::Address { chain, address } => {
                remove_in(&mut self.addresses, address, same(chain.map_or(0, |c| c.0)))
            }
            Indicator::CodeHash(h) => remove_in(&mut self.code_hashes, h, same(0)),
            Indicator::Selector(s) => remove_in(&mut self.selectors, s, same(0)),
            Indicator::TxHash { chain, hash } => {
                remove_in(&mut self.transactions, hash, same(chain.0))
            }
            Indicator::Domain(d) => remove_in(&mut self.domains, d, same(0)),
            Indicator::Url(u) => remove_in(&mut self.urls, u, same(0)),
        };
        self.len -= removed;
        removed > 0
    }

    /// Removes every entry of `source`; returns how many. Walks the whole index.
    pub fn remove_source(&mut self, source: &str) -> usize {
        let Some(id) = self.strings.lookup(source) else { return 0 };
        let removed = remove_all(&mut self.addresses, id)
            + remove_all(&mut self.code_hashes, id)
            + remove_all(&mut self.selectors, id)
            + remove_all(&mut self.transactions, id)
            + remove_all(&mut self.domains, id)
            + remove_all(&mut self.urls, id);
        self.len -= removed;
        removed
    }

    /// Applies one update.
    pub fn apply(&mut self, update: &IndicatorUpdate) -> Result<(), IndexError> {
        match update {
            IndicatorUpdate::Upsert { indicator, meta } => self.insert(indicator, meta).map(|_| ()),
            IndicatorUpdate::Remove { indicator, source } => {
                self.remove(indicator, source);
                Ok(())
            }
            IndicatorUpdate::RemoveSource { source } => {
                self.remove_source(source);
                Ok(())
            }
        }
    }

    fn hits<'a>(&'a self, entries: Option<&'a Entries>, chain: u64) -> Hits<'a> {
        Hits {
            entries: entries.map_or(&[][..], Entries::as_slice).iter(),
            chain,
            strings: &self.strings,
        }
    }

    /// Entries flagging `address` on `chain` (chain-specific ones and those for every chain).
    pub fn match_address(&self, chain: EvmChainId, address: &EvmAddress) -> Hits<'_> {
        self.hits(self.addresses.get(address), chain.0)
    }

    /// Entries flagging a contract code hash.
    pub fn match_code_hash(&self, hash: &B256) -> Hits<'_> {
        self.hits(self.code_hashes.get(hash), 0)
    }

    /// Entries flagging a function selector.
    pub fn match_selector(&self, selector: &Selector) -> Hits<'_> {
        self.hits(self.selectors.get(selector), 0)
    }

    /// Entries flagging a transaction on `chain`.
    pub fn match_tx(&self, chain: EvmChainId, hash: &B256) -> Hits<'_> {
        self.hits(self.transactions.get(hash), chain.0)
    }

    /// Entries flagging a domain (exact name).
    pub fn match_domain(&self, domain: &Domain) -> Hits<'_> {
        self.hits(self.domains.get(domain), 0)
    }

    /// Entries that match `indicator`: for an address or transaction limited to one chain, those
    /// for that chain and those for every chain; for an address on every chain, all of them.
    pub fn get(&self, indicator: &Indicator) -> Hits<'_> {
        match indicator {
            Indicator::Address { chain, address } => {
                self.hits(self.addresses.get(address), chain.map_or(0, |c| c.0))
            }
            Indicator::CodeHash(h) => self.match_code_hash(h),
            Indicator::Selector(s) => self.match_selector(s),
            Indicator::TxHash { chain, hash } => self.match_tx(*chain, hash),
            Indicator::Domain(d) => self.match_domain(d),
            Indicator::Url(u) => self.hits(self.urls.get(u), 0),
        }
    }

    /// Whether anything flags `address` on `chain`.
    pub fn contains_address(&self, chain: EvmChainId, address: &EvmAddress) -> bool {
        self.match_address(chain, address).next().is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> EvmAddress {
        EvmAddress([n; 20])
    }

    #[test]
    fn insert_replace_remove() {
        let mut idx = IndicatorIndex::new();
        let ind = Indicator::address(a(1));
        assert!(idx.insert(&ind, &IndicatorMeta::new(80, "feed:x").with_label("Phish")).unwrap());
        assert!(
            !idx.insert(&ind, &IndicatorMeta::new(90, "feed:x").with_label("Phish 2")).unwrap()
        );
        assert!(idx.insert(&ind, &IndicatorMeta::new(60, "ledger:r1")).unwrap());
        assert_eq!(idx.len(), 2);
        let hits: Vec<_> = idx.match_address(EvmChainId(1), &a(1)).collect();
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].confidence, 90);
        assert_eq!(hits[0].label, Some("Phish 2"));
        assert!(idx.remove(&ind, "feed:x"));
        assert!(!idx.remove(&ind, "feed:x"));
        assert!(!idx.remove(&ind, "never-seen"));
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.remove_source("ledger:r1"), 1);
        assert!(idx.is_empty());
        assert!(!idx.contains_address(EvmChainId(1), &a(1)));
    }

    #[test]
    fn chain_scoped_entries_match_only_their_chain() {
        let mut idx = IndicatorIndex::new();
        let scoped = Indicator::Address { chain: Some(EvmChainId(10)), address: a(2) };
        idx.insert(&scoped, &IndicatorMeta::new(50, "s")).unwrap();
        assert!(idx.contains_address(EvmChainId(10), &a(2)));
        assert!(!idx.contains_address(EvmChainId(1), &a(2)));
        assert_eq!(idx.get(&Indicator::address(a(2))).count(), 1);
    }

    #[test]
    fn bad_meta_is_refused() {
        let mut idx = IndicatorIndex::new();
        let ind = Indicator::address(a(1));
        assert_eq!(
            idx.insert(&ind, &IndicatorMeta::new(101, "s")),
            Err(IndexError::Confidence(101))
        );
        assert_eq!(idx.insert(&ind, &IndicatorMeta::new(1, "")), Err(IndexError::EmptySource));
        assert!(idx.is_empty());
    }

    #[test]
    fn every_kind_is_indexed() {
        let mut idx = IndicatorIndex::new();
        let kinds = [
            "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
            "selector:0x42b0b77c",
            "tx:1:0x0000000000000000000000000000000000000000000000000000000000000001",
            "evil.example.com",
        ];
        for k in kinds {
            let ind: Indicator = k.parse().unwrap();
            idx.insert(&ind, &IndicatorMeta::new(70, "s").with_category(Category::Phishing))
                .unwrap();
            let hit = idx.get(&ind).next().unwrap_or_else(|| panic!("{k}"));
            assert_eq!(hit.category, Some(Category::Phishing));
        }
        assert_eq!(idx.remove_source("s"), 4);
        assert!(idx.is_empty());
    }
}
