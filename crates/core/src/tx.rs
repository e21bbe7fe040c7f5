//! The ledger's transaction envelope.
//!
//! A [`Tx`] names its network, its signer and the signer's next nonce, so it can be executed
//! once, on one network, by one account's authority. [`TxBody`] is the closed list of things a
//! transaction can do; new kinds are appended at the end so old encodings keep their meaning.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::ChainId;
use crate::alert::Alert;
use crate::amount::Amount;
use crate::consensus::Equivocation;
use crate::encoding::{ContentId, encode, signing_message};
use crate::identity::{AccountId, Keypair, Signature, SignatureError, Verifiable};
use crate::protocol::{ProposalAction, ProtocolId, ProtocolSpec, VoteChoice};
use crate::report::{Report, ReportId, Severity, Stance};
use crate::signed::Signed;

/// The domain tag of transaction signatures.
pub const TX_DOMAIN: &str = "vigil/tx/v1";

/// Largest encoded signed transaction accepted (512 KiB).
pub const MAX_TX_BYTES: usize = 512 * 1024;

/// The id of a transaction: the content id of its unsigned [`Tx`].
pub type TxId = ContentId;

/// What a transaction does.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum TxBody {
    /// Move liquid balance to another account.
    Transfer {
        /// Recipient.
        to: AccountId,
        /// How much.
        amount: Amount,
    },
    /// Lock liquid balance as stake (gives attestation and voting weight; slashable).
    Bond {
        /// How much.
        amount: Amount,
    },
    /// Start releasing bonded stake; it stays slashable until the unbonding delay passes.
    Unbond {
        /// How much.
        amount: Amount,
    },
    /// Submit a threat report with a bond that is lost if the report is rejected.
    SubmitReport {
        /// The claim.
        report: Report,
        /// The bond, at least the genesis minimum.
        bond: Amount,
    },
    /// Confirm or dispute a report, locking part of the attester's bonded stake behind it.
    Attest {
        /// The report.
        report: ReportId,
        /// Confirm or dispute.
        stance: Stance,
        /// Bonded stake locked until the verdict.
        stake: Amount,
    },
    /// Register a protocol with its guardians and breaker policy; the signer becomes its owner
    /// and deposits `bounty_deposit` into its bounty pool.
    RegisterProtocol {
        /// The registration.
        spec: ProtocolSpec,
        /// Deposit into the protocol's bounty pool (may be zero).
        bounty_deposit: Amount,
    },
    /// A guardian trips the protocol's breaker.
    TripBreaker {
        /// The protocol.
        protocol: ProtocolId,
        /// Why, for people.
        reason: String,
    },
    /// The fast path: an authorised monitor's signed alert trips the breaker; a report of the
    /// alert opens with the monitor as reporter, and if it is rejected the monitor is slashed.
    FastPathTrip {
        /// The protocol.
        protocol: ProtocolId,
        /// The monitor's signed alert.
        alert: Box<Signed<Alert>>,
    },
    /// A guardian approves re-arming a tripped breaker; M distinct approvals re-arm it.
    ApproveReset {
        /// The protocol.
        protocol: ProtocolId,
    },
    /// Put a proposal to a stake-weighted vote, with the proposal deposit.
    Propose {
        /// What it would do.
        action: ProposalAction,
        /// Why, for voters.
        description: String,
        /// Earliest height to execute at (it never executes before the timelock ends).
        not_before: Option<u64>,
    },
    /// Vote on an open proposal with all bonded stake.
    Vote {
        /// The proposal.
        proposal: u64,
        /// The choice.
        choice: VoteChoice,
    },
    /// Submit proof that a validator signed two conflicting consensus messages; the ledger
    /// slashes its stake and removes it from the validator set from the next epoch. Anyone may
    /// submit it; the submitter gets a share of the slash.
    SubmitEvidence {
        /// The two conflicting signed messages.
        evidence: Box<Equivocation>,
    },
    /// Open an open-ended payment stream to an auditor (or anyone): `rate` accrues to the
    /// recipient every block from the signer's `deposit`, claimable at any time.
    OpenStream {
        /// Who is paid.
        recipient: AccountId,
        /// Paid per block.
        rate: Amount,
        /// Moved from the signer's balance into the stream (may be zero; top up later).
        deposit: Amount,
    },
    /// The stream's sender adds to its deposit.
    StreamTopUp {
        /// The stream.
        stream: u64,
        /// How much.
        amount: Amount,
    },
    /// The sender stops accrual; what has accrued stays owed.
    StreamPause {
        /// The stream.
        stream: u64,
    },
    /// The sender resumes a paused stream, optionally at a new rate.
    StreamRestart {
        /// The stream.
        stream: u64,
        /// A new rate per block, or the old one.
        rate: Option<Amount>,
    },
    /// The sender ends the stream: accrual stops and the deposit beyond what is owed is
    /// refunded; the recipient can still claim what is owed.
    StreamClose {
        /// The stream.
        stream: u64,
    },
    /// The recipient withdraws what has accrued, up to the deposit.
    StreamClaim {
        /// The stream.
        stream: u64,
    },
    /// Sender or recipient forfeits the debt the deposit does not cover, and the stream pauses.
    StreamVoid {
        /// The stream.
        stream: u64,
    },
    /// Add to a protocol's bounty escrow (anyone may).
    FundBounty {
        /// The protocol.
        protocol: ProtocolId,
        /// How much.
        amount: Amount,
    },
    /// Disclose a vulnerability under embargo: only a commitment to the report reaches the
    /// ledger; the report itself, encrypted to the protocol's keys, is kept by the nodes.
    Disclose {
        /// The protocol.
        protocol: ProtocolId,
        /// [`crate::disclosure::commitment`] of the report and a salt.
        commitment: ContentId,
        /// Content id of the encrypted report (its bytes), so the protocol can fetch and check it.
        ciphertext: ContentId,
        /// The severity claimed.
        severity: Severity,
        /// Funds directly at risk, in VGL base units (what a critical finding's share is of).
        funds_at_risk: Amount,
        /// Held until the disclosure is answered; lost if a dispute stands.
        bond: Amount,
    },
    /// The protocol accepts a disclosure at the claimed severity: the tier is paid.
    DisclosureAccept {
        /// The disclosure.
        disclosure: u64,
    },
    /// The protocol accepts at a lower severity or smaller funds at risk, with a written reason;
    /// the lower tier is paid and the researcher may escalate within the challenge window.
    DisclosureDowngrade {
        /// The disclosure.
        disclosure: u64,
        /// The severity the protocol assesses.
        severity: Severity,
        /// The funds at risk the protocol assesses (default: as claimed).
        funds_at_risk: Option<Amount>,
        /// Why, for the record (required).
        reason: String,
    },
    /// The protocol disputes a disclosure (not a vulnerability, out of scope, a duplicate),
    /// with a written reason; the researcher may escalate within the challenge window.
    DisclosureDispute {
        /// The disclosure.
        disclosure: u64,
        /// Why, for the record (required).
        reason: String,
    },
    /// The researcher publishes an unanswered disclosure after its deadline; the ledger checks
    /// it against the commitment.
    DisclosureReveal {
        /// The disclosure.
        disclosure: u64,
        /// The report, exactly as committed.
        report: String,
        /// The commitment's salt.
        #[serde(with = "crate::disclosure::hex32")]
        salt: [u8; 32],
    },
    /// A whitehat (or the monitor whose trip saved funds) claims a Safe Harbor bounty for funds
    /// it recovered and returned.
    RecoveryClaim {
        /// The protocol.
        protocol: ProtocolId,
        /// Value recovered, in VGL base units.
        recovered: Amount,
        /// Part of the bounty already kept out of the rescued funds (only if the terms allow).
        retained: Amount,
        /// The on-chain transactions of the rescue and the return.
        evidence: Vec<crate::evm::B256>,
        /// A note for people.
        note: String,
    },
    /// The protocol confirms a recovery claim: the bounty (less what was retained) is paid from
    /// its escrow.
    RecoveryConfirm {
        /// The claim.
        claim: u64,
    },
    /// The protocol disputes a recovery claim, with a written reason; the claimant may escalate
    /// to governance within the challenge window.
    RecoveryDispute {
        /// The claim.
        claim: u64,
        /// Why (required).
        reason: String,
    },
}

