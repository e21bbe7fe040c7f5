//! The monitor: collectors → detection engine → alert sink. The library side of
//! `vigil monitor --rpc URL --rules DIR` and of the chain watch inside `vigil node`.
//!
//! ```text
//! BlockCollector ──┐                          ┌─► AlertSink (node event stream, gossip, executor)
//! PendingCollector ─┼─► ChainEvent ─► Engine ─┤
//! ReplayCollector ──┘   (bounded)             └─► log
//!                    EngineUpdate ─┘ (ledger verdicts, feeds, shared detection content)
//! ```
//!
//! Collectors run as tasks feeding one bounded channel; one task owns the [`Engine`], converts
//! each event, runs the detectors, hands alerts to the sink, applies indicator updates between
//! events, and saves the block cursor once a block's alerts are delivered (so a crash replays
//! at most the block in flight, never skips one). An executor (on-chain pause, issue 6) plugs
//! in as a sink, or beside the collectors, without changing this loop.
//!
//! Mined blocks carry call traces when the node offers a tracer (`trace`, see
//! [`crate::trace`]); [`Monitor::trace_source`] tells its users which one is in use.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use vigil_core::{Alert, EvmChainId, Severity};
use vigil_detect::{
    DetectConfig, Engine, EngineStats, EngineUpdate, IndicatorIndex, RuleError, RuleSet,
};

use crate::backoff::Backoff;
use crate::collector::{
    BlockCollector, BlockCollectorConfig, ChainEvent, Collector, PendingCollector, ReplayCollector,
};
use crate::convert;
use crate::cursor::{CursorStore, DEFAULT_DEPTH, FileCursorStore};
use crate::error::ChainError;
use crate::presim::{Done, PreExec, PreExecStats};
use crate::raw::{Recorded, Recording};
use crate::rpc::Rpc;
use crate::trace::{TraceMode, TraceSource};
use vigil_fork::SimulateConfig;

/// Configuration of a monitor. Every field has a default; unknown fields are errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MonitorConfig {
    /// The node's JSON-RPC URL: `http(s)://` (polling) or `ws(s)://` (subscriptions).
    pub rpc: String,
    /// A directory of rule files (`*.toml`); a `detect.toml` in it configures the detectors.
    pub rules_dir: Option<PathBuf>,
    /// Detector configuration (replaced by `rules_dir/detect.toml` when that exists).
    pub detect: DetectConfig,
    /// Where the block cursor is kept, to resume after a restart (`None`: start fresh).
    pub cursor_file: Option<PathBuf>,
    /// The first block when there is no cursor (`None`: the current head).
    pub start_block: Option<u64>,
    /// Polling interval for new heads and pending transactions over HTTP, milliseconds.
    #[serde(with = "crate::backoff::millis")]
    pub poll_interval: Duration,
    /// Whether to watch the mempool.
    pub pending: bool,
    /// Whether to use subscriptions when the URL is a WebSocket.
    pub subscribe: bool,
    /// Blocks remembered to follow reorgs.
    pub reorg_depth: usize,
    /// Retry policy for RPC calls.
    pub backoff: Backoff,
    /// Capacity of the event channel between collectors and the engine.
    pub channel_capacity: usize,
    /// Record every collected event to this JSON file (for offline replays).
    pub record: Option<PathBuf>,
    /// Where mined blocks' call traces come from: `auto` (geth's `callTracer`, else parity's
    /// `trace_block`, else receipts only, whichever the node offers, probed on the first
    /// block), `call_tracer`, `parity` (the monitor stops if the node refuses it) or `off`.
    pub trace: TraceMode,
    /// Pre-execution of pending transactions with revm (`[watch.simulate]`).
    pub simulate: SimulateConfig,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            rpc: "http://127.0.0.1:8545".into(),
            rules_dir: None,
            detect: DetectConfig::default(),
            cursor_file: None,
            start_block: None,
            poll_interval: Duration::from_secs(1),
            pending: true,
            subscribe: true,
            reorg_depth: DEFAULT_DEPTH,
            backoff: Backoff::default(),
            channel_capacity: 1_024,
            record: None,
            trace: TraceMode::default(),
            simulate: SimulateConfig::default(),
        }
    }
}

