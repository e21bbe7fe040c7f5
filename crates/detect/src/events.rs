//! Decoding of the log events detectors understand: token movements (ERC-20 / ERC-721
//! `Transfer`, `Approval`, `ApprovalForAll`), flash loans (Aave V2/V3, Balancer V2, Uniswap V3
//! `Flash`), AMM activity (Uniswap V2 `Swap`/`Sync`, Uniswap V3 `Swap`), liquidations (Aave V3
//! `LiquidationCall`) and governance proposals (OpenZeppelin Governor / Compound Bravo
//! `ProposalCreated`, which share one signature).
//!
//! Decoding never panics: a log whose topics or data do not fit its signature is simply not
//! decoded ([`decode_log`] returns `None`) and stays available raw.

use alloy_primitives::{Address, Bytes, I256, U256};
use alloy_sol_types::SolEvent;
use serde::{Deserialize, Serialize};
use vigil_core::{B256, EvmAddress, Selector};

/// Solidity declarations of the events, one module per standard so equal names do not clash.
mod abi {
    pub mod erc20 {
        alloy_sol_types::sol! {
            event Transfer(address indexed from, address indexed to, uint256 value);
            event Approval(address indexed owner, address indexed spender, uint256 value);
        }
    }
    pub mod erc721 {
        alloy_sol_types::sol! {
            event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
            event Approval(address indexed owner, address indexed approved, uint256 indexed tokenId);
            event ApprovalForAll(address indexed owner, address indexed operator, bool approved);
        }
    }
    pub mod aave_v3 {
        alloy_sol_types::sol! {
            event FlashLoan(
                address indexed target,
                address initiator,
                address indexed asset,
                uint256 amount,
                uint8 interestRateMode,
                uint256 premium,
                uint16 indexed referralCode
            );
            event LiquidationCall(
                address indexed collateralAsset,
                address indexed debtAsset,
                address indexed user,
                uint256 debtToCover,
                uint256 liquidatedCollateralAmount,
                address liquidator,
                bool receiveAToken
            );
        }
    }
    pub mod aave_v2 {
        alloy_sol_types::sol! {
            event FlashLoan(
                address indexed target,
                address indexed initiator,
                address indexed asset,
                uint256 amount,
                uint256 premium,
                uint16 referralCode
            );
        }
    }
    pub mod balancer {
        alloy_sol_types::sol! {
            event FlashLoan(address indexed recipient, address indexed token, uint256 amount, uint256 feeAmount);
        }
    }
    pub mod uniswap_v2 {
        alloy_sol_types::sol! {
            event Swap(
                address indexed sender,
                uint256 amount0In,
                uint256 amount1In,
                uint256 amount0Out,
                uint256 amount1Out,
                address indexed to
            );
            event Sync(uint112 reserve0, uint112 reserve1);
        }
    }
    pub mod uniswap_v3 {
        alloy_sol_types::sol! {
            event Swap(
                address indexed sender,
                address indexed recipient,
                int256 amount0,
                int256 amount1,
                uint160 sqrtPriceX96,
                uint128 liquidity,
                int24 tick
            );
            event Flash(
                address indexed sender,
                address indexed recipient,
                uint256 amount0,
                uint256 amount1,
                uint256 paid0,
                uint256 paid1
            );
        }
    }
    pub mod governor {
        alloy_sol_types::sol! {
            event ProposalCreated(
                uint256 proposalId,
                address proposer,
                address[] targets,
                uint256[] values,
                string[] signatures,
                bytes[] calldatas,
                uint256 voteStart,
                uint256 voteEnd,
                string description
            );
        }
    }
}

/// The `topic0` of every event [`decode_log`] understands.
pub mod topics {
    use super::abi;
    use alloy_sol_types::SolEvent;

