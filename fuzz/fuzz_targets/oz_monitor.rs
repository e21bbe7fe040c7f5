//! `vigil import oz-monitor`'s translation on arbitrary input: a monitor file (and, from the
//! same bytes, a network and a triggers file) beside a valid network, and OZ expressions alone.
//! It must never panic; whatever it translates must load as Vigil rules (the translator checks
//! that itself and would return an error, which this target treats as a failure).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_oz_import::{ImportError, expr, translate};

const NETWORK: &str = r#"{"network_type": "EVM", "slug": "anvil_local", "name": "Anvil",
  "rpc_urls": [{"type_": "rpc", "url": {"type": "plain", "value": "http://127.0.0.1:8545"}, "weight": 100}],
  "chain_id": 31337, "block_time_ms": 1000, "confirmation_blocks": 1, "cron_schedule": ""}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = expr::parse(text);
    // An expression inside a monitor whose ABI names the usual parameters.
    let monitor = serde_json::json!({
        "name": "fuzz", "networks": ["anvil_local"], "paused": false,
        "addresses": [{"address": "0x5fbdb2315678afecb367f032d93f642f64180aa3", "contract_spec": [
            {"type": "function", "name": "f", "stateMutability": "nonpayable", "outputs": [],
             "inputs": [{"name": "amount", "type": "uint256"}, {"name": "to", "type": "address"},
                        {"name": "memo", "type": "string"}, {"name": "ids", "type": "uint256[]"}]}]}],
        "match_conditions": {"functions": [{"signature": "f(uint256,address,string,uint256[])", "expression": text}],
                             "events": [], "transactions": [{"status": "Any", "expression": text}]},
        "trigger_conditions": [], "triggers": []
    });
    let files = vec![
        ("networks/anvil.json".to_owned(), NETWORK.to_owned()),
        ("monitors/fuzz.json".to_owned(), monitor.to_string()),
    ];
    assert!(!matches!(translate(&files), Err(ImportError::Rules { .. })), "{text:?}");
    // The bytes as each kind of file.
    for path in ["monitors/raw.json", "networks/raw.json", "triggers/raw.json"] {
        let files = vec![
            ("networks/anvil.json".to_owned(), NETWORK.to_owned()),
            ("monitors/fuzz.json".to_owned(), monitor.to_string()),
            (path.to_owned(), text.to_owned()),
        ];
        if let Err(ImportError::Rules { message, .. }) = translate(&files) {
            panic!("{path}: translated rules do not load: {message}");
        }
    }
});
