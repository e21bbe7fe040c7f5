//! What a transaction did, derived once from its call tree (or, without one, from its logs and
//! top-level call) for every detector and rule: the frames flattened, token movements, net
//! balance changes per address and asset, flash loans, swaps, contracts touched and
//! re-entrant edges.
//!
//! Token movements come from `Transfer` logs when logs are known (a trace recorded with logs,
//! or a receipt), and from `transfer`/`transferFrom` calls when they are not, never both, so a
//! movement is counted once. Native value comes from the frames. Only frames that succeeded,
//! with every ancestor, move anything. WETH-style `deposit()`/`withdraw(uint256)` count as a
//! mint and a burn of the wrapped token when the native value moves accordingly.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use alloy_primitives::{I256, U256};
use serde::{Deserialize, Serialize};
use vigil_core::{EvmAddress, Selector};

use crate::calls::{Call, FLASH_LOAN_CALLBACK_SELECTORS, FlashLoanApi, decode_call};
use crate::events::Event;
use crate::model::{Log, Transaction};
use crate::trace::{CallFrame, CallKind};

/// What moves: ether, or a token contract's units.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Asset {
    /// The chain's native currency, in wei.
    Native,
    /// An ERC-20 (or ERC-721) token, by contract address.
    Token(EvmAddress),
}

impl Asset {
    /// `eth` or the token's lower-case address, as rules compare it.
    pub fn key(&self) -> String {
        match self {
            Self::Native => "eth".into(),
            Self::Token(a) => crate::rules::activation::address_str(a),
        }
    }
}

impl std::fmt::Display for Asset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Native => f.write_str("ETH"),
            Self::Token(a) => write!(f, "token {a}"),
        }
    }
}

/// Where a movement was read from.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementSource {
    /// A frame's value.
    Value,
    /// A `Transfer` log.
    Log,
    /// A `transfer`/`transferFrom` call (logs unknown).
    Call,
    /// A WETH-style `deposit`/`withdraw`.
    Wrap,
}

/// One movement of an asset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Movement {
    /// What moved.
    pub asset: Asset,
    /// From (the zero address for a mint).
    pub from: EvmAddress,
    /// To (the zero address for a burn).
    pub to: EvmAddress,
    /// How much (1 for an ERC-721 token).
    pub amount: U256,
    /// The frame it happened in (index into [`Effects::frames`]).
    pub frame: usize,
    /// Where it was read from.
    pub source: MovementSource,
}

/// One frame, flattened.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Frame {
    /// Call depth (0 for the top-level call).
    pub depth: usize,
    /// The parent frame.
    pub parent: Option<usize>,
    /// One past the last frame of its subtree.
    pub end: usize,
    /// What kind of call.
    pub kind: CallKind,
    /// The caller.
    pub from: EvmAddress,
    /// The callee (code address).
    pub to: Option<EvmAddress>,
    /// The address whose storage the code runs on: the caller's for `DELEGATECALL`/`CALLCODE`.
    pub context: Option<EvmAddress>,
    /// The selector of its calldata.
    pub selector: Option<Selector>,
    /// Wei sent.
    pub value: U256,
    /// Whether it and every ancestor succeeded (only then did it change anything).
    pub ok: bool,
}

/// Inflow and outflow of one asset for one address.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Delta {
    /// Received.
    pub inflow: U256,
    /// Sent.
    pub outflow: U256,
}

impl Delta {
    /// Inflow minus outflow, saturating at the bounds of `I256`.
    pub fn net(&self) -> I256 {
        let i = I256::try_from(self.inflow).unwrap_or(I256::MAX);
        let o = I256::try_from(self.outflow).unwrap_or(I256::MAX);
        i.saturating_sub(o)
    }

    /// The net gain, zero when it lost.
    pub fn gain(&self) -> U256 {
        self.inflow.saturating_sub(self.outflow)
    }

    /// The net loss, zero when it gained.
    pub fn loss(&self) -> U256 {
        self.outflow.saturating_sub(self.inflow)
    }
}

/// A flash loan found in the tree: a lender sent an asset to a receiver, called it back, and was
/// paid back within the same call.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct FlashLoan {
    /// The lender (pool, vault, pair).
    pub lender: EvmAddress,
    /// The borrower called back.
    pub receiver: EvmAddress,
    /// What was lent; `None` when only a log says so and it does not name the token.
    pub asset: Option<Asset>,
    /// How much was lent.
    pub amount: U256,
    /// How much of the same asset came back to the lender (a Uniswap V2 flash swap may repay in
    /// the pair's other token).
    pub repaid: U256,
    /// Which API: `aave_v3_simple`, `aave`, `balancer`, `uniswap_v3`, `erc3156`,
    /// `uniswap_v2_flash_swap`, `dydx`, `dodo`, or `callback` (recognised by shape alone).
    pub api: &'static str,
    /// The lender's frame.
    pub frame: usize,
}

