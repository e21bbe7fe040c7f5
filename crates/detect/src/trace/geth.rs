//! geth's `callTracer` output: one transaction's tree (`debug_traceTransaction`,
//! `debug_traceCall`), or the array `debug_traceBlockByNumber` / `debug_traceBlockByHash` return
//! (`[{"txHash": …, "result": tree}, …]`).
//!
//! Accepted variations, all seen in real recordings: `type` in any case, or a separate
//! `callType` / `call_type`, or boolean `delegatecall` / `staticcall` flags; `value`, `gas`,
//! `gasUsed`, `output` and `logs` missing; quantities as hex strings, decimal strings or numbers;
//! `to` missing on a failed creation.

use alloy_primitives::U256;
use serde::Deserialize;
use vigil_core::B256;

use super::{CallFrame, CallKind, CallTrace, Quantity, TraceError, address, bytes};
use crate::model::Log;

/// One frame as geth writes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GethFrame {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default, alias = "call_type")]
    call_type: Option<String>,
    #[serde(default, alias = "delegateCall", alias = "isDelegateCall", alias = "delegate_call")]
    delegatecall: Option<bool>,
    #[serde(default, alias = "staticCall", alias = "isStaticCall", alias = "static_call")]
    staticcall: Option<bool>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    value: Option<Quantity>,
    #[serde(default)]
    gas: Option<Quantity>,
    #[serde(default, alias = "gas_used")]
    gas_used: Option<Quantity>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    output: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, alias = "revert_reason")]
    revert_reason: Option<String>,
    #[serde(default)]
    logs: Option<Vec<GethLog>>,
    #[serde(default)]
    calls: Option<Vec<GethFrame>>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct GethLog {
    address: String,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    data: Option<String>,
}

/// An entry of `debug_traceBlock*`'s array.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GethBlockEntry {
    #[serde(default, alias = "tx_hash", alias = "transactionHash", alias = "hash")]
    pub(crate) tx_hash: Option<String>,
    #[serde(default)]
    pub(crate) result: Option<GethFrame>,
    #[serde(default)]
    pub(crate) error: Option<serde_json::Value>,
}

impl GethFrame {
    fn call_kind(&self) -> Result<CallKind, String> {
        if self.delegatecall == Some(true) {
            return Ok(CallKind::DelegateCall);
        }
        if self.staticcall == Some(true) {
            return Ok(CallKind::StaticCall);
        }
        // `callType` refines a generic `type` (`call` + `delegatecall`), as parity rows do.
        for name in [&self.call_type, &self.kind].into_iter().flatten() {
            if let Some(kind) = CallKind::parse(name) {
                return Ok(kind);
            }
        }
        match (&self.kind, &self.call_type) {
            (None, None) => Ok(CallKind::Call),
            (Some(k), _) | (None, Some(k)) => Err(format!("unknown call type {k:?}")),
        }
    }

    /// Whether any frame of the tree has a `logs` field (the tracer ran with `withLog`).
    pub(crate) fn has_logs(&self) -> bool {
        self.logs.is_some() || self.calls.iter().flatten().any(GethFrame::has_logs)
    }

    /// Converts the tree; `path` names the frame in errors (`0.2.1`).
    pub(crate) fn convert(self, path: &mut Vec<usize>) -> Result<CallFrame, TraceError> {
        let at = || {
            if path.is_empty() {
                "top-level call".to_owned()
            } else {
                format!(
                    "call {}",
                    path.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
                )
            }
        };
        let fail = |m: String| TraceError::at(at(), m);
        let kind = self.call_kind().map_err(fail)?;
        let from = match &self.from {
            Some(s) => address(s).map_err(|m| fail(format!("from: {m}")))?,
            None => return Err(fail("no `from`".into())),
        };
        let to = match self.to.as_deref() {
            None | Some("") | Some("0x") => None,
            Some(s) => Some(address(s).map_err(|m| fail(format!("to: {m}")))?),
        };
        if to.is_none() && !kind.is_create() {
            return Err(fail(format!("a {} with no `to`", kind.as_str())));
        }
        let value = match &self.value {
            Some(q) => q.value().map_err(|m| fail(format!("value: {m}")))?,
            None => U256::ZERO,
        };
        let opt_u64 = |q: &Option<Quantity>, what: &str| -> Result<Option<u64>, TraceError> {
            q.as_ref().map(|q| q.as_u64().map_err(|m| fail(format!("{what}: {m}")))).transpose()
        };
        let gas = opt_u64(&self.gas, "gas")?;
        let gas_used = opt_u64(&self.gas_used, "gasUsed")?;
        let input = match &self.input {
            Some(s) => bytes(s).map_err(|m| fail(format!("input: {m}")))?,
            None => Default::default(),
        };
        let output = match self.output.as_deref() {
            None => None,
            Some(s) => Some(bytes(s).map_err(|m| fail(format!("output: {m}")))?),
        };
        let mut logs = Vec::new();
        for (i, l) in self.logs.into_iter().flatten().enumerate() {
            let fail = |m: String| fail(format!("log {i}: {m}"));
            let emitter = address(&l.address).map_err(&fail)?;
            let mut topics = Vec::with_capacity(l.topics.len());
            for t in &l.topics {
                topics.push(topic(t).map_err(&fail)?);
            }
            let data = match &l.data {
                Some(d) => bytes(d).map_err(&fail)?,
                None => Default::default(),
            };
            logs.push(Log::new(emitter, topics, data));
        }
        let mut calls = Vec::new();
        for (i, c) in self.calls.into_iter().flatten().enumerate() {
            path.push(i);
            // Trees nest up to 1,024 calls: grow the stack on the heap rather than overflow.
            calls.push(stacker::maybe_grow(64 * 1024, 1024 * 1024, || c.convert(path))?);
            path.pop();
        }
        Ok(CallFrame {
            kind,
            from,
            to,
            value,
            input,
            output,
            gas,
            gas_used,
            error: self.error.filter(|e| !e.is_empty()),
            revert_reason: self.revert_reason.filter(|r| !r.is_empty()),
            logs,
            calls,
        })
    }
}

