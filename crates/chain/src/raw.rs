//! What collectors fetch, in the node's own JSON-RPC shapes: a block with its transactions, its
//! receipts, the code of the contracts it created and the balances of protected contracts
//! before it; a pending transaction with when it was seen. A block's call traces are kept as
//! the call trees the tracer's answer was read into ([`CallTrace`]), whichever tracer gave them.
//! Recordings ([`Recording`]) are lists of these, so a replay goes through exactly the
//! conversion a live run does.

use std::collections::BTreeMap;
use std::path::Path;

use alloy::primitives::{Address, Bytes};
use alloy::rpc::types::{Block as RpcBlock, Transaction as RpcTransaction, TransactionReceipt};
use serde::{Deserialize, Serialize};
use vigil_detect::TokenBalance;
use vigil_detect::trace::CallTrace;

use crate::error::{ChainError, Result};

/// A mined block as fetched: full transactions, receipts, created code, protected balances and,
/// when the node traces blocks, call trees.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RawBlock {
    /// The block with full transaction objects.
    pub block: RpcBlock,
    /// One receipt per transaction, in order.
    pub receipts: Vec<TransactionReceipt>,
    /// Runtime code of the contracts created in the block (top-level creations).
    #[serde(default)]
    pub codes: BTreeMap<Address, Bytes>,
    /// Balances of protected contracts at the parent block, for the tokens this block moves.
    #[serde(default)]
    pub balances: Vec<TokenBalance>,
    /// One call tree per transaction, in block order; empty when the block was not traced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traces: Vec<CallTrace>,
}

impl RawBlock {
    /// The block number.
    pub fn number(&self) -> u64 {
        self.block.header.number
    }
}

/// One collected event, as recorded.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recorded {
    /// A transaction seen in the mempool.
    Pending {
        /// When it was seen, seconds since the Unix epoch.
        seen_at: u64,
        /// The transaction.
        tx: Box<RpcTransaction>,
    },
    /// A mined block.
    Block(Box<RawBlock>),
}

/// A recording of collected events, for offline tests and demos.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recording {
    /// The EVM chain id.
    pub chain_id: u64,
    /// The events, in the order they were collected.
    pub events: Vec<Recorded>,
}

impl Recording {
    /// Parses the JSON form.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        vigil_detect::trace::from_deep_str(text)
    }

    /// Reads a recording file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ChainError::File { path: path.into(), message: e.to_string() })?;
        Self::from_json(&text)
            .map_err(|e| ChainError::File { path: path.into(), message: e.to_string() })
    }

    /// Writes it as pretty JSON (to a temporary file renamed into place).
    pub fn write(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| ChainError::File { path: path.into(), message: e.to_string() })?;
        crate::cursor::write_atomically(path, text.as_bytes())
    }
}
