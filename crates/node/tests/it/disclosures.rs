//! Disclosures and recovery bounties end to end through the CLI on a node: a researcher
//! discloses; only the protocol's key decrypts (a third key fails, the API never returns the
//! plaintext); the commitment is on the ledger; acceptance pays the tier; a downgrade without
//! a reason is refused; an escalation is decided by a vote and paid; a reveal after the
//! deadline publishes a STIX vulnerability and a wrong one fails; bad uploads (tampered,
//! oversized, not a disclosure) are refused and change nothing; a recovery claim is paid once.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use vigil_core::{Amount, ContentId, Severity, TxBody};

use crate::harness::{TestNode, eventually, python};

const REPORT: &str =
    "# Reentrancy in Vault.withdraw()\n\nwithdraw() sends ETH before zeroing the balance.\n";

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn balance(node: &TestNode, name: &str) -> u64 {
    let v = node.cli_json(&["account", &node.key(name).account_id().to_string()]);
    v["balance"].as_u64().unwrap()
}

fn register(node: &TestNode, recipient: &str) {
    let alice = node.key("alice").account_id();
    let file = node.dir.path().join("protocol.toml");
    std::fs::write(
        &file,
        format!(
            r#"id = "vault"
name = "Vault"
chain = 31337
contracts = ["0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"]
guardians = ["{alice}"]
threshold = 1
protected_value = "1000000"

[policy]
min_severity = "high"
min_confidence = 60
monitors = []

[policy.action]
target = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9"
calldata = "0x8456cb59"
reset_calldata = "0x3f4ba83a"

[bounty]
recipients = ["{recipient}"]
critical_floor = "50"
critical_cap = "400"
high = "40"
medium = "10"
low = "2"

[safe_harbor]
cap_per_whitehat = "100"
cap_total = "150"
"#
        ),
    )
    .unwrap();
    let key = node.key_path("alice");
    let out = node.cli_json(&[
        "protocol",
        "register",
        "--file",
        file.to_str().unwrap(),
        "--bounty",
        "1000",
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
}

fn keygen(node: &TestNode, name: &str) -> (String, String) {
    let path = node.dir.path().join(format!("{name}.age"));
    let out = node.cli(&["disclosure", "keygen", "--out", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a disclosure identity is readable by its owner only");
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(public.starts_with("age1"), "{public}");
    (path.to_string_lossy().into_owned(), public)
}

/// `vigil disclose` as `who` with `report`; returns the disclosure id and the receipt path.
fn disclose(
    node: &TestNode,
    who: &str,
    report: &str,
    severity: &str,
    at_risk: &str,
) -> (u64, String) {
    let file = node.dir.path().join(format!("{who}-{severity}.md"));
    std::fs::write(&file, report).unwrap();
    let key = node.key_path(who);
    let out = node.cli_json(&[
        "disclose",
        "--protocol",
        "vault",
        "--file",
        file.to_str().unwrap(),
        "--severity",
        severity,
        "--funds-at-risk",
        at_risk,
        "--key",
        key.to_str().unwrap(),
    ]);
    let receipt = out["receipt"].as_str().unwrap().to_owned();
    let mode = std::fs::metadata(&receipt).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the receipt holds the salt");
    (out["disclosure"].as_u64().expect("a disclosure id"), receipt)
}

fn show(node: &TestNode, id: u64) -> Value {
    node.cli_json(&["disclosure", "show", &id.to_string()])
}

fn vote_yes(node: &TestNode, proposal: u64) {
    for who in ["node", "carol", "dave"] {
        let key = node.key_path(who);
        let out = node.cli_json(&[
            "gov",
            "vote",
            &proposal.to_string(),
            "--choice",
            "yes",
            "--key",
            key.to_str().unwrap(),
        ]);
        assert_eq!(out["status"], "committed", "{out}");
    }
}

#[test]
fn a_disclosure_is_encrypted_committed_paid_escalated_and_revealed_through_the_cli() {
    let node = TestNode::start(150, true);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let (protocol_identity, recipient) = keygen(&node, "protocol");
    let (stranger_identity, _) = keygen(&node, "stranger");
    register(&node, &recipient);

    // Bob discloses a critical finding with 2,000 VGL at risk.
    let bob_before = balance(&node, "bob");
    let (first, _) = disclose(&node, "bob", REPORT, "critical", "2000");
    let d = show(&node, first);
    assert_eq!(d["status"], "open", "{d}");
    assert_eq!(d["ciphertext_stored"], true, "{d}");
    let salt_free: ContentId = d["commitment"].as_str().unwrap().parse().unwrap();
    assert_ne!(salt_free, ContentId::of_bytes(REPORT.as_bytes()), "a salted commitment");
    // Nothing the node serves contains the plaintext.
    let http = reqwest::blocking::Client::new();
    for path in [
        "/v1/disclosures",
        &format!("/v1/disclosures/{first}"),
        &format!("/v1/disclosures/{first}/ciphertext"),
    ] {
        let text = http.get(format!("{}{path}", node.url)).send().unwrap().text().unwrap();
        assert!(
            !text.contains("Reentrancy") && !text.contains("withdraw()"),
            "{path} leaks: {text}"
        );
    }
    let stix = http.get(format!("{}/v1/disclosures/{first}/stix", node.url)).send().unwrap();
    assert_eq!(stix.status(), 409, "an embargoed disclosure is not public");

    // Only the protocol's key opens it, and the CLI checks the commitment.
    let out =
        node.cli(&["disclosure", "decrypt", &first.to_string(), "--identity", &protocol_identity]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), REPORT);
    assert!(stderr(&out).contains("commitment verified"), "{}", stderr(&out));
    let out =
        node.cli(&["disclosure", "decrypt", &first.to_string(), "--identity", &stranger_identity]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("cannot decrypt"), "{}", stderr(&out));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Reentrancy"));

    // Acceptance pays the tier: 10% of 2,000 VGL at risk, within 50–400.
    let out = node.cli(&["disclosure", "ack", &first.to_string(), "--key", &key("bob")]);
    assert!(
        !out.status.success() && stderr(&out).contains("only the owner of vault may"),
        "{}",
        stderr(&out)
    );
    let out = node.cli_json(&["disclosure", "ack", &first.to_string(), "--key", &key("alice")]);
    assert_eq!(out["status"], "committed", "{out}");
    assert_eq!(show(&node, first)["paid"], Amount::vgl(200).0);
    assert_eq!(balance(&node, "bob"), bob_before + Amount::vgl(200).0);

    // A downgrade without a reason is refused; with one, the lower tier is paid and the
    // researcher escalates to a vote, which pays the claimed tier.
    let (second, _) = disclose(&node, "bob", "Missing slippage check in swap()", "high", "0");
    let id = second.to_string();
    let out = node.cli(&[
        "disclosure",
        "downgrade",
        &id,
        "--severity",
        "medium",
        "--reason",
        " ",
        "--key",
        &key("alice"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("written reason is required"), "{}", stderr(&out));
    assert_eq!(show(&node, second)["status"], "open", "nothing changed");
    let out = node.cli_json(&[
        "disclosure",
        "downgrade",
        &id,
        "--severity",
        "medium",
        "--reason",
        "needs a malicious keeper",
        "--key",
        &key("alice"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
    let d = show(&node, second);
    assert_eq!(
        (d["status"].as_str(), d["paid"].as_u64()),
        (Some("downgraded"), Some(Amount::vgl(10).0)),
        "{d}"
    );
    assert_eq!(d["reason"], "needs a malicious keeper");
    let out = node.cli_json(&["disclosure", "escalate", &id, "--key", &key("bob")]);
    assert_eq!(out["status"], "committed", "{out}");
    let proposal = show(&node, second)["escalation"].as_u64().unwrap();
    vote_yes(&node, proposal);
    assert!(
        eventually(Duration::from_secs(20), || show(&node, second)["status"] == "upheld"),
        "{}",
        show(&node, second)
    );
    assert_eq!(show(&node, second)["paid"], Amount::vgl(40).0, "the vote paid the high tier");

    // A third finding goes unanswered: a reveal before the deadline, of another text, or by
    // someone else fails; after it, the report becomes a public STIX vulnerability.
    let (third, receipt) = disclose(&node, "carol", REPORT, "low", "0");
    let id = third.to_string();
    let report_file = node.dir.path().join("carol-low.md");
    let reveal = |file: &Path, who: &str| {
        let (file, signer) = (file.to_str().unwrap(), key(who));
        node.cli(&[
            "disclosure",
            "reveal",
            &id,
            "--file",
            file,
            "--receipt",
            &receipt,
            "--key",
            &signer,
        ])
    };
    let refused = |out: std::process::Output, why: &str| {
        assert!(!out.status.success() && stderr(&out).contains(why), "{}", stderr(&out));
    };
    refused(reveal(&report_file, "carol"), "to answer");
    let deadline = show(&node, third)["deadline"].as_u64().unwrap();
    assert!(eventually(Duration::from_secs(20), || show(&node, third)["height"].as_u64()
        > Some(deadline)));
    let other = node.dir.path().join("other.md");
    std::fs::write(&other, "something else").unwrap();
    refused(reveal(&other, "carol"), "is not the report committed");
    refused(reveal(&report_file, "dave"), "only its researcher may");
    let out = reveal(&report_file, "carol");
    assert!(out.status.success(), "{}", stderr(&out));
    let d = show(&node, third);
    assert_eq!((d["status"].as_str(), d["revealed"].as_str()), (Some("revealed"), Some(REPORT)));
    let bundle: Value = http
        .get(format!("{}/v1/disclosures/{third}/stix", node.url))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let vulnerability = bundle["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["type"] == "vulnerability")
        .cloned()
        .unwrap();
    assert_eq!(vulnerability["description"], REPORT);
    assert!(vulnerability["name"].as_str().unwrap().contains("Reentrancy in Vault.withdraw()"));
    if let Some(python) = python() {
        let path = node.dir.path().join("vulnerability.json");
        std::fs::write(&path, bundle.to_string()).unwrap();
        let validator =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../intel/tests/py/validate_stix.py");
        let out = std::process::Command::new(python).arg(validator).arg(&path).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(out.status.success() && text.contains(": valid"), "stix2-validator:\n{text}");
    }
    let text =
        String::from_utf8(node.cli(&["disclosure", "list", "--protocol", "vault"]).stdout).unwrap();
    assert!(
        text.contains("disclosure 3 revealed") && text.contains("disclosure 1 accepted"),
        "{text}"
    );
}

#[test]
fn bad_disclosure_uploads_and_double_recovery_claims_are_refused_and_change_nothing() {
    let node = TestNode::start(150, true);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let (_, recipient) = keygen(&node, "protocol");
    register(&node, &recipient);
    let client = node.client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bob = node.key("bob");
    let ciphertext = {
        let envelope = vigil_core::DisclosureEnvelope::seal("x".into()).unwrap();
        vigil_node::disclosure::encrypt(&[recipient.parse().unwrap()], &envelope).unwrap()
    };
    let body = |ciphertext: &str| TxBody::Disclose {
        protocol: "vault".parse().unwrap(),
        commitment: ContentId::of_bytes(b"c"),
        ciphertext: ContentId::of_bytes(ciphertext.as_bytes()),
        severity: Severity::High,
        funds_at_risk: Amount::ZERO,
        bond: Amount::vgl(10),
    };
    let post = |tx: &vigil_core::SignedTx, ciphertext: &str| {
        let http = reqwest::blocking::Client::new();
        let r = http
            .post(format!("{}/v1/disclosures", node.url))
            .json(&json!({ "tx": tx, "ciphertext": ciphertext }))
            .send()
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().unwrap_or(Value::Null))
    };
    // Tampered after signing: the content id no longer matches.
    let tx = rt.block_on(client.sign(&bob, body(&ciphertext))).unwrap();
    let tampered = ciphertext.replacen('A', "B", 1);
    let (status, v) = post(&tx, &tampered);
    assert_eq!((status, v["error"].as_str()), (400, Some("ciphertext_mismatch")), "{v}");
    // Oversized.
    let big = "A".repeat(vigil_core::disclosure::MAX_CIPHERTEXT_BYTES + 1);
    let tx_big = rt.block_on(client.sign(&bob, body(&big))).unwrap();
    let (status, v) = post(&tx_big, &big);
    assert_eq!((status, v["error"].as_str()), (413, Some("too_large")), "{v}");
    // Not age.
    let tx_text = rt.block_on(client.sign(&bob, body("plain words"))).unwrap();
    let (status, v) = post(&tx_text, "plain words");
    assert_eq!((status, v["error"].as_str()), (400, Some("invalid_ciphertext")), "{v}");
    // Not a disclosure.
    let transfer =
        rt.block_on(client.sign(
            &bob,
            TxBody::Transfer { to: node.key("carol").account_id(), amount: Amount(1) },
        ))
        .unwrap();
    let (status, v) = post(&transfer, &ciphertext);
    assert_eq!((status, v["error"].as_str()), (400, Some("not_a_disclosure")), "{v}");
    // A bad signature stores nothing.
    let mut forged = tx.clone();
    forged.tx.signer = node.key("carol").account_id();
    let (status, _) = post(&forged, &ciphertext);
    assert_eq!(status, 400);
    let list = node.cli_json(&["disclosure", "list"]);
    assert_eq!(list["disclosures"], json!([]), "nothing was recorded");
    // The genuine upload is kept and committed.
    let (status, v) = post(&tx, &ciphertext);
    assert_eq!(status, 202, "{v}");
    assert!(eventually(Duration::from_secs(10), || {
        node.cli_json(&["disclosure", "list"])["disclosures"]
            .as_array()
            .is_some_and(|d| d.len() == 1)
    }));

    // Recovery: dave rescued 600 VGL of value; 10% is paid once.
    let evidence = format!("0x{}", "11".repeat(32));
    let claim = |who: &str| {
        node.cli(&[
            "recovery",
            "claim",
            "--protocol",
            "vault",
            "--recovered",
            "600",
            "--evidence",
            &evidence,
            "--note",
            "white-hat rescue",
            "--key",
            &key(who),
        ])
    };
    let out = claim("dave");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = claim("carol");
    assert!(
        !out.status.success() && stderr(&out).contains("already the evidence of recovery claim 1"),
        "{}",
        stderr(&out)
    );
    let before = balance(&node, "dave");
    let out = node.cli_json(&["recovery", "confirm", "1", "--key", &key("alice")]);
    assert_eq!(out["status"], "committed", "{out}");
    assert_eq!(balance(&node, "dave"), before + Amount::vgl(60).0);
    let out = node.cli(&["recovery", "confirm", "1", "--key", &key("alice")]);
    assert!(!out.status.success() && stderr(&out).contains("answered already"), "{}", stderr(&out));
    let r = node.cli_json(&["recovery", "show", "1"]);
    assert_eq!(
        (r["status"].as_str(), r["paid"].as_u64()),
        (Some("confirmed"), Some(Amount::vgl(60).0)),
        "{r}"
    );
}

/// The example registration's optional `[bounty]` and `[safe_harbor]` sections, uncommented
/// with real keys, make a valid registration.
#[test]
fn the_example_bounty_and_safe_harbor_terms_parse() {
    let template = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/examples/protocol.toml"
    ))
    .unwrap();
    let account = vigil_core::Keypair::from_seed(&[1; 32]).account_id().to_string();
    let key = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";
    let mut optional = false;
    let text: String = template
        .lines()
        .map(|l| {
            optional |= l.starts_with("# [bounty]");
            let l = if optional && l.starts_with("# ") && !l.starts_with("# Optional") {
                &l[2..]
            } else {
                l
            };
            format!("{l}\n")
        })
        .collect::<String>()
        .replace("<age1… public key>", key);
    let text = ["<guardian account 1>", "<guardian account 2>", "<guardian account 3>"]
        .iter()
        .enumerate()
        .fold(text, |t, (i, g)| {
            t.replace(
                g,
                &vigil_core::Keypair::from_seed(&[i as u8 + 2; 32]).account_id().to_string(),
            )
        })
        .replace("<monitor account>", &account);
    let spec: vigil_core::ProtocolSpec =
        toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    spec.check_shape().unwrap();
    let bounty = spec.bounty.unwrap();
    assert_eq!(bounty.critical_bps, 1_000);
    assert_eq!(bounty.payout(Severity::Critical, Amount::vgl(500_000)), Some(Amount::vgl(50_000)));
    assert_eq!(spec.safe_harbor.unwrap().bounty(Amount::vgl(100)), Amount::vgl(10));
}