fn topic(s: &str) -> Result<B256, String> {
    let b = bytes(s)?;
    let arr: [u8; 32] =
        b.as_ref().try_into().map_err(|_| format!("topic {s:?} is not 32 bytes"))?;
    Ok(B256(arr))
}

/// Parses one transaction's `callTracer` tree.
pub fn parse_tree(json: &str) -> Result<CallTrace, TraceError> {
    let frame: GethFrame = super::from_deep_str(json).map_err(json_error)?;
    to_trace(frame)
}

pub(crate) fn to_trace(frame: GethFrame) -> Result<CallTrace, TraceError> {
    let with_logs = frame.has_logs();
    Ok(CallTrace::new(frame.convert(&mut Vec::new())?, with_logs))
}

/// A `debug_traceBlock*` result: `(transaction hash, trace)` per transaction, in block order.
pub fn parse_block(json: &str) -> Result<Vec<(Option<B256>, CallTrace)>, TraceError> {
    let entries: Vec<GethBlockEntry> = super::from_deep_str(json).map_err(json_error)?;
    block_entries(entries)
}

/// Like [`parse_block`], from an already parsed JSON value (an RPC client's result).
pub fn parse_block_value(
    value: serde_json::Value,
) -> Result<Vec<(Option<B256>, CallTrace)>, TraceError> {
    let entries: Vec<GethBlockEntry> =
        serde_json::from_value(value).map_err(|e| TraceError::at("block trace", e.to_string()))?;
    block_entries(entries)
}

pub(crate) fn block_entries(
    entries: Vec<GethBlockEntry>,
) -> Result<Vec<(Option<B256>, CallTrace)>, TraceError> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.into_iter().enumerate() {
        let in_tx = |err: TraceError| match err {
            TraceError::Malformed { at, message } => {
                TraceError::at(format!("transaction {i}, {at}"), message)
            }
        };
        let hash = e
            .tx_hash
            .as_deref()
            .map(topic)
            .transpose()
            .map_err(|m| TraceError::at(format!("transaction {i}"), format!("txHash: {m}")))?;
        let frame = match (e.result, e.error) {
            (Some(f), _) => f,
            (None, Some(err)) => {
                return Err(TraceError::at(
                    format!("transaction {i}"),
                    format!("the node could not trace it: {err}"),
                ));
            }
            (None, None) => {
                return Err(TraceError::at(format!("transaction {i}"), "no `result`"));
            }
        };
        out.push((hash, to_trace(frame).map_err(in_tx)?));
    }
    Ok(out)
}

/// A serde error as a [`TraceError`] at its line and column.
pub(crate) fn json_error(e: serde_json::Error) -> TraceError {
    TraceError::at(format!("line {} column {}", e.line(), e.column()), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_tree_with_variations() {
        let json = r#"{
            "type": "call", "from": "0x1111111111111111111111111111111111111111",
            "to": "0x2222222222222222222222222222222222222222", "input": "0xa9059cbb",
            "value": 5, "gas": "0x10",
            "calls": [
              {"type": "CALL", "callType": "delegatecall",
               "from": "0x2222222222222222222222222222222222222222",
               "to": "0x3333333333333333333333333333333333333333", "input": "0x"},
              {"type": "STATICCALL", "from": "0x2222222222222222222222222222222222222222",
               "to": "0x3333333333333333333333333333333333333333", "error": "execution reverted",
               "logs": []},
              {"type": "CREATE2", "from": "0x2222222222222222222222222222222222222222",
               "error": "out of gas", "input": "0x00"}
            ]}"#;
        let t = parse_tree(json).unwrap();
        assert!(t.with_logs);
        assert_eq!(t.root.value, U256::from(5));
        assert_eq!(t.root.gas, Some(16));
        assert_eq!(t.root.calls[0].kind, CallKind::DelegateCall);
        assert_eq!(t.root.calls[1].kind, CallKind::StaticCall);
        assert!(!t.root.calls[1].succeeded());
        assert_eq!(t.root.calls[2].to, None);
    }

    #[test]
    fn errors_name_the_frame() {
        let json = r#"{"type":"CALL","from":"0x1111111111111111111111111111111111111111",
            "to":"0x2222222222222222222222222222222222222222",
            "calls":[{"type":"CALL","from":"0x1111111111111111111111111111111111111111",
                      "to":"0x22"}]}"#;
        let err = parse_tree(json).unwrap_err().to_string();
        assert!(err.contains("call 0") && err.contains("to"), "{err}");
        let err = parse_tree("{\"type\": 3}").unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
        let err = parse_block(r#"[{"txHash":"0x01","result":{}}]"#).unwrap_err().to_string();
        assert!(err.contains("transaction 0"), "{err}");
    }
}
