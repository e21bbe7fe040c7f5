//! Translations of OpenZeppelin Monitor configurations, checked by evaluating the CEL they
//! produce on decoded transactions: the transactions OZ's documented semantics match, and only
//! those, fire. The fixture is `testdata/oz-monitor/`, written from OZ's documentation.

use std::path::Path;

use alloy_primitives::{Address, U256};
use alloy_sol_types::{SolCall, SolEvent};
use vigil_core::{B256, EvmAddress, EvmChainId};
use vigil_detect::detector::{Balances, Protected};
use vigil_detect::{BlockRef, Context, Detector, Gas, IndicatorIndex, Log, RuleSet, Transaction};
use vigil_oz_import::{ImportError, Level, Translation, translate};

alloy_sol_types::sol! {
    event Transfer(address indexed from, address indexed to, uint256 value);
    function transfer(address to, uint256 value) returns (bool);
    function approve(address spender, uint256 value) returns (bool);
    function tag(uint256 amount, address to, string memo, bool flag, uint256[] ids, bytes data);
}

const TOKEN: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

fn token() -> EvmAddress {
    TOKEN.parse().unwrap()
}

fn a(n: u8) -> EvmAddress {
    EvmAddress([n; 20])
}

fn al(e: EvmAddress) -> Address {
    Address::from(e.0)
}

fn e18(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// The fixture directory's files, as `vigil import oz-monitor` reads them.
fn fixture() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oz-monitor");
    let mut files = Vec::new();
    for dir in ["networks", "monitors", "triggers", "filters"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            files.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    files
}

/// The rules written for `network`, loaded as the node loads them.
fn rules(t: &Translation, network: &str) -> RuleSet {
    let dir = format!("rules/{network}/");
    let texts: Vec<(&str, &str)> = t
        .files
        .iter()
        .filter_map(|(p, x)| p.strip_prefix(&dir).map(|n| (n, x.as_str())))
        .filter(|(n, _)| n.ends_with(".toml"))
        .collect();
    RuleSet::load_with(texts, |_, abi| {
        Ok(t.files.iter().find(|(p, _)| *p == format!("{dir}{abi}")).unwrap().1.clone())
    })
    .unwrap()
}

fn file<'a>(t: &'a Translation, path: &str) -> &'a str {
    &t.files.iter().find(|(p, _)| p == path).unwrap_or_else(|| panic!("no {path}")).1
}

struct Tx {
    to: Option<EvmAddress>,
    input: Vec<u8>,
    success: bool,
    logs: Vec<Log>,
    gas_price: u128,
    value: U256,
}

impl Tx {
    fn to(to: EvmAddress) -> Self {
        Self {
            to: Some(to),
            input: Vec::new(),
            success: true,
            logs: Vec::new(),
            gas_price: 1_000_000_000,
            value: U256::ZERO,
        }
    }
    fn call(mut self, c: impl SolCall) -> Self {
        self.input = c.abi_encode();
        self
    }
    fn failed(mut self) -> Self {
        self.success = false;
        self
    }
    fn log(mut self, emitter: EvmAddress, from: EvmAddress, to: EvmAddress, value: U256) -> Self {
        let data = Transfer { from: al(from), to: al(to), value }.encode_log_data();
        let topics = data.topics().iter().map(|t| B256(t.0)).collect();
        self.logs.push(Log::new(emitter, topics, data.data));
        self
    }
    fn pending(&self) -> Transaction {
        Transaction::pending(
            EvmChainId(31337),
            B256([7; 32]),
            a(0xee),
            self.to,
            self.value,
            0,
            self.input.clone().into(),
            0,
        )
        .with_gas(Gas { limit: 100_000, price: self.gas_price, ..Gas::default() })
    }
    fn mined(&self) -> Transaction {
        let block = BlockRef { number: 5, hash: B256([5; 32]), timestamp: 1_700_000_000 };
        self.pending().into_mined(block, 0, self.success, 50_000, self.logs.clone(), None)
    }
}

