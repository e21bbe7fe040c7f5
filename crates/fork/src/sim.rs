//! The simulator: one pending transaction at a time per thread, on the state of the cache's
//! block, in the environment of the block expected next.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use parking_lot::RwLock;
use revm::context::{BlockEnv, Context, TxEnv};
use revm::context_interface::result::{ExecutionResult, HaltReason, Output};
use revm::database::{DatabaseRef, WrapDatabaseRef};
use revm::handler::MainBuilder as _;
use revm::inspector::{InspectEvm as _, Inspector};
use revm::interpreter::interpreter::EthInterpreter;
use revm::interpreter::{
    CallInputs, CallOutcome, CreateInputs, CreateOutcome, InstructionResult, Interpreter,
};
use revm::primitives::hardfork::SpecId;
use revm::state::AccountInfo;
use revm::{MainContext as _, bytecode::Bytecode};
use revm_inspectors::tracing::{TracingInspector, TracingInspectorConfig};
use vigil_detect::model::Log;
use vigil_detect::trace::CallTrace;

use crate::cache::StateCache;
use crate::convert::{call_trace, ev};
use crate::source::{ForkError, StateSource};

/// The chain's head, as the simulator needs it to build the next block's environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Head {
    /// Its number.
    pub number: u64,
    /// Its timestamp, seconds.
    pub timestamp: u64,
    /// Its base fee per gas, wei.
    pub base_fee: u64,
    /// Its gas limit.
    pub gas_limit: u64,
    /// Its fee recipient.
    pub coinbase: Address,
    /// Its `prevrandao` (`mixHash`).
    pub prevrandao: B256,
}

/// A pending transaction, as the simulator runs it.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PendingCall {
    /// Its hash (for logs).
    pub hash: B256,
    /// The sender.
    pub from: Address,
    /// The recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Wei sent.
    pub value: U256,
    /// Calldata or init code.
    pub input: Bytes,
    /// Its gas limit.
    pub gas_limit: u64,
    /// Its gas price (legacy) or max fee per gas (EIP-1559), wei.
    pub max_fee_per_gas: u128,
    /// Its max priority fee per gas (EIP-1559), wei.
    pub max_priority_fee_per_gas: Option<u128>,
    /// Its nonce.
    pub nonce: u64,
}

/// A native-currency balance a simulation would change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NativeChange {
    /// The account.
    pub account: Address,
    /// Its balance before, wei.
    pub before: U256,
    /// Its balance after, wei.
    pub after: U256,
}

/// What a pending transaction would do if mined next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Whether it would succeed.
    pub success: bool,
    /// Why not: `execution reverted`, `out of gas`, ...
    pub error: Option<String>,
    /// Gas it would use.
    pub gas_used: u64,
    /// Return data (or the created contract's code).
    pub output: Bytes,
    /// Its call tree, with each frame's logs.
    pub trace: CallTrace,
    /// Its logs, in order (empty when it would fail).
    pub logs: Vec<Log>,
    /// Native balances it would change (the sender's gas payment included).
    pub native: Vec<NativeChange>,
    /// The block whose state it ran on.
    pub state_block: u64,
    /// How long it took.
    pub elapsed: Duration,
}

/// Why a simulation produced no outcome. Every one is counted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// State could not be read (the node refused, a read timed out, nothing to read from).
    #[error("state: {0}")]
    State(#[from] ForkError),
    /// The EVM refused the transaction before running it (fees, balance, gas limit).
    #[error("invalid transaction: {0}")]
    Invalid(String),
    /// It ran past the simulation's deadline.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}

impl SimError {
    /// A short label for metrics: `state`, `invalid` or `timeout`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::State(_) => "state",
            Self::Invalid(_) => "invalid",
            Self::Timeout(_) => "timeout",
        }
    }
}

/// Counters of a simulator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Simulations that would succeed.
    pub succeeded: u64,
    /// Simulations that would revert.
    pub reverted: u64,
    /// Simulations that would halt (out of gas, invalid opcode, ...).
    pub halted: u64,
    /// Simulations that failed ([`SimError`]).
    pub failed: u64,
}

