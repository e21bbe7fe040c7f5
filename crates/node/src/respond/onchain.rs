//! The on-chain executor: when a breaker trips, a guardian key sends the protocol's pause call
//! (and, when it is re-armed, the reset call) to its contract, and waits for the receipt.
//!
//! It remembers the last action it carried out per protocol, so a trip this node saw first
//! (its own alert on the fast path) and the same trip arriving from the ledger a block later
//! send one transaction, not two.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use vigil_chain::executor::ContractCaller;
use vigil_core::{EvmChainId, ProtocolId};

use serde::{Deserialize, Serialize};

use super::{ExecError, Executor, Incident};
use crate::metrics::RejectLabels;

/// The on-chain executor: pauses (and unpauses) protected contracts from a guardian key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnChainConfig {
    /// The chain's JSON-RPC URL.
    pub rpc: String,
    /// The guardian's EVM private key file (64 hex digits, mode 0600).
    pub key: PathBuf,
    /// Protocols whose breakers this node carries out (empty: every protocol on this chain).
    #[serde(default)]
    pub protocols: Vec<ProtocolId>,
    /// How long to wait for a receipt, in milliseconds.
    #[serde(default = "default_receipt_timeout")]
    pub receipt_timeout_ms: u64,
    /// When the pause answers a pending exploit seen by pre-execution: how much more it bids
    /// than the exploit, in percent of its fees, so a block ordered by fee mines it first.
    #[serde(default = "default_fee_bump")]
    pub fee_bump: u32,
    /// The most the pause pays per gas, in gwei, however much the exploit bids.
    #[serde(default = "default_max_fee")]
    pub max_fee: u64,
    /// The gas limit of a pause that outbids an exploit (sent without an estimate, to save
    /// the round trip).
    #[serde(default = "default_pause_gas")]
    pub pause_gas: u64,
}

fn default_receipt_timeout() -> u64 {
    60_000
}

fn default_fee_bump() -> u32 {
    25
}

fn default_max_fee() -> u64 {
    1_000
}

fn default_pause_gas() -> u64 {
    300_000
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Done {
    Paused,
    Reset,
}

/// Carries out breaker actions on one EVM chain.
pub struct OnChainExecutor {
    caller: ContractCaller,
    chain: EvmChainId,
    protocols: BTreeSet<ProtocolId>,
    last: Mutex<BTreeMap<ProtocolId, Done>>,
    fee_bump: u32,
    max_fee_wei: u128,
    pause_gas: u64,
    latency: Histogram,
    outcomes: Family<RejectLabels, Counter>,
}

impl OnChainExecutor {
    /// Connects to `config.rpc` with the guardian key; `latency` and `outcomes` are the node's
    /// metrics.
    pub async fn connect(
        config: &OnChainConfig,
        latency: Histogram,
        outcomes: Family<RejectLabels, Counter>,
    ) -> Result<Self, ExecError> {
        let fail = |message: String| ExecError { executor: "on-chain".into(), message };
        let key = crate::keyfile::read_evm_key(&config.key).map_err(|e| fail(e.to_string()))?;
        let caller = ContractCaller::connect(&config.rpc, &key)
            .await
            .map_err(|e| fail(e.to_string()))?
            .with_receipt_timeout(Duration::from_millis(config.receipt_timeout_ms));
        drop(key);
        let chain = chain_id(&config.rpc).await.map_err(fail)?;
        tracing::info!(guardian = %caller.address(), chain = %chain, "on-chain executor ready");
        Ok(Self {
            caller,
            chain,
            protocols: config.protocols.iter().cloned().collect(),
            last: Mutex::new(BTreeMap::new()),
            fee_bump: config.fee_bump,
            max_fee_wei: u128::from(config.max_fee).saturating_mul(1_000_000_000),
            pause_gas: config.pause_gas,
            latency,
            outcomes,
        })
    }

    fn count(&self, outcome: &str) {
        self.outcomes.get_or_create(&RejectLabels { reason: outcome.into() }).inc();
    }
}

async fn chain_id(url: &str) -> Result<EvmChainId, String> {
    let rpc = vigil_chain::Rpc::connect(url, vigil_chain::Backoff::default())
        .await
        .map_err(|e| e.to_string())?;
    rpc.chain_id().await.map(EvmChainId).map_err(|e| e.to_string())
}

impl Executor for OnChainExecutor {
    fn name(&self) -> String {
        format!("on-chain guardian {} (chain {})", self.caller.address(), self.chain)
    }

    fn wants(&self, incident: &Incident) -> bool {
        let (protocol, chain) = match incident {
            Incident::BreakerTripped { protocol, chain, .. }
            | Incident::BreakerReset { protocol, chain, .. } => (protocol, *chain),
            Incident::Verdict { .. } | Incident::Alert { .. } => return false,
        };
        chain == self.chain && (self.protocols.is_empty() || self.protocols.contains(protocol))
    }

    fn execute<'a>(&'a self, incident: &'a Incident) -> BoxFuture<'a, Result<String, ExecError>> {
        Box::pin(async move {
            let (protocol, target, calldata, done, detected_at, outbid) = match incident {
                Incident::BreakerTripped { protocol, action, detected_at, outbid, .. } => {
                    (protocol, action.target, &action.calldata, Done::Paused, *detected_at, *outbid)
                }
                Incident::BreakerReset { protocol, action, .. } => {
                    (protocol, action.target, &action.reset_calldata, Done::Reset, None, None)
                }
                Incident::Verdict { .. } | Incident::Alert { .. } => {
                    return Ok("nothing to do".into());
                }
            };
            {
                let mut last = self.last.lock();
                if last.get(protocol) == Some(&done) {
                    return Ok(format!("{protocol}: already {done:?}; no transaction sent"));
                }
                last.insert(protocol.clone(), done);
            }
            // Ahead of a pending exploit: outbid it, within the cap.
            let fees = outbid.map(|o| {
                let (fees, capped) = o.fees(self.fee_bump, self.max_fee_wei, self.pause_gas);
                if capped {
                    tracing::warn!(%protocol, max_fee = fees.max_fee_per_gas, "the exploit bids more than max_fee: the pause may be mined after it");
                }
                fees
            });
            let tx = match self.caller.send_with(target, calldata, fees).await {
                Ok(tx) => tx,
                Err(e) => {
                    self.last.lock().remove(protocol);
                    self.count("send_failed");
                    return Err(ExecError { executor: self.name(), message: e.to_string() });
                }
            };
            if let Some(at) = detected_at {
                self.latency.observe(at.elapsed().as_secs_f64());
            }
            tracing::info!(%protocol, %tx, ?done, ?fees, "on-chain action sent");
            match self.caller.wait(tx).await {
                Ok(receipt) => {
                    self.count("mined");
                    Ok(format!(
                        "{protocol}: {done:?} in tx {} (block {}, gas {})",
                        receipt.tx, receipt.block, receipt.gas_used
                    ))
                }
                Err(e) => {
                    self.count("failed");
                    Err(ExecError { executor: self.name(), message: format!("{protocol}: {e}") })
                }
            }
        })
    }
}
