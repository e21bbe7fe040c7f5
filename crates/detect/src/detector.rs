//! The [`Detector`] seam, what detectors report ([`Finding`]), and the shared, read-only
//! state they see ([`Context`]): the indicator index, the protected contracts and the token
//! balances known for them.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Indicator, Severity, TxRef};

use crate::config::ProtectedContract;
use crate::effects::{Asset, Effects};
use crate::index::IndicatorIndex;
use crate::model::{BlockRef, Transaction};

/// What a detector found. The engine turns it into an [`vigil_core::Alert`] (adding the
/// transaction and time) unless its incident is in cooldown.
#[derive(Clone, PartialEq, Debug)]
pub struct Finding {
    /// The detector, e.g. `flash-loan-exploit` or `rule:large-transfer`.
    pub detector: String,
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub kind: AlertKind,
    /// How sure, 0–100.
    pub confidence: u8,
    /// The addresses involved.
    pub addresses: Vec<EvmAddress>,
    /// The indicators that matched.
    pub indicators: Vec<Indicator>,
    /// Labels.
    pub labels: Vec<String>,
    /// For people.
    pub description: String,
    /// Details.
    pub metadata: BTreeMap<String, String>,
    /// The incident this finding belongs to, within its detector: findings with one incident
    /// key inside the cooldown become one alert.
    pub incident: String,
    /// The transaction, when it is not the one being inspected (block-level findings).
    pub tx: Option<TxRef>,
    /// The time, when it is not the inspected transaction's.
    pub time: Option<u64>,
}

impl Finding {
    /// A finding with no addresses, labels or metadata; its incident key is empty (one
    /// incident per detector) until [`Finding::incident`] sets it.
    pub fn new(
        detector: impl Into<String>,
        severity: Severity,
        kind: AlertKind,
        confidence: u8,
        description: impl Into<String>,
    ) -> Self {
        Self {
            detector: detector.into(),
            severity,
            kind,
            confidence: confidence.min(100),
            addresses: Vec::new(),
            indicators: Vec::new(),
            labels: Vec::new(),
            description: description.into(),
            metadata: BTreeMap::new(),
            incident: String::new(),
            tx: None,
            time: None,
        }
    }

    /// Sets the incident key.
    pub fn incident(mut self, key: impl Into<String>) -> Self {
        self.incident = key.into();
        self
    }

    /// Adds an address, once.
    pub fn address(mut self, address: EvmAddress) -> Self {
        if !self.addresses.contains(&address) {
            self.addresses.push(address);
        }
        self
    }

    /// Adds a metadata entry.
    pub fn meta(mut self, key: &str, value: impl ToString) -> Self {
        self.metadata.insert(key.to_owned(), value.to_string());
        self
    }
}

/// The protected contracts, by address.
#[derive(Clone, Debug, Default)]
pub struct Protected {
    by_address: HashMap<EvmAddress, String>,
}

impl Protected {
    /// From the configured list.
    pub fn new(contracts: &[ProtectedContract]) -> Self {
        Self { by_address: contracts.iter().map(|c| (c.address, c.name.clone())).collect() }
    }

    /// Its name, if `address` is protected.
    pub fn name(&self, address: &EvmAddress) -> Option<&str> {
        self.by_address.get(address).map(String::as_str)
    }

    /// Whether `address` is protected.
    pub fn contains(&self, address: &EvmAddress) -> bool {
        self.by_address.contains_key(address)
    }

    /// Whether none are configured.
    pub fn is_empty(&self) -> bool {
        self.by_address.is_empty()
    }

    /// Every protected address.
    pub fn addresses(&self) -> impl Iterator<Item = &EvmAddress> {
        self.by_address.keys()
    }

    /// `name (0x…)` for descriptions.
    pub fn describe(&self, address: &EvmAddress) -> String {
        match self.name(address) {
            Some(name) => format!("{name} ({address})"),
            None => address.to_string(),
        }
    }
}

/// Token balances of protected contracts: seeded by collectors (`balanceOf` before each block)
/// and carried through a block by its `Transfer` logs.
#[derive(Clone, Debug, Default)]
pub struct Balances {
    map: HashMap<(EvmAddress, EvmAddress), U256>,
}

impl Balances {
    /// The balance of `holder` in `token`, when known.
    pub fn get(&self, holder: &EvmAddress, token: &EvmAddress) -> Option<U256> {
        self.map.get(&(*holder, *token)).copied()
    }

    /// Records a balance read from the chain.
    pub fn observe(&mut self, holder: EvmAddress, token: EvmAddress, amount: U256) {
        self.map.insert((holder, token), amount);
    }

    /// Forgets every balance (after a reorg, until collectors read them again).
    pub fn clear(&mut self) {
        self.map.clear();
    }

    /// Applies a mined transaction's token movements to the known balances.
    pub(crate) fn apply(&mut self, tx: &Transaction, effects: &Effects) {
        if self.map.is_empty() || !tx.succeeded() {
            return;
        }
        for m in &effects.movements {
            let Asset::Token(token) = m.asset else { continue };
            if let Some(b) = self.map.get_mut(&(m.from, token)) {
                *b = b.saturating_sub(m.amount);
            }
            if let Some(b) = self.map.get_mut(&(m.to, token)) {
                *b = b.saturating_add(m.amount);
            }
        }
    }
}

/// What every detector may read.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// Known indicators.
    pub indicators: &'a IndicatorIndex,
    /// Protected contracts.
    pub protected: &'a Protected,
    /// Their known balances, before the transaction being inspected.
    pub balances: &'a Balances,
    /// The newest mined block processed so far.
    pub head: Option<u64>,
    /// What the inspected transaction did (empty at the end of a block).
    pub effects: &'a Effects,
}

/// A detector: inspects transactions one at a time (pending ones first, then again when mined)
/// and may keep state across them. Implementations never do I/O.
pub trait Detector: Send {
    /// Its name, as alerts carry it, e.g. `flash-loan-exploit`.
    fn name(&self) -> &str;

    /// Inspects one transaction, pushing findings to `out`.
    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>);

    /// Called after every transaction of a mined block was inspected.
    fn end_block(&mut self, _block: &BlockRef, _cx: &Context<'_>, _out: &mut Vec<Finding>) {}

    /// Forgets what it learnt from blocks above `height` (a reorg replaced them).
    fn rewind(&mut self, _height: u64) {}
}

/// The token movements of a transaction (from its call tree, logs or calldata, once each):
/// `(token, from, to, amount)`.
pub(crate) fn token_movements<'a>(
    cx: &'a Context<'_>,
) -> impl Iterator<Item = (EvmAddress, EvmAddress, EvmAddress, U256)> + 'a {
    cx.effects.movements.iter().filter_map(|m| match m.asset {
        Asset::Token(t) => Some((t, m.from, m.to, m.amount)),
        Asset::Native => None,
    })
}

/// Adds `amount` of `asset` to a short per-asset list.
pub(crate) fn add_amount(list: &mut Vec<(Asset, U256)>, asset: Asset, amount: U256) {
    match list.iter_mut().find(|(a, _)| *a == asset) {
        Some((_, n)) => *n = n.saturating_add(amount),
        None => list.push((asset, amount)),
    }
}

/// `part / whole` in basis points, saturating; `None` when `whole` is zero.
pub(crate) fn bps(part: U256, whole: U256) -> Option<u64> {
    if whole.is_zero() {
        return None;
    }
    let v = part.saturating_mul(U256::from(10_000u64)) / whole;
    Some(u64::try_from(v).unwrap_or(u64::MAX))
}

/// `12.34%` from basis points.
pub(crate) fn percent(bps: u64) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}
