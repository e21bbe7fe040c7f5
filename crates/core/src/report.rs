//! Threat reports: what a participant claims, with a bond behind it.

use std::fmt;
use std::str::FromStr;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_with::{DeserializeFromStr, SerializeDisplay};

use crate::chain_id::EvmChainId;
use crate::detection::{
    Detection, DetectionId, DetectionShapeError, MAX_REVOCATIONS, check_detection,
};
use crate::encoding::ContentId;
use crate::evm::B256;
use crate::indicator::Indicator;
use crate::signed::SignedPayload;

/// Most indicators one report may carry.
pub const MAX_REPORT_INDICATORS: usize = 4_096;
/// Longest summary, in bytes.
pub const MAX_SUMMARY_LEN: usize = 4_096;
/// Most evidence references one report may carry.
pub const MAX_EVIDENCE: usize = 64;
/// Longest evidence URL or protocol name, in bytes.
pub const MAX_REFERENCE_LEN: usize = 512;
/// Most affected protocols one report may name.
pub const MAX_AFFECTED: usize = 64;

/// The id of a report: the content id of its [`Report`] body (the bond is not part of it), so
/// the same claim submitted twice has one id.
pub type ReportId = ContentId;

/// How bad a threat is, ordered from least to most severe.
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
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical: funds are being lost now.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a text is not a known name of an enumeration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {got:?}; expected one of: {expected}")]
pub struct UnknownName {
    /// What was being parsed.
    pub what: &'static str,
    /// The text given.
    pub got: String,
    /// The accepted names.
    pub expected: String,
}

impl FromStr for Severity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(s)).ok_or_else(|| {
            UnknownName {
                what: "severity",
                got: s.to_owned(),
                expected: Severity::ALL.map(Severity::as_str).join(", "),
            }
        })
    }
}

/// What kind of threat a report describes.
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
pub enum Category {
    /// An exploit of a protocol (flash-loan, oracle manipulation, reentrancy, ...).
    Exploit,
    /// A phishing site, address poisoning or a wallet drainer.
    Phishing,
    /// A scam token, rug pull or fraudulent project.
    Scam,
    /// A sanctioned address.
    Sanctioned,
    /// A malicious contract (attacker contract, honeypot, drainer contract).
    MaliciousContract,
    /// A hostile governance proposal.
    GovernanceAttack,
    /// A vulnerability in a protocol (disclosure).
    Vulnerability,
    /// Anything else.
    Other,
}

impl Category {
    /// Every category.
    pub const ALL: [Category; 8] = [
        Category::Exploit,
        Category::Phishing,
        Category::Scam,
        Category::Sanctioned,
        Category::MaliciousContract,
        Category::GovernanceAttack,
        Category::Vulnerability,
        Category::Other,
    ];

    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exploit => "exploit",
            Self::Phishing => "phishing",
            Self::Scam => "scam",
            Self::Sanctioned => "sanctioned",
            Self::MaliciousContract => "malicious_contract",
            Self::GovernanceAttack => "governance_attack",
            Self::Vulnerability => "vulnerability",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.replace('-', "_");
        Category::ALL.into_iter().find(|v| v.as_str().eq_ignore_ascii_case(&wanted)).ok_or_else(
            || UnknownName {
                what: "category",
                got: s.to_owned(),
                expected: Category::ALL.map(Category::as_str).join(", "),
            },
        )
    }
}

/// A reference backing a report: a transaction or a URL (post-mortem, explorer page, PoC).
#[derive(
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    BorshSerialize,
    BorshDeserialize,
    SerializeDisplay,
    DeserializeFromStr,
)]
pub enum Evidence {
    /// A transaction on an EVM chain.
    Tx {
        /// Its chain.
        chain: EvmChainId,
        /// Its hash.
        hash: B256,
    },
    /// An `http(s)://` URL.
    Url(String),
}

/// Why a text is not evidence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("evidence {0:?} must be tx:<chain id>:0x<64 hex> or an http(s) URL of at most 512 bytes")]
pub struct EvidenceError(pub String);

impl FromStr for Evidence {
    type Err = EvidenceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || EvidenceError(s.chars().take(80).collect());
        if let Some(rest) = s.strip_prefix("tx:") {
            let (chain, hash) = rest.split_once(':').ok_or_else(err)?;
            let chain = EvmChainId(chain.parse().map_err(|_| err())?);
            return Ok(Self::Tx { chain, hash: hash.parse().map_err(|_| err())? });
        }
        let is_url = s.starts_with("https://") || s.starts_with("http://");
        if is_url && s.len() <= MAX_REFERENCE_LEN && !s.chars().any(char::is_whitespace) {
            Ok(Self::Url(s.to_owned()))
        } else {
            Err(err())
        }
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tx { chain, hash } => write!(f, "tx:{chain}:{hash}"),
            Self::Url(url) => f.write_str(url),
        }
    }
}