/// Runs pending transactions on the cached state. Shared by every simulation thread.
pub struct Simulator {
    chain_id: u64,
    spec: SpecId,
    cache: Arc<StateCache>,
    source: Option<Arc<dyn StateSource>>,
    head: RwLock<Head>,
    max_gas: u64,
    timeout: Duration,
    succeeded: AtomicU64,
    reverted: AtomicU64,
    halted: AtomicU64,
    failed: AtomicU64,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("chain_id", &self.chain_id)
            .field("head", &*self.head.read())
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

/// The database revm reads: the cache, then the node.
struct ForkDb {
    cache: Arc<StateCache>,
    source: Option<Arc<dyn StateSource>>,
    block: u64,
    deadline: Instant,
}

impl ForkDb {
    fn source(&self, what: impl FnOnce() -> String) -> Result<&dyn StateSource, ForkError> {
        let source = self.source.as_deref().ok_or_else(|| ForkError::Missing { what: what() })?;
        Ok(source)
    }
}

/// An EVM kept between simulations: building one allocates its whole frame stack (tens of
/// microseconds, more than a simple transfer takes to run), so each simulation thread keeps
/// one (revm's EVM is not `Send`) and every simulator on that thread reuses it.
type ForkEvm =
    revm::handler::MainnetEvm<revm::handler::MainnetContext<WrapDatabaseRef<ForkDb>>, Bounded>;

thread_local! {
    static EVM: std::cell::RefCell<Option<ForkEvm>> = const { std::cell::RefCell::new(None) };
}

/// What a parked EVM points at: nothing of any simulator's.
static PARKED: std::sync::LazyLock<Arc<StateCache>> =
    std::sync::LazyLock::new(|| Arc::new(StateCache::new(0, 1)));

impl DatabaseRef for ForkDb {
    type Error = ForkError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, ForkError> {
        if let Some(account) = self.cache.account(&address) {
            return Ok(account);
        }
        let account = self.source(|| format!("account {address}"))?.account(
            address,
            self.block,
            self.deadline,
        )?;
        self.cache.insert_account(self.block, address, account.clone());
        Ok(account)
    }

    fn code_by_hash_ref(&self, hash: B256) -> Result<Bytecode, ForkError> {
        // Code comes with its account, so a miss here means the account was dropped meanwhile.
        self.cache.code(&hash).ok_or_else(|| ForkError::Missing { what: format!("code {hash}") })
    }

    fn storage_ref(&self, address: Address, slot: U256) -> Result<U256, ForkError> {
        if let Some(value) = self.cache.storage(&address, &slot) {
            return Ok(value);
        }
        let value = self.source(|| format!("storage {address}[{slot:#x}]"))?.storage(
            address,
            slot,
            self.block,
            self.deadline,
        )?;
        self.cache.insert_storage(self.block, address, slot, value);
        Ok(value)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, ForkError> {
        if let Some(hash) = self.cache.block_hash(number) {
            return Ok(hash);
        }
        let hash =
            self.source(|| format!("block hash {number}"))?.block_hash(number, self.deadline)?;
        self.cache.insert_block_hash(number, hash);
        Ok(hash)
    }
}

/// A tracer that also stops the EVM at the deadline (checked every [`Bounded::EVERY`] steps;
/// the outcome is then discarded as a [`SimError::Timeout`]).
struct Bounded {
    tracer: TracingInspector,
    deadline: Instant,
    steps: u32,
    timed_out: bool,
}

impl Bounded {
    const EVERY: u32 = 4_096;
}

impl<CTX> Inspector<CTX, EthInterpreter> for Bounded
where
    TracingInspector: Inspector<CTX, EthInterpreter>,
{
    fn initialize_interp(&mut self, interp: &mut Interpreter<EthInterpreter>, context: &mut CTX) {
        self.tracer.initialize_interp(interp, context);
    }

    fn step(&mut self, interp: &mut Interpreter<EthInterpreter>, _context: &mut CTX) {
        self.steps = self.steps.wrapping_add(1);
        if !self.timed_out
            && self.steps.is_multiple_of(Self::EVERY)
            && Instant::now() >= self.deadline
        {
            self.timed_out = true;
        }
        if self.timed_out {
            // Each frame halts at its next step, so the whole call stack unwinds.
            interp.halt(InstructionResult::OutOfGas);
        }
        // The tracer records no steps: its own `step` would only check a byte budget that
        // call frames and logs alone do not reach in the gas a simulation may use.
    }

    fn log(&mut self, context: &mut CTX, log: alloy_primitives::Log) {
        Inspector::<CTX, EthInterpreter>::log(&mut self.tracer, context, log);
    }

    fn call(&mut self, context: &mut CTX, inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.tracer.call(context, inputs)
    }

    fn call_end(&mut self, context: &mut CTX, inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.tracer.call_end(context, inputs, outcome);
    }

    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.tracer.create(context, inputs)
    }

