//! State records that need nothing else of the ledger: where a report stands, protocols with
//! their circuit breakers, governance proposals and votes, and where a report came from. At
//! the bottom, so errors and events can name them.

use std::collections::BTreeSet;
use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{
    AccountId, AlertId, Amount, B256, ContentId, ProposalAction, ProtocolId, ProtocolSpec,
    ReportId, Severity,
};

/// Why a breaker tripped.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TripReason {
    /// A guardian tripped it.
    Guardian {
        /// The guardian's note.
        note: String,
    },
    /// A confirmed report met the policy.
    ConfirmedReport {
        /// The report.
        report: ReportId,
    },
    /// An authorised monitor's signed alert (the fast path).
    FastPath {
        /// The alert.
        alert: AlertId,
        /// The report opened for it.
        report: ReportId,
    },
}

/// A circuit breaker: Armed, or Tripped until M guardians or a passed proposal re-arm it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BreakerState {
    /// Normal operation.
    Armed,
    /// Paused.
    Tripped {
        /// Why.
        reason: TripReason,
        /// When.
        at_height: u64,
        /// Who (the guardian, the reporter, or the monitor).
        by: AccountId,
    },
}

impl BreakerState {
    /// Whether the breaker is tripped.
    pub fn is_tripped(&self) -> bool {
        matches!(self, BreakerState::Tripped { .. })
    }
}

/// A registered protocol.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProtocolRecord {
    /// Its registration.
    pub spec: ProtocolSpec,
    /// Who registered it.
    pub owner: AccountId,
    /// Height of registration.
    pub registered_at: u64,
    /// Its breaker.
    pub breaker: BreakerState,
    /// How many times it has tripped.
    pub trips: u64,
    /// Distinct guardians that approved re-arming the current trip.
    pub reset_approvals: BTreeSet<AccountId>,
    /// Escrow paying confirmed vulnerability reports, disclosures and recovery bounties.
    pub bounty_pool: Amount,
    /// Recovery bounties granted so far (paid and retained), against the Safe Harbor
    /// aggregate cap.
    pub recovery_granted: Amount,
}

/// How a report reached the ledger.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ReportOrigin {
    /// A `SubmitReport` transaction.
    #[default]
    Submitted,
    /// Opened by a fast-path trip; if rejected, the monitor is slashed.
    FastPath {
        /// The protocol tripped.
        protocol: ProtocolId,
        /// The alert.
        alert: AlertId,
    },
}

/// Where a proposal stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Open for votes.
    Voting,
    /// Passed; waiting for its execution height.
    Passed,
    /// Did not pass.
    Rejected,
    /// Executed.
    Executed,
    /// Passed, but its action could not be carried out (the reason is recorded).
    Failed,
}

impl fmt::Display for ProposalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Voting => "voting",
            Self::Passed => "passed",
            Self::Rejected => "rejected",
            Self::Executed => "executed",
            Self::Failed => "failed",
        })
    }
}

/// Voting power cast, in bonded base units.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
pub struct VoteTally {
    /// For.
    pub yes: u64,
    /// Against.
    pub no: u64,
    /// Abstaining (counts for quorum).
    pub abstain: u64,
}

/// A governance proposal.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ProposalRecord {
    /// What it does.
    pub action: ProposalAction,
    /// Why.
    pub description: String,
    /// Who proposed it.
    pub proposer: AccountId,
    /// Its deposit.
    pub deposit: Amount,
    /// Height of submission.
    pub submitted_at: u64,
    /// Last height of voting.
    pub voting_ends: u64,
    /// Earliest execution height asked for.
    pub not_before: Option<u64>,
    /// Where it stands.
    pub status: ProposalStatus,
    /// Votes so far.
    pub tally: VoteTally,
    /// Power needed for quorum, fixed when voting closed.
    pub quorum: Option<u64>,
    /// The height it executes at, once passed.
    pub execute_at: Option<u64>,
    /// Why execution failed, if it did.
    pub failure: Option<String>,
}

