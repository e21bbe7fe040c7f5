//! Recorded transactions for `vigil replay`: reads a file's text in any of the shapes real
//! recordings come in and yields [`Transaction`]s with their call trees, in file order.
//!
//! Shapes, recognised by their keys (a JSON-RPC envelope `{"result": …}` around any of them is
//! unwrapped; several JSON documents one after another, e.g. JSON lines, are read in turn):
//! - geth `callTracer`: one tree (`{"type", "from", "to", "calls", …}`), an array of trees, or
//!   the array `debug_traceBlock*` returns (`[{"txHash", "result"}, …]`);
//! - parity `trace_*` rows (`[{"action", "result", "traceAddress", …}, …]`), alone or in a
//!   block object with `traces` and `receipts` (Flashbots mev-inspect's shape);
//! - Vigil's own: `{"transactions": [Transaction, …]}` or an array of [`Transaction`]s as
//!   serialised by this crate (with `trace` when known).
//!
//! Errors name the position (a JSON line and column, a document, a transaction or trace row).

use serde_json::Value;
use vigil_core::{B256, EvmChainId};

use crate::model::{BlockRef, CreatedContract, Transaction, TxStatus};
use crate::trace::geth::{self, GethBlockEntry, GethFrame};
use crate::trace::parity::{self, BlockObject, Row};
use crate::trace::{CallKind, CallTrace, TraceError};

/// One recorded transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplayTx {
    /// Its position among the file's transactions, from 0.
    pub position: usize,
    /// Its hash, when the recording has one.
    pub hash: Option<B256>,
    /// The transaction, mined (block 0 when the recording does not say).
    pub tx: Transaction,
}

/// Reads every transaction of a recording's text. `chain` is used where the recording does not
/// name one.
pub fn read(text: &str, chain: EvmChainId) -> Result<Vec<ReplayTx>, TraceError> {
    let mut out = Vec::new();
    let docs: Vec<Value> = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<_, _>>()
        .map_err(geth::json_error)?;
    if docs.is_empty() {
        return Err(TraceError::at("line 1", "the file holds no JSON"));
    }
    let many = docs.len() > 1;
    for (d, doc) in docs.into_iter().enumerate() {
        let at_doc = |e: TraceError| match e {
            TraceError::Malformed { at, message } if many => {
                TraceError::at(format!("document {d}, {at}"), message)
            }
            e => e,
        };
        read_doc(doc, chain, &mut out).map_err(at_doc)?;
    }
    Ok(out)
}

fn has(v: &Value, key: &str) -> bool {
    v.get(key).is_some()
}

fn looks_like_frame(v: &Value) -> bool {
    v.is_object() && (has(v, "calls") || (has(v, "from") && (has(v, "type") || has(v, "input"))))
}

fn looks_like_vigil_tx(v: &Value) -> bool {
    has(v, "chain") && has(v, "hash") && has(v, "status")
}

