//! Predicted drains: a pending transaction whose pre-execution (`vigil-fork`) shows it taking
//! more than a share of what a protected contract holds of one asset. This is the detector
//! that lets a node pause a protocol before the exploit is mined: it reads the simulated
//! effects and the balances the simulation read, never a guess.

use vigil_core::{AlertKind, EvmAddress, Severity};

use crate::config::DrainConfig;
use crate::detector::{Context, Detector, Finding, bps, percent};
use crate::effects::Asset;
use crate::model::Transaction;

/// Its name.
pub const NAME: &str = "pre-execution-drain";

/// The drain detector.
pub struct PredictedDrain {
    config: DrainConfig,
    limits: Vec<(EvmAddress, u16)>,
}

impl PredictedDrain {
    /// A detector with `config`; `limits` are protected contracts' own `max_loss_bps`.
    pub fn new(config: DrainConfig, limits: Vec<(EvmAddress, u16)>) -> Self {
        Self { config, limits }
    }

    fn limit(&self, holder: &EvmAddress) -> u16 {
        self.limits
            .iter()
            .find(|(a, _)| a == holder)
            .map_or(self.config.max_loss_bps, |(_, bps)| *bps)
    }
}

impl Detector for PredictedDrain {
    fn name(&self) -> &str {
        NAME
    }

    fn inspect(&mut self, tx: &Transaction, cx: &Context<'_>, out: &mut Vec<Finding>) {
        let Some(sim) = &tx.simulated else { return };
        if !self.config.enabled || !sim.success || cx.protected.is_empty() {
            return;
        }
        for balance in &sim.balances {
            let holder = balance.holder;
            if !cx.protected.contains(&holder) {
                continue;
            }
            let loss = cx.effects.delta(&holder, balance.asset).loss();
            if loss.is_zero() {
                continue;
            }
            let Some(share) = bps(loss, balance.amount) else { continue };
            let limit = self.limit(&holder);
            if share <= u64::from(limit) {
                continue;
            }
            let (severity, confidence) =
                if share >= 5_000 { (Severity::Critical, 95) } else { (Severity::High, 85) };
            let asset = match balance.asset {
                Asset::Native => "ETH".to_string(),
                Asset::Token(t) => format!("token {t}"),
            };
            // Who would gain: the accounts whose net position in the asset grows the most.
            let mut gainers: Vec<(EvmAddress, alloy_primitives::U256)> = cx
                .effects
                .balances
                .iter()
                .filter(|((a, asset), d)| {
                    *asset == balance.asset && *a != holder && !d.gain().is_zero()
                })
                .map(|((a, _), d)| (*a, d.gain()))
                .collect();
            gainers.sort_by_key(|g| std::cmp::Reverse(g.1));
            let description = format!(
                "Pre-execution: pending transaction {} would take {loss} units of {asset} from \
                 {}, {} of its balance ({}), above the {} limit",
                tx.hash,
                cx.protected.describe(&holder),
                percent(share),
                balance.amount,
                percent(u64::from(limit)),
            );
            let mut finding =
                Finding::new(NAME, severity, AlertKind::Exploit, confidence, description)
                    .incident(format!("{}|{holder}", tx.hash))
                    .address(holder)
                    .address(tx.from);
            if let Some(to) = tx.to {
                finding = finding.address(to);
            }
            for (gainer, _) in gainers.iter().take(3) {
                finding = finding.address(*gainer);
            }
            out.push(
                finding
                    .meta("protected", holder)
                    .meta("asset", balance.asset.key())
                    .meta("loss", loss)
                    .meta("balance_before", balance.amount)
                    .meta("loss_bps", share)
                    .meta("limit_bps", limit),
            );
        }
    }
}