/// How a re-entrant call looks.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReentryClass {
    /// A known callback (flash-loan, swap, token receiver hooks): re-entry by design.
    Callback,
    /// Ether sent to an open frame with no calldata (`receive`/`fallback`), e.g. WETH paying
    /// a router back.
    ValueReceipt,
    /// A `STATICCALL` into an open contract (the read-only reentrancy shape).
    ReadOnly,
    /// Any other call into a contract whose frame is still open.
    Unexpected,
}

/// A frame calling into a contract whose own frame is still open.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reentry {
    /// The re-entered contract.
    pub contract: EvmAddress,
    /// The contract that called back into it.
    pub caller: EvmAddress,
    /// The re-entering frame.
    pub frame: usize,
    /// The nearest open frame of the re-entered contract.
    pub outer: usize,
    /// The re-entering call's selector.
    pub selector: Option<Selector>,
    /// How it looks.
    pub class: ReentryClass,
}

/// A pool exchanging one asset for another within a call: it received `paid` and sent `got`
/// (from the trader's side: paid in, got out).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Swap {
    /// The pool.
    pub pool: EvmAddress,
    /// The pool's frame.
    pub frame: usize,
    /// The asset the pool received, and how much.
    pub paid: (Asset, U256),
    /// The asset the pool sent, and how much.
    pub got: (Asset, U256),
}

/// Everything derived from one transaction. See the module docs.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Effects {
    /// Whether a call tree was available (otherwise only the top-level call and logs).
    pub traced: bool,
    /// Frames in call order (the top-level call first).
    pub frames: Vec<Frame>,
    /// Movements in call order.
    pub movements: Vec<Movement>,
    /// Net change per (address, asset).
    pub balances: BTreeMap<(EvmAddress, Asset), Delta>,
    /// Flash loans.
    pub flash_loans: Vec<FlashLoan>,
    /// Swaps.
    pub swaps: Vec<Swap>,
    /// Re-entrant edges.
    pub reentries: Vec<Reentry>,
    /// Contracts called (callees of every frame), sorted.
    pub touched: Vec<EvmAddress>,
    /// Contracts created, in order.
    pub created: Vec<EvmAddress>,
    /// Selectors called anywhere in the tree, sorted.
    pub selectors: Vec<Selector>,
    /// Whether a liquidation entry point (Aave `liquidationCall`, Compound `liquidateBorrow`,
    /// ...) was called: liquidations move collateral one way by design.
    pub liquidation: bool,
}

mod sel {
    use super::*;

    fn of(sig: &str) -> Selector {
        Selector::of_signature(sig)
    }

    pub(super) static TRANSFER: LazyLock<Selector> =
        LazyLock::new(|| of("transfer(address,uint256)"));
    pub(super) static TRANSFER_FROM: LazyLock<Selector> =
        LazyLock::new(|| of("transferFrom(address,address,uint256)"));
    pub(super) static SAFE_TRANSFER_FROM: LazyLock<[Selector; 2]> = LazyLock::new(|| {
        [
            of("safeTransferFrom(address,address,uint256)"),
            of("safeTransferFrom(address,address,uint256,bytes)"),
        ]
    });
    pub(super) static DEPOSIT: LazyLock<Selector> = LazyLock::new(|| of("deposit()"));
    pub(super) static WITHDRAW: LazyLock<Selector> = LazyLock::new(|| of("withdraw(uint256)"));
    pub(super) static DYDX_OPERATE: LazyLock<Selector> = LazyLock::new(|| {
        of(
            "operate((address,uint256)[],(uint8,uint256,(bool,uint8,uint8,uint256),uint256,uint256,address,uint256,bytes)[])",
        )
    });
    pub(super) static DODO_FLASH: LazyLock<Selector> =
        LazyLock::new(|| of("flashLoan(uint256,uint256,address,bytes)"));

