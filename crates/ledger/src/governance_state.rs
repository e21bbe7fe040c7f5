//! State records that need nothing else of the ledger: where a report stands, protocols with
//! their circuit breakers, governance proposals and votes, and where a report came from. At
//! the bottom, so errors and events can name them.

use std::collections::BTreeSet;
use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{AccountId, AlertId, Amount, ProposalAction, ProtocolId, ProtocolSpec, ReportId};

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
    /// Escrow paying confirmed vulnerability reports about it, by severity tier.
    pub bounty_pool: Amount,
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
