//! Pending transactions: a `newPendingTransactions` subscription over WebSocket (full objects
//! when the node offers them, else hashes fetched one by one), or a pending-transaction filter
//! polled over HTTP. Dropped subscriptions and filters are re-created with backoff.

use std::collections::HashSet;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::B256;
use alloy::providers::Provider;
use alloy::pubsub::SubscriptionItem;
use alloy::rpc::types::Transaction as RpcTransaction;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, Stream, StreamExt};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::{ChainEvent, Collector, now_secs};
use crate::error::{ChainError, Result};
use crate::rpc::{Rpc, is_refusal};

/// Watches the mempool.
#[derive(Debug)]
pub struct PendingCollector {
    rpc: Rpc,
    poll_interval: Duration,
}

impl PendingCollector {
    /// Watches `rpc`'s mempool; over HTTP the filter is polled every `poll_interval`.
    pub fn new(rpc: Rpc, poll_interval: Duration) -> Self {
        Self { rpc, poll_interval }
    }
}

async fn emit(out: &mpsc::Sender<ChainEvent>, tx: RpcTransaction) -> Result<()> {
    out.send(ChainEvent::Pending { tx: Box::new(tx), seen_at: now_secs() })
        .await
        .map_err(|_| ChainError::Closed)
}

async fn emit_hash(rpc: &Rpc, out: &mpsc::Sender<ChainEvent>, hash: B256) -> Result<()> {
    // Gone already (mined or dropped): nothing to inspect before it is mined.
    match rpc.transaction(hash).await? {
        Some(tx) => emit(out, tx).await,
        None => Ok(()),
    }
}

/// Sends every transaction of `stream` as a pending event: the step from the node's
/// subscription to the monitor, shared with benchmarks that feed their own stream.
pub async fn pump(
    mut stream: impl Stream<Item = RpcTransaction> + Unpin,
    out: &mpsc::Sender<ChainEvent>,
) -> Result<()> {
    while let Some(tx) = stream.next().await {
        emit(out, tx).await?;
    }
    Ok(())
}

/// Emits what is already pending when a watch starts (transactions sent before the
/// subscription or filter existed, or while it was being re-created), and returns their
/// hashes so the watch can skip them if the node announces them again. A node that cannot
/// show its pending block gives nothing here; its watch still sees new transactions.
async fn backfill(rpc: &Rpc, out: &mpsc::Sender<ChainEvent>) -> Result<HashSet<B256>> {
    let block = rpc.provider().get_block_by_number(BlockNumberOrTag::Pending).full().await;
    let mut seen = HashSet::new();
    match block {
        Ok(Some(block)) => {
            for tx in block.transactions.into_transactions() {
                seen.insert(*tx.inner.tx_hash());
                emit(out, tx).await?;
            }
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, "no pending block to backfill from"),
    }
    Ok(seen)
}

async fn subscribe_loop(rpc: &Rpc, out: &mpsc::Sender<ChainEvent>) -> Result<()> {
    let provider = rpc.provider();
    match provider.subscribe_full_pending_transactions().await {
        Ok(mut sub) => {
            let seen = backfill(rpc, out).await?;
            loop {
                match sub.recv_any().await {
                    Ok(SubscriptionItem::Item(tx)) if seen.contains(tx.inner.tx_hash()) => {}
                    Ok(SubscriptionItem::Item(tx)) => emit(out, tx).await?,
                    // A node that ignores the "full" flag sends hashes.
                    Ok(SubscriptionItem::Other(raw)) => {
                        match serde_json::from_str::<B256>(raw.get()) {
                            Ok(hash) => emit_hash(rpc, out, hash).await?,
                            Err(_) => {
                                tracing::debug!(
                                    item = raw.get(),
                                    "unexpected pending-transaction item"
                                )
                            }
                        }
                    }
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "pending-transaction subscription lagged")
                    }
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
        Err(e) if is_refusal(&e) => {
            tracing::info!(error = %e, "node refuses full pending transactions; subscribing to hashes");
            let mut sub =
                provider.subscribe_pending_transactions().await.map_err(|e| ChainError::Rpc {
                    call: "eth_subscribe(newPendingTransactions)".into(),
                    message: e.to_string(),
                })?;
            let seen = backfill(rpc, out).await?;
            loop {
                match sub.recv().await {
                    Ok(hash) if seen.contains(&hash) => {}
                    Ok(hash) => emit_hash(rpc, out, hash).await?,
                    Err(RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "pending-hash subscription lagged")
                    }
                    Err(RecvError::Closed) => return Ok(()),
                }
            }
        }
        Err(e) => Err(ChainError::Rpc {
            call: "eth_subscribe(newPendingTransactions, true)".into(),
            message: e.to_string(),
        }),
    }
}

async fn filter_loop(rpc: &Rpc, poll: Duration, out: &mpsc::Sender<ChainEvent>) -> Result<()> {
    let poller = rpc.provider().watch_pending_transactions().await.map_err(|e| {
        ChainError::Rpc { call: "eth_newPendingTransactionFilter".into(), message: e.to_string() }
    })?;
    let seen = backfill(rpc, out).await?;
    let mut batches = poller.with_poll_interval(poll).into_stream();
    while let Some(hashes) = batches.next().await {
        for hash in hashes.into_iter().filter(|h| !seen.contains(h)) {
            emit_hash(rpc, out, hash).await?;
        }
    }
    Ok(())
}

impl Collector for PendingCollector {
    fn name(&self) -> &'static str {
        "pending"
    }

    fn run(self: Box<Self>, out: mpsc::Sender<ChainEvent>) -> BoxFuture<'static, Result<()>> {
        async move {
            let backoff = self.rpc.backoff();
            let mut failures = 0u32;
            loop {
                let result = if self.rpc.supports_subscriptions() {
                    subscribe_loop(&self.rpc, &out).await
                } else {
                    filter_loop(&self.rpc, self.poll_interval, &out).await
                };
                match result {
                    Err(ChainError::Closed) => return Err(ChainError::Closed),
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        let delay = backoff.delay(failures);
                        tracing::warn!(error = %e, ?delay, "pending-transaction watch failed; restarting");
                        tokio::time::sleep(delay).await;
                    }
                    Ok(()) => {
                        tracing::info!("pending-transaction watch ended; restarting");
                        failures = 0;
                        tokio::time::sleep(self.poll_interval).await;
                    }
                }
            }
        }
        .boxed()
    }
}
