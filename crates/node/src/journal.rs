//! The mempool journal: every transaction the node accepts is written to the database before
//! the client is told `202 Accepted`, and is re-admitted after a restart, so an acknowledged
//! transaction survives a crash until it commits or is refused.
//!
//! Writes are group-committed: one thread takes everything queued since its last write and
//! writes it in one fsynced redb transaction, so a burst of submissions shares one fsync and
//! a client waits for at most one write. A block's commit removes its transactions from the
//! journal in the block's own write transaction (see [`crate::store`]); transactions the
//! mempool drops otherwise (evicted, made stale) are removed here.

use std::collections::HashMap;
use std::sync::mpsc;
use std::thread;

use tokio::sync::watch;
use vigil_core::encoding::encode;
use vigil_core::{SignedTx, TxId};

use crate::store::RedbStore;

enum Op {
    Append(TxId, Vec<u8>),
    Remove(TxId),
}

/// Most operations written in one transaction.
const MAX_BATCH: usize = 8_192;

/// A handle on the journal's writer thread.
pub struct Journal {
    ops: mpsc::Sender<(u64, Op)>,
    /// Sequence number of the last operation queued.
    queued: parking_lot::Mutex<u64>,
    /// Sequence number of the last operation durably written (or failed: see `failed`).
    written: watch::Receiver<u64>,
}

/// The journal could not be written.
#[derive(Debug, Clone, thiserror::Error)]
#[error("the mempool journal could not be written: {0}")]
pub struct JournalError(pub String);

impl Journal {
    /// Starts the writer over `store`.
    pub fn start(store: RedbStore) -> Self {
        let (ops, rx) = mpsc::channel::<(u64, Op)>();
        let (written_tx, written) = watch::channel(0u64);
        let spawned = thread::Builder::new()
            .name("vigil-journal".into())
            .spawn(move || writer(&store, &rx, &written_tx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the mempool journal; accepted transactions are not journaled");
        }
        Self { ops, queued: parking_lot::Mutex::new(0), written }
    }

    fn push(&self, op: Op) -> u64 {
        let mut queued = self.queued.lock();
        *queued = queued.saturating_add(1);
        // A send fails only when the writer thread is gone; `flush` reports that.
        let _ = self.ops.send((*queued, op));
        *queued
    }

    /// Queues `tx` for writing; returns its sequence number for [`Journal::flush_to`].
    pub fn append(&self, tx: &SignedTx) -> u64 {
        self.push(Op::Append(tx.id(), encode(tx)))
    }

    /// Queues the removal of `ids` (dropped from the mempool without committing).
    pub fn remove(&self, ids: impl IntoIterator<Item = TxId>) {
        for id in ids {
            self.push(Op::Remove(id));
        }
    }

    /// The sequence number of the last operation queued.
    pub fn last_queued(&self) -> u64 {
        *self.queued.lock()
    }

    /// Waits until every operation up to `seq` is on disk.
    pub async fn flush_to(&self, seq: u64) -> Result<(), JournalError> {
        let mut written = self.written.clone();
        written
            .wait_for(|w| *w >= seq)
            .await
            .map(|_| ())
            .map_err(|_| JournalError("the journal writer stopped".into()))
    }
}

fn writer(store: &RedbStore, rx: &mpsc::Receiver<(u64, Op)>, written: &watch::Sender<u64>) {
    while let Ok(first) = rx.recv() {
        let mut last = first.0;
        let mut batch = vec![first.1];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((seq, op)) => {
                    last = seq;
                    batch.push(op);
                }
                Err(_) => break,
            }
        }
        // The last operation on an id wins (an evicted transaction may be submitted again).
        let mut latest: HashMap<TxId, Option<Vec<u8>>> = HashMap::with_capacity(batch.len());
        for op in batch {
            match op {
                Op::Append(id, bytes) => latest.insert(id, Some(bytes)),
                Op::Remove(id) => latest.insert(id, None),
            };
        }
        let mut append = Vec::new();
        let mut remove = Vec::new();
        for (id, op) in latest {
            match op {
                Some(bytes) => append.push((id, bytes)),
                None => remove.push(id),
            }
        }
        if let Err(e) = store.journal_write(&append, &remove) {
            // The transactions stay in the mempool; only their survival of a crash is lost.
            tracing::error!(error = %e, txs = append.len(), "mempool journal write failed");
            return;
        }
        written.send_replace(last);
    }
}
