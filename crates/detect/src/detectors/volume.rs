//! Volume anomaly: an exponentially weighted mean and variance (EWMA) of per-block volumes, and
//! an alert when a block's volume is many standard deviations above the mean ("unusual spikes
//! in liquidation volume").
//!
//! Two kinds of series: withdrawals (ERC-20 transfers out of a protected contract, per token)
//! and liquidations (Aave V3 `LiquidationCall` debt repaid, per pool and debt asset). Every
//! block counts, zero-volume blocks included, so quiet periods pull a mean down; a series first
//! seen after N watched blocks starts with N blocks of zero volume behind it (they were watched,
//! and nothing moved). A withdrawal spike must also move a minimum share of the
//! contract's balance, so a quiet contract's first ordinary withdrawal is not an anomaly.
//! Volumes are compared as `f64`: the statistics need no exactness, and no decision depends on
//! it beyond this alert.

use std::collections::{HashMap, VecDeque};

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity, TxRef};

use crate::config::VolumeConfig;
use crate::detector::{Context, Detector, Finding, bps, percent};
use crate::events::Event;
use crate::model::{BlockRef, Transaction};

/// Its name.
pub const NAME: &str = "volume-anomaly";

/// Series beyond this many are not started (bounds memory on busy chains).
pub const MAX_SERIES: usize = 10_000;
/// Blocks of statistics kept to undo a reorg.
const HISTORY: usize = 128;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum SeriesKey {
    Withdrawal { holder: EvmAddress, token: EvmAddress },
    Liquidation { pool: EvmAddress, asset: EvmAddress },
}

#[derive(Clone, Copy, Debug, Default)]
struct Ewma {
    mean: f64,
    var: f64,
    blocks: u32,
}

#[derive(Clone, Debug)]
struct BlockVolume {
    volume: U256,
    /// The balance before the first withdrawal of the block (withdrawal series only).
    balance: Option<U256>,
    biggest: Option<(U256, TxRef)>,
}

/// The volume-anomaly detector.
pub struct VolumeAnomaly {
    config: VolumeConfig,
    series: HashMap<SeriesKey, Ewma>,
    current: HashMap<SeriesKey, BlockVolume>,
    history: VecDeque<(u64, HashMap<SeriesKey, Ewma>)>,
    blocks_seen: u32,
}

fn to_f64(v: U256) -> f64 {
    f64::from(v)
}

impl VolumeAnomaly {
    /// A detector with `config`.
    pub fn new(config: VolumeConfig) -> Self {
        Self {
            config,
            series: HashMap::new(),
            current: HashMap::new(),
            history: VecDeque::new(),
            blocks_seen: 0,
        }
    }

    fn add(&mut self, key: SeriesKey, amount: U256, balance: Option<U256>, tx: &Transaction) {
        if !self.series.contains_key(&key) && self.series.len() >= MAX_SERIES {
            return;
        }
        let seen = self.blocks_seen;
        self.series.entry(key).or_insert(Ewma { mean: 0.0, var: 0.0, blocks: seen });
        let v = self.current.entry(key).or_insert(BlockVolume {
            volume: U256::ZERO,
            balance,
            biggest: None,
        });
        v.volume = v.volume.saturating_add(amount);
        if !amount.is_zero() && v.biggest.as_ref().is_none_or(|(b, _)| amount > *b) {
            v.biggest = Some((amount, tx.tx_ref()));
        }
    }
}

