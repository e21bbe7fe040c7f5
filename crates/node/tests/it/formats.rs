//! The README's "Formats" examples, run through the CLI against a real node: each feed example
//! imports with nothing rejected, the alert example publishes, the rule example loads.

use std::path::Path;

use serde_json::Value;

use crate::harness::TestNode;

/// `(name, body)` of every block after a `<!-- example: NAME -->` line in README.md.
fn examples() -> Vec<(String, String)> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let mut out = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(name) =
            line.trim().strip_prefix("<!-- example: ").and_then(|r| r.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().expect("a fenced block after the example marker");
        assert!(
            fence.starts_with("```"),
            "example {name}: expected a fenced block, found {fence:?}"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        out.push((name.to_owned(), body.join("\n") + "\n"));
    }
    out
}

#[test]
fn every_readme_format_example_works_through_the_cli() {
    let examples = examples();
    let names: Vec<&str> = examples.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in ["csv", "json", "text", "alert", "rules"] {
        assert!(names.contains(&wanted), "README has no {wanted} example: {names:?}");
    }
    let node = TestNode::start(200, true);
    let token = node.dir.path().join("admin.token").to_string_lossy().into_owned();
    let alice = node.key_path("alice").to_string_lossy().into_owned();
    for (i, (name, body)) in examples.iter().enumerate() {
        let file = node.dir.path().join(format!("example-{i}.{name}"));
        std::fs::write(&file, body).unwrap();
        let file = file.to_string_lossy().into_owned();
        match name.as_str() {
            "csv" | "json" | "text" => {
                let out = node.cli(&[
                    "--json",
                    "feed",
                    "import",
                    name,
                    &file,
                    "--admin-token-file",
                    &token,
                    "--source",
                    &format!("readme-{i}"),
                ]);
                assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                let r = &v["report"];
                assert_eq!(r["rejected_total"], 0, "example {i} ({name}): {v}");
                assert!(r["imported"].as_u64().unwrap() + r["merged"].as_u64().unwrap() > 0, "{v}");
            }
            "alert" => {
                let alert: Result<vigil_core::Alert, _> = serde_json::from_str(body);
                assert!(alert.is_ok(), "alert example: {:?}", alert.err());
                // A lone node has no gossip peers to publish to; the CLI must get past reading,
                // signing and the node's checks of the alert itself.
                let out = node.cli(&["alert", "publish", "--file", &file, "--key", &alice]);
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(
                    out.status.success() || stderr.contains("gossip") || stderr.contains("peers"),
                    "alert: {stderr}"
                );
            }
            "rules" => {
                let set = vigil_detect::rules::RuleSet::load([("readme.toml", body.as_str())]);
                assert!(set.is_ok(), "rules example: {:?}", set.err());
            }
            other => panic!("unknown example kind {other:?} in README.md"),
        }
    }
    // The CSV example's Bitcoin address is skipped and counted by kind, not lost silently.
    let (_, csv) = examples.iter().find(|(n, _)| n == "csv").unwrap();
    assert!(csv.contains("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
    let check = node.cli_json(&["check", "pancake-airdrop.app"]);
    assert_eq!(check["flagged"], true, "{check}");
}
