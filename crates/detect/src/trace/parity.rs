//! parity/OpenEthereum traces (`trace_block`, `trace_transaction`, `trace_replayBlockTransactions`'
//! rows as Erigon, Nethermind, reth and anvil still serve them): a flat list of rows, each with
//! its `traceAddress` in the transaction's tree. Rows are grouped by transaction and the tree is
//! rebuilt from the addresses; `reward` rows (block rewards) are skipped.
//!
//! Also read: a block object with `traces` (and optionally `receipts`, `block_number`), as
//! Flashbots' mev-inspect stores whole blocks. Both camelCase and snake_case keys are accepted.
//! Parity rows carry no logs.

use alloy_primitives::U256;
use serde::Deserialize;
use vigil_core::B256;

use super::{CallFrame, CallKind, CallTrace, Quantity, TraceError, address, bytes};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Action {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default, alias = "call_type")]
    call_type: Option<String>,
    #[serde(default)]
    value: Option<Quantity>,
    #[serde(default)]
    gas: Option<Quantity>,
    #[serde(default)]
    input: Option<String>,
    /// Creation init code.
    #[serde(default)]
    init: Option<String>,
    /// Self-destruct: the destroyed contract.
    #[serde(default)]
    address: Option<String>,
    /// Self-destruct: the beneficiary.
    #[serde(default, alias = "refund_address")]
    refund_address: Option<String>,
    /// Self-destruct: the balance sent.
    #[serde(default)]
    balance: Option<Quantity>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    #[serde(default, alias = "gas_used")]
    gas_used: Option<Quantity>,
    #[serde(default)]
    output: Option<String>,
    /// Creation: the new contract.
    #[serde(default)]
    address: Option<String>,
    /// Creation: its runtime code.
    #[serde(default)]
    code: Option<String>,
}

/// One `trace_*` row.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    action: Action,
    #[serde(default)]
    result: Option<Outcome>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, alias = "trace_address")]
    trace_address: Vec<usize>,
    #[serde(default, alias = "transaction_hash")]
    transaction_hash: Option<String>,
    #[serde(default, alias = "transaction_position")]
    transaction_position: Option<u64>,
    #[serde(default, alias = "block_number")]
    block_number: Option<u64>,
    #[serde(rename = "type")]
    kind: String,
}

/// A block object with rows (mev-inspect's shape).
#[derive(Debug, Deserialize)]
pub(crate) struct BlockObject {
    #[serde(default, alias = "blockNumber", alias = "number")]
    pub(crate) block_number: Option<u64>,
    pub(crate) traces: Vec<Row>,
    #[serde(default)]
    pub(crate) receipts: Vec<Receipt>,
}

/// The receipt fields used: the gas a transaction used (its status is its root frame's error).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Receipt {
    #[serde(default, alias = "transaction_hash")]
    transaction_hash: Option<String>,
    #[serde(default, alias = "gas_used")]
    gas_used: Option<Quantity>,
}

/// One transaction's trace, rebuilt from rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParityTx {
    /// Its hash, when the rows name it.
    pub hash: Option<B256>,
    /// Its position in the block, when the rows name it.
    pub position: Option<u64>,
    /// Its block, when the rows name it.
    pub block: Option<u64>,
    /// Gas used, from the receipt when there is one.
    pub gas_used: Option<u64>,
    /// The tree.
    pub trace: CallTrace,
}

fn hash(s: &str) -> Result<B256, String> {
    let b = bytes(s)?;
    let arr: [u8; 32] = b.as_ref().try_into().map_err(|_| format!("hash {s:?} is not 32 bytes"))?;
    Ok(B256(arr))
}