/// The rules that fire on `tx`, with their alerts' metadata.
fn fire(
    set: &mut RuleSet,
    tx: &Transaction,
) -> Vec<(String, std::collections::BTreeMap<String, String>)> {
    let index = IndicatorIndex::new();
    let protected = Protected::default();
    let balances = Balances::default();
    let effects = vigil_detect::Effects::of(tx);
    let cx = Context {
        indicators: &index,
        protected: &protected,
        balances: &balances,
        head: None,
        effects: &effects,
    };
    let mut out = Vec::new();
    set.inspect(tx, &cx, &mut out);
    assert_eq!(set.evaluation_errors().0, 0, "{:?}", set.evaluation_errors());
    out.into_iter()
        .map(|f| (f.detector.trim_start_matches("rule:").to_owned(), f.metadata))
        .collect()
}

fn names(set: &mut RuleSet, tx: &Transaction) -> Vec<String> {
    fire(set, tx).into_iter().map(|(n, _)| n).collect()
}

#[test]
fn the_fixture_translates_with_a_precise_report() {
    let t = translate(&fixture()).unwrap();
    let paths: Vec<&str> = t.files.iter().map(|(p, _)| p.as_str()).collect();
    assert!(paths.contains(&"anvil_local.toml"), "{paths:?}");
    assert!(paths.contains(&"rules/anvil_local/large-transfer-call.toml"), "{paths:?}");
    assert!(!paths.iter().any(|p| p.contains("stellar")), "{paths:?}");
    assert_eq!(t.report.translated["anvil_local"].len(), 3);

    let report = t.report.to_string();
    let skipped: Vec<String> = t
        .report
        .of(Level::Skipped)
        .map(|e| format!("{} {} {}", e.file, e.field, e.message))
        .collect();
    let has = |needle: &str| skipped.iter().any(|s| s.contains(needle));
    assert!(has("networks/stellar_testnet.json network_type Stellar"), "{report}");
    assert!(has("monitors/stellar_swap.json networks stellar_testnet"), "{report}");
    assert!(has("trigger_conditions script filter"), "{report}");
    assert!(has("config.slack_url the URL is HashiCorp Cloud Vault"), "{report}");
    assert!(has("config.headers custom headers (X-API-Key)"), "{report}");
    assert!(has("${events} has no Vigil equivalent"), "{report}");

    // Plain-text secrets are never written; the report names the variables instead.
    for (path, text) in &t.files {
        for secret in ["a-plain-text-secret", "123456:ABC-plain-token"] {
            assert!(!text.contains(secret), "{path} holds a secret");
        }
    }
    let env: Vec<&str> = t.report.of(Level::Env).map(|e| e.message.as_str()).collect();
    assert!(
        env.iter().any(|m| m.starts_with("set VIGIL_LARGE_TRANSFER_WEBHOOK_SECRET ")),
        "{env:?}"
    );
    assert!(env.iter().any(|m| m.starts_with("set VIGIL_FAILED_TX_TELEGRAM_TOKEN ")), "{env:?}");
    assert!(env.iter().any(|m| m.starts_with("set SMTP_PASSWORD,")), "{env:?}");

    let config = file(&t, "anvil_local.toml");
    for line in [
        "rpc = 'http://127.0.0.1:8545'",
        "rules_dir = 'rules/anvil_local'",
        "pending = false",
        "secret_env = 'VIGIL_LARGE_TRANSFER_WEBHOOK_SECRET'",
        "token_env = 'VIGIL_FAILED_TX_TELEGRAM_TOKEN'",
        "password_env = 'SMTP_PASSWORD'",
        "title = '${alert.rule} triggered'",
        "body = 'Transfer of ${metadata.functions_0_value} to ${metadata.functions_0_to} in ${tx.hash}'",
        "rules = ['large-transfer-event']",
        "stages = [\"mined\"]",
    ] {
        assert!(config.contains(line), "{line} not in\n{config}");
    }
    assert!(!config.contains("vault_slack"), "{config}");
}