    /// `Transfer(address,address,uint256)`, ERC-20 (3 topics) and ERC-721 (4 topics).
    pub const TRANSFER: [u8; 32] = abi::erc20::Transfer::SIGNATURE_HASH.0;
    /// `Approval(address,address,uint256)`, ERC-20 (3 topics) and ERC-721 (4 topics).
    pub const APPROVAL: [u8; 32] = abi::erc20::Approval::SIGNATURE_HASH.0;
    /// `ApprovalForAll(address,address,bool)`.
    pub const APPROVAL_FOR_ALL: [u8; 32] = abi::erc721::ApprovalForAll::SIGNATURE_HASH.0;
    /// Aave V3 `FlashLoan`.
    pub const AAVE_V3_FLASH_LOAN: [u8; 32] = abi::aave_v3::FlashLoan::SIGNATURE_HASH.0;
    /// Aave V2 `FlashLoan`.
    pub const AAVE_V2_FLASH_LOAN: [u8; 32] = abi::aave_v2::FlashLoan::SIGNATURE_HASH.0;
    /// Aave V3 `LiquidationCall`.
    pub const AAVE_V3_LIQUIDATION_CALL: [u8; 32] = abi::aave_v3::LiquidationCall::SIGNATURE_HASH.0;
    /// Balancer V2 Vault `FlashLoan`.
    pub const BALANCER_FLASH_LOAN: [u8; 32] = abi::balancer::FlashLoan::SIGNATURE_HASH.0;
    /// Uniswap V2 pair `Swap`.
    pub const UNISWAP_V2_SWAP: [u8; 32] = abi::uniswap_v2::Swap::SIGNATURE_HASH.0;
    /// Uniswap V2 pair `Sync`.
    pub const UNISWAP_V2_SYNC: [u8; 32] = abi::uniswap_v2::Sync::SIGNATURE_HASH.0;
    /// Uniswap V3 pool `Swap`.
    pub const UNISWAP_V3_SWAP: [u8; 32] = abi::uniswap_v3::Swap::SIGNATURE_HASH.0;
    /// Uniswap V3 pool `Flash`.
    pub const UNISWAP_V3_FLASH: [u8; 32] = abi::uniswap_v3::Flash::SIGNATURE_HASH.0;
    /// OpenZeppelin Governor / Compound Governor Bravo `ProposalCreated`.
    pub const PROPOSAL_CREATED: [u8; 32] = abi::governor::ProposalCreated::SIGNATURE_HASH.0;
}

pub(crate) fn addr(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

/// One action of a governance proposal: a call the governor will make if it passes.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct ProposalAction {
    /// The contract called.
    pub target: EvmAddress,
    /// Wei sent with the call.
    pub value: U256,
    /// Compound Bravo's function signature, empty when `calldata` starts with the selector.
    pub signature: String,
    /// The calldata (arguments only when `signature` is set).
    pub calldata: Bytes,
}

impl ProposalAction {
    /// The function this action calls: from `signature` when set, else calldata's first 4 bytes.
    pub fn selector(&self) -> Option<Selector> {
        if self.signature.is_empty() {
            Selector::from_calldata(&self.calldata)
        } else {
            Some(Selector::of_signature(&self.signature))
        }
    }

    /// The ABI-encoded arguments, without a selector.
    pub fn args(&self) -> &[u8] {
        if self.signature.is_empty() {
            self.calldata.get(4..).unwrap_or(&[])
        } else {
            &self.calldata
        }
    }
}

/// A governance proposal as announced by `ProposalCreated` or carried by a `propose` call.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Proposal {
    /// The proposal id (`None` for a pending `propose` call, whose id the governor computes).
    pub id: Option<U256>,
    /// Who proposed it.
    pub proposer: EvmAddress,
    /// What it would do.
    pub actions: Vec<ProposalAction>,
    /// First block (or timestamp, per governor clock) of voting, when known.
    pub vote_start: Option<U256>,
    /// Last block (or timestamp) of voting, when known.
    pub vote_end: Option<U256>,
    /// The description (Markdown, title first).
    pub description: String,
}