    /// Callbacks that re-enter their caller by design.
    pub(super) static CALLBACKS: LazyLock<Vec<Selector>> = LazyLock::new(|| {
        let mut v: Vec<Selector> = FLASH_LOAN_CALLBACK_SELECTORS.to_vec();
        v.extend(
            [
                "callFunction(address,(address,uint256),bytes)",
                "DVMFlashLoanCall(address,uint256,uint256,bytes)",
                "DPPFlashLoanCall(address,uint256,uint256,bytes)",
                "DSPFlashLoanCall(address,uint256,uint256,bytes)",
                "pancakeCall(address,uint256,uint256,bytes)",
                "uniswapV3SwapCallback(int256,int256,bytes)",
                "uniswapV3MintCallback(uint256,uint256,bytes)",
                "pancakeV3SwapCallback(int256,int256,bytes)",
                "pancakeV3FlashCallback(uint256,uint256,bytes)",
                "algebraSwapCallback(int256,int256,bytes)",
                "algebraFlashCallback(uint256,uint256,bytes)",
                "onERC721Received(address,address,uint256,bytes)",
                "onERC1155Received(address,address,uint256,uint256,bytes)",
                "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)",
                "tokensReceived(address,address,address,uint256,bytes,bytes)",
                "tokensToSend(address,address,address,uint256,bytes,bytes)",
                "onFlashLoan(address,address,uint256,uint256,bytes)",
                "receiveFlashLoan(address[],uint256[],uint256[],bytes)",
                "isValidSignature(bytes32,bytes)",
            ]
            .iter()
            .map(|s| of(s)),
        );
        v.sort_unstable();
        v.dedup();
        v
    });

    /// Liquidation entry points.
    pub(super) static LIQUIDATIONS: LazyLock<Vec<Selector>> = LazyLock::new(|| {
        let mut v: Vec<Selector> = [
            "liquidationCall(address,address,address,uint256,bool)",
            "liquidateBorrow(address,uint256,address)",
            "liquidateBorrow(address,address)",
            "liquidateBorrow(address)",
            "liquidate(address,address,address,uint256,uint256)",
            "liquidate(address,address,uint256,uint256)",
            "bark(bytes32,address,address)",
            "bite(bytes32,address)",
            "absorb(address,address[])",
            "liquidate(address,uint256)",
        ]
        .iter()
        .map(|s| of(s))
        .collect();
        v.sort_unstable();
        v
    });
}

/// Whether `selector` is a callback that re-enters its caller by design.
pub fn is_callback(selector: Selector) -> bool {
    sel::CALLBACKS.binary_search(&selector).is_ok()
}

fn word_address(w: &[u8]) -> Option<EvmAddress> {
    let w: &[u8; 32] = w.try_into().ok()?;
    if w[..12].iter().any(|b| *b != 0) {
        return None;
    }
    let mut a = [0u8; 20];
    a.copy_from_slice(&w[12..]);
    Some(EvmAddress(a))
}

fn arg(input: &[u8], i: usize) -> Option<&[u8]> {
    input.get(4 + 32 * i..4 + 32 * (i + 1))
}

fn arg_u256(input: &[u8], i: usize) -> Option<U256> {
    arg(input, i).map(U256::from_be_slice)
}

/// Whether a call's output says "false" (a token that returns `false` instead of reverting).
fn returned_false(output: Option<&[u8]>) -> bool {
    output.is_some_and(|o| o.len() == 32 && o.iter().all(|b| *b == 0))
}

struct Builder<'a> {
    fx: Effects,
    tree_logs: bool,
    receipt_logs: &'a [Log],
}

impl Effects {
    /// Derives the effects of `tx`: from its call tree when it has one, else from its logs (when
    /// mined) or its top-level call (when pending).
    pub fn of(tx: &Transaction) -> Self {
        match &tx.trace {
            Some(trace) => {
                let mut b = Builder {
                    fx: Effects { traced: true, ..Default::default() },
                    tree_logs: trace.with_logs,
                    receipt_logs: if trace.with_logs { &[] } else { &tx.logs },
                };
                b.flatten(&trace.root, None, 0, true);
                b.finish(tx)
            }
            None => {
                let mut root = CallFrame::new(
                    if tx.to.is_some() { CallKind::Call } else { CallKind::Create },
                    tx.from,
                    tx.to.or(tx.created.as_ref().map(|c| c.address)),
                    tx.input.clone(),
                );
                root.value = tx.value;
                if !tx.succeeded() {
                    root.error = Some("reverted".into());
                }
                let mined = !tx.is_pending();
                let mut b = Builder {
                    fx: Effects::default(),
                    tree_logs: false,
                    receipt_logs: if mined { &tx.logs } else { &[] },
                };
                // A mined transaction's receipt logs stand for its token movements; a pending
                // one has only its calldata.
                b.flatten(&root, None, 0, true);
                if mined {
                    b.fx.movements.retain(|m| m.source != MovementSource::Call);
                }
                b.finish(tx)
            }
        }
    }

