//! Call traces from the node: which source to use ([`TraceMode`], a setting), which one the
//! block collector found ([`TraceSource`]), and how a block's traces are lined up with its
//! transactions ([`align`]). The calls themselves are [`Rpc`](crate::rpc::Rpc)'s.
//!
//! `auto` probes once, on the collector's first block: geth's `callTracer` through
//! `debug_traceBlockByNumber` (frames carry their logs), else parity's `trace_block`, else
//! receipts only. A node that answers a method with an error response (method not found, not
//! enabled, ...) or with something unreadable does not offer it; transport errors are retried
//! like every call. The source found is kept for the collector's lifetime.

use serde::{Deserialize, Serialize};
use serde_json::json;
use vigil_core::B256;
use vigil_detect::trace::{CallTrace, geth, parity};

/// Where call traces should come from (`trace = "…"` in a monitor's configuration).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceMode {
    /// Whatever the node offers: `call_tracer`, else `parity`, else receipts only.
    #[default]
    Auto,
    /// geth's `callTracer` with logs (`debug_traceBlockByNumber`); the monitor stops if the node
    /// refuses it.
    CallTracer,
    /// parity's `trace_block`; the monitor stops if the node refuses it.
    Parity,
    /// No traces: receipts and logs only.
    Off,
}

impl TraceMode {
    /// Its name in configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::CallTracer => "call_tracer",
            Self::Parity => "parity",
            Self::Off => "off",
        }
    }

    /// The sources to try, in order of preference.
    pub(crate) fn candidates(self) -> &'static [TraceSource] {
        match self {
            Self::Auto => &[TraceSource::CallTracer, TraceSource::Parity],
            Self::CallTracer => &[TraceSource::CallTracer],
            Self::Parity => &[TraceSource::Parity],
            Self::Off => &[],
        }
    }

    /// Whether a source the node refuses is an error rather than a reason to fall back.
    pub(crate) fn is_required(self) -> bool {
        matches!(self, Self::CallTracer | Self::Parity)
    }
}

impl std::fmt::Display for TraceMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The source of the call traces mined blocks come with.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceSource {
    /// geth's `callTracer` with `withLog` (`debug_traceBlockByNumber`): trees with their logs.
    CallTracer,
    /// parity's `trace_block`: trees without logs (movements are read from calls and receipts).
    Parity,
    /// No traces: receipts and logs only.
    ReceiptsOnly,
}

impl TraceSource {
    /// Every source, for metrics that show one of them as active.
    pub const ALL: [Self; 3] = [Self::CallTracer, Self::Parity, Self::ReceiptsOnly];

    /// Its name in status output and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CallTracer => "call_tracer",
            Self::Parity => "parity",
            Self::ReceiptsOnly => "receipts_only",
        }
    }

    /// The JSON-RPC method that traces a block, `None` for receipts only.
    pub fn method(self) -> Option<&'static str> {
        match self {
            Self::CallTracer => Some("debug_traceBlockByNumber"),
            Self::Parity => Some("trace_block"),
            Self::ReceiptsOnly => None,
        }
    }

    /// The method's parameters for block `number`.
    pub fn params(self, number: u64) -> serde_json::Value {
        let block = format!("{number:#x}");
        match self {
            Self::CallTracer => {
                json!([block, {"tracer": "callTracer", "tracerConfig": {"withLog": true}}])
            }
            Self::Parity | Self::ReceiptsOnly => json!([block]),
        }
    }
}

impl std::fmt::Display for TraceSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a tracer's answer for a block was not used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AlignError {
    /// It is not the shape the source gives.
    #[error("unreadable trace: {0}")]
    Unreadable(String),
    /// It does not match the block's transactions (a reorg between the calls, or a broken node).
    #[error("{0}")]
    Mismatch(String),
}

