//! The bridge between the node and `vigil-net`'s gossip service (`[gossip]` in the config).
//!
//! - Transactions a client submits to this node's API are admitted first
//!   ([`NodeState::submit_and_relay`]) and then relayed on the transaction topic, so they reach
//!   whichever validator proposes next. Transactions arriving by gossip go through the same
//!   [`NodeState::submit`] checks as the API's.
//! - Signed alerts and intel arriving by gossip (already checked by the service: size, canonical
//!   encoding, chain, signature, shape) become [`NodeEvent::Alert`] and [`NodeEvent::Intel`] on
//!   the node's event stream; the node publishes its own with [`GossipBridge::publish_alert`]
//!   and [`GossipBridge::publish_intel`] (or `POST /v1/alerts`).
//!
//! Gossip is off by default (`vigil up` stays a lean single node); `vigil testnet` turns it on.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_core::encoding::encode;
use vigil_core::{Keypair, SignedTx};
use vigil_net::gossip::{
    Gossip, GossipConfig, GossipError, GossipKind, GossipMessage, GossipStats, Multiaddr, Received,
};

use crate::app::{NodeEvent, NodeState};
use crate::handles::GossipBridge;
use crate::metrics::GossipMetrics;

/// Transactions waiting to be relayed; past this, relaying is skipped (the transaction stays
/// in this node's mempool and is proposed from here).
const RELAY_QUEUE: usize = 16_384;

/// Most gossiped transactions admitted in one batch on a blocking thread.
const ADMIT_BATCH: usize = 512;

/// `[gossip]`: the libp2p gossip service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GossipSettings {
    /// Whether to run it (off by default).
    pub enabled: bool,
    /// Address (TCP) to listen on.
    pub listen: SocketAddr,
    /// Peers to dial, as multiaddrs; with a `/p2p/<peer id>` suffix they are redialled whenever
    /// the connection drops, e.g. `/ip4/127.0.0.1/tcp/7072/p2p/12D3KooW…`.
    pub bootstrap: Vec<GossipPeer>,
    /// Gossipsub heartbeat (mesh upkeep), in milliseconds.
    pub heartbeat_ms: u64,
    /// Protocols whose encrypted disclosures this node receives and keeps (it subscribes to
    /// their disclosure topics only; other nodes never receive the ciphertexts).
    pub disclosures: Vec<vigil_core::ProtocolId>,
}

impl Default for GossipSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 7072)),
            bootstrap: Vec::new(),
            heartbeat_ms: 500,
            disclosures: Vec::new(),
        }
    }
}

impl GossipSettings {
    /// Checks ranges; on error, the field and what is wrong with it.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.heartbeat_ms == 0 {
            return Err(("gossip.heartbeat_ms", "must be at least 1"));
        }
        Ok(())
    }

    /// The service configuration for `chain`.
    pub fn to_gossip_config(&self, chain: vigil_core::ChainId) -> GossipConfig {
        let mut config = GossipConfig::new(chain);
        config.listen = tcp_multiaddr(self.listen);
        config.bootstrap = self.bootstrap.iter().map(|p| p.0.clone()).collect();
        config.heartbeat = Duration::from_millis(self.heartbeat_ms);
        config.disclosures = self.disclosures.clone();
        config
    }
}

/// The multiaddr of a TCP socket address.
pub fn tcp_multiaddr(addr: SocketAddr) -> Multiaddr {
    let ip = match addr.ip() {
        std::net::IpAddr::V4(ip) => format!("/ip4/{ip}"),
        std::net::IpAddr::V6(ip) => format!("/ip6/{ip}"),
    };
    format!("{ip}/tcp/{}", addr.port()).parse().expect("an IP and a port form a valid multiaddr")
}

/// A gossip peer's multiaddr, written as text in the config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GossipPeer(pub Multiaddr);

impl TryFrom<String> for GossipPeer {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
            .map(GossipPeer)
            .map_err(|e| format!("{text:?} is not a multiaddr like /ip4/127.0.0.1/tcp/7072: {e}"))
    }
}

impl From<GossipPeer> for String {
    fn from(peer: GossipPeer) -> String {
        peer.0.to_string()
    }
}

/// Starts the gossip service with the node's key when `[gossip] enabled`, and the tasks that
/// deliver what it receives to `state`. Records the bridge in `state.net.gossip`.
pub async fn start(
    settings: &GossipSettings,
    key: &Keypair,
    state: &Arc<NodeState>,
    shutdown: CancellationToken,
) -> Result<Option<GossipBridge>, GossipError> {
    if !settings.enabled {
        return Ok(None);
    }
    let config = settings.to_gossip_config(state.chain_id.clone());
    let (gossip, inbound) = Gossip::start(config, key, shutdown.clone()).await?;
    let (relay, outgoing) = mpsc::channel(RELAY_QUEUE);
    let metrics = state.metrics.gossip.clone();
    let bridge = GossipBridge::new(gossip, relay, metrics);
    tracing::info!(
        peer_id = %bridge.gossip().peer_id(),
        listen = ?bridge.gossip().listen_addrs(),
        bootstrap = settings.bootstrap.len(),
        "gossip started"
    );
    tokio::spawn(deliver(inbound, Arc::clone(state), bridge.metrics().clone(), shutdown.clone()));
    tokio::spawn(relay_txs(outgoing, bridge.clone(), shutdown.clone()));
    tokio::spawn(poll_stats(bridge.clone(), shutdown));
    if state.net.gossip.set(bridge.clone()).is_err() {
        tracing::warn!("gossip was already started for this node");
    }
    Ok(Some(bridge))
}