    /// The net change of `address` in `asset`.
    pub fn delta(&self, address: &EvmAddress, asset: Asset) -> Delta {
        self.balances.get(&(*address, asset)).copied().unwrap_or_default()
    }

    /// Net changes of `address`, per asset.
    pub fn deltas_of<'s>(
        &'s self,
        address: &'s EvmAddress,
    ) -> impl Iterator<Item = (Asset, Delta)> + 's {
        self.balances
            .range((*address, Asset::Native)..)
            .take_while(move |((a, _), _)| a == address)
            .map(|((_, asset), d)| (*asset, *d))
    }

    /// The net change of a group of addresses per asset, counting only movements between the
    /// group and the outside.
    pub fn group_deltas(&self, group: &[EvmAddress]) -> BTreeMap<Asset, Delta> {
        let mut out: BTreeMap<Asset, Delta> = BTreeMap::new();
        for m in &self.movements {
            let (f, t) = (group.contains(&m.from), group.contains(&m.to));
            if f == t {
                continue;
            }
            let d = out.entry(m.asset).or_default();
            if t {
                d.inflow = d.inflow.saturating_add(m.amount);
            } else {
                d.outflow = d.outflow.saturating_add(m.amount);
            }
        }
        out
    }

    /// Contracts outside `group` that sent assets to it and received nothing back in any asset
    /// during the transaction (flash lenders excluded: they are paid back): `(contract, what
    /// it sent to the group)`. Liquidations and withdrawals look like this too, so detectors
    /// weigh it with other evidence.
    pub fn one_way_senders(&self, group: &[EvmAddress]) -> Vec<(EvmAddress, Vec<(Asset, U256)>)> {
        let mut sent: BTreeMap<EvmAddress, BTreeMap<Asset, U256>> = BTreeMap::new();
        for m in &self.movements {
            if group.contains(&m.to)
                && !group.contains(&m.from)
                && m.from != EvmAddress::ZERO
                && self.touched.binary_search(&m.from).is_ok()
                && !self.flash_loans.iter().any(|l| l.lender == m.from)
            {
                let e = sent.entry(m.from).or_default().entry(m.asset).or_default();
                *e = e.saturating_add(m.amount);
            }
        }
        sent.into_iter()
            .filter(|(v, _)| self.deltas_of(v).all(|(_, d)| d.gain().is_zero()))
            .map(|(v, assets)| (v, assets.into_iter().collect()))
            .collect()
    }

    /// The movements inside frame `frame`'s subtree.
    pub fn movements_in(&self, frame: usize) -> &[Movement] {
        let Some(f) = self.frames.get(frame) else { return &[] };
        let lo = self.movements.partition_point(|m| m.frame < frame);
        let hi = self.movements.partition_point(|m| m.frame < f.end);
        &self.movements[lo..hi]
    }

    /// Whether frame `inner` is `outer` or inside it.
    pub fn contains(&self, outer: usize, inner: usize) -> bool {
        self.frames.get(outer).is_some_and(|f| inner >= outer && inner < f.end)
    }
}

