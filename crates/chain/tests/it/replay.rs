//! Offline: the recorded attack (testdata/attack.json, from the anvil scenario) replayed.

use vigil_chain::{Monitor, Recorded, Recording};
use vigil_core::{AlertKind, EvmChainId, Severity};
use vigil_detect::config::ProtectedContract;
use vigil_detect::{DetectConfig, Engine, RuleSet};

use crate::harness::Running;

fn fixture() -> Recording {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/attack.json");
    Recording::read(&path).expect("testdata/attack.json")
}

fn engine() -> Engine {
    let vault = "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().unwrap();
    let config = DetectConfig {
        protected: vec![ProtectedContract {
            name: "LendingVault".into(),
            address: vault,
            max_loss_bps: None,
        }],
        ..Default::default()
    };
    Engine::new(&config, RuleSet::empty())
}

#[tokio::test]
async fn replayed_attack_raises_the_same_alerts() {
    let recording = fixture();
    assert_eq!(recording.chain_id, 31337);
    let (stats, alerts) =
        Running::spawn(Monitor::replay(recording, engine())).stop_when_done().await;
    assert_eq!(stats.conversion_errors, 0);
    let has = |detector: &str, mined: bool| {
        alerts.iter().any(|a| a.detector == detector && a.tx.block.is_some() == mined)
    };
    assert!(has("fresh-attacker-contract", false), "pending attack");
    for d in
        ["flash-loan-exploit", "outflow-rate-limit", "fresh-attacker-contract", "volume-anomaly"]
    {
        assert!(has(d, true), "mined {d}");
    }
    assert!(
        has("suspicious-governance-proposal", false) && has("suspicious-governance-proposal", true)
    );
    let flash = alerts.iter().find(|a| a.detector == "flash-loan-exploit").unwrap();
    assert_eq!((flash.kind, flash.severity), (AlertKind::Exploit, Severity::Critical));
}

#[test]
fn fixture_converts_to_the_detect_model() {
    let recording = fixture();
    let chain = EvmChainId(recording.chain_id);
    let mut flash_loans = 0;
    let mut proposals = 0;
    let mut created = 0;
    for event in &recording.events {
        match event {
            Recorded::Block(raw) => {
                let block = vigil_chain::convert::block(chain, raw).unwrap();
                for tx in &block.transactions {
                    assert_eq!(tx.block().unwrap().number, raw.number());
                    created += tx
                        .created
                        .as_ref()
                        .filter(|c| c.code_hash.is_some() && !c.code.is_empty())
                        .map_or(0, |_| 1);
                    for (_, e) in tx.events() {
                        flash_loans += usize::from(e.flash_loan().is_some());
                        proposals += usize::from(e.name() == "ProposalCreated");
                    }
                }
            }
            Recorded::Pending { tx, seen_at } => {
                let t = vigil_chain::convert::pending_tx(chain, tx, *seen_at);
                assert!(t.is_pending() && t.logs.is_empty());
            }
        }
    }
    // The Attacker deployment, SimpleGovernor's real ProposalCreated, Aave-shaped FlashLoan.
    assert_eq!((created, proposals, flash_loans), (1, 1, 1));
}

fn rules_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/rules")
}

#[tokio::test]
async fn rules_directory_drives_detectors_and_cel_rules() {
    let (rules, detect) = vigil_chain::monitor::load_rules_dir(&rules_dir()).unwrap();
    let detect = detect.expect("detect.toml");
    assert_eq!(detect.protected.len(), 1);
    assert_eq!(rules.len(), 4);
    let engine = Engine::new(&detect, rules);
    let (_, alerts) = Running::spawn(Monitor::replay(fixture(), engine)).stop_when_done().await;
    let rule = |name: &str, mined: bool| {
        alerts
            .iter()
            .find(|a| a.detector == format!("rule:{name}") && a.tx.block.is_some() == mined)
            .cloned()
    };
    let pending = rule("attack-selector", false).expect("pending attack-selector alert");
    assert!(pending.description.ends_with("(pending)"), "{}", pending.description);
    assert_eq!(pending.severity, Severity::Critical);
    assert!(rule("attack-selector", true).unwrap().description.ends_with("(mined)"));
    assert!(rule("large-flash-loan", true).is_some());
    // The attacker sent three transactions; one incident per stage.
    let watched: Vec<_> = alerts.iter().filter(|a| a.detector == "rule:watched-sender").collect();
    assert_eq!(watched.len(), 2, "{watched:#?}");
    assert!(rule("large-ether-transfer", true).is_none());
}

#[test]
fn a_bad_rule_file_fails_at_load_with_its_file_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        "[[rule]]\nname = \"fine\"\nexpression = \"tx.pending\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "[[rule]]\nname = \"broken\"\nexpression = \"tx.value >> 1\"\n",
    )
    .unwrap();
    let err = vigil_chain::monitor::load_rules_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("b.toml") && err.contains("\"broken\""), "{err}");
    std::fs::write(dir.path().join("b.toml"), "").unwrap();
    std::fs::write(dir.path().join("detect.toml"), "cooldown = 5\n").unwrap();
    let err = vigil_chain::monitor::load_rules_dir(dir.path()).unwrap_err().to_string();
    assert!(err.contains("detect.toml") && err.contains("cooldown"), "{err}");
    let err =
        vigil_chain::monitor::load_rules_dir(&dir.path().join("missing")).unwrap_err().to_string();
    assert!(err.contains("missing"), "{err}");
}
