//! The seam between a consensus driver and the node's state machine.

use vigil_core::{AccountId, Block, BlockHash, Equivocation, SignedTx};

/// What the app says about its last committed block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    /// Height of the last committed block (0 before any block).
    pub height: u64,
    /// App hash after that block (the genesis app hash before any block).
    pub app_hash: [u8; 32],
    /// Hash of that block (zero before any block).
    pub block_hash: BlockHash,
}

/// Why the app could not commit a decided block. A driver stops on this error: a validator that
/// cannot apply a block the network decided must not go on voting.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The block is not the next one (wrong height or parent).
    #[error("block at height {got} does not follow the last committed height {last}")]
    OutOfOrder {
        /// Height given.
        got: u64,
        /// Last committed height.
        last: u64,
    },
    /// Executing the block failed in a way the state machine cannot absorb.
    #[error("executing block {height} failed: {reason}")]
    Execution {
        /// Height of the block.
        height: u64,
        /// What went wrong.
        reason: String,
    },
    /// The block could not be made durable (database error).
    #[error("storing block {height} failed: {reason}")]
    Storage {
        /// Height of the block.
        height: u64,
        /// What went wrong.
        reason: String,
    },
}

/// The node's state machine as a consensus driver sees it. The node implements it over the
/// ledger, the mempool and its database; tests use [`crate::memory::MemoryApp`].
///
/// Methods are synchronous; drivers call the slow ones (`prepare_proposal`, `commit_block`) on a
/// blocking thread, which is why the app is `Send + 'static`.
///
/// Persistence contract: `commit_block` returns only once the block, its certificate and the
/// resulting state are durable (one atomic write), so after a crash `last_commit` names the last
/// block that was acknowledged and `decided_block` can serve every height from the oldest kept
/// one up to it. Drivers call `commit_block` with heights `last_commit().height + 1` in order.
pub trait ConsensusApp: Send + 'static {
    /// Height and app hash after the last committed block (0 and the genesis app hash before any).
    fn last_commit(&self) -> CommitInfo;

    /// Transactions for the block at `height`, reaped from the mempool, at most `max_bytes`
    /// encoded in total. Called by the proposer only; the transactions stay in the mempool until
    /// a block containing them is committed.
    fn prepare_proposal(&mut self, height: u64, max_bytes: usize) -> Vec<SignedTx>;

    /// Whether a proposed block may be voted for: shape, size, stateless transaction checks
    /// (signatures, chain id) and that its parent is the last committed block. Must be
    /// deterministic given the same committed state, or honest validators disagree.
    fn process_proposal(&self, block: &Block) -> bool;

    /// Executes and durably commits a decided block with its commit certificate (the encoded
    /// [`crate::CommitCertificate`]); returns the new app hash. Removes the block's
    /// transactions from the mempool.
    fn commit_block(&mut self, block: &Block, certificate: &[u8]) -> Result<[u8; 32], AppError>;

    /// A committed block and its certificate, for peers catching up; `None` when the app never
    /// had it or has pruned it.
    fn decided_block(&self, height: u64) -> Option<(Block, Vec<u8>)>;

    /// The lowest height [`Self::decided_block`] can serve (0 when there is none). The default
    /// says every block since height 1 is kept; an app that prunes old blocks overrides it.
    fn earliest_decided_height(&self) -> u64 {
        u64::from(self.last_commit().height > 0)
    }

    /// The validator set (account, voting power = bonded stake) that decides `height`, sorted
    /// by account, without zero-power entries. It may change only at epoch boundaries: the set
    /// for a height in epoch `e` is the bonded stake as of the last block of epoch `e - 1`
    /// (see the crate's README section), so every validator knows it before the epoch starts.
    fn validator_set(&self, height: u64) -> Vec<(AccountId, u64)>;

    /// The driver holds proof that a validator signed two conflicting consensus messages
    /// (checked against the chain id before this is called). The node submits it to the ledger
    /// as a transaction, which slashes the validator; the default ignores it.
    fn equivocation(&mut self, evidence: Equivocation) {
        let _ = evidence;
    }
}
