//! Prometheus metrics, served at `/metrics` in the OpenMetrics text format.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a shared detection item's state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    /// The state.
    pub state: String,
}

/// Labels of a refused transaction.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    /// The reason code.
    pub reason: String,
}

/// Labels of the chain watch's call-trace source.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TraceSourceLabels {
    /// `call_tracer`, `parity` or `receipts_only`.
    pub source: String,
}

/// Labels of an HTTP request. Every value comes from a closed set, so a client cannot grow
/// the metrics by inventing methods or paths.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method: one of [`KNOWN_METHODS`], or `other`.
    pub method: &'static str,
    /// The route pattern (`/v1/reports/{id}`, never the raw path), or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// The methods that become a `method` label of their own; any other is counted as `other`.
pub const KNOWN_METHODS: [&str; 9] =
    ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

/// The `method` label of a request method: itself when it is a standard one, else `other`.
pub fn method_label(method: &str) -> &'static str {
    KNOWN_METHODS.iter().find(|m| **m == method).copied().unwrap_or("other")
}

/// Labels of a request the API refused before handling it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    /// Which limit: `rate` (requests per client), `connections` (open connections per
    /// client or in all) or `events` (event-stream subscribers).
    pub limit: &'static str,
}

/// Labels of a delivery to an alert channel.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabels {
    /// The channel's configured name.
    pub channel: String,
    /// `delivered` or `failed`.
    pub outcome: &'static str,
}

/// Labels of an incident a route held back.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's name.
    pub route: String,
}

/// Deliveries of incidents to alert channels.
#[derive(Clone)]
pub struct DeliveryMetrics {
    /// Deliveries by channel and outcome (after retries).
    pub notifications: Family<ChannelLabels, Counter<u64, AtomicU64>>,
    /// Seconds from the incident reaching the policy engine to its delivery, by channel.
    pub notification_seconds: Family<ChannelLabels, Histogram>,
    /// Incidents a route's cooldown held back, by route.
    pub notifications_suppressed: Family<RouteLabels, Counter<u64, AtomicU64>>,
}

impl Default for DeliveryMetrics {
    fn default() -> Self {
        Self {
            notifications: Family::default(),
            notification_seconds: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0005, 2.0, 16))
            }),
            notifications_suppressed: Family::default(),
        }
    }
}

impl DeliveryMetrics {
    fn register(&self, registry: &mut Registry) {
        registry.register(
            "notifications",
            "Incidents delivered to alert channels, by channel and outcome",
            self.notifications.clone(),
        );
        registry.register(
            "notification_seconds",
            "From an incident reaching the policy engine to its delivery, by channel",
            self.notification_seconds.clone(),
        );
        registry.register(
            "notifications_suppressed",
            "Incidents held back by a route's cooldown, by route",
            self.notifications_suppressed.clone(),
        );
    }
}

