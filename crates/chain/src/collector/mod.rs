//! Collectors: tasks that watch a chain (or a recording) and send [`ChainEvent`]s to the
//! monitor. Each is one type behind the [`Collector`] trait.
//!
//! - [`BlockCollector`]: new blocks with receipts and logs, by HTTP polling or a WebSocket
//!   subscription, resuming from a [`Cursor`](crate::cursor::Cursor) and replaying blocks a
//!   reorg replaced;
//! - [`PendingCollector`]: mempool transactions, by subscription or pending-transaction filter;
//! - [`ReplayCollector`]: recorded events from a JSON [`Recording`](crate::raw::Recording).

mod blocks;
mod pending;
mod replay;

use std::time::{SystemTime, UNIX_EPOCH};

use alloy::rpc::types::Transaction as RpcTransaction;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

pub use blocks::{BlockCollector, BlockCollectorConfig};
pub use pending::{PendingCollector, pump};
pub use replay::ReplayCollector;

use crate::cursor::Cursor;
use crate::error::Result;
use crate::raw::RawBlock;

/// What collectors report.
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A transaction entered the mempool.
    Pending {
        /// The transaction.
        tx: Box<RpcTransaction>,
        /// When it was seen, seconds since the Unix epoch.
        seen_at: u64,
    },
    /// A block was mined (or replayed after a reorg).
    Block {
        /// The block with receipts, code and balances.
        raw: Box<RawBlock>,
        /// The collector's cursor once this block is processed, to be saved after it is.
        cursor: Option<Cursor>,
    },
    /// Blocks above `common_ancestor` were replaced; their replacements follow.
    Reorg {
        /// The last block both chains share.
        common_ancestor: u64,
        /// How many processed blocks were replaced.
        depth: u64,
    },
}

/// A source of chain events. It runs until it fails, its source ends, or the receiver of its
/// events is dropped.
pub trait Collector: Send + 'static {
    /// Its name, for logs.
    fn name(&self) -> &'static str;

    /// Runs it, sending events to `out`.
    fn run(self: Box<Self>, out: mpsc::Sender<ChainEvent>) -> BoxFuture<'static, Result<()>>;
}

/// Seconds since the Unix epoch, by the local clock.
pub(crate) fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