/// Reads `source`'s answer for a block whose transactions are `tx_hashes` (in order) and returns
/// one trace per transaction, in block order. Traces that name their transaction must name the
/// one at their position.
pub fn align(
    source: TraceSource,
    answer: &str,
    tx_hashes: &[B256],
) -> Result<Vec<CallTrace>, AlignError> {
    let traces: Vec<(Option<B256>, CallTrace)> = match source {
        TraceSource::CallTracer => {
            geth::parse_block(answer).map_err(|e| AlignError::Unreadable(e.to_string()))?
        }
        TraceSource::Parity => parity::parse_rows(answer)
            .map_err(|e| AlignError::Unreadable(e.to_string()))?
            .into_iter()
            .map(|t| (t.hash, t.trace))
            .collect(),
        TraceSource::ReceiptsOnly => return Ok(Vec::new()),
    };
    if traces.len() != tx_hashes.len() {
        return Err(AlignError::Mismatch(format!(
            "{} traces for {} transactions",
            traces.len(),
            tx_hashes.len()
        )));
    }
    traces
        .into_iter()
        .zip(tx_hashes)
        .enumerate()
        .map(|(i, ((hash, trace), expected))| match hash {
            Some(h) if h != *expected => Err(AlignError::Mismatch(format!(
                "trace {i} is for transaction {h} but the block has {expected} there"
            ))),
            _ => Ok(trace),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TX1: &str = "0x1522609bf82822a54efc79cdaeef83c7edb3adf0b76a0f8644abfa100e84be33";

    fn tx1() -> B256 {
        let mut h = [0u8; 32];
        alloy::primitives::hex::decode_to_slice(&TX1[2..], &mut h).unwrap();
        B256(h)
    }

    // Both as anvil 1.7.1 answers for a block with one plain transfer.
    fn call_tracer_answer() -> serde_json::Value {
        json!([{"result": {"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "gas": "0x0",
            "gasUsed": "0x5208", "to": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc",
            "input": "0x", "value": "0x1", "type": "CALL"}, "txHash": TX1}])
    }

    fn parity_answer() -> serde_json::Value {
        json!([{"action": {"from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
            "callType": "call", "gas": "0x0", "input": "0x",
            "to": "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc", "value": "0x1"},
            "blockNumber": 1, "result": {"gasUsed": "0x0", "output": "0x"}, "subtraces": 0,
            "traceAddress": [], "transactionHash": TX1, "transactionPosition": 0,
            "type": "call"}])
    }

    #[test]
    fn config_names_and_params() {
        let mode: TraceMode = serde_json::from_value(json!("call_tracer")).unwrap();
        assert_eq!(mode, TraceMode::CallTracer);
        assert!(serde_json::from_value::<TraceMode>(json!("geth")).is_err());
        assert_eq!(TraceSource::ReceiptsOnly.as_str(), "receipts_only");
        assert_eq!(
            TraceSource::CallTracer.params(26),
            json!(["0x1a", {"tracer": "callTracer", "tracerConfig": {"withLog": true}}])
        );
        assert_eq!(TraceSource::Parity.params(0), json!(["0x0"]));
        assert!(TraceMode::Off.candidates().is_empty());
    }

    #[test]
    fn both_sources_align_with_the_block() {
        for (source, answer) in [
            (TraceSource::CallTracer, call_tracer_answer()),
            (TraceSource::Parity, parity_answer()),
        ] {
            let traces = align(source, &answer.to_string(), &[tx1()]).unwrap();
            assert_eq!(traces.len(), 1, "{source}");
            assert!(!traces[0].with_logs, "no frame has a logs field");
        }
        assert_eq!(align(TraceSource::CallTracer, "[]", &[]).unwrap(), vec![]);
    }

    #[test]
    fn mismatches_and_unreadable_answers_are_told_apart() {
        let other = B256([7; 32]);
        let err = align(TraceSource::CallTracer, &call_tracer_answer().to_string(), &[other])
            .unwrap_err();
        assert!(matches!(&err, AlignError::Mismatch(m) if m.contains("trace 0")), "{err}");
        let err =
            align(TraceSource::Parity, &parity_answer().to_string(), &[tx1(), other]).unwrap_err();
        assert!(matches!(&err, AlignError::Mismatch(m) if m.contains("1 traces for 2")), "{err}");
        // geth's default struct logger, as a node that ignores `tracer` answers.
        let err = align(TraceSource::CallTracer, r#"{"structLogs": []}"#, &[]).unwrap_err();
        assert!(matches!(err, AlignError::Unreadable(_)), "{err}");
    }
}
