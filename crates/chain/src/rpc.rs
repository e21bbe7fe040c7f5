//! The JSON-RPC client: an alloy provider over HTTP(S) or WebSocket, every call retried with
//! [`Backoff`], and the composite fetch of a block with everything detectors need, its call
//! traces included when the node offers a tracer (see [`crate::trace`]).

use std::collections::BTreeMap;
use std::future::IntoFuture;

use alloy::eips::{BlockId, BlockNumberOrTag};
use alloy::network::TransactionResponse as _;
use alloy::primitives::{Address, B256 as AlloyB256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Block as RpcBlock, Transaction as RpcTransaction, TransactionRequest};
use alloy::sol_types::SolCall;
use alloy::transports::{RpcError, TransportErrorKind};
use vigil_core::EvmAddress;
use vigil_detect::TokenBalance;
use vigil_detect::events::topics;
use vigil_detect::trace::CallTrace;

use crate::backoff::Backoff;
use crate::convert::{address, alloy_address};
use crate::error::{ChainError, Result};
use crate::raw::RawBlock;
use crate::trace::{AlignError, TraceMode, TraceSource, align};

alloy::sol! {
    function balanceOf(address account) external view returns (uint256);
}

/// Items buffered per subscription before a slow reader loses some (and logs it).
pub const SUBSCRIPTION_BUFFER: usize = 8_192;

/// A connected node.
#[derive(Clone)]
pub struct Rpc {
    provider: DynProvider,
    url: String,
    pubsub: bool,
    backoff: Backoff,
}

impl std::fmt::Debug for Rpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry an API key: only its redacted form is shown.
        f.debug_struct("Rpc")
            .field("url", &redact(&self.url))
            .field("pubsub", &self.pubsub)
            .finish()
    }
}

fn rpc_error(call: impl Into<String>, e: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc { call: call.into(), message: e.to_string() }
}

impl Rpc {
    /// Connects to `url` (`http(s)://` or `ws(s)://`), retrying with `backoff`.
    pub async fn connect(url: &str, backoff: Backoff) -> Result<Self> {
        let parsed = url::Url::parse(url)
            .map_err(|e| ChainError::BadUrl { url: redact(url), message: e.to_string() })?;
        let pubsub = match parsed.scheme() {
            "ws" | "wss" => true,
            "http" | "https" => false,
            other => {
                return Err(ChainError::BadUrl {
                    url: redact(url),
                    message: format!("scheme {other:?} is not http, https, ws or wss"),
                });
            }
        };
        let provider = backoff
            .retry(&format!("connect {}", redact(url)), || async {
                ProviderBuilder::new().connect(url).await.map(Provider::erased)
            })
            .await
            .map_err(|e| rpc_error(format!("connect {}", redact(url)), e))?;
        if let Some(frontend) = provider.client().pubsub_frontend() {
            // alloy buffers 16 items per subscription; a busy mempool overruns that.
            frontend.set_channel_size(SUBSCRIPTION_BUFFER);
        }
        Ok(Self { provider, url: url.to_owned(), pubsub, backoff })
    }

    /// The provider, for calls this type does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Whether the connection supports subscriptions (WebSocket).
    pub fn supports_subscriptions(&self) -> bool {
        self.pubsub
    }

    /// The URL with any credentials (user info, query) removed, for logs.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// The retry policy.
    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// `eth_chainId`.
    pub async fn chain_id(&self) -> Result<u64> {
        self.backoff
            .retry("eth_chainId", || self.provider.get_chain_id())
            .await
            .map_err(|e| rpc_error("eth_chainId", e))
    }

    /// `eth_blockNumber`.
    pub async fn head(&self) -> Result<u64> {
        self.backoff
            .retry("eth_blockNumber", || self.provider.get_block_number())
            .await
            .map_err(|e| rpc_error("eth_blockNumber", e))
    }

    /// The hash of block `number`, `None` when the node has no such block.
    pub async fn block_hash(&self, number: u64) -> Result<Option<vigil_core::B256>> {
        let call = format!("eth_getBlockByNumber({number})");
        let block = self
            .backoff
            .retry(&call, || {
                self.provider.get_block_by_number(BlockNumberOrTag::Number(number)).into_future()
            })
            .await
            .map_err(|e| rpc_error(&call, e))?;
        Ok(block.map(|b| vigil_core::B256(b.header.hash.0)))
    }

