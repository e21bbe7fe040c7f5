//! Errors of the EVM edge.

use std::path::PathBuf;

/// Why an EVM operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The RPC URL is not one alloy can connect to.
    #[error("bad RPC URL {url:?}: {message}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        message: String,
    },
    /// An RPC call failed (after retries, where retried).
    #[error("RPC {call} failed: {message}")]
    Rpc {
        /// The call, e.g. `eth_getBlockByNumber(12)`.
        call: String,
        /// The transport or node error.
        message: String,
    },
    /// The node answered something inconsistent (a block without its receipts, ...).
    #[error("RPC {call} gave an inconsistent answer: {message}")]
    Inconsistent {
        /// The call.
        call: String,
        /// What was wrong.
        message: String,
    },
    /// The node refuses the call-trace source the configuration asks for.
    #[error("the node does not offer {method} (trace = \"{mode}\"): {message}")]
    TracerRefused {
        /// The method refused, e.g. `debug_traceBlockByNumber`.
        method: String,
        /// The configured mode.
        mode: String,
        /// The node's error response, or why its answer was unreadable.
        message: String,
    },
    /// A reorg deeper than the blocks the cursor remembers.
    #[error("reorg deeper than {depth} blocks below block {at}: no common ancestor in the cursor")]
    DeepReorg {
        /// Where the reorg was noticed.
        at: u64,
        /// How many blocks the cursor remembers.
        depth: usize,
    },
    /// Reading or writing a file (cursor, recording, rules).
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The consumer of collected events has gone away.
    #[error("the event consumer has stopped")]
    Closed,
}

/// Result with [`ChainError`].
pub type Result<T, E = ChainError> = std::result::Result<T, E>;