impl Builder<'_> {
    fn flatten(&mut self, f: &CallFrame, parent: Option<usize>, depth: usize, parent_ok: bool) {
        let index = self.fx.frames.len();
        let ok = parent_ok && f.succeeded();
        let context = if f.kind.runs_in_caller_context() { Some(f.from) } else { f.to };
        self.fx.frames.push(Frame {
            depth,
            parent,
            end: index + 1,
            kind: f.kind,
            from: f.from,
            to: f.to,
            context,
            selector: f.selector(),
            value: f.value,
            ok,
        });
        if ok {
            self.frame_movements(f, index);
        }
        // Receipt logs (no per-frame logs) are attributed to the top-level call.
        if depth == 0 && ok && !self.receipt_logs.is_empty() {
            for log in self.receipt_logs {
                self.log_movement(log, index);
            }
        }
        for c in &f.calls {
            self.flatten(c, Some(index), depth + 1, ok);
        }
        // WETH-style withdraw: the burn is known once the ether came back.
        if ok
            && f.kind == CallKind::Call
            && f.selector() == Some(*sel::WITHDRAW)
            && let (Some(token), Some(wad)) = (f.to, arg_u256(&f.input, 0))
        {
            {
                let paid_back = !wad.is_zero()
                    && f.calls.iter().any(|c| {
                        c.kind == CallKind::Call && c.to == Some(f.from) && c.value == wad
                    });
                if paid_back {
                    self.push(
                        Asset::Token(token),
                        f.from,
                        EvmAddress::ZERO,
                        wad,
                        index,
                        MovementSource::Wrap,
                    );
                }
            }
        }
        let end = self.fx.frames.len();
        if let Some(fr) = self.fx.frames.get_mut(index) {
            fr.end = end;
        }
    }

    fn push(
        &mut self,
        asset: Asset,
        from: EvmAddress,
        to: EvmAddress,
        amount: U256,
        frame: usize,
        source: MovementSource,
    ) {
        if amount.is_zero() {
            return;
        }
        self.fx.movements.push(Movement { asset, from, to, amount, frame, source });
    }

    fn log_movement(&mut self, log: &Log, frame: usize) {
        match &log.event {
            Some(Event::Erc20Transfer { from, to, value }) => {
                self.push(Asset::Token(log.address), *from, *to, *value, frame, MovementSource::Log)
            }
            Some(Event::Erc721Transfer { from, to, .. }) => self.push(
                Asset::Token(log.address),
                *from,
                *to,
                U256::from(1u8),
                frame,
                MovementSource::Log,
            ),
            _ => {}
        }
    }

    fn frame_movements(&mut self, f: &CallFrame, index: usize) {
        // Native value.
        if let Some(to) = f.to
            && matches!(
                f.kind,
                CallKind::Call | CallKind::Create | CallKind::Create2 | CallKind::SelfDestruct
            )
            && f.from != to
        {
            self.push(Asset::Native, f.from, to, f.value, index, MovementSource::Value);
        }
        if f.kind != CallKind::Call {
            // Logs of a delegate-called implementation are the context's: geth attributes them
            // to the frame that emitted them, whatever its kind.
            if self.tree_logs {
                for log in &f.logs {
                    self.log_movement(log, index);
                }
            }
            return;
        }
        let Some(token) = f.to else { return };
        if self.tree_logs {
            for log in &f.logs {
                self.log_movement(log, index);
            }
        } else if !returned_false(f.output.as_ref().map(|o| &o[..])) {
            let input = &f.input[..];
            match f.selector() {
                Some(s) if s == *sel::TRANSFER => {
                    if let (Some(to), Some(amount)) =
                        (arg(input, 0).and_then(word_address), arg_u256(input, 1))
                    {
                        self.push(
                            Asset::Token(token),
                            f.from,
                            to,
                            amount,
                            index,
                            MovementSource::Call,
                        );
                    }
                }
                Some(s) if s == *sel::TRANSFER_FROM => {
                    if let (Some(from), Some(to), Some(amount)) = (
                        arg(input, 0).and_then(word_address),
                        arg(input, 1).and_then(word_address),
                        arg_u256(input, 2),
                    ) {
                        self.push(
                            Asset::Token(token),
                            from,
                            to,
                            amount,
                            index,
                            MovementSource::Call,
                        );
                    }
                }
                Some(s) if sel::SAFE_TRANSFER_FROM.contains(&s) => {
                    if let (Some(from), Some(to)) =
                        (arg(input, 0).and_then(word_address), arg(input, 1).and_then(word_address))
                    {
                        self.push(
                            Asset::Token(token),
                            from,
                            to,
                            U256::from(1u8),
                            index,
                            MovementSource::Call,
                        );
                    }
                }
                _ => {}
            }
        }
        // WETH-style deposit: ether in, the same amount of the wrapped token minted.
        if f.selector() == Some(*sel::DEPOSIT) && f.input.len() == 4 && !f.value.is_zero() {
            self.push(
                Asset::Token(token),
                EvmAddress::ZERO,
                f.from,
                f.value,
                index,
                MovementSource::Wrap,
            );
        }
    }

    fn finish(mut self, tx: &Transaction) -> Effects {
        // Movements must be in frame order for range lookups; a withdraw's burn is pushed after
        // its children, so restore the order (stable: same-frame order is kept).
        self.fx.movements.sort_by_key(|m| m.frame);
        let fx = &mut self.fx;
        for m in &fx.movements {
            let d = fx.balances.entry((m.from, m.asset)).or_default();
            d.outflow = d.outflow.saturating_add(m.amount);
            let d = fx.balances.entry((m.to, m.asset)).or_default();
            d.inflow = d.inflow.saturating_add(m.amount);
        }
        let mut touched = Vec::new();
        let mut selectors = Vec::new();
        for f in &fx.frames {
            if let Some(to) = f.to {
                if f.kind.is_create() {
                    if f.ok {
                        fx.created.push(to);
                    }
                } else if f.kind != CallKind::SelfDestruct {
                    touched.push(to);
                }
            }
            if let Some(s) = f.selector {
                selectors.push(s);
                if f.ok && sel::LIQUIDATIONS.binary_search(&s).is_ok() {
                    fx.liquidation = true;
                }
            }
        }
        touched.sort_unstable();
        touched.dedup();
        selectors.sort_unstable();
        selectors.dedup();
        fx.touched = touched;
        fx.selectors = selectors;
        if fx.traced {
            fx.reentries = reentries(&fx.frames);
            fx.flash_loans = flash_loans_in_tree(fx, tx);
            fx.swaps = swaps(fx);
        } else {
            fx.flash_loans = flash_loans_in_logs(tx);
        }
        self.fx
    }
}

