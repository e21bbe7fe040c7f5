//! Issue 19 across processes: an encrypted disclosure reaches the protocol's nodes and no
//! others. Two `vigil node` processes form a 2-validator testnet; node 1 serves protocol
//! `vault` (`[gossip] disclosures = ["vault"]`), node 0 serves none. A researcher discloses
//! to node 0: node 1 receives the ciphertext by gossip and the protocol decrypts it from there.
//! A disclosure to `other`, which no node serves, stays on node 0: node 1 commits its ledger
//! record but never holds its ciphertext.

use std::path::Path;
use std::time::Duration;

use crate::harness::{eventually, vigil};
use crate::immunity::{account_of, cli_json, get, testnet, validators};
use crate::testnet::{Validator, tail};

fn protocol_file(dir: &Path, id: &str, owner: &str, recipient: &str) -> std::path::PathBuf {
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(
        &path,
        format!(
            "id = \"{id}\"\nname = \"{id}\"\nchain = 31337\n\
             contracts = [\"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\"]\n\
             guardians = [\"{owner}\"]\nthreshold = 1\nprotected_value = \"1000\"\n\
             [policy]\nmin_severity = \"high\"\nmin_confidence = 60\nmonitors = []\n\
             [policy.action]\ntarget = \"0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9\"\n\
             calldata = \"0x8456cb59\"\nreset_calldata = \"0x3f4ba83a\"\n\
             [bounty]\nrecipients = [\"{recipient}\"]\ncritical_floor = \"50\"\n\
             critical_cap = \"400\"\nhigh = \"40\"\nmedium = \"10\"\nlow = \"2\"\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn a_disclosure_is_gossiped_to_the_protocols_nodes_only() {
    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    let listing = testnet(dir.path());
    let mut nodes = validators(&listing);
    let config = nodes[1].dir.join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("disclosures = []"), "{text}");
    let serving = text.replacen("disclosures = []", "disclosures = [\"vault\"]", 1);
    std::fs::write(&config, serving).unwrap();
    for n in &mut nodes {
        n.spawn();
    }
    for n in &nodes {
        n.wait_ready();
    }
    let user = |j: usize| dir.path().join("keys").join(format!("user-{j}.key"));
    let owner = user(0).to_string_lossy().into_owned();
    let identity = dir.path().join("vault.age");
    let out = vigil().args(["disclosure", "keygen", "--out"]).arg(&identity).output().unwrap();
    let recipient = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    for id in ["vault", "other"] {
        let file = protocol_file(dir.path(), id, &account_of(&user(0)), &recipient);
        cli_json(
            &nodes[0],
            &[
                "protocol",
                "register",
                "--file",
                file.to_str().unwrap(),
                "--bounty",
                "500",
                "--key",
                &owner,
            ],
        );
    }
    let disclose = |protocol: &str| {
        let report = dir.path().join(format!("{protocol}.md"));
        std::fs::write(&report, format!("a bug in {protocol}")).unwrap();
        let out = cli_json(
            &nodes[0],
            &[
                "disclose",
                "--protocol",
                protocol,
                "--file",
                report.to_str().unwrap(),
                "--severity",
                "high",
                "--key",
                &user(1).to_string_lossy(),
            ],
        );
        out["disclosure"].as_u64().unwrap()
    };
    let to_vault = disclose("vault");
    let stored = |node: &Validator, id: u64| {
        get(node, &format!("/v1/disclosures/{id}"))["ciphertext_stored"] == true
    };
    assert!(stored(&nodes[0], to_vault), "the node it was sent to keeps it");
    assert!(
        eventually(Duration::from_secs(20), || stored(&nodes[1], to_vault)),
        "the protocol's node received the ciphertext by gossip; log:\n{}",
        tail(&nodes[1].log(), 40)
    );
    let out = vigil()
        .args([
            "--node",
            &nodes[1].url,
            "disclosure",
            "decrypt",
            &to_vault.to_string(),
            "--identity",
        ])
        .arg(&identity)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a bug in vault");

    let to_other = disclose("other");
    assert!(
        eventually(Duration::from_secs(20), || get(
            &nodes[1],
            &format!("/v1/disclosures/{to_other}")
        )["id"]
            == to_other),
        "node 1 commits the record"
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        !stored(&nodes[1], to_other),
        "a node not serving `other` never receives its ciphertext"
    );
    for n in &mut nodes {
        n.kill();
    }
}