/// A threat report: the claim itself. The bond is carried by the transaction that submits it.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Report {
    /// What is flagged: at least one indicator.
    pub indicators: Vec<Indicator>,
    /// How bad it is.
    pub severity: Severity,
    /// What kind of threat.
    pub category: Category,
    /// A free-text summary for people.
    pub summary: String,
    /// References that back the claim.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// Names of the protocols it affects.
    #[serde(default)]
    pub affected_protocols: Vec<String>,
    /// Fingerprints and rules that detect the threat: loaded by every node's detectors once
    /// the report is confirmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub detection: Vec<Detection>,
    /// Detection items this report withdraws (a rule that misfires, a fingerprint superseded):
    /// they stop firing once the report is confirmed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revokes: Vec<DetectionId>,
}

/// A report signed outside a transaction ([`crate::Signed<Report>`]) is shared intel: spread by
/// gossip before (or without) being submitted to the ledger with a bond.
impl SignedPayload for Report {
    const DOMAIN: &'static str = "vigil/intel/v1";
}

/// Why a report is malformed (checked before any state is read).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportShapeError {
    /// Nothing flagged: no indicator, detection item or revocation.
    #[error("a report needs at least one indicator, fingerprint, rule file or revocation")]
    NoIndicators,
    /// Malformed detection content.
    #[error(transparent)]
    Detection(#[from] DetectionShapeError),
    /// Too many indicators.
    #[error("a report may carry at most {max} indicators, this one has {got}")]
    TooManyIndicators {
        /// Count given.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// The same indicator twice.
    #[error("indicator {0} is listed twice")]
    DuplicateIndicator(String),
    /// Summary too long or empty.
    #[error("summary must be 1 to {max} bytes, got {got}")]
    Summary {
        /// Length given.
        got: usize,
        /// Limit.
        max: usize,
    },
    /// Too many evidence items or affected protocols, or an over-long name.
    #[error("{what}: at most {max} entries of at most 512 bytes each")]
    TooManyReferences {
        /// Which list.
        what: &'static str,
        /// Limit on entries.
        max: usize,
    },
}

impl Report {
    /// This report's id.
    pub fn id(&self) -> ReportId {
        ContentId::of(self)
    }

    /// Checks the limits every report must respect.
    pub fn check_shape(&self) -> Result<(), ReportShapeError> {
        if self.indicators.is_empty() && self.detection.is_empty() && self.revokes.is_empty() {
            return Err(ReportShapeError::NoIndicators);
        }
        check_detection(&self.detection)?;
        if self.revokes.len() > MAX_REVOCATIONS {
            return Err(DetectionShapeError::TooManyRevocations { got: self.revokes.len() }.into());
        }
        if self.indicators.len() > MAX_REPORT_INDICATORS {
            return Err(ReportShapeError::TooManyIndicators {
                got: self.indicators.len(),
                max: MAX_REPORT_INDICATORS,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for ind in &self.indicators {
            if !seen.insert(ind) {
                return Err(ReportShapeError::DuplicateIndicator(ind.to_string()));
            }
        }
        if self.summary.trim().is_empty() || self.summary.len() > MAX_SUMMARY_LEN {
            return Err(ReportShapeError::Summary {
                got: self.summary.len(),
                max: MAX_SUMMARY_LEN,
            });
        }
        let long_url = |e: &Evidence| matches!(e, Evidence::Url(u) if u.len() > MAX_REFERENCE_LEN);
        if self.evidence.len() > MAX_EVIDENCE || self.evidence.iter().any(long_url) {
            return Err(ReportShapeError::TooManyReferences {
                what: "evidence",
                max: MAX_EVIDENCE,
            });
        }
        if self.affected_protocols.len() > MAX_AFFECTED
            || self.affected_protocols.iter().any(|p| p.is_empty() || p.len() > MAX_REFERENCE_LEN)
        {
            return Err(ReportShapeError::TooManyReferences {
                what: "affected protocols",
                max: MAX_AFFECTED,
            });
        }
        Ok(())
    }
}

/// An attester's position on a report.
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
pub enum Stance {
    /// The report is true.
    Confirm,
    /// The report is false.
    Dispute,
}
