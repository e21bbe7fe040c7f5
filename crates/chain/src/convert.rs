//! Conversion of alloy's RPC types into `vigil-detect`'s transaction model.

use alloy::consensus::Transaction as _;
use alloy::network::TransactionResponse as _;
use alloy::primitives::Address;
use alloy::rpc::types::{Transaction as RpcTransaction, TransactionReceipt};
use vigil_core::{B256, EvmAddress, EvmChainId};
use vigil_detect::{Block, BlockRef, CreatedContract, Log, Transaction};

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

/// A mined block with its receipts, created code and balances.
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
        transactions.push(pending_tx(chain, tx, header.timestamp).into_mined(
            header,
            i as u64,
            success,
            receipt.gas_used,
            logs(receipt),
            created,
        ));
    }
    Ok(Block {
        chain,
        header,
        parent_hash: hash(raw.block.header.parent_hash),
        transactions,
        balances: raw.balances.clone(),
    })
}
