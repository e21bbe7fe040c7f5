//! Decoding of calldata: the few calls whose arguments matter to detectors before a
//! transaction is mined (token transfers and approvals, flash-loan entry points, governance
//! `propose`), the flash-loan selectors, and a scan for address-shaped words.
//!
//! Decoding never panics: calldata that does not fit its selector's signature decodes to
//! [`Call::Other`].

use alloy_primitives::U256;
use alloy_sol_types::SolCall;
use serde::{Deserialize, Serialize};
use vigil_core::{EvmAddress, Selector};

use crate::events::{Proposal, ProposalAction, addr};

mod abi {
    pub mod erc20 {
        alloy_sol_types::sol! {
            function transfer(address to, uint256 amount);
            function transferFrom(address from, address to, uint256 amount);
            function approve(address spender, uint256 amount);
            function increaseAllowance(address spender, uint256 addedValue);
            function setApprovalForAll(address operator, bool approved);
        }
    }
    pub mod aave {
        alloy_sol_types::sol! {
            function flashLoanSimple(address receiverAddress, address asset, uint256 amount, bytes params, uint16 referralCode);
            function flashLoan(
                address receiverAddress,
                address[] assets,
                uint256[] amounts,
                uint256[] interestRateModes,
                address onBehalfOf,
                bytes params,
                uint16 referralCode
            );
        }
    }
    pub mod balancer {
        alloy_sol_types::sol! {
            function flashLoan(address recipient, address[] tokens, uint256[] amounts, bytes userData);
        }
    }
    pub mod erc3156 {
        alloy_sol_types::sol! {
            function flashLoan(address receiver, address token, uint256 amount, bytes data);
        }
    }
    pub mod uniswap {
        alloy_sol_types::sol! {
            function flash(address recipient, uint256 amount0, uint256 amount1, bytes data);
            function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes data);
        }
    }
    pub mod oz_governor {
        alloy_sol_types::sol! {
            function propose(address[] targets, uint256[] values, bytes[] calldatas, string description);
        }
    }
    pub mod bravo {
        alloy_sol_types::sol! {
            function propose(address[] targets, uint256[] values, string[] signatures, bytes[] calldatas, string description);
        }
    }
}

/// Which flash-loan API a call or contract uses.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashLoanApi {
    /// Aave V3 `flashLoanSimple`.
    AaveV3Simple,
    /// Aave V2/V3 `flashLoan` (several assets).
    Aave,
    /// Balancer V2 Vault `flashLoan`.
    Balancer,
    /// Uniswap V3 pool `flash`.
    UniswapV3,
    /// ERC-3156 lender `flashLoan`.
    Erc3156,
    /// Uniswap V2 pair `swap` with callback data (a flash swap).
    UniswapV2FlashSwap,
}

/// Flash-loan entry points: calling one of these borrows.
pub const FLASH_LOAN_SELECTORS: [(Selector, FlashLoanApi); 5] = [
    (Selector([0x42, 0xb0, 0xb7, 0x7c]), FlashLoanApi::AaveV3Simple),
    (Selector([0xab, 0x9c, 0x4b, 0x5d]), FlashLoanApi::Aave),
    (Selector([0x5c, 0x38, 0x44, 0x9e]), FlashLoanApi::Balancer),
    (Selector([0x49, 0x0e, 0x6c, 0xbc]), FlashLoanApi::UniswapV3),
    (Selector([0x5c, 0xff, 0xe9, 0xde]), FlashLoanApi::Erc3156),
];

/// Flash-loan callbacks a borrower contract implements (`executeOperation`, `receiveFlashLoan`,
/// `uniswapV3FlashCallback`, `onFlashLoan`, `uniswapV2Call`).
pub const FLASH_LOAN_CALLBACK_SELECTORS: [Selector; 6] = [
    Selector([0x1b, 0x11, 0xd0, 0xff]), // executeOperation(address,uint256,uint256,address,bytes)
    Selector([0x92, 0x0f, 0x5c, 0x84]), // executeOperation(address[],uint256[],uint256[],address,bytes)
    Selector([0xf0, 0x4f, 0x27, 0x07]), // receiveFlashLoan(address[],uint256[],uint256[],bytes)
    Selector([0xe9, 0xcb, 0xaf, 0xb0]), // uniswapV3FlashCallback(uint256,uint256,bytes)
    Selector([0x23, 0xe3, 0x0c, 0x8b]), // onFlashLoan(address,address,uint256,uint256,bytes)
    Selector([0x10, 0xd1, 0xe8, 0x5c]), // uniswapV2Call(address,uint256,uint256,bytes)
];

