//! `vigil replay`: every detector and rule over recorded transactions, offline.
//!
//! A file is read whole, in any shape [`vigil_detect::replay`] knows (geth `callTracer` trees
//! and block arrays, parity `trace_*` rows and block objects, Vigil transactions) or as a
//! `vigil monitor --record` recording ([`vigil_chain::Recording`], converted exactly as a live
//! run converts it). Transactions go through one [`Engine`] in file order, a block at a time,
//! with no cooldown: recordings rarely carry times, and every finding is wanted.
//!
//! A file that cannot be read is reported with its position and the others still run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use vigil_core::{Alert, EvmChainId, Severity};
use vigil_detect::replay::ReplayTx;
use vigil_detect::{Block, BlockRef, Engine, Transaction};

/// One alert, with where its transaction is in the recording.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayAlert {
    /// `FILE#N`: the file and the transaction's position among its transactions (from 0).
    pub source: String,
    /// The transaction's hash, when the recording has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<String>,
    /// The block, when the recording names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block: Option<u64>,
    /// The detector (or `rule:NAME`).
    pub detector: String,
    /// How bad.
    pub severity: Severity,
    /// How sure, 0–100.
    pub confidence: u8,
    /// What kind.
    pub kind: String,
    /// For people.
    pub description: String,
    /// The addresses involved.
    pub addresses: Vec<String>,
    /// Details.
    pub metadata: BTreeMap<String, String>,
}

/// Counts of a replay.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplaySummary {
    /// Files read.
    pub files: usize,
    /// Files that could not be read.
    pub failed_files: usize,
    /// Transactions replayed.
    pub transactions: u64,
    /// Of which with a call tree.
    pub traced: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Transactions with at least one alert.
    pub transactions_alerted: u64,
    /// Alerts per detector and severity.
    pub by_detector: BTreeMap<String, BTreeMap<Severity, u64>>,
}

impl ReplaySummary {
    /// Alerts of `severity` or worse.
    pub fn at_least(&self, severity: Severity) -> u64 {
        self.by_detector
            .values()
            .flat_map(|m| m.iter())
            .filter(|(s, _)| **s >= severity)
            .map(|(_, n)| n)
            .sum()
    }
}

/// Why a file could not be replayed.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReplayError {
    /// The file.
    pub path: PathBuf,
    /// What was wrong, with the position.
    pub message: String,
}

/// Replays files through one engine.
pub struct Replayer {
    engine: Engine,
    chain: EvmChainId,
    /// What has been counted so far.
    pub summary: ReplaySummary,
}

/// A transaction with its position in the file and its hash, when known.
type Positioned = (usize, Option<String>, Transaction);

/// One file's transactions, grouped into blocks (`None`: pending or unknown block).
struct Parsed {
    blocks: Vec<(Option<BlockRef>, Vec<Positioned>)>,
}

fn hash_text(h: &vigil_core::B256) -> String {
    format!("0x{}", hex::encode(h.0))
}

fn group(txs: Vec<ReplayTx>) -> Parsed {
    let mut blocks: Vec<(Option<BlockRef>, Vec<Positioned>)> = Vec::new();
    for r in txs {
        let block = r.tx.block().copied();
        let same =
            blocks.last().is_some_and(|(b, _)| b.map(|b| b.number) == block.map(|b| b.number));
        if !same {
            blocks.push((block, Vec::new()));
        }
        if let Some((_, list)) = blocks.last_mut() {
            list.push((r.position, r.hash.as_ref().map(hash_text), r.tx));
        }
    }
    Parsed { blocks }
}

