//! Reentrancy: a contract called back while its own frame is still open, paying out both in
//! the outer frame and again inside the re-entered one (the DAO shape, also through ERC-777 or
//! ERC-721/1155 hooks), or read through a `STATICCALL` while open by a contract that then pays
//! the sender's side (read-only reentrancy, as against Curve pools' `get_virtual_price`).
//!
//! Only a re-entry triggered by a payment to the sender's side counts (ether sent to it, or a
//! token receiver hook called on it, on the way down to the re-entering call).
//! Re-entry by design is not reentrancy: flash-loan and swap callbacks, token receiver hooks
//! into the sender's own contracts, and ether sent back to an open router (WETH `withdraw`) are
//! all classified as such by [`crate::effects`]. Needs a call tree.

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::ReentrancyConfig;
use crate::detector::{Context, Detector, Finding, add_amount};
use crate::detectors::flash_loan::sender_side;
use crate::effects::{Asset, Effects, Reentry, ReentryClass};
use crate::model::Transaction;

/// Its name.
pub const NAME: &str = "reentrancy";

/// The reentrancy detector.
pub struct Reentrancy {
    config: ReentrancyConfig,
}

impl Reentrancy {
    /// A detector with `config`.
    pub fn new(config: ReentrancyConfig) -> Self {
        Self { config }
    }
}

/// Whether the re-entry was triggered by a payment to the sender's side:
/// on the path from the re-entered contract's open frame down to the re-entering
/// call, a frame entered with ether and no calldata (the receiver's fallback runs) or through a
/// token receiver hook. A contract that calls a
/// router which calls it back (fee-on-transfer tokens swapping their fees) is not re-entered
/// by an attacker.
fn triggered_by_payment(fx: &Effects, side: &[EvmAddress], r: &Reentry) -> bool {
    let mut next = fx.frames[r.frame].parent;
    while let Some(p) = next {
        if p == r.outer {
            return false;
        }
        let f = &fx.frames[p];
        let to_attacker = f.to.is_some_and(|t| side.contains(&t));
        // Ether with no calldata runs the receiver's fallback; a hook runs its callback.
        let pays = (!f.value.is_zero() && f.selector.is_none()) || f.selector.is_some_and(is_hook);
        if to_attacker && pays {
            return true;
        }
        next = f.parent;
    }
    false
}

fn is_hook(s: vigil_core::Selector) -> bool {
    static HOOKS: std::sync::LazyLock<Vec<vigil_core::Selector>> = std::sync::LazyLock::new(|| {
        [
            "tokensReceived(address,address,address,uint256,bytes,bytes)",
            "tokensToSend(address,address,address,uint256,bytes,bytes)",
            "onERC721Received(address,address,uint256,bytes)",
            "onERC1155Received(address,address,uint256,uint256,bytes)",
            "onERC1155BatchReceived(address,address,uint256[],uint256[],bytes)",
        ]
        .iter()
        .map(|sig| vigil_core::Selector::of_signature(sig))
        .collect()
    });
    HOOKS.contains(&s)
}

fn describe(assets: &[(Asset, U256)]) -> String {
    assets.iter().map(|(a, n)| format!("{n} units of {a}")).collect::<Vec<_>>().join(", ")
}

impl Detector for Reentrancy {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let fx = cx.effects;
        if !self.config.enabled || !fx.traced || !tx.succeeded() || fx.reentries.is_empty() {
            return;
        }
        let side = sender_side(tx, cx);
        for r in &fx.reentries {
            let victim = r.contract;
            if side.contains(&victim) || !triggered_by_payment(fx, &side, r) {
                continue;
            }
            let inner_end = fx.frames[r.frame].end;
            match r.class {
                ReentryClass::Unexpected => {
                    let (mut inner, mut outer) = (Vec::new(), Vec::new());
                    for m in fx.movements_in(r.outer) {
                        if m.from != victim || m.to == victim {
                            continue;
                        }
                        let inside = m.frame >= r.frame && m.frame < inner_end;
                        add_amount(if inside { &mut inner } else { &mut outer }, m.asset, m.amount);
                    }
                    if inner.is_empty() {
                        continue;
                    }
                    let twice = !outer.is_empty();
                    let protected = cx.protected.contains(&victim);
                    let (severity, confidence) = match (twice, protected) {
                        (true, true) => (Severity::Critical, 90),
                        (true, false) => (Severity::High, 75),
                        (false, true) => (Severity::High, 65),
                        (false, false) => (Severity::Medium, 45),
                    };
                    let selector =
                        r.selector.map(|s| s.to_string()).unwrap_or_else(|| "no calldata".into());
                    let description = format!(
                        "Reentrancy in {}: {} was called back by {} ({selector}) while its frame was \
                         open, and paid {} inside the re-entered call{}",
                        tx.hash,
                        cx.protected.describe(&victim),
                        r.caller,
                        describe(&inner),
                        if twice {
                            format!(" after paying {} in the outer call", describe(&outer))
                        } else {
                            String::new()
                        },
                    );
                    out.push(
                        Finding::new(NAME, severity, AlertKind::Exploit, confidence, description)
                            .incident(format!("{victim}|{}", tx.from))
                            .address(victim)
                            .address(r.caller)
                            .address(tx.from)
                            .meta("shape", "reentered-payout")
                            .meta("selector", selector),
                    );
                    return;
                }
                ReentryClass::ReadOnly => {
                    // The reader (the re-entering frame's caller) pays the sender's side while
                    // the read contract is still open.
                    let reader = r.caller;
                    if side.contains(&reader) {
                        continue;
                    }
                    let outer_end = fx.frames[r.outer].end;
                    let mut paid = Vec::new();
                    for m in fx.movements_in(r.outer) {
                        if m.from == reader
                            && side.contains(&m.to)
                            && m.frame > r.frame
                            && m.frame < outer_end
                        {
                            add_amount(&mut paid, m.asset, m.amount);
                        }
                    }
                    if paid.is_empty() {
                        continue;
                    }
                    let description = format!(
                        "Read-only reentrancy in {}: {} read {} while its frame was open (mid-call \
                         state), then paid {} to the sender's side",
                        tx.hash,
                        reader,
                        cx.protected.describe(&victim),
                        describe(&paid),
                    );
                    out.push(
                        Finding::new(NAME, Severity::High, AlertKind::Exploit, 65, description)
                            .incident(format!("{victim}|{}", tx.from))
                            .address(victim)
                            .address(reader)
                            .address(tx.from)
                            .meta("shape", "read-only"),
                    );
                    return;
                }
                ReentryClass::Callback | ReentryClass::ValueReceipt => {}
            }
        }
    }
}
