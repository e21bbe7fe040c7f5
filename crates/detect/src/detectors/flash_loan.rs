//! Flash-loan exploit pattern: a flash loan and, in the same transaction, a large profit to the
//! sender's side (the sender, the contract it called, the loan receivers and contracts created
//! in the transaction), or a large net outflow from a protected contract.
//!
//! Flash loans come from the call tree when there is one (a lender sending an asset, calling
//! the borrower back and being repaid: Aave, Balancer, dYdX, Uniswap V2 flash swaps and V3
//! `flash`, ERC-3156 and Maker flash mints, DODO, or any lender of that shape), else from the
//! logs. Movements come from the tree's calls when logs are missing, so the pattern is seen in
//! a bare `callTracer` tree.
//!
//! "Large" has no price feed behind it: a profit is large when it is at least a share of the
//! loan in the same asset, or above a configured amount per token; an outflow is large when it
//! is a share of the protected contract's balance (or, when that is unknown, at least the loan).
//! A flash loan with a large profit is high severity only with more evidence that value was
//! taken rather than earned (a protected outflow, or a contract paying the sender's side
//! without being paid back, outside a liquidation); otherwise it is medium, since arbitrage
//! and liquidations borrow every block.

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::FlashLoanConfig;
use crate::detector::{Context, Detector, Finding, bps, percent};
use crate::effects::Asset;
use crate::model::Transaction;

/// Its name.
pub const NAME: &str = "flash-loan-exploit";

/// The flash-loan exploit detector.
pub struct FlashLoanExploit {
    config: FlashLoanConfig,
}

impl FlashLoanExploit {
    /// A detector with `config`.
    pub fn new(config: FlashLoanConfig) -> Self {
        Self { config }
    }
}

/// The sender's side of a transaction: the sender, the contract it called, the flash-loan
/// receivers and the contracts it created.
pub(crate) fn sender_side(tx: &Transaction, cx: &Context<'_>) -> Vec<EvmAddress> {
    let mut side = vec![tx.from];
    side.extend(tx.to);
    side.extend(cx.effects.flash_loans.iter().map(|l| l.receiver));
    side.extend(cx.effects.created.iter().copied());
    side.retain(|a| !cx.protected.contains(a));
    side.sort_unstable();
    side.dedup();
    side
}

impl Detector for FlashLoanExploit {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let fx = cx.effects;
        // A pending transaction has effects only once simulated (a trace); mined ones have logs.
        if !self.config.enabled || !tx.succeeded() || (tx.is_pending() && !fx.traced) {
            return;
        }
        let loans = &fx.flash_loans;
        if loans.is_empty() {
            return;
        }
        let loaned = |asset: &Asset| -> U256 {
            loans
                .iter()
                .filter(|l| l.asset.as_ref() == Some(asset))
                .fold(U256::ZERO, |a, l| a.saturating_add(l.amount))
        };
        let side = sender_side(tx, cx);

        let mut reasons = Vec::new();
        let mut finding_meta = Vec::new();
        let mut large_profit = false;
        for (asset, delta) in fx.group_deltas(&side) {
            let profit = delta.gain();
            if profit.is_zero() {
                continue;
            }
            let loan = loaned(&asset);
            let by_loan = bps(profit, loan).filter(|b| *b >= u64::from(self.config.min_profit_bps));
            let by_amount = match asset {
                Asset::Token(t) => {
                    self.config.large_amounts.get(&t).is_some_and(|min| profit >= *min)
                }
                Asset::Native => false,
            };
            if by_loan.is_some() || by_amount {
                large_profit = true;
                let share =
                    by_loan.map(|b| format!(" ({} of the loan)", percent(b))).unwrap_or_default();
                reasons.push(format!("a profit of {profit} units of {asset}{share}"));
                finding_meta.push((format!("profit.{}", asset.key()), profit.to_string()));
            }
        }

        let mut large_outflow = false;
        let mut drained = Vec::new();
        for holder in cx.protected.addresses() {
            for (asset, delta) in fx.deltas_of(holder) {
                let net = delta.loss();
                let Asset::Token(token) = asset else { continue };
                if net.is_zero() {
                    continue;
                }
                let large = match cx.balances.get(holder, &token) {
                    Some(balance) => bps(net, balance)
                        .is_some_and(|b| b >= u64::from(self.config.min_protected_outflow_bps)),
                    None => {
                        let loan = loaned(&asset);
                        (!loan.is_zero() && net >= loan)
                            || self.config.large_amounts.get(&token).is_some_and(|min| net >= *min)
                    }
                };
                if large {
                    large_outflow = true;
                    drained.push(*holder);
                    let share = cx
                        .balances
                        .get(holder, &token)
                        .and_then(|b| bps(net, b))
                        .map(|b| format!(" ({} of its balance)", percent(b)))
                        .unwrap_or_default();
                    reasons.push(format!(
                        "a net outflow of {net} units of token {token} from {}{share}",
                        cx.protected.describe(holder)
                    ));
                    finding_meta.push((format!("outflow.{holder}.{token}"), net.to_string()));
                }
            }
        }
        if !large_profit && !large_outflow {
            return;
        }
        // Value taken, not earned: a contract paid the sender's side and got nothing back.
        let victims =
            if large_profit && !fx.liquidation { fx.one_way_senders(&side) } else { vec![] };
        for (v, assets) in &victims {
            let what: Vec<String> =
                assets.iter().map(|(a, n)| format!("{n} units of {a}")).collect();
            reasons.push(format!(
                "{} paid {} and received nothing back",
                cx.protected.describe(v),
                what.join(", ")
            ));
        }
        let (severity, confidence) = match (large_profit, large_outflow, !victims.is_empty()) {
            (true, true, _) => (Severity::Critical, 90),
            (false, true, _) => (Severity::High, 75),
            (true, false, true) => (Severity::High, 75),
            (true, false, false) => (Severity::Medium, 50),
            (false, false, _) => return,
        };
        let loans_text: Vec<String> = loans
            .iter()
            .map(|l| match l.asset {
                Some(asset) => {
                    format!("{} units of {asset} from {} to {}", l.amount, l.lender, l.receiver)
                }
                None => format!("{} units from {} to {}", l.amount, l.lender, l.receiver),
            })
            .collect();
        let description = format!(
            "Flash loan exploit pattern in {}: a flash loan of {} with {}",
            tx.hash,
            loans_text.join(", "),
            reasons.join(" and ")
        );
        let kind =
            if severity >= Severity::High { AlertKind::Exploit } else { AlertKind::Suspicious };
        let mut finding = Finding::new(NAME, severity, kind, confidence, description)
            .incident(tx.from.to_string())
            .address(tx.from)
            .meta("traced", fx.traced);
        for l in loans {
            finding = finding.address(l.receiver);
        }
        for h in drained {
            finding = finding.address(h);
        }
        for (v, _) in &victims {
            finding = finding.address(*v);
        }
        for (i, text) in loans_text.iter().enumerate() {
            finding = finding.meta(&format!("loan.{i}"), text);
        }
        for (k, v) in finding_meta {
            finding = finding.meta(&k, v);
        }
        out.push(finding);
    }
}