fn reentries(frames: &[Frame]) -> Vec<Reentry> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if !matches!(f.kind, CallKind::Call | CallKind::StaticCall) {
            continue;
        }
        let (Some(callee), Some(p)) = (f.to, f.parent) else { continue };
        let caller = frames[p].context;
        if caller == Some(callee) {
            continue; // a contract calling itself
        }
        let mut a = frames[p].parent;
        while let Some(j) = a {
            if frames[j].context == Some(callee) {
                let class = match f.selector {
                    Some(s) if is_callback(s) => ReentryClass::Callback,
                    None if f.kind == CallKind::Call => ReentryClass::ValueReceipt,
                    _ if f.kind == CallKind::StaticCall => ReentryClass::ReadOnly,
                    _ => ReentryClass::Unexpected,
                };
                out.push(Reentry {
                    contract: callee,
                    caller: caller.unwrap_or(f.from),
                    frame: i,
                    outer: j,
                    selector: f.selector,
                    class,
                });
                break;
            }
            a = frames[j].parent;
        }
    }
    out
}

/// The flash-loan API a frame's call names, with the receiver its calldata names.
fn named_loan(frame: &Frame, input: &[u8]) -> Option<(&'static str, Option<EvmAddress>)> {
    let s = frame.selector?;
    if s == *sel::DYDX_OPERATE {
        return Some(("dydx", None));
    }
    if s == *sel::DODO_FLASH {
        return Some(("dodo", arg(input, 2).and_then(word_address)));
    }
    match decode_call(input, frame.from) {
        Call::FlashLoan { api, receiver, .. } => Some((
            match api {
                FlashLoanApi::AaveV3Simple => "aave_v3_simple",
                FlashLoanApi::Aave => "aave",
                FlashLoanApi::Balancer => "balancer",
                FlashLoanApi::UniswapV3 => "uniswap_v3",
                FlashLoanApi::Erc3156 => "erc3156",
                FlashLoanApi::UniswapV2FlashSwap => "uniswap_v2_flash_swap",
            },
            Some(receiver),
        )),
        _ => None,
    }
}

fn frame_inputs(tx: &Transaction) -> Vec<&[u8]> {
    tx.trace.as_ref().map(|t| t.root.walk().map(|f| &f.input[..]).collect()).unwrap_or_default()
}