impl TxBody {
    /// A short name of the kind, for logs, metrics and events.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Transfer { .. } => "transfer",
            Self::Bond { .. } => "bond",
            Self::Unbond { .. } => "unbond",
            Self::SubmitReport { .. } => "submit_report",
            Self::Attest { .. } => "attest",
            Self::RegisterProtocol { .. } => "register_protocol",
            Self::TripBreaker { .. } => "trip_breaker",
            Self::FastPathTrip { .. } => "fast_path_trip",
            Self::ApproveReset { .. } => "approve_reset",
            Self::Propose { .. } => "propose",
            Self::Vote { .. } => "vote",
            Self::SubmitEvidence { .. } => "submit_evidence",
            Self::OpenStream { .. } => "open_stream",
            Self::StreamTopUp { .. } => "stream_top_up",
            Self::StreamPause { .. } => "stream_pause",
            Self::StreamRestart { .. } => "stream_restart",
            Self::StreamClose { .. } => "stream_close",
            Self::StreamClaim { .. } => "stream_claim",
            Self::StreamVoid { .. } => "stream_void",
            Self::FundBounty { .. } => "fund_bounty",
            Self::Disclose { .. } => "disclose",
            Self::DisclosureAccept { .. } => "disclosure_accept",
            Self::DisclosureDowngrade { .. } => "disclosure_downgrade",
            Self::DisclosureDispute { .. } => "disclosure_dispute",
            Self::DisclosureReveal { .. } => "disclosure_reveal",
            Self::RecoveryClaim { .. } => "recovery_claim",
            Self::RecoveryConfirm { .. } => "recovery_confirm",
            Self::RecoveryDispute { .. } => "recovery_dispute",
        }
    }
}

