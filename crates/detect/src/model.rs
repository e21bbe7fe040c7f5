//! The normalised transaction model every detector reads: one shape for a pending
//! (mempool) transaction and a mined one, whatever the RPC node or recording it came from.
//!
//! A pending transaction has calldata but no logs; a mined one adds its block, status and
//! decoded logs. Collectors (`vigil-chain`) build these; detectors never see RPC types.

use alloy_primitives::{Bytes, U256};
use serde::{Deserialize, Serialize};
use vigil_core::{B256, EvmAddress, EvmChainId, Selector, TxRef};

use crate::calls::{Call, decode_call};
use crate::effects::Asset;
use crate::events::{Event, decode_log};
use crate::trace::CallTrace;

/// The block a transaction was mined in.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Timestamp, seconds since the Unix epoch.
    pub timestamp: u64,
}

/// Where a transaction is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// In the mempool, not yet in a block.
    Pending {
        /// When the collector first saw it, seconds since the Unix epoch.
        seen_at: u64,
    },
    /// In a block.
    Mined {
        /// The block.
        block: BlockRef,
        /// Position in the block.
        index: u64,
        /// `false` when it reverted (its logs are then empty).
        success: bool,
        /// Gas used.
        gas_used: u64,
    },
}

/// A contract created by a transaction (`to` empty).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CreatedContract {
    /// Its address.
    pub address: EvmAddress,
    /// Keccak-256 of its runtime code; `None` when the collector could not read the code.
    pub code_hash: Option<B256>,
    /// Its runtime code (empty when unknown).
    pub code: Bytes,
}

/// One log, with its decoded event when it is one detectors understand.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Log {
    /// The contract that emitted it.
    pub address: EvmAddress,
    /// Topics, `topic0` first.
    pub topics: Vec<B256>,
    /// Non-indexed data.
    pub data: Bytes,
    /// The decoded event, `None` for unknown or malformed logs.
    pub event: Option<Event>,
}

impl Log {
    /// A log, decoded.
    pub fn new(address: EvmAddress, topics: Vec<B256>, data: Bytes) -> Self {
        let event = decode_log(&topics, &data);
        Self { address, topics, data, event }
    }
}

/// What a transaction offers to pay for gas, as its collector read it (zero when unknown).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct Gas {
    /// Gas limit.
    pub limit: u64,
    /// Gas price, wei: a legacy transaction's own, else the effective price once mined.
    pub price: u128,
    /// EIP-1559 max fee per gas, wei (`None` for a legacy transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_fee_per_gas: Option<u128>,
    /// EIP-1559 max priority fee per gas, wei (`None` for a legacy transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority_fee_per_gas: Option<u128>,
}

impl Gas {
    fn is_unknown(&self) -> bool {
        *self == Self::default()
    }
}

/// A normalised EVM transaction, pending or mined.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Transaction {
    /// The chain it is on.
    pub chain: EvmChainId,
    /// Its hash.
    pub hash: B256,
    /// The sender.
    pub from: EvmAddress,
    /// The recipient, `None` for a contract creation.
    pub to: Option<EvmAddress>,
    /// Wei sent.
    pub value: U256,
    /// The sender's nonce.
    pub nonce: u64,
    /// Gas limit and prices.
    #[serde(default, skip_serializing_if = "Gas::is_unknown")]
    pub gas: Gas,
    /// Calldata (or init code for a creation).
    pub input: Bytes,
    /// The decoded top-level call.
    pub call: Call,
    /// The contract it created, when mined and `to` is empty.
    pub created: Option<CreatedContract>,
    /// Logs, in order (empty while pending or when it reverted).
    pub logs: Vec<Log>,
    /// Pending or mined.
    pub status: TxStatus,
    /// The call tree, when the collector could trace it (or a simulation produced it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<CallTrace>,
    /// For a pending transaction that was pre-executed: what the simulation said. Its
    /// `trace` and `logs` are then the simulated ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulated: Option<Simulated>,
}

/// A balance a simulation read before running a pending transaction: what a protected
/// contract held of an asset the transaction would move.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct AssetBalance {
    /// The holder (a protected contract).
    pub holder: EvmAddress,
    /// The asset.
    pub asset: Asset,
    /// Its balance on the state the simulation ran on.
    pub amount: U256,
}

/// What pre-executing a pending transaction on the latest state said (`vigil-fork`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Simulated {
    /// Whether it would succeed.
    pub success: bool,
    /// Why not (`execution reverted`, `out of gas`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Gas it would use.
    pub gas_used: u64,
    /// The block whose state it ran on.
    pub state_block: u64,
    /// Protected contracts' balances before it, for the assets it would move.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub balances: Vec<AssetBalance>,
    /// Its max fee per gas (gas price for a legacy transaction), wei.
    pub max_fee_per_gas: u128,
    /// Its max priority fee per gas, wei (`None` for a legacy transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_priority_fee_per_gas: Option<u128>,
}

