//! The storage seam. The ledger keeps its typed state in memory and hands the store one
//! [`CommitBatch`] per block, to be written atomically; the store also serves the Merkle tree's
//! nodes ([`TreeReader`]). [`MemoryStore`] is the in-memory implementation used by tests; the
//! node provides the on-disk one (redb).

use std::collections::BTreeMap;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use vigil_core::{Block, BlockHash};

use crate::error::StoreError;
use crate::events::{Event, TxResult};

/// The root of the state's Merkle tree after a block: what validators agree on.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
)]
pub struct AppHash(pub [u8; 32]);

impl std::fmt::Display for AppHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for AppHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The last committed height, its app hash and its block hash.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    borsh::BorshSerialize,
    borsh::BorshDeserialize,
    serde::Serialize,
)]
pub struct CommitInfo {
    /// Height (0 = genesis).
    pub height: u64,
    /// State root after that height.
    pub app_hash: AppHash,
    /// Hash of the block at that height (zero for genesis).
    pub block_hash: BlockHash,
}

/// One state entry change: the key's bytes, the Merkle key hash, and the new value (`None` =
/// deleted).
#[derive(Clone, Debug)]
pub struct StateWrite {
    /// The borsh bytes of the [`crate::StateKey`].
    pub key: Vec<u8>,
    /// The Merkle tree key (SHA-256 of `key`).
    pub key_hash: KeyHash,
    /// The borsh bytes of the entity, or `None` when removed.
    pub value: Option<Vec<u8>>,
}

/// Everything one block changes, to be written in one atomic transaction.
#[derive(Clone, Debug)]
pub struct CommitBatch {
    /// The new last commit.
    pub info: CommitInfo,
    /// The block (`None` for genesis).
    pub block: Option<Block>,
    /// Per-transaction results, in block order.
    pub tx_results: Vec<TxResult>,
    /// The block's events.
    pub events: Vec<Event>,
    /// Changed state entries.
    pub state: Vec<StateWrite>,
    /// New Merkle tree nodes.
    pub new_nodes: Vec<(NodeKey, Node)>,
    /// Tree nodes no longer reachable from the new root (the store may delete them).
    pub stale_nodes: Vec<NodeKey>,
}

/// A callback that receives one state entry (key bytes, value bytes).
pub type EntryVisitor<'a> = dyn FnMut(&[u8], &[u8]) -> Result<(), StoreError> + 'a;

/// Where the ledger's committed state lives.
pub trait Store: TreeReader {
    /// The last commit, or `None` for an empty store.
    fn last_commit(&self) -> Result<Option<CommitInfo>, StoreError>;
    /// Calls `f` with every state entry of the last commit.
    fn for_each_state_entry(&self, f: &mut EntryVisitor<'_>) -> Result<(), StoreError>;
    /// Writes a block's changes atomically: after a crash either all of it or none is there.
    fn commit(&mut self, batch: CommitBatch) -> Result<(), StoreError>;
}

/// A store in memory: for tests, benchmarks and tools.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    last: Option<CommitInfo>,
    state: BTreeMap<Vec<u8>, Vec<u8>>,
    values: BTreeMap<KeyHash, (Version, OwnedValue)>,
    nodes: BTreeMap<NodeKey, Node>,
    /// Committed blocks with their results, by height.
    pub blocks: BTreeMap<u64, (Block, Vec<TxResult>)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of Merkle tree nodes held (stale ones are dropped at each commit).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

impl TreeReader for MemoryStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.values.get(&key_hash).filter(|(v, _)| *v <= max_version).map(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used when restoring a tree from chunks, which Vigil does not do.
        anyhow::bail!("restoring a tree from chunks is not supported")
    }
}

impl Store for MemoryStore {
    fn last_commit(&self) -> Result<Option<CommitInfo>, StoreError> {
        Ok(self.last)
    }

    fn for_each_state_entry(&self, f: &mut EntryVisitor<'_>) -> Result<(), StoreError> {
        for (k, v) in &self.state {
            f(k, v)?;
        }
        Ok(())
    }

    fn commit(&mut self, batch: CommitBatch) -> Result<(), StoreError> {
        let version = batch.info.height;
        for w in batch.state {
            match w.value {
                Some(v) => {
                    self.values.insert(w.key_hash, (version, v.clone()));
                    self.state.insert(w.key, v);
                }
                None => {
                    self.values.remove(&w.key_hash);
                    self.state.remove(&w.key);
                }
            }
        }
        for key in batch.stale_nodes {
            self.nodes.remove(&key);
        }
        self.nodes.extend(batch.new_nodes);
        if let Some(block) = batch.block {
            self.blocks.insert(block.height, (block, batch.tx_results));
        }
        self.last = Some(batch.info);
        Ok(())
    }
}