/// An unsigned transaction.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Tx {
    /// The network it is for.
    pub chain_id: ChainId,
    /// The account that authorises it.
    pub signer: AccountId,
    /// The signer's next nonce (its count of earlier committed transactions).
    pub nonce: u64,
    /// What it does.
    pub body: TxBody,
}

impl Tx {
    /// This transaction's id.
    pub fn id(&self) -> TxId {
        ContentId::of(self)
    }

    /// Signs the transaction. The key must be the signer's.
    pub fn sign(self, key: &Keypair) -> SignedTx {
        debug_assert_eq!(key.account_id(), self.signer, "signing with another account's key");
        let message = signing_message(TX_DOMAIN, &self.chain_id, &encode(&self));
        SignedTx { signature: key.sign_raw(&message), tx: self }
    }
}

/// A transaction with its signer's signature over `vigil/tx/v1 ‖ chain id ‖ borsh(tx)`.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTx {
    /// The transaction.
    pub tx: Tx,
    /// The signer's signature.
    pub signature: Signature,
}

impl SignedTx {
    /// The transaction's id.
    pub fn id(&self) -> TxId {
        self.tx.id()
    }

    /// Verifies the signature against the signer in the transaction.
    pub fn verify(&self) -> Result<(), SignatureError> {
        self.verify_signature()
    }
}

impl Verifiable for SignedTx {
    fn signed_message(&self) -> Vec<u8> {
        signing_message(TX_DOMAIN, &self.tx.chain_id, &encode(&self.tx))
    }

    fn signer(&self) -> AccountId {
        self.tx.signer
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }
}
