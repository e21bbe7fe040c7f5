//! The mempool: admitted transactions waiting for a block, per sender in nonce order.
//!
//! Admission runs the ledger's `check_tx` (signature, chain, nonce, dry run) before a
//! transaction gets here. The pool then keeps at most one transaction per (sender, nonce),
//! bounds its size, and hands proposers transactions whose nonces follow on from each sender's
//! committed nonce, oldest sender first.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use vigil_core::encoding::encode;
use vigil_core::{AccountId, SignedTx, TxId};

/// Why the mempool refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// Already waiting.
    #[error("transaction {0} is already in the mempool")]
    Duplicate(TxId),
    /// Another transaction of the sender holds this nonce.
    #[error("nonce {nonce} of {account} is already taken by a pending transaction")]
    NonceTaken {
        /// The sender.
        account: AccountId,
        /// The nonce.
        nonce: u64,
    },
    /// The pool is full.
    #[error("the mempool is full ({txs} transactions, {bytes} bytes); try again later")]
    Full {
        /// Transactions held.
        txs: usize,
        /// Bytes held.
        bytes: usize,
    },
}

struct Entry {
    tx: SignedTx,
    size: usize,
}

/// Pending transactions.
pub struct Mempool {
    max_txs: usize,
    max_bytes: usize,
    bytes: usize,
    txs: HashMap<TxId, Entry>,
    by_sender: HashMap<AccountId, BTreeMap<u64, TxId>>,
    /// Senders in the order their oldest pending transaction arrived.
    arrival: VecDeque<AccountId>,
}

impl Mempool {
    /// An empty pool holding at most `max_txs` transactions and `max_bytes` encoded bytes.
    pub fn new(max_txs: usize, max_bytes: usize) -> Self {
        Self {
            max_txs,
            max_bytes,
            bytes: 0,
            txs: HashMap::new(),
            by_sender: HashMap::new(),
            arrival: VecDeque::new(),
        }
    }

    /// Number of pending transactions.
    pub fn len(&self) -> usize {
        self.txs.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    /// Encoded bytes pending.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether `id` is pending.
    pub fn contains(&self, id: &TxId) -> bool {
        self.txs.contains_key(id)
    }

    /// The pending transaction with id `id`.
    pub fn get(&self, id: &TxId) -> Option<&SignedTx> {
        self.txs.get(id).map(|e| &e.tx)
    }

    /// The next nonce `account` should use, counting its pending transactions that follow on
    /// from `committed` without a gap.
    pub fn next_nonce(&self, account: &AccountId, committed: u64) -> u64 {
        let mut next = committed;
        if let Some(nonces) = self.by_sender.get(account) {
            for n in nonces.range(committed..).map(|(n, _)| *n) {
                if n != next {
                    break;
                }
                next = next.saturating_add(1);
            }
        }
        next
    }

    /// Adds an admitted transaction.
    pub fn insert(&mut self, tx: SignedTx) -> Result<TxId, MempoolError> {
        let id = tx.id();
        if self.txs.contains_key(&id) {
            return Err(MempoolError::Duplicate(id));
        }
        let sender = tx.tx.signer;
        let nonce = tx.tx.nonce;
        if self.by_sender.get(&sender).is_some_and(|m| m.contains_key(&nonce)) {
            return Err(MempoolError::NonceTaken { account: sender, nonce });
        }
        let size = encode(&tx).len();
        if self.txs.len() >= self.max_txs || self.bytes.saturating_add(size) > self.max_bytes {
            return Err(MempoolError::Full { txs: self.txs.len(), bytes: self.bytes });
        }
        let nonces = self.by_sender.entry(sender).or_default();
        if nonces.is_empty() {
            self.arrival.push_back(sender);
        }
        nonces.insert(nonce, id);
        self.bytes = self.bytes.saturating_add(size);
        self.txs.insert(id, Entry { tx, size });
        Ok(id)
    }

    /// Transactions for a block: for each sender in arrival order, its pending transactions
    /// whose nonces run on from `next_nonce(sender)` without a gap; at most `max_bytes`.
    pub fn reap(&self, max_bytes: usize, next_nonce: impl Fn(&AccountId) -> u64) -> Vec<SignedTx> {
        let mut out = Vec::new();
        let mut used = 0usize;
        for sender in &self.arrival {
            let Some(nonces) = self.by_sender.get(sender) else { continue };
            let mut expected = next_nonce(sender);
            for (nonce, id) in nonces.range(expected..) {
                if *nonce != expected {
                    break;
                }
                let Some(entry) = self.txs.get(id) else { break };
                if used.saturating_add(entry.size) > max_bytes {
                    return out;
                }
                used = used.saturating_add(entry.size);
                out.push(entry.tx.clone());
                expected = expected.saturating_add(1);
            }
        }
        out
    }

    /// Drops every transaction whose nonce is below its sender's committed nonce (committed or
    /// made stale by a block).
    pub fn prune(&mut self, committed_nonce: impl Fn(&AccountId) -> u64) {
        let senders: Vec<AccountId> = self.by_sender.keys().copied().collect();
        for sender in senders {
            let floor = committed_nonce(&sender);
            let Some(nonces) = self.by_sender.get_mut(&sender) else { continue };
            let stale: Vec<u64> = nonces.range(..floor).map(|(n, _)| *n).collect();
            for n in stale {
                if let Some(id) = nonces.remove(&n)
                    && let Some(entry) = self.txs.remove(&id)
                {
                    self.bytes = self.bytes.saturating_sub(entry.size);
                }
            }
            if nonces.is_empty() {
                self.by_sender.remove(&sender);
            }
        }
        let by_sender = &self.by_sender;
        self.arrival.retain(|s| by_sender.contains_key(s));
    }
}

/// Mempool limits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Most pending transactions.
    pub max_txs: usize,
    /// Most pending encoded bytes.
    pub max_bytes: usize,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self { max_txs: 200_000, max_bytes: 256 << 20 }
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{Amount, Keypair, Tx, TxBody};

