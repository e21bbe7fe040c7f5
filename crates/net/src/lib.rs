//! `vigil-net`: how Vigil nodes reach each other.
//!
//! It owns the libp2p gossip of signed alerts and intel (validated before forwarding, deduped by
//! content id) and the consensus drivers that order transactions into blocks: solo for one node,
//! Malachite BFT for many.
//!
//! The seam between consensus and the rest of the node is [`ConsensusApp`]: a driver asks the
//! app for transactions, checks proposals with it, and hands it decided blocks with their commit
//! certificate. The app (the node, over the ledger, mempool and its database) owns persistence:
//! a block given to [`ConsensusApp::commit_block`] must be durable before the call returns, and
//! a restarted node resumes from [`ConsensusApp::last_commit`].
//!
//! Invariants: a driver commits heights in order, exactly once each, and only blocks whose
//! parent is the last committed block; every commit carries a certificate that
//! [`CommitCertificate::verify`] accepts for the validator set of that height.

mod app;
#[cfg(feature = "bft")]
pub mod bft;
mod certificate;
mod driver;
pub mod gossip;
pub mod memory;
mod solo;

pub use app::{AppError, CommitInfo, ConsensusApp};
pub use certificate::{
    COMMIT_DOMAIN, CertificateError, CommitCertificate, SOLO_COMMIT_DOMAIN, ValidatorSignature,
};
pub use driver::{Clock, ConsensusDriver, ConsensusObserver, DriverError, NoObserver, SystemClock};
pub use solo::{SoloConfig, SoloDriver};