impl Detector for VolumeAnomaly {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, _out: &mut Vec<Finding>) {
        if !self.config.enabled || tx.is_pending() || !tx.succeeded() {
            return;
        }
        for (emitter, event) in tx.events() {
            match event {
                Event::Erc20Transfer { from, to, value } if from != to => {
                    if cx.protected.contains(from) {
                        let key = SeriesKey::Withdrawal { holder: *from, token: emitter };
                        let balance = cx.balances.get(from, &emitter);
                        self.add(key, *value, balance, tx);
                    }
                    if cx.protected.contains(to) {
                        // An inflow starts the series without adding volume.
                        let key = SeriesKey::Withdrawal { holder: *to, token: emitter };
                        let balance = cx.balances.get(to, &emitter);
                        self.add(key, U256::ZERO, balance, tx);
                    }
                }
                Event::AaveV3LiquidationCall { debt_asset, debt_to_cover, .. } => {
                    let key = SeriesKey::Liquidation { pool: emitter, asset: *debt_asset };
                    self.add(key, *debt_to_cover, None, tx);
                }
                _ => {}
            }
        }
    }

    fn end_block(&mut self, block: &BlockRef, cx: &Context<'_>, out: &mut Vec<Finding>) {
        self.blocks_seen = self.blocks_seen.saturating_add(1);
        if !self.config.enabled || self.series.is_empty() {
            self.current.clear();
            return;
        }
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((block.number, self.series.clone()));
        let alpha = self.config.alpha.clamp(f64::MIN_POSITIVE, 1.0);
        let current = std::mem::take(&mut self.current);
        for (key, stats) in self.series.iter_mut() {
            let this = current.get(key);
            let volume = this.map_or(U256::ZERO, |v| v.volume);
            let x = to_f64(volume);
            if stats.blocks >= self.config.warmup_blocks && !volume.is_zero() {
                // A floor on the deviation keeps a near-constant series from alerting on noise.
                let std = stats.var.sqrt().max(stats.mean.abs() * 0.1).max(1.0);
                let z = (x - stats.mean) / std;
                let share = match key {
                    SeriesKey::Withdrawal { .. } => {
                        this.and_then(|v| v.balance).and_then(|b| bps(volume, b))
                    }
                    SeriesKey::Liquidation { .. } => None,
                };
                let big_enough = match key {
                    SeriesKey::Withdrawal { .. } => {
                        share.is_some_and(|s| s >= u64::from(self.config.min_share_bps))
                    }
                    SeriesKey::Liquidation { .. } => x >= 2.0 * stats.mean,
                };
                if z >= self.config.z_threshold && big_enough {
                    let (what, subject, token) = match key {
                        SeriesKey::Withdrawal { holder, token } => {
                            ("withdrawal", cx.protected.describe(holder), *token)
                        }
                        SeriesKey::Liquidation { pool, asset } => {
                            ("liquidation", pool.to_string(), *asset)
                        }
                    };
                    let share_text = share
                        .map(|s| format!(", {} of its balance", percent(s)))
                        .unwrap_or_default();
                    let description = format!(
                        "Unusual {what} volume at {subject} in block {}: {volume} units of token \
                         {token}{share_text}, {z:.1} standard deviations above its moving average \
                         of {:.3e}",
                        block.number, stats.mean
                    );
                    let severity = if z >= 2.0 * self.config.z_threshold {
                        Severity::High
                    } else {
                        Severity::Medium
                    };
                    let mut finding =
                        Finding::new(NAME, severity, AlertKind::Suspicious, 70, description)
                            .incident(format!("{what}|{subject}|{token}"))
                            .address(token)
                            .meta("series", what)
                            .meta("volume", volume)
                            .meta("z_score", format!("{z:.2}"))
                            .meta("ewma_mean", format!("{:.6e}", stats.mean))
                            .meta("block", block.number);
                    let (SeriesKey::Withdrawal { holder, .. }
                    | SeriesKey::Liquidation { pool: holder, .. }) = key;
                    finding = finding.address(*holder);
                    if let Some((_, tx)) = this.and_then(|v| v.biggest.clone()) {
                        finding = finding.address(tx.from);
                        finding.tx = Some(tx);
                    }
                    finding.time = Some(block.timestamp);
                    if finding.tx.is_some() {
                        out.push(finding);
                    }
                }
            }
            let diff = x - stats.mean;
            let incr = alpha * diff;
            stats.mean += incr;
            stats.var = (1.0 - alpha) * (stats.var + diff * incr);
            stats.blocks = stats.blocks.saturating_add(1);
        }
    }

    fn rewind(&mut self, height: u64) {
        self.current.clear();
        // The snapshot taken before block `height + 1` is the state to return to; when the
        // reorg is deeper than the history, the oldest snapshot kept is the best there is.
        let target = height.saturating_add(1);
        let mut restored = None;
        while self.history.back().is_some_and(|(number, _)| *number >= target) {
            restored = self.history.pop_back().map(|(_, s)| s);
        }
        if let Some(series) = restored {
            self.series = series;
        }
    }
}