/// One account's vote.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct VoteRecord {
    /// The choice.
    pub choice: vigil_core::VoteChoice,
    /// Bonded stake at the time of voting.
    pub power: u64,
    /// Height of the vote.
    pub at_height: u64,
}

/// Where a report stands.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    /// In its challenge window, taking attestations.
    Open,
    /// Judged true.
    Confirmed,
    /// Judged false.
    Rejected,
    /// No side won (or no quorum): waiting for a governance decision.
    Escalated,
}

impl ReportStatus {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Escalated => "escalated",
        }
    }
}

impl fmt::Display for ReportStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for ReportStatus {
    type Err = vigil_core::UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Self::Open, Self::Confirmed, Self::Rejected, Self::Escalated]
            .into_iter()
            .find(|v| v.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| vigil_core::UnknownName {
                what: "report status",
                got: s.to_owned(),
                expected: "open, confirmed, rejected, escalated".to_owned(),
            })
    }
}

/// Where a payment stream stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum StreamStatus {
    /// Accruing every block.
    Streaming,
    /// Not accruing; can be restarted.
    Paused,
    /// Ended by the sender; what is owed can still be claimed.
    Closed,
}

/// An open-ended payment stream (in the manner of Sablier Flow): `rate` per block accrues to
/// the recipient as debt; the recipient withdraws what the deposit covers.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StreamRecord {
    /// Who pays (and may top up, pause, restart, close).
    pub sender: AccountId,
    /// Who is paid.
    pub recipient: AccountId,
    /// Accrual per block.
    pub rate: Amount,
    /// Deposited and not yet withdrawn.
    pub balance: Amount,
    /// Debt accrued up to `snapshot_height` and not yet withdrawn.
    pub snapshot_debt: Amount,
    /// Height of the last snapshot.
    pub snapshot_height: u64,
    /// Its status.
    pub status: StreamStatus,
    /// Height it was opened at.
    pub opened_at: u64,
    /// Everything withdrawn by the recipient so far.
    pub withdrawn: Amount,
}

impl StreamRecord {
    /// Debt at `height`: the snapshot plus what accrued since (saturating: a debt no deposit
    /// can cover is capped, never wraps).
    pub fn debt_at(&self, height: u64) -> Amount {
        let accrued = if self.status == StreamStatus::Streaming {
            let blocks = height.saturating_sub(self.snapshot_height);
            Amount(self.rate.0.saturating_mul(blocks))
        } else {
            Amount::ZERO
        };
        Amount(self.snapshot_debt.0.saturating_add(accrued.0))
    }

    /// What the recipient can withdraw at `height`: the debt, up to the balance.
    pub fn withdrawable_at(&self, height: u64) -> Amount {
        Amount(self.debt_at(height).0.min(self.balance.0))
    }

    /// Debt the balance does not cover at `height`.
    pub fn uncovered_at(&self, height: u64) -> Amount {
        Amount(self.debt_at(height).0.saturating_sub(self.balance.0))
    }

    /// The balance beyond the debt at `height`: what a close refunds.
    pub fn refundable_at(&self, height: u64) -> Amount {
        Amount(self.balance.0.saturating_sub(self.debt_at(height).0))
    }

    /// A copy with the debt snapshotted at `height`.
    pub fn snapshot(&self, height: u64) -> Self {
        Self { snapshot_debt: self.debt_at(height), snapshot_height: height, ..self.clone() }
    }
}

/// Where a disclosure stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum DisclosureStatus {
    /// Waiting for the protocol's answer.
    Open,
    /// Accepted at the claimed severity and paid.
    Accepted,
    /// Accepted lower, with a reason, and paid that; escalation possible until `window_ends`.
    Downgraded,
    /// Disputed with a reason; escalation possible until `window_ends`.
    Disputed,
    /// Before a governance vote.
    Escalated,
    /// The vote found for the researcher: the claimed tier was paid.
    Upheld,
    /// The vote found for the protocol.
    Overruled,
    /// Disputed and not escalated in time: the bond went to the treasury.
    Lapsed,
    /// Unanswered past its deadline and published by the researcher.
    Revealed,
}

