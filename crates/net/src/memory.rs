//! [`MemoryApp`]: a small, complete [`ConsensusApp`] kept in memory — a nonce ledger. It
//! accepts signed transactions into a mempool, orders them into blocks, checks proposals and
//! commit certificates like a real app, and counts each account's committed transactions. Its
//! app hash chains every block's resulting state, so two nodes agree on it only if they
//! executed the same blocks. Tests and benchmarks of drivers use it; the node has its own app
//! over the ledger and redb.
//!
//! Clones share one state, so a test can keep a handle while a driver owns another.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use vigil_core::encoding::encode;
use vigil_core::{AccountId, Block, BlockHash, ChainId, MAX_TX_BYTES, SignedTx, TxId};

use crate::app::{AppError, CommitInfo, ConsensusApp};
use crate::certificate::CommitCertificate;

/// Why [`MemoryApp::submit`] refused a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// Signed for another network.
    #[error("transaction is for chain {0}, this app runs another")]
    WrongChain(ChainId),
    /// Bad signature.
    #[error("transaction signature does not verify")]
    BadSignature,
    /// Nonce already used.
    #[error("nonce {got} is already used; next is {next}")]
    StaleNonce {
        /// Nonce given.
        got: u64,
        /// The account's next nonce.
        next: u64,
    },
    /// Already in the mempool.
    #[error("transaction {0} is already pending")]
    Duplicate(TxId),
    /// Too large.
    #[error("transaction is {0} bytes encoded, above the limit")]
    TooLarge(usize),
}

#[derive(Debug)]
struct State {
    chain_id: ChainId,
    validators: Vec<(AccountId, u64)>,
    genesis_hash: [u8; 32],
    /// Pending transactions by arrival order.
    mempool: BTreeMap<u64, SignedTx>,
    pending_ids: BTreeMap<TxId, u64>,
    arrivals: u64,
    nonces: BTreeMap<AccountId, u64>,
    /// Committed blocks with their certificate and the app hash after each.
    blocks: Vec<(Block, Vec<u8>, [u8; 32])>,
    app_hash: [u8; 32],
    failed_txs: u64,
}

/// An in-memory nonce ledger implementing [`ConsensusApp`].
#[derive(Clone, Debug)]
pub struct MemoryApp {
    state: Arc<Mutex<State>>,
}

impl MemoryApp {
    /// A fresh app for `chain_id` with a fixed validator set (account, power).
    pub fn new(chain_id: ChainId, mut validators: Vec<(AccountId, u64)>) -> Self {
        validators.sort();
        validators.retain(|(_, p)| *p > 0);
        let genesis_hash = *blake3::hash(&encode(&(&chain_id, &validators))).as_bytes();
        let state = State {
            chain_id,
            validators,
            genesis_hash,
            mempool: BTreeMap::new(),
            pending_ids: BTreeMap::new(),
            arrivals: 0,
            nonces: BTreeMap::new(),
            blocks: Vec::new(),
            app_hash: genesis_hash,
            failed_txs: 0,
        };
        Self { state: Arc::new(Mutex::new(state)) }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is completed
        // before anything can panic), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a signed transaction to the mempool after stateless and nonce checks.
    pub fn submit(&self, tx: SignedTx) -> Result<TxId, SubmitError> {
        let mut s = self.state();
        if tx.tx.chain_id != s.chain_id {
            return Err(SubmitError::WrongChain(tx.tx.chain_id.clone()));
        }
        let size = encode(&tx).len();
        if size > MAX_TX_BYTES {
            return Err(SubmitError::TooLarge(size));
        }
        tx.verify().map_err(|_| SubmitError::BadSignature)?;
        let next = s.nonces.get(&tx.tx.signer).copied().unwrap_or(0);
        if tx.tx.nonce < next {
            return Err(SubmitError::StaleNonce { got: tx.tx.nonce, next });
        }
        let id = tx.id();
        if s.pending_ids.contains_key(&id) {
            return Err(SubmitError::Duplicate(id));
        }
        let n = s.arrivals;
        s.arrivals += 1;
        s.pending_ids.insert(id, n);
        s.mempool.insert(n, tx);
        Ok(id)
    }

    /// The next nonce of `account` (its count of committed transactions).
    pub fn nonce(&self, account: &AccountId) -> u64 {
        self.state().nonces.get(account).copied().unwrap_or(0)
    }

    /// Transactions waiting in the mempool.
    pub fn pending(&self) -> usize {
        self.state().mempool.len()
    }

    /// Transactions committed in blocks but refused at execution (stale or future nonce).
    pub fn failed_txs(&self) -> u64 {
        self.state().failed_txs
    }

    /// Hashes of every committed block, in height order.
    pub fn block_hashes(&self) -> Vec<BlockHash> {
        self.state().blocks.iter().map(|(b, _, _)| b.hash()).collect()
    }

    /// The app hash after each committed block, in height order.
    pub fn app_hashes(&self) -> Vec<[u8; 32]> {
        self.state().blocks.iter().map(|(_, _, h)| *h).collect()
    }

    /// Transactions committed in all blocks.
    pub fn committed_txs(&self) -> usize {
        self.state().blocks.iter().map(|(b, _, _)| b.txs.len()).sum()
    }

    /// The genesis app hash.
    pub fn genesis_hash(&self) -> [u8; 32] {
        self.state().genesis_hash
    }
}

fn stateless_ok(chain_id: &ChainId, tx: &SignedTx) -> bool {
    &tx.tx.chain_id == chain_id && tx.verify().is_ok()
}

impl ConsensusApp for MemoryApp {
    fn last_commit(&self) -> CommitInfo {
        let s = self.state();
        CommitInfo {
            height: s.blocks.len() as u64,
            app_hash: s.app_hash,
            block_hash: s.blocks.last().map(|(b, _, _)| b.hash()).unwrap_or_default(),
        }
    }

