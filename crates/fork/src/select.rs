//! Which pending transactions are simulated, and how.
//!
//! Simulating costs microseconds on a warm cache but RPC reads on a cold one, so by default a
//! node simulates what could hurt what it protects: a transaction that names a protected
//! contract (as recipient or in its calldata), or that comes from or calls a contract created
//! recently, or an address the intel flags. `unverified` widens it to every call to a contract
//! not listed in `verified`; `all` simulates everything.

use std::collections::BTreeSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vigil_core::EvmAddress;

/// Why a pending transaction is simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// It calls a protected contract or names one in its calldata.
    Protected,
    /// It comes from or calls a contract created in the last `fresh_blocks` blocks.
    Fresh,
    /// Its sender or recipient is a flagged address (intel, a confirmed report).
    Flagged,
    /// It calls a contract that is not in `verified`.
    Unverified,
    /// Everything is simulated.
    All,
}

/// `[watch.simulate]`: pre-execution of pending transactions. Every field has a default;
/// unknown fields are errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulateConfig {
    /// Whether pending transactions are simulated at all.
    pub enabled: bool,
    /// Which ones: any of `protected`, `fresh`, `flagged`, `unverified`, `all`.
    pub select: BTreeSet<Reason>,
    /// Simulations running at once (each on its own blocking thread).
    pub concurrency: usize,
    /// Time one simulation may take, state reads included, milliseconds.
    pub timeout_ms: u64,
    /// Time one state read from the node may take, milliseconds.
    pub read_timeout_ms: u64,
    /// Gas a simulation may use at most (a transaction asking for more runs with this much).
    pub max_gas: u64,
    /// A contract created within this many blocks is fresh.
    pub fresh_blocks: u64,
    /// Contracts whose code is known good, for `unverified`.
    pub verified: Vec<EvmAddress>,
    /// Storage slots the cache holds before it is cleared.
    pub max_cached_slots: usize,
    /// The EVM rules simulations follow, by revm's name: `Cancun`, `Prague`, `Osaka`, ...
    pub hardfork: String,
}

impl Default for SimulateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            select: [Reason::Protected, Reason::Fresh, Reason::Flagged].into(),
            concurrency: 2,
            timeout_ms: 500,
            read_timeout_ms: 2_000,
            max_gas: 30_000_000,
            fresh_blocks: 7_200,
            verified: Vec::new(),
            max_cached_slots: 2_000_000,
            hardfork: "Prague".into(),
        }
    }
}

impl SimulateConfig {
    /// The per-simulation time limit.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// The hardfork, or an error naming the ones revm knows.
    pub fn spec(&self) -> Result<revm::primitives::hardfork::SpecId, String> {
        self.hardfork.parse().map_err(|_| {
            format!(
                "unknown hardfork '{}' in [watch.simulate] (expected e.g. Cancun, Prague, Osaka)",
                self.hardfork
            )
        })
    }

    /// The per-read time limit.
    pub fn read_timeout(&self) -> Duration {
        Duration::from_millis(self.read_timeout_ms.max(1))
    }

    /// Why a pending transaction from `from` to `to` with `input` is simulated, if it is.
    /// `protected`, `fresh` and `flagged` answer for an address.
    pub fn reason(
        &self,
        from: &EvmAddress,
        to: Option<&EvmAddress>,
        input: &[u8],
        protected: impl Fn(&EvmAddress) -> bool,
        fresh: impl Fn(&EvmAddress) -> bool,
        flagged: impl Fn(&EvmAddress) -> bool,
    ) -> Option<Reason> {
        if !self.enabled {
            return None;
        }
        let want = |r| self.select.contains(&r);
        if want(Reason::All) {
            return Some(Reason::All);
        }
        if want(Reason::Protected)
            && (to.is_some_and(&protected) || words(input).any(|a| protected(&a)))
        {
            return Some(Reason::Protected);
        }
        if want(Reason::Fresh) && (fresh(from) || to.is_some_and(&fresh)) {
            return Some(Reason::Fresh);
        }
        if want(Reason::Flagged) && (flagged(from) || to.is_some_and(&flagged)) {
            return Some(Reason::Flagged);
        }
        if want(Reason::Unverified)
            && let Some(to) = to
            && !input.is_empty()
            && !self.verified.contains(to)
        {
            return Some(Reason::Unverified);
        }
        None
    }
}

/// The addresses ABI-encoded in calldata: every 32-byte word after the selector whose first
/// 12 bytes are zero and whose last 20 are not.
fn words(input: &[u8]) -> impl Iterator<Item = EvmAddress> + '_ {
    input.get(4..).unwrap_or_default().chunks_exact(32).filter_map(|w| {
        let (pad, addr) = w.split_at(12);
        (pad.iter().all(|b| *b == 0) && addr.iter().any(|b| *b != 0))
            .then(|| EvmAddress(addr.try_into().unwrap_or([0; 20])))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> EvmAddress {
        EvmAddress([n; 20])
    }

    #[test]
    fn protected_contracts_are_found_as_recipient_and_in_calldata() {
        let c = SimulateConfig::default();
        let vault = a(9);
        let is_vault = |x: &EvmAddress| *x == vault;
        let no = |_: &EvmAddress| false;
        assert_eq!(c.reason(&a(1), Some(&vault), &[], is_vault, no, no), Some(Reason::Protected));
        let mut input = vec![0xa9, 0x05, 0x9c, 0xbb];
        input.extend([0u8; 12]);
        input.extend(vault.0);
        input.extend([0u8; 32]);
        assert_eq!(c.reason(&a(1), Some(&a(2)), &input, is_vault, no, no), Some(Reason::Protected));
        assert_eq!(c.reason(&a(1), Some(&a(2)), &input[..20], is_vault, no, no), None);
        assert_eq!(c.reason(&a(1), Some(&a(2)), &[], no, |x| *x == a(2), no), Some(Reason::Fresh));
        assert_eq!(
            c.reason(&a(1), Some(&a(2)), &[], no, no, |x| *x == a(1)),
            Some(Reason::Flagged)
        );
        assert_eq!(c.reason(&a(1), Some(&a(2)), &input, no, no, no), None);
    }

    #[test]
    fn the_config_reads_from_toml_and_refuses_unknown_fields() {
        let c: SimulateConfig =
            toml::from_str("select = [\"all\"]\nconcurrency = 4\ntimeout_ms = 50").unwrap();
        assert_eq!(c.select, [Reason::All].into());
        assert_eq!(c.reason(&a(1), None, &[], |_| false, |_| false, |_| false), Some(Reason::All));
        let off: SimulateConfig = toml::from_str("enabled = false").unwrap();
        assert_eq!(off.reason(&a(1), None, &[], |_| true, |_| true, |_| true), None);
        let err = toml::from_str::<SimulateConfig>("select = [\"some\"]").unwrap_err().to_string();
        assert!(err.contains("protected"), "{err}");
        assert!(toml::from_str::<SimulateConfig>("threads = 2").is_err());
    }
}