    use super::*;

    fn tx(key: &Keypair, nonce: u64) -> SignedTx {
        Tx {
            chain_id: "vigil-test".parse().unwrap(),
            signer: key.account_id(),
            nonce,
            body: TxBody::Bond { amount: Amount(1 + nonce) },
        }
        .sign(key)
    }

    #[test]
    fn reaps_in_nonce_order_and_stops_at_gaps() {
        let a = Keypair::from_seed(&[1; 32]);
        let b = Keypair::from_seed(&[2; 32]);
        let mut pool = Mempool::new(100, 1 << 20);
        pool.insert(tx(&a, 1)).unwrap();
        pool.insert(tx(&b, 0)).unwrap();
        pool.insert(tx(&a, 0)).unwrap();
        pool.insert(tx(&a, 3)).unwrap();
        let reaped = pool.reap(usize::MAX, |_| 0);
        let order: Vec<(AccountId, u64)> =
            reaped.iter().map(|t| (t.tx.signer, t.tx.nonce)).collect();
        assert_eq!(order, vec![(a.account_id(), 0), (a.account_id(), 1), (b.account_id(), 0)]);
        assert_eq!(pool.next_nonce(&a.account_id(), 0), 2);
        pool.prune(|id| if *id == a.account_id() { 2 } else { 1 });
        assert_eq!(pool.len(), 1, "only a's nonce-3 transaction is left");
    }

    #[test]
    fn refuses_duplicates_taken_nonces_and_overflow() {
        let a = Keypair::from_seed(&[1; 32]);
        let mut pool = Mempool::new(2, 1 << 20);
        let t = tx(&a, 0);
        pool.insert(t.clone()).unwrap();
        assert!(matches!(pool.insert(t), Err(MempoolError::Duplicate(_))));
        let mut other = tx(&a, 0);
        other.tx.body = TxBody::Bond { amount: Amount(99) };
        assert!(matches!(pool.insert(other), Err(MempoolError::NonceTaken { nonce: 0, .. })));
        pool.insert(tx(&a, 1)).unwrap();
        assert!(matches!(pool.insert(tx(&a, 2)), Err(MempoolError::Full { .. })));
    }
}