    fn prepare_proposal(&mut self, _height: u64, max_bytes: usize) -> Vec<SignedTx> {
        let s = self.state();
        let mut next: BTreeMap<AccountId, u64> = BTreeMap::new();
        let mut out = Vec::new();
        let mut bytes = 0usize;
        for tx in s.mempool.values() {
            let signer = tx.tx.signer;
            let expected =
                *next.entry(signer).or_insert_with(|| s.nonces.get(&signer).copied().unwrap_or(0));
            if tx.tx.nonce != expected {
                continue;
            }
            let size = encode(tx).len();
            if bytes.saturating_add(size) > max_bytes {
                break;
            }
            bytes += size;
            next.insert(signer, expected + 1);
            out.push(tx.clone());
        }
        out
    }

    fn process_proposal(&self, block: &Block) -> bool {
        let s = self.state();
        let last_hash = s.blocks.last().map(|(b, _, _)| b.hash()).unwrap_or_default();
        block.height == s.blocks.len() as u64 + 1
            && block.parent == last_hash
            && s.validators.iter().any(|(v, _)| *v == block.proposer)
            && block.txs.iter().all(|tx| stateless_ok(&s.chain_id, tx))
    }

    fn commit_block(&mut self, block: &Block, certificate: &[u8]) -> Result<[u8; 32], AppError> {
        let mut s = self.state();
        let last = s.blocks.len() as u64;
        let last_hash = s.blocks.last().map(|(b, _, _)| b.hash()).unwrap_or_default();
        if block.height != last + 1 || block.parent != last_hash {
            return Err(AppError::OutOfOrder { got: block.height, last });
        }
        let execution = |reason: String| AppError::Execution { height: block.height, reason };
        CommitCertificate::from_bytes(certificate)
            .and_then(|c| c.verify(&s.chain_id, block.height, &block.hash(), &s.validators))
            .map_err(|e| execution(e.to_string()))?;
        let mut failed = 0;
        for tx in &block.txs {
            let next = s.nonces.get(&tx.tx.signer).copied().unwrap_or(0);
            if stateless_ok(&s.chain_id, tx) && tx.tx.nonce == next {
                s.nonces.insert(tx.tx.signer, next + 1);
            } else {
                failed += 1;
            }
            if let Some(n) = s.pending_ids.remove(&tx.id()) {
                s.mempool.remove(&n);
            }
        }
        s.failed_txs += failed;
        // Drop pending transactions whose nonce is now used.
        let stale: Vec<(u64, TxId)> = s
            .mempool
            .iter()
            .filter(|(_, tx)| tx.tx.nonce < s.nonces.get(&tx.tx.signer).copied().unwrap_or(0))
            .map(|(n, tx)| (*n, tx.id()))
            .collect();
        for (n, id) in stale {
            s.mempool.remove(&n);
            s.pending_ids.remove(&id);
        }
        let mut hasher = blake3::Hasher::new();
        hasher.update(&s.app_hash);
        hasher.update(&block.height.to_le_bytes());
        hasher.update(&encode(&s.nonces));
        s.app_hash = *hasher.finalize().as_bytes();
        let app_hash = s.app_hash;
        s.blocks.push((block.clone(), certificate.to_vec(), app_hash));
        Ok(s.app_hash)
    }