fn flash_loans_in_tree(fx: &Effects, tx: &Transaction) -> Vec<FlashLoan> {
    let inputs = frame_inputs(tx);
    let mut out = Vec::new();
    for (i, f) in fx.frames.iter().enumerate() {
        if !f.ok || f.kind != CallKind::Call {
            continue;
        }
        let Some(lender) = f.to else { continue };
        let named = inputs.get(i).and_then(|input| named_loan(f, input));
        // The callback: the lender (as context) calling the receiver inside this frame.
        let open: Vec<EvmAddress> =
            ancestors(&fx.frames, i).filter_map(|j| fx.frames[j].context).collect();
        let callback = (i + 1..f.end).find(|&c| {
            let cf = &fx.frames[c];
            cf.kind == CallKind::Call
                && cf.from == lender
                && cf.to.is_some_and(|r| {
                    open.contains(&r) || named.is_some_and(|(_, nr)| nr == Some(r))
                })
        });
        let Some(cb) = callback else { continue };
        let Some(receiver) = fx.frames[cb].to else { continue };
        let moves = fx.movements_in(i);
        // Lent: to the receiver before the callback, from the lender (or a mint); a named API
        // may pay from another contract of its own (Aave V2 pays from the aToken). Repaid: to the
        // lender (or its paying contract, or burnt) after the callback started.
        let mut lent: BTreeMap<Asset, U256> = BTreeMap::new();
        let mut payers: Vec<EvmAddress> = vec![lender, EvmAddress::ZERO];
        for m in moves.iter().filter(|m| m.frame < cb && m.to == receiver) {
            let from_lender = m.from == lender || m.from == EvmAddress::ZERO;
            if from_lender || (named.is_some() && m.from != receiver) {
                let e = lent.entry(m.asset).or_default();
                *e = e.saturating_add(m.amount);
                if !payers.contains(&m.from) {
                    payers.push(m.from);
                }
            }
        }
        let mut back: BTreeMap<Asset, U256> = BTreeMap::new();
        for m in moves.iter().filter(|m| m.frame > cb && payers.contains(&m.to)) {
            let e = back.entry(m.asset).or_default();
            *e = e.saturating_add(m.amount);
        }
        for (asset, amount) in lent {
            let repaid = back.get(&asset).copied().unwrap_or_default();
            let api = match named {
                Some((api, _)) => api,
                // Recognised by shape: the same asset out, a call back, at least as much in.
                None if repaid >= amount => "callback",
                None => continue,
            };
            out.push(FlashLoan {
                lender,
                receiver,
                asset: Some(asset),
                amount,
                repaid,
                api,
                frame: i,
            });
        }
    }
    out
}

fn ancestors(frames: &[Frame], i: usize) -> impl Iterator<Item = usize> + '_ {
    let mut next = frames.get(i).and_then(|f| f.parent);
    std::iter::from_fn(move || {
        let j = next?;
        next = frames[j].parent;
        Some(j)
    })
}

fn flash_loans_in_logs(tx: &Transaction) -> Vec<FlashLoan> {
    tx.logs
        .iter()
        .filter_map(|l| {
            let leg = l.event.as_ref()?.flash_loan()?;
            Some(FlashLoan {
                lender: l.address,
                receiver: leg.receiver,
                asset: leg.asset.map(Asset::Token),
                amount: leg.amount,
                repaid: U256::ZERO,
                api: match l.event.as_ref()? {
                    Event::AaveV3FlashLoan { .. } => "aave_v3",
                    Event::AaveV2FlashLoan { .. } => "aave",
                    Event::BalancerFlashLoan { .. } => "balancer",
                    _ => "uniswap_v3",
                },
                frame: 0,
            })
        })
        .collect()
}

