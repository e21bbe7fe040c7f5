//! Pre-execution in the monitor: pending transactions worth it are simulated with revm
//! (`vigil-fork`) on the latest state, and the detectors judge the simulated call tree instead
//! of bare calldata, so an exploit is seen while it waits in the mempool.
//!
//! ```text
//! Pending ─► select (protected, fresh, flagged, …) ─► permit ─► blocking thread: simulate,
//!    │                                                          read protected balances
//!    └─ not selected: engine at once                            └─► Done ─► engine ─► sink
//! Block ─► head, touched accounts dropped from the cache, fresh contracts remembered
//! ```
//!
//! A simulation that fails (state the node cannot serve, a deadline, an invalid transaction)
//! is counted and logged, and the plain pending transaction still goes to the engine, so
//! indicator matches are never lost to a failed simulation.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::Address;
use alloy::providers::Provider as _;
use alloy::rpc::types::Transaction as RpcTransaction;
use tokio::sync::{Semaphore, mpsc};
use vigil_core::EvmAddress;
use vigil_detect::effects::{Asset, Effects};
use vigil_detect::model::{AssetBalance, Block, Simulated, Transaction};
use vigil_fork::{
    Head, PendingCall, Reason, RpcSource, SimError, SimulateConfig, Simulator, StateCache,
};

use crate::error::ChainError;
use crate::raw::RawBlock;

/// A simulation's end, back in the monitor's loop.
#[derive(Debug)]
pub struct Done {
    /// The transaction to judge: simulated when it worked, plain when it failed.
    pub tx: Transaction,
    /// Why it was simulated.
    pub reason: Reason,
    /// The failure, if it failed.
    pub error: Option<SimError>,
    /// When the pending transaction reached the monitor.
    pub seen: Instant,
}

/// Counters of pre-execution, shared with the node's metrics.
#[derive(Debug, Default)]
pub struct PreExecStats {
    /// Simulations started.
    pub started: AtomicU64,
    /// Simulations that produced an outcome (success, revert or halt).
    pub simulated: AtomicU64,
    /// Simulations that would revert or halt.
    pub reverted: AtomicU64,
    /// Simulations that failed, by [`SimError::label`]: state.
    pub failed_state: AtomicU64,
    /// … invalid transactions.
    pub failed_invalid: AtomicU64,
    /// … deadlines.
    pub failed_timeout: AtomicU64,
    /// Pending transactions not simulated because too many were queued.
    pub overloaded: AtomicU64,
}

impl PreExecStats {
    fn count(&self, e: &SimError) {
        let c = match e {
            SimError::State(_) => &self.failed_state,
            SimError::Invalid(_) => &self.failed_invalid,
            SimError::Timeout(_) => &self.failed_timeout,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Every failure so far.
    pub fn failed(&self) -> u64 {
        self.failed_state.load(Ordering::Relaxed)
            + self.failed_invalid.load(Ordering::Relaxed)
            + self.failed_timeout.load(Ordering::Relaxed)
            + self.overloaded.load(Ordering::Relaxed)
    }
}

/// The monitor's pre-execution stage.
pub struct PreExec {
    sim: Arc<Simulator>,
    config: SimulateConfig,
    protected: Arc<BTreeSet<EvmAddress>>,
    fresh: BTreeMap<EvmAddress, u64>,
    permits: Arc<Semaphore>,
    queued: Arc<AtomicU64>,
    stats: Arc<PreExecStats>,
    done: mpsc::UnboundedSender<Done>,
}

impl std::fmt::Debug for PreExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreExec").field("sim", &self.sim).finish_non_exhaustive()
    }
}

/// The head a simulator builds the next block on.
pub fn head_of(block: &alloy::rpc::types::Block) -> Head {
    let h = &block.header;
    Head {
        number: h.number,
        timestamp: h.timestamp,
        base_fee: h.base_fee_per_gas.unwrap_or(0),
        gas_limit: h.gas_limit,
        coinbase: h.beneficiary,
        prevrandao: h.mix_hash,
    }
}