/// A decoded log event.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// ERC-20 `Transfer`; the emitting contract is the token.
    Erc20Transfer {
        /// Sender.
        from: EvmAddress,
        /// Recipient.
        to: EvmAddress,
        /// Amount in the token's base units.
        value: U256,
    },
    /// ERC-20 `Approval`.
    Erc20Approval {
        /// Token owner.
        owner: EvmAddress,
        /// Approved spender.
        spender: EvmAddress,
        /// Allowance.
        value: U256,
    },
    /// ERC-721 `Transfer`.
    Erc721Transfer {
        /// Sender.
        from: EvmAddress,
        /// Recipient.
        to: EvmAddress,
        /// Token id.
        token_id: U256,
    },
    /// ERC-721 `Approval`.
    Erc721Approval {
        /// Token owner.
        owner: EvmAddress,
        /// Approved account.
        approved: EvmAddress,
        /// Token id.
        token_id: U256,
    },
    /// ERC-721 / ERC-1155 `ApprovalForAll`.
    ApprovalForAll {
        /// Token owner.
        owner: EvmAddress,
        /// Operator.
        operator: EvmAddress,
        /// Granted or revoked.
        approved: bool,
    },
    /// Aave V3 Pool `FlashLoan`.
    AaveV3FlashLoan {
        /// The receiver contract.
        target: EvmAddress,
        /// Who asked for the loan.
        initiator: EvmAddress,
        /// The borrowed token.
        asset: EvmAddress,
        /// The borrowed amount.
        amount: U256,
        /// 0 when repaid in the same transaction.
        interest_rate_mode: u8,
        /// The fee paid.
        premium: U256,
        /// Referral code.
        referral_code: u16,
    },
    /// Aave V2 LendingPool `FlashLoan`.
    AaveV2FlashLoan {
        /// The receiver contract.
        target: EvmAddress,
        /// Who asked for the loan.
        initiator: EvmAddress,
        /// The borrowed token.
        asset: EvmAddress,
        /// The borrowed amount.
        amount: U256,
        /// The fee paid.
        premium: U256,
        /// Referral code.
        referral_code: u16,
    },
    /// Balancer V2 Vault `FlashLoan`.
    BalancerFlashLoan {
        /// The receiver contract.
        recipient: EvmAddress,
        /// The borrowed token.
        token: EvmAddress,
        /// The borrowed amount.
        amount: U256,
        /// The fee paid.
        fee: U256,
    },
    /// Uniswap V2 pair `Swap`.
    UniswapV2Swap {
        /// The caller.
        sender: EvmAddress,
        /// Token0 in.
        amount0_in: U256,
        /// Token1 in.
        amount1_in: U256,
        /// Token0 out.
        amount0_out: U256,
        /// Token1 out.
        amount1_out: U256,
        /// The recipient.
        to: EvmAddress,
    },
    /// Uniswap V2 pair `Sync` (reserves after the operation).
    UniswapV2Sync {
        /// Reserve of token0.
        reserve0: U256,
        /// Reserve of token1.
        reserve1: U256,
    },
    /// Uniswap V3 pool `Swap`.
    UniswapV3Swap {
        /// The caller.
        sender: EvmAddress,
        /// The recipient.
        recipient: EvmAddress,
        /// Pool's token0 delta (positive: into the pool).
        amount0: I256,
        /// Pool's token1 delta.
        amount1: I256,
        /// Price after the swap.
        sqrt_price_x96: U256,
        /// Liquidity in range.
        liquidity: u128,
        /// Tick after the swap.
        tick: i32,
    },
    /// Uniswap V3 pool `Flash`.
    UniswapV3Flash {
        /// The caller.
        sender: EvmAddress,
        /// The receiver of the borrowed tokens.
        recipient: EvmAddress,
        /// Token0 borrowed.
        amount0: U256,
        /// Token1 borrowed.
        amount1: U256,
        /// Token0 paid back (with fee).
        paid0: U256,
        /// Token1 paid back (with fee).
        paid1: U256,
    },
    /// Aave V3 Pool `LiquidationCall`.
    AaveV3LiquidationCall {
        /// Collateral seized.
        collateral_asset: EvmAddress,
        /// Debt repaid.
        debt_asset: EvmAddress,
        /// The liquidated borrower.
        user: EvmAddress,
        /// Debt repaid, in `debt_asset` units.
        debt_to_cover: U256,
        /// Collateral seized, in `collateral_asset` units.
        liquidated_collateral_amount: U256,
        /// The liquidator.
        liquidator: EvmAddress,
        /// Whether the liquidator took aTokens.
        receive_a_token: bool,
    },
    /// OpenZeppelin Governor / Compound Bravo `ProposalCreated`; the emitter is the governor.
    ProposalCreated(Box<Proposal>),
}