/// Why a monitor could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A rule file is invalid.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// The rules directory or `detect.toml` could not be read or parsed.
    #[error("{path}: {message}")]
    Config {
        /// The file or directory.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The chain side failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The chain's id changed under a cursor saved for another chain.
    #[error("the cursor is for chain {cursor} but the node serves chain {node}")]
    WrongChain {
        /// The cursor's chain.
        cursor: u64,
        /// The node's chain.
        node: u64,
    },
    /// The alert sink is gone.
    #[error("the alert sink is closed")]
    SinkClosed,
}

/// The alert sink has gone away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("alert sink closed")]
pub struct SinkClosed;

/// Where alerts go: the node's event stream, a signer and gossip, an executor, a test.
pub trait AlertSink: Send + 'static {
    /// Takes one alert; waits when the consumer is busy.
    fn deliver(&mut self, alert: Alert) -> impl Future<Output = Result<(), SinkClosed>> + Send;
}

impl AlertSink for mpsc::Sender<Alert> {
    async fn deliver(&mut self, alert: Alert) -> Result<(), SinkClosed> {
        self.send(alert).await.map_err(|_| SinkClosed)
    }
}

impl AlertSink for mpsc::UnboundedSender<Alert> {
    async fn deliver(&mut self, alert: Alert) -> Result<(), SinkClosed> {
        self.send(alert).map_err(|_| SinkClosed)
    }
}

/// What a monitor did.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct MonitorStats {
    /// Blocks processed.
    pub blocks: u64,
    /// Pending transactions processed.
    pub pending: u64,
    /// Pending transactions judged on their simulated effects.
    pub simulated: u64,
    /// Pending transactions whose simulation failed (judged on calldata only).
    pub simulation_failures: u64,
    /// Reorgs followed.
    pub reorgs: u64,
    /// Alerts delivered.
    pub alerts: u64,
    /// Events that could not be converted (logged and skipped).
    pub conversion_errors: u64,
    /// The engine's counters.
    pub engine: EngineStats,
}

fn config_error(path: &Path, e: impl std::fmt::Display) -> MonitorError {
    MonitorError::Config { path: path.into(), message: e.to_string() }
}

/// Loads the rule files of `dir` (every `*.toml` but `detect.toml`, in name order), the ABI
/// files their contracts name, and its `detect.toml`, if any.
pub fn load_rules_dir(dir: &Path) -> Result<(RuleSet, Option<DetectConfig>), MonitorError> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| config_error(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    files.sort();
    let mut detect = None;
    let mut texts = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).map_err(|e| config_error(&path, e))?;
        if path.file_name().is_some_and(|n| n == "detect.toml") {
            detect = Some(DetectConfig::from_toml(&text).map_err(|e| config_error(&path, e))?);
        } else {
            let name =
                path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
            texts.push((name, text));
        }
    }
    // A contract's `abi` file is named relative to the rules directory.
    let rules =
        RuleSet::load_with(texts.iter().map(|(n, t)| (n.as_str(), t.as_str())), |_, abi| {
            let path = dir.join(abi);
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))
        })?;
    Ok((rules, detect))
}

/// Collectors, an engine, and where to keep the cursor. See the module docs.
pub struct Monitor {
    chain: EvmChainId,
    engine: Engine,
    collectors: Vec<Box<dyn Collector>>,
    cursor_store: Option<Arc<dyn CursorStore>>,
    updates: Option<mpsc::Receiver<EngineUpdate>>,
    record: Option<PathBuf>,
    capacity: usize,
    trace_source: watch::Receiver<Option<TraceSource>>,
    pre: Option<(PreExec, mpsc::UnboundedReceiver<Done>)>,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor")
            .field("chain", &self.chain)
            .field("collectors", &self.collectors.iter().map(|c| c.name()).collect::<Vec<_>>())
            .field("engine", &self.engine)
            .finish_non_exhaustive()
    }
}

impl Monitor {
    /// Connects to `config.rpc`, loads the rules, and sets up the block collector (resuming
    /// from `config.cursor_file`) and, if enabled, the pending collector.
    pub async fn connect(config: &MonitorConfig) -> Result<Self, MonitorError> {
        let store = config
            .cursor_file
            .as_ref()
            .map(|p| Arc::new(FileCursorStore::new(p)) as Arc<dyn CursorStore>);
        Self::connect_with(config, store).await
    }

