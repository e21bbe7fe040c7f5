//! Events: what a block did, for the event stream, indexes and notifications.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{AccountId, Amount, ReportId, Stance, TxId};

use crate::error::TxError;
use crate::state::ReportStatus;

/// Why stake was slashed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SlashReason {
    /// The account's report was rejected.
    RejectedReport,
    /// The account attested on the losing side.
    LosingAttestation,
}

/// Why an account was paid.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum RewardReason {
    /// Reporter of a confirmed report.
    ConfirmedReport,
    /// Attester on the winning side.
    WinningAttestation,
}

/// Something a block did.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A transfer.
    Transfer {
        /// Sender.
        from: AccountId,
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: Amount,
    },
    /// Stake bonded.
    Bonded {
        /// The account.
        account: AccountId,
        /// Amount.
        amount: Amount,
    },
    /// Unbonding started.
    UnbondingStarted {
        /// The account.
        account: AccountId,
        /// Amount.
        amount: Amount,
        /// When it is released.
        release_height: u64,
    },
    /// Unbonded stake returned to the balance.
    UnbondingReleased {
        /// The account.
        account: AccountId,
        /// Amount.
        amount: Amount,
    },
    /// A report entered its challenge window.
    ReportSubmitted {
        /// The report.
        report: ReportId,
        /// Its reporter.
        reporter: AccountId,
        /// Its bond.
        bond: Amount,
        /// The last height of its challenge window.
        deadline: u64,
    },
    /// An attestation.
    Attested {
        /// The report.
        report: ReportId,
        /// The attester.
        attester: AccountId,
        /// Confirm or dispute.
        stance: Stance,
        /// Locked stake.
        stake: Amount,
        /// Its weight.
        weight: u64,
    },
    /// A report's verdict.
    Verdict {
        /// The report.
        report: ReportId,
        /// The outcome.
        status: ReportStatus,
        /// Confirming weight.
        confirm_weight: u64,
        /// Disputing weight.
        dispute_weight: u64,
        /// Weight needed for quorum.
        quorum: u64,
    },
    /// Stake slashed.
    Slashed {
        /// The account.
        account: AccountId,
        /// Amount.
        amount: Amount,
        /// Why.
        reason: SlashReason,
        /// The report it concerns.
        report: ReportId,
    },
    /// A reward paid.
    Rewarded {
        /// The account.
        account: AccountId,
        /// Amount.
        amount: Amount,
        /// Why.
        reason: RewardReason,
        /// The report it concerns.
        report: ReportId,
    },
    /// The validator set changes from the next height.
    ValidatorSetChanged {
        /// The new set with voting powers.
        validators: Vec<(AccountId, u64)>,
        /// First height it decides.
        from_height: u64,
    },
}

/// The result of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TxResult {
    /// The transaction.
    pub id: TxId,
    /// Whether it executed, and if not, why.
    pub outcome: Result<(), TxError>,
    /// Whether the signer's nonce was consumed (true for executed and for failed-but-authorised
    /// transactions; false for those refused before execution).
    pub nonce_consumed: bool,
}