/// The node's metrics.
pub struct Metrics {
    registry: Registry,
    /// Last committed height.
    pub height: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Pending transactions.
    pub mempool_size: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Transactions admitted to the mempool.
    pub tx_accepted: Counter<u64, AtomicU64>,
    /// Transactions refused at submission, by reason.
    pub tx_rejected: Family<RejectLabels, Counter<u64, AtomicU64>>,
    /// Transactions committed in blocks.
    pub tx_committed: Counter<u64, AtomicU64>,
    /// Seconds to finalize and commit a block.
    pub block_commit_seconds: Histogram,
    /// HTTP request latency.
    pub http_request_seconds: Family<RequestLabels, Histogram>,
    /// Requests and connections refused by the API's per-client limits, by limit.
    pub http_limited: Family<LimitLabels, Counter<u64, AtomicU64>>,
    /// Consensus rounds, peers and validator set.
    pub consensus: ConsensusMetrics,
    /// Gossip peers and messages.
    pub gossip: GossipMetrics,
    /// Alerts raised by this node's detectors.
    pub alerts: Counter<u64, AtomicU64>,
    /// Seconds from this node's detection to its pause transaction being accepted by the chain.
    pub detection_to_pause_sent_seconds: Histogram,
    /// On-chain actions carried out, by outcome.
    pub onchain_actions: Family<RejectLabels, Counter<u64, AtomicU64>>,
    /// The chain watch's call-trace source: 1 for the one in use, 0 for the others (absent
    /// until the watch has probed its node).
    pub watch_trace_source: Family<TraceSourceLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    /// Pending transactions pre-executed by the chain watch, by outcome (`simulated`,
    /// `reverted`, `failed_state`, `failed_invalid`, `failed_timeout`, `overloaded`).
    pub watch_simulations: Family<RejectLabels, Counter<u64, AtomicU64>>,
    /// Shared fingerprints and rule files this node knows, by state.
    pub detection_items: Family<StateLabels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    /// Alerts raised by shared fingerprints and rule files.
    pub detection_hits: Counter<u64, AtomicU64>,
    /// Deliveries to alert channels.
    pub delivery: DeliveryMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("vigil");
        let height = Gauge::default();
        let mempool_size = Gauge::default();
        let tx_accepted = Counter::default();
        let tx_rejected = Family::<RejectLabels, Counter>::default();
        let tx_committed = Counter::default();
        let block_commit_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let http_request_seconds = Family::<RequestLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00005, 2.0, 18))
        });
        let http_limited = Family::<LimitLabels, Counter>::default();
        let alerts = Counter::default();
        let detection_to_pause_sent_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let onchain_actions = Family::<RejectLabels, Counter>::default();
        let watch_trace_source = Family::<TraceSourceLabels, Gauge>::default();
        let watch_simulations = Family::<RejectLabels, Counter>::default();
        let detection_items = Family::<StateLabels, Gauge>::default();
        let detection_hits = Counter::default();
        registry.register(
            "detection_items",
            "Shared fingerprints and rule files, by state (in_force, provisional, revoked, rejected)",
            detection_items.clone(),
        );
        registry.register(
            "detection_hits",
            "Alerts raised by shared fingerprints and rule files",
            detection_hits.clone(),
        );
        registry.register(
            "watch_simulations",
            "Pending transactions pre-executed by the chain watch, by outcome (reason label)",
            watch_simulations.clone(),
        );
        registry.register(
            "watch_trace_source",
            "Call-trace source of the chain watch (1: in use)",
            watch_trace_source.clone(),
        );
        registry.register("alerts", "Alerts raised by this node's detectors", alerts.clone());
        registry.register(
            "detection_to_pause_sent_seconds",
            "From detection to the pause transaction accepted by the chain",
            detection_to_pause_sent_seconds.clone(),
        );
        registry.register(
            "onchain_actions",
            "On-chain actions by outcome (reason label)",
            onchain_actions.clone(),
        );
        registry.register("height", "Last committed block height", height.clone());
        registry.register(
            "mempool_size",
            "Transactions waiting in the mempool",
            mempool_size.clone(),
        );
        registry.register(
            "tx_accepted",
            "Transactions admitted to the mempool",
            tx_accepted.clone(),
        );
        registry.register("tx_rejected", "Transactions refused at submission", tx_rejected.clone());
        registry.register("tx_committed", "Transactions committed in blocks", tx_committed.clone());
        registry.register(
            "block_commit_seconds",
            "Time to finalize and commit a block",
            block_commit_seconds.clone(),
        );
        registry.register(
            "http_request_seconds",
            "HTTP request latency by route",
            http_request_seconds.clone(),
        );
        registry.register(
            "http_limited",
            "Requests and connections refused by the API's per-client limits",
            http_limited.clone(),
        );
        let consensus = ConsensusMetrics::default();
        consensus.register(&mut registry);
        let gossip = GossipMetrics::default();
        gossip.register(&mut registry);
        let delivery = DeliveryMetrics::default();
        delivery.register(&mut registry);
        Self {
            registry,
            consensus,
            gossip,
            height,
            mempool_size,
            tx_accepted,
            tx_rejected,
            tx_committed,
            block_commit_seconds,
            http_request_seconds,
            http_limited,
            alerts,
            detection_to_pause_sent_seconds,
            onchain_actions,
            watch_trace_source,
            watch_simulations,
            detection_items,
            detection_hits,
            delivery,
        }
    }

    /// Shows how many shared detection items are in each state.
    pub fn set_detection_items(&self, counts: &[(&str, usize)]) {
        for (state, n) in counts {
            let labels = StateLabels { state: (*state).to_owned() };
            self.detection_items.get_or_create(&labels).set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// Shows `source` as the chain watch's call-trace source.
    pub fn set_trace_source(&self, source: vigil_chain::TraceSource) {
        for s in vigil_chain::TraceSource::ALL {
            let labels = TraceSourceLabels { source: s.as_str().to_owned() };
            self.watch_trace_source.get_or_create(&labels).set(i64::from(s == source));
        }
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Consensus metrics (`vigil_consensus_*`).
#[derive(Clone, Default)]
pub struct ConsensusMetrics {
    /// Rounds started (one per height when all goes well).
    pub rounds: Counter<u64, AtomicU64>,
    /// Round of the height being decided.
    pub round: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Heights decided after round 0 (a proposer was down or late).
    pub late_decisions: Counter<u64, AtomicU64>,
    /// Connected consensus peers.
    pub peers: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Validators in the current set.
    pub validators: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Total voting power of the current set (bonded stake, base units).
    pub voting_power: Gauge<i64, std::sync::atomic::AtomicI64>,
}

impl ConsensusMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("consensus_rounds", "Consensus rounds started", self.rounds.clone());
        registry.register(
            "consensus_round",
            "Round of the height being decided",
            self.round.clone(),
        );
        registry.register(
            "consensus_late_decisions",
            "Heights decided after round 0",
            self.late_decisions.clone(),
        );
        registry.register("consensus_peers", "Connected consensus peers", self.peers.clone());
        registry.register(
            "consensus_validators",
            "Validators in the current set",
            self.validators.clone(),
        );
        registry.register(
            "consensus_voting_power",
            "Total voting power of the current validator set",
            self.voting_power.clone(),
        );
    }
}

fn gauge_value(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl vigil_net::ConsensusObserver for ConsensusMetrics {
    fn round_started(&self, _height: u64, round: u32) {
        self.rounds.inc();
        self.round.set(i64::from(round));
    }

    fn committed(&self, _height: u64, round: u32, _txs: usize) {
        if round > 0 {
            self.late_decisions.inc();
        }
    }

    fn peers(&self, connected: usize) {
        self.peers.set(gauge_value(u64::try_from(connected).unwrap_or(u64::MAX)));
    }

    fn validator_set(&self, validators: usize, total_power: u64) {
        self.validators.set(gauge_value(u64::try_from(validators).unwrap_or(u64::MAX)));
        self.voting_power.set(gauge_value(total_power));
    }
}

/// Labels of a gossip message count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    /// The topic: `alerts`, `intel` or `txs`.
    pub kind: String,
}

/// Gossip metrics (`vigil_gossip_*`).
#[derive(Clone, Default)]
pub struct GossipMetrics {
    /// Connected gossip peers.
    pub peers: Gauge<i64, std::sync::atomic::AtomicI64>,
    /// Messages received that passed validation (forwarded and delivered).
    pub accepted: Counter<u64, AtomicU64>,
    /// Messages received that failed validation (not forwarded; the sender is penalised).
    pub rejected: Counter<u64, AtomicU64>,
    /// Valid messages whose content had already been delivered.
    pub duplicates: Counter<u64, AtomicU64>,
    /// Valid messages not delivered because the node was behind.
    pub dropped: Counter<u64, AtomicU64>,
    /// Messages delivered to the node, by topic.
    pub received: Family<KindLabels, Counter<u64, AtomicU64>>,
    /// Messages this node published, by topic.
    pub published: Family<KindLabels, Counter<u64, AtomicU64>>,
    /// Transactions not relayed (queue full or no peers).
    pub relay_skipped: Counter<u64, AtomicU64>,
}

impl GossipMetrics {
    /// Registers the metrics in `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register("gossip_peers", "Connected gossip peers", self.peers.clone());
        registry.register(
            "gossip_accepted",
            "Gossip messages received that passed validation",
            self.accepted.clone(),
        );
        registry.register(
            "gossip_rejected",
            "Gossip messages received that failed validation (not forwarded)",
            self.rejected.clone(),
        );
        registry.register(
            "gossip_duplicates",
            "Valid gossip messages already delivered",
            self.duplicates.clone(),
        );
        registry.register(
            "gossip_dropped",
            "Valid gossip messages not delivered because the node was behind",
            self.dropped.clone(),
        );
        registry.register(
            "gossip_received",
            "Gossip messages delivered to the node, by topic",
            self.received.clone(),
        );
        registry.register(
            "gossip_published",
            "Gossip messages this node published, by topic",
            self.published.clone(),
        );
        registry.register(
            "gossip_relay_skipped",
            "Transactions admitted here but not relayed (queue full or no peers)",
            self.relay_skipped.clone(),
        );
    }

    pub(crate) fn kind(kind: vigil_net::gossip::GossipKind) -> KindLabels {
        KindLabels { kind: kind.as_str().into() }
    }

    /// Adds what the service counted since `last` to the counters.
    pub(crate) fn absorb(
        &self,
        now: vigil_net::gossip::GossipStats,
        last: &mut vigil_net::gossip::GossipStats,
    ) {
        self.accepted.inc_by(now.accepted.saturating_sub(last.accepted));
        self.rejected.inc_by(now.rejected.saturating_sub(last.rejected));
        self.duplicates.inc_by(now.duplicates.saturating_sub(last.duplicates));
        self.dropped.inc_by(now.dropped.saturating_sub(last.dropped));
        *last = now;
    }
}
