//! The node's database: one redb file holding the ledger's state and Merkle tree, every
//! committed block with its certificate, results and events, a transaction index, and the
//! journal of accepted transactions not yet committed.
//!
//! Each block is written in one redb write transaction with immediate durability (fsync): after
//! a crash the file holds either the whole block or none of it, so a restarted node resumes at
//! its last committed height with the same app hash.

use std::path::Path;
use std::sync::{Arc, Mutex};

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use vigil_core::encoding::{decode, encode};
use vigil_core::{Block, SignedTx, TxId};
use vigil_ledger::tree::{KeyHash, LeafNode, Node, NodeKey, OwnedValue, TreeReader, Version};
use vigil_ledger::{CommitBatch, CommitInfo, EntryVisitor, Event, Store, StoreError, TxResult};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const STATE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("state");
const TREE_NODES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tree_nodes");
const TREE_VALUES: TableDefinition<&[u8; 32], (u64, &[u8])> = TableDefinition::new("tree_values");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const CERTIFICATES: TableDefinition<u64, &[u8]> = TableDefinition::new("certificates");
const RESULTS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_results");
const EVENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("block_events");
const TXS: TableDefinition<&[u8; 32], (u64, u32)> = TableDefinition::new("tx_index");
const COMMITS: TableDefinition<u64, &[u8]> = TableDefinition::new("commits");
/// Transactions accepted into the mempool and not yet committed (see [`crate::journal`]).
const MEMPOOL_JOURNAL: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("mempool_journal");
/// Encrypted disclosure reports by content id (the node cannot read them).
const CIPHERTEXTS: TableDefinition<&[u8; 32], &[u8]> =
    TableDefinition::new("disclosure_ciphertexts");

const LAST_COMMIT: &str = "last_commit";

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// Where a committed transaction is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxLocation {
    /// Block height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
}

/// A certificate waiting for its block's commit: (height, encoded certificate).
type StagedCertificate = (u64, Vec<u8>);

/// The redb-backed store. Cloning shares the same database.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    /// Certificate to write with the next commit (set by the consensus app just before it
    /// asks the ledger to commit, so block, certificate and state land in one transaction).
    staged_certificate: Arc<Mutex<Option<StagedCertificate>>>,
}

impl RedbStore {
    /// Opens (or creates) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db =
            Database::create(path).map_err(|e| StoreError(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(err)?;
        for t in [STATE, TREE_NODES] {
            txn.open_table(t).map_err(err)?;
        }
        txn.open_table(META).map_err(err)?;
        txn.open_table(TREE_VALUES).map_err(err)?;
        for t in [BLOCKS, CERTIFICATES, RESULTS, EVENTS, COMMITS] {
            txn.open_table(t).map_err(err)?;
        }
        txn.open_table(TXS).map_err(err)?;
        txn.open_table(MEMPOOL_JOURNAL).map_err(err)?;
        txn.open_table(CIPHERTEXTS).map_err(err)?;
        txn.commit().map_err(err)?;
        Ok(Self { db: Arc::new(db), staged_certificate: Arc::new(Mutex::new(None)) })
    }

    /// The shared database, for other components' own tables (e.g. TAXII collections).
    pub fn database(&self) -> Arc<Database> {
        Arc::clone(&self.db)
    }

    /// Stages the certificate of the block at `height`, written by the next commit.
    pub fn stage_certificate(&self, height: u64, certificate: Vec<u8>) {
        if let Ok(mut slot) = self.staged_certificate.lock() {
            *slot = Some((height, certificate));
        }
    }

    /// A committed block.
    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.get_decoded(BLOCKS, height)
    }

    /// A committed block's certificate.
    pub fn certificate(&self, height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(CERTIFICATES).map_err(err)?;
        Ok(table.get(height).map_err(err)?.map(|v| v.value().to_vec()))
    }

    /// The commit (app hash, block hash) of a height.
    pub fn commit_info(&self, height: u64) -> Result<Option<CommitInfo>, StoreError> {
        self.get_decoded(COMMITS, height)
    }

    /// A committed block's transaction results.
    pub fn results(&self, height: u64) -> Result<Option<Vec<TxResult>>, StoreError> {
        self.get_decoded(RESULTS, height)
    }

    /// A committed block's events.
    pub fn events(&self, height: u64) -> Result<Option<Vec<Event>>, StoreError> {
        self.get_decoded(EVENTS, height)
    }