    /// A pending transaction by hash, `None` once it is gone from the node.
    pub async fn transaction(&self, hash: AlloyB256) -> Result<Option<RpcTransaction>> {
        let call = format!("eth_getTransactionByHash({hash})");
        self.backoff
            .retry(&call, || self.provider.get_transaction_by_hash(hash))
            .await
            .map_err(|e| rpc_error(&call, e))
    }

    /// Block `number` with full transactions, receipts, the code of contracts it created, the
    /// balances `protected` contracts held before it in the tokens it moves and its call traces
    /// from `traces`; `None` when the node does not have the block yet. A block the node
    /// refuses to trace comes without traces (logged); traces that do not match the block are
    /// fetched again with it.
    pub async fn raw_block(
        &self,
        number: u64,
        protected: &[EvmAddress],
        traces: TraceSource,
    ) -> Result<Option<RawBlock>> {
        let call = format!("block {number}");
        self.backoff.retry(&call, || self.try_raw_block(number, protected, traces)).await
    }

    async fn try_raw_block(
        &self,
        number: u64,
        protected: &[EvmAddress],
        source: TraceSource,
    ) -> Result<Option<RawBlock>> {
        let call = || format!("eth_getBlockByNumber({number}, true)");
        let Some(block) = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .full()
            .await
            .map_err(|e| rpc_error(call(), e))?
        else {
            return Ok(None);
        };
        let call = || format!("eth_getBlockReceipts({number})");
        let receipts = self
            .provider
            .get_block_receipts(BlockId::Hash(block.header.hash.into()))
            .await
            .map_err(|e| rpc_error(call(), e))?
            .ok_or_else(|| ChainError::Inconsistent {
                call: call(),
                message: "no receipts for a known block".into(),
            })?;
        let txs = block.transactions.as_transactions().ok_or_else(|| ChainError::Inconsistent {
            call: format!("eth_getBlockByNumber({number}, true)"),
            message: "transaction hashes instead of objects".into(),
        })?;
        let matches = txs.len() == receipts.len()
            && txs.iter().zip(&receipts).all(|(t, r)| t.tx_hash() == r.transaction_hash);
        if !matches {
            return Err(ChainError::Inconsistent {
                call: call(),
                message: format!(
                    "{} receipts for {} transactions, or in another order",
                    receipts.len(),
                    txs.len()
                ),
            });
        }

        let mut codes = BTreeMap::new();
        for r in &receipts {
            if let Some(created) = r.contract_address {
                let code = self
                    .provider
                    .get_code_at(created)
                    .block_id(BlockId::Hash(block.header.hash.into()))
                    .await
                    .map_err(|e| rpc_error(format!("eth_getCode({created})"), e))?;
                codes.insert(created, code);
            }
        }

        let mut balances = Vec::new();
        if !protected.is_empty() && number > 0 {
            let mut pairs: Vec<(Address, Address)> = Vec::new();
            for log in receipts.iter().flat_map(|r| r.inner.logs()) {
                let t = log.topics();
                if t.len() == 3 && t[0].0 == topics::TRANSFER {
                    for side in [&t[1], &t[2]] {
                        let holder = Address::from_word(*side);
                        if protected.contains(&address(holder))
                            && !pairs.contains(&(holder, log.address()))
                        {
                            pairs.push((holder, log.address()));
                        }
                    }
                }
            }
            for (holder, token) in pairs {
                if let Some(amount) = self.balance_of(token, holder, number - 1).await? {
                    balances.push(TokenBalance {
                        holder: address(holder),
                        token: address(token),
                        amount,
                    });
                }
            }
        }
        let traces = match self.block_traces(&block, source).await? {
            Traced::Aligned(traces) => traces,
            Traced::Refused(why) | Traced::Unreadable(why) => {
                tracing::warn!(block = number, %source, error = %why, "block not traced: receipts only");
                Vec::new()
            }
            Traced::Mismatched(why) => {
                let call = format!("{}({number})", source.method().unwrap_or("trace"));
                return Err(ChainError::Inconsistent { call, message: why });
            }
        };
        Ok(Some(RawBlock { block, receipts, codes, balances, traces }))
    }

