//! Alerts: what a detector says about a transaction. Alerts are signed by the node that raised
//! them ([`crate::Signed<Alert>`]) and spread by gossip; an authorised monitor's signed alert can
//! trip a circuit breaker on the fast path.

use std::collections::BTreeMap;
use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::chain_id::EvmChainId;
use crate::detection::Detection;
use crate::encoding::ContentId;
use crate::evm::{B256, EvmAddress};
use crate::indicator::Indicator;
use crate::report::Severity;
use crate::signed::SignedPayload;

/// The id of an alert: the content id of the [`Alert`].
pub type AlertId = ContentId;

/// What an alert is about.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// An exploit in progress.
    Exploit,
    /// Suspicious activity that may precede an exploit.
    Suspicious,
    /// A scam or phishing interaction.
    Scam,
    /// A protocol or its data is degraded (oracle off, outflows above limits).
    Degraded,
    /// Informational.
    Info,
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Exploit => "exploit",
            Self::Suspicious => "suspicious",
            Self::Scam => "scam",
            Self::Degraded => "degraded",
            Self::Info => "info",
        })
    }
}

/// The transaction an alert is about, as seen by the collector.
#[derive(
    Clone, PartialEq, Eq, Debug, Hash, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct TxRef {
    /// The chain.
    pub chain: EvmChainId,
    /// The transaction hash.
    pub hash: B256,
    /// The sender.
    pub from: EvmAddress,
    /// The recipient, `None` for contract creation.
    pub to: Option<EvmAddress>,
    /// The block it was mined in, `None` while pending in the mempool.
    pub block: Option<u64>,
}

/// A detector's finding about a transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Alert {
    /// The detector that raised it, e.g. `flash-loan-exploit` or `rule:large-transfer`.
    pub detector: String,
    /// How bad.
    pub severity: Severity,
    /// What kind.
    pub kind: AlertKind,
    /// How sure the detector is, 0–100.
    pub confidence: u8,
    /// The transaction.
    pub tx: TxRef,
    /// The addresses involved (attacker, victim contracts, ...).
    pub addresses: Vec<EvmAddress>,
    /// The indicators that matched, if any.
    pub indicators: Vec<Indicator>,
    /// Labels (e.g. the feed label of a matched address).
    pub labels: Vec<String>,
    /// A description for people.
    pub description: String,
    /// When it was raised, in seconds since the Unix epoch: the block's timestamp for a mined
    /// transaction, the time the collector first saw it for a pending one.
    pub time: u64,
    /// Detector-specific details (amounts, thresholds, the matched rule), ordered by key.
    pub metadata: BTreeMap<String, String>,
    /// Detection content for other nodes: the fingerprint of an exploit's call tree, so a
    /// node that trusts this monitor can watch for the same attack at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detection: Vec<Detection>,
}

impl Alert {
    /// This alert's id.
    pub fn id(&self) -> AlertId {
        ContentId::of(self)
    }
}

impl SignedPayload for Alert {
    const DOMAIN: &'static str = "vigil/alert/v1";
}
