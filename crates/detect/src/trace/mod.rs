//! Call traces: the tree of calls a transaction made, as an RPC node's tracer or a simulation
//! reports it, in one shape whatever the source.
//!
//! - [`CallFrame`] / [`CallTrace`]: the model (kind, from, to, value, input, output, gas, error,
//!   the frame's logs when known, children);
//! - [`geth`]: readers of geth's `callTracer` output (one tree, or the array
//!   `debug_traceBlock*` returns);
//! - [`parity`]: readers of parity/OpenEthereum `trace_block` / `trace_transaction` rows, alone
//!   or inside a block object with `traces` and `receipts`.
//!
//! Real traces are incomplete: gas, outputs or logs may be missing, `type` may be spelled in
//! any case or given as a separate call type. Readers accept all of that and fail only on what
//! is really malformed, naming where ([`TraceError`]).

pub mod geth;
pub mod parity;

/// The deepest JSON nesting a call tree needs: 1,024 nested calls (the EVM's limit) at two
/// levels each (`{"calls": [ … ]}`), plus a frame's logs and the envelope around the tree.
pub const MAX_JSON_DEPTH: usize = 2 * 1_025 + 64;

/// The deepest nesting of objects and arrays in `json` (strings skipped), stopping early past
/// `limit`.
fn json_depth(json: &[u8], limit: usize) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
                if deepest > limit {
                    break;
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Reads JSON as deep as call trees get: a transaction may nest 1,024 calls (2 JSON levels
/// each), past serde_json's default limit of 128, so the limit is lifted and the stack grows
/// on the heap as needed. Nesting deeper than any EVM call tree ([`MAX_JSON_DEPTH`]) is
/// refused before parsing, so hostile input cannot exhaust the stack of what walks the tree
/// afterwards.
pub fn from_deep_str<T: serde::de::DeserializeOwned>(json: &str) -> serde_json::Result<T> {
    if json_depth(json.as_bytes(), MAX_JSON_DEPTH) > MAX_JSON_DEPTH {
        return Err(serde::de::Error::custom(format!(
            "JSON nested deeper than {MAX_JSON_DEPTH} levels: deeper than any EVM call tree"
        )));
    }
    let mut de = serde_json::Deserializer::from_str(json);
    de.disable_recursion_limit();
    let value = T::deserialize(serde_stacker::Deserializer::new(&mut de))?;
    de.end()?;
    Ok(value)
}

use alloy_primitives::{Bytes, U256};
use serde::{Deserialize, Serialize};
pub use vigil_core::CallKind;
use vigil_core::{EvmAddress, Selector};

use crate::model::Log;

/// One frame of a call tree.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallFrame {
    /// What kind of call.
    pub kind: CallKind,
    /// The caller (for a `DELEGATECALL`, the context the code runs in).
    pub from: EvmAddress,
    /// The callee, or the created contract; `None` for a creation that failed.
    pub to: Option<EvmAddress>,
    /// Wei sent (for `SELFDESTRUCT`, the balance sent to `to`).
    #[serde(default)]
    pub value: U256,
    /// Calldata, or init code for a creation.
    #[serde(default)]
    pub input: Bytes,
    /// Return data (runtime code for a creation), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Bytes>,
    /// Gas given to the frame, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<u64>,
    /// Gas the frame used, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_used: Option<u64>,
    /// Why the frame failed (`execution reverted`, `out of gas`, ...); `None` when it succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The decoded revert reason, when the tracer gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert_reason: Option<String>,
    /// Logs the frame itself emitted, in order (see [`CallTrace::with_logs`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<Log>,
    /// The calls it made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallFrame>,
}

impl CallFrame {
    /// A successful frame with no output, gas, logs or children.
    pub fn new(kind: CallKind, from: EvmAddress, to: Option<EvmAddress>, input: Bytes) -> Self {
        Self {
            kind,
            from,
            to,
            value: U256::ZERO,
            input,
            output: None,
            gas: None,
            gas_used: None,
            error: None,
            revert_reason: None,
            logs: Vec::new(),
            calls: Vec::new(),
        }
    }

    /// The 4-byte selector of its calldata (not for creations).
    pub fn selector(&self) -> Option<Selector> {
        if self.kind.is_create() || self.kind == CallKind::SelfDestruct {
            return None;
        }
        Selector::from_calldata(&self.input)
    }

    /// Whether the frame itself succeeded (its parent may still have reverted).
    pub fn succeeded(&self) -> bool {
        self.error.is_none()
    }

    /// The frames of the tree, parents before children, in call order.
    pub fn walk(&self) -> impl Iterator<Item = &CallFrame> {
        let mut stack = vec![self];
        std::iter::from_fn(move || {
            let frame = stack.pop()?;
            stack.extend(frame.calls.iter().rev());
            Some(frame)
        })
    }

    /// How many frames the tree has.
    pub fn len(&self) -> usize {
        self.walk().count()
    }

    /// Always `false`: a tree has at least its root.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Removes every log from the tree (to test what detectors see without them).
    pub fn strip_logs(&mut self) {
        self.logs.clear();
        for c in &mut self.calls {
            c.strip_logs();
        }
    }
}

/// A transaction's call tree.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CallTrace {
    /// The top-level call.
    pub root: CallFrame,
    /// Whether frames carry the logs they emitted (geth `callTracer` with `withLog: true`):
    /// when `false`, frames have no logs and token movements are read from calls instead.
    #[serde(default)]
    pub with_logs: bool,
}

