//! Respond: the local policy engine and its executors.
//!
//! The engine watches the node's event stream — the ledger's events (breakers tripped and
//! reset, verdicts) and alerts (this node's detectors', and with a route's consent its peers')
//! — and turns each into an [`Incident`]. It hands an incident, at most once, to every
//! executor whose filter matches (incident webhooks, the on-chain pause) and to the channels
//! of every route ([`route`]) that lets it through ([`channel`]: webhook, Slack, Discord,
//! Telegram, email, PagerDuty, Opsgenie, with message templates from [`template`]). Each
//! delivery runs in its own task with its own retries, so a slow or failing receiver never
//! holds up the others, the detectors or the node; an alert is delivered as soon as it is
//! raised, without waiting for a block.

pub mod channel;
pub mod onchain;
pub mod route;
pub mod template;
pub mod webhook;

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use vigil_core::{Alert, AlertId, EvmChainId, OnChainAction, ProtocolId, Severity, Signed};
use vigil_ledger::{Event, ReportStatus};

use self::route::Route;
use self::template::Var;
use crate::app::{NodeEvent, NodeState};
use crate::metrics::{DeliveryMetrics, RouteLabels};

/// The `peer` of an alert raised by this node's own detectors.
pub const LOCAL: &str = "local";

/// A family of incidents, for route and webhook filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// A detector's or rule's alert.
    Alert,
    /// A circuit breaker tripped or re-armed.
    Breaker,
    /// A report's verdict.
    Verdict,
}

/// Where an alert's transaction was when it was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// In the mempool (judged on its pre-execution, or on its calldata).
    Pending,
    /// In a block.
    Mined,
}

impl Stage {
    /// The stage of `alert`'s transaction.
    pub fn of(alert: &Alert) -> Self {
        if alert.tx.block.is_some() { Stage::Mined } else { Stage::Pending }
    }

    /// `pending` or `mined`.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Pending => "pending",
            Stage::Mined => "mined",
        }
    }
}

/// Something worth acting on.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Incident {
    /// A breaker tripped: pause.
    BreakerTripped {
        /// The protocol.
        protocol: ProtocolId,
        /// Its trip count after this trip (identifies the incident).
        trip: u64,
        /// Why, as the ledger recorded it.
        reason: serde_json::Value,
        /// What to do on chain.
        action: OnChainAction,
        /// The chain of the action.
        chain: EvmChainId,
        /// Height of the trip (for a trip seen first by this node's own detector, the height
        /// its fast-path transaction is expected at).
        height: u64,
        /// When this node's detector raised the alert, if it did (for latency metrics).
        #[serde(skip)]
        detected_at: Option<Instant>,
        /// The pending exploit the pause must be ordered before, when the alert came from its
        /// pre-execution: the pause outbids its fees.
        #[serde(skip)]
        outbid: Option<Outbid>,
    },
    /// A breaker was re-armed: unpause.
    BreakerReset {
        /// The protocol.
        protocol: ProtocolId,
        /// The trip count it reset.
        trip: u64,
        /// What to undo on chain.
        action: OnChainAction,
        /// The chain of the action.
        chain: EvmChainId,
        /// Height of the reset.
        height: u64,
    },
    /// A report's verdict.
    Verdict {
        /// The report.
        report: vigil_core::ReportId,
        /// The outcome.
        status: ReportStatus,
        /// Height of the verdict.
        height: u64,
    },
    /// A detector's or rule's alert, signed by the node that raised it.
    Alert {
        /// Its content id.
        id: AlertId,
        /// `local`, or the peer that forwarded it.
        peer: String,
        /// The alert with its author's signature.
        alert: Box<Signed<Alert>>,
        /// Registered protocols whose contracts it touches (its addresses or its recipient).
        protocols: Vec<ProtocolId>,
        /// The node's view of it (`GET /v1/alerts/{id}`), when the node knows its own URL.
        link: Option<String>,
        /// When the policy engine got it (for delivery latency metrics).
        #[serde(skip)]
        seen_at: Option<Instant>,
    },
}