fn read_doc(doc: Value, chain: EvmChainId, out: &mut Vec<ReplayTx>) -> Result<(), TraceError> {
    match doc {
        Value::Object(ref m) if m.contains_key("result") && !looks_like_frame(&doc) => {
            let Value::Object(mut m) = doc else { return Ok(()) };
            let inner = m.remove("result").unwrap_or(Value::Null);
            read_doc(inner, chain, out)
        }
        Value::Object(ref m) if m.contains_key("error") && m.contains_key("jsonrpc") => {
            Err(TraceError::at("top level", format!("a JSON-RPC error: {}", m["error"])))
        }
        Value::Object(ref m) if m.contains_key("traces") => {
            let block: BlockObject = typed(doc, "block object")?;
            parity_txs(parity::block_object(block)?, chain, out);
            Ok(())
        }
        Value::Object(ref m) if m.contains_key("events") && m.contains_key("chain_id") => {
            Err(TraceError::at(
                "top level",
                "a `vigil monitor --record` recording: replay it with `vigil replay`, which reads \
                 it with its RPC blocks",
            ))
        }
        Value::Object(ref m) if m.contains_key("transactions") => {
            let Value::Object(mut m) = doc else { return Ok(()) };
            match m.remove("transactions") {
                Some(Value::Array(items)) => vigil_txs(items, out),
                _ => Err(TraceError::at("transactions", "is not an array")),
            }
        }
        ref v if looks_like_frame(v) => {
            let frame: GethFrame = typed(doc, "call tree")?;
            push(out, chain, None, None, None, geth::to_trace(frame)?);
            Ok(())
        }
        Value::Array(items) => read_array(items, chain, out),
        Value::Null => Err(TraceError::at("top level", "null (did the node return no trace?)")),
        other => Err(TraceError::at(
            "top level",
            format!(
                "not a recognised recording: expected a geth callTracer tree or block array, \
                 parity trace rows or a block object with `traces`, or Vigil transactions; found \
                 {}",
                kind_of(&other)
            ),
        )),
    }
}

fn kind_of(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let keys: Vec<&str> = m.keys().take(6).map(String::as_str).collect();
            format!("an object with keys {}", keys.join(", "))
        }
        Value::Array(_) => "an array".into(),
        Value::String(_) => "a string".into(),
        Value::Number(_) => "a number".into(),
        Value::Bool(_) => "a boolean".into(),
        Value::Null => "null".into(),
    }
}

fn typed<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> Result<T, TraceError> {
    serde_json::from_value(v).map_err(|e| TraceError::at(what, e.to_string()))
}

fn read_array(
    items: Vec<Value>,
    chain: EvmChainId,
    out: &mut Vec<ReplayTx>,
) -> Result<(), TraceError> {
    let Some(first) = items.first() else { return Ok(()) };
    if has(first, "action") {
        let mut rows = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            rows.push(typed::<Row>(v, &format!("trace row {i}"))?);
        }
        parity_txs(parity::group(rows)?, chain, out);
    } else if looks_like_vigil_tx(first) {
        vigil_txs(items, out)?;
    } else if has(first, "result") || has(first, "txHash") || has(first, "error") {
        let mut entries = Vec::with_capacity(items.len());
        for (i, v) in items.into_iter().enumerate() {
            entries.push(typed::<GethBlockEntry>(v, &format!("transaction {i}"))?);
        }
        for (hash, trace) in geth::block_entries(entries)? {
            let index = out.len() as u64;
            push(out, chain, hash, None, Some(index), trace);
        }
    } else if looks_like_frame(first) {
        for (i, v) in items.into_iter().enumerate() {
            let frame: GethFrame = typed(v, &format!("transaction {i}"))?;
            let trace = geth::to_trace(frame).map_err(|e| match e {
                TraceError::Malformed { at, message } => {
                    TraceError::at(format!("transaction {i}, {at}"), message)
                }
            })?;
            push(out, chain, None, None, Some(i as u64), trace);
        }
    } else {
        return Err(TraceError::at(
            "item 0",
            format!("an array of {}: not trace rows, trees or transactions", kind_of(first)),
        ));
    }
    Ok(())
}

fn vigil_txs(items: Vec<Value>, out: &mut Vec<ReplayTx>) -> Result<(), TraceError> {
    for (i, v) in items.into_iter().enumerate() {
        let tx: Transaction = typed(v, &format!("transaction {i}"))?;
        out.push(ReplayTx { position: out.len(), hash: Some(tx.hash), tx });
    }
    Ok(())
}

fn parity_txs(txs: Vec<parity::ParityTx>, chain: EvmChainId, out: &mut Vec<ReplayTx>) {
    for t in txs {
        let mut trace = t.trace;
        if let Some(g) = t.gas_used {
            trace.root.gas_used = Some(g);
        }
        push(out, chain, t.hash, t.block, t.position, trace);
    }
}