impl Transaction {
    /// A pending transaction as seen in the mempool; `call` is decoded from `input`.
    #[allow(clippy::too_many_arguments)]
    pub fn pending(
        chain: EvmChainId,
        hash: B256,
        from: EvmAddress,
        to: Option<EvmAddress>,
        value: U256,
        nonce: u64,
        input: Bytes,
        seen_at: u64,
    ) -> Self {
        let call = if to.is_some() { decode_call(&input, from) } else { Call::Other };
        Self {
            chain,
            hash,
            from,
            to,
            value,
            nonce,
            gas: Gas::default(),
            input,
            call,
            created: None,
            logs: Vec::new(),
            status: TxStatus::Pending { seen_at },
            trace: None,
            simulated: None,
        }
    }

    /// The same transaction, mined: adds its block, outcome, logs and created contract.
    pub fn into_mined(
        mut self,
        block: BlockRef,
        index: u64,
        success: bool,
        gas_used: u64,
        logs: Vec<Log>,
        created: Option<CreatedContract>,
    ) -> Self {
        self.status = TxStatus::Mined { block, index, success, gas_used };
        self.logs = logs;
        self.created = created;
        self
    }

    /// The same transaction with its gas limit and prices.
    pub fn with_gas(mut self, gas: Gas) -> Self {
        self.gas = gas;
        self
    }

    /// The same transaction with its call tree.
    pub fn with_trace(mut self, trace: CallTrace) -> Self {
        self.trace = Some(trace);
        self
    }

    /// The 4-byte selector of the call, if `input` has one and this is not a creation.
    pub fn selector(&self) -> Option<Selector> {
        self.to.and(Selector::from_calldata(&self.input))
    }

    /// Whether it is still in the mempool.
    pub fn is_pending(&self) -> bool {
        matches!(self.status, TxStatus::Pending { .. })
    }

    /// The block it was mined in.
    pub fn block(&self) -> Option<&BlockRef> {
        match &self.status {
            TxStatus::Mined { block, .. } => Some(block),
            TxStatus::Pending { .. } => None,
        }
    }

    /// Whether it succeeded: the receipt's status once mined; while pending, what its
    /// simulation said, else `true` (not yet known).
    pub fn succeeded(&self) -> bool {
        match self.status {
            TxStatus::Mined { success, .. } => success,
            TxStatus::Pending { .. } => self.simulated.as_ref().is_none_or(|s| s.success),
        }
    }

    /// The same pending transaction, pre-executed: the simulation's call tree, logs and
    /// outcome.
    pub fn with_simulation(
        mut self,
        trace: CallTrace,
        logs: Vec<Log>,
        simulated: Simulated,
    ) -> Self {
        self.trace = Some(trace);
        self.logs = logs;
        self.simulated = Some(simulated);
        self
    }

    /// Whether it is a pending transaction that was pre-executed.
    pub fn is_simulated(&self) -> bool {
        self.simulated.is_some()
    }

    /// Seconds since the Unix epoch: the block's timestamp, or when it was first seen.
    pub fn time(&self) -> u64 {
        match self.status {
            TxStatus::Mined { block, .. } => block.timestamp,
            TxStatus::Pending { seen_at } => seen_at,
        }
    }

    /// The reference alerts carry.
    pub fn tx_ref(&self) -> TxRef {
        TxRef {
            chain: self.chain,
            hash: self.hash,
            from: self.from,
            to: self.to,
            block: self.block().map(|b| b.number),
        }
    }

    /// The decoded events with their emitters.
    pub fn events(&self) -> impl Iterator<Item = (EvmAddress, &Event)> {
        self.logs.iter().filter_map(|l| l.event.as_ref().map(|e| (l.address, e)))
    }
}

/// A token balance a collector read from the chain (`balanceOf` at the parent block), so
/// detectors can weigh outflows against what a protected contract holds.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct TokenBalance {
    /// The holder (a protected contract).
    pub holder: EvmAddress,
    /// The ERC-20 token.
    pub token: EvmAddress,
    /// The balance before the block's first transaction.
    pub amount: U256,
}

/// A mined block: its transactions in order and the balances read before it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Block {
    /// The chain.
    pub chain: EvmChainId,
    /// Number, hash and timestamp.
    pub header: BlockRef,
    /// The parent's hash.
    pub parent_hash: B256,
    /// Its transactions, each [`TxStatus::Mined`] in this block.
    pub transactions: Vec<Transaction>,
    /// Balances of protected contracts at the parent block, for tokens this block moves.
    pub balances: Vec<TokenBalance>,
}