#[test]
fn function_event_and_status_conditions_fire_on_the_documented_transactions() {
    let t = translate(&fixture()).unwrap();
    let mut set = rules(&t, "anvil_local");
    // Each translated rule keeps a prefilter key: it runs only on transactions that can match.
    let plan: Vec<(&str, &str)> =
        set.plan().iter().map(|(r, p)| (r.as_str(), p.as_str())).collect();
    assert_eq!(
        plan,
        [
            (
                "failed-token-transactions",
                "from (1 addresses) or to (1 addresses) or log from (1 addresses)"
            ),
            ("large-transfer-call", "to (1 addresses)"),
            ("large-transfer-event", "log from (1 addresses)"),
        ]
    );

    // transfer(address,uint256) with value > 1000e18, on a successful transaction.
    let big = Tx::to(token()).call(transferCall { to: al(a(2)), value: e18(2000) });
    assert_eq!(names(&mut set, &big.mined()), vec!["large-transfer-call"]);
    let fired = fire(&mut set, &big.mined());
    assert_eq!(fired[0].1["functions_0_value"], "2000000000000000000000");
    assert_eq!(fired[0].1["functions_0_to"], format!("{}", a(2)).to_lowercase());
    // At the threshold (> is strict), below it, to another contract, reverted, pending: no.
    for tx in [
        Tx::to(token()).call(transferCall { to: al(a(2)), value: e18(1000) }).mined(),
        Tx::to(token()).call(transferCall { to: al(a(2)), value: e18(999) }).mined(),
        Tx::to(a(9)).call(transferCall { to: al(a(2)), value: e18(2000) }).mined(),
        big.pending(),
    ] {
        assert!(names(&mut set, &tx).is_empty(), "{tx:?}");
    }
    // A reverted call is not Success; it is a failure with a gas price, which the third
    // monitor matches.
    assert_eq!(
        names(
            &mut set,
            &Tx::to(token()).call(transferCall { to: al(a(2)), value: e18(2000) }).failed().mined()
        ),
        vec!["failed-token-transactions"]
    );

    // Transfer(address,address,uint256) with value > 500e18 AND to != zero, from the token.
    let ev = Tx::to(a(9)).log(token(), a(1), a(2), e18(600)).mined();
    let fired = fire(&mut set, &ev);
    assert_eq!(
        fired.iter().map(|f| f.0.as_str()).collect::<Vec<_>>(),
        vec!["large-transfer-event"]
    );
    assert_eq!(fired[0].1["events_0_value"], "600000000000000000000");
    assert_eq!(fired[0].1["events_0_from"], format!("{}", a(1)).to_lowercase());
    // The first matched event is the one the template shows, not the first log.
    let second =
        Tx::to(a(9)).log(token(), a(1), a(2), e18(1)).log(token(), a(3), a(4), e18(700)).mined();
    assert_eq!(fire(&mut set, &second)[0].1["events_0_value"], "700000000000000000000");
    for tx in [
        Tx::to(a(9)).log(token(), a(1), EvmAddress([0; 20]), e18(600)).mined(),
        Tx::to(a(9)).log(token(), a(1), a(2), e18(400)).mined(),
        Tx::to(a(9)).log(a(8), a(1), a(2), e18(600)).mined(),
    ] {
        assert!(names(&mut set, &tx).is_empty(), "{tx:?}");
    }

    // status Failure with gas_price > 0, involving the token (as recipient or emitter).
    assert_eq!(
        names(&mut set, &Tx::to(token()).failed().mined()),
        vec!["failed-token-transactions"]
    );
    let mut free = Tx::to(token()).failed();
    free.gas_price = 0;
    for tx in [free.mined(), Tx::to(a(9)).failed().mined(), Tx::to(token()).mined()] {
        assert!(names(&mut set, &tx).is_empty(), "{tx:?}");
    }
}

