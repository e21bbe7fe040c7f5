//! Blocks: the unit consensus orders and the ledger executes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encoding::ContentId;
use crate::identity::AccountId;
use crate::tx::SignedTx;

/// The hash of a block: the content id of the whole [`Block`].
pub type BlockHash = ContentId;

/// A block of transactions at a height. `time` is chosen by the proposer (Unix seconds) and is
/// informational: the ledger measures every window in heights, never in time.
#[derive(Clone, PartialEq, Eq, Debug, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    /// Height, starting at 1 for the first block after genesis.
    pub height: u64,
    /// Proposer's wall-clock time in Unix seconds.
    pub time: u64,
    /// The validator that proposed it.
    pub proposer: AccountId,
    /// The hash of the block at `height - 1` (zero for the first block).
    pub parent: BlockHash,
    /// The transactions, in execution order.
    pub txs: Vec<SignedTx>,
}

impl Block {
    /// This block's hash.
    pub fn hash(&self) -> BlockHash {
        ContentId::of(self)
    }
}
