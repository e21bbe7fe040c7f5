//! The simulation's ledger store: the ledger's in-memory store (state and Merkle tree, so the
//! app hash is computed as on a node), without the block history a long run does not need.

use vigil_ledger::tree::{KeyHash, LeafNode, Node, NodeKey, OwnedValue, TreeReader, Version};
use vigil_ledger::{CommitBatch, CommitInfo, EntryVisitor, MemoryStore, Store, StoreError};

/// `MemoryStore` that drops each committed block, its results and events.
#[derive(Default)]
pub struct SimStore(MemoryStore);

impl TreeReader for SimStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        self.0.get_node_option(node_key)
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.0.get_value_option(max_version, key_hash)
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.0.get_rightmost_leaf()
    }
}

impl Store for SimStore {
    fn last_commit(&self) -> Result<Option<CommitInfo>, StoreError> {
        self.0.last_commit()
    }

    fn for_each_state_entry(&self, f: &mut EntryVisitor<'_>) -> Result<(), StoreError> {
        self.0.for_each_state_entry(f)
    }

    fn commit(&mut self, mut batch: CommitBatch) -> Result<(), StoreError> {
        batch.block = None;
        batch.tx_results = Vec::new();
        batch.events = Vec::new();
        self.0.commit(batch)
    }
}
