//! `vigil-chain`: Vigil's EVM edge, built on alloy.
//!
//! It owns:
//! - the JSON-RPC client ([`rpc`]) with retries and backoff ([`backoff`]);
//! - conversion of alloy's RPC types into `vigil-detect`'s model ([`convert`]);
//! - collectors ([`collector`]): mined blocks with receipts, logs and call traces (HTTP polling
//!   or WebSocket subscription, persistent [`cursor`], reorgs replayed; traces from the tracer
//!   the node offers, [`trace`]), pending transactions, and replays of recorded JSON ([`raw`]);
//! - the [`monitor`], which wires collectors to the detection engine and an alert sink, with
//!   pre-execution of pending transactions ([`presim`], revm through `vigil-fork`);
//! - the Solidity contracts the chain tests deploy (`contracts/`, compiled artifacts committed).
//!
//! - on-chain actions ([`executor`]): a guardian key's pause, outbidding a pending exploit
//!   when pre-execution caught it.
//!
//! Invariants: no block between the cursor and the head is skipped; a block's cursor is saved
//! only after its alerts are delivered; RPC URLs appear in logs only without credentials.

pub mod backoff;
pub mod collector;
pub mod convert;
pub mod cursor;
pub mod error;
pub mod executor;
pub mod monitor;
pub mod presim;
pub mod raw;
pub mod rpc;
pub mod scenario;
pub mod trace;

pub use backoff::Backoff;
pub use collector::{ChainEvent, Collector};
pub use cursor::{Cursor, CursorStore, FileCursorStore, MemoryCursorStore};
pub use error::{ChainError, Result};
pub use monitor::{AlertSink, Monitor, MonitorConfig, MonitorError, MonitorStats, SinkClosed, run};
pub use raw::{RawBlock, Recorded, Recording};
pub use rpc::Rpc;
pub use trace::{TraceMode, TraceSource};