/// A monitor over one function `tag(...)` with `expression`, translated and loaded.
fn tag_monitor(expression: &str) -> Result<RuleSet, ImportError> {
    let abi = serde_json::json!([{"type":"function","name":"tag","stateMutability":"nonpayable","outputs":[],
        "inputs":[{"name":"amount","type":"uint256"},{"name":"to","type":"address"},
                  {"name":"memo","type":"string"},{"name":"flag","type":"bool"},
                  {"name":"ids","type":"uint256[]"},{"name":"data","type":"bytes"}]}]);
    let monitor = serde_json::json!({
        "name": "tag", "networks": ["anvil_local"], "paused": false,
        "addresses": [{"address": TOKEN, "contract_spec": abi}],
        "match_conditions": {"functions": [{"signature": "tag(uint256,address,string,bool,uint256[],bytes)", "expression": expression}],
                             "events": [], "transactions": []},
        "trigger_conditions": [], "triggers": []
    });
    let mut files: Vec<(String, String)> =
        fixture().into_iter().filter(|(p, _)| p.starts_with("networks/")).collect();
    files.push(("monitors/tag.json".into(), monitor.to_string()));
    let t = translate(&files)?;
    Ok(rules(&t, "anvil_local"))
}

fn tag_tx(
    amount: u64,
    to: EvmAddress,
    memo: &str,
    flag: bool,
    ids: &[u64],
    data: &[u8],
) -> Transaction {
    Tx::to(token())
        .call(tagCall {
            amount: U256::from(amount),
            to: al(to),
            memo: memo.into(),
            flag,
            ids: ids.iter().map(|i| U256::from(*i)).collect(),
            data: data.to_vec().into(),
        })
        .mined()
}

#[test]
fn expression_operators_follow_the_documentation() {
    let tx = tag_tx(
        1500,
        a(0xab),
        "Critical Alert: Pool",
        true,
        &[10, 20, 30],
        &[0xa9, 0x05, 0x9c, 0xbb],
    );
    let to = format!("{}", a(0xab));
    let cases: Vec<(String, bool)> = vec![
        ("amount == 1500".into(), true),
        ("amount != 1500".into(), false),
        ("amount > 1499".into(), true),
        ("amount > 1500".into(), false),
        ("amount >= 1500".into(), true),
        ("amount < 1500".into(), false),
        ("amount <= 1500".into(), true),
        ("amount == 0x5dc".into(), true),
        // Addresses compare case-insensitively.
        (format!("to == '{}'", to.to_uppercase().replacen("0X", "0x", 1)), true),
        (format!("to != '{to}'"), false),
        // Strings: case-insensitive ==, contains, starts_with, ends_with; unquoted words.
        ("memo == 'critical alert: pool'".into(), true),
        ("memo contains 'ALERT'".into(), true),
        ("memo starts_with 'crit'".into(), true),
        ("memo ends_with 'POOL'".into(), true),
        ("memo ends_with 'alert'".into(), false),
        ("memo != Pool".into(), true),
        // Booleans, any case.
        ("flag == true".into(), true),
        ("flag == FALSE".into(), false),
        // Arrays: contains (as string or number) and indexed access.
        ("ids contains '20'".into(), true),
        ("ids contains 25".into(), false),
        ("ids[0] == 10".into(), true),
        ("ids[2] > 25".into(), true),
        ("ids[3] > 0".into(), false),
        // Bytes as hex text.
        ("data starts_with '0xA9059CBB'".into(), true),
        // AND binds tighter than OR; parentheses group.
        ("amount > 2000 OR memo contains 'pool' AND flag == true".into(), true),
        ("(amount > 2000 OR memo contains 'pool') AND flag == false".into(), false),
        ("amount > 2000 OR (memo contains 'nope' OR ids[1] == 20)".into(), true),
        // A failing piece fails the condition where OZ reaches it, and only there.
        ("ids[9] == 1 OR amount > 1".into(), false),
        ("amount > 1 OR ids[9] == 1".into(), true),
        ("amount > 1 AND missing == 1".into(), false),
        ("amount > 9999 AND missing == 1".into(), false),
    ];
    for (expression, expected) in cases {
        let mut set = tag_monitor(&expression).unwrap_or_else(|e| panic!("{expression}: {e}"));
        let fired = !names(&mut set, &tx).is_empty();
        assert_eq!(fired, expected, "{expression}: {}", set.rules()[0].expression);
    }
    // No CEL equivalent: refused, not guessed.
    let files = |expr: &str| {
        let err = tag_monitor(expr).map(|_| ());
        assert!(err.is_ok(), "{expr}: the monitor is skipped, not an error: {err:?}");
    };
    files("ids == '[10,20,30]'");
}

