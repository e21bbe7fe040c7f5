//! A full report → attest → verdict → reputation flow through the CLI, and `check`.

use std::time::Duration;

use crate::harness::{TestNode, eventually};

/// The Ronin bridge exploiter (on the OFAC list).
const RONIN: &str = "0x098B716B8Aaf21512996dC57EB0615e2383E2f96";

#[test]
fn report_attest_verdict_reputation_and_check_through_the_cli() {
    let mut node = TestNode::start(200, true);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let status = node.cli_json(&["status"]);
    assert_eq!(status["chain_id"], "vigil-itest");

    let before = node.cli_json(&["check", RONIN]);
    assert_eq!(before["flagged"], false);

    let submitted = node.cli(&[
        "report",
        "submit",
        "--indicator",
        RONIN,
        "--indicator",
        "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        "--severity",
        "critical",
        "--category",
        "exploit",
        "--summary",
        "Ronin bridge exploiter",
        "--evidence",
        "https://rekt.news/ronin-rekt/",
        "--protocol",
        "ronin",
        "--bond",
        "25",
        "--key",
        &key("alice"),
    ]);
    let stdout = String::from_utf8_lossy(&submitted.stdout).into_owned();
    assert!(submitted.status.success(), "{}", String::from_utf8_lossy(&submitted.stderr));
    assert!(stdout.contains("committed at height"), "{stdout}");
    let report_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("report "))
        .expect("the CLI prints the report id")
        .trim()
        .to_owned();

    // 5,000 VGL are bonded and the quorum is 10%: 500 of weight, i.e. 1,000 VGL of stake from
    // newcomers whose reputation counts one half.
    for (who, stance, stake) in
        [("bob", "--confirm", "600"), ("carol", "--confirm", "600"), ("dave", "--dispute", "50")]
    {
        let out = node.cli_json(&[
            "report",
            "attest",
            &report_id,
            stance,
            "--stake",
            stake,
            "--key",
            &key(who),
        ]);
        assert_eq!(out["status"], "committed", "{out}");
        assert!(out["result"]["outcome"].get("Ok").is_some(), "{out}");
    }
    // A second attestation by the same account is refused with a reason.
    let again = node.cli(&[
        "report",
        "attest",
        &report_id,
        "--dispute",
        "--stake",
        "1",
        "--key",
        &key("bob"),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already attested"));

    assert!(
        eventually(
            Duration::from_secs(15),
            || node.cli_json(&["report", "show", &report_id])["status"] == "confirmed"
        ),
        "report was not confirmed: {}",
        node.cli_json(&["report", "show", &report_id])
    );
    let report = node.cli_json(&["report", "show", &report_id]);
    assert_eq!(report["attestations"].as_array().unwrap().len(), 3);
    assert!(report["settlement"]["slashed"].as_u64().unwrap() > 0);

    let alice = node.cli_json(&["account", "--key", &key("alice")]);
    assert!(alice["reputation_score"].as_u64().unwrap() > 50, "{alice}");
    let dave = node.cli_json(&["account", "--key", &key("dave")]);
    assert!(dave["reputation_score"].as_u64().unwrap() < 50, "{dave}");
    assert!(dave["bonded"].as_u64().unwrap() < 1_000_000_000, "dave was slashed: {dave}");

    // Flagged now, in any case of the address, and on a chain-scoped query.
    let check = node.cli_json(&["check", &RONIN.to_lowercase()]);
    assert_eq!(check["flagged"], true, "{check}");
    assert!(check["confidence"].as_u64().unwrap() > 50);
    let scoped = node.cli_json(&["check", &format!("eip155:1:{RONIN}")]);
    assert_eq!(scoped["flagged"], true);
    let text = node.cli(&["check", RONIN]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("FLAGGED"));

    // Transfers, bonds and unbonds through the CLI.
    let bob = node.key("bob").account_id().to_string();
    let out =
        node.cli_json(&["tx", "transfer", "--to", &bob, "--amount", "1.5", "--key", &key("alice")]);
    assert_eq!(out["status"], "committed");
    let out = node.cli_json(&["tx", "unbond", "--amount", "10", "--key", &key("carol")]);
    assert_eq!(out["status"], "committed");
    let carol = node.cli_json(&["account", "--key", &key("carol")]);
    assert_eq!(carol["unbonding"].as_array().unwrap().len(), 1);

    // The event stream and metrics are served.
    let metrics = reqwest::blocking::get(format!("{}/metrics", node.url)).unwrap().text().unwrap();
    assert!(metrics.contains("vigil_height"), "{metrics}");
    assert!(metrics.contains("vigil_tx_accepted_total"));
    assert!(metrics.contains("vigil_http_request_seconds"));

    // SIGTERM stops the node cleanly.
    let status = node.terminate();
    assert!(status.success(), "exit status {status}; log:\n{}", node.log());
    assert!(node.log().contains("node stopped cleanly"));
}