impl Incident {
    /// A key that is the same for every sighting of one incident.
    pub fn key(&self) -> String {
        match self {
            Incident::BreakerTripped { protocol, trip, .. } => format!("trip:{protocol}:{trip}"),
            Incident::BreakerReset { protocol, trip, .. } => format!("reset:{protocol}:{trip}"),
            Incident::Verdict { report, .. } => format!("verdict:{report}"),
            Incident::Alert { id, .. } => format!("alert:{id}"),
        }
    }

    /// The family.
    pub fn family_kind(&self) -> Family {
        match self {
            Incident::BreakerTripped { .. } | Incident::BreakerReset { .. } => Family::Breaker,
            Incident::Verdict { .. } => Family::Verdict,
            Incident::Alert { .. } => Family::Alert,
        }
    }

    /// The family's name, for executor filters: `alert`, `breaker` or `verdict`.
    pub fn family(&self) -> &'static str {
        match self.family_kind() {
            Family::Alert => "alert",
            Family::Breaker => "breaker",
            Family::Verdict => "verdict",
        }
    }

    /// How urgent: an alert's own severity; a trip is critical; a reset or verdict is info.
    pub fn severity(&self) -> Severity {
        match self {
            Incident::Alert { alert, .. } => alert.payload.severity,
            Incident::BreakerTripped { .. } => Severity::Critical,
            Incident::BreakerReset { .. } | Incident::Verdict { .. } => Severity::Info,
        }
    }

    /// When the policy engine got it, if recorded.
    pub fn seen_at(&self) -> Option<Instant> {
        match self {
            Incident::Alert { seen_at, .. } => *seen_at,
            Incident::BreakerTripped { detected_at, .. } => *detected_at,
            _ => None,
        }
    }

    /// The node's view of it, if known.
    pub fn link(&self) -> Option<&str> {
        match self {
            Incident::Alert { link, .. } => link.as_deref(),
            _ => None,
        }
    }

    /// Where it happened, for paging services: `vigil:chain-<id>` or `vigil:ledger`.
    pub fn source(&self) -> String {
        match self {
            Incident::Alert { alert, .. } => format!("vigil:chain-{}", alert.payload.tx.chain),
            Incident::BreakerTripped { chain, .. } | Incident::BreakerReset { chain, .. } => {
                format!("vigil:chain-{chain}")
            }
            Incident::Verdict { .. } => "vigil:ledger".into(),
        }
    }

    /// Tags for paging services: the family, and the detector and stage of an alert.
    pub fn tags(&self) -> Vec<String> {
        let mut tags = vec![self.family().to_owned()];
        if let Incident::Alert { alert, .. } = self {
            tags.push(alert.payload.detector.clone());
            tags.push(Stage::of(&alert.payload).as_str().to_owned());
            tags.push(alert.payload.severity.to_string());
        }
        tags
    }

    /// Key facts as strings (Opsgenie `details`).
    pub fn details(&self) -> std::collections::BTreeMap<&'static str, String> {
        let vars = [
            ("tx_hash", Var::TxHash),
            ("chain", Var::TxChain),
            ("stage", Var::Stage),
            ("block", Var::TxBlock),
            ("detector", Var::Detector),
            ("link", Var::Link),
            ("protocol", Var::Protocol),
            ("height", Var::Height),
        ];
        vars.into_iter().map(|(k, v)| (k, self.var(&v))).filter(|(_, v)| !v.is_empty()).collect()
    }

    /// The value of a template variable for this incident (empty when it does not apply).
    pub fn var(&self, var: &Var) -> String {
        let alert = match self {
            Incident::Alert { alert, .. } => Some(&alert.payload),
            _ => None,
        };
        let join = |items: Vec<String>| items.join(", ");
        match (var, alert) {
            (Var::Family, _) => self.family().into(),
            (Var::Summary, _) => self.summary(),
            (Var::Protocol, _) => match self {
                Incident::BreakerTripped { protocol, .. }
                | Incident::BreakerReset { protocol, .. } => protocol.to_string(),
                Incident::Alert { protocols, .. } => {
                    join(protocols.iter().map(|p| p.to_string()).collect())
                }
                Incident::Verdict { .. } => String::new(),
            },
            (Var::Height, _) => match self {
                Incident::BreakerTripped { height, .. }
                | Incident::BreakerReset { height, .. }
                | Incident::Verdict { height, .. } => height.to_string(),
                Incident::Alert { .. } => String::new(),
            },
            (Var::Link, _) => self.link().unwrap_or_default().into(),
            (Var::TxChain, None) => match self {
                Incident::BreakerTripped { chain, .. } | Incident::BreakerReset { chain, .. } => {
                    chain.to_string()
                }
                _ => String::new(),
            },
            (_, None) => String::new(),
            (v, Some(a)) => match v {
                Var::TxHash => a.tx.hash.to_string(),
                Var::TxFrom => a.tx.from.to_string(),
                Var::TxTo => a.tx.to.map(|t| t.to_string()).unwrap_or_default(),
                Var::TxChain => a.tx.chain.to_string(),
                Var::TxBlock => a.tx.block.map(|b| b.to_string()).unwrap_or_default(),
                Var::Stage => Stage::of(a).as_str().into(),
                Var::AlertId => a.id().to_string(),
                Var::Detector => a.detector.clone(),
                Var::Rule => a.detector.strip_prefix("rule:").unwrap_or(&a.detector).to_owned(),
                Var::Severity => a.severity.to_string(),
                Var::Kind => a.kind.to_string(),
                Var::Confidence => a.confidence.to_string(),
                Var::Description => a.description.clone(),
                Var::Addresses => join(a.addresses.iter().map(|x| x.to_string()).collect()),
                Var::Labels => a.labels.join(", "),
                Var::Peer => match self {
                    Incident::Alert { peer, .. } => peer.clone(),
                    _ => String::new(),
                },
                Var::Metadata(key) => a.metadata.get(key).cloned().unwrap_or_default(),
                Var::Family | Var::Summary | Var::Protocol | Var::Height | Var::Link => {
                    String::new()
                }
            },
        }
    }

    /// The title a channel without a `title` template sends.
    pub fn default_title(&self) -> String {
        match self {
            Incident::Alert { alert, .. } => {
                let a = &alert.payload;
                format!(
                    "Vigil [{}] {} on chain {} ({})",
                    a.severity,
                    a.detector,
                    a.tx.chain,
                    Stage::of(a).as_str()
                )
            }
            other => other.summary(),
        }
    }

    /// The body a channel without a `body` template sends: for an alert its description,
    /// transaction, chain, stage and link.
    pub fn default_body(&self) -> String {
        match self {
            Incident::Alert { alert, link, .. } => {
                let a = &alert.payload;
                let place = match a.tx.block {
                    Some(block) => format!("mined in block {block}"),
                    None => "pending".into(),
                };
                let mut body = format!(
                    "{}\ntx {} on chain {} ({place})",
                    a.description, a.tx.hash, a.tx.chain
                );
                if let Some(link) = link {
                    body.push('\n');
                    body.push_str(link);
                }
                body
            }
            other => other.summary(),
        }
    }

    /// One line for people (Slack, Discord, logs).
    pub fn summary(&self) -> String {
        match self {
            Incident::BreakerTripped { protocol, reason, height, .. } => format!(
                "🚨 Vigil: circuit breaker of {protocol} TRIPPED at height {height} ({}). Pause sent to its contracts.",
                reason["type"].as_str().unwrap_or("unknown reason")
            ),
            Incident::BreakerReset { protocol, height, .. } => {
                format!("✅ Vigil: circuit breaker of {protocol} re-armed at height {height}.")
            }
            Incident::Verdict { report, status, height } => {
                format!("Vigil: report {} is {status} (height {height}).", report.short())
            }
            Incident::Alert { alert, .. } => {
                let a = &alert.payload;
                format!(
                    "⚠️ Vigil [{}] {}: {} (tx {}, chain {}, {})",
                    a.severity,
                    a.detector,
                    a.description,
                    a.tx.hash,
                    a.tx.chain,
                    Stage::of(a).as_str()
                )
            }
        }
    }
}