impl DisclosureStatus {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Accepted => "accepted",
            Self::Downgraded => "downgraded",
            Self::Disputed => "disputed",
            Self::Escalated => "escalated",
            Self::Upheld => "upheld",
            Self::Overruled => "overruled",
            Self::Lapsed => "lapsed",
            Self::Revealed => "revealed",
        }
    }
}

/// An embargoed vulnerability disclosure. The ledger holds a commitment to the report, never
/// the report, until the researcher reveals it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DisclosureRecord {
    /// The protocol it is about.
    pub protocol: ProtocolId,
    /// Who disclosed it.
    pub researcher: AccountId,
    /// Commitment to the report and a salt: proof of what was known, and when.
    pub commitment: ContentId,
    /// Content id of the encrypted report the nodes keep.
    pub ciphertext: ContentId,
    /// The severity the researcher claims.
    pub severity: Severity,
    /// The funds directly at risk the researcher claims.
    pub funds_at_risk: Amount,
    /// Bond held now (zero once returned or forfeited).
    pub bond: Amount,
    /// Height of the disclosure.
    pub submitted_at: u64,
    /// Last height for the protocol's answer; after it the researcher may reveal.
    pub deadline: u64,
    /// Where it stands.
    pub status: DisclosureStatus,
    /// The severity the protocol assessed, on a downgrade.
    pub assessed_severity: Option<Severity>,
    /// The funds at risk the protocol assessed, on a downgrade.
    pub assessed_funds_at_risk: Option<Amount>,
    /// The protocol's written reason for a downgrade or dispute.
    pub reason: Option<String>,
    /// Paid to the researcher from the protocol's escrow so far.
    pub paid: Amount,
    /// Last height to escalate a downgrade or dispute.
    pub window_ends: Option<u64>,
    /// The governance proposal deciding it, once escalated.
    pub escalation: Option<u64>,
    /// The report, once revealed.
    pub revealed: Option<String>,
}

/// Where a recovery claim stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RecoveryStatus {
    /// Waiting for the protocol.
    Pending,
    /// Confirmed by the protocol and paid.
    Confirmed,
    /// Disputed with a reason; escalation possible until `window_ends`.
    Disputed,
    /// Before a governance vote.
    Escalated,
    /// The vote found for the claimant: paid.
    Upheld,
    /// The vote found for the protocol.
    Overruled,
}

impl RecoveryStatus {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Disputed => "disputed",
            Self::Escalated => "escalated",
            Self::Upheld => "upheld",
            Self::Overruled => "overruled",
        }
    }
}

/// A whitehat's claim on a protocol's Safe Harbor bounty for funds it recovered.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RecoveryRecord {
    /// The protocol.
    pub protocol: ProtocolId,
    /// Who claims.
    pub claimant: AccountId,
    /// Value recovered and returned, in VGL base units.
    pub recovered: Amount,
    /// Part of the bounty kept out of the rescued funds.
    pub retained: Amount,
    /// The bounty the terms give for `recovered` (capped per whitehat), fixed at filing.
    pub bounty: Amount,
    /// On-chain transactions of the rescue and the return (each claimable once).
    pub evidence: Vec<B256>,
    /// The claimant's note.
    pub note: String,
    /// Height of filing.
    pub filed_at: u64,
    /// Where it stands.
    pub status: RecoveryStatus,
    /// Paid from the protocol's escrow.
    pub paid: Amount,
    /// The protocol's reason for a dispute.
    pub reason: Option<String>,
    /// Last height to escalate a dispute.
    pub window_ends: Option<u64>,
    /// The governance proposal deciding it, once escalated.
    pub escalation: Option<u64>,
}
