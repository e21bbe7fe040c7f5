//! The mempool: admitted transactions waiting for a block, per sender in nonce order.
//!
//! Admission runs the ledger's checks (signature, chain, nonce, and a dry run of a transaction
//! that is next in line) before a transaction gets here; the pool then applies the rules that
//! keep an unfunded key from filling it, in the manner of Ethereum clients' transaction pools
//! (geth's `accountqueue`/`globalqueue`) and CometBFT's bounded mempool:
//!
//! - a *future-nonce window*: a nonce at most `max_nonce_gap` ahead of the committed one;
//! - a *per-account cap* on pending transactions;
//! - a *projected balance*: each queued transaction's spend (fee plus what it transfers, bonds
//!   or escrows) must fit in the balance left after the sender's transactions ahead of it, and
//!   an account with neither balance nor stake may only submit its next nonce (which the ledger
//!   dry-runs in full);
//! - *eviction that favours stake*: a full pool makes room for a sender with more stake (then
//!   balance) by dropping the latest-nonce transaction of the lowest-ranked sender; a sender
//!   that ranks no higher than everyone present is told the pool is full.
//!
//! Proposers get transactions whose nonces follow on from each sender's committed nonce,
//! oldest sender first.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde::{Deserialize, Serialize};
use vigil_core::encoding::encode;
use vigil_core::{AccountId, Amount, SignedTx, TxId};

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
    /// The pool is full of transactions from senders ranked at least as high.
    #[error("the mempool is full ({txs} transactions, {bytes} bytes); try again later")]
    Full {
        /// Transactions held.
        txs: usize,
        /// Bytes held.
        bytes: usize,
    },
    /// The nonce is too far ahead of the committed one.
    #[error(
        "nonce {nonce} is too far ahead: {account}'s next nonce is {next} and the mempool holds nonces up to {max}; submit the ones before it first"
    )]
    NonceTooFar {
        /// The sender.
        account: AccountId,
        /// The transaction's nonce.
        nonce: u64,
        /// The sender's committed next nonce.
        next: u64,
        /// The highest nonce admitted now.
        max: u64,
    },
    /// The sender already has the most pending transactions an account may have.
    #[error(
        "{account} already has {pending} pending transactions, the most an account may have; wait for some to commit"
    )]
    AccountFull {
        /// The sender.
        account: AccountId,
        /// Its pending transactions.
        pending: usize,
    },
    /// The sender's balance does not cover this transaction after the ones ahead of it.
    #[error(
        "{account} cannot afford this transaction after its pending ones: they need {needed} in all, the balance is {balance}"
    )]
    Unaffordable {
        /// The sender.
        account: AccountId,
        /// Spend of the pending transactions ahead of it plus this one.
        needed: Amount,
        /// The committed liquid balance.
        balance: Amount,
    },
    /// An account with no balance and no stake sent a nonce ahead of its next one.
    #[error(
        "{account} has no balance and no stake, so only its next nonce ({next}) is accepted, not {nonce}"
    )]
    Unfunded {
        /// The sender.
        account: AccountId,
        /// The transaction's nonce.
        nonce: u64,
        /// Its next nonce.
        next: u64,
    },
}

/// What the committed ledger says about a sender, for admission.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sender {
    /// Its next nonce in the committed state.
    pub nonce: u64,
    /// Its committed liquid balance.
    pub balance: Amount,
    /// Its committed bonded stake.
    pub bonded: Amount,
}

impl Sender {
    /// Rank for eviction: stake first, then balance.
    fn rank(&self) -> (u64, u64) {
        (self.bonded.0, self.balance.0)
    }
}

struct Entry {
    tx: SignedTx,
    size: usize,
    spend: Amount,
}

#[derive(Default)]
struct Queue {
    nonces: BTreeMap<u64, TxId>,
    rank: (u64, u64),
}

/// Pending transactions.
pub struct Mempool {
    limits: MempoolConfig,
    bytes: usize,
    txs: HashMap<TxId, Entry>,
    by_sender: HashMap<AccountId, Queue>,
    /// Senders by rank, lowest first: where eviction looks.
    ranked: BTreeSet<((u64, u64), AccountId)>,
    /// Senders in the order their oldest pending transaction arrived.
    arrival: VecDeque<AccountId>,
}

impl Mempool {
    /// An empty pool holding at most `max_txs` transactions and `max_bytes` encoded bytes, with
    /// the default per-account limits.
    pub fn new(max_txs: usize, max_bytes: usize) -> Self {
        Self::with_limits(MempoolConfig { max_txs, max_bytes, ..MempoolConfig::default() })
    }