/// Runs `attempt` until it succeeds or `attempts` tries failed, waiting `backoff_ms` after the
/// first failure and twice as long after each next one. Returns the successful attempt's
/// number, or the last error.
pub async fn with_retries<F, Fut>(
    attempts: u32,
    backoff_ms: u64,
    mut attempt: F,
) -> Result<u32, String>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), String>>,
{
    let attempts = attempts.max(1);
    let mut delay = Duration::from_millis(backoff_ms);
    let mut last = String::new();
    for n in 1..=attempts {
        match attempt().await {
            Ok(()) => return Ok(n),
            Err(e) => {
                tracing::debug!(attempt = n, "delivery failed: {e}");
                last = e;
            }
        }
        if n < attempts {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    Err(last)
}

/// The fees of a pending transaction a pause must be mined before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outbid {
    /// Its max fee per gas (its gas price when legacy), wei.
    pub max_fee_per_gas: u128,
    /// Its max priority fee per gas, wei (`None` when legacy: the whole price is the tip).
    pub max_priority_fee_per_gas: Option<u128>,
}

impl Outbid {
    /// The fees a pre-execution alert says its pending transaction pays, if it says.
    pub fn of(alert: &Alert) -> Option<Self> {
        let m = &alert.metadata;
        if m.get("pre_execution").map(String::as_str) != Some("true") {
            return None;
        }
        Some(Self {
            max_fee_per_gas: m.get("pending_max_fee_per_gas")?.parse().ok()?,
            max_priority_fee_per_gas: m
                .get("pending_max_priority_fee_per_gas")
                .and_then(|v| v.parse().ok()),
        })
    }

    /// The fees of a pause (gas limit `gas`) that outbid it by `bump_percent`, each capped at
    /// `cap`; `true` when the cap kept the pause from outbidding it.
    pub fn fees(
        &self,
        bump_percent: u32,
        cap: u128,
        gas: u64,
    ) -> (vigil_chain::executor::Fees, bool) {
        vigil_chain::executor::Fees::outbid(
            self.max_fee_per_gas,
            self.max_priority_fee_per_gas,
            bump_percent,
            cap,
            gas,
        )
    }
}

/// Why an executor failed.
#[derive(Debug, thiserror::Error)]
#[error("{executor}: {message}")]
pub struct ExecError {
    /// The executor.
    pub executor: String,
    /// What went wrong.
    pub message: String,
}

/// Carries out incidents: one trait for webhooks and on-chain actions.
pub trait Executor: Send + Sync + 'static {
    /// A name for logs and metrics.
    fn name(&self) -> String;
    /// Whether this executor acts on `incident`.
    fn wants(&self, incident: &Incident) -> bool;
    /// Acts on `incident` (including its own retries); the string describes what was done.
    fn execute<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<String, ExecError>>;
}