    /// Like [`Monitor::connect`] with a cursor store of the caller's (the node's redb store).
    pub async fn connect_with(
        config: &MonitorConfig,
        cursor_store: Option<Arc<dyn CursorStore>>,
    ) -> Result<Self, MonitorError> {
        let (rules, detect) = match &config.rules_dir {
            Some(dir) => load_rules_dir(dir)?,
            None => (RuleSet::empty(), None),
        };
        let detect = detect.unwrap_or_else(|| config.detect.clone());
        let rpc = Rpc::connect(&config.rpc, config.backoff).await?;
        let chain_id = rpc.chain_id().await?;
        let cursor = match &cursor_store {
            Some(store) => store.load()?,
            None => None,
        };
        if let Some(c) = &cursor
            && c.chain_id != chain_id
        {
            return Err(MonitorError::WrongChain { cursor: c.chain_id, node: chain_id });
        }
        let blocks = BlockCollector::new(
            rpc.clone(),
            chain_id,
            cursor,
            BlockCollectorConfig {
                start: config.start_block,
                poll_interval: config.poll_interval,
                subscribe: config.subscribe,
                reorg_depth: config.reorg_depth,
                protected: detect.protected.iter().map(|p| p.address).collect(),
                trace: config.trace,
            },
        );
        let trace_source = blocks.trace_source();
        let protected: std::collections::BTreeSet<_> =
            detect.protected.iter().map(|p| p.address).collect();
        let mut collectors: Vec<Box<dyn Collector>> = vec![Box::new(blocks)];
        let pre = if config.pending && config.simulate.enabled {
            Some(PreExec::connect(&config.rpc, chain_id, config.simulate.clone(), protected).await?)
        } else {
            None
        };
        if config.pending {
            collectors.push(Box::new(PendingCollector::new(rpc.clone(), config.poll_interval)));
        }
        tracing::info!(
            url = %rpc.display_url(),
            chain_id,
            rules = rules.len(),
            protected = detect.protected.len(),
            pending = config.pending,
            simulate = pre.is_some(),
            trace = %config.trace,
            "monitor connected"
        );
        let mut monitor = Self::new(EvmChainId(chain_id), Engine::new(&detect, rules), collectors);
        monitor.cursor_store = cursor_store;
        monitor.record = config.record.clone();
        monitor.capacity = config.channel_capacity.max(1);
        monitor.trace_source = trace_source;
        monitor.pre = pre;
        Ok(monitor)
    }

    /// A monitor of `chain` from any collectors.
    pub fn new(chain: EvmChainId, engine: Engine, collectors: Vec<Box<dyn Collector>>) -> Self {
        Self {
            chain,
            engine,
            collectors,
            cursor_store: None,
            updates: None,
            record: None,
            capacity: 1_024,
            trace_source: watch::channel(None).1,
            pre: None,
        }
    }

    /// Pre-executes the pending transactions `pre` selects (see [`crate::presim`]).
    pub fn with_pre_execution(mut self, pre: (PreExec, mpsc::UnboundedReceiver<Done>)) -> Self {
        self.pre = Some(pre);
        self
    }

    /// The counters of pre-execution, when it is on.
    pub fn pre_execution_stats(&self) -> Option<Arc<PreExecStats>> {
        self.pre.as_ref().map(|(p, _)| p.stats())
    }

    /// A monitor replaying `recording` offline.
    pub fn replay(recording: Recording, engine: Engine) -> Self {
        let chain = EvmChainId(recording.chain_id);
        Self::new(chain, engine, vec![Box::new(ReplayCollector::new(recording))])
    }

    /// The call-trace source of its block collector: `None` until the collector has probed the
    /// node (on its first block), and for monitors without one (replays).
    pub fn trace_source(&self) -> watch::Receiver<Option<TraceSource>> {
        self.trace_source.clone()
    }

    /// The engine, e.g. to load indicators before running.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }

    /// Replaces the indicator index.
    pub fn with_indicators(mut self, index: IndicatorIndex) -> Self {
        self.engine.replace_indicators(index);
        self
    }

    /// Applies updates received on `updates` while running: indicators (ledger verdicts,
    /// feeds) and shared detection content (fingerprints, rule files), between events.
    pub fn with_updates(mut self, updates: mpsc::Receiver<EngineUpdate>) -> Self {
        self.updates = Some(updates);
        self
    }

