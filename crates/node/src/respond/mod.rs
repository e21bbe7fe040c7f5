//! Respond: the local policy engine and its executors.
//!
//! The engine watches the ledger's events (breakers tripped and reset, verdicts) and, once the
//! detection pipeline is wired, the node's own alerts. It turns each into an [`Incident`] and
//! hands it to every executor whose filter matches, at most once per incident. Executors are
//! behind one trait: webhooks (JSON with an HMAC-SHA256 signature, Slack, Discord) and the
//! on-chain pause. Each delivery runs in its own task with its own retries, so a slow or failing
//! receiver never holds up the others or the node.

pub mod onchain;
pub mod webhook;

use std::collections::HashSet;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use vigil_core::{EvmChainId, OnChainAction, ProtocolId};
use vigil_ledger::{Event, ReportStatus};

use crate::app::NodeEvent;

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
        detected_at: Option<std::time::Instant>,
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
}

impl Incident {
    /// A key that is the same for every sighting of one incident.
    pub fn key(&self) -> String {
        match self {
            Incident::BreakerTripped { protocol, trip, .. } => format!("trip:{protocol}:{trip}"),
            Incident::BreakerReset { protocol, trip, .. } => format!("reset:{protocol}:{trip}"),
            Incident::Verdict { report, .. } => format!("verdict:{report}"),
        }
    }

    /// The family, for executor filters: `breaker` or `verdict`.
    pub fn family(&self) -> &'static str {
        match self {
            Incident::BreakerTripped { .. } | Incident::BreakerReset { .. } => "breaker",
            Incident::Verdict { .. } => "verdict",
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
        }
    }
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
    pub fn of(alert: &vigil_core::Alert) -> Option<Self> {
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

/// Turns node events into incidents and dispatches them to executors, once each.
pub struct PolicyEngine {
    executors: Vec<Arc<dyn Executor>>,
    seen: Mutex<HashSet<String>>,
}

impl PolicyEngine {
    /// An engine over `executors`.
    pub fn new(executors: Vec<Arc<dyn Executor>>) -> Arc<Self> {
        Arc::new(Self { executors, seen: Mutex::new(HashSet::new()) })
    }

    /// The incident a node event means, if any. `trips` gives a protocol's trip count now.
    pub fn incident(event: &NodeEvent, trips: impl Fn(&ProtocolId) -> u64) -> Option<Incident> {
        let NodeEvent::Ledger { height, event } = event else { return None };
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

    /// Dispatches `incident` to every interested executor, each in its own task, unless it was
    /// already dispatched (then `None`). Returns the tasks (tests wait on them; the node does
    /// not).
    pub fn dispatch(&self, incident: Incident) -> Option<Vec<tokio::task::JoinHandle<()>>> {
        if !self.seen.lock().insert(incident.key()) {
            return None;
        }
        let incident = Arc::new(incident);
        let tasks = self
            .executors
            .iter()
            .filter(|e| e.wants(&incident))
            .map(|executor| {
                let executor = Arc::clone(executor);
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

    /// Follows the node's event stream until `shutdown`.
    pub async fn run(
        self: Arc<Self>,
        mut events: broadcast::Receiver<NodeEvent>,
        trips: impl Fn(&ProtocolId) -> u64 + Send + 'static,
        shutdown: CancellationToken,
    ) {
        loop {
            let event = tokio::select! {
                _ = shutdown.cancelled() => return,
                e = events.recv() => e,
            };
            match event {
                Ok(event) => {
                    if let Some(incident) = Self::incident(&event, &trips) {
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
    use super::Outbid;

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
