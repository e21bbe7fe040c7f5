//! Conversion of alloy's RPC types into `vigil-detect`'s transaction model. A block's call
//! traces are attached to their transactions once they are checked to belong to them.

use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::Address;
use alloy::rpc::types::{Transaction as RpcTransaction, TransactionReceipt};
use vigil_core::{B256, EvmAddress, EvmChainId};
use vigil_detect::trace::CallTrace;
use vigil_detect::{Block, BlockRef, CreatedContract, Gas, Log, Transaction};

use crate::raw::RawBlock;

/// Why a fetched block could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConvertError {
    /// The block came without full transaction objects.
    #[error("block {0} has transaction hashes only, not full transactions")]
    HashesOnly(u64),
    /// Receipts do not match transactions.
    #[error("block {block}: {message}")]
    Receipts {
        /// The block.
        block: u64,
        /// What did not match.
        message: String,
    },
    /// Call traces do not match transactions.
    #[error("block {block}: {message}")]
    Traces {
        /// The block.
        block: u64,
        /// What did not match.
        message: String,
    },
}

/// An alloy address as a Vigil address.
pub fn address(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

/// A Vigil address as an alloy address.
pub fn alloy_address(a: EvmAddress) -> Address {
    Address::from(a.0)
}

fn hash(h: alloy::primitives::B256) -> B256 {
    B256(h.0)
}

/// A pending transaction, seen at `seen_at` (seconds since the Unix epoch).
pub fn pending_tx(chain: EvmChainId, tx: &RpcTransaction, seen_at: u64) -> Transaction {
    Transaction::pending(
        chain,
        hash(tx.tx_hash()),
        address(tx.from()),
        tx.to().map(address),
        tx.value(),
        tx.nonce(),
        tx.input().clone(),
        seen_at,
    )
    .with_gas(gas(tx))
}

/// What `tx` offers for gas: a legacy transaction's price, else the effective price the node
/// reports for a mined one.
fn gas(tx: &RpcTransaction) -> Gas {
    let dynamic = tx.is_dynamic_fee();
    Gas {
        limit: tx.gas_limit(),
        price: alloy::consensus::Transaction::gas_price(tx)
            .or(tx.effective_gas_price)
            .unwrap_or_default(),
        max_fee_per_gas: dynamic.then(|| alloy::consensus::Transaction::max_fee_per_gas(tx)),
        max_priority_fee_per_gas: if dynamic { tx.max_priority_fee_per_gas() } else { None },
    }
}

fn logs(receipt: &TransactionReceipt) -> Vec<Log> {
    receipt
        .inner
        .logs()
        .iter()
        .map(|l| {
            Log::new(
                address(l.address()),
                l.topics().iter().map(|t| hash(*t)).collect(),
                l.data().data.clone(),
            )
        })
        .collect()
}

/// Why `trace` is not the call tree of `tx`, if it is not: its top-level call must be made by
/// the sender, to the recipient (a creation when there is none). Tracers that name transactions
/// are checked against their hashes when the block is fetched; this also holds for recordings.
fn trace_mismatch(tx: &RpcTransaction, trace: &CallTrace) -> Option<String> {
    let root = &trace.root;
    if root.from != address(tx.from()) {
        return Some(format!("its top-level call is from {} not {}", root.from, tx.from()));
    }
    match tx.to() {
        Some(to) if root.to != Some(address(to)) => Some(format!(
            "its top-level call is to {} not {to}",
            root.to.map_or_else(|| "nothing".to_owned(), |a| a.to_string())
        )),
        None if !root.kind.is_create() => {
            Some(format!("a creation traced as a {}", root.kind.as_str()))
        }
        _ => None,
    }
}

/// A mined block with its receipts, created code, balances and, when it has them, call traces.
pub fn block(chain: EvmChainId, raw: &RawBlock) -> Result<Block, ConvertError> {
    let number = raw.block.header.number;
    let header = BlockRef {
        number,
        hash: hash(raw.block.header.hash),
        timestamp: raw.block.header.timestamp,
    };
    let txs = raw.block.transactions.as_transactions().ok_or(ConvertError::HashesOnly(number))?;
    if txs.len() != raw.receipts.len() {
        return Err(ConvertError::Receipts {
            block: number,
            message: format!("{} transactions but {} receipts", txs.len(), raw.receipts.len()),
        });
    }
    if !raw.traces.is_empty() && raw.traces.len() != txs.len() {
        return Err(ConvertError::Traces {
            block: number,
            message: format!("{} transactions but {} traces", txs.len(), raw.traces.len()),
        });
    }
    let mut transactions = Vec::with_capacity(txs.len());
    for (i, (tx, receipt)) in txs.iter().zip(&raw.receipts).enumerate() {
        if tx.tx_hash() != receipt.transaction_hash {
            return Err(ConvertError::Receipts {
                block: number,
                message: format!(
                    "transaction {i} is {} but its receipt is for {}",
                    tx.tx_hash(),
                    receipt.transaction_hash
                ),
            });
        }
        let created = receipt.contract_address.map(|a| {
            let code = raw.codes.get(&a).cloned().unwrap_or_default();
            CreatedContract {
                address: address(a),
                code_hash: raw.codes.contains_key(&a).then(|| B256::keccak(&code)),
                code,
            }
        });
        let success = receipt.inner.status();
        let mut mined = pending_tx(chain, tx, header.timestamp).into_mined(
            header,
            i as u64,
            success,
            receipt.gas_used,
            logs(receipt),
            created,
        );
        if let Some(trace) = raw.traces.get(i) {
            if let Some(why) = trace_mismatch(tx, trace) {
                return Err(ConvertError::Traces {
                    block: number,
                    message: format!("trace {i} is not transaction {}'s: {why}", tx.tx_hash()),
                });
            }
            mined = mined.with_trace(trace.clone());
        }
        transactions.push(mined);
    }
    Ok(Block {
        chain,
        header,
        parent_hash: hash(raw.block.header.parent_hash),
        transactions,
        balances: raw.balances.clone(),
    })
}

#[cfg(test)]
mod tests {
    use vigil_detect::{CallFrame, CallKind};

    use alloy::primitives::Bytes;

    use super::*;
    use crate::raw::{Recorded, Recording};

    /// The first block with transactions of the recorded attack, and the transactions' own
    /// top-level calls as traces.
    fn traced_block() -> RawBlock {
        let recording = Recording::from_json(include_str!("../testdata/attack.json")).unwrap();
        let mut raw = recording
            .events
            .into_iter()
            .find_map(|e| match e {
                Recorded::Block(raw) if !raw.block.transactions.is_empty() => Some(*raw),
                _ => None,
            })
            .unwrap();
        raw.traces = raw
            .block
            .transactions
            .as_transactions()
            .unwrap()
            .iter()
            .map(|tx| {
                let kind = if tx.to().is_some() { CallKind::Call } else { CallKind::Create };
                let root =
                    CallFrame::new(kind, address(tx.from()), tx.to().map(address), Bytes::new());
                CallTrace::new(root, false)
            })
            .collect();
        raw
    }

    #[test]
    fn traces_are_attached_to_their_transactions() {
        let raw = traced_block();
        let converted = block(EvmChainId(31337), &raw).unwrap();
        assert!(!converted.transactions.is_empty());
        for (tx, trace) in converted.transactions.iter().zip(&raw.traces) {
            assert_eq!(tx.trace.as_ref(), Some(trace));
        }
        let mut untraced = raw;
        untraced.traces.clear();
        let converted = block(EvmChainId(31337), &untraced).unwrap();
        assert!(converted.transactions.iter().all(|t| t.trace.is_none()));
    }

    #[test]
    fn traces_of_other_transactions_are_refused() {
        let mut raw = traced_block();
        raw.traces.push(raw.traces[0].clone());
        let err = block(EvmChainId(31337), &raw).unwrap_err();
        assert!(matches!(&err, ConvertError::Traces { message, .. } if message.contains("traces")));

        let mut raw = traced_block();
        raw.traces[0].root.from = EvmAddress([9; 20]);
        let err = block(EvmChainId(31337), &raw).unwrap_err().to_string();
        assert!(err.contains("trace 0") && err.contains("from"), "{err}");

        let mut raw = traced_block();
        raw.traces[0].root.kind = CallKind::StaticCall;
        raw.traces[0].root.to = Some(EvmAddress([9; 20]));
        let err = block(EvmChainId(31337), &raw).unwrap_err().to_string();
        assert!(err.contains("trace 0"), "{err}");
    }
}