    /// Records collected events to `path` (written when the monitor stops).
    pub fn with_recording(mut self, path: impl Into<PathBuf>) -> Self {
        self.record = Some(path.into());
        self
    }

    /// Runs until `shutdown` completes, every collector has finished (a replay), a collector
    /// fails, or the sink closes.
    pub async fn run<S: AlertSink>(
        mut self,
        mut sink: S,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<MonitorStats, MonitorError> {
        let (tx, mut events) = mpsc::channel::<ChainEvent>(self.capacity);
        let mut tasks = JoinSet::new();
        for c in self.collectors.drain(..) {
            let name = c.name();
            let out = tx.clone();
            tasks.spawn(async move { (name, c.run(out).await) });
        }
        drop(tx);
        let mut updates = self.updates.take();
        let mut simulated =
            self.pre.as_mut().map(|(_, rx)| std::mem::replace(rx, mpsc::unbounded_channel().1));
        let mut recording =
            self.record.as_ref().map(|_| Recording { chain_id: self.chain.0, events: Vec::new() });
        let mut stats = MonitorStats::default();
        tokio::pin!(shutdown);

        let result = loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break Ok(()),
                Some(update) = async { updates.as_mut()?.recv().await }, if updates.is_some() => {
                    if let Err(e) = self.engine.apply_update(update) {
                        tracing::warn!(error = %e, "detection update refused");
                    }
                }
                Some(done) = async { simulated.as_mut()?.recv().await }, if simulated.is_some() => {
                    if let Err(e) = self.judge_simulated(done, &mut sink, &mut stats).await {
                        break Err(e);
                    }
                }
                Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                    if let Err(e) = collector_ended(done) {
                        break Err(e);
                    }
                }
                event = events.recv() => {
                    let Some(event) = event else {
                        // Every collector has ended; the channel can close before their tasks
                        // are joined, and one that failed must still say why.
                        let mut ended = Ok(());
                        while let Some(done) = tasks.join_next().await {
                            ended = ended.and(collector_ended(done));
                        }
                        break ended;
                    };
                    if let Some(r) = recording.as_mut() {
                        match &event {
                            ChainEvent::Pending { tx, seen_at } => r.events.push(Recorded::Pending { seen_at: *seen_at, tx: tx.clone() }),
                            ChainEvent::Block { raw, .. } => r.events.push(Recorded::Block(raw.clone())),
                            ChainEvent::Reorg { .. } => {}
                        }
                    }
                    if let Err(e) = self.handle(event, &mut sink, &mut stats).await {
                        break Err(e);
                    }
                }
            }
        };
        tasks.abort_all();
        stats.engine = self.engine.stats();
        if let (Some(path), Some(r)) = (&self.record, recording) {
            r.write(path)?;
            tracing::info!(path = %path.display(), events = r.events.len(), "recording written");
        }
        result.map(|()| stats)
    }

    async fn handle<S: AlertSink>(
        &mut self,
        event: ChainEvent,
        sink: &mut S,
        stats: &mut MonitorStats,
    ) -> Result<(), MonitorError> {
        match event {
            ChainEvent::Pending { tx: rpc_tx, seen_at } => {
                stats.pending += 1;
                let seen = std::time::Instant::now();
                let tx = convert::pending_tx(self.chain, &rpc_tx, seen_at);
                if let Some((pre, _)) = &self.pre {
                    let index = self.engine.indicators();
                    let chain = self.chain;
                    if let Some(reason) = pre.reason(&tx, |a| index.contains_address(chain, a))
                        && pre.spawn(tx.clone(), &rpc_tx, reason, seen)
                    {
                        return Ok(());
                    }
                }
                let alerts = self.engine.process_tx(&tx);
                deliver(sink, alerts, stats).await?;
            }
            ChainEvent::Block { raw, cursor } => {
                match convert::block(self.chain, &raw) {
                    Ok(block) => {
                        stats.blocks += 1;
                        let alerts = self.engine.process_block(&block);
                        if let Some((pre, _)) = &mut self.pre {
                            pre.on_block(&raw, &block);
                        }
                        deliver(sink, alerts, stats).await?;
                    }
                    Err(e) => {
                        stats.conversion_errors += 1;
                        tracing::error!(error = %e, "block skipped");
                    }
                }
                if let (Some(store), Some(cursor)) = (&self.cursor_store, cursor) {
                    store.save(&cursor)?;
                }
            }
            ChainEvent::Reorg { common_ancestor, depth } => {
                stats.reorgs += 1;
                tracing::warn!(common_ancestor, depth, "reorg: detectors rewound");
                self.engine.rewind(common_ancestor);
                if let Some((pre, _)) = &mut self.pre {
                    pre.on_reorg(common_ancestor);
                }
            }
        }
        Ok(())
    }
}