#[test]
fn untranslatable_monitors_are_skipped_with_the_reason() {
    let monitor = serde_json::json!({
        "name": "json array", "networks": ["anvil_local"], "paused": false,
        "addresses": [{"address": TOKEN, "contract_spec": [{"type":"event","name":"E","anonymous":false,
            "inputs":[{"name":"ids","type":"uint256[]","indexed":false}]}]}],
        "match_conditions": {"functions": [], "events": [{"signature": "E(uint256[])", "expression": "ids == '[1,2]'"}], "transactions": []},
        "trigger_conditions": [], "triggers": []
    });
    let mut files: Vec<(String, String)> =
        fixture().into_iter().filter(|(p, _)| p.starts_with("networks/")).collect();
    files.push(("monitors/json.json".into(), monitor.to_string()));
    let t = translate(&files).unwrap();
    let e = t.report.of(Level::Skipped).next().unwrap();
    assert_eq!(
        (e.file.as_str(), e.field.as_str()),
        ("monitors/json.json", "match_conditions.events[0].expression")
    );
    assert!(e.message.contains("JSON text"), "{e:?}");
    assert!(t.report.translated.is_empty());
}

#[test]
fn malformed_configs_name_the_file_and_the_field() {
    let net = fixture().into_iter().find(|(p, _)| p == "networks/anvil_local.json").unwrap();
    let cases: Vec<(Vec<(String, String)>, &str)> = vec![
        (vec![net.clone(), ("monitors/m.json".into(), "{ not json".into())], "monitors/m.json: not valid JSON"),
        (
            vec![net.clone(), ("monitors/m.json".into(), r#"{"networks": ["anvil_local"], "triggers": []}"#.into())],
            "monitors/m.json: name: missing",
        ),
        (
            vec![net.clone(), ("monitors/m.json".into(), r#"{"name": "m", "networks": ["mainnet"], "triggers": []}"#.into())],
            "monitors/m.json: networks[0]: unknown network \"mainnet\"",
        ),
        (
            vec![net.clone(), ("monitors/m.json".into(), r#"{"name": "m", "networks": ["anvil_local"], "triggers": ["t"]}"#.into())],
            "monitors/m.json: triggers[0]: unknown trigger \"t\"",
        ),
        (
            vec![net.clone(), ("monitors/m.json".into(), r#"{"name": "m", "networks": ["anvil_local"], "addresses": [{"address": 5}]}"#.into())],
            "monitors/m.json: addresses[0].address: expected a string",
        ),
        (
            vec![("networks/n.json".into(), r#"{"network_type": "EVM", "slug": "n", "name": "n", "rpc_urls": [{"url": {"type": "sealed", "value": "x"}}]}"#.into())],
            "networks/n.json: rpc_urls[0].url.type: \"sealed\" is not a secret type",
        ),
        (
            vec![net.clone(), ("triggers/t.json".into(), r#"{"x": {"name": "x", "trigger_type": "pager", "config": {}}}"#.into())],
            "triggers/t.json: x.trigger_type: \"pager\"",
        ),
        (vec![net.clone()], "no monitors"),
    ];
    for (files, needle) in cases {
        let err = translate(&files).unwrap_err().to_string();
        assert!(err.contains(needle), "{err:?} should contain {needle:?}");
    }
    // A bad address is a refusal of that monitor, named by its field.
    let bad = serde_json::json!({"name": "m", "networks": ["anvil_local"], "addresses": [{"address": "0x12"}],
        "match_conditions": {"functions": [], "events": [], "transactions": []}, "triggers": []});
    let t = translate(&[net, ("monitors/m.json".into(), bad.to_string())]).unwrap();
    let e = t.report.of(Level::Skipped).next().unwrap();
    assert_eq!(e.field, "addresses[0].address");
}