/// The flash-loan API whose entry point `selector` is, if any.
pub fn flash_loan_api(selector: Selector) -> Option<FlashLoanApi> {
    FLASH_LOAN_SELECTORS.iter().find(|(s, _)| *s == selector).map(|(_, api)| *api)
}

/// Whether `selector` is a flash-loan entry point or callback.
pub fn is_flash_loan_selector(selector: Selector) -> bool {
    flash_loan_api(selector).is_some() || FLASH_LOAN_CALLBACK_SELECTORS.contains(&selector)
}

/// A decoded top-level call.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum Call {
    /// No calldata: a plain value transfer.
    Plain,
    /// ERC-20 `transfer`.
    Transfer {
        /// Recipient.
        to: EvmAddress,
        /// Amount.
        amount: U256,
    },
    /// ERC-20 / ERC-721 `transferFrom`.
    TransferFrom {
        /// Owner.
        from: EvmAddress,
        /// Recipient.
        to: EvmAddress,
        /// Amount (ERC-20) or token id (ERC-721).
        amount: U256,
    },
    /// ERC-20 `approve` or `increaseAllowance`.
    Approve {
        /// Spender.
        spender: EvmAddress,
        /// Allowance (or its increase).
        amount: U256,
    },
    /// ERC-721 / ERC-1155 `setApprovalForAll`.
    SetApprovalForAll {
        /// Operator.
        operator: EvmAddress,
        /// Granted or revoked.
        approved: bool,
    },
    /// A flash-loan entry point.
    FlashLoan {
        /// Which API.
        api: FlashLoanApi,
        /// The contract that will receive the funds and the callback.
        receiver: EvmAddress,
        /// Tokens borrowed (empty when the call names amounts only, as Uniswap does).
        assets: Vec<EvmAddress>,
        /// Amounts borrowed.
        amounts: Vec<U256>,
    },
    /// Governor `propose` (OpenZeppelin or Compound Bravo).
    Propose(Box<Proposal>),
    /// Any other call, or calldata that does not fit its selector.
    Other,
}

impl Call {
    /// The call's name as detectors and CEL rules see it (`transfer`, `flash_loan`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Plain => "plain",
            Self::Transfer { .. } => "transfer",
            Self::TransferFrom { .. } => "transfer_from",
            Self::Approve { .. } => "approve",
            Self::SetApprovalForAll { .. } => "set_approval_for_all",
            Self::FlashLoan { .. } => "flash_loan",
            Self::Propose(_) => "propose",
            Self::Other => "other",
        }
    }
}

fn addrs(v: &[alloy_primitives::Address]) -> Vec<EvmAddress> {
    v.iter().map(|a| addr(*a)).collect()
}

fn proposal(
    proposer: EvmAddress,
    targets: Vec<alloy_primitives::Address>,
    values: Vec<U256>,
    signatures: Option<Vec<String>>,
    calldatas: Vec<alloy_primitives::Bytes>,
    description: String,
) -> Option<Call> {
    let n = targets.len();
    if values.len() != n
        || calldatas.len() != n
        || signatures.as_ref().is_some_and(|s| s.len() != n)
    {
        return None;
    }
    let mut signatures = signatures.unwrap_or_default().into_iter();
    let actions = targets
        .into_iter()
        .zip(values)
        .zip(calldatas)
        .map(|((target, value), calldata)| ProposalAction {
            target: addr(target),
            value,
            signature: signatures.next().unwrap_or_default(),
            calldata,
        })
        .collect();
    Some(Call::Propose(Box::new(Proposal {
        id: None,
        proposer,
        actions,
        vote_start: None,
        vote_end: None,
        description,
    })))
}

/// Decodes `input`, the calldata of a transaction sent by `sender`.
pub fn decode_call(input: &[u8], sender: EvmAddress) -> Call {
    if input.is_empty() {
        return Call::Plain;
    }
    decode_known(input, sender).unwrap_or(Call::Other)
}