impl Monitor {
    /// A simulation ended: the engine judges the simulated transaction (or, when the
    /// simulation failed, the plain one).
    async fn judge_simulated<S: AlertSink>(
        &mut self,
        done: Done,
        sink: &mut S,
        stats: &mut MonitorStats,
    ) -> Result<(), MonitorError> {
        if done.error.is_some() {
            stats.simulation_failures += 1;
        } else {
            stats.simulated += 1;
        }
        let alerts = self.engine.process_tx(&done.tx);
        if !alerts.is_empty() {
            tracing::debug!(
                tx = %done.tx.hash,
                reason = ?done.reason,
                micros = done.seen.elapsed().as_micros() as u64,
                "pre-execution alerts"
            );
        }
        deliver(sink, alerts, stats).await
    }
}

/// What a collector task's end means for the monitor: a failure stops it.
fn collector_ended(
    done: Result<(&'static str, Result<(), ChainError>), tokio::task::JoinError>,
) -> Result<(), MonitorError> {
    match done {
        Ok((_, Ok(()))) | Ok((_, Err(ChainError::Closed))) => Ok(()),
        Ok((name, Err(e))) => {
            tracing::error!(collector = name, error = %e, "collector failed");
            Err(MonitorError::Chain(e))
        }
        Err(e) if e.is_cancelled() => Ok(()),
        Err(e) => Err(MonitorError::Chain(ChainError::Rpc {
            call: "collector task".into(),
            message: e.to_string(),
        })),
    }
}

async fn deliver<S: AlertSink>(
    sink: &mut S,
    alerts: Vec<Alert>,
    stats: &mut MonitorStats,
) -> Result<(), MonitorError> {
    for alert in alerts {
        let stage = match (alert.tx.block, alert.metadata.get("pre_execution")) {
            (Some(_), _) => "mined",
            (None, Some(_)) => "pre-execution",
            (None, None) => "pending",
        };
        if alert.severity >= Severity::High {
            tracing::warn!(detector = %alert.detector, severity = %alert.severity, kind = %alert.kind, tx = %alert.tx.hash, stage, "{}", alert.description);
        } else {
            tracing::info!(detector = %alert.detector, severity = %alert.severity, kind = %alert.kind, tx = %alert.tx.hash, stage, "{}", alert.description);
        }
        stats.alerts += 1;
        sink.deliver(alert).await.map_err(|_| MonitorError::SinkClosed)?;
    }
    Ok(())
}

/// `vigil monitor`: connects with `config` and runs until `shutdown`, sending alerts to `sink`.
pub async fn run(
    config: MonitorConfig,
    sink: impl AlertSink,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<MonitorStats, MonitorError> {
    Monitor::connect(&config).await?.run(sink, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_reads_from_toml_with_defaults_and_refuses_unknown_fields() {
        let c: MonitorConfig = toml::from_str(
            r#"
            rpc = "wss://eth.example.org/v1/KEY"
            rules_dir = "rules"
            cursor_file = "monitor.cursor"
            poll_interval = 500
            [backoff]
            initial = 100
            max = 5000
            [detect]
            cooldown_secs = 60
            "#,
        )
        .unwrap();
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.backoff.max, Duration::from_secs(5));
        assert_eq!(c.detect.cooldown(), 60);
        assert!(c.pending && c.subscribe);
        assert_eq!(c.reorg_depth, DEFAULT_DEPTH);
        assert_eq!(c.trace, TraceMode::Auto);
        let c: MonitorConfig = toml::from_str("trace = \"parity\"").unwrap();
        assert_eq!(c.trace, TraceMode::Parity);
        let err = toml::from_str::<MonitorConfig>("trace = \"geth\"").unwrap_err().to_string();
        assert!(err.contains("call_tracer"), "{err}");
        let err = toml::from_str::<MonitorConfig>("rpc_url = \"x\"").unwrap_err().to_string();
        assert!(err.contains("rpc_url"), "{err}");
    }
}