    /// An empty pool with `limits`.
    pub fn with_limits(limits: MempoolConfig) -> Self {
        Self {
            limits,
            bytes: 0,
            txs: HashMap::new(),
            by_sender: HashMap::new(),
            ranked: BTreeSet::new(),
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

    /// Every pending transaction, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &SignedTx> {
        self.txs.values().map(|e| &e.tx)
    }

    /// The next nonce `account` should use, counting its pending transactions that follow on
    /// from `committed` without a gap.
    pub fn next_nonce(&self, account: &AccountId, committed: u64) -> u64 {
        let mut next = committed;
        if let Some(queue) = self.by_sender.get(account) {
            for n in queue.nonces.range(committed..).map(|(n, _)| *n) {
                if n != next {
                    break;
                }
                next = next.saturating_add(1);
            }
        }
        next
    }

    /// Adds a transaction the ledger admitted. `sender` is the signer's committed state and
    /// `spend` the most liquid balance the transaction can take (fee included). Returns the
    /// id and the transactions evicted to make room.
    pub fn insert(
        &mut self,
        tx: SignedTx,
        sender: Sender,
        spend: Amount,
    ) -> Result<(TxId, Vec<TxId>), MempoolError> {
        let id = tx.id();
        if self.txs.contains_key(&id) {
            return Err(MempoolError::Duplicate(id));
        }
        let account = tx.tx.signer;
        let nonce = tx.tx.nonce;
        let queue = self.by_sender.get(&account);
        if queue.is_some_and(|q| q.nonces.contains_key(&nonce)) {
            return Err(MempoolError::NonceTaken { account, nonce });
        }
        let max = sender.nonce.saturating_add(self.limits.max_nonce_gap);
        if nonce > max {
            return Err(MempoolError::NonceTooFar { account, nonce, next: sender.nonce, max });
        }
        if nonce > sender.nonce && sender.balance.is_zero() && sender.bonded.is_zero() {
            return Err(MempoolError::Unfunded { account, nonce, next: sender.nonce });
        }
        let pending = queue.map_or(0, |q| q.nonces.len());
        if pending >= self.limits.max_per_account {
            return Err(MempoolError::AccountFull { account, pending });
        }
        let ahead = queue.map_or(Amount::ZERO, |q| {
            q.nonces
                .range(..nonce)
                .filter_map(|(_, id)| self.txs.get(id))
                .fold(Amount::ZERO, |sum, e| sum.checked_add(e.spend).unwrap_or(Amount(u64::MAX)))
        });
        let needed = ahead.checked_add(spend).unwrap_or(Amount(u64::MAX));
        if needed > sender.balance {
            return Err(MempoolError::Unaffordable { account, needed, balance: sender.balance });
        }
        let size = encode(&tx).len();
        let evicted = self.make_room(size, sender.rank(), &account)?;
        let queue = self.by_sender.entry(account).or_default();
        if queue.nonces.is_empty() {
            self.arrival.push_back(account);
        }
        queue.nonces.insert(nonce, id);
        self.set_rank(&account, sender.rank());
        self.bytes = self.bytes.saturating_add(size);
        self.txs.insert(id, Entry { tx, size, spend });
        Ok((id, evicted))
    }

    fn full(&self, size: usize) -> bool {
        self.txs.len() >= self.limits.max_txs
            || self.bytes.saturating_add(size) > self.limits.max_bytes
    }

    /// Evicts the latest transactions of senders ranked below `rank` until `size` more bytes
    /// and one more transaction fit.
    fn make_room(
        &mut self,
        size: usize,
        rank: (u64, u64),
        incoming: &AccountId,
    ) -> Result<Vec<TxId>, MempoolError> {
        let mut evicted = Vec::new();
        while self.full(size) {
            let victim = self
                .ranked
                .iter()
                .find(|(r, a)| *r < rank && a != incoming)
                .copied()
                .filter(|_| size <= self.limits.max_bytes);
            let Some((victim_rank, victim)) = victim else {
                return Err(MempoolError::Full { txs: self.txs.len(), bytes: self.bytes });
            };
            let last = self
                .by_sender
                .get(&victim)
                .and_then(|q| q.nonces.last_key_value())
                .map(|(n, _)| *n);
            match last.and_then(|n| self.remove(&victim, n)) {
                Some(id) => evicted.push(id),
                None => {
                    // An index entry without a queue: drop it so the search moves on.
                    self.ranked.remove(&(victim_rank, victim));
                    self.forget_sender(&victim);
                }
            }
        }
        Ok(evicted)
    }

    /// Re-ranks a sender that has a queue (and only then, so the index never names a sender
    /// without one).
    fn set_rank(&mut self, account: &AccountId, rank: (u64, u64)) {
        if let Some(queue) = self.by_sender.get_mut(account) {
            self.ranked.remove(&(queue.rank, *account));
            queue.rank = rank;
            self.ranked.insert((rank, *account));
        }
    }

    /// Removes `account`'s transaction with `nonce`, returning its id.
    fn remove(&mut self, account: &AccountId, nonce: u64) -> Option<TxId> {
        let queue = self.by_sender.get_mut(account)?;
        let id = queue.nonces.remove(&nonce)?;
        if let Some(entry) = self.txs.remove(&id) {
            self.bytes = self.bytes.saturating_sub(entry.size);
        }
        if queue.nonces.is_empty() {
            self.forget_sender(account);
        }
        Some(id)
    }

    fn forget_sender(&mut self, account: &AccountId) {
        if let Some(queue) = self.by_sender.remove(account) {
            self.ranked.remove(&(queue.rank, *account));
        }
        self.arrival.retain(|s| s != account);
    }

    /// Transactions for a block: for each sender in arrival order, its pending transactions
    /// whose nonces run on from `next_nonce(sender)` without a gap; at most `max_bytes`.
    pub fn reap(&self, max_bytes: usize, next_nonce: impl Fn(&AccountId) -> u64) -> Vec<SignedTx> {
        let mut out = Vec::new();
        let mut used = 0usize;
        for sender in &self.arrival {
            let Some(queue) = self.by_sender.get(sender) else { continue };
            let mut expected = next_nonce(sender);
            for (nonce, id) in queue.nonces.range(expected..) {
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
    /// made stale by a block), and updates each remaining sender's rank from `sender`. Returns
    /// the ids dropped.
    pub fn prune(&mut self, sender: impl Fn(&AccountId) -> Sender) -> Vec<TxId> {
        let mut dropped = Vec::new();
        let senders: Vec<AccountId> = self.by_sender.keys().copied().collect();
        for account in senders {
            let now = sender(&account);
            let stale: Vec<u64> = self
                .by_sender
                .get(&account)
                .map(|q| q.nonces.range(..now.nonce).map(|(n, _)| *n).collect())
                .unwrap_or_default();
            for n in stale {
                dropped.extend(self.remove(&account, n));
            }
            if self.by_sender.contains_key(&account) {
                self.set_rank(&account, now.rank());
            }
        }
        dropped
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
    /// Most pending transactions of one account.
    pub max_per_account: usize,
    /// How far ahead of an account's committed nonce a pending nonce may be.
    pub max_nonce_gap: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        Self {
            max_txs: 200_000,
            max_bytes: 256 << 20,
            max_per_account: 1_024,
            max_nonce_gap: 1_024,
        }
    }
}

#[cfg(test)]
mod tests {
    use vigil_core::{Keypair, Tx, TxBody};

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

    fn funded(nonce: u64) -> Sender {
        Sender { nonce, balance: Amount::vgl(1_000), bonded: Amount::ZERO }
    }

    fn insert(pool: &mut Mempool, t: SignedTx, sender: Sender) -> Result<Vec<TxId>, MempoolError> {
        let spend = Amount(1 + t.tx.nonce);
        pool.insert(t, sender, spend).map(|(_, evicted)| evicted)
    }

    #[test]
    fn reaps_in_nonce_order_and_stops_at_gaps() {
        let a = Keypair::from_seed(&[1; 32]);
        let b = Keypair::from_seed(&[2; 32]);
        let mut pool = Mempool::new(100, 1 << 20);
        insert(&mut pool, tx(&a, 1), funded(0)).unwrap();
        insert(&mut pool, tx(&b, 0), funded(0)).unwrap();
        insert(&mut pool, tx(&a, 0), funded(0)).unwrap();
        insert(&mut pool, tx(&a, 3), funded(0)).unwrap();
        let reaped = pool.reap(usize::MAX, |_| 0);
        let order: Vec<(AccountId, u64)> =
            reaped.iter().map(|t| (t.tx.signer, t.tx.nonce)).collect();
        assert_eq!(order, vec![(a.account_id(), 0), (a.account_id(), 1), (b.account_id(), 0)]);
        assert_eq!(pool.next_nonce(&a.account_id(), 0), 2);
        let dropped = pool.prune(|id| funded(if *id == a.account_id() { 2 } else { 1 }));
        assert_eq!(dropped.len(), 3);
        assert_eq!(pool.len(), 1, "only a's nonce-3 transaction is left");
    }

    #[test]
    fn refuses_duplicates_taken_nonces_and_overflow() {
        let a = Keypair::from_seed(&[1; 32]);
        let mut pool = Mempool::new(2, 1 << 20);
        let t = tx(&a, 0);
        insert(&mut pool, t.clone(), funded(0)).unwrap();
        assert!(matches!(insert(&mut pool, t, funded(0)), Err(MempoolError::Duplicate(_))));
        let mut other = tx(&a, 0);
        other.tx.body = TxBody::Bond { amount: Amount(99) };
        assert!(matches!(
            insert(&mut pool, other, funded(0)),
            Err(MempoolError::NonceTaken { nonce: 0, .. })
        ));
        insert(&mut pool, tx(&a, 1), funded(0)).unwrap();
        assert!(matches!(insert(&mut pool, tx(&a, 2), funded(0)), Err(MempoolError::Full { .. })));
    }

    /// The defect: a never-funded key parked future-nonce transactions that no check ever
    /// looked at, filled the pool and locked honest senders out for as long as the node ran.
    #[test]
    fn an_unfunded_key_cannot_park_future_nonces() {
        let mallory = Keypair::from_seed(&[6; 32]);
        let mut pool = Mempool::new(50, 1 << 20);
        for nonce in 1..=50 {
            let refused = insert(&mut pool, tx(&mallory, nonce), Sender::default());
            assert!(matches!(refused, Err(MempoolError::Unfunded { next: 0, .. })), "{refused:?}");
        }
        assert!(pool.is_empty());
    }

    #[test]
    fn queued_transactions_must_fit_the_balance_left_after_the_ones_ahead() {
        let a = Keypair::from_seed(&[1; 32]);
        let mut pool = Mempool::new(100, 1 << 20);
        let poor = Sender { nonce: 0, balance: Amount(5), bonded: Amount::ZERO };
        // Spends are 1, 2, 3 for nonces 0, 1, 2: 1 + 2 fits 5, 1 + 2 + 3 does not.
        insert(&mut pool, tx(&a, 0), poor).unwrap();
        insert(&mut pool, tx(&a, 1), poor).unwrap();
        let refused = insert(&mut pool, tx(&a, 2), poor);
        assert!(
            matches!(refused, Err(MempoolError::Unaffordable { needed: Amount(6), .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn the_future_nonce_window_and_the_per_account_cap_bound_one_sender() {
        let a = Keypair::from_seed(&[1; 32]);
        let limits = MempoolConfig { max_per_account: 3, max_nonce_gap: 8, ..Default::default() };
        let mut pool = Mempool::with_limits(limits);
        assert!(matches!(
            insert(&mut pool, tx(&a, 9), funded(0)),
            Err(MempoolError::NonceTooFar { nonce: 9, next: 0, max: 8, .. })
        ));
        for n in 0..3 {
            insert(&mut pool, tx(&a, n), funded(0)).unwrap();
        }
        assert!(matches!(
            insert(&mut pool, tx(&a, 3), funded(0)),
            Err(MempoolError::AccountFull { pending: 3, .. })
        ));
    }

    /// The rank index and the queues agree after any mix of inserts, evictions and prunes
    /// (a stale index entry once made eviction spin forever under the mempool lock).
    #[test]
    fn the_rank_index_names_exactly_the_senders_with_queues() {
        let keys: Vec<Keypair> = (0..8u8).map(|i| Keypair::from_seed(&[i; 32])).collect();
        let mut pool = Mempool::new(10, 1 << 20);
        for round in 0..6u64 {
            for (i, key) in keys.iter().enumerate() {
                let sender = Sender { bonded: Amount(i as u64 * round), ..funded(0) };
                let _ = insert(&mut pool, tx(key, round), sender);
            }
            pool.prune(|_| funded(round.saturating_sub(1)));
            let queued: BTreeSet<AccountId> = pool.by_sender.keys().copied().collect();
            let ranked: BTreeSet<AccountId> = pool.ranked.iter().map(|(_, a)| *a).collect();
            assert_eq!(queued, ranked, "round {round}");
            for (account, queue) in &pool.by_sender {
                assert!(pool.ranked.contains(&(queue.rank, *account)));
            }
            assert!(pool.len() <= 10);
        }
    }

    #[test]
    fn a_full_pool_evicts_the_latest_transaction_of_the_lowest_ranked_sender() {
        let (low, high) = (Keypair::from_seed(&[1; 32]), Keypair::from_seed(&[2; 32]));
        let mut pool = Mempool::new(3, 1 << 20);
        for n in 0..3 {
            insert(&mut pool, tx(&low, n), funded(0)).unwrap();
        }
        // An equal-ranked sender is told the pool is full.
        let peer = Keypair::from_seed(&[3; 32]);
        assert!(matches!(
            insert(&mut pool, tx(&peer, 0), funded(0)),
            Err(MempoolError::Full { .. })
        ));
        // A staked sender gets in; the low sender's highest nonce goes.
        let staked = Sender { bonded: Amount::vgl(1), ..funded(0) };
        let evicted = insert(&mut pool, tx(&high, 0), staked).unwrap();
        assert_eq!(evicted, vec![tx(&low, 2).id()]);
        assert_eq!(pool.len(), 3);
        assert_eq!(
            pool.next_nonce(&low.account_id(), 0),
            2,
            "the low sender's queue stays contiguous"
        );
    }
}