fn decode_known(input: &[u8], sender: EvmAddress) -> Option<Call> {
    use abi::*;
    let selector: [u8; 4] = *input.first_chunk::<4>()?;
    let call = match selector {
        erc20::transferCall::SELECTOR => {
            let c = erc20::transferCall::abi_decode(input).ok()?;
            Call::Transfer { to: addr(c.to), amount: c.amount }
        }
        erc20::transferFromCall::SELECTOR => {
            let c = erc20::transferFromCall::abi_decode(input).ok()?;
            Call::TransferFrom { from: addr(c.from), to: addr(c.to), amount: c.amount }
        }
        erc20::approveCall::SELECTOR => {
            let c = erc20::approveCall::abi_decode(input).ok()?;
            Call::Approve { spender: addr(c.spender), amount: c.amount }
        }
        erc20::increaseAllowanceCall::SELECTOR => {
            let c = erc20::increaseAllowanceCall::abi_decode(input).ok()?;
            Call::Approve { spender: addr(c.spender), amount: c.addedValue }
        }
        erc20::setApprovalForAllCall::SELECTOR => {
            let c = erc20::setApprovalForAllCall::abi_decode(input).ok()?;
            Call::SetApprovalForAll { operator: addr(c.operator), approved: c.approved }
        }
        aave::flashLoanSimpleCall::SELECTOR => {
            let c = aave::flashLoanSimpleCall::abi_decode(input).ok()?;
            Call::FlashLoan {
                api: FlashLoanApi::AaveV3Simple,
                receiver: addr(c.receiverAddress),
                assets: vec![addr(c.asset)],
                amounts: vec![c.amount],
            }
        }
        aave::flashLoanCall::SELECTOR => {
            let c = aave::flashLoanCall::abi_decode(input).ok()?;
            Call::FlashLoan {
                api: FlashLoanApi::Aave,
                receiver: addr(c.receiverAddress),
                assets: addrs(&c.assets),
                amounts: c.amounts,
            }
        }
        balancer::flashLoanCall::SELECTOR => {
            let c = balancer::flashLoanCall::abi_decode(input).ok()?;
            Call::FlashLoan {
                api: FlashLoanApi::Balancer,
                receiver: addr(c.recipient),
                assets: addrs(&c.tokens),
                amounts: c.amounts,
            }
        }
        erc3156::flashLoanCall::SELECTOR => {
            let c = erc3156::flashLoanCall::abi_decode(input).ok()?;
            Call::FlashLoan {
                api: FlashLoanApi::Erc3156,
                receiver: addr(c.receiver),
                assets: vec![addr(c.token)],
                amounts: vec![c.amount],
            }
        }
        uniswap::flashCall::SELECTOR => {
            let c = uniswap::flashCall::abi_decode(input).ok()?;
            Call::FlashLoan {
                api: FlashLoanApi::UniswapV3,
                receiver: addr(c.recipient),
                assets: Vec::new(),
                amounts: vec![c.amount0, c.amount1],
            }
        }
        uniswap::swapCall::SELECTOR => {
            let c = uniswap::swapCall::abi_decode(input).ok()?;
            if c.data.is_empty() {
                return None;
            }
            Call::FlashLoan {
                api: FlashLoanApi::UniswapV2FlashSwap,
                receiver: addr(c.to),
                assets: Vec::new(),
                amounts: vec![c.amount0Out, c.amount1Out],
            }
        }
        oz_governor::proposeCall::SELECTOR => {
            let c = oz_governor::proposeCall::abi_decode(input).ok()?;
            proposal(sender, c.targets, c.values, None, c.calldatas, c.description)?
        }
        bravo::proposeCall::SELECTOR => {
            let c = bravo::proposeCall::abi_decode(input).ok()?;
            proposal(sender, c.targets, c.values, Some(c.signatures), c.calldatas, c.description)?
        }
        _ => return None,
    };
    Some(call)
}

/// Most calldata words [`address_words`] looks at.
pub const MAX_SCANNED_WORDS: usize = 64;