impl Row {
    fn frame(&self) -> Result<CallFrame, String> {
        let a = &self.action;
        let kind = match self.kind.to_ascii_lowercase().as_str() {
            "call" => match &a.call_type {
                Some(t) => CallKind::parse(t).ok_or_else(|| format!("unknown callType {t:?}"))?,
                None => CallKind::Call,
            },
            "create" => match a.call_type.as_deref().map(str::to_ascii_lowercase).as_deref() {
                Some("create2") => CallKind::Create2,
                _ => CallKind::Create,
            },
            "create2" => CallKind::Create2,
            "suicide" | "selfdestruct" => CallKind::SelfDestruct,
            other => return Err(format!("unknown trace type {other:?}")),
        };
        let opt_addr = |s: &Option<String>, what: &str| -> Result<_, String> {
            s.as_deref().map(|s| address(s).map_err(|m| format!("{what}: {m}"))).transpose()
        };
        let result = self.result.as_ref();
        let (from, to, value, input) = match kind {
            CallKind::SelfDestruct => (
                opt_addr(&a.address, "action.address")?.ok_or("self-destruct with no address")?,
                opt_addr(&a.refund_address, "action.refundAddress")?,
                a.balance.as_ref().map(Quantity::value).transpose()?.unwrap_or(U256::ZERO),
                Default::default(),
            ),
            k if k.is_create() => (
                opt_addr(&a.from, "action.from")?.ok_or("creation with no from")?,
                opt_addr(&result.and_then(|r| r.address.clone()), "result.address")?,
                a.value.as_ref().map(Quantity::value).transpose()?.unwrap_or(U256::ZERO),
                a.init.as_deref().map(bytes).transpose()?.unwrap_or_default(),
            ),
            _ => (
                opt_addr(&a.from, "action.from")?.ok_or("call with no from")?,
                Some(opt_addr(&a.to, "action.to")?.ok_or("call with no to")?),
                a.value.as_ref().map(Quantity::value).transpose()?.unwrap_or(U256::ZERO),
                a.input.as_deref().map(bytes).transpose()?.unwrap_or_default(),
            ),
        };
        let output = match result {
            Some(r) if kind.is_create() => r.code.as_deref().map(bytes).transpose()?,
            Some(r) => r.output.as_deref().map(bytes).transpose()?,
            None => None,
        };
        let mut frame = CallFrame::new(kind, from, to, input);
        frame.value = value;
        frame.output = output;
        frame.gas = a.gas.as_ref().map(Quantity::as_u64).transpose()?;
        frame.gas_used =
            result.and_then(|r| r.gas_used.as_ref()).map(Quantity::as_u64).transpose()?;
        frame.error = self.error.clone().filter(|e| !e.is_empty());
        Ok(frame)
    }
}

/// Inserts `frame` at `path` below `root`; the parent must exist.
fn insert(root: &mut CallFrame, path: &[usize], frame: CallFrame) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("a second top-level call".into());
    };
    let mut node = root;
    for i in parents {
        node = node.calls.get_mut(*i).ok_or("its parent call is missing")?;
    }
    if *last != node.calls.len() {
        return Err(format!("sub-call {last} comes after {} sibling(s)", node.calls.len()));
    }
    node.calls.push(frame);
    Ok(())
}

/// Rebuilds per-transaction trees from rows, in the order transactions first appear.
pub(crate) fn group(rows: Vec<Row>) -> Result<Vec<ParityTx>, TraceError> {
    // Group key: the hash, else the position, else one anonymous transaction.
    let mut order: Vec<(Option<String>, Option<u64>)> = Vec::new();
    let mut groups: Vec<Vec<(usize, Row)>> = Vec::new();
    for (i, row) in rows.into_iter().enumerate() {
        if row.kind.eq_ignore_ascii_case("reward") {
            continue;
        }
        let key = (row.transaction_hash.clone(), row.transaction_position);
        let g = match order.iter().position(|k| {
            (k.0.is_some() && k.0 == key.0) || (k.0.is_none() && key.0.is_none() && k.1 == key.1)
        }) {
            Some(g) => g,
            None => {
                order.push(key);
                groups.push(Vec::new());
                order.len() - 1
            }
        };
        groups[g].push((i, row));
    }
    let mut out = Vec::with_capacity(groups.len());
    for mut rows in groups {
        rows.sort_by(|a, b| a.1.trace_address.cmp(&b.1.trace_address));
        let mut root: Option<CallFrame> = None;
        let mut meta = (None, None, None);
        for (i, row) in rows {
            let at = || format!("trace row {i}");
            let frame = row.frame().map_err(|m| TraceError::at(at(), m))?;
            match &mut root {
                None if row.trace_address.is_empty() => {
                    meta = (
                        row.transaction_hash
                            .as_deref()
                            .map(hash)
                            .transpose()
                            .map_err(|m| TraceError::at(at(), m))?,
                        row.transaction_position,
                        row.block_number,
                    );
                    root = Some(frame);
                }
                None => {
                    return Err(TraceError::at(at(), "a sub-call before its top-level call"));
                }
                Some(r) => {
                    insert(r, &row.trace_address, frame).map_err(|m| TraceError::at(at(), m))?
                }
            }
        }
        if let Some(root) = root {
            out.push(ParityTx {
                hash: meta.0,
                position: meta.1,
                block: meta.2,
                gas_used: root.gas_used,
                trace: CallTrace::new(root, false),
            });
        }
    }
    Ok(out)
}

