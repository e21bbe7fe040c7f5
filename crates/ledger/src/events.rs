//! Events: what a block did, for the event stream, indexes and notifications.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use vigil_core::{
    AccountId, Amount, EvmChainId, OnChainAction, ProtocolId, ReportId, Stance, TxId, VoteChoice,
};

use crate::error::TxError;
use crate::governance_state::{
    DisclosureStatus, ProposalStatus, RecoveryStatus, ReportStatus, TripReason,
};

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
    /// The account's fast-path trip was judged false.
    FalseFastPath,
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
    /// Reporter of a confirmed vulnerability, from the protocol's bounty pool.
    Bounty,
}

/// Who re-armed a breaker.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ResetBy {
    /// M distinct guardians.
    Guardians {
        /// The approving guardians.
        guardians: Vec<AccountId>,
    },
    /// A passed governance proposal.
    Proposal {
        /// Its id.
        proposal: u64,
    },
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
    /// A protocol was registered.
    ProtocolRegistered {
        /// The protocol.
        protocol: ProtocolId,
        /// Its owner.
        owner: AccountId,
    },
    /// A breaker tripped: executors carry out `action` on chain.
    BreakerTripped {
        /// The protocol.
        protocol: ProtocolId,
        /// Why.
        reason: TripReason,
        /// Who tripped it.
        by: AccountId,
        /// What to do on chain.
        action: OnChainAction,
        /// The chain of the action.
        chain: EvmChainId,
    },
    /// A guardian approved re-arming a breaker.
    ResetApproved {
        /// The protocol.
        protocol: ProtocolId,
        /// The guardian.
        guardian: AccountId,
        /// Approvals so far.
        approvals: u32,
        /// Approvals needed.
        threshold: u8,
    },
    /// A breaker was re-armed: executors undo the action on chain.
    BreakerReset {
        /// The protocol.
        protocol: ProtocolId,
        /// Who re-armed it.
        by: ResetBy,
        /// What to do on chain (`reset_calldata`).
        action: OnChainAction,
        /// The chain of the action.
        chain: EvmChainId,
    },
    /// A proposal opened for votes.
    ProposalSubmitted {
        /// Its id.
        proposal: u64,
        /// Its proposer.
        proposer: AccountId,
        /// What kind.
        kind: String,
        /// Last height of voting.
        voting_ends: u64,
    },
    /// A vote.
    Voted {
        /// The proposal.
        proposal: u64,
        /// The voter.
        voter: AccountId,
        /// The choice.
        choice: VoteChoice,
        /// Power.
        power: u64,
    },
    /// Voting closed.
    ProposalClosed {
        /// The proposal.
        proposal: u64,
        /// Passed or rejected.
        status: ProposalStatus,
        /// Yes power.
        yes: u64,
        /// No power.
        no: u64,
        /// Abstain power.
        abstain: u64,
        /// Power needed for quorum.
        quorum: u64,
        /// Execution height when passed.
        execute_at: Option<u64>,
    },
    /// A passed proposal was carried out (or failed).
    ProposalExecuted {
        /// The proposal.
        proposal: u64,
        /// Executed or failed.
        status: ProposalStatus,
        /// Why it failed.
        failure: Option<String>,
    },
    /// A governance proposal slashed stake.
    ProposalSlash {
        /// The account.
        account: AccountId,
        /// Amount taken (at most what was slashable).
        amount: Amount,
        /// The proposal.
        proposal: u64,
    },
    /// A payment stream was opened.
    StreamOpened {
        /// The stream.
        stream: u64,
        /// Who pays.
        sender: AccountId,
        /// Who is paid.
        recipient: AccountId,
        /// Per block.
        rate: Amount,
        /// Deposited.
        deposit: Amount,
    },
    /// A stream's deposit grew.
    StreamToppedUp {
        /// The stream.
        stream: u64,
        /// By how much.
        amount: Amount,
    },
    /// A stream stopped accruing.
    StreamPaused {
        /// The stream.
        stream: u64,
    },
    /// A paused stream accrues again.
    StreamRestarted {
        /// The stream.
        stream: u64,
        /// Its rate per block.
        rate: Amount,
    },
    /// A stream was closed by its sender.
    StreamClosed {
        /// The stream.
        stream: u64,
        /// Refunded to the sender: the deposit beyond what is owed.
        refund: Amount,
    },
    /// The recipient withdrew from a stream.
    StreamClaimed {
        /// The stream.
        stream: u64,
        /// Paid to the recipient.
        amount: Amount,
    },
    /// Debt the deposit did not cover was forfeited; the stream is paused.
    StreamVoided {
        /// The stream.
        stream: u64,
        /// The debt forfeited.
        forfeited: Amount,
    },
    /// An executed proposal withdrew a shared fingerprint or rule file.
    DetectionRevoked {
        /// The item.
        detection: vigil_core::DetectionId,
        /// The proposal.
        proposal: u64,
    },
    /// The treasury paid out.
    TreasurySpent {
        /// Recipient.
        to: AccountId,
        /// Amount.
        amount: Amount,
        /// The proposal.
        proposal: u64,
    },
    /// The validator set changes from the next height.
    ValidatorSetChanged {
        /// The new set with voting powers.
        validators: Vec<(AccountId, u64)>,
        /// First height it decides.
        from_height: u64,
    },
    /// A transaction paid its fee to the treasury.
    FeePaid {
        /// The signer.
        account: AccountId,
        /// The fee.
        amount: Amount,
    },
    /// A validator was slashed for equivocation and removed from the candidates; it leaves the
    /// validator set at the next epoch boundary.
    ValidatorSlashed {
        /// The offender.
        validator: AccountId,
        /// Height of the conflicting messages.
        height: u64,
        /// Round of the conflicting messages.
        round: u32,
        /// Stake taken.
        slashed: Amount,
        /// Who submitted the evidence.
        reporter: AccountId,
        /// Paid to the reporter out of the slash.
        reward: Amount,
    },
    /// Someone added to a protocol's bounty escrow.
    BountyFunded {
        /// The protocol.
        protocol: ProtocolId,
        /// Who.
        from: AccountId,
        /// How much.
        amount: Amount,
    },
    /// A vulnerability was disclosed under embargo.
    Disclosed {
        /// The disclosure.
        disclosure: u64,
        /// The protocol.
        protocol: ProtocolId,
        /// The researcher.
        researcher: AccountId,
        /// The severity claimed.
        severity: vigil_core::Severity,
        /// Last height for the protocol's answer.
        deadline: u64,
    },
    /// The protocol answered a disclosure.
    DisclosureAnswered {
        /// The disclosure.
        disclosure: u64,
        /// `accepted`, `downgraded` or `disputed`.
        status: DisclosureStatus,
        /// Paid to the researcher from the escrow.
        paid: Amount,
        /// What the table gave but the escrow could not pay.
        shortfall: Amount,
        /// Last height to escalate (downgrades and disputes).
        window_ends: Option<u64>,
    },
    /// An escalated disclosure was decided by governance.
    DisclosureDecided {
        /// The disclosure.
        disclosure: u64,
        /// The proposal.
        proposal: u64,
        /// `upheld` or `overruled`.
        status: DisclosureStatus,
        /// Paid to the researcher by this decision.
        paid: Amount,
        /// What the table gave but the escrow could not pay.
        shortfall: Amount,
    },
    /// A disputed disclosure was not escalated in time; its bond went to the treasury.
    DisclosureLapsed {
        /// The disclosure.
        disclosure: u64,
        /// The bond forfeited.
        forfeited: Amount,
    },
    /// A disclosure was published after its deadline passed unanswered.
    DisclosureRevealed {
        /// The disclosure.
        disclosure: u64,
    },
    /// A whitehat claimed a recovery bounty.
    RecoveryClaimed {
        /// The claim.
        claim: u64,
        /// The protocol.
        protocol: ProtocolId,
        /// The claimant.
        claimant: AccountId,
        /// The bounty the terms give (capped per whitehat).
        bounty: Amount,
    },
    /// A recovery claim was settled: confirmed by the protocol, or decided by governance.
    RecoverySettled {
        /// The claim.
        claim: u64,
        /// `confirmed`, `disputed`, `upheld` or `overruled`.
        status: RecoveryStatus,
        /// Paid from the escrow.
        paid: Amount,
        /// What the bounty gave but the escrow or aggregate cap did not pay.
        shortfall: Amount,
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