impl PreExec {
    /// Connects a simulator to `rpc` at its latest block. Returns the stage and the channel
    /// simulations end on.
    pub async fn connect(
        rpc: &str,
        chain_id: u64,
        config: SimulateConfig,
        protected: BTreeSet<EvmAddress>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Done>), ChainError> {
        let fail = |call: &str, message: String| ChainError::Rpc { call: call.into(), message };
        let spec = config.spec().map_err(|m| fail("[watch.simulate]", m))?;
        let source = RpcSource::connect(rpc, config.read_timeout())
            .await
            .map_err(|e| fail("connect", e.to_string()))?;
        let latest = source
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
            .map_err(|e| fail("eth_getBlockByNumber(latest)", e.to_string()))?
            .ok_or_else(|| fail("eth_getBlockByNumber(latest)", "no block".into()))?;
        let head = head_of(&latest);
        let cache = Arc::new(StateCache::new(head.number, config.max_cached_slots));
        let sim = Simulator::new(
            chain_id,
            spec,
            cache,
            Some(Arc::new(source)),
            config.max_gas,
            config.timeout(),
        );
        sim.set_head(head);
        Ok(Self::new(Arc::new(sim), config, protected))
    }

    /// A stage over an existing simulator (tests, benchmarks).
    pub fn new(
        sim: Arc<Simulator>,
        config: SimulateConfig,
        protected: BTreeSet<EvmAddress>,
    ) -> (Self, mpsc::UnboundedReceiver<Done>) {
        let (done, rx) = mpsc::unbounded_channel();
        let permits = Arc::new(Semaphore::new(config.concurrency.max(1)));
        let stage = Self {
            sim,
            config,
            protected: Arc::new(protected),
            fresh: BTreeMap::new(),
            permits,
            queued: Arc::new(AtomicU64::new(0)),
            stats: Arc::new(PreExecStats::default()),
            done,
        };
        (stage, rx)
    }

    /// Its simulator.
    pub fn simulator(&self) -> &Arc<Simulator> {
        &self.sim
    }

    /// Its counters.
    pub fn stats(&self) -> Arc<PreExecStats> {
        Arc::clone(&self.stats)
    }

    /// Why `tx` would be simulated, if it would; `flagged` answers for an address.
    pub fn reason(
        &self,
        tx: &Transaction,
        flagged: impl Fn(&EvmAddress) -> bool,
    ) -> Option<Reason> {
        self.config.reason(
            &tx.from,
            tx.to.as_ref(),
            &tx.input,
            |a| self.protected.contains(a),
            |a| self.fresh.contains_key(a),
            flagged,
        )
    }

    /// Starts simulating `tx` (from `rpc_tx`) in the background; its end arrives on the
    /// channel. `false` (counted) when too many are already queued: judge it plainly then.
    pub fn spawn(
        &self,
        tx: Transaction,
        rpc_tx: &RpcTransaction,
        reason: Reason,
        seen: Instant,
    ) -> bool {
        let limit = (self.config.concurrency.max(1) as u64).saturating_mul(256);
        if self.queued.load(Ordering::Relaxed) >= limit {
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(tx = %tx.hash, "pre-execution overloaded: judged without simulation");
            return false;
        }
        let call = pending_call(rpc_tx);
        self.queued.fetch_add(1, Ordering::Relaxed);
        self.stats.started.fetch_add(1, Ordering::Relaxed);
        let (sim, permits, queued, stats, done, protected) = (
            Arc::clone(&self.sim),
            Arc::clone(&self.permits),
            Arc::clone(&self.queued),
            Arc::clone(&self.stats),
            self.done.clone(),
            Arc::clone(&self.protected),
        );
        tokio::spawn(async move {
            let permit = permits.acquire_owned().await;
            let plain = tx.clone();
            let joined = tokio::task::spawn_blocking(move || {
                let _permit = permit;
                pre_execute(&sim, &call, tx, &protected)
            })
            .await;
            queued.fetch_sub(1, Ordering::Relaxed);
            let (tx, error) = match joined {
                Ok(Ok(tx)) => {
                    stats.simulated.fetch_add(1, Ordering::Relaxed);
                    if !tx.succeeded() {
                        stats.reverted.fetch_add(1, Ordering::Relaxed);
                    }
                    (tx, None)
                }
                Ok(Err(e)) => {
                    stats.count(&e);
                    tracing::info!(tx = %plain.hash, reason = ?reason, error = %e, "simulation failed");
                    (plain, Some(e))
                }
                Err(e) => {
                    let e = SimError::Invalid(format!("simulation task: {e}"));
                    stats.count(&e);
                    (plain, Some(e))
                }
            };
            let _ = done.send(Done { tx, reason, error, seen });
        });
        true
    }

