//! `vigil replay` through the binary: JSON lines with positions, the summary, and a bad file
//! reported with its position while the others still run (non-zero exit).

use std::process::Command;

const TREE: &str = r#"{"type":"CALL","from":"0x1111111111111111111111111111111111111111",
  "to":"0x2222222222222222222222222222222222222222","input":"0x12345678","value":"0x0",
  "calls":[{"type":"CALL","from":"0x2222222222222222222222222222222222222222",
            "to":"0x3333333333333333333333333333333333333333","input":"0x","value":"0x5"}]}"#;

#[test]
fn replay_reads_every_file_and_names_the_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, format!("[{TREE},{TREE}]")).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "[{\"action\": {\"from\": \"0x12\"}, \"type\": \"call\", \"trace_address\": []}]",
    )
    .unwrap();
    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &TREE[..40]).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["--json", "replay"])
        .args([&good, &bad, &truncated])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a bad file makes the exit non-zero");
    assert!(stderr.contains("bad.json") && stderr.contains("trace row 0"), "{stderr}");
    assert!(stderr.contains("truncated.json") && stderr.contains("line "), "{stderr}");
    assert!(
        stderr.contains("3 file(s) (2 unreadable), 2 transactions (2 with call traces)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    // Alone, the good file succeeds; every JSON line has the fields the issue names.
    let out =
        Command::new(env!("CARGO_BIN_EXE_vigil")).args(["replay"]).arg(&good).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("detector") && stdout.contains("1 file(s) (0 unreadable)"), "{stdout}");
}

#[test]
fn replay_of_the_benign_mainnet_blocks_meets_the_target() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/mev-inspect-blocks");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent (it sits beside the checkout in CI)", dir.display());
        return;
    };
    let files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("--json")
        .arg("replay")
        .args(&files)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for key in ["source", "detector", "severity", "confidence", "description"] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(v["source"].as_str().unwrap().contains(".json#"), "{line}");
        let sev = v["severity"].as_str().unwrap();
        assert!(sev != "high" && sev != "critical", "benign traffic raised {line}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("5762 transactions (5762 with call traces)"), "{stderr}");
}