impl CallTrace {
    /// A trace of `root`; `with_logs` is whether the tracer recorded logs per frame.
    pub fn new(root: CallFrame, with_logs: bool) -> Self {
        Self { root, with_logs }
    }

    /// Keccak-256 of its JSON: the evidence alerts on a simulated transaction and the trips
    /// they cause carry (computed only when asked: it costs more than the simulation of a
    /// simple transfer).
    pub fn hash(&self) -> vigil_core::B256 {
        let json = serde_json::to_vec(self).unwrap_or_default();
        vigil_core::B256(alloy_primitives::keccak256(&json).0)
    }

    /// The same trace with every log removed.
    pub fn without_logs(mut self) -> Self {
        self.root.strip_logs();
        self.with_logs = false;
        self
    }
}

/// Why a trace could not be read.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum TraceError {
    /// Not JSON, or JSON of another shape.
    #[error("{at}: {message}")]
    Malformed {
        /// Where: a JSON line and column, or a trace's position.
        at: String,
        /// What was wrong.
        message: String,
    },
}

impl TraceError {
    pub(crate) fn at(at: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Malformed { at: at.into(), message: message.into() }
    }
}

/// Parses a `0x` hex quantity (or a JSON number written as a string) into a `U256`.
pub(crate) fn quantity(s: &str) -> Result<U256, String> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        if hex.is_empty() {
            return Ok(U256::ZERO);
        }
        U256::from_str_radix(hex, 16).map_err(|e| format!("bad hex quantity {s:?}: {e}"))
    } else {
        U256::from_str_radix(t, 10).map_err(|e| format!("bad quantity {s:?}: {e}"))
    }
}

/// Parses a 20-byte address in any case (checksums are not enforced: traces are lower case,
/// and a tracer's output is not a user's typing).
pub(crate) fn address(s: &str) -> Result<EvmAddress, String> {
    let hex = s.trim().strip_prefix("0x").unwrap_or(s.trim());
    let mut out = [0u8; 20];
    if hex.len() != 40 {
        return Err(format!("address {s:?} is not 20 bytes"));
    }
    alloy_primitives::hex::decode_to_slice(hex, &mut out)
        .map_err(|e| format!("address {s:?}: {e}"))?;
    Ok(EvmAddress(out))
}