    /// A mined block: the cache moves to its state (dropping what it touched), and the
    /// contracts it created become fresh.
    pub fn on_block(&mut self, raw: &RawBlock, block: &Block) {
        let number = raw.number();
        let horizon = number.saturating_sub(self.config.fresh_blocks);
        for tx in &block.transactions {
            if let Some(c) = &tx.created {
                self.fresh.insert(c.address, number);
            }
            if tx.trace.is_some() {
                for created in Effects::of(tx).created {
                    self.fresh.insert(created, number);
                }
            }
        }
        self.fresh.retain(|_, at| *at >= horizon);
        if number <= self.sim.cache().block() {
            // An old block the collector is catching up on: the cache is already as new.
            return;
        }
        let touched = touched(raw, block);
        self.sim.advance(head_of(&raw.block), touched.as_deref());
    }

    /// A reorg: the cache is cleared back to the common ancestor.
    pub fn on_reorg(&mut self, common_ancestor: u64) {
        let mut head = self.sim.head();
        head.number = common_ancestor;
        self.sim.advance(head, None);
        self.fresh.retain(|_, at| *at <= common_ancestor);
    }
}

/// Every account a block's transactions could have changed, from their call trees (senders,
/// callees, log emitters, the fee recipient, withdrawals); `None` when a transaction has no
/// call tree (then anything may have changed).
fn touched(raw: &RawBlock, block: &Block) -> Option<Vec<Address>> {
    let mut out = BTreeSet::new();
    out.insert(raw.block.header.beneficiary);
    if let Some(w) = &raw.block.withdrawals {
        out.extend(w.iter().map(|w| w.address));
    }
    for tx in &block.transactions {
        let trace = tx.trace.as_ref()?;
        out.insert(Address::from(tx.from.0));
        let mut stack = vec![&trace.root];
        while let Some(f) = stack.pop() {
            out.insert(Address::from(f.from.0));
            if let Some(to) = f.to {
                out.insert(Address::from(to.0));
            }
            out.extend(f.logs.iter().map(|l| Address::from(l.address.0)));
            stack.extend(f.calls.iter());
        }
    }
    Some(out.into_iter().collect())
}

/// A pending transaction from the node, as the simulator runs it.
pub fn pending_call(rpc_tx: &RpcTransaction) -> PendingCall {
    PendingCall {
        hash: rpc_tx.tx_hash(),
        from: rpc_tx.from(),
        to: rpc_tx.to(),
        value: rpc_tx.value(),
        input: rpc_tx.input().clone(),
        gas_limit: rpc_tx.gas_limit(),
        max_fee_per_gas: alloy::consensus::Transaction::max_fee_per_gas(rpc_tx),
        max_priority_fee_per_gas: alloy::consensus::Transaction::max_priority_fee_per_gas(rpc_tx),
        nonce: rpc_tx.nonce(),
    }
}

/// Runs one simulation of `tx` (as `call`) and reads the balances of `protected` contracts it
/// would move: the pending transaction, pre-executed, for the engine. Blocks on the node on a
/// cache miss: call it off async workers.
pub fn pre_execute(
    sim: &Simulator,
    call: &PendingCall,
    tx: Transaction,
    protected: &BTreeSet<EvmAddress>,
) -> Result<Transaction, SimError> {
    let outcome = sim.simulate(call)?;
    let simulated = Simulated {
        success: outcome.success,
        error: outcome.error.clone(),
        gas_used: outcome.gas_used,
        state_block: outcome.state_block,
        balances: Vec::new(),
        max_fee_per_gas: call.max_fee_per_gas,
        max_priority_fee_per_gas: call.max_priority_fee_per_gas,
    };
    let mut tx = tx.with_simulation(outcome.trace, outcome.logs, simulated);
    if !tx.succeeded() || protected.is_empty() {
        return Ok(tx);
    }
    // The balances before, of what protected contracts would lose.
    let effects = Effects::of(&tx);
    let mut balances = Vec::new();
    for holder in protected {
        for (asset, delta) in effects.deltas_of(holder) {
            if delta.loss().is_zero() {
                continue;
            }
            let at = Address::from(holder.0);
            let amount = match asset {
                Asset::Native => Some(sim.native_balance(at)?),
                Asset::Token(token) => sim.token_balance(Address::from(token.0), at)?,
            };
            if let Some(amount) = amount {
                balances.push(AssetBalance { holder: *holder, asset, amount });
            }
        }
    }
    if let Some(s) = tx.simulated.as_mut() {
        s.balances = balances;
    }
    Ok(tx)
}
