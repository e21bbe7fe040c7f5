//! Audit streams through the CLI on a node: open, accrue per block, claim, pause, restart,
//! close with refund; `stream show` and `stream list` say what is owed; refusals say why.

use std::time::Duration;

use crate::harness::{TestNode, eventually};

#[test]
fn an_audit_stream_pays_per_block_through_the_cli() {
    let node = TestNode::start(200, true);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let bob = node.key("bob").account_id().to_string();
    let out = node.cli_json(&[
        "stream",
        "open",
        "--to",
        &bob,
        "--rate",
        "1",
        "--deposit",
        "20",
        "--key",
        &key("alice"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
    let show = || node.cli_json(&["stream", "show", "1"]);
    let opened = show();
    assert_eq!(opened["status"], "streaming", "{opened}");
    assert_eq!(opened["balance"], 20_000_000u64);
    // Accrues 1 VGL per block.
    assert!(eventually(Duration::from_secs(10), || show()["debt"].as_u64() >= Some(5_000_000)));
    // Only the recipient claims.
    let refused = node.cli(&["stream", "claim", "1", "--key", &key("carol")]);
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("it is the recipient's to do"), "{why}");
    let out = node.cli_json(&["stream", "claim", "1", "--key", &key("bob")]);
    assert_eq!(out["status"], "committed", "{out}");
    let after = show();
    let withdrawn = after["withdrawn"].as_u64().unwrap();
    assert!(withdrawn >= 5_000_000, "{after}");
    assert_eq!(after["balance"].as_u64().unwrap(), 20_000_000 - withdrawn);
    // Paused: the debt stops growing.
    node.cli_json(&["stream", "pause", "1", "--key", &key("alice")]);
    let paused = show()["debt"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(show()["debt"].as_u64().unwrap(), paused, "no accrual while paused");
    node.cli_json(&["stream", "restart", "1", "--rate", "0.5", "--key", &key("alice")]);
    assert_eq!(show()["rate"], 500_000u64);
    // Closed: the refund goes back to alice, what is owed stays for bob.
    let out = node.cli_json(&["stream", "close", "1", "--key", &key("alice")]);
    assert_eq!(out["status"], "committed", "{out}");
    let closed = show();
    assert_eq!(closed["status"], "closed");
    assert_eq!(closed["refundable"], 0u64, "{closed}");
    assert_eq!(closed["balance"], closed["debt"], "{closed}");
    let text = node.cli(&["stream", "list"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("stream 1 closed"), "{text}");
}
