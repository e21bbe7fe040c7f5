//! A simulation scenario file from outside (`vigil simulate --scenario FILE`). Nothing may
//! panic: parsing either fails with an error or yields a scenario that passes its checks, and a
//! small one (capped in accounts and blocks) runs on the real ledger without a refused block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_sim::{RunSettings, Scenario, run_once};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(mut scenario) = Scenario::from_toml(text) else { return };
    scenario.validate().expect("a parsed scenario passed its checks");
    let accounts = scenario.honest.reporters
        + scenario.honest.attesters
        + scenario.lazy.attesters
        + scenario.lazy.reporters
        + scenario.false_reporters.reporters
        + scenario.coalition.members
        + scenario.sybil.accounts;
    if accounts > 100 || scenario.protocols.len() > 8 {
        return;
    }
    scenario.blocks = scenario.blocks.min(30);
    let settings = RunSettings { sharing: Some(scenario.sharing.latency), sample: true };
    // A genesis the ledger refuses (amounts beyond its 64 bits) is an error, never a panic;
    // once the ledger is open, it takes every block the agents cut.
    if let Err(e) = run_once(&scenario, scenario.seed, settings, |_| {}) {
        assert_eq!(e.height, 0, "the ledger refused block {}: {}", e.height, e.source);
    }
});