/// Incident keys remembered to dispatch each incident once; the oldest are forgotten first
/// (an incident seen again that long after is old news).
const SEEN_CAPACITY: usize = 65_536;

/// The most recently dispatched incident keys, bounded.
#[derive(Default)]
struct Seen {
    keys: HashSet<String>,
    order: VecDeque<String>,
}

impl Seen {
    /// Records `key`; `false` when it was already there.
    fn insert(&mut self, key: String) -> bool {
        if self.keys.contains(&key) {
            return false;
        }
        if self.order.len() >= SEEN_CAPACITY
            && let Some(oldest) = self.order.pop_front()
        {
            self.keys.remove(&oldest);
        }
        self.keys.insert(key.clone());
        self.order.push_back(key);
        true
    }
}

/// A route with the channels it sends to.
struct Routed {
    route: Route,
    channels: Vec<Arc<dyn Executor>>,
}

/// Turns node events into incidents and dispatches them to executors, once each.
pub struct PolicyEngine {
    executors: Vec<Arc<dyn Executor>>,
    routes: Vec<Routed>,
    link_base: Option<String>,
    metrics: DeliveryMetrics,
    seen: Mutex<Seen>,
}

/// A channel executor with its configured name, for routes to find it.
pub type NamedChannel = (String, Arc<dyn Executor>);