/// Hands what gossip delivers to the node: transactions to the mempool (in batches on a
/// blocking thread, through the API's checks), alerts and intel to the event stream.
async fn deliver(
    mut inbound: mpsc::Receiver<Received>,
    state: Arc<NodeState>,
    metrics: GossipMetrics,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<SignedTx> = Vec::new();
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => return,
            received = inbound.recv() => match received {
                Some(r) => r,
                None => return,
            },
        };
        let mut next = Some(received);
        while let Some(Received { message, id, source, .. }) = next.take() {
            metrics.received.get_or_create(&GossipMetrics::kind(message.kind())).inc();
            match message {
                GossipMessage::Tx(tx) => batch.push(tx),
                GossipMessage::Alert(alert) => {
                    tracing::debug!(id = %id.short(), peer = %source, "alert received by gossip");
                    // Keyed by the alert's own id, as the node that raised it keys it.
                    state.announce_alert(alert.payload.id(), source.to_string(), alert);
                }
                GossipMessage::Intel(report) => {
                    let _ = state.events.send(NodeEvent::Intel {
                        id,
                        peer: source.to_string(),
                        report: Box::new(report),
                    });
                }
                GossipMessage::Disclosure(upload) => {
                    let state = Arc::clone(&state);
                    let kept =
                        tokio::task::spawn_blocking(move || keep_disclosure(&state, upload)).await;
                    match kept {
                        Ok(Ok(id)) => {
                            tracing::info!(ciphertext = %id.short(), peer = %source, "encrypted disclosure received by gossip and kept")
                        }
                        Ok(Err(why)) => {
                            tracing::info!(peer = %source, %why, "gossiped disclosure not kept")
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "keeping a gossiped disclosure failed")
                        }
                    }
                }
            }
            if batch.len() < ADMIT_BATCH {
                next = inbound.try_recv().ok();
            }
        }
        if !batch.is_empty() {
            let txs = std::mem::take(&mut batch);
            let state = Arc::clone(&state);
            let admitted = tokio::task::spawn_blocking(move || {
                // Refusals (already pending, already committed, …) are counted by `submit`.
                txs.into_iter().map(|tx| state.submit(tx)).filter(Result::is_ok).count()
            })
            .await;
            if let Err(e) = admitted {
                tracing::warn!(error = %e, "admitting gossiped transactions failed");
            }
        }
    }
}

/// Keeps a gossiped disclosure's ciphertext, when it is an `age` file and its researcher can
/// pay the bond it offers (a flood of ciphertexts costs funded accounts, not nothing).
fn keep_disclosure(
    state: &NodeState,
    upload: vigil_net::gossip::DisclosureUpload,
) -> Result<vigil_core::ContentId, String> {
    let vigil_core::TxBody::Disclose { ciphertext, bond, .. } = &upload.tx.tx.body else {
        return Err("not a disclose transaction".into());
    };
    let text = std::str::from_utf8(&upload.ciphertext)
        .map_err(|_| "the ciphertext is not armored text")?;
    crate::disclosure::check_ciphertext(text, ciphertext).map_err(|e| e.to_string())?;
    {
        let ledger = state.ledger.read();
        let named = ledger.state().disclosures().any(|(_, d)| d.ciphertext == *ciphertext);
        let balance =
            ledger.state().account(&upload.tx.tx.signer).map(|a| a.balance).unwrap_or_default();
        if !named && balance < *bond {
            return Err(format!("its researcher holds {balance}, less than the bond {bond}"));
        }
    }
    state.store.put_ciphertext(ciphertext, &upload.ciphertext).map_err(|e| e.to_string())?;
    Ok(*ciphertext)
}

/// Publishes queued transactions. They passed [`NodeState::submit`], whose checks include
/// everything gossip validation checks, so they are not checked a second time here.
async fn relay_txs(
    mut outgoing: mpsc::Receiver<SignedTx>,
    bridge: GossipBridge,
    shutdown: CancellationToken,
) {
    let label = GossipMetrics::kind(GossipKind::Tx);
    loop {
        let tx = tokio::select! {
            () = shutdown.cancelled() => return,
            tx = outgoing.recv() => match tx {
                Some(tx) => tx,
                None => return,
            },
        };
        match bridge.gossip().publish_unchecked(GossipKind::Tx, encode(&tx)).await {
            Ok(_) => {
                bridge.metrics().published.get_or_create(&label).inc();
            }
            Err(GossipError::Stopped) => return,
            Err(e) => {
                bridge.metrics().relay_skipped.inc();
                tracing::trace!(error = %e, "transaction not relayed");
            }
        }
    }
}

/// Mirrors the service's counters and peer count into the metrics every second.
async fn poll_stats(bridge: GossipBridge, shutdown: CancellationToken) {
    let mut last = GossipStats::default();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let (Ok(stats), Ok(peers)) =
            (bridge.gossip().stats().await, bridge.gossip().connected_peers().await)
        else {
            return;
        };
        bridge.metrics().absorb(stats, &mut last);
        bridge.metrics().peers.set(i64::try_from(peers.len()).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {

    use super::*;

    #[test]
    fn peers_parse_from_text_and_bad_ones_are_named() {
        let good: GossipPeer = serde_json::from_str(
            "\"/ip4/127.0.0.1/tcp/7072/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA\"",
        )
        .unwrap();
        assert_eq!(String::from(good.clone()), good.0.to_string());
        let err = serde_json::from_str::<GossipPeer>("\"127.0.0.1:7072\"").unwrap_err();
        assert!(err.to_string().contains("127.0.0.1:7072"), "{err}");
        assert_eq!(
            tcp_multiaddr("127.0.0.1:9".parse().unwrap()).to_string(),
            "/ip4/127.0.0.1/tcp/9"
        );
    }
}