    /// Finds the first source `mode` allows that the node offers, by tracing `block` (already
    /// fetched) with each in turn, and returns it with the block's traces. A source the node
    /// refuses is skipped, or an error when `mode` names it; transport errors are retried.
    pub async fn probe_traces(
        &self,
        block: &RpcBlock,
        mode: TraceMode,
    ) -> Result<(TraceSource, Vec<CallTrace>)> {
        let number = block.header.number;
        for &source in mode.candidates() {
            let method = source.method().unwrap_or_default();
            let call = format!("{method}({number})");
            match self.backoff.retry(&call, || self.block_traces(block, source)).await? {
                Traced::Aligned(traces) => return Ok((source, traces)),
                Traced::Mismatched(why) => {
                    // The node traces blocks; this one changed under the fetch.
                    tracing::warn!(block = number, %source, error = %why, "first block not traced");
                    return Ok((source, Vec::new()));
                }
                Traced::Refused(why) | Traced::Unreadable(why) if mode.is_required() => {
                    return Err(ChainError::TracerRefused {
                        method: method.into(),
                        mode: mode.to_string(),
                        message: why,
                    });
                }
                Traced::Refused(why) | Traced::Unreadable(why) => {
                    tracing::info!(%method, error = %why, "the node does not offer this tracer");
                }
            }
        }
        Ok((TraceSource::ReceiptsOnly, Vec::new()))
    }

    /// One attempt at `block`'s traces from `source`; only transport failures are errors.
    async fn block_traces(&self, block: &RpcBlock, source: TraceSource) -> Result<Traced> {
        let Some(method) = source.method() else { return Ok(Traced::Aligned(Vec::new())) };
        let number = block.header.number;
        // Read raw, then as deep as the trees go (past serde_json's default depth limit).
        let raw: Box<serde_json::value::RawValue> =
            match self.provider.raw_request(method.into(), source.params(number)).await {
                Ok(answer) => answer,
                Err(e) if is_refusal(&e) => return Ok(Traced::Refused(e.to_string())),
                Err(e) => return Err(rpc_error(format!("{method}({number})"), e)),
            };
        let hashes: Vec<vigil_core::B256> =
            block.transactions.hashes().map(|h| vigil_core::B256(h.0)).collect();
        Ok(match align(source, raw.get(), &hashes) {
            Ok(traces) => Traced::Aligned(traces),
            Err(AlignError::Unreadable(why)) => Traced::Unreadable(why),
            Err(AlignError::Mismatch(why)) => Traced::Mismatched(why),
        })
    }

    /// `token.balanceOf(holder)` at block `at`; `None` when the call reverts (not an ERC-20).
    pub async fn balance_of(
        &self,
        token: Address,
        holder: Address,
        at: u64,
    ) -> Result<Option<U256>> {
        let input = balanceOfCall { account: holder }.abi_encode();
        let request = TransactionRequest::default().to(token).input(Bytes::from(input).into());
        match self.provider.call(request).block(BlockId::number(at)).await {
            Ok(out) => Ok(balanceOfCall::abi_decode_returns(&out).ok()),
            Err(RpcError::ErrorResp(_)) => Ok(None),
            Err(e) => Err(rpc_error(format!("balanceOf({holder}) on {token} at {at}"), e)),
        }
    }

    /// `balanceOf` for a Vigil address pair at the latest block.
    pub async fn token_balance(
        &self,
        token: EvmAddress,
        holder: EvmAddress,
    ) -> Result<Option<U256>> {
        let head = self.head().await?;
        self.balance_of(alloy_address(token), alloy_address(holder), head).await
    }
}

/// What a tracer answered for a block.
enum Traced {
    /// One trace per transaction, in block order.
    Aligned(Vec<CallTrace>),
    /// An error response: the node does not offer the method (or not for this block).
    Refused(String),
    /// An answer of another shape.
    Unreadable(String),
    /// Traces of other transactions: the block changed between the calls, or the node is broken.
    Mismatched(String),
}

/// Whether an RPC error is the node refusing a method or parameter (not worth retrying).
pub(crate) fn is_refusal(e: &RpcError<TransportErrorKind>) -> bool {
    matches!(e, RpcError::ErrorResp(_) | RpcError::UnsupportedFeature(_))
}

/// `url` without user info, path secrets or query (API keys often live there).
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Err(_) => "<unparsable url>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_for_logs() {
        assert_eq!(
            redact("https://user:pw@mainnet.example.com/v3/SECRETKEY?x=1"),
            "https://mainnet.example.com"
        );
        assert_eq!(redact("ws://127.0.0.1:8545"), "ws://127.0.0.1:8545");
        assert_eq!(redact("not a url"), "<unparsable url>");
    }

    #[tokio::test]
    async fn bad_urls_are_refused_before_connecting() {
        let err = Rpc::connect("ftp://x", Backoff::default()).await.unwrap_err().to_string();
        assert!(err.contains("ftp"), "{err}");
        let err = Rpc::connect("::", Backoff::default()).await.unwrap_err().to_string();
        assert!(err.contains("bad RPC URL"), "{err}");
    }
}
