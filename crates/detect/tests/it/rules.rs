//! CEL rules: loading, the prefilter, evaluation and templates.

use alloy_primitives::U256;
use vigil_core::{AlertKind, Severity};
use vigil_detect::detector::{Balances, Protected};
use vigil_detect::{Context, Detector, IndicatorIndex, RuleSet, Transaction};

use crate::support::*;

const RULES: &str = r#"
[lists]
watchlist = ["0x5FbDB2315678afecb367f032d93F642f64180aa3", "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"]

[[rule]]
name = "large-transfer-to-watchlist"
expression = "tx.value > 100e18 && tx.to in watchlist"
severity = "high"
kind = "suspicious"
confidence = 80
description = "{{tx.from}} sent {{tx.value_eth}} ETH to watched {{tx.to}}"
incident = "tx.to"

[[rule]]
name = "flash-loan-swap"
expression = 'tx.events.exists(e, e.name == "FlashLoan") && tx.events.exists(e, e.name == "Swap")'
kind = "exploit"

[[rule]]
name = "mined-reverted-attack"
expression = 'tx.selector == "0xE1FA7638" && !tx.success'

[[rule]]
name = "disabled"
expression = "true"
enabled = false
"#;

fn eval(rules: &mut RuleSet, tx: &Transaction) -> Vec<vigil_detect::Finding> {
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
    rules.inspect(tx, &cx, &mut out);
    out
}

#[test]
fn rules_load_and_fire_with_rendered_descriptions() {
    let mut rules = RuleSet::load([("watch.toml", RULES)]).unwrap();
    assert_eq!(rules.len(), 3);
    let plan: Vec<&str> = rules.plan().iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(plan, vec!["to (2 addresses)", "event FlashLoan", "selector (1)"]);

    let watched: vigil_core::EvmAddress =
        "0x5FbDB2315678afecb367f032d93F642f64180aa3".parse().unwrap();
    let tx = TxB::new(1).from(a(0x11)).to(Some(watched)).value(eth(150)).pending(5);
    let f = eval(&mut rules, &tx);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detector, "rule:large-transfer-to-watchlist");
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].confidence, 80);
    assert_eq!(
        f[0].description,
        "0x1111111111111111111111111111111111111111 sent 150 ETH to watched 0x5fbdb2315678afecb367f032d93f642f64180aa3"
    );
    assert_eq!(f[0].incident, "0x5fbdb2315678afecb367f032d93f642f64180aa3");
    // Under the threshold, or not on the list: nothing.
    assert!(eval(&mut rules, &TxB::new(2).to(Some(watched)).value(eth(100)).pending(5)).is_empty());
    assert!(eval(&mut rules, &TxB::new(3).to(Some(a(1))).value(eth(1000)).pending(5)).is_empty());

    // Events.
    let tx = TxB::new(4).mined(
        3,
        vec![
            flash_loan(a(0xa0), a(0xc0), a(0x70), U256::from(5)),
            transfer(a(0x70), a(1), a(2), U256::from(1)),
        ],
    );
    assert!(eval(&mut rules, &tx).is_empty(), "no Swap event");

    // Selector literal in upper case still matches; and the rule needs a revert.
    let call = abi::attackCall { flashAmount: eth(1), swapAmount: eth(1) };
    let ok = TxB::new(5).call(call.clone()).mined_with(3, true, vec![], None);
    assert!(eval(&mut rules, &ok).is_empty());
    let reverted = TxB::new(6).call(call).mined_with(3, false, vec![], None);
    let f = eval(&mut rules, &reverted);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].detector, "rule:mined-reverted-attack");
    assert_eq!(f[0].kind, AlertKind::Suspicious);
    assert_eq!(f[0].description, "Rule mined-reverted-attack matched");
}

#[test]
fn rules_without_a_usable_condition_run_on_every_transaction() {
    let mut rules = RuleSet::load([(
        "all.toml",
        r#"
        [[rule]]
        name = "creation"
        expression = "tx.created != null || tx.input_size > 10000"
        [[rule]]
        name = "label"
        expression = "tx.flagged && size(tx.labels) > 0"
        "#,
    )])
    .unwrap();
    assert_eq!(rules.plan()[0].1, "every transaction");
    let tx = TxB::new(1).to(None).mined_with(2, true, vec![], Some(created(a(9), vec![0])));
    assert_eq!(eval(&mut rules, &tx).len(), 1);
    assert!(eval(&mut rules, &TxB::new(2).pending(1)).is_empty());
}

#[test]
fn evaluation_errors_are_counted_not_fatal() {
    let mut rules = RuleSet::load([(
        "bad.toml",
        r#"
        [[rule]]
        name = "no-such-event-field"
        expression = 'tx.events.exists(e, e.name == "Transfer" && e.nonexistent > 1.0)'
        [[rule]]
        name = "not-a-bool"
        expression = "tx.value"
        "#,
    )])
    .unwrap();
    let tx = TxB::new(1).value(eth(1)).mined(2, vec![transfer(a(0x70), a(1), a(2), U256::from(1))]);
    assert!(eval(&mut rules, &tx).is_empty());
    let (count, last) = rules.evaluation_errors();
    assert_eq!(count, 2);
    assert!(last.unwrap().contains("not-a-bool"), "{last:?}");
}

