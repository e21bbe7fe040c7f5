//! The state cache simulations read: accounts, code and storage slots of one block, filled on
//! demand from the node and kept across blocks. When a block arrives, the accounts its
//! transactions touched are dropped (with their storage) and everything else stays warm.
//!
//! Entries carry no block tag of their own: the cache as a whole holds the state after
//! [`StateCache::block`]. A read from the node that started before [`StateCache::advance`]
//! is refused on insert, so a stale value never lands in a newer state.

use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::{Address, B256, U256};
use foldhash::{HashMap, HashMapExt as _};
use parking_lot::RwLock;
use revm::bytecode::Bytecode;
use revm::state::AccountInfo;

/// An account as cached: `None` for one that does not exist (no balance, nonce or code).
pub type CachedAccount = Option<AccountInfo>;

#[derive(Default)]
struct Inner {
    block: u64,
    accounts: HashMap<Address, CachedAccount>,
    storage: HashMap<Address, HashMap<U256, U256>>,
    code: HashMap<B256, Bytecode>,
    block_hashes: HashMap<u64, B256>,
    slots: usize,
}

/// Counters of a cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Reads answered from the cache.
    pub hits: u64,
    /// Reads that had to go to the node.
    pub misses: u64,
    /// Accounts dropped because a block touched them.
    pub dropped: u64,
    /// Whole-cache clears (a block without call traces, a reorg, the size bound).
    pub clears: u64,
    /// Accounts cached now.
    pub accounts: u64,
    /// Storage slots cached now.
    pub slots: u64,
}

/// The shared state cache. Cheap to read from many threads at once.
pub struct StateCache {
    inner: RwLock<Inner>,
    max_slots: usize,
    hits: AtomicU64,
    misses: AtomicU64,
    dropped: AtomicU64,
    clears: AtomicU64,
}

impl std::fmt::Debug for StateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateCache").field("stats", &self.stats()).finish()
    }
}

impl StateCache {
    /// An empty cache for the state after `block`, holding at most `max_slots` storage slots
    /// (it is cleared when a block would take it above).
    pub fn new(block: u64, max_slots: usize) -> Self {
        Self {
            inner: RwLock::new(Inner { block, ..Inner::default() }),
            max_slots: max_slots.max(1),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            clears: AtomicU64::new(0),
        }
    }

    /// The block whose post-state the cache holds.
    pub fn block(&self) -> u64 {
        self.inner.read().block
    }