    fn create_end(
        &mut self,
        context: &mut CTX,
        inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.tracer.create_end(context, inputs, outcome);
    }

    fn selfdestruct(&mut self, contract: Address, target: Address, value: U256) {
        Inspector::<CTX, EthInterpreter>::selfdestruct(&mut self.tracer, contract, target, value);
    }
}

fn halt_text(reason: &HaltReason) -> String {
    match reason {
        HaltReason::OutOfGas(_) => "out of gas".into(),
        other => format!("{other:?}"),
    }
}

impl Simulator {
    /// A simulator for chain `chain_id` (rules of `spec`) over `cache`, reading misses from
    /// `source` (`None`: the cache only). Each simulation runs with at most `max_gas` gas and
    /// for at most `timeout`.
    pub fn new(
        chain_id: u64,
        spec: SpecId,
        cache: Arc<StateCache>,
        source: Option<Arc<dyn StateSource>>,
        max_gas: u64,
        timeout: Duration,
    ) -> Self {
        Self {
            chain_id,
            spec,
            cache,
            source,
            head: RwLock::new(Head::default()),
            max_gas,
            timeout,
            succeeded: AtomicU64::new(0),
            reverted: AtomicU64::new(0),
            halted: AtomicU64::new(0),
            failed: AtomicU64::new(0),
        }
    }

    fn db(&self, deadline: Instant) -> ForkDb {
        ForkDb {
            cache: Arc::clone(&self.cache),
            source: self.source.clone(),
            block: self.cache.block(),
            deadline,
        }
    }

    fn tracer(deadline: Instant) -> Bounded {
        Bounded {
            tracer: TracingInspector::new(
                TracingInspectorConfig::none().record_logs().set_record_inputs(true),
            ),
            deadline,
            steps: 0,
            timed_out: false,
        }
    }

    /// Gives an EVM back to this thread, pointing at no simulator's state.
    fn park(mut evm: ForkEvm, deadline: Instant) {
        evm.ctx.journaled_state.database = WrapDatabaseRef(ForkDb {
            cache: Arc::clone(&PARKED),
            source: None,
            block: 0,
            deadline,
        });
        EVM.with(|e| *e.borrow_mut() = Some(evm));
    }

    /// This thread's EVM (a new one the first time, or for other rules), set up for a
    /// simulation until `deadline`.
    fn evm(&self, block: BlockEnv, deadline: Instant) -> ForkEvm {
        let parked = EVM.with(|e| e.borrow_mut().take()).filter(|e| e.ctx.cfg.spec == self.spec);
        match parked {
            Some(mut evm) => {
                evm.ctx.journaled_state.database = WrapDatabaseRef(self.db(deadline));
                evm.ctx.block = block;
                evm.ctx.cfg.chain_id = self.chain_id;
                evm.ctx.error = Ok(());
                evm.inspector = Self::tracer(deadline);
                evm
            }
            None => {
                let (chain_id, spec) = (self.chain_id, self.spec);
                Context::mainnet()
                    .with_db(WrapDatabaseRef(self.db(deadline)))
                    .with_block(block)
                    .modify_cfg_chained(|cfg| {
                        cfg.chain_id = chain_id;
                        cfg.spec = spec;
                        // A queued transaction runs ahead of the ones before it.
                        cfg.disable_nonce_check = true;
                    })
                    .build_mainnet_with_inspector(Self::tracer(deadline))
            }
        }
    }