/// The address-shaped 32-byte words of a call's arguments: 12 zero bytes, then 20 bytes that
/// are not a small number (their first 8 bytes are not all zero). Looks at the first
/// [`MAX_SCANNED_WORDS`] words after the selector.
pub fn address_words(input: &[u8]) -> impl Iterator<Item = EvmAddress> + '_ {
    input.get(4..).unwrap_or(&[]).chunks_exact(32).take(MAX_SCANNED_WORDS).filter_map(|w| {
        let (pad, rest) = w.split_at(12);
        if pad.iter().any(|b| *b != 0) || rest[..8].iter().all(|b| *b == 0) {
            return None;
        }
        let mut a = [0u8; 20];
        a.copy_from_slice(rest);
        Some(EvmAddress(a))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selector_constants_match_their_signatures() {
        let entry = [
            "flashLoanSimple(address,address,uint256,bytes,uint16)",
            "flashLoan(address,address[],uint256[],uint256[],address,bytes,uint16)",
            "flashLoan(address,address[],uint256[],bytes)",
            "flash(address,uint256,uint256,bytes)",
            "flashLoan(address,address,uint256,bytes)",
        ];
        for ((selector, _), sig) in FLASH_LOAN_SELECTORS.iter().zip(entry) {
            assert_eq!(*selector, Selector::of_signature(sig), "{sig}");
        }
        let callbacks = [
            "executeOperation(address,uint256,uint256,address,bytes)",
            "executeOperation(address[],uint256[],uint256[],address,bytes)",
            "receiveFlashLoan(address[],uint256[],uint256[],bytes)",
            "uniswapV3FlashCallback(uint256,uint256,bytes)",
            "onFlashLoan(address,address,uint256,uint256,bytes)",
            "uniswapV2Call(address,uint256,uint256,bytes)",
        ];
        for (selector, sig) in FLASH_LOAN_CALLBACK_SELECTORS.iter().zip(callbacks) {
            assert_eq!(*selector, Selector::of_signature(sig), "{sig}");
        }
        assert_eq!(abi::oz_governor::proposeCall::SELECTOR, [0x7d, 0x5e, 0x81, 0xe2]);
        assert_eq!(abi::bravo::proposeCall::SELECTOR, [0xda, 0x95, 0x69, 0x1a]);
    }

    #[test]
    fn decodes_transfer_and_flash_loan_calls() {
        let to = alloy_primitives::Address::repeat_byte(0xaa);
        let input = abi::erc20::transferCall { to, amount: U256::from(5) }.abi_encode();
        assert_eq!(
            decode_call(&input, EvmAddress::ZERO),
            Call::Transfer { to: EvmAddress([0xaa; 20]), amount: U256::from(5) }
        );
        let input = abi::aave::flashLoanSimpleCall {
            receiverAddress: to,
            asset: alloy_primitives::Address::repeat_byte(0xbb),
            amount: U256::from(1_000),
            params: Default::default(),
            referralCode: 0,
        }
        .abi_encode();
        let Call::FlashLoan { api, receiver, assets, amounts } =
            decode_call(&input, EvmAddress::ZERO)
        else {
            panic!("not a flash loan")
        };
        assert_eq!(api, FlashLoanApi::AaveV3Simple);
        assert_eq!(receiver, EvmAddress([0xaa; 20]));
        assert_eq!(assets, vec![EvmAddress([0xbb; 20])]);
        assert_eq!(amounts, vec![U256::from(1_000)]);
    }

    #[test]
    fn bad_calldata_is_other_and_empty_is_plain() {
        assert_eq!(decode_call(&[], EvmAddress::ZERO), Call::Plain);
        assert_eq!(decode_call(&[0xa9, 0x05, 0x9c, 0xbb, 1, 2], EvmAddress::ZERO), Call::Other);
        assert_eq!(decode_call(&[1, 2, 3], EvmAddress::ZERO), Call::Other);
        // A V2 swap without callback data is not a flash swap.
        let input = abi::uniswap::swapCall {
            amount0Out: U256::from(1),
            amount1Out: U256::ZERO,
            to: alloy_primitives::Address::repeat_byte(1),
            data: Default::default(),
        }
        .abi_encode();
        assert_eq!(decode_call(&input, EvmAddress::ZERO), Call::Other);
    }

    #[test]
    fn address_words_skip_numbers() {
        let to = alloy_primitives::Address::repeat_byte(0xaa);
        let input = abi::erc20::transferCall { to, amount: U256::from(1_000_000) }.abi_encode();
        let found: Vec<_> = address_words(&input).collect();
        assert_eq!(found, vec![EvmAddress([0xaa; 20])]);
        assert_eq!(address_words(&[1, 2]).count(), 0);
    }
}
