//! Outflow rate limit in the manner of ERC-7265: for each protected contract and token, the
//! net outflow over a sliding time window must stay below a share of the balance the contract
//! held when the window opened. Only mined, successful transactions move tokens, so pending ones
//! are not inspected.

use std::collections::{HashMap, VecDeque};

use alloy_primitives::U256;
use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::OutflowConfig;
use crate::detector::{Context, Detector, Finding, bps, percent, token_movements};
use crate::model::Transaction;

/// Its name.
pub const NAME: &str = "outflow-rate-limit";

#[derive(Clone, Copy, Debug)]
struct Flow {
    time: u64,
    block: u64,
    inflow: U256,
    outflow: U256,
}

/// The outflow rate-limit detector.
pub struct OutflowRateLimit {
    config: OutflowConfig,
    windows: HashMap<(EvmAddress, EvmAddress), VecDeque<Flow>>,
    tx_flows: Vec<((EvmAddress, EvmAddress), U256, U256)>,
}

impl OutflowRateLimit {
    /// A detector with `config`.
    pub fn new(config: OutflowConfig) -> Self {
        Self { config, windows: HashMap::new(), tx_flows: Vec::new() }
    }
}

impl Detector for OutflowRateLimit {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        if !self.config.enabled || cx.protected.is_empty() || !tx.succeeded() {
            return;
        }
        let Some(block) = tx.block().copied() else { return };
        // This transaction's (in, out) per protected (holder, token).
        self.tx_flows.clear();
        for (token, from, to, value) in token_movements(cx) {
            for (holder, is_out) in [(from, true), (to, false)] {
                if !cx.protected.contains(&holder) || from == to {
                    continue;
                }
                let key = (holder, token);
                let i = match self.tx_flows.iter().position(|(k, _, _)| *k == key) {
                    Some(i) => i,
                    None => {
                        self.tx_flows.push((key, U256::ZERO, U256::ZERO));
                        self.tx_flows.len() - 1
                    }
                };
                let f = &mut self.tx_flows[i];
                if is_out {
                    f.2 = f.2.saturating_add(value);
                } else {
                    f.1 = f.1.saturating_add(value);
                }
            }
        }
        let now = tx.time();
        let horizon = now.saturating_sub(self.config.window_secs);
        for &((holder, token), inflow, outflow) in &self.tx_flows {
            let window = self.windows.entry((holder, token)).or_default();
            while window.front().is_some_and(|f| f.time < horizon) {
                window.pop_front();
            }
            window.push_back(Flow { time: now, block: block.number, inflow, outflow });
            if outflow <= inflow {
                continue;
            }
            let (w_in, w_out) = window.iter().fold((U256::ZERO, U256::ZERO), |(i, o), f| {
                (i.saturating_add(f.inflow), o.saturating_add(f.outflow))
            });
            let net = w_out.saturating_sub(w_in);
            // Balance when the window opened = balance before this tx + this tx's net flow
            // undone + the window's net outflow.
            let Some(before) = cx.balances.get(&holder, &token) else { continue };
            let start = before
                .saturating_add(inflow)
                .saturating_add(w_out)
                .saturating_sub(outflow.saturating_add(w_in));
            let Some(share) = bps(net, start) else { continue };
            if share <= u64::from(self.config.max_outflow_bps) {
                continue;
            }
            let severity = if share >= 5_000 { Severity::Critical } else { Severity::High };
            let confidence = if share >= 5_000 { 95 } else { 80 };
            let description = format!(
                "Net outflow of {net} units of token {token} from {} over the last {}s is {} of \
                 its balance when the window opened ({start}), above the {} limit",
                cx.protected.describe(&holder),
                self.config.window_secs,
                percent(share),
                percent(u64::from(self.config.max_outflow_bps)),
            );
            out.push(
                Finding::new(NAME, severity, AlertKind::Degraded, confidence, description)
                    .incident(format!("{holder}|{token}"))
                    .address(holder)
                    .address(token)
                    .address(tx.from)
                    .meta("protected", holder)
                    .meta("token", token)
                    .meta("net_outflow", net)
                    .meta("window_start_balance", start)
                    .meta("outflow_bps", share)
                    .meta("limit_bps", self.config.max_outflow_bps)
                    .meta("window_secs", self.config.window_secs),
            );
        }
    }

    fn rewind(&mut self, height: u64) {
        for window in self.windows.values_mut() {
            window.retain(|f| f.block <= height);
        }
        self.windows.retain(|_, w| !w.is_empty());
    }
}
