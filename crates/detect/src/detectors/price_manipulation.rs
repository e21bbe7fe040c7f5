//! Price manipulation: a swap that moves a pool, then a contract that reads that pool paying
//! the sender's side (a borrow, mint or redeem valued at the moved price), then the reverse swap
//! on the same pool, in one transaction. Without the reverse swap, a contract that reads the
//! moved pool and pays a flash-loan-funded, profiting sender's side is the same attack that
//! keeps what it bought. Needs a call tree.
//!
//! A swap is recognised by what moved, not by its selector: a contract receiving one asset and
//! sending another within its outermost frame (counting what reached it since its previous
//! frame, as Uniswap V2 pairs are paid before `swap`). A read is a `STATICCALL` to the pool, or
//! one whose arguments name it (`balanceOf(pool)`).

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::PriceManipulationConfig;
use crate::detector::{Context, Detector, Finding, add_amount};
use crate::detectors::flash_loan::sender_side;
use crate::effects::{Asset, Effects, Swap};
use crate::model::Transaction;
use crate::trace::CallKind;

/// Its name.
pub const NAME: &str = "price-manipulation";

/// The price-manipulation detector.
pub struct PriceManipulation {
    config: PriceManipulationConfig,
}

impl PriceManipulation {
    /// A detector with `config`.
    pub fn new(config: PriceManipulationConfig) -> Self {
        Self { config }
    }
}

/// Whether frame `i`'s subtree reads `pool`.
fn reads(fx: &Effects, tx: &Transaction, i: usize, pool: &EvmAddress) -> bool {
    let Some(trace) = &tx.trace else { return false };
    let end = fx.frames[i].end;
    trace.root.walk().enumerate().skip(i).take(end - i).any(|(_, f)| {
        f.kind == CallKind::StaticCall
            && (f.to.as_ref() == Some(pool)
                || f.input.get(4..).is_some_and(|args| {
                    args.chunks_exact(32)
                        .take(8)
                        .any(|w| w[..12].iter().all(|b| *b == 0) && w[12..] == pool.0)
                }))
    })
}

/// A contract paying the sender's side: who, what, and whether it read the pool.
type Payer = (EvmAddress, Vec<(Asset, U256)>, bool);

struct Shape<'a> {
    first: &'a Swap,
    /// The reverse swap on the same pool, when there is one.
    back: Option<&'a Swap>,
    payer: EvmAddress,
    paid: Vec<(Asset, U256)>,
    read: bool,
}

/// The first outermost frame in `lo..hi` on a third contract that pays the sender's side, one
/// that reads `pool` preferred: `(contract, what it paid, whether it read the pool)`.
fn payer_between(
    fx: &Effects,
    tx: &Transaction,
    side: &[EvmAddress],
    swap: &Swap,
    lo: usize,
    hi: usize,
    need_read: bool,
) -> Option<Payer> {
    let mut found = None;
    let mut k = lo;
    while k < hi {
        let f = &fx.frames[k];
        let next = f.end.max(k + 1);
        let Some(v) = f.context else {
            k = next;
            continue;
        };
        let token_of_swap = [swap.paid.0, swap.got.0].contains(&Asset::Token(v));
        if !f.ok || v == swap.pool || side.contains(&v) || token_of_swap {
            // Look inside: the payer may be called from here (the sender's contract calls it).
            k += 1;
            continue;
        }
        let mut paid: Vec<(Asset, U256)> = Vec::new();
        for m in fx.movements_in(k) {
            if m.from == v && side.contains(&m.to) {
                add_amount(&mut paid, m.asset, m.amount);
            }
        }
        if !paid.is_empty() {
            let read = reads(fx, tx, k, &swap.pool);
            if read {
                return Some((v, paid, true));
            }
            if found.is_none() && !need_read {
                found = Some((v, paid, false));
            }
        }
        k = next;
    }
    found
}

fn find<'a>(fx: &'a Effects, tx: &Transaction, side: &[EvmAddress]) -> Option<Shape<'a>> {
    let mut best: Option<Shape<'a>> = None;
    for (i, first) in fx.swaps.iter().enumerate() {
        let lo = fx.frames[first.frame].end;
        for back in &fx.swaps[i + 1..] {
            if back.pool != first.pool || back.paid.0 != first.got.0 || back.got.0 != first.paid.0 {
                continue;
            }
            if let Some((payer, paid, read)) =
                payer_between(fx, tx, side, first, lo, back.frame, false)
            {
                let shape = Shape { first, back: Some(back), payer, paid, read };
                if read {
                    return Some(shape);
                }
                best.get_or_insert(shape);
            }
        }
        // No reverse swap: a payer valuing at the moved price after the swap (it must read it).
        if best.is_none()
            && let Some((payer, paid, read)) =
                payer_between(fx, tx, side, first, lo, fx.frames.len(), true)
        {
            best = Some(Shape { first, back: None, payer, paid, read });
        }
    }
    best
}

impl Detector for PriceManipulation {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let fx = cx.effects;
        if !self.config.enabled || !fx.traced || !tx.succeeded() || fx.swaps.is_empty() {
            return;
        }
        let side = sender_side(tx, cx);
        let Some(shape) = find(fx, tx, &side) else { return };
        let profit = fx.group_deltas(&side).values().any(|d| !d.gain().is_zero());
        let protected = cx.protected.contains(&shape.payer);
        let funded = profit && !fx.flash_loans.is_empty();
        let (severity, confidence) = match (shape.back.is_some(), shape.read, protected || funded) {
            (_, true, true) => (Severity::Critical, 90),
            (true, true, false) => (Severity::High, 75),
            (true, false, true) => (Severity::High, 60),
            (false, true, false) | (true, false, false) => (Severity::Medium, 45),
            (false, false, _) => return,
        };
        let paid: Vec<String> =
            shape.paid.iter().map(|(a, n)| format!("{n} units of {a}")).collect();
        let description = format!(
            "Price manipulation in {}: a swap on {} ({} in, {} out), then {}{} paid {} to the \
             sender's side{}",
            tx.hash,
            shape.first.pool,
            shape.first.paid.0,
            shape.first.got.0,
            cx.protected.describe(&shape.payer),
            if shape.read { ", having read the pool," } else { "" },
            paid.join(", "),
            match shape.back {
                Some(_) => ", then the reverse swap on the same pool",
                None if funded => ", with a flash loan and a profit",
                None => "",
            },
        );
        out.push(
            Finding::new(NAME, severity, AlertKind::Exploit, confidence, description)
                .incident(format!("{}|{}", shape.first.pool, tx.from))
                .address(shape.first.pool)
                .address(shape.payer)
                .address(tx.from)
                .meta("pool", shape.first.pool)
                .meta("payer", shape.payer)
                .meta("reads_pool", shape.read)
                .meta("reverse_swap", shape.back.is_some()),
        );
    }
}