/// A flash loan seen in a log: who received what.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct FlashLoanLeg {
    /// The contract that received the loan.
    pub receiver: EvmAddress,
    /// The token lent, `None` when the event does not say (Uniswap V3 `Flash` names amounts of
    /// the pool's token0/token1 only).
    pub asset: Option<EvmAddress>,
    /// The amount lent.
    pub amount: U256,
}

impl Event {
    /// The event's name as detectors and CEL rules see it (`Transfer`, `FlashLoan`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Erc20Transfer { .. } | Self::Erc721Transfer { .. } => "Transfer",
            Self::Erc20Approval { .. } | Self::Erc721Approval { .. } => "Approval",
            Self::ApprovalForAll { .. } => "ApprovalForAll",
            Self::AaveV3FlashLoan { .. }
            | Self::AaveV2FlashLoan { .. }
            | Self::BalancerFlashLoan { .. } => "FlashLoan",
            Self::UniswapV2Swap { .. } | Self::UniswapV3Swap { .. } => "Swap",
            Self::UniswapV2Sync { .. } => "Sync",
            Self::UniswapV3Flash { .. } => "Flash",
            Self::AaveV3LiquidationCall { .. } => "LiquidationCall",
            Self::ProposalCreated(_) => "ProposalCreated",
        }
    }

    /// The protocol flavour, e.g. `erc20`, `aave_v3`, `uniswap_v2`.
    pub fn standard(&self) -> &'static str {
        match self {
            Self::Erc20Transfer { .. } | Self::Erc20Approval { .. } => "erc20",
            Self::Erc721Transfer { .. }
            | Self::Erc721Approval { .. }
            | Self::ApprovalForAll { .. } => "erc721",
            Self::AaveV3FlashLoan { .. } | Self::AaveV3LiquidationCall { .. } => "aave_v3",
            Self::AaveV2FlashLoan { .. } => "aave_v2",
            Self::BalancerFlashLoan { .. } => "balancer",
            Self::UniswapV2Swap { .. } | Self::UniswapV2Sync { .. } => "uniswap_v2",
            Self::UniswapV3Swap { .. } | Self::UniswapV3Flash { .. } => "uniswap_v3",
            Self::ProposalCreated(_) => "governor",
        }
    }

    /// The flash loan this event records, if it is one.
    pub fn flash_loan(&self) -> Option<FlashLoanLeg> {
        match self {
            Self::AaveV3FlashLoan { target, asset, amount, .. }
            | Self::AaveV2FlashLoan { target, asset, amount, .. } => {
                Some(FlashLoanLeg { receiver: *target, asset: Some(*asset), amount: *amount })
            }
            Self::BalancerFlashLoan { recipient, token, amount, .. } => {
                Some(FlashLoanLeg { receiver: *recipient, asset: Some(*token), amount: *amount })
            }
            Self::UniswapV3Flash { recipient, amount0, amount1, .. } => Some(FlashLoanLeg {
                receiver: *recipient,
                asset: None,
                amount: (*amount0).max(*amount1),
            }),
            _ => None,
        }
    }

    /// Every address the event names (not counting the emitter).
    pub fn addresses(&self, out: &mut Vec<EvmAddress>) {
        match self {
            Self::Erc20Transfer { from, to, .. } | Self::Erc721Transfer { from, to, .. } => {
                out.extend([*from, *to]);
            }
            Self::Erc20Approval { owner, spender, .. } => out.extend([*owner, *spender]),
            Self::Erc721Approval { owner, approved, .. } => out.extend([*owner, *approved]),
            Self::ApprovalForAll { owner, operator, .. } => out.extend([*owner, *operator]),
            Self::AaveV3FlashLoan { target, initiator, asset, .. }
            | Self::AaveV2FlashLoan { target, initiator, asset, .. } => {
                out.extend([*target, *initiator, *asset]);
            }
            Self::BalancerFlashLoan { recipient, token, .. } => out.extend([*recipient, *token]),
            Self::UniswapV2Swap { sender, to, .. } => out.extend([*sender, *to]),
            Self::UniswapV2Sync { .. } => {}
            Self::UniswapV3Swap { sender, recipient, .. }
            | Self::UniswapV3Flash { sender, recipient, .. } => out.extend([*sender, *recipient]),
            Self::AaveV3LiquidationCall {
                collateral_asset, debt_asset, user, liquidator, ..
            } => {
                out.extend([*collateral_asset, *debt_asset, *user, *liquidator]);
            }
            Self::ProposalCreated(p) => {
                out.push(p.proposer);
                out.extend(p.actions.iter().map(|a| a.target));
            }
        }
    }
}