/// Swaps: for each contract, the outermost frames on it in which it received one asset and
/// sent another, counting what reached it since its previous frame (a Uniswap V2 pair is paid
/// before `swap` is called).
fn swaps(fx: &Effects) -> Vec<Swap> {
    let mut out = Vec::new();
    let mut since: BTreeMap<EvmAddress, usize> = BTreeMap::new();
    for (i, f) in fx.frames.iter().enumerate() {
        if !f.ok || f.kind != CallKind::Call || f.depth == 0 {
            continue;
        }
        let Some(pool) = f.to else { continue };
        if f.parent.is_some_and(|p| fx.frames[p].context == Some(pool))
            || ancestors(&fx.frames, i).any(|j| fx.frames[j].context == Some(pool))
        {
            continue; // not the outermost frame on this contract
        }
        let start = since.get(&pool).copied().unwrap_or(0);
        since.insert(pool, f.end);
        let lo = fx.movements.partition_point(|m| m.frame < start);
        let hi = fx.movements.partition_point(|m| m.frame < f.end);
        let mut d: BTreeMap<Asset, Delta> = BTreeMap::new();
        for m in &fx.movements[lo..hi] {
            if m.from == pool && m.to != pool {
                let e = d.entry(m.asset).or_default();
                e.outflow = e.outflow.saturating_add(m.amount);
            } else if m.to == pool && m.from != pool {
                let e = d.entry(m.asset).or_default();
                e.inflow = e.inflow.saturating_add(m.amount);
            }
        }
        let paid = d.iter().filter(|(_, x)| !x.gain().is_zero()).max_by_key(|(_, x)| x.gain());
        let got = d.iter().filter(|(_, x)| !x.loss().is_zero()).max_by_key(|(_, x)| x.loss());
        if let (Some((pa, pd)), Some((ga, gd))) = (paid, got)
            && pa != ga
        {
            out.push(Swap { pool, frame: i, paid: (*pa, pd.gain()), got: (*ga, gd.loss()) });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::CallTrace;
    use alloy_primitives::Bytes;
    use alloy_sol_types::SolCall;
    use vigil_core::{B256, EvmChainId};

    alloy_sol_types::sol! {
        function transfer(address to, uint256 amount);
    }

    fn a(n: u8) -> EvmAddress {
        EvmAddress([n; 20])
    }

    fn call(from: EvmAddress, to: EvmAddress, input: Vec<u8>) -> CallFrame {
        CallFrame::new(CallKind::Call, from, Some(to), Bytes::from(input))
    }

    fn transfer_call(
        from: EvmAddress,
        token: EvmAddress,
        to: EvmAddress,
        amount: u64,
    ) -> CallFrame {
        call(from, token, transferCall { to: to.0.into(), amount: U256::from(amount) }.abi_encode())
    }

    fn tx_with(root: CallFrame) -> Transaction {
        let mut tx = Transaction::pending(
            EvmChainId(1),
            B256([0; 32]),
            root.from,
            root.to,
            root.value,
            0,
            root.input.clone(),
            0,
        );
        tx.trace = Some(CallTrace::new(root, false));
        tx
    }

    #[test]
    fn movements_from_calls_and_value_conserve_per_asset() {
        let (eoa, bot, token) = (a(1), a(2), a(3));
        let mut root = call(eoa, bot, vec![1, 2, 3, 4]);
        root.value = U256::from(10);
        root.calls.push(transfer_call(bot, token, eoa, 5));
        let mut failed = transfer_call(bot, token, a(9), 7);
        failed.error = Some("execution reverted".into());
        root.calls.push(failed);
        let fx = Effects::of(&tx_with(root));
        assert_eq!(fx.movements.len(), 2);
        assert_eq!(fx.delta(&eoa, Asset::Token(token)).inflow, U256::from(5));
        assert_eq!(fx.delta(&bot, Asset::Native).inflow, U256::from(10));
        assert_eq!(fx.delta(&a(9), Asset::Token(token)), Delta::default());
    }

    #[test]
    fn flash_loan_by_shape_and_plain_receive_reentry() {
        let (eoa, bot, lender, token) = (a(1), a(2), a(4), a(3));
        // bot → lender.someLoan(); lender → token.transfer(bot); lender → bot.callback();
        // bot → token.transfer(lender) ; lender → bot (ether, no calldata)
        let mut loan = call(bot, lender, vec![9, 9, 9, 9]);
        loan.calls.push(transfer_call(lender, token, bot, 100));
        let mut cb = call(lender, bot, vec![7, 7, 7, 7]);
        cb.calls.push(transfer_call(bot, token, lender, 101));
        loan.calls.push(cb);
        let mut pay = call(lender, bot, Vec::new());
        pay.value = U256::from(1);
        loan.calls.push(pay);
        let mut root = call(eoa, bot, vec![1, 1, 1, 1]);
        root.calls.push(loan);
        let fx = Effects::of(&tx_with(root));
        assert_eq!(fx.flash_loans.len(), 1, "{:?}", fx.flash_loans);
        let l = &fx.flash_loans[0];
        assert_eq!((l.lender, l.receiver, l.api), (lender, bot, "callback"));
        assert_eq!((l.amount, l.repaid), (U256::from(100), U256::from(101)));
        let classes: Vec<_> = fx.reentries.iter().map(|r| r.class).collect();
        assert_eq!(classes, vec![ReentryClass::Unexpected, ReentryClass::ValueReceipt]);
    }

    #[test]
    fn without_a_trace_receipt_logs_stand_for_movements() {
        let tx = Transaction::pending(
            EvmChainId(1),
            B256([0; 32]),
            a(1),
            Some(a(3)),
            U256::ZERO,
            0,
            Bytes::from(transferCall { to: a(2).0.into(), amount: U256::from(5) }.abi_encode()),
            0,
        );
        let fx = Effects::of(&tx);
        assert_eq!(fx.movements.len(), 1, "pending: from the call");
        assert!(!fx.traced);
        let block = crate::model::BlockRef { number: 1, hash: B256([0; 32]), timestamp: 0 };
        let mined = tx.into_mined(block, 0, true, 0, Vec::new(), None);
        assert!(Effects::of(&mined).movements.is_empty(), "mined: from its (empty) logs");
    }
}