    fn hit<T>(&self, found: Option<T>) -> Option<T> {
        let counter = if found.is_some() { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// A cached account (`Some(None)`: known not to exist).
    pub fn account(&self, address: &Address) -> Option<CachedAccount> {
        self.hit(self.inner.read().accounts.get(address).cloned())
    }

    /// A cached storage slot.
    pub fn storage(&self, address: &Address, slot: &U256) -> Option<U256> {
        self.hit(self.inner.read().storage.get(address).and_then(|s| s.get(slot)).copied())
    }

    /// Code by its hash.
    pub fn code(&self, hash: &B256) -> Option<Bytecode> {
        self.hit(self.inner.read().code.get(hash).cloned())
    }

    /// A block hash.
    pub fn block_hash(&self, number: u64) -> Option<B256> {
        self.hit(self.inner.read().block_hashes.get(&number).copied())
    }

    /// Stores an account read at `block`; refused (`false`) when the cache has moved on.
    pub fn insert_account(&self, block: u64, address: Address, account: CachedAccount) -> bool {
        let mut inner = self.inner.write();
        if inner.block != block {
            return false;
        }
        if let Some(info) = &account
            && let Some(code) = &info.code
        {
            inner.code.insert(info.code_hash, code.clone());
        }
        inner.accounts.insert(address, account);
        true
    }

    /// Stores a storage slot read at `block`; refused (`false`) when the cache has moved on.
    pub fn insert_storage(&self, block: u64, address: Address, slot: U256, value: U256) -> bool {
        let mut inner = self.inner.write();
        if inner.block != block {
            return false;
        }
        if inner.storage.entry(address).or_default().insert(slot, value).is_none() {
            inner.slots += 1;
        }
        true
    }

    /// Stores a block hash (they never change below the head, barring reorgs).
    pub fn insert_block_hash(&self, number: u64, hash: B256) {
        self.inner.write().block_hashes.insert(number, hash);
    }

    /// Moves the cache to the state after `block`: drops the accounts in `touched` with their
    /// storage, or everything when `touched` is `None` (the block's effects are unknown, or
    /// it is not the next one).
    pub fn advance(&self, block: u64, touched: Option<&[Address]>) {
        let mut inner = self.inner.write();
        let next = inner.block.checked_add(1) == Some(block);
        match touched {
            Some(touched) if next && inner.slots <= self.max_slots => {
                for address in touched {
                    let had = inner.accounts.remove(address).is_some();
                    if let Some(slots) = inner.storage.remove(address) {
                        inner.slots = inner.slots.saturating_sub(slots.len());
                    }
                    if had {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ => {
                inner.accounts = HashMap::new();
                inner.storage = HashMap::new();
                inner.slots = 0;
                if !next {
                    // A reorg or a gap: block hashes above the new head may be wrong too.
                    inner.block_hashes.retain(|n, _| *n < block);
                }
                self.clears.fetch_add(1, Ordering::Relaxed);
            }
        }
        inner.block = block;
    }

    /// Its counters.
    pub fn stats(&self) -> CacheStats {
        let inner = self.inner.read();
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            clears: self.clears.load(Ordering::Relaxed),
            accounts: inner.accounts.len() as u64,
            slots: inner.slots as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(balance: u64) -> AccountInfo {
        AccountInfo { balance: U256::from(balance), ..AccountInfo::default() }
    }

    #[test]
    fn a_block_drops_what_it_touched_and_keeps_the_rest_warm() {
        let cache = StateCache::new(10, 100);
        let (a, b) = (Address::repeat_byte(1), Address::repeat_byte(2));
        assert!(cache.insert_account(10, a, Some(info(1))));
        assert!(cache.insert_account(10, b, Some(info(2))));
        assert!(cache.insert_storage(10, a, U256::from(7), U256::from(70)));
        cache.advance(11, Some(&[a]));
        assert_eq!(cache.account(&a), None);
        assert_eq!(cache.storage(&a, &U256::from(7)), None);
        assert_eq!(cache.account(&b), Some(Some(info(2))));
        assert_eq!(cache.block(), 11);
        // A read made at block 10 does not land in block 11's state.
        assert!(!cache.insert_account(10, a, Some(info(9))));
        assert_eq!(cache.account(&a), None);
        let stats = cache.stats();
        assert_eq!((stats.dropped, stats.clears, stats.accounts, stats.slots), (1, 0, 1, 0));
    }

    #[test]
    fn an_unknown_block_or_a_gap_clears_everything() {
        let cache = StateCache::new(10, 100);
        let a = Address::repeat_byte(1);
        cache.insert_account(10, a, None);
        cache.insert_block_hash(10, B256::repeat_byte(10));
        cache.advance(11, None);
        assert_eq!(cache.account(&a), None);
        cache.insert_account(11, a, None);
        // A reorg back to 9: everything and the hashes from 9 up go.
        cache.advance(9, Some(&[]));
        assert_eq!(cache.account(&a), None);
        assert_eq!(cache.block_hash(10), None);
        assert_eq!(cache.stats().clears, 2);
    }

    #[test]
    fn the_slot_bound_clears_instead_of_growing() {
        let cache = StateCache::new(1, 2);
        let a = Address::repeat_byte(1);
        for slot in 0..3u64 {
            cache.insert_storage(1, a, U256::from(slot), U256::from(slot));
        }
        cache.advance(2, Some(&[]));
        assert_eq!(cache.stats().slots, 0);
        assert_eq!(cache.stats().clears, 1);
    }
}
