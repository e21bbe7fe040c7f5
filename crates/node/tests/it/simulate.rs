//! `vigil simulate` through the binary: a shipped scenario by name writes its CSV files, plots
//! and summary; a scenario file with a bad field is refused with the field named, nothing
//! written.

use std::process::Command;

#[test]
fn simulate_writes_outputs_and_refuses_bad_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--json", "simulate", "--scenario", "adversarial-33", "--blocks", "300"])
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["scenario"], "adversarial-33");
    assert_eq!(v["blocks"], 300);
    assert!(v["reports"].as_u64().unwrap() > 300, "{v}");
    for file in ["loss.csv", "profit.csv", "trips.csv", "margin.csv", "loss.svg", "summary.md"] {
        assert!(out_dir.join(file).is_file(), "{file} missing");
    }
    let summary = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(summary.starts_with("# Simulation: adversarial-33"), "{summary}");

    // A scenario file: an out-of-range value names its field; an unknown one is refused.
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[protocols]]\nname = \"x\"\nguardians = 2\nthreshold = 5\n").unwrap();
    let fresh = dir.path().join("never");
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["simulate", "--scenario"])
        .arg(&bad)
        .arg("--out")
        .arg(&fresh)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("bad.toml") && stderr.contains("protocols.threshold"), "{stderr}");
    assert!(!fresh.exists(), "nothing written for a refused scenario");

    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["simulate", "--scenario", "no-such-scenario", "--out"])
        .arg(&fresh)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("baseline, adversarial-33, sybil"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