/// Parses `0x` hex bytes (odd lengths are refused).
pub(crate) fn bytes(s: &str) -> Result<Bytes, String> {
    let hex = s.trim().strip_prefix("0x").unwrap_or(s.trim());
    alloy_primitives::hex::decode(hex)
        .map(Bytes::from)
        .map_err(|e| format!("bad hex bytes ({} chars): {e}", s.len()))
}

/// A JSON value that is a quantity: a hex or decimal string, or a number.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Quantity {
    Text(String),
    Number(u64),
}

impl Quantity {
    pub(crate) fn value(&self) -> Result<U256, String> {
        match self {
            Self::Text(s) => quantity(s),
            Self::Number(n) => Ok(U256::from(*n)),
        }
    }

    pub(crate) fn as_u64(&self) -> Result<u64, String> {
        let v = self.value()?;
        u64::try_from(v).map_err(|_| format!("quantity {v} does not fit 64 bits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_in_any_case() {
        assert_eq!(CallKind::parse("delegateCall"), Some(CallKind::DelegateCall));
        assert_eq!(CallKind::parse("STATICCALL"), Some(CallKind::StaticCall));
        assert_eq!(CallKind::parse("suicide"), Some(CallKind::SelfDestruct));
        assert_eq!(CallKind::parse("reward"), None);
    }

    #[test]
    fn walk_is_preorder() {
        let a = EvmAddress([1; 20]);
        let mut root = CallFrame::new(CallKind::Call, a, Some(a), Bytes::new());
        let mut child = CallFrame::new(CallKind::Call, a, Some(EvmAddress([2; 20])), Bytes::new());
        child.calls.push(CallFrame::new(
            CallKind::StaticCall,
            a,
            Some(EvmAddress([3; 20])),
            Bytes::new(),
        ));
        root.calls.push(child);
        root.calls.push(CallFrame::new(CallKind::Call, a, Some(EvmAddress([4; 20])), Bytes::new()));
        let order: Vec<u8> = root.walk().map(|f| f.to.unwrap().0[0]).collect();
        assert_eq!(order, vec![1, 2, 3, 4]);
        assert_eq!(root.len(), 4);
    }

    #[test]
    fn quantities_and_addresses_are_lenient_but_checked() {
        assert_eq!(quantity("0x").unwrap(), U256::ZERO);
        assert_eq!(quantity("0x10").unwrap(), U256::from(16));
        assert_eq!(quantity("42").unwrap(), U256::from(42));
        assert!(quantity("0xzz").is_err());
        assert!(address("0xAbCdEf0000000000000000000000000000000001").is_ok());
        assert!(address("0x01").is_err());
        assert!(bytes("0x123").is_err());
    }
}

#[cfg(test)]
mod deep_tests {
    use super::*;

    /// A geth `callTracer` tree of `depth` nested calls.
    fn nested(depth: usize) -> String {
        let a = "0x00000000000000000000000000000000000000aa";
        let mut json = String::new();
        for _ in 0..depth {
            json.push_str(&format!(
                r#"{{"type":"CALL","from":"{a}","to":"{a}","input":"0x","calls":["#
            ));
        }
        for _ in 0..depth {
            json.push_str("]}");
        }
        json.replace(",\"calls\":[]}", "}")
    }

    #[test]
    fn a_tree_as_deep_as_the_evm_allows_is_read_and_deeper_json_is_refused() {
        let tree = geth::parse_tree(&nested(1_024)).expect("1,024 nested calls read");
        let mut depth = 1;
        let mut frame = &tree.root;
        while let Some(next) = frame.calls.first() {
            frame = next;
            depth += 1;
        }
        assert_eq!(depth, 1_024);
        let hostile = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = from_deep_str::<serde_json::Value>(&hostile).unwrap_err().to_string();
        assert!(err.contains("deeper than any EVM call tree"), "{err}");
        // Brackets inside strings do not count.
        let quoted = format!("[\"{}\"]", "[".repeat(10_000));
        assert!(from_deep_str::<serde_json::Value>(&quoted).is_ok());
    }
}