    /// Its cache.
    pub fn cache(&self) -> &Arc<StateCache> {
        &self.cache
    }

    /// The head the next simulations build on.
    pub fn head(&self) -> Head {
        *self.head.read()
    }

    /// A new head: the cache moves to its state, dropping `touched` (every account when
    /// `None`).
    pub fn advance(&self, head: Head, touched: Option<&[Address]>) {
        self.cache.advance(head.number, touched);
        *self.head.write() = head;
    }

    /// Sets the head without touching the cache (at start, when the cache is empty).
    pub fn set_head(&self, head: Head) {
        *self.head.write() = head;
    }

    /// Its counters.
    pub fn stats(&self) -> SimStats {
        SimStats {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            reverted: self.reverted.load(Ordering::Relaxed),
            halted: self.halted.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    fn block_env(&self, head: &Head, call: &PendingCall) -> BlockEnv {
        // A transaction that cannot pay this base fee is still worth judging: it may be mined
        // once the fee falls.
        let base_fee = head.base_fee.min(u64::try_from(call.max_fee_per_gas).unwrap_or(u64::MAX));
        BlockEnv {
            number: U256::from(head.number.saturating_add(1)),
            beneficiary: head.coinbase,
            timestamp: U256::from(head.timestamp.saturating_add(1)),
            gas_limit: head.gas_limit.max(self.max_gas),
            basefee: base_fee,
            prevrandao: Some(head.prevrandao),
            ..BlockEnv::default()
        }
    }

    /// Runs `call` on the state after the cache's block, as if mined in the next one. Reverts
    /// and halts are outcomes (with `success: false`); missing state, an invalid transaction
    /// or the deadline are errors. Runs on the calling thread and may block on the node:
    /// call it off async workers.
    pub fn simulate(&self, call: &PendingCall) -> Result<Outcome, SimError> {
        let result = self.run(call);
        let counter = match &result {
            Ok(o) if o.success => &self.succeeded,
            Ok(o) if o.error.as_deref() == Some("execution reverted") => &self.reverted,
            Ok(_) => &self.halted,
            Err(_) => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = &result {
            tracing::debug!(tx = %call.hash, error = %e, "simulation failed");
        }
        result
    }

    fn run(&self, call: &PendingCall) -> Result<Outcome, SimError> {
        let started = Instant::now();
        let deadline = started + self.timeout;
        let head = self.head();
        let block = self.cache.block();
        let chain_id = self.chain_id;
        let gas_limit = call.gas_limit.min(self.max_gas);
        let mut tx = TxEnv::builder()
            .caller(call.from)
            .kind(call.to.map_or(TxKind::Create, TxKind::Call))
            .value(call.value)
            .data(call.input.clone())
            .gas_limit(gas_limit)
            .nonce(call.nonce)
            .chain_id(Some(chain_id));
        tx = match call.max_priority_fee_per_gas {
            Some(tip) => tx
                .tx_type(Some(2))
                .max_fee_per_gas(call.max_fee_per_gas)
                .gas_priority_fee(Some(tip.min(call.max_fee_per_gas))),
            None => tx.tx_type(Some(0)).gas_price(call.max_fee_per_gas),
        };
        let tx = tx.build_fill();
        let mut evm = self.evm(self.block_env(&head, call), deadline);
        let executed = evm.inspect_tx(tx);
        let timed_out = evm.inspector.timed_out;
        let arena = std::mem::take(&mut evm.inspector.tracer).into_traces();
        Self::park(evm, deadline);
        let executed = match executed {
            Ok(r) => r,
            Err(revm::context_interface::result::EVMError::Database(e)) => return Err(e.into()),
            Err(e) if timed_out => {
                let _ = e;
                return Err(SimError::Timeout(started.elapsed()));
            }
            Err(e) => return Err(SimError::Invalid(e.to_string())),
        };
        if timed_out {
            return Err(SimError::Timeout(started.elapsed()));
        }
        let trace = call_trace(arena.nodes())
            .ok_or_else(|| SimError::Invalid("the EVM recorded no call".into()))?;
        let (success, error, gas_used, output, logs) = match executed.result {
            ExecutionResult::Success { gas, logs, output, .. } => {
                let output = match output {
                    Output::Call(b) => b,
                    Output::Create(b, _) => b,
                };
                (true, None, gas.tx_gas_used(), output, logs)
            }
            ExecutionResult::Revert { gas, output, .. } => (
                false,
                Some("execution reverted".to_string()),
                gas.tx_gas_used(),
                output,
                Vec::new(),
            ),
            ExecutionResult::Halt { reason, gas, .. } => {
                (false, Some(halt_text(&reason)), gas.tx_gas_used(), Bytes::new(), Vec::new())
            }
        };
        let logs = logs
            .into_iter()
            .map(|l| {
                Log::new(
                    ev(l.address),
                    l.data.topics().iter().map(|t| vigil_core::B256(t.0)).collect(),
                    l.data.data.clone(),
                )
            })
            .collect();
        let mut native: Vec<NativeChange> = executed
            .state
            .iter()
            .filter_map(|(address, account)| {
                let before = account.original_info().balance;
                let after = account.info.balance;
                (before != after).then_some(NativeChange { account: *address, before, after })
            })
            .collect();
        native.sort_by_key(|c| c.account);
        Ok(Outcome {
            success,
            error,
            gas_used,
            output,
            trace,
            logs,
            native,
            state_block: block,
            elapsed: started.elapsed(),
        })
    }

    /// `balanceOf(holder)` of an ERC-20 `token` on the cached state (a static call, not
    /// traced); `None` when the call fails or returns no word.
    pub fn token_balance(&self, token: Address, holder: Address) -> Result<Option<U256>, SimError> {
        let mut input = Vec::with_capacity(36);
        input.extend_from_slice(&[0x70, 0xa0, 0x82, 0x31]);
        input.extend_from_slice(&[0u8; 12]);
        input.extend_from_slice(holder.as_slice());
        let head = self.head();
        let call = PendingCall { to: Some(token), ..PendingCall::default() };
        let chain_id = self.chain_id;
        let tx = TxEnv::builder()
            .caller(Address::ZERO)
            .kind(TxKind::Call(token))
            .data(input.into())
            .gas_limit(200_000)
            .chain_id(Some(chain_id))
            .tx_type(Some(0))
            .build_fill();
        let deadline = Instant::now() + self.timeout;
        let mut evm = self.evm(self.block_env(&head, &call), deadline);
        let executed = evm.inspect_tx(tx);
        Self::park(evm, deadline);
        let executed = match executed {
            Ok(r) => r,
            Err(revm::context_interface::result::EVMError::Database(e)) => return Err(e.into()),
            Err(e) => return Err(SimError::Invalid(e.to_string())),
        };
        Ok(match executed.result {
            ExecutionResult::Success { output: Output::Call(out), .. } if out.len() >= 32 => {
                Some(U256::from_be_slice(&out[..32]))
            }
            _ => None,
        })
    }

    /// The native balance of `account` on the cached state.
    pub fn native_balance(&self, account: Address) -> Result<U256, SimError> {
        let db = self.db(Instant::now() + self.timeout);
        Ok(db.basic_ref(account)?.map(|a| a.balance).unwrap_or_default())
    }
}
