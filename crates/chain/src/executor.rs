//! On-chain actions: a guardian key signs and sends a call (`pause()` or whatever a protocol's
//! breaker policy names) to a protocol's contract, with nonce, gas and chain id filled in by
//! alloy, and waits for the receipt, refusing a reverted one.

use std::time::{Duration, Instant};

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use vigil_core::{B256, EvmAddress};

/// Why an on-chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ExecutorError {
    /// The private key is not a secp256k1 key in hex.
    #[error("the guardian key is not a 32-byte secp256k1 private key in hex")]
    BadKey,
    /// The RPC endpoint could not be used.
    #[error("RPC {url}: {message}")]
    Rpc {
        /// The endpoint (credentials redacted).
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The transaction was mined but reverted.
    #[error("call to {target} reverted in transaction {tx} (block {block})")]
    Reverted {
        /// The contract called.
        target: EvmAddress,
        /// The transaction.
        tx: B256,
        /// Its block.
        block: u64,
    },
    /// No receipt in time.
    #[error("transaction {0} was not mined within the wait time")]
    NotMined(B256),
}

/// What a sent call became.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallReceipt {
    /// The transaction hash.
    pub tx: B256,
    /// The block it was mined in.
    pub block: u64,
    /// Gas used.
    pub gas_used: u64,
    /// Time from the call to the node accepting the signed transaction.
    pub sent_after: Duration,
    /// Time from the call to the receipt.
    pub mined_after: Duration,
}

/// Fees and gas of a call sent without estimates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fees {
    /// Max fee per gas, wei.
    pub max_fee_per_gas: u128,
    /// Max priority fee per gas, wei.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit.
    pub gas_limit: u64,
}

impl Fees {
    /// Fees that outbid a pending transaction paying `max_fee_per_gas` with priority fee
    /// `tip` (`None`: legacy, the whole price is the tip) by `bump_percent` (and by at least
    /// one wei), each capped at `cap`; the flag is `true` when the cap kept it from outbidding.
    pub fn outbid(
        max_fee_per_gas: u128,
        tip: Option<u128>,
        bump_percent: u32,
        cap: u128,
        gas_limit: u64,
    ) -> (Self, bool) {
        let bump = |v: u128| {
            let raised = v.saturating_mul(100 + u128::from(bump_percent)) / 100;
            raised.max(v.saturating_add(1))
        };
        let priority = bump(tip.unwrap_or(max_fee_per_gas));
        let max_fee = bump(max_fee_per_gas).max(priority);
        let capped = max_fee > cap || priority > cap;
        let fees = Self {
            max_fee_per_gas: max_fee.min(cap),
            max_priority_fee_per_gas: priority.min(cap),
            gas_limit,
        };
        (fees, capped)
    }
}

/// Sends calls from one guardian key to one chain.
#[derive(Clone)]
pub struct ContractCaller {
    provider: DynProvider,
    from: Address,
    url: String,
    receipt_timeout: Duration,
}

impl std::fmt::Debug for ContractCaller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContractCaller").field("from", &self.from).field("url", &self.url).finish()
    }
}

impl ContractCaller {
    /// A caller over `rpc_url` signing with the hex private key `key` (with or without `0x`).
    pub async fn connect(rpc_url: &str, key: &str) -> Result<Self, ExecutorError> {
        let signer: PrivateKeySigner = key.trim().parse().map_err(|_| ExecutorError::BadKey)?;
        let from = signer.address();
        let url = crate::rpc::redact(rpc_url);
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect(rpc_url)
            .await
            .map_err(|e| ExecutorError::Rpc { url: url.clone(), message: e.to_string() })?
            .erased();
        // Fail early on an endpoint that does not answer.
        provider
            .get_chain_id()
            .await
            .map_err(|e| ExecutorError::Rpc { url: url.clone(), message: e.to_string() })?;
        Ok(Self { provider, from, url, receipt_timeout: Duration::from_secs(60) })
    }

    /// How long [`ContractCaller::call`] waits for a receipt (default 60 s).
    pub fn with_receipt_timeout(mut self, timeout: Duration) -> Self {
        self.receipt_timeout = timeout;
        self
    }

    /// The guardian's address.
    pub fn address(&self) -> EvmAddress {
        EvmAddress(self.from.into_array())
    }

    fn rpc(&self, e: impl std::fmt::Display) -> ExecutorError {
        ExecutorError::Rpc { url: self.url.clone(), message: e.to_string() }
    }

    /// Signs and sends `calldata` to `target`; returns once the node accepted it.
    pub async fn send(&self, target: EvmAddress, calldata: &[u8]) -> Result<B256, ExecutorError> {
        self.send_with(target, calldata, None).await
    }

    /// Like [`ContractCaller::send`], with the fees and gas limit given (EIP-1559), so nothing
    /// is estimated: the fast way to get a pause ahead of a pending exploit.
    pub async fn send_with(
        &self,
        target: EvmAddress,
        calldata: &[u8],
        fees: Option<Fees>,
    ) -> Result<B256, ExecutorError> {
        let mut req = TransactionRequest::default()
            .from(self.from)
            .to(Address::from(target.0))
            .input(Bytes::copy_from_slice(calldata).into());
        if let Some(f) = fees {
            req = req
                .max_fee_per_gas(f.max_fee_per_gas)
                .max_priority_fee_per_gas(f.max_priority_fee_per_gas)
                .gas_limit(f.gas_limit);
        }
        let pending = self.provider.send_transaction(req).await.map_err(|e| self.rpc(e))?;
        Ok(B256(pending.tx_hash().0))
    }

    /// Sends `calldata` to `target` and waits for a successful receipt.
    pub async fn call(
        &self,
        target: EvmAddress,
        calldata: &[u8],
    ) -> Result<CallReceipt, ExecutorError> {
        let started = Instant::now();
        let tx = self.send(target, calldata).await?;
        let sent_after = started.elapsed();
        let mut receipt = self.wait(tx).await?;
        receipt.sent_after = sent_after;
        receipt.mined_after = started.elapsed();
        Ok(receipt)
    }

    /// Waits for the receipt of a sent transaction; an error if it reverted.
    pub async fn wait(&self, tx: B256) -> Result<CallReceipt, ExecutorError> {
        let started = Instant::now();
        let hash = alloy::primitives::B256::from(tx.0);
        let deadline = started + self.receipt_timeout;
        loop {
            if let Some(receipt) =
                self.provider.get_transaction_receipt(hash).await.map_err(|e| self.rpc(e))?
            {
                let block = receipt.block_number.unwrap_or(0);
                if !receipt.status() {
                    let target = receipt.to.map(|a| EvmAddress(a.into_array())).unwrap_or_default();
                    return Err(ExecutorError::Reverted { target, tx, block });
                }
                return Ok(CallReceipt {
                    tx,
                    block,
                    gas_used: receipt.gas_used,
                    sent_after: Duration::ZERO,
                    mined_after: started.elapsed(),
                });
            }
            if Instant::now() >= deadline {
                return Err(ExecutorError::NotMined(tx));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