impl PolicyEngine {
    /// An engine over `executors`, with no routes.
    pub fn new(executors: Vec<Arc<dyn Executor>>) -> Arc<Self> {
        Arc::new(Self {
            executors,
            routes: Vec::new(),
            link_base: None,
            metrics: DeliveryMetrics::default(),
            seen: Mutex::new(Seen::default()),
        })
    }

    /// An engine over `executors` (each filters for itself) and `routes` to `channels`.
    /// `link_base` (e.g. `http://node.example:7070`) makes every alert carry a link to the
    /// node's view of it. Fails when a route names a channel not in `channels`.
    pub fn with_routes(
        executors: Vec<Arc<dyn Executor>>,
        routes: Vec<route::RouteConfig>,
        channels: Vec<NamedChannel>,
        link_base: Option<String>,
        metrics: DeliveryMetrics,
    ) -> Result<Arc<Self>, ExecError> {
        let names: Vec<&str> = channels.iter().map(|(n, _)| n.as_str()).collect();
        route::check(&routes, &names)
            .map_err(|message| ExecError { executor: "routes".into(), message })?;
        let routes = routes
            .into_iter()
            .enumerate()
            .map(|(i, config)| {
                let route = Route::new(config, i + 1);
                let channels = route
                    .channels()
                    .iter()
                    .filter_map(|name| channels.iter().find(|(n, _)| n == name))
                    .map(|(_, c)| Arc::clone(c))
                    .collect();
                Routed { route, channels }
            })
            .collect();
        let link_base = link_base.map(|b| b.trim_end_matches('/').to_owned());
        Ok(Arc::new(Self {
            executors,
            routes,
            link_base,
            metrics,
            seen: Mutex::new(Seen::default()),
        }))
    }

    /// The incident a node event means, if any, reading the trip count of a protocol and the
    /// protocols an alert touches from `state`'s ledger.
    pub fn incident(&self, event: &NodeEvent, state: &NodeState) -> Option<Incident> {
        let trips =
            |p: &ProtocolId| state.ledger.read().state().protocol(p).map(|r| r.trips).unwrap_or(0);
        let (height, event) = match event {
            NodeEvent::Ledger { height, event } => (height, event),
            NodeEvent::Alert { id, peer, alert } => {
                let a = &alert.payload;
                let protocols = {
                    let ledger = state.ledger.read();
                    ledger
                        .state()
                        .protocols()
                        .filter(|(_, p)| {
                            p.spec.chain == a.tx.chain
                                && p.spec
                                    .contracts
                                    .iter()
                                    .any(|c| a.addresses.contains(c) || a.tx.to.as_ref() == Some(c))
                        })
                        .map(|(id, _)| id.clone())
                        .collect()
                };
                return Some(Incident::Alert {
                    id: *id,
                    peer: peer.clone(),
                    alert: alert.clone(),
                    protocols,
                    link: self.link_base.as_ref().map(|b| format!("{b}/v1/alerts/{id}")),
                    seen_at: Some(Instant::now()),
                });
            }
            _ => return None,
        };
        match event {
            Event::BreakerTripped { protocol, reason, action, chain, .. } => {
                Some(Incident::BreakerTripped {
                    protocol: protocol.clone(),
                    trip: trips(protocol),
                    reason: serde_json::to_value(reason).unwrap_or_default(),
                    action: action.clone(),
                    chain: *chain,
                    height: *height,
                    detected_at: None,
                    outbid: None,
                })
            }
            Event::BreakerReset { protocol, action, chain, .. } => Some(Incident::BreakerReset {
                protocol: protocol.clone(),
                trip: trips(protocol),
                action: action.clone(),
                chain: *chain,
                height: *height,
            }),
            Event::Verdict { report, status, .. } => {
                Some(Incident::Verdict { report: *report, status: *status, height: *height })
            }
            _ => None,
        }
    }

