//! `vigil-core`: the vocabulary every Vigil crate shares.
//!
//! - EVM values: [`EvmAddress`] (EIP-55), [`B256`], [`Selector`], and [`Domain`] names.
//! - [`Indicator`]s of compromise and their text forms.
//! - Ed25519 identities ([`AccountId`], [`Keypair`]), single and batch verification.
//! - Canonical borsh encoding, BLAKE3 [`ContentId`]s, and signatures over
//!   `domain tag ‖ chain id ‖ bytes` ([`Signed`], [`SignedTx`]).
//! - The ledger's transaction envelope ([`Tx`], [`TxBody`]) and the payloads it carries
//!   ([`Report`]), and detector [`Alert`]s.
//!
//! Invariants: every type that is signed or hashed has exactly one canonical encoding; every
//! parser of outside text returns an error that names what was wrong and never panics. This
//! crate does no I/O apart from asking the OS for randomness when generating a key.

mod alert;
mod amount;
mod block;
mod chain_id;
pub mod consensus;
pub mod detection;
pub mod disclosure;
mod domain;
pub mod encoding;
mod evm;
mod identity;
mod indicator;
mod protocol;
mod report;
mod signed;
mod tx;
mod url;

pub use alert::{Alert, AlertId, AlertKind, TxRef};
pub use amount::{Amount, AmountError, UNITS_PER_VGL};
pub use block::{Block, BlockHash};
pub use chain_id::{ChainId, ChainIdError, EvmChainId};
pub use consensus::{Equivocation, EquivocationError, SignedStatement};
pub use detection::{CallKind, Detection, DetectionId, Fingerprint};
pub use disclosure::{BountyProgram, DisclosureEnvelope, DisclosureKey, SafeHarbor};
pub use domain::{Domain, DomainError};
pub use encoding::{ContentId, ContentIdError, DecodeError};
pub use evm::{B256, EvmAddress, HexValueError, Selector, keccak256, strict_address};
pub use identity::{
    AccountId, IdError, Keypair, Signature, SignatureError, Verifiable, verify_batch,
};
pub use indicator::{Indicator, IndicatorError, IndicatorKind, other_chain_address};
pub use protocol::{
    BreakerPolicy, MAX_PROTOCOL_MEMBERS, OnChainAction, ProposalAction, ProtocolId,
    ProtocolIdError, ProtocolShapeError, ProtocolSpec, VoteChoice,
};
pub use report::{
    Category, Evidence, EvidenceError, MAX_AFFECTED, MAX_EVIDENCE, MAX_REFERENCE_LEN,
    MAX_REPORT_INDICATORS, MAX_SUMMARY_LEN, Report, ReportId, ReportShapeError, Severity, Stance,
    UnknownName,
};
pub use signed::{Signed, SignedPayload};
pub use tx::{MAX_TX_BYTES, SignedTx, TX_DOMAIN, Tx, TxBody, TxId};
pub use url::{WebUrl, WebUrlError};
