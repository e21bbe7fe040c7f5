//! Issue 18 on one node watching anvil: shared rule files as report content, through the CLI.
//! A rule file that does not compile, costs too much or is oversized is refused with the
//! reason; two reports carrying rule files are confirmed and both rules fire on the chain's
//! transactions; a governance proposal revokes one and it stops firing while the other goes on;
//! restarted, the node loads exactly the rule that is still in force.

use std::path::Path;
use std::time::Duration;

use alloy::primitives::address;
use serde_json::Value;
use vigil_chain::scenario::{DEPLOYER, DevChain, e18};

use crate::harness::{TestNode, anvil, eventually};

/// A rule file with one rule named `name` firing on transfers of at least `eth` ether.
fn rule_file(dir: &Path, name: &str, eth: u32) -> String {
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "[[rule]]\nname = \"{name}\"\nexpression = \"tx.value >= {eth}e18\"\n\
             severity = \"high\"\nkind = \"suspicious\"\nconfidence = 80\n\
             description = \"{{{{tx.from}}}} moved {{{{tx.value_eth}}}} ETH\"\n"
        ),
    )
    .unwrap();
    path.to_string_lossy().into_owned()
}

fn refused(node: &TestNode, args: &[&str]) -> String {
    let out = node.cli(args);
    assert!(!out.status.success(), "vigil {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The node's items by rule name (from `vigil rules show`).
fn item_of(node: &TestNode, items: &[Value], rule: &str) -> Option<Value> {
    items.iter().find_map(|i| {
        let shown = node.cli_json(&["rules", "show", i["id"].as_str()?]);
        let source = shown["detection"]["source"].as_str()?;
        source.contains(&format!("name = \"{rule}\"")).then_some(shown)
    })
}

fn items(node: &TestNode) -> Vec<Value> {
    node.cli_json(&["rules", "list"])["items"].as_array().cloned().unwrap_or_default()
}

/// The transactions shared rule `rule` raised alerts on (pending and mined: one each).
fn fired(node: &TestNode, rule: &str) -> std::collections::BTreeSet<String> {
    let url = format!("{}/v1/alerts?limit=1000", node.url);
    let alerts: Value = reqwest::blocking::get(url).unwrap().json().unwrap();
    alerts["alerts"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["alert"]["payload"]["detector"] == format!("shared:{rule}").as_str())
        .filter_map(|r| r["alert"]["payload"]["tx"]["hash"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn shared_rules_are_checked_confirmed_fire_revoked_and_reloaded_exactly_after_a_restart() {
    let Some(anvil) = anvil() else { return };
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = rt.block_on(DevChain::start(&anvil, 0)).unwrap();
    let rules = tempfile::tempdir().unwrap();
    std::fs::write(rules.path().join("detect.toml"), "cooldown_secs = 0\n").unwrap();
    let extra = format!(
        "[watch]\nrpc = \"{}\"\nrules_dir = \"{}\"\npoll_interval = 100\n",
        chain.ws(),
        rules.path().display()
    );
    let mut node = TestNode::start_with(200, true, &extra, &[]);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let dir = tempfile::tempdir().unwrap();

    // Refused with the reason: does not compile, costs too much, too large.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[rule]]\nname = \"broken\"\nexpression = \"tx.nonexistent > 1\"\n")
        .unwrap();
    let why = refused(&node, &["rules", "check", broken.to_str().unwrap()]);
    assert!(why.contains("tx has no field `nonexistent`"), "{why}");
    let costly = dir.path().join("costly.toml");
    std::fs::write(
        &costly,
        "[[rule]]\nname = \"costly\"\nexpression = \
         \"tx.calls.exists(a, tx.calls.exists(b, tx.calls.exists(c, a.to == b.to && b.to == c.to)))\"\n",
    )
    .unwrap();
    let why = refused(&node, &["rules", "check", costly.to_str().unwrap()]);
    assert!(why.contains("above the limit of 4096"), "{why}");
    let huge = dir.path().join("huge.toml");
    let padding = "# padding\n".repeat(2_000);
    std::fs::write(&huge, format!("{padding}[[rule]]\nname = \"huge\"\nexpression = \"true\"\n"))
        .unwrap();
    let why = refused(&node, &["rules", "check", huge.to_str().unwrap()]);
    assert!(why.contains("a rule file is 1 to 16384 bytes"), "{why}");
    let submit = |file: &str, summary: &str| {
        let out = node.cli_json(&[
            "report",
            "submit",
            "--rule",
            file,
            "--severity",
            "high",
            "--category",
            "exploit",
            "--summary",
            summary,
            "--bond",
            "10",
            "--key",
            &key("alice"),
        ]);
        assert_eq!(out["status"], "committed", "{out}");
    };
    let why = refused(
        &node,
        &[
            "report",
            "submit",
            "--rule",
            broken.to_str().unwrap(),
            "--severity",
            "high",
            "--category",
            "exploit",
            "--summary",
            "broken",
            "--bond",
            "10",
            "--key",
            &key("alice"),
        ],
    );
    assert!(why.contains("tx has no field `nonexistent`"), "{why}");

    // Two reports with rule files, confirmed.
    let big = rule_file(dir.path(), "big-transfer", 5);
    let any = rule_file(dir.path(), "any-transfer", 1);
    submit(&big, "Transfers of 5 ETH or more from the drainer's wallets");
    submit(&any, "Transfers of 1 ETH or more from the drainer's wallets");
    let reports = node.cli_json(&["report", "list"]);
    for r in reports["reports"].as_array().unwrap() {
        let id = r["id"].as_str().unwrap();
        for who in ["bob", "carol", "dave"] {
            node.cli_json(&[
                "report",
                "attest",
                id,
                "--confirm",
                "--stake",
                "450",
                "--key",
                &key(who),
            ]);
        }
    }
    assert!(
        eventually(Duration::from_secs(20), || {
            let now = items(&node);
            now.len() == 2 && now.iter().all(|i| i["state"] == "in_force")
        }),
        "both rule files in force: {:?}",
        items(&node)
    );
    let now = items(&node);
    let big_item = item_of(&node, &now, "big-transfer").unwrap();
    assert_eq!(big_item["origin"]["type"], "report", "{big_item}");

    // The ledger's STIX export carries both rule files as `vigil-cel` indicators, and a report
    // submitted from that bundle carries the same items.
    let bundle = dir.path().join("ledger.json");
    let out = node.cli(&["stix", "export", "--no-book", "--out", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let exported: Value = serde_json::from_str(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    let cel = exported["objects"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["pattern_type"] == "vigil-cel")
        .count();
    assert_eq!(cel, 2, "{exported}");
    let out = node.cli_json(&[
        "report",
        "submit",
        "--detection-from-stix",
        bundle.to_str().unwrap(),
        "--severity",
        "high",
        "--category",
        "exploit",
        "--summary",
        "The same rules, from STIX",
        "--bond",
        "10",
        "--key",
        &key("dave"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
    let reports = node.cli_json(&["report", "list"]);
    let again = reports["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["summary"] == "The same rules, from STIX")
        .unwrap();
    let url = format!("{}/v1/reports/{}", node.url, again["id"].as_str().unwrap());
    let shown: Value = reqwest::blocking::get(url).unwrap().json().unwrap();
    let ids: std::collections::BTreeSet<String> = shown["report"]["detection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            serde_json::from_value::<vigil_core::Detection>(d.clone()).unwrap().id().to_string()
        })
        .collect();
    let listed: std::collections::BTreeSet<String> =
        items(&node).iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids, listed, "the bundle's rule files are the items in force");

    // Both fire on a 6 ETH transfer.
    let to = address!("00000000000000000000000000000000000000aa");
    let transfer = |eth: u64| {
        rt.block_on(chain.exec(DEPLOYER, Some(to), e18(eth), vec![])).unwrap();
    };
    transfer(6);
    assert!(
        eventually(Duration::from_secs(15), || {
            fired(&node, "big-transfer").len() == 1 && fired(&node, "any-transfer").len() == 1
        }),
        "both shared rules fired once; log:\n{}",
        node.log()
    );
    let big_id = big_item["id"].as_str().unwrap().to_owned();
    // One alert on the pending transaction, one on the mined one.
    let listed = items(&node);
    assert!(listed.iter().any(|i| i["id"] == big_id.as_str() && i["hits"] == 2), "{listed:?}");

    // Revoked by governance: it stops firing, the other does not.
    node.cli_json(&[
        "gov",
        "propose",
        "--revoke-detection",
        &big_id,
        "--description",
        "the big-transfer rule fires on the treasury's own payouts",
        "--key",
        &key("alice"),
    ]);
    let proposal = "1";
    for who in ["alice", "bob", "carol", "dave"] {
        node.cli_json(&["gov", "vote", proposal, "--choice", "yes", "--key", &key(who)]);
    }
    assert!(
        eventually(Duration::from_secs(20), || {
            items(&node).iter().any(|i| i["id"] == big_id.as_str() && i["state"] == "revoked")
        }),
        "revoked: {:?}",
        node.cli_json(&["gov", "show", proposal])
    );
    transfer(7);
    assert!(
        eventually(Duration::from_secs(15), || fired(&node, "any-transfer").len() == 2),
        "the rule in force fired again"
    );
    assert_eq!(fired(&node, "big-transfer").len(), 1, "the revoked rule no longer fires");
    let shown = node.cli(&["rules", "list"]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains(&format!("revoked by proposal:{proposal}")), "{text}");

    // Restarted: exactly the rule in force is loaded again.
    node.terminate();
    node.spawn();
    let after = items(&node);
    assert_eq!(after.len(), 2, "{after:?}");
    let state_of = |id: &str| after.iter().find(|i| i["id"] == id).map(|i| i["state"].clone());
    assert_eq!(state_of(&big_id), Some(Value::from("revoked")));
    let any_id = item_of(&node, &after, "any-transfer").unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(state_of(&any_id), Some(Value::from("in_force")));
    transfer(8);
    assert!(
        eventually(Duration::from_secs(15), || fired(&node, "any-transfer").len() == 1),
        "after the restart the rule in force fires; log:\n{}",
        node.log()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(fired(&node, "big-transfer").is_empty(), "the revoked rule stays unloaded");
}