    fn decided_block(&self, height: u64) -> Option<(Block, Vec<u8>)> {
        let s = self.state();
        let index = usize::try_from(height.checked_sub(1)?).ok()?;
        s.blocks.get(index).map(|(b, c, _)| (b.clone(), c.clone()))
    }

    fn validator_set(&self, _height: u64) -> Vec<(AccountId, u64)> {
        self.state().validators.clone()
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{Amount, Keypair, Tx, TxBody};

    use super::*;

    fn chain() -> ChainId {
        "vigil-mem".parse().unwrap()
    }

    fn tx(key: &Keypair, nonce: u64) -> SignedTx {
        Tx {
            chain_id: chain(),
            signer: key.account_id(),
            nonce,
            body: TxBody::Bond { amount: Amount(5) },
        }
        .sign(key)
    }

    #[test]
    fn refuses_bad_transactions_with_reasons() {
        let v = Keypair::from_seed(&[1; 32]);
        let app = MemoryApp::new(chain(), vec![(v.account_id(), 1)]);
        let ok = tx(&v, 0);
        app.submit(ok.clone()).unwrap();
        assert_eq!(app.submit(ok.clone()), Err(SubmitError::Duplicate(ok.id())));
        let mut forged = tx(&v, 1);
        forged.tx.nonce = 2;
        assert_eq!(app.submit(forged), Err(SubmitError::BadSignature));
        let other: ChainId = "elsewhere".parse().unwrap();
        let mut wrong = tx(&v, 1);
        wrong.tx.chain_id = other.clone();
        assert_eq!(app.submit(wrong), Err(SubmitError::WrongChain(other)));
    }

    #[test]
    fn proposals_follow_nonce_order_and_byte_limit() {
        let v = Keypair::from_seed(&[1; 32]);
        let mut app = MemoryApp::new(chain(), vec![(v.account_id(), 1)]);
        // Arrive out of order: nonce 1 before nonce 0; nonce 3 has a gap.
        for n in [1, 0, 3] {
            app.submit(tx(&v, n)).unwrap();
        }
        let picked: Vec<u64> =
            app.prepare_proposal(1, usize::MAX).iter().map(|t| t.tx.nonce).collect();
        assert_eq!(picked, vec![0]);
        let one = encode(&tx(&v, 0)).len();
        assert!(app.prepare_proposal(1, one - 1).is_empty());
    }

    #[test]
    fn commit_checks_order_and_certificate() {
        let v = Keypair::from_seed(&[1; 32]);
        let mut app = MemoryApp::new(chain(), vec![(v.account_id(), 1)]);
        let block = Block {
            height: 1,
            time: 0,
            proposer: v.account_id(),
            parent: BlockHash::default(),
            txs: vec![tx(&v, 0)],
        };
        assert!(app.process_proposal(&block));
        let stranger = Keypair::from_seed(&[2; 32]);
        let bad = CommitCertificate::solo(&chain(), &block.hash(), &stranger).to_bytes();
        assert!(matches!(app.commit_block(&block, &bad), Err(AppError::Execution { .. })));
        let good = CommitCertificate::solo(&chain(), &block.hash(), &v).to_bytes();
        let h1 = app.commit_block(&block, &good).unwrap();
        assert_ne!(h1, app.genesis_hash());
        assert_eq!(app.nonce(&v.account_id()), 1);
        assert!(matches!(
            app.commit_block(&block, &good),
            Err(AppError::OutOfOrder { got: 1, last: 1 })
        ));
        assert!(!app.process_proposal(&block));
    }
}
