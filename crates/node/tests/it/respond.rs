//! The respond loop through the CLI: register a protocol, trip its breaker, fail to reset it
//! with one guardian, reset it with two, govern, and read its cost of corruption.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use vigil_node::respond::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

use crate::harness::{TestNode, eventually};

/// A receiver of signed webhooks on loopback, in its own thread.
fn webhook_receiver() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let sink = Arc::clone(&got);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let sink = Arc::clone(&sink);
                        async move {
                            let ts = headers[TIMESTAMP_HEADER].to_str().unwrap().parse().unwrap();
                            let sig = headers[SIGNATURE_HEADER].to_str().unwrap();
                            assert!(
                                verify(b"respond-test-secret", ts, &body, sig),
                                "bad signature"
                            );
                            sink.lock().push(serde_json::from_slice(&body).unwrap());
                            axum::http::StatusCode::OK
                        }
                    },
                ),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}/hook", listener.local_addr().unwrap())).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (rx.recv().unwrap(), got)
}

#[test]
fn protocol_breaker_and_governance_through_the_cli() {
    let (hook, received) = webhook_receiver();
    let extra = format!(
        "[[respond.webhooks]]\nurl = \"{hook}\"\nformat = \"json\"\nsecret_env = \"VIGIL_TEST_WEBHOOK_SECRET\"\nevents = [\"breaker\"]\n"
    );
    let node = TestNode::start_with(
        150,
        true,
        &extra,
        &[("VIGIL_TEST_WEBHOOK_SECRET", "respond-test-secret")],
    );
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let id = |n: &str| node.key(n).account_id().to_string();
    let file = node.dir.path().join("protocol.toml");
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/protocol.toml"
    ))
    .unwrap();
    let spec = template
        .replace("<guardian account 1>", &id("bob"))
        .replace("<guardian account 2>", &id("carol"))
        .replace("<guardian account 3>", &id("dave"))
        .replace("<monitor account>", &id("alice"));
    std::fs::write(&file, spec).unwrap();

    let out = node.cli_json(&[
        "protocol",
        "register",
        "--file",
        file.to_str().unwrap(),
        "--bounty",
        "100",
        "--key",
        &key("alice"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
    let shown = node.cli_json(&["protocol", "show", "lendingvault"]);
    assert_eq!(shown["breaker"]["state"], "armed");
    assert_eq!(shown["bounty_pool"], 100_000_000);

    // Security: 5,000 VGL bonded; guardians bond 1,000 each, 2 of 3 → 2,000 on the guardian path.
    let s = node.cli_json(&["protocol", "security", "lendingvault"]);
    assert_eq!(s["guardian_path_cost"], 2_000_000_000u64);
    assert_eq!(
        s["stable"], false,
        "1,000,000 VGL protected by controls that cost 2,000 VGL to corrupt: {s}"
    );
    // γ = 2,000 / 1,000,000 − 1 = −0.998: no loss bound, and the CLI says so loudly.
    assert_eq!(s["margin_bps"], -9_980, "{s}");
    assert!(s["warning"].as_str().unwrap().contains("γ ≤ 0"), "{s}");
    let shocked = node.cli_json(&["protocol", "security", "lendingvault", "--shock", "5000"]);
    assert_eq!(shocked["shock"], 5_000_000_000u64, "{shocked}");
    assert!(shocked["loss_bound"].is_null(), "{shocked}");
    let text = node.cli(&["protocol", "security", "lendingvault", "--shock", "5000"]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("NO:") && stdout.contains("margin γ                 -0.9980"),
        "{stdout}"
    );
    assert!(stdout.contains("none: γ ≤ 0"), "{stdout}");
    assert!(String::from_utf8_lossy(&text.stderr).contains("WARNING: γ ≤ 0"));
    let bad = node.cli(&["protocol", "security", "lendingvault", "--shock", "lots"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lots"));

    // Alice is no guardian; bob trips it.
    let refused =
        node.cli(&["breaker", "trip", "lendingvault", "--reason", "x", "--key", &key("alice")]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a guardian"));
    node.cli_json(&[
        "breaker",
        "trip",
        "lendingvault",
        "--reason",
        "outflow spike",
        "--key",
        &key("bob"),
    ]);
    let b = node.cli_json(&["breaker", "show", "lendingvault"]);
    assert_eq!(b[0]["tripped"], true, "{b}");
    // The node's policy engine sent a signed webhook for the trip.
    assert!(eventually(Duration::from_secs(5), || !received.lock().is_empty()), "no webhook");
    let delivered = received.lock()[0].clone();
    assert_eq!(delivered["incident"]["kind"], "breaker_tripped", "{delivered}");
    assert_eq!(delivered["incident"]["action"]["calldata"], "0x8456cb59");
    // One approval is not enough; two re-arm it.
    node.cli_json(&["breaker", "approve-reset", "lendingvault", "--key", &key("carol")]);
    assert_eq!(node.cli_json(&["breaker", "show", "lendingvault"])[0]["tripped"], true);
    node.cli_json(&["breaker", "approve-reset", "lendingvault", "--key", &key("dave")]);
    assert_eq!(node.cli_json(&["breaker", "show", "lendingvault"])[0]["tripped"], false);
    assert!(eventually(Duration::from_secs(5), || received.lock().len() == 2));
    assert_eq!(received.lock()[1]["incident"]["kind"], "breaker_reset");

    // Governance: a parameter change proposed, voted, executed after the timelock.
    node.cli_json(&[
        "gov",
        "propose",
        "--param",
        "min_report_bond=25000000",
        "--description",
        "raise the report bond",
        "--key",
        &key("alice"),
    ]);
    for who in ["alice", "bob", "carol", "dave"] {
        node.cli_json(&["gov", "vote", "1", "--choice", "yes", "--key", &key(who)]);
    }
    assert!(
        eventually(Duration::from_secs(15), || node.cli_json(&["gov", "show", "1"])["status"]
            == "executed"),
        "{}",
        node.cli_json(&["gov", "show", "1"])
    );
    let params: serde_json::Value =
        reqwest::blocking::get(format!("{}/v1/params", node.url)).unwrap().json().unwrap();
    assert_eq!(params["params"]["min_report_bond"], 25_000_000);
    let bad = node.cli(&[
        "gov",
        "propose",
        "--param",
        "no_such=1",
        "--description",
        "x",
        "--key",
        &key("alice"),
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown parameter"));
}
