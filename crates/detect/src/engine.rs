//! The engine: runs every detector on each transaction and block, applies the cooldown, and
//! turns findings into [`Alert`]s.
//!
//! Feed it pending transactions as they arrive ([`Engine::process_tx`]) and mined blocks in
//! chain order ([`Engine::process_block`]); after a reorg, call [`Engine::rewind`] with the
//! last common height before replaying the new blocks.

use vigil_core::{Alert, AlertKind, Detection, Fingerprint, Severity};

use crate::config::DetectConfig;
use crate::cooldown::Cooldown;
use vigil_core::detection::MIN_FINGERPRINT_STEPS;

use crate::detector::{Balances, Context, Detector, Finding, Protected};
use crate::detectors::{
    FlashLoanExploit, FreshAttackerContract, IndicatorMatch, OutflowRateLimit, PredictedDrain,
    PriceManipulation, Reentrancy, SuspiciousProposal, VolumeAnomaly,
};
use crate::effects::Effects;
use crate::index::{IndexError, IndicatorIndex, IndicatorUpdate};
use crate::model::{Block, TokenBalance, Transaction};
use crate::rules::RuleSet;
use crate::shared::{ContentError, DetectionUpdate, SharedDetection};

/// A change to what the engine matches: an indicator, or shared detection content.
#[derive(Clone, PartialEq, Debug)]
pub enum EngineUpdate {
    /// An indicator of the index.
    Indicator(IndicatorUpdate),
    /// A fingerprint or rule file.
    Detection(DetectionUpdate),
}

impl From<IndicatorUpdate> for EngineUpdate {
    fn from(u: IndicatorUpdate) -> Self {
        Self::Indicator(u)
    }
}

impl From<DetectionUpdate> for EngineUpdate {
    fn from(u: DetectionUpdate) -> Self {
        Self::Detection(u)
    }
}

/// Counters.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct EngineStats {
    /// Transactions inspected (pending and mined).
    pub transactions: u64,
    /// Blocks processed.
    pub blocks: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Findings folded into an earlier alert by the cooldown.
    pub suppressed: u64,
}