    /// Where a committed transaction is.
    pub fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(TXS).map_err(err)?;
        Ok(table.get(id.as_bytes()).map_err(err)?.map(|v| {
            let (height, index) = v.value();
            TxLocation { height, index }
        }))
    }

    /// Writes accepted transactions to the mempool journal and removes others from it, in one
    /// durable (fsync) write transaction.
    pub fn journal_write(
        &self,
        append: &[(TxId, Vec<u8>)],
        remove: &[TxId],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut journal = txn.open_table(MEMPOOL_JOURNAL).map_err(err)?;
            for (id, bytes) in append {
                journal.insert(id.as_bytes(), bytes.as_slice()).map_err(err)?;
            }
            for id in remove {
                journal.remove(id.as_bytes()).map_err(err)?;
            }
        }
        txn.commit().map_err(err)
    }

    /// Keeps an encrypted disclosure report under its content id (durably).
    pub fn put_ciphertext(
        &self,
        id: &vigil_core::ContentId,
        bytes: &[u8],
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        txn.open_table(CIPHERTEXTS).map_err(err)?.insert(id.as_bytes(), bytes).map_err(err)?;
        txn.commit().map_err(err)
    }

    /// Forgets an encrypted report (its transaction was refused).
    pub fn remove_ciphertext(&self, id: &vigil_core::ContentId) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(err)?;
        txn.open_table(CIPHERTEXTS).map_err(err)?.remove(id.as_bytes()).map_err(err)?;
        txn.commit().map_err(err)
    }

    /// An encrypted disclosure report.
    pub fn ciphertext(&self, id: &vigil_core::ContentId) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(CIPHERTEXTS).map_err(err)?;
        Ok(table.get(id.as_bytes()).map_err(err)?.map(|v| v.value().to_vec()))
    }

    /// Every transaction in the mempool journal, with the ids of entries that do not decode.
    pub fn journal_entries(&self) -> Result<(Vec<SignedTx>, Vec<TxId>), StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(MEMPOOL_JOURNAL).map_err(err)?;
        let mut txs = Vec::new();
        let mut corrupt = Vec::new();
        for entry in table.iter().map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            match decode::<SignedTx>(v.value()) {
                Ok(tx) => txs.push(tx),
                Err(_) => corrupt.push(vigil_core::ContentId(*k.value())),
            }
        }
        Ok((txs, corrupt))
    }

    fn get_decoded<T: borsh::BorshDeserialize>(
        &self,
        table: TableDefinition<u64, &[u8]>,
        height: u64,
    ) -> Result<Option<T>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(table).map_err(err)?;
        match table.get(height).map_err(err)? {
            None => Ok(None),
            Some(v) => decode(v.value()).map(Some).map_err(err),
        }
    }
}

impl TreeReader for RedbStore {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TREE_NODES)?;
        match table.get(encode(node_key).as_slice())? {
            None => Ok(None),
            Some(v) => Ok(Some(decode(v.value())?)),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(TREE_VALUES)?;
        Ok(table.get(&key_hash.0)?.and_then(|v| {
            let (version, bytes) = v.value();
            (version <= max_version).then(|| bytes.to_vec())
        }))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        anyhow::bail!("restoring a tree from chunks is not supported")
    }
}

impl Store for RedbStore {
    fn last_commit(&self) -> Result<Option<CommitInfo>, StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(META).map_err(err)?;
        match table.get(LAST_COMMIT).map_err(err)? {
            None => Ok(None),
            Some(v) => decode(v.value()).map(Some).map_err(err),
        }
    }

    fn for_each_state_entry(&self, f: &mut EntryVisitor<'_>) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(err)?;
        let table = txn.open_table(STATE).map_err(err)?;
        for entry in table.iter().map_err(err)? {
            let (k, v) = entry.map_err(err)?;
            f(k.value(), v.value())?;
        }
        Ok(())
    }

    fn commit(&mut self, batch: CommitBatch) -> Result<(), StoreError> {
        let height = batch.info.height;
        let certificate = self
            .staged_certificate
            .lock()
            .map_err(|_| StoreError("certificate slot poisoned".into()))?
            .take()
            .filter(|(h, _)| *h == height);
        let txn = self.db.begin_write().map_err(err)?;
        {
            let mut state = txn.open_table(STATE).map_err(err)?;
            let mut values = txn.open_table(TREE_VALUES).map_err(err)?;
            for w in &batch.state {
                match &w.value {
                    Some(v) => {
                        state.insert(w.key.as_slice(), v.as_slice()).map_err(err)?;
                        values.insert(&w.key_hash.0, (height, v.as_slice())).map_err(err)?;
                    }
                    None => {
                        state.remove(w.key.as_slice()).map_err(err)?;
                        values.remove(&w.key_hash.0).map_err(err)?;
                    }
                }
            }
            let mut nodes = txn.open_table(TREE_NODES).map_err(err)?;
            for key in &batch.stale_nodes {
                nodes.remove(encode(key).as_slice()).map_err(err)?;
            }
            for (key, node) in &batch.new_nodes {
                nodes.insert(encode(key).as_slice(), encode(node).as_slice()).map_err(err)?;
            }
            if let Some(block) = &batch.block {
                txn.open_table(BLOCKS)
                    .map_err(err)?
                    .insert(height, encode(block).as_slice())
                    .map_err(err)?;
                txn.open_table(RESULTS)
                    .map_err(err)?
                    .insert(height, encode(&batch.tx_results).as_slice())
                    .map_err(err)?;
                txn.open_table(EVENTS)
                    .map_err(err)?
                    .insert(height, encode(&batch.events).as_slice())
                    .map_err(err)?;
                let mut journal = txn.open_table(MEMPOOL_JOURNAL).map_err(err)?;
                for result in &batch.tx_results {
                    journal.remove(result.id.as_bytes()).map_err(err)?;
                }
                let mut txs = txn.open_table(TXS).map_err(err)?;
                for (index, result) in batch.tx_results.iter().enumerate() {
                    // A replay has the id of the original: the first occurrence stays indexed.
                    if txs.get(result.id.as_bytes()).map_err(err)?.is_some() {
                        continue;
                    }
                    let index = u32::try_from(index).map_err(err)?;
                    txs.insert(result.id.as_bytes(), (height, index)).map_err(err)?;
                }
                if let Some((_, cert)) = &certificate {
                    txn.open_table(CERTIFICATES)
                        .map_err(err)?
                        .insert(height, cert.as_slice())
                        .map_err(err)?;
                }
            }
            let info = encode(&batch.info);
            txn.open_table(COMMITS).map_err(err)?.insert(height, info.as_slice()).map_err(err)?;
            txn.open_table(META).map_err(err)?.insert(LAST_COMMIT, info.as_slice()).map_err(err)?;
        }
        txn.commit().map_err(err)
    }
}
