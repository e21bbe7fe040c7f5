//! New blocks with receipts and logs. Heads come from a `newHeads` subscription (WebSocket,
//! with a slow poll as a safety net) or from polling `eth_blockNumber` (HTTP); every block from
//! the cursor up to the head is then fetched in order, so none is skipped. A block whose parent
//! is not the cursor's head means a reorg: the collector walks back to the last block both
//! chains share, reports it, and replays the new chain's blocks from there.
//!
//! Blocks come with call traces from the source [`TraceMode`] allows and the node offers,
//! probed on the first block (see [`crate::trace`]) and kept; [`BlockCollector::trace_source`]
//! tells which.

use std::time::Duration;

use alloy::providers::Provider;
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{mpsc, watch};
use vigil_core::{B256, EvmAddress};

use super::{ChainEvent, Collector};
use crate::cursor::{Cursor, DEFAULT_DEPTH};
use crate::error::{ChainError, Result};
use crate::rpc::Rpc;
use crate::trace::{TraceMode, TraceSource};

/// How a block collector runs.
#[derive(Clone, Debug)]
pub struct BlockCollectorConfig {
    /// The first block when there is no cursor (`None`: the head at start-up).
    pub start: Option<u64>,
    /// How often to poll for a new head over HTTP (and, slower, as a WebSocket safety net).
    pub poll_interval: Duration,
    /// Use a `newHeads` subscription when the connection supports it.
    pub subscribe: bool,
    /// Blocks the cursor remembers: the deepest reorg it follows.
    pub reorg_depth: usize,
    /// Protected contracts, whose token balances are read before each block that moves them.
    pub protected: Vec<EvmAddress>,
    /// Where call traces come from.
    pub trace: TraceMode,
}

impl Default for BlockCollectorConfig {
    fn default() -> Self {
        Self {
            start: None,
            poll_interval: Duration::from_secs(1),
            subscribe: true,
            reorg_depth: DEFAULT_DEPTH,
            protected: Vec::new(),
            trace: TraceMode::default(),
        }
    }
}

/// Collects mined blocks. See the module docs.
#[derive(Debug)]
pub struct BlockCollector {
    rpc: Rpc,
    cursor: Cursor,
    config: BlockCollectorConfig,
    /// The trace source, once probed.
    trace_source: watch::Sender<Option<TraceSource>>,
}

impl BlockCollector {
    /// A collector on `rpc` for `chain_id`, resuming from `cursor` when given.
    pub fn new(
        rpc: Rpc,
        chain_id: u64,
        cursor: Option<Cursor>,
        config: BlockCollectorConfig,
    ) -> Self {
        // Nothing to probe when tracing is off.
        let known = (config.trace == TraceMode::Off).then_some(TraceSource::ReceiptsOnly);
        Self {
            rpc,
            cursor: cursor.unwrap_or_else(|| Cursor::new(chain_id)),
            config,
            trace_source: watch::Sender::new(known),
        }
    }

    /// The call-trace source its blocks come with: `None` until it has probed the node, on
    /// the first block it fetches (at once when tracing is off).
    pub fn trace_source(&self) -> watch::Receiver<Option<TraceSource>> {
        self.trace_source.subscribe()
    }

    async fn send(out: &mpsc::Sender<ChainEvent>, event: ChainEvent) -> Result<()> {
        out.send(event).await.map_err(|_| ChainError::Closed)
    }

    /// Processes every block from the cursor up to `head`.
    async fn catch_up(
        &mut self,
        head: u64,
        start: u64,
        out: &mpsc::Sender<ChainEvent>,
    ) -> Result<()> {
        loop {
            let next = self.cursor.head().map_or(start, |(n, _)| n + 1);
            if next > head {
                return Ok(());
            }
            let known = *self.trace_source.borrow();
            let traces = known.unwrap_or(TraceSource::ReceiptsOnly);
            let Some(mut raw) = self.rpc.raw_block(next, &self.config.protected, traces).await?
            else {
                // The node announced a head it cannot serve yet.
                return Ok(());
            };
            // The probe needs a block the node has; the genesis block is not traceable on geth.
            if known.is_none() && next > 0 {
                let (source, traces) = self.rpc.probe_traces(&raw.block, self.config.trace).await?;
                tracing::info!(%source, mode = %self.config.trace, block = next, "call traces");
                raw.traces = traces;
                self.trace_source.send_replace(Some(source));
            }
            let parent = B256(raw.block.header.parent_hash.0);
            if let Some((at, hash)) = self.cursor.head()
                && parent != hash
            {
                let ancestor = self.common_ancestor(at).await?;
                let depth = at - ancestor;
                tracing::warn!(at, ancestor, depth, "reorg: replaying the replaced blocks");
                self.cursor.truncate_after(ancestor);
                Self::send(out, ChainEvent::Reorg { common_ancestor: ancestor, depth }).await?;
                continue;
            }
            self.cursor.push(next, B256(raw.block.header.hash.0), self.config.reorg_depth);
            let cursor = Some(self.cursor.clone());
            Self::send(out, ChainEvent::Block { raw: Box::new(raw), cursor }).await?;
        }
    }

    /// The newest remembered block still on the node's chain.
    async fn common_ancestor(&self, at: u64) -> Result<u64> {
        for (number, hash) in self.cursor.recent.iter().rev() {
            if self.rpc.block_hash(*number).await? == Some(*hash) {
                return Ok(*number);
            }
        }
        let oldest = self.cursor.recent.first().map_or(0, |(n, _)| *n);
        tracing::error!(
            error = %ChainError::DeepReorg { at, depth: self.cursor.recent.len() },
            "replaying from below the oldest remembered block"
        );
        Ok(oldest.saturating_sub(1))
    }

    async fn run_inner(mut self, out: mpsc::Sender<ChainEvent>) -> Result<()> {
        let start = match (self.cursor.head(), self.config.start) {
            (Some((n, _)), _) => n + 1,
            (None, Some(s)) => s,
            (None, None) => self.rpc.head().await?,
        };
        tracing::info!(start, url = %self.rpc.display_url(), "block collector starting");
        let poll = self.config.poll_interval;
        if self.config.subscribe && self.rpc.supports_subscriptions() {
            let safety_net = poll.saturating_mul(5);
            let mut failures = 0u32;
            loop {
                let head = self.rpc.head().await?;
                self.catch_up(head, start, &out).await?;
                let mut sub = match self.rpc.provider().subscribe_blocks().await {
                    Ok(sub) => {
                        failures = 0;
                        sub
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let delay = self.rpc.backoff().delay(failures);
                        tracing::warn!(error = %e, ?delay, "newHeads subscription failed; polling meanwhile");
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                };
                loop {
                    let head = tokio::select! {
                        h = sub.recv() => match h {
                            Ok(header) => header.number,
                            Err(RecvError::Lagged(_)) => self.rpc.head().await?,
                            Err(RecvError::Closed) => break,
                        },
                        _ = tokio::time::sleep(safety_net) => self.rpc.head().await?,
                    };
                    self.catch_up(head, start, &out).await?;
                }
                tracing::warn!("newHeads subscription closed; re-subscribing");
            }
        } else {
            loop {
                let head = self.rpc.head().await?;
                self.catch_up(head, start, &out).await?;
                tokio::time::sleep(poll).await;
            }
        }
    }
}

impl Collector for BlockCollector {
    fn name(&self) -> &'static str {
        "blocks"
    }

    fn run(self: Box<Self>, out: mpsc::Sender<ChainEvent>) -> BoxFuture<'static, Result<()>> {
        self.run_inner(out).boxed()
    }
}