fn words(topics: &[B256]) -> impl Iterator<Item = alloy_primitives::B256> + '_ {
    topics.iter().map(|t| alloy_primitives::B256::from(t.0))
}

/// Decodes a log's topics and data into an [`Event`], or `None` when it is not one of the known
/// events or does not fit its signature.
pub fn decode_log(topics: &[B256], data: &[u8]) -> Option<Event> {
    use abi::*;
    let topic0 = topics.first()?.0;
    let t = || words(topics);
    let event = match (topic0, topics.len()) {
        (topics::TRANSFER, 3) => {
            let e = erc20::Transfer::decode_raw_log(t(), data).ok()?;
            Event::Erc20Transfer { from: addr(e.from), to: addr(e.to), value: e.value }
        }
        (topics::TRANSFER, 4) => {
            let e = erc721::Transfer::decode_raw_log(t(), data).ok()?;
            Event::Erc721Transfer { from: addr(e.from), to: addr(e.to), token_id: e.tokenId }
        }
        (topics::APPROVAL, 3) => {
            let e = erc20::Approval::decode_raw_log(t(), data).ok()?;
            Event::Erc20Approval { owner: addr(e.owner), spender: addr(e.spender), value: e.value }
        }
        (topics::APPROVAL, 4) => {
            let e = erc721::Approval::decode_raw_log(t(), data).ok()?;
            Event::Erc721Approval {
                owner: addr(e.owner),
                approved: addr(e.approved),
                token_id: e.tokenId,
            }
        }
        (topics::APPROVAL_FOR_ALL, 3) => {
            let e = erc721::ApprovalForAll::decode_raw_log(t(), data).ok()?;
            Event::ApprovalForAll {
                owner: addr(e.owner),
                operator: addr(e.operator),
                approved: e.approved,
            }
        }
        (topics::AAVE_V3_FLASH_LOAN, 4) => {
            let e = aave_v3::FlashLoan::decode_raw_log(t(), data).ok()?;
            Event::AaveV3FlashLoan {
                target: addr(e.target),
                initiator: addr(e.initiator),
                asset: addr(e.asset),
                amount: e.amount,
                interest_rate_mode: e.interestRateMode,
                premium: e.premium,
                referral_code: e.referralCode,
            }
        }
        (topics::AAVE_V2_FLASH_LOAN, 4) => {
            let e = aave_v2::FlashLoan::decode_raw_log(t(), data).ok()?;
            Event::AaveV2FlashLoan {
                target: addr(e.target),
                initiator: addr(e.initiator),
                asset: addr(e.asset),
                amount: e.amount,
                premium: e.premium,
                referral_code: e.referralCode,
            }
        }
        (topics::BALANCER_FLASH_LOAN, 3) => {
            let e = balancer::FlashLoan::decode_raw_log(t(), data).ok()?;
            Event::BalancerFlashLoan {
                recipient: addr(e.recipient),
                token: addr(e.token),
                amount: e.amount,
                fee: e.feeAmount,
            }
        }
        (topics::UNISWAP_V2_SWAP, 3) => {
            let e = uniswap_v2::Swap::decode_raw_log(t(), data).ok()?;
            Event::UniswapV2Swap {
                sender: addr(e.sender),
                amount0_in: e.amount0In,
                amount1_in: e.amount1In,
                amount0_out: e.amount0Out,
                amount1_out: e.amount1Out,
                to: addr(e.to),
            }
        }
        (topics::UNISWAP_V2_SYNC, 1) => {
            let e = uniswap_v2::Sync::decode_raw_log(t(), data).ok()?;
            Event::UniswapV2Sync {
                reserve0: U256::from(e.reserve0),
                reserve1: U256::from(e.reserve1),
            }
        }
        (topics::UNISWAP_V3_SWAP, 3) => {
            let e = uniswap_v3::Swap::decode_raw_log(t(), data).ok()?;
            Event::UniswapV3Swap {
                sender: addr(e.sender),
                recipient: addr(e.recipient),
                amount0: e.amount0,
                amount1: e.amount1,
                sqrt_price_x96: U256::from(e.sqrtPriceX96),
                liquidity: e.liquidity,
                tick: e.tick.as_i32(),
            }
        }
        (topics::UNISWAP_V3_FLASH, 3) => {
            let e = uniswap_v3::Flash::decode_raw_log(t(), data).ok()?;
            Event::UniswapV3Flash {
                sender: addr(e.sender),
                recipient: addr(e.recipient),
                amount0: e.amount0,
                amount1: e.amount1,
                paid0: e.paid0,
                paid1: e.paid1,
            }
        }
        (topics::AAVE_V3_LIQUIDATION_CALL, 4) => {
            let e = aave_v3::LiquidationCall::decode_raw_log(t(), data).ok()?;
            Event::AaveV3LiquidationCall {
                collateral_asset: addr(e.collateralAsset),
                debt_asset: addr(e.debtAsset),
                user: addr(e.user),
                debt_to_cover: e.debtToCover,
                liquidated_collateral_amount: e.liquidatedCollateralAmount,
                liquidator: addr(e.liquidator),
                receive_a_token: e.receiveAToken,
            }
        }
        (topics::PROPOSAL_CREATED, 1) => {
            let e = governor::ProposalCreated::decode_raw_log(t(), data).ok()?;
            let n = e.targets.len();
            if e.values.len() != n || e.calldatas.len() != n || e.signatures.len() != n {
                return None;
            }
            let actions = e
                .targets
                .iter()
                .zip(&e.values)
                .zip(&e.signatures)
                .zip(&e.calldatas)
                .map(|(((target, value), signature), calldata)| ProposalAction {
                    target: addr(*target),
                    value: *value,
                    signature: signature.clone(),
                    calldata: calldata.clone(),
                })
                .collect();
            Event::ProposalCreated(Box::new(Proposal {
                id: Some(e.proposalId),
                proposer: addr(e.proposer),
                actions,
                vote_start: Some(e.voteStart),
                vote_end: Some(e.voteEnd),
                description: e.description,
            }))
        }
        _ => return None,
    };
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        hex_decode(s, &mut out);
        out
    }

    fn hex_decode(s: &str, out: &mut [u8]) {
        let s = s.trim_start_matches("0x");
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).unwrap();
        }
    }

    /// The topic hashes listed in crates/chain/contracts/README.md (`cast keccak`).
    #[test]
    fn topics_match_the_contracts_readme() {
        let cases = [
            (
                topics::TRANSFER,
                "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef",
            ),
            (
                topics::APPROVAL,
                "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925",
            ),
            (
                topics::AAVE_V3_FLASH_LOAN,
                "0xefefaba5e921573100900a3ad9cf29f222d995fb3b6045797eaea7521bd8d6f0",
            ),
            (
                topics::UNISWAP_V2_SWAP,
                "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822",
            ),
            (
                topics::UNISWAP_V2_SYNC,
                "0x1c411e9a96e071241c2f21f7726b17ae89e3cab4c78be50e062b03a9fffbbad1",
            ),
            (
                topics::PROPOSAL_CREATED,
                "0x7d84a6263ae0d98d3329bd7b46bb4e8d6f98cd35a7adb45c274c8b7fd5ebd5e0",
            ),
            // Well-known mainnet topics.
            (
                topics::BALANCER_FLASH_LOAN,
                "0x0d7d75e01ab95780d3cd1c8ec0dd6c2ce19e3a20427eec8bf53283b6fb8e95f0",
            ),
            (
                topics::UNISWAP_V3_SWAP,
                "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67",
            ),
            (
                topics::UNISWAP_V3_FLASH,
                "0xbdbdb71d7860376ba52b25a5028beea23581364a40522f6bcfb86bb1f2dca633",
            ),
            (
                topics::AAVE_V2_FLASH_LOAN,
                "0x631042c832b07452973831137f2d73e395028b44b250dedc5abb0ee766e168ac",
            ),
            (
                topics::AAVE_V3_LIQUIDATION_CALL,
                "0xe413a321e8681d831f4dbccbca790d2952b56f977908e45be37335533e005286",
            ),
        ];
        for (got, want) in cases {
            assert_eq!(got, hex32(want), "{want}");
        }
    }

    fn word_addr(a: [u8; 20]) -> B256 {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(&a);
        B256(w)
    }

    fn word_u256(v: u64) -> [u8; 32] {
        U256::from(v).to_be_bytes()
    }

    #[test]
    fn erc20_and_erc721_transfers_are_told_apart_by_topic_count() {
        let from = [1u8; 20];
        let to = [2u8; 20];
        let t = [B256(topics::TRANSFER), word_addr(from), word_addr(to)];
        let e = decode_log(&t, &word_u256(42)).unwrap();
        assert_eq!(
            e,
            Event::Erc20Transfer {
                from: EvmAddress(from),
                to: EvmAddress(to),
                value: U256::from(42)
            }
        );
        let t4 = [B256(topics::TRANSFER), word_addr(from), word_addr(to), B256(word_u256(7))];
        let e = decode_log(&t4, &[]).unwrap();
        assert_eq!(
            e,
            Event::Erc721Transfer {
                from: EvmAddress(from),
                to: EvmAddress(to),
                token_id: U256::from(7)
            }
        );
        assert_eq!(e.name(), "Transfer");
    }

    #[test]
    fn malformed_logs_are_not_decoded() {
        // Too short data for an ERC-20 transfer.
        let t = [B256(topics::TRANSFER), word_addr([1; 20]), word_addr([2; 20])];
        assert_eq!(decode_log(&t, &[0u8; 31]), None);
        // Unknown topic.
        assert_eq!(decode_log(&[B256([9; 32])], &[]), None);
        // No topics at all.
        assert_eq!(decode_log(&[], &[]), None);
        // Wrong topic count for a flash loan.
        assert_eq!(decode_log(&[B256(topics::AAVE_V3_FLASH_LOAN)], &[0u8; 160]), None);
        // A proposal whose data is garbage.
        assert_eq!(decode_log(&[B256(topics::PROPOSAL_CREATED)], &[0xff; 64]), None);
    }

    #[test]
    fn proposal_created_round_trips_through_the_abi() {
        let target = Address::repeat_byte(0x11);
        let e = abi::governor::ProposalCreated {
            proposalId: U256::from(5),
            proposer: Address::repeat_byte(0x22),
            targets: vec![target],
            values: vec![U256::ZERO],
            signatures: vec![String::new()],
            calldatas: vec![Bytes::from(vec![0x84, 0x56, 0xcb, 0x59])],
            voteStart: U256::from(10),
            voteEnd: U256::from(60),
            description: "Pause the vault".into(),
        };
        let data = e.encode_log_data();
        let topics: Vec<B256> = data.topics().iter().map(|t| B256(t.0)).collect();
        let Some(Event::ProposalCreated(p)) = decode_log(&topics, &data.data) else {
            panic!("not decoded")
        };
        assert_eq!(p.id, Some(U256::from(5)));
        assert_eq!(p.actions.len(), 1);
        assert_eq!(p.actions[0].selector().unwrap().to_string(), "0x8456cb59");
        assert_eq!(p.actions[0].args(), &[] as &[u8]);
        assert_eq!(p.description, "Pause the vault");
    }
}
