//! Handles the node's state holds on its networking, at the bottom of the crate: the gossip
//! bridge (what publishes and relays) and the networking state other parts reach through
//! `NodeState::net`. The services that start them (`gossip`, `consensus`) sit above.

use std::sync::OnceLock;

use tokio::sync::mpsc;
use vigil_core::{AccountId, Alert, ContentId, Report, Signed, SignedTx};
use vigil_net::gossip::{Gossip, GossipError, GossipMessage};

use crate::metrics::GossipMetrics;

/// The node's handle on gossip.
#[derive(Clone)]
pub struct GossipBridge {
    gossip: Gossip,
    relay: mpsc::Sender<SignedTx>,
    metrics: GossipMetrics,
}

impl GossipBridge {
    /// A bridge over a started gossip service, relaying through `relay`.
    pub(crate) fn new(
        gossip: Gossip,
        relay: mpsc::Sender<SignedTx>,
        metrics: GossipMetrics,
    ) -> Self {
        Self { gossip, relay, metrics }
    }

    /// Its counters.
    pub(crate) fn metrics(&self) -> &GossipMetrics {
        &self.metrics
    }

    /// The underlying service (peer id, addresses, peers, stats).
    pub fn gossip(&self) -> &Gossip {
        &self.gossip
    }

    /// Publishes a signed alert to every node (after the checks peers apply).
    pub async fn publish_alert(&self, alert: Signed<Alert>) -> Result<ContentId, GossipError> {
        self.publish(GossipMessage::Alert(alert)).await
    }

    /// Publishes signed intel (a threat report) to every node.
    pub async fn publish_intel(&self, report: Signed<Report>) -> Result<ContentId, GossipError> {
        self.publish(GossipMessage::Intel(report)).await
    }

    /// Publishes an encrypted disclosure on its protocol's topic: only the nodes serving that
    /// protocol receive it.
    pub async fn publish_disclosure(
        &self,
        upload: vigil_net::gossip::DisclosureUpload,
    ) -> Result<ContentId, GossipError> {
        self.publish(GossipMessage::Disclosure(upload)).await
    }

    async fn publish(&self, message: GossipMessage) -> Result<ContentId, GossipError> {
        let kind = message.kind();
        let id = self.gossip.publish(&message).await?;
        self.metrics.published.get_or_create(&GossipMetrics::kind(kind)).inc();
        Ok(id)
    }

    /// Queues a transaction this node admitted for relaying; never blocks. Skipped (and
    /// counted) when the queue is full: the transaction is still in this node's mempool.
    pub fn relay_tx(&self, tx: SignedTx) {
        if self.relay.try_send(tx).is_err() {
            self.metrics.relay_skipped.inc();
        }
    }
}

/// The node's networking state that other parts reach through `NodeState::net`: the gossip
/// bridge once started, and the genesis validator set (for validator sets of old heights).
#[derive(Default)]
pub struct NetState {
    /// The gossip bridge, when `[gossip] enabled = true`.
    pub gossip: OnceLock<GossipBridge>,
    /// The genesis validator set, sorted by account.
    pub genesis_validators: OnceLock<Vec<(AccountId, u64)>>,
    /// Where the consensus driver's equivocation evidence goes to be signed and submitted
    /// (set by [`crate::consensus::run_driver`]).
    pub evidence: OnceLock<mpsc::UnboundedSender<vigil_core::Equivocation>>,
}
