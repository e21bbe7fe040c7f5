//! Why a transaction is refused, and why the ledger itself failed.

use vigil_core::{
    AccountId, Amount, ChainId, ProtocolId, ReportId, ReportShapeError, SignatureError,
};

use crate::governance_state::ReportStatus;

/// Why a transaction was refused. Each variant says exactly what was wrong; the HTTP API shows
/// its text to the sender.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    thiserror::Error,
    serde::Serialize,
    serde::Deserialize,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TxError {
    /// Signed for another network.
    #[error("transaction is for chain {got}, this is {expected}")]
    WrongChain {
        /// This network's id.
        expected: ChainId,
        /// The transaction's.
        got: ChainId,
    },
    /// The signature does not verify.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// The verifier's reason.
        reason: String,
    },
    /// Encoded size above the limit.
    #[error("transaction is {size} bytes; at most {max} are accepted")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Nonce already used: a replay or a duplicate.
    #[error(
        "nonce {got} was already used by {account} (next is {expected}): replayed or duplicate transaction"
    )]
    NonceUsed {
        /// The signer.
        account: AccountId,
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// Nonce ahead of the account's next one.
    #[error("nonce {got} is ahead of {account}'s next nonce {expected}")]
    NonceAhead {
        /// The signer.
        account: AccountId,
        /// The account's next nonce.
        expected: u64,
        /// The transaction's.
        got: u64,
    },
    /// A zero amount where a positive one is needed.
    #[error("amount must be more than zero")]
    ZeroAmount,
    /// Not enough liquid balance.
    #[error("insufficient balance: need {needed}, have {available}")]
    InsufficientBalance {
        /// Needed.
        needed: Amount,
        /// Available.
        available: Amount,
    },
    /// Not enough free bonded stake (bonded minus locked in attestations).
    #[error("insufficient free bonded stake: need {needed}, have {available}")]
    InsufficientStake {
        /// Needed.
        needed: Amount,
        /// Available.
        available: Amount,
    },
    /// Report bond below the minimum.
    #[error("report bond {got} is below the minimum {min}")]
    BondTooSmall {
        /// The minimum.
        min: Amount,
        /// Given.
        got: Amount,
    },
    /// Attestation stake below the minimum.
    #[error("attestation stake {got} is below the minimum {min}")]
    StakeTooSmall {
        /// The minimum.
        min: Amount,
        /// Given.
        got: Amount,
    },
    /// Malformed report.
    #[error("invalid report: {reason}")]
    ReportShape {
        /// The problem.
        reason: String,
    },
    /// The same report was already submitted.
    #[error("report {report} already exists")]
    ReportExists {
        /// The report.
        report: ReportId,
    },
    /// No such report.
    #[error("unknown report {report}")]
    UnknownReport {
        /// The report.
        report: ReportId,
    },
    /// The report no longer takes attestations.
    #[error("report {report} is {status} and no longer takes attestations")]
    ReportClosed {
        /// The report.
        report: ReportId,
        /// Its status.
        status: ReportStatus,
    },
    /// A reporter attesting its own report.
    #[error("a reporter cannot attest its own report")]
    SelfAttestation,
    /// A second attestation by the same account.
    #[error("{account} has already attested report {report}")]
    AlreadyAttested {
        /// The report.
        report: ReportId,
        /// The attester.
        account: AccountId,
    },
    /// A transfer to oneself.
    #[error("cannot transfer to the sending account")]
    SelfTransfer,
    /// An amount that would overflow a balance.
    #[error("amount overflows a balance")]
    Overflow,
    /// Malformed protocol registration.
    #[error("invalid protocol: {reason}")]
    ProtocolShape {
        /// The problem.
        reason: String,
    },
    /// The protocol id is taken.
    #[error("protocol {protocol} is already registered")]
    ProtocolExists {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// No such protocol.
    #[error("unknown protocol {protocol}")]
    UnknownProtocol {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// The signer is not one of the protocol's guardians.
    #[error("{account} is not a guardian of {protocol}")]
    NotGuardian {
        /// The protocol.
        protocol: ProtocolId,
        /// The signer.
        account: AccountId,
    },
    /// Tripping a breaker that is already tripped.
    #[error("the breaker of {protocol} is already tripped")]
    AlreadyTripped {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// No stream with this id.
    #[error("no payment stream {stream}")]
    UnknownStream {
        /// The stream.
        stream: u64,
    },
    /// Someone other than the stream's sender (or, to claim or void, its recipient).
    #[error("{account} may not do that to stream {stream}: it is {role}'s to do")]
    NotStreamParty {
        /// The stream.
        stream: u64,
        /// Who tried.
        account: AccountId,
        /// Who may: `the sender`, `the recipient`, `the sender or the recipient`.
        role: String,
    },
    /// The stream is not in a state that allows it.
    #[error("stream {stream} is {status}: {reason}")]
    StreamState {
        /// The stream.
        stream: u64,
        /// Its status.
        status: String,
        /// Why that refuses the transaction.
        reason: String,
    },
    /// Nothing to withdraw or forfeit.
    #[error("stream {stream} has nothing to {what}")]
    StreamEmpty {
        /// The stream.
        stream: u64,
        /// `claim` or `void`.
        what: String,
    },
    /// No disclosure with this id.
    #[error("no disclosure {disclosure}")]
    UnknownDisclosure {
        /// The disclosure.
        disclosure: u64,
    },
    /// No recovery claim with this id.
    #[error("no recovery claim {claim}")]
    UnknownRecovery {
        /// The claim.
        claim: u64,
    },
    /// The protocol runs no bug bounty program, or offers no Safe Harbor terms.
    #[error("{protocol} has no {what} in its registration")]
    NoProgram {
        /// The protocol.
        protocol: ProtocolId,
        /// `bug bounty program` or `Safe Harbor terms`.
        what: String,
    },
    /// Someone without the right to do it.
    #[error("{account} may not {what}: only {role} may")]
    NotEntitled {
        /// Who tried.
        account: AccountId,
        /// What.
        what: String,
        /// Who may.
        role: String,
    },
    /// The disclosure is not in a state that allows it.
    #[error("disclosure {disclosure} is {status}: {reason}")]
    DisclosureState {
        /// The disclosure.
        disclosure: u64,
        /// Its status.
        status: String,
        /// Why that refuses the transaction.
        reason: String,
    },
    /// The recovery claim is not in a state that allows it.
    #[error("recovery claim {claim} is {status}: {reason}")]
    RecoveryState {
        /// The claim.
        claim: u64,
        /// Its status.
        status: String,
        /// Why that refuses the transaction.
        reason: String,
    },
    /// A disclosure with the same commitment exists: the earlier one has priority.
    #[error("this commitment was disclosed first as disclosure {disclosure}")]
    CommitmentTaken {
        /// The earlier disclosure.
        disclosure: u64,
    },
    /// The revealed report and salt do not open the commitment.
    #[error("the report and salt do not match the commitment of disclosure {disclosure}")]
    CommitmentMismatch {
        /// The disclosure.
        disclosure: u64,
    },
    /// A malformed disclosure, answer or recovery claim.
    #[error("{reason}")]
    DisclosureShape {
        /// What is wrong.
        reason: String,
    },
    /// An on-chain transaction already cited by another recovery claim.
    #[error("transaction {tx} is already the evidence of recovery claim {claim}")]
    EvidenceClaimed {
        /// The transaction.
        tx: vigil_core::B256,
        /// The earlier claim.
        claim: u64,
    },
    /// A whitehat kept more than the terms allow.
    #[error("{retained} was retained, but the terms allow {allowed}")]
    RetainedTooMuch {
        /// Kept.
        retained: Amount,
        /// Allowed (zero when everything must be returned first).
        allowed: Amount,
    },
    /// Approving the reset of a breaker that is armed.
    #[error("the breaker of {protocol} is armed; there is nothing to reset")]
    NotTripped {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// A guardian approving the same reset twice.
    #[error("{account} already approved resetting {protocol}")]
    AlreadyApproved {
        /// The protocol.
        protocol: ProtocolId,
        /// The guardian.
        account: AccountId,
    },
    /// The alert's signer is not an authorised monitor of the protocol.
    #[error("{monitor} is not an authorised monitor of {protocol}")]
    NotMonitor {
        /// The protocol.
        protocol: ProtocolId,
        /// The alert's signer.
        monitor: AccountId,
    },
    /// The fast-path transaction must be sent by the monitor that signed the alert.
    #[error("a fast-path trip must be sent by the monitor that signed the alert")]
    AlertSenderMismatch,
    /// The alert does not meet the protocol's policy.
    #[error("alert does not meet the policy of {protocol}: {why}")]
    AlertBelowPolicy {
        /// The protocol.
        protocol: ProtocolId,
        /// What falls short.
        why: String,
    },
    /// A monitor with nothing bonded cannot be held to account.
    #[error("monitor {monitor} has no bonded stake to answer for a false trip")]
    MonitorWithoutStake {
        /// The monitor.
        monitor: AccountId,
    },
    /// No such proposal.
    #[error("unknown proposal {proposal}")]
    UnknownProposal {
        /// The proposal.
        proposal: u64,
    },
    /// The proposal no longer takes votes.
    #[error("proposal {proposal} is {status} and no longer takes votes")]
    VotingClosed {
        /// The proposal.
        proposal: u64,
        /// Its status.
        status: String,
    },
    /// A second vote by the same account.
    #[error("{account} has already voted on proposal {proposal}")]
    AlreadyVoted {
        /// The proposal.
        proposal: u64,
        /// The voter.
        account: AccountId,
    },
    /// Voting without bonded stake.
    #[error("{account} has no bonded stake to vote with")]
    NoVotingPower {
        /// The account.
        account: AccountId,
    },
    /// A malformed proposal.
    #[error("invalid proposal: {reason}")]
    ProposalShape {
        /// The problem.
        reason: String,
    },
    /// The signer cannot pay the transaction fee on top of what the transaction spends.
    #[error(
        "cannot pay the transaction fee of {fee}: {available} of liquid balance is left after the transaction"
    )]
    FeeUnpaid {
        /// The fee.
        fee: Amount,
        /// Balance left to pay it from.
        available: Amount,
    },
    /// Equivocation evidence that does not prove anything.
    #[error("invalid evidence: {reason}")]
    BadEvidence {
        /// The problem.
        reason: String,
    },
    /// Evidence against an account that is not (or no longer) a validator candidate.
    #[error(
        "{account} is not a validator candidate (it never was one, or it was already removed for equivocation)"
    )]
    NotAValidator {
        /// The account.
        account: AccountId,
    },
    /// Evidence older than the evidence window.
    #[error(
        "evidence from height {height} is too old; the oldest height still acted on is {oldest}"
    )]
    EvidenceTooOld {
        /// The height of the equivocation.
        height: u64,
        /// The oldest height evidence may be about.
        oldest: u64,
    },
    /// A validator submitting evidence against itself (it would collect the reward).
    #[error("a validator cannot submit evidence against itself")]
    SelfEvidence,
    /// A proposal to resolve a report that governance cannot decide: it is still open or
    /// already final.
    #[error(
        "report {report} is {status}, not escalated: governance decides only escalated reports (an open report gets its verdict when its challenge window closes; a confirmed or rejected one is final)"
    )]
    ReportNotEscalated {
        /// The report.
        report: ReportId,
        /// Its status.
        status: ReportStatus,
    },
    /// A parameter change that proposes the parameters already in force.
    #[error("the proposed parameters are the ones in force: the proposal would change nothing")]
    ParamsUnchanged,
}

