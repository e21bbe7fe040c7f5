//! Where the state cache's misses are read from: the chain's RPC node through alloy.
//!
//! Simulations run on blocking threads (revm's database is synchronous); a read blocks that
//! thread on the async provider, bounded by the read timeout and the simulation's deadline,
//! whichever comes first.

use std::time::{Duration, Instant};

use alloy::eips::BlockId;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy_primitives::{Address, B256, U256, keccak256};
use revm::bytecode::Bytecode;
use revm::primitives::KECCAK_EMPTY;
use revm::state::AccountInfo;

use crate::cache::CachedAccount;

/// Why state could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ForkError {
    /// The node refused or failed a read.
    #[error("RPC {call}: {message}")]
    Rpc {
        /// The call and its arguments.
        call: String,
        /// What the node or transport said.
        message: String,
    },
    /// A read took longer than the read timeout.
    #[error("RPC {call} did not answer within {millis} ms")]
    Timeout {
        /// The call and its arguments.
        call: String,
        /// The limit.
        millis: u64,
    },
    /// The simulation's deadline passed while state was still missing.
    #[error("the simulation ran out of time while reading {what}")]
    Deadline {
        /// What was being read.
        what: String,
    },
    /// The state is not cached and there is no node to read it from.
    #[error("{what} is not in the cache and there is no node to read it from")]
    Missing {
        /// What was missing.
        what: String,
    },
}

impl revm::database::DBErrorMarker for ForkError {}

/// Reads state at a block, blocking the calling thread. Implementations bound every read by
/// `deadline`.
pub trait StateSource: Send + Sync {
    /// Balance, nonce and code of `address` after `block`; `None` when the account is empty.
    fn account(
        &self,
        address: Address,
        block: u64,
        deadline: Instant,
    ) -> Result<CachedAccount, ForkError>;

    /// A storage slot of `address` after `block`.
    fn storage(
        &self,
        address: Address,
        slot: U256,
        block: u64,
        deadline: Instant,
    ) -> Result<U256, ForkError>;

    /// The hash of block `number`.
    fn block_hash(&self, number: u64, deadline: Instant) -> Result<B256, ForkError>;
}

/// An account from its balance, nonce and code, as the cache keeps it.
pub fn account_info(balance: U256, nonce: u64, code: alloy_primitives::Bytes) -> CachedAccount {
    if balance.is_zero() && nonce == 0 && code.is_empty() {
        return None;
    }
    let (code_hash, code) = if code.is_empty() {
        (KECCAK_EMPTY, Bytecode::default())
    } else {
        (keccak256(&code), Bytecode::new_raw(code))
    };
    Some(AccountInfo { balance, nonce, code_hash, code: Some(code), ..AccountInfo::default() })
}

/// State read over JSON-RPC (`eth_getBalance`, `eth_getTransactionCount`, `eth_getCode`,
/// `eth_getStorageAt`, `eth_getBlockByNumber`) at a pinned block number.
#[derive(Clone)]
pub struct RpcSource {
    provider: DynProvider,
    runtime: tokio::runtime::Handle,
    read_timeout: Duration,
}

impl std::fmt::Debug for RpcSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcSource").field("read_timeout", &self.read_timeout).finish()
    }
}

impl RpcSource {
    /// A source over `provider`; reads run on `runtime` and each waits at most `read_timeout`.
    pub fn new(
        provider: DynProvider,
        runtime: tokio::runtime::Handle,
        read_timeout: Duration,
    ) -> Self {
        Self { provider, runtime, read_timeout }
    }

    /// Connects to `url` (HTTP or WebSocket) from inside `runtime`.
    pub async fn connect(url: &str, read_timeout: Duration) -> Result<Self, ForkError> {
        let provider = ProviderBuilder::new()
            .connect(url)
            .await
            .map_err(|e| ForkError::Rpc { call: "connect".into(), message: e.to_string() })?
            .erased();
        Ok(Self::new(provider, tokio::runtime::Handle::current(), read_timeout))
    }

    /// Its provider.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn run<T, E: std::fmt::Display>(
        &self,
        call: impl FnOnce() -> String,
        deadline: Instant,
        read: impl Future<Output = Result<T, E>>,
    ) -> Result<T, ForkError> {
        let now = Instant::now();
        let Some(left) = deadline.checked_duration_since(now).filter(|d| !d.is_zero()) else {
            return Err(ForkError::Deadline { what: call() });
        };
        let limit = left.min(self.read_timeout);
        match self.runtime.block_on(tokio::time::timeout(limit, read)) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(ForkError::Rpc { call: call(), message: e.to_string() }),
            Err(_) if limit < self.read_timeout => Err(ForkError::Deadline { what: call() }),
            Err(_) => Err(ForkError::Timeout {
                call: call(),
                millis: u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

impl StateSource for RpcSource {
    fn account(
        &self,
        address: Address,
        block: u64,
        deadline: Instant,
    ) -> Result<CachedAccount, ForkError> {
        let at = BlockId::number(block);
        let p = &self.provider;
        let read = async {
            let (balance, nonce, code) = tokio::join!(
                p.get_balance(address).block_id(at).into_future(),
                p.get_transaction_count(address).block_id(at).into_future(),
                p.get_code_at(address).block_id(at).into_future(),
            );
            Ok::<_, alloy::transports::TransportError>((balance?, nonce?, code?))
        };
        let (balance, nonce, code) =
            self.run(|| format!("account {address} at block {block}"), deadline, read)?;
        Ok(account_info(balance, nonce, code))
    }

    fn storage(
        &self,
        address: Address,
        slot: U256,
        block: u64,
        deadline: Instant,
    ) -> Result<U256, ForkError> {
        let read = self
            .provider
            .get_storage_at(address, slot)
            .block_id(BlockId::number(block))
            .into_future();
        self.run(|| format!("eth_getStorageAt({address}, {slot:#x}, {block})"), deadline, read)
    }

    fn block_hash(&self, number: u64, deadline: Instant) -> Result<B256, ForkError> {
        let read = async {
            self.provider.get_block_by_number(number.into()).await.map(|b| b.map(|b| b.header.hash))
        };
        self.run(|| format!("eth_getBlockByNumber({number})"), deadline, read)?.ok_or_else(|| {
            ForkError::Rpc {
                call: format!("eth_getBlockByNumber({number})"),
                message: "no such block".into(),
            }
        })
    }
}