/// A recorded trace as a mined transaction.
pub fn transaction(
    chain: EvmChainId,
    hash: Option<B256>,
    block: Option<u64>,
    index: Option<u64>,
    trace: CallTrace,
) -> Transaction {
    let root = &trace.root;
    let creation = root.kind.is_create();
    let mut tx = Transaction::pending(
        chain,
        hash.unwrap_or(B256([0; 32])),
        root.from,
        if creation { None } else { root.to },
        root.value,
        0,
        root.input.clone(),
        0,
    );
    let logs = if trace.with_logs {
        let mut logs = Vec::new();
        collect_logs(root, &mut logs);
        logs
    } else {
        Vec::new()
    };
    let created = match (creation, root.to) {
        (true, Some(address)) => {
            let code = root.output.clone().unwrap_or_default();
            Some(CreatedContract {
                address,
                code_hash: root.output.as_ref().map(B256::keccak),
                code,
            })
        }
        _ => None,
    };
    let header = BlockRef { number: block.unwrap_or(0), hash: B256([0; 32]), timestamp: 0 };
    tx = tx.into_mined(
        header,
        index.unwrap_or(0),
        root.succeeded(),
        root.gas_used.unwrap_or(0),
        logs,
        created,
    );
    debug_assert!(matches!(tx.status, TxStatus::Mined { .. }));
    tx.with_trace(trace)
}

fn collect_logs(f: &crate::trace::CallFrame, out: &mut Vec<crate::model::Log>) {
    if !f.succeeded() {
        return;
    }
    out.extend(f.logs.iter().cloned());
    for c in &f.calls {
        if c.kind != CallKind::SelfDestruct {
            collect_logs(c, out);
        }
    }
}

fn push(
    out: &mut Vec<ReplayTx>,
    chain: EvmChainId,
    hash: Option<B256>,
    block: Option<u64>,
    index: Option<u64>,
    trace: CallTrace,
) {
    let tx = transaction(chain, hash, block, index, trace);
    out.push(ReplayTx { position: out.len(), hash, tx });
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = r#"{"type":"CALL","from":"0x1111111111111111111111111111111111111111",
        "to":"0x2222222222222222222222222222222222222222","input":"0x","value":"0x1"}"#;

    #[test]
    fn every_shape_is_recognised() {
        let c = EvmChainId(1);
        assert_eq!(read(TREE, c).unwrap().len(), 1);
        assert_eq!(read(&format!("[{TREE},{TREE}]"), c).unwrap().len(), 2);
        assert_eq!(read(&format!("{TREE}\n{TREE}\n"), c).unwrap().len(), 2);
        let block = format!(r#"[{{"txHash":"0x{}","result":{TREE}}}]"#, "ab".repeat(32));
        let txs = read(&block, c).unwrap();
        assert_eq!(txs[0].hash, Some(B256([0xab; 32])));
        let rpc = format!(r#"{{"jsonrpc":"2.0","id":1,"result":{block}}}"#);
        assert_eq!(read(&rpc, c).unwrap().len(), 1);
        let vigil = serde_json::to_string(&serde_json::json!({
            "transactions": [serde_json::to_value(&txs[0].tx).unwrap()]
        }))
        .unwrap();
        let back = read(&vigil, c).unwrap();
        assert_eq!(back[0].tx, txs[0].tx);
    }

    #[test]
    fn errors_say_where() {
        let c = EvmChainId(1);
        let e = read("{\"type\":\"CALL\",", c).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = read("[1,2]", c).unwrap_err().to_string();
        assert!(e.contains("item 0"), "{e}");
        let e = read(&format!("{TREE}\n{{\"type\":\"CALL\",\"from\":\"0x12\"}}"), c)
            .unwrap_err()
            .to_string();
        assert!(e.contains("document 1"), "{e}");
        assert!(read("", c).is_err());
        assert!(read("null", c).is_err());
    }
}