impl From<ReportShapeError> for TxError {
    fn from(e: ReportShapeError) -> Self {
        TxError::ReportShape { reason: e.to_string() }
    }
}

impl From<SignatureError> for TxError {
    fn from(e: SignatureError) -> Self {
        TxError::BadSignature { reason: e.to_string() }
    }
}

/// A failure of the ledger itself (not of one transaction): storage, a block out of order, or a
/// broken invariant. The node must stop rather than continue from an unknown state.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store failed.
    #[error("storage: {0}")]
    Store(String),
    /// A block whose height is not the next one.
    #[error("block height {got} is not the next height {expected}")]
    WrongHeight {
        /// The next height.
        expected: u64,
        /// The block's.
        got: u64,
    },
    /// A block whose parent is not the last committed block.
    #[error("block parent {got} is not the last committed block {expected}")]
    WrongParent {
        /// The last committed block's hash.
        expected: String,
        /// The block's parent.
        got: String,
    },
    /// finalize_block and commit called out of order.
    #[error("{0}")]
    OutOfOrder(&'static str),
    /// The data directory belongs to another network.
    #[error("stored state is for chain {stored}, genesis says {genesis}")]
    ChainMismatch {
        /// Chain of the stored state.
        stored: String,
        /// Chain of the genesis given.
        genesis: String,
    },
    /// The genesis is invalid.
    #[error(transparent)]
    Genesis(#[from] crate::params::GenesisError),
    /// Stored data that does not decode, or a broken invariant.
    #[error("corrupt state: {0}")]
    Corrupt(String),
    /// Arithmetic overflow where conservation of supply says it cannot happen.
    #[error("arithmetic overflow in {0}: supply invariant broken")]
    Overflow(&'static str),
}

/// A store's own error, carried as text across the trait boundary.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl From<StoreError> for LedgerError {
    fn from(e: StoreError) -> Self {
        LedgerError::Store(e.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refusals are shown as JSON (`/v1/tx/{id}`, `/v1/blocks/{h}`, API errors) in the form
    /// `{"code": …, fields…}`: serde cannot write a one-value tuple variant that way, so every
    /// variant carries named fields. These were tuple variants once.
    #[test]
    fn every_refusal_serialises_with_its_code() {
        let report = vigil_core::ContentId::of(&"r");
        let protocol: ProtocolId = "aave-v3".parse().unwrap();
        let account = vigil_core::Keypair::from_seed(&[7; 32]).account_id();
        let cases = [
            TxError::ReportShape { reason: "x".into() },
            TxError::ReportExists { report },
            TxError::UnknownReport { report },
            TxError::ProtocolShape { reason: "x".into() },
            TxError::ProtocolExists { protocol: protocol.clone() },
            TxError::UnknownProtocol { protocol: protocol.clone() },
            TxError::AlreadyTripped { protocol: protocol.clone() },
            TxError::NotTripped { protocol },
            TxError::MonitorWithoutStake { monitor: account },
            TxError::NoVotingPower { account },
            TxError::ProposalShape { reason: "x".into() },
            TxError::UnknownProposal { proposal: 3 },
            TxError::BadEvidence { reason: "x".into() },
            TxError::NotAValidator { account },
            TxError::SelfAttestation,
            TxError::UnknownStream { stream: 1 },
            TxError::NotStreamParty { stream: 1, account, role: "the sender".into() },
            TxError::StreamState { stream: 1, status: "closed".into(), reason: "x".into() },
            TxError::StreamEmpty { stream: 1, what: "claim".into() },
            TxError::UnknownDisclosure { disclosure: 1 },
            TxError::NotEntitled { account, what: "x".into(), role: "y".into() },
            TxError::CommitmentMismatch { disclosure: 1 },
            TxError::EvidenceClaimed { tx: vigil_core::B256([1; 32]), claim: 2 },
            TxError::RetainedTooMuch { retained: Amount(2), allowed: Amount(1) },
        ];
        for e in cases {
            let v = serde_json::to_value(&e);
            assert!(v.is_ok(), "{e:?}: {v:?}");
            let v = v.unwrap();
            assert!(v["code"].is_string(), "{v}");
            assert_eq!(serde_json::from_value::<TxError>(v).unwrap(), e);
        }
    }
}
