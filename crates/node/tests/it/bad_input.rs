//! Bad input over real HTTP: each gets a clear 4xx naming the problem, and the node keeps
//! serving.

use serde_json::{Value, json};
use vigil_core::{Amount, Tx, TxBody};

use crate::harness::TestNode;

fn post(url: &str, body: &[u8], content_type: Option<&str>) -> (u16, Value) {
    let client = reqwest::blocking::Client::new();
    let mut req = client.post(format!("{url}/v1/tx")).body(body.to_vec());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn get(url: &str, path: &str) -> (u16, Value) {
    let resp = reqwest::blocking::get(format!("{url}{path}")).unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn bad_input_gets_a_clear_4xx_and_the_node_keeps_serving() {
    let node = TestNode::start(100, true);
    let url = &node.url;
    let alice = node.key("alice");
    let chain: vigil_core::ChainId = "vigil-itest".parse().unwrap();
    let tx = |chain: &vigil_core::ChainId, nonce: u64, amount: u64| {
        Tx {
            chain_id: chain.clone(),
            signer: alice.account_id(),
            nonce,
            body: TxBody::Bond { amount: Amount(amount) },
        }
        .sign(&alice)
    };
    let json_ct = Some("application/json");
    let send = |t: &vigil_core::SignedTx| post(url, &serde_json::to_vec(t).unwrap(), json_ct);

    // Bad signature.
    let mut forged = tx(&chain, 0, 5);
    forged.signature.0[10] ^= 1;
    let (code, body) = send(&forged);
    assert_eq!((code, body["error"].as_str()), (400, Some("bad_signature")), "{body}");
    // Changed payload under a valid signature.
    let mut changed = tx(&chain, 0, 5);
    changed.tx.body = TxBody::Bond { amount: Amount(6) };
    assert_eq!(send(&changed).0, 400);

    // Wrong chain id.
    let (code, body) = send(&tx(&"vigil-mainnet".parse().unwrap(), 0, 5));
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("vigil-mainnet"), "{body}");

    // A good transaction, then its replay and a stale nonce.
    let good = tx(&chain, 0, 5);
    assert_eq!(send(&good).0, 202);
    let id = good.id();
    let client = node.client();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(client.wait_committed(&id, std::time::Duration::from_secs(10))).unwrap();
    let (code, body) = send(&good);
    assert_eq!((code, body["error"].as_str()), (409, Some("nonce_used")), "{body}");
    let (code, body) = send(&tx(&chain, 0, 7));
    assert_eq!(code, 409);
    assert!(body["message"].as_str().unwrap().contains("nonce 0"), "{body}");
    // Insufficient balance is refused at admission with the figures.
    let (code, body) = send(&tx(&chain, 1, u64::MAX / 2));
    assert_eq!((code, body["error"].as_str()), (422, Some("insufficient_balance")), "{body}");

    // Oversized body.
    let big = vec![b' '; 2 << 20];
    let (code, body) = post(url, &big, json_ct);
    assert_eq!((code, body["error"].as_str()), (413, Some("too_large")), "{body}");
    // Invalid JSON, and JSON of the wrong shape (the message names the field).
    let (code, body) = post(url, b"{not json", json_ct);
    assert_eq!((code, body["error"].as_str()), (400, Some("invalid_json")), "{body}");
    let wrong = json!({"tx": {"chain_id": "vigil-itest", "signer": alice.account_id(), "nonce": "one", "body": {"type": "bond", "amount": 1}}, "signature": "00".repeat(64)});
    let (code, body) = post(url, wrong.to_string().as_bytes(), json_ct);
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("nonce"), "{body}");
    let bad_address = json!({"tx": {"chain_id": "vigil-itest", "signer": alice.account_id(), "nonce": 1,
        "body": {"type": "submit_report", "bond": 10, "report": {"indicators": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"], "severity": "high", "category": "exploit", "summary": "x"}}},
        "signature": "00".repeat(64)});
    // A wrong EIP-55 checksum still names the 20 bytes: the transaction decodes, and fails on
    // its (zero) signature rather than on the address.
    let (code, body) = post(url, bad_address.to_string().as_bytes(), json_ct);
    assert_eq!(code, 400);
    assert_eq!(body["error"], "bad_signature", "{body}");
    let short_address = bad_address
        .to_string()
        .replace("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", "0x5aAeb6053F");
    let (code, body) = post(url, short_address.as_bytes(), json_ct);
    assert_eq!(code, 400);
    assert!(body["message"].as_str().unwrap().contains("hex digits"), "{body}");
    // No content type.
    let (code, _) = post(url, &serde_json::to_vec(&good).unwrap(), None);
    assert_eq!(code, 415);

    // Unknown indicator formats, malformed ids, unknown things.
    for path in [
        "/v1/check/0x1234",
        "/v1/check/ipfs:bafy",
        "/v1/check/not%20a%20domain",
        "/v1/check/localhost",
    ] {
        let (code, body) = get(url, path);
        assert_eq!(
            (code, body["error"].as_str()),
            (400, Some("invalid_indicator")),
            "{path}: {body}"
        );
    }
    assert_eq!(get(url, "/v1/accounts/xyz").0, 400);
    assert_eq!(get(url, "/v1/reports/1234").0, 400);
    assert_eq!(get(url, &format!("/v1/reports/{}", "ab".repeat(32))).0, 404);
    assert_eq!(get(url, "/v1/reports?status=lost").0, 400);
    assert_eq!(get(url, "/v1/blocks/minus-one").0, 400);
    assert_eq!(get(url, "/v1/nothing-here").0, 404);

    // Still serving, and the next good transaction commits.
    assert_eq!(get(url, "/v1/status").0, 200);
    let next = tx(&chain, 1, 5);
    assert_eq!(send(&next).0, 202);
    rt.block_on(client.wait_committed(&next.id(), std::time::Duration::from_secs(10))).unwrap();
}