#[test]
fn bad_rule_files_fail_at_load_with_the_rule_name() {
    let cases = [
        ("[[rule]]\nname = \"syntax\"\nexpression = \"tx.value >\"", "syntax"),
        ("[[rule]]\nname = \"unknown-list\"\nexpression = \"tx.to in watchlst\"", "watchlst"),
        (
            "[[rule]]\nname = \"bad-checksum\"\nexpression = 'tx.to == \"0x5FbDB2315678afecb367f032d93F642f64180aA3\"'",
            "checksum",
        ),
        ("[[rule]]\nname = \"bad-fn\"\nexpression = \"sizeof(tx.input) > 1\"", "sizeof"),
        ("[[rule]]\nname = \"conf\"\nexpression = \"true\"\nconfidence = 101", "101"),
        ("[[rule]]\nname = \"Bad Name\"\nexpression = \"true\"", "rule name"),
        (
            "[[rule]]\nname = \"tmpl\"\nexpression = \"true\"\ndescription = \"{{ tx.nope }}\"",
            "nope",
        ),
    ];
    for (text, needle) in cases {
        let err = RuleSet::load([("r.toml", text)]).unwrap_err().to_string();
        assert!(err.contains("r.toml"), "{err}");
        assert!(err.contains(needle), "{needle}: {err}");
    }
}

const TOKEN_ABI: &str = r#"[
  {"type":"function","name":"transfer","stateMutability":"nonpayable",
   "inputs":[{"name":"to","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[]},
  {"type":"event","name":"Transfer","anonymous":false,"inputs":[
   {"name":"from","type":"address","indexed":true},{"name":"to","type":"address","indexed":true},
   {"name":"value","type":"uint256","indexed":false}]}
]"#;

#[test]
fn declared_contracts_decode_calls_and_events_by_their_abi() {
    let token = a(0x70);
    let text = format!(
        r#"
[[contract]]
address = "{token}"
abi_json = '''{TOKEN_ABI}'''

[[rule]]
name = "big-transfer-call"
expression = "tx.function != null && tx.function.signature == 'transfer(address,uint256)' && tx.function.args.amount > 1000.0 && tx.function.args[0] == '{to}'"
metadata = {{ amount = "tx.function.args.amount", selector = "tx.function.selector" }}

[[rule]]
name = "big-transfer-event"
expression = "tx.abi_events.exists(e, e.address == '{token}' && e.signature == 'Transfer(address,address,uint256)' && e.args.value > 1e21)"
metadata = {{ value = "tx.abi_events[0].texts.value", from = "tx.abi_events[0].args[0]" }}

[[rule]]
name = "case-insensitive"
expression = "tx.input_hex.lower().startsWith('0xa9059cbb') && tx.gas_price > 1e9"
"#,
        token = token,
        to = a(0x42),
    );
    let mut rules = RuleSet::load([("abi.toml", text.as_str())]).unwrap();
    let plan: Vec<&str> = rules.plan().iter().map(|(_, p)| p.as_str()).collect();
    assert_eq!(plan, vec!["every transaction", "log from (1 addresses)", "every transaction"]);

    let call = abi::transferCall { to: al(a(0x42)), amount: U256::from(5000u64) };
    let big = U256::from(10u64).pow(U256::from(21)) + U256::from(1u64 << 20);
    let tx = TxB::new(1)
        .to(Some(token))
        .call(call)
        .pending(0)
        .with_gas(vigil_detect::Gas { limit: 60_000, price: 2_000_000_000, ..Default::default() })
        .into_mined(block_ref(1), 0, true, 50_000, vec![transfer(token, a(1), a(2), big)], None);
    let found = eval(&mut rules, &tx);
    let names: Vec<&str> = found.iter().map(|f| f.detector.as_str()).collect();
    assert_eq!(
        names,
        vec!["rule:big-transfer-call", "rule:big-transfer-event", "rule:case-insensitive"]
    );
    assert_eq!(found[0].metadata["amount"], "5000");
    assert_eq!(found[0].metadata["selector"], "0xa9059cbb");
    assert_eq!(found[1].metadata["value"], "1000000000000001048576");
    assert_eq!(found[1].metadata["from"], a(1).to_string().to_lowercase());

    // The same call to an undeclared contract, and a small event: nothing.
    let other = TxB::new(2)
        .to(Some(a(0x71)))
        .call(abi::transferCall { to: al(a(0x42)), amount: U256::from(5000u64) })
        .mined(1, vec![transfer(token, a(1), a(2), U256::from(5u64))]);
    assert!(eval(&mut rules, &other).is_empty(), "{:?}", eval(&mut rules, &other));
    assert_eq!(rules.evaluation_errors().0, 0, "{:?}", rules.evaluation_errors());
}

#[test]
fn contract_declarations_are_checked() {
    let bad = [
        ("[[contract]]\naddress = \"0x12\"\nabi_json = '[]'", "contract \"0x12\""),
        (
            "[[contract]]\naddress = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\nabi_json = '[{'",
            "not JSON",
        ),
        (
            "[[contract]]\naddress = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\nabi = 'x.json'",
            "cannot be read here",
        ),
        (
            "[[contract]]\naddress = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"",
            "exactly one of",
        ),
        (
            "[[rule]]\nname = \"m\"\nexpression = \"true\"\nmetadata = { rule = \"1\" }",
            "metadata key",
        ),
        ("[[rule]]\nname = \"m\"\nexpression = \"true\"\nmetadata = { k = \"tx.nope\" }", "nope"),
    ];
    for (text, needle) in bad {
        let err = RuleSet::load([("c.toml", text)]).unwrap_err().to_string();
        assert!(err.contains(needle) && err.contains("c.toml"), "{err}");
    }
    let read = RuleSet::load_with(
        [("d.toml", "[[contract]]\naddress = \"0x5fbdb2315678afecb367f032d93f642f64180aa3\"\nabi = 'x.json'")],
        |file, path| {
            assert_eq!((file, path), ("d.toml", "x.json"));
            Ok(TOKEN_ABI.to_owned())
        },
    )
    .unwrap();
    assert_eq!(read.contracts().addresses().count(), 1);
}