fn parse_recording(text: &str, chain: EvmChainId) -> Result<Parsed, String> {
    let recording = vigil_chain::Recording::from_json(text)
        .map_err(|e| format!("line {} column {}: {e}", e.line(), e.column()))?;
    let chain = if recording.chain_id == 0 { chain } else { EvmChainId(recording.chain_id) };
    let mut blocks = Vec::new();
    let mut position = 0usize;
    for (i, event) in recording.events.iter().enumerate() {
        match event {
            vigil_chain::Recorded::Pending { seen_at, tx } => {
                let t = vigil_chain::convert::pending_tx(chain, tx, *seen_at);
                blocks.push((None, vec![(position, Some(hash_text(&t.hash)), t)]));
                position += 1;
            }
            vigil_chain::Recorded::Block(raw) => {
                let block = vigil_chain::convert::block(chain, raw)
                    .map_err(|e| format!("event {i}: {e}"))?;
                let mut list = Vec::with_capacity(block.transactions.len());
                for t in block.transactions {
                    list.push((position, Some(hash_text(&t.hash)), t));
                    position += 1;
                }
                blocks.push((Some(block.header), list));
            }
        }
    }
    Ok(Parsed { blocks })
}

fn is_monitor_recording(text: &str) -> bool {
    // Cheap sniff of the first keys; the parser decides for real.
    let head: String = text.chars().take(4_096).collect();
    head.trim_start().starts_with('{')
        && head.contains("\"chain_id\"")
        && head.contains("\"events\"")
}

impl Replayer {
    /// A replayer over `engine` (its cooldown should be off); `chain` is used where a recording
    /// does not name one.
    pub fn new(engine: Engine, chain: EvmChainId) -> Self {
        Self { engine, chain, summary: ReplaySummary::default() }
    }

    /// Reads and replays one file's text, calling `on_alert` for each alert.
    pub fn replay_text(
        &mut self,
        path: &Path,
        text: &str,
        mut on_alert: impl FnMut(ReplayAlert),
    ) -> Result<(), ReplayError> {
        self.summary.files += 1;
        let parsed = if is_monitor_recording(text) {
            parse_recording(text, self.chain)
        } else {
            vigil_detect::replay::read(text, self.chain).map(group).map_err(|e| e.to_string())
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(message) => {
                self.summary.failed_files += 1;
                return Err(ReplayError { path: path.into(), message });
            }
        };
        let name = path.display().to_string();
        let mut alerts = Vec::new();
        for (header, txs) in parsed.blocks {
            for (position, hash, tx) in &txs {
                self.summary.transactions += 1;
                self.summary.traced += u64::from(tx.trace.is_some());
                alerts.clear();
                self.engine.process_tx_into(tx, &mut alerts);
                if !alerts.is_empty() {
                    self.summary.transactions_alerted += 1;
                }
                for a in alerts.drain(..) {
                    on_alert(self.record(&name, Some(*position), hash.clone(), a));
                }
            }
            // The end of the block, for detectors that judge a block as a whole.
            if let Some(header) = header {
                let end = Block {
                    chain: self.chain,
                    header,
                    parent_hash: vigil_core::B256([0; 32]),
                    transactions: Vec::new(),
                    balances: Vec::new(),
                };
                for a in self.engine.process_block(&end) {
                    on_alert(self.record(&name, None, None, a));
                }
            }
        }
        Ok(())
    }

    /// Reads `path` and replays it.
    pub fn replay_file(
        &mut self,
        path: &Path,
        on_alert: impl FnMut(ReplayAlert),
    ) -> Result<(), ReplayError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.summary.files += 1;
                self.summary.failed_files += 1;
                return Err(ReplayError { path: path.into(), message: e.to_string() });
            }
        };
        self.replay_text(path, &text, on_alert)
    }

    fn record(
        &mut self,
        file: &str,
        position: Option<usize>,
        hash: Option<String>,
        a: Alert,
    ) -> ReplayAlert {
        self.summary.alerts += 1;
        *self
            .summary
            .by_detector
            .entry(a.detector.clone())
            .or_default()
            .entry(a.severity)
            .or_default() += 1;
        ReplayAlert {
            source: match position {
                Some(p) => format!("{file}#{p}"),
                None => format!("{file}#block-{}", a.tx.block.unwrap_or(0)),
            },
            tx_hash: hash,
            block: a.tx.block,
            detector: a.detector,
            severity: a.severity,
            confidence: a.confidence,
            kind: a.kind.to_string(),
            description: a.description,
            addresses: a.addresses.iter().map(|x| x.to_string()).collect(),
            metadata: a.metadata,
        }
    }
}