/// The detection engine. See the module docs.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    shared: SharedDetection,
    indicators: IndicatorIndex,
    protected: Protected,
    balances: Balances,
    cooldown: Cooldown,
    head: Option<u64>,
    findings: Vec<Finding>,
    stats: EngineStats,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("detectors", &self.detector_names())
            .field("indicators", &self.indicators.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with the nine built-in detectors configured by `config`, then `rules`, and an
    /// empty indicator index.
    pub fn new(config: &DetectConfig, rules: RuleSet) -> Self {
        let detectors: Vec<Box<dyn Detector>> = vec![
            Box::new(IndicatorMatch::new(config.indicators.clone())),
            Box::new(OutflowRateLimit::new(config.outflow.clone())),
            Box::new(FlashLoanExploit::new(config.flash_loan.clone())),
            Box::new(VolumeAnomaly::new(config.volume.clone())),
            Box::new(SuspiciousProposal::new(config.governance.clone())),
            Box::new(FreshAttackerContract::new(config.fresh_contract.clone())),
            Box::new(Reentrancy::new(config.reentrancy.clone())),
            Box::new(PriceManipulation::new(config.price_manipulation.clone())),
            Box::new(PredictedDrain::new(
                config.drain.clone(),
                config
                    .protected
                    .iter()
                    .filter_map(|p| p.max_loss_bps.map(|bps| (p.address, bps)))
                    .collect(),
            )),
            Box::new(rules),
        ];
        Self {
            detectors,
            shared: SharedDetection::new(),
            indicators: IndicatorIndex::new(),
            protected: Protected::new(&config.protected),
            balances: Balances::default(),
            cooldown: Cooldown::new(config.cooldown()),
            head: None,
            findings: Vec::new(),
            stats: EngineStats::default(),
        }
    }

    /// Replaces the indicator index (e.g. one loaded from feeds at start-up).
    pub fn with_indicators(mut self, indicators: IndicatorIndex) -> Self {
        self.indicators = indicators;
        self
    }

    /// Swaps in another indicator index (a reloaded feed set), returning the old one.
    pub fn replace_indicators(&mut self, indicators: IndicatorIndex) -> IndicatorIndex {
        std::mem::replace(&mut self.indicators, indicators)
    }

    /// Adds a detector after the built-in ones.
    pub fn add_detector(&mut self, detector: Box<dyn Detector>) {
        self.detectors.push(detector);
    }

    /// The detectors' names, in the order they run.
    pub fn detector_names(&self) -> Vec<String> {
        self.detectors.iter().map(|d| d.name().to_owned()).collect()
    }

    /// The indicator index.
    pub fn indicators(&self) -> &IndicatorIndex {
        &self.indicators
    }

    /// The indicator index, to insert or remove entries.
    pub fn indicators_mut(&mut self) -> &mut IndicatorIndex {
        &mut self.indicators
    }

    /// Applies an indicator update.
    pub fn apply(&mut self, update: &IndicatorUpdate) -> Result<(), IndexError> {
        self.indicators.apply(update)
    }

    /// Loads or unloads shared detection content (fingerprints, rule files).
    pub fn apply_detection(&mut self, update: DetectionUpdate) -> Result<(), ContentError> {
        self.shared.apply(update)
    }

    /// Applies either kind of update.
    pub fn apply_update(&mut self, update: EngineUpdate) -> Result<(), String> {
        match update {
            EngineUpdate::Indicator(u) => self.apply(&u).map_err(|e| e.to_string()),
            EngineUpdate::Detection(u) => self.apply_detection(u).map_err(|e| e.to_string()),
        }
    }

    /// The shared detection content loaded.
    pub fn shared(&self) -> &SharedDetection {
        &self.shared
    }

    /// The protected contracts.
    pub fn protected(&self) -> &Protected {
        &self.protected
    }

    /// Records a balance a collector read from the chain.
    pub fn observe_balance(&mut self, balance: TokenBalance) {
        self.balances.observe(balance.holder, balance.token, balance.amount);
    }

    /// The newest block processed.
    pub fn head(&self) -> Option<u64> {
        self.head
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Inspects one transaction (pending, or mined outside [`Engine::process_block`]).
    pub fn process_tx(&mut self, tx: &Transaction) -> Vec<Alert> {
        let mut out = Vec::new();
        self.process_tx_into(tx, &mut out);
        out
    }

    /// Like [`Engine::process_tx`], appending to `out` (no allocation when nothing fires).
    pub fn process_tx_into(&mut self, tx: &Transaction, out: &mut Vec<Alert>) {
        self.stats.transactions += 1;
        self.findings.clear();
        let effects = Effects::of(tx);
        let cx = Context {
            indicators: &self.indicators,
            protected: &self.protected,
            balances: &self.balances,
            head: self.head,
            effects: &effects,
        };
        for d in &mut self.detectors {
            d.inspect(tx, &cx, &mut self.findings);
        }
        // The call tree's shape: matched against shared fingerprints, and carried by exploit
        // alerts so that other nodes can watch for the same attack.
        let exploit = |f: &Finding| f.kind == AlertKind::Exploit && f.severity >= Severity::High;
        let mut fingerprint: Option<Fingerprint> = None;
        if let Some(trace) = &tx.trace
            && (self.shared.has_fingerprints() || self.findings.iter().any(exploit))
        {
            fingerprint = Some(crate::fingerprint::fingerprint(&trace.root));
        }
        self.shared.inspect_with(tx, fingerprint.as_ref(), &cx, &mut self.findings);
        if !tx.is_pending() {
            self.balances.apply(tx, &effects);
        }
        let first = out.len();
        self.emit(Some(tx), out);
        if let Some(fp) = fingerprint.filter(|f| f.steps.len() >= MIN_FINGERPRINT_STEPS) {
            let detection = Detection::Fingerprint(fp);
            for alert in &mut out[first..] {
                if alert.kind == AlertKind::Exploit && alert.severity >= Severity::High {
                    alert.detection = vec![detection.clone()];
                }
            }
        }
        if let Some(sim) = &tx.simulated {
            let trace = tx.trace.as_ref().map(crate::trace::CallTrace::hash).unwrap_or_default();
            for alert in &mut out[first..] {
                pre_execution_evidence(alert, sim, trace, &effects, &self.protected);
            }
        }
    }

    /// Processes a mined block: its balances, every transaction in order, then the end of block.
    pub fn process_block(&mut self, block: &Block) -> Vec<Alert> {
        let mut out = Vec::new();
        for b in &block.balances {
            self.observe_balance(*b);
        }
        for tx in &block.transactions {
            self.process_tx_into(tx, &mut out);
        }
        self.findings.clear();
        let effects = Effects::default();
        let cx = Context {
            indicators: &self.indicators,
            protected: &self.protected,
            balances: &self.balances,
            head: self.head,
            effects: &effects,
        };
        for d in &mut self.detectors {
            d.end_block(&block.header, &cx, &mut self.findings);
        }
        self.emit(None, &mut out);
        self.head = Some(self.head.map_or(block.header.number, |h| h.max(block.header.number)));
        self.stats.blocks += 1;
        out
    }

    /// Forgets what detectors learnt from blocks above `height`, before a reorg's new blocks
    /// are processed. Known balances are dropped too: collectors read them again.
    pub fn rewind(&mut self, height: u64) {
        for d in &mut self.detectors {
            d.rewind(height);
        }
        self.balances.clear();
        self.head = self.head.map(|h| h.min(height));
    }

    fn emit(&mut self, tx: Option<&Transaction>, out: &mut Vec<Alert>) {
        for f in self.findings.drain(..) {
            let Some(tx_ref) = f.tx.clone().or_else(|| tx.map(Transaction::tx_ref)) else {
                continue;
            };
            let time = f.time.or_else(|| tx.map(Transaction::time)).unwrap_or(0);
            let pending = tx_ref.block.is_none();
            if !self.cooldown.admit(&f.detector, &f.incident, pending, time) {
                self.stats.suppressed += 1;
                continue;
            }
            self.stats.alerts += 1;
            out.push(Alert {
                detector: f.detector,
                severity: f.severity,
                kind: f.kind,
                confidence: f.confidence,
                tx: tx_ref,
                addresses: f.addresses,
                indicators: f.indicators,
                labels: f.labels,
                description: f.description,
                time,
                metadata: f.metadata,
                detection: Vec::new(),
            });
        }
    }
}

/// What an alert on a pre-executed pending transaction carries, whatever detector raised it:
/// `pre_execution = true`, the simulated trace's hash and state block, the predicted loss of
/// protected contracts per asset (`predicted_loss.<asset>`), and the transaction's fees (so a
/// pause can outbid it).
fn pre_execution_evidence(
    alert: &mut Alert,
    sim: &crate::model::Simulated,
    trace: vigil_core::B256,
    effects: &Effects,
    protected: &Protected,
) {
    alert.description = format!(
        "{} [pre-execution on the state of block {}, simulated trace {}]",
        alert.description, sim.state_block, trace
    );
    let m = &mut alert.metadata;
    m.insert("pre_execution".into(), "true".into());
    m.insert("simulated_trace".into(), trace.to_string());
    m.insert("simulated_state_block".into(), sim.state_block.to_string());
    m.insert("pending_max_fee_per_gas".into(), sim.max_fee_per_gas.to_string());
    if let Some(tip) = sim.max_priority_fee_per_gas {
        m.insert("pending_max_priority_fee_per_gas".into(), tip.to_string());
    }
    let mut losses: std::collections::BTreeMap<String, alloy_primitives::U256> =
        std::collections::BTreeMap::new();
    for holder in protected.addresses() {
        for (asset, delta) in effects.deltas_of(holder) {
            let loss = delta.loss();
            if !loss.is_zero() {
                let total = losses.entry(format!("predicted_loss.{}", asset.key())).or_default();
                *total = total.saturating_add(loss);
            }
        }
    }
    for (key, loss) in losses {
        m.insert(key, loss.to_string());
    }
}