    /// The executors `incident` goes to: those whose filter wants it, and the channels of the
    /// routes that let it through (each channel once, however many routes name it).
    fn targets(&self, incident: &Incident) -> Vec<Arc<dyn Executor>> {
        let mut targets: Vec<Arc<dyn Executor>> =
            self.executors.iter().filter(|e| e.wants(incident)).cloned().collect();
        let now = Instant::now();
        let mut named = BTreeSet::new();
        for routed in self.routes.iter().filter(|r| r.route.matches(incident)) {
            if !routed.route.admit(incident, now) {
                let labels = RouteLabels { route: routed.route.name.clone() };
                self.metrics.notifications_suppressed.get_or_create(&labels).inc();
                continue;
            }
            for channel in &routed.channels {
                if channel.wants(incident) && named.insert(channel.name()) {
                    targets.push(Arc::clone(channel));
                }
            }
        }
        targets
    }

    /// Dispatches `incident` to every interested executor, each in its own task, unless it was
    /// already dispatched (then `None`). Returns the tasks (tests wait on them; the node does
    /// not).
    pub fn dispatch(&self, incident: Incident) -> Option<Vec<tokio::task::JoinHandle<()>>> {
        if !self.seen.lock().insert(incident.key()) {
            return None;
        }
        let incident = Arc::new(incident);
        let tasks = self
            .targets(&incident)
            .into_iter()
            .map(|executor| {
                let incident = Arc::clone(&incident);
                tokio::spawn(async move {
                    match executor.execute(&incident).await {
                        Ok(done) => tracing::info!(executor = %executor.name(), incident = %incident.key(), "{done}"),
                        Err(e) => tracing::warn!(incident = %incident.key(), "executor failed: {e}"),
                    }
                })
            })
            .collect();
        Some(tasks)
    }

    /// Follows `events` (a subscription to `state`'s event stream, taken before the task
    /// starts so nothing announced meanwhile is missed) until `shutdown`.
    pub async fn run(
        self: Arc<Self>,
        state: Arc<NodeState>,
        mut events: broadcast::Receiver<NodeEvent>,
        shutdown: CancellationToken,
    ) {
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = events.recv() => e,
            };
            match event {
                Ok(event) => {
                    if let Some(incident) = self.incident(&event, &state) {
                        self.dispatch(incident);
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("policy engine fell behind the event stream by {n} events");
                }
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Outbid, SEEN_CAPACITY, Seen};

    #[test]
    fn seen_incidents_are_remembered_up_to_a_bound() {
        let mut seen = Seen::default();
        assert!(seen.insert("a".into()));
        assert!(!seen.insert("a".into()));
        for i in 0..SEEN_CAPACITY {
            assert!(seen.insert(i.to_string()));
        }
        assert_eq!(seen.keys.len(), SEEN_CAPACITY);
        // The oldest was forgotten; the newest is still known.
        assert!(seen.insert("a".into()));
        assert!(!seen.insert((SEEN_CAPACITY - 1).to_string()));
    }

    #[test]
    fn a_pause_outbids_the_exploit_by_the_bump_within_the_cap() {
        let gwei = 1_000_000_000u128;
        let o = Outbid { max_fee_per_gas: 50 * gwei, max_priority_fee_per_gas: Some(2 * gwei) };
        let fees = |o: &Outbid, bump, cap| {
            let (f, capped) = o.fees(bump, cap, 300_000);
            assert_eq!(f.gas_limit, 300_000);
            ((f.max_fee_per_gas, f.max_priority_fee_per_gas), capped)
        };
        assert_eq!(fees(&o, 25, 1_000 * gwei), ((125 * gwei / 2, 5 * gwei / 2), false));
        // Legacy: the whole price is the tip.
        let legacy = Outbid { max_fee_per_gas: 10 * gwei, max_priority_fee_per_gas: None };
        assert_eq!(fees(&legacy, 10, 1_000 * gwei), ((11 * gwei, 11 * gwei), false));
        // A zero tip is still beaten, by one wei.
        let zero = Outbid { max_fee_per_gas: 0, max_priority_fee_per_gas: Some(0) };
        assert_eq!(fees(&zero, 25, gwei), ((1, 1), false));
        // The cap wins, and says so.
        assert_eq!(fees(&o, 25, 10 * gwei), ((10 * gwei, 5 * gwei / 2), true));
    }
}
