//! Flash-loan exploit pattern: a flash loan and, in the same transaction, a large profit to the
//! sender (or the contracts it used), or a large net outflow from a protected contract.
//!
//! "Large" has no price feed behind it: a profit is large when it is at least a share of the
//! loan in the same token, or above a configured amount per token; an outflow is large when it
//! is a share of the protected contract's balance (or, when that is unknown, at least the loan).
//! Profits need logs, so only mined transactions are inspected.

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::FlashLoanConfig;
use crate::detector::{Context, Detector, Finding, bps, erc20_transfers, percent};
use crate::events::FlashLoanLeg;
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

/// Per token: (token, in, out).
type Flows = Vec<(EvmAddress, U256, U256)>;

/// Adds to the (in, out) of `token`.
fn add(flows: &mut Flows, token: EvmAddress, inflow: U256, outflow: U256) {
    match flows.iter_mut().find(|(t, _, _)| *t == token) {
        Some(f) => {
            f.1 = f.1.saturating_add(inflow);
            f.2 = f.2.saturating_add(outflow);
        }
        None => flows.push((token, inflow, outflow)),
    }
}

impl Detector for FlashLoanExploit {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if !self.config.enabled || tx.is_pending() || !tx.succeeded() {
            return;
        }
        let loans: Vec<FlashLoanLeg> = tx.events().filter_map(|(_, e)| e.flash_loan()).collect();
        if loans.is_empty() {
            return;
        }
        let loaned = |token: &EvmAddress| -> U256 {
            loans
                .iter()
                .filter(|l| l.asset.as_ref() == Some(token))
                .fold(U256::ZERO, |a, l| a.saturating_add(l.amount))
        };

        // The sender, the contract it called and the loan receivers count as one beneficiary.
        let mut beneficiaries = vec![tx.from];
        beneficiaries.extend(tx.to);
        beneficiaries.extend(loans.iter().map(|l| l.receiver));
        let is_b = |a: &EvmAddress| beneficiaries.contains(a);

        let mut profit_flows = Vec::new();
        let mut protected_flows: Vec<(EvmAddress, Flows)> = Vec::new();
        for (token, from, to, value) in erc20_transfers(tx) {
            match (is_b(&from), is_b(&to)) {
                (false, true) => add(&mut profit_flows, token, value, U256::ZERO),
                (true, false) => add(&mut profit_flows, token, U256::ZERO, value),
                _ => {}
            }
            for (holder, is_out) in [(from, true), (to, false)] {
                if cx.protected.contains(&holder) && from != to {
                    let i = match protected_flows.iter().position(|(h, _)| *h == holder) {
                        Some(i) => i,
                        None => {
                            protected_flows.push((holder, Vec::new()));
                            protected_flows.len() - 1
                        }
                    };
                    let (i_in, i_out) =
                        if is_out { (U256::ZERO, value) } else { (value, U256::ZERO) };
                    add(&mut protected_flows[i].1, token, i_in, i_out);
                }
            }
        }

        let mut reasons = Vec::new();
        let mut finding_meta = Vec::new();
        let mut large_profit = false;
        for (token, inflow, outflow) in &profit_flows {
            let profit = inflow.saturating_sub(*outflow);
            if profit.is_zero() {
                continue;
            }
            let loan = loaned(token);
            let by_loan = bps(profit, loan).filter(|b| *b >= u64::from(self.config.min_profit_bps));
            let by_amount = self.config.large_amounts.get(token).is_some_and(|min| profit >= *min);
            if by_loan.is_some() || by_amount {
                large_profit = true;
                let share =
                    by_loan.map(|b| format!(" ({} of the loan)", percent(b))).unwrap_or_default();
                reasons.push(format!("a profit of {profit} units of token {token}{share}"));
                finding_meta.push((format!("profit.{token}"), profit.to_string()));
            }
        }
        let mut large_outflow = false;
        let mut drained = Vec::new();
        for (holder, flows) in &protected_flows {
            for (token, inflow, outflow) in flows {
                let net = outflow.saturating_sub(*inflow);
                if net.is_zero() {
                    continue;
                }
                let large = match cx.balances.get(holder, token) {
                    Some(balance) => bps(net, balance)
                        .is_some_and(|b| b >= u64::from(self.config.min_protected_outflow_bps)),
                    None => {
                        let loan = loaned(token);
                        (!loan.is_zero() && net >= loan)
                            || self.config.large_amounts.get(token).is_some_and(|min| net >= *min)
                    }
                };
                if large {
                    large_outflow = true;
                    drained.push(*holder);
                    let share = cx
                        .balances
                        .get(holder, token)
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
        let both = large_profit && large_outflow;
        let loans_text: Vec<String> = loans
            .iter()
            .map(|l| match l.asset {
                Some(asset) => format!("{} units of {asset} to {}", l.amount, l.receiver),
                None => format!("{} units to {}", l.amount, l.receiver),
            })
            .collect();
        let description = format!(
            "Flash loan exploit pattern in {}: a flash loan of {} with {}",
            tx.hash,
            loans_text.join(", "),
            reasons.join(" and ")
        );
        let mut finding = Finding::new(
            NAME,
            if both { Severity::Critical } else { Severity::High },
            AlertKind::Exploit,
            if both { 90 } else { 75 },
            description,
        )
        .incident(tx.from.to_string())
        .address(tx.from);
        for l in &loans {
            finding = finding.address(l.receiver);
        }
        for h in drained {
            finding = finding.address(h);
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