/// Parses `trace_block` / `trace_transaction` rows.
pub fn parse_rows(json: &str) -> Result<Vec<ParityTx>, TraceError> {
    let rows: Vec<Row> = super::from_deep_str(json).map_err(super::geth::json_error)?;
    group(rows)
}

/// Like [`parse_rows`], from an already parsed JSON value (an RPC client's result).
pub fn parse_rows_value(value: serde_json::Value) -> Result<Vec<ParityTx>, TraceError> {
    let rows: Vec<Row> =
        serde_json::from_value(value).map_err(|e| TraceError::at("trace rows", e.to_string()))?;
    group(rows)
}

/// Parses a block object with `traces` and optional `receipts`.
pub fn parse_block(json: &str) -> Result<Vec<ParityTx>, TraceError> {
    let block: BlockObject = super::from_deep_str(json).map_err(super::geth::json_error)?;
    block_object(block)
}

pub(crate) fn block_object(block: BlockObject) -> Result<Vec<ParityTx>, TraceError> {
    let mut txs = group(block.traces)?;
    for (i, r) in block.receipts.iter().enumerate() {
        let Some(h) = r.transaction_hash.as_deref() else { continue };
        let h = hash(h).map_err(|m| TraceError::at(format!("receipt {i}"), m))?;
        if let Some(tx) = txs.iter_mut().find(|t| t.hash == Some(h))
            && let Some(g) = &r.gas_used
        {
            tx.gas_used = Some(g.as_u64().map_err(|m| TraceError::at(format!("receipt {i}"), m))?);
        }
    }
    for tx in &mut txs {
        tx.block = tx.block.or(block.block_number);
    }
    Ok(txs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROWS: &str = r#"[
      {"action":{"from":"0x1111111111111111111111111111111111111111","callType":"call","gas":"0x10",
                 "input":"0x","to":"0x2222222222222222222222222222222222222222","value":"0x1"},
       "result":{"gasUsed":"0x5","output":"0x"},"subtraces":1,"trace_address":[],
       "transaction_hash":"0x0000000000000000000000000000000000000000000000000000000000000001",
       "transaction_position":0,"type":"call","error":null},
      {"action":{"address":"0x2222222222222222222222222222222222222222","balance":"0x7",
                 "refundAddress":"0x1111111111111111111111111111111111111111"},
       "result":null,"subtraces":0,"trace_address":[1],
       "transaction_hash":"0x0000000000000000000000000000000000000000000000000000000000000001",
       "transaction_position":0,"type":"suicide"},
      {"action":{"from":"0x2222222222222222222222222222222222222222","gas":"0x10","init":"0x00",
                 "value":"0x0"},
       "result":{"address":"0x3333333333333333333333333333333333333333","code":"0x00","gasUsed":"0x1"},
       "subtraces":0,"trace_address":[0],
       "transaction_hash":"0x0000000000000000000000000000000000000000000000000000000000000001",
       "transaction_position":0,"type":"create"},
      {"action":{"author":"0x1111111111111111111111111111111111111111","rewardType":"block","value":"0x1"},
       "result":null,"subtraces":0,"trace_address":[],"type":"reward"}
    ]"#;

    #[test]
    fn rebuilds_trees_from_rows_in_any_order() {
        let txs = parse_rows(ROWS).unwrap();
        assert_eq!(txs.len(), 1);
        let root = &txs[0].trace.root;
        assert_eq!(root.calls.len(), 2);
        assert_eq!(root.calls[0].kind, CallKind::Create);
        assert_eq!(root.calls[1].kind, CallKind::SelfDestruct);
        assert_eq!(root.calls[1].value, U256::from(7));
        assert_eq!(txs[0].position, Some(0));
    }

    #[test]
    fn a_missing_parent_is_an_error_naming_the_row() {
        let bad = ROWS.replace("\"trace_address\":[1]", "\"trace_address\":[4,0]");
        let err = parse_rows(&bad).unwrap_err().to_string();
        assert!(err.contains("trace row 1"), "{err}");
    }
}
