//! `vigil-detect`: turns normalised EVM transactions into alerts within microseconds.
//!
//! It owns:
//! - the transaction model ([`model`]): pending and mined transactions, decoded calls
//!   ([`calls`]) and logs ([`events`]), call trees ([`trace`]) and what a transaction did,
//!   derived once from them for every detector ([`effects`]);
//! - readers of recorded traces for `vigil replay` ([`replay`]);
//! - the indicator index ([`index`]): hash lookups of flagged addresses, code hashes, selectors,
//!   transactions and domains, fed by the node from ledger verdicts and imported feeds;
//! - the [`Detector`] seam and six built-in detectors ([`detectors`]): indicator match, outflow
//!   rate limit, flash-loan exploit pattern, volume anomaly, suspicious governance proposal,
//!   fresh attacker contract;
//! - user rules in CEL ([`rules`]), with contracts declared by their JSON ABI ([`abi`]);
//! - attack fingerprints ([`fingerprint`]) and the shared detection content of other
//!   participants — fingerprints and rule files — loaded at run time ([`shared`]);
//! - the [`Engine`] that runs them all with a cooldown so one incident is one alert.
//!
//! Invariants: no I/O, no clock (time comes from blocks and collectors), no panics on any
//! input (malformed calldata or logs stay undecoded). Collectors live in `vigil-chain`.

pub mod abi;
pub mod calls;
pub mod config;
pub mod cooldown;
pub mod detector;
pub mod detectors;
pub mod effects;
pub mod engine;
pub mod events;
pub mod fingerprint;
pub mod index;
pub mod model;
pub mod replay;
pub mod rules;
pub mod shared;
pub mod trace;

pub use alloy_primitives::{Bytes, U256};
pub use config::{DetectConfig, ProtectedContract};
pub use detector::{Context, Detector, Finding};
pub use effects::{Asset, Effects};
pub use engine::{Engine, EngineStats, EngineUpdate};
pub use index::{IndexError, IndicatorHit, IndicatorIndex, IndicatorMeta, IndicatorUpdate};
pub use model::{Block, BlockRef, CreatedContract, Gas, Log, TokenBalance, Transaction, TxStatus};
pub use rules::{RuleError, RuleSet};
pub use shared::{ContentError, DetectionUpdate, Provenance, SharedDetection};
pub use trace::{CallFrame, CallKind, CallTrace};
