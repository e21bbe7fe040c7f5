//! A new user's first hour, through the CLI: community feeds in their own shapes import whole,
//! lookups take what real lists contain, and every failure says each cause once and what to do.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::harness::{TestNode, eventually, free_port, vigil};

fn fixture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/feeds").join(name);
    path.to_string_lossy().into_owned()
}

fn token(node: &TestNode) -> String {
    node.dir.path().join("admin.token").to_string_lossy().into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `error: …` line, checked to print each cause once: no `: `-separated part repeats
/// another.
fn error_once(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure; stdout: {}", stdout(out));
    let text = stderr(out);
    let line = text.lines().find_map(|l| l.strip_prefix("error: ")).unwrap_or_else(|| {
        panic!("no `error:` line in {text:?}");
    });
    let parts: Vec<&str> = line.split(": ").map(str::trim).filter(|p| p.len() > 8).collect();
    for (i, a) in parts.iter().enumerate() {
        for b in &parts[i + 1..] {
            assert!(!a.contains(b) && !b.contains(a), "a cause is printed twice in {line:?}");
        }
    }
    text
}

#[test]
fn community_feeds_import_whole_through_the_cli() {
    let node = TestNode::start(200, true);
    let token = token(&node);

    // A community CSV with its own category words, one mapped by hand.
    let csv = fixture("community-scams.csv");
    let out = node.cli(&[
        "--json",
        "feed",
        "import",
        "csv",
        &csv,
        "--source",
        "community",
        "--map-category",
        "Giveaway=scam",
        "--admin-token-file",
        &token,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &v["report"];
    let counts = ["read", "imported", "merged", "skipped", "rejected_total"].map(|k| r[k].as_u64());
    assert_eq!(counts, [73, 65, 1, 2, 5].map(Some), "{v}");
    assert_eq!(r["skipped_by"]["Bitcoin address"], 2, "{v}");
    assert_eq!(r["rejected_by"]["row without an indicator"], 3, "{v}");

    // The same file again, in text: the counts by reason, and no category warning (mapped).
    let out = node.cli(&[
        "feed",
        "import",
        "csv",
        &csv,
        "--source",
        "community",
        "--admin-token-file",
        &token,
    ]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("skipped 2 (2 Bitcoin address)"), "{text}");
    assert!(text.contains("rejected       3  row without an indicator"), "{text}");
    assert!(text.contains("\"Giveaway\" is not known"), "unmapped word is named: {text}");
    assert!(text.contains("--map-category"), "{text}");

    // A domain → addresses JSON, its shape detected.
    let json = fixture("domain-addresses.json");
    let v = node.cli_json(&[
        "feed",
        "import",
        "json",
        &json,
        "--source",
        "domains",
        "--admin-token-file",
        &token,
    ]);
    let r = &v["report"];
    let counts = ["read", "imported", "skipped", "rejected_total"].map(|k| r[k].as_u64());
    assert_eq!(counts, [80, 77, 1, 2].map(Some), "{v}");

    // A text list, with a default category.
    let list = node.dir.path().join("blocklist.txt");
    std::fs::write(&list, "# list\nclaim-blur.io\n0.0.0.0 drain-wallet.net\nbc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq\n").unwrap();
    let v = node.cli_json(&[
        "feed",
        "import",
        "text",
        &list.to_string_lossy(),
        "--default-category",
        "phishing",
        "--admin-token-file",
        &token,
    ]);
    assert_eq!(
        (v["report"]["imported"].as_u64(), v["report"]["skipped"].as_u64()),
        (Some(2), Some(1))
    );

    // A MISP event: what Vigil can match is imported, the rest counted by kind.
    let v = node.cli_json(&[
        "feed",
        "import",
        "misp",
        &fixture("misp-event.json"),
        "--admin-token-file",
        &token,
    ]);
    // (Its two addresses are also in the community CSV imported above: merged there.)
    let counts = ["read", "imported", "merged", "skipped", "rejected_total"]
        .map(|k| v["report"][k].as_u64());
    assert_eq!(counts, [12, 3, 2, 6, 1].map(Some), "{v}");

    // URLs are indicators: by the full URL, and their host is flagged through them.
    let c = node.cli_json(&["check", "http://pancake-airdrop.app/login"]);
    assert_eq!(
        (c["flagged"].as_bool(), c["feeds"]["match"].as_str()),
        (Some(true), Some("exact")),
        "{c}"
    );
    let c = node.cli_json(&["check", "pancake-airdrop.app"]);
    assert_eq!(
        (c["flagged"].as_bool(), c["feeds"]["match"].as_str()),
        (Some(true), Some("url_on_host")),
        "{c}"
    );
    let c = node.cli_json(&["check", "https://drain-wallet.net/approve?x=1"]);
    assert_eq!(c["feeds"]["match"], "url_host", "{c}");
    let out = node.cli(&["check", "pancake-airdrop.app"]);
    assert!(
        stdout(&out).contains("a page on it is listed: http://pancake-airdrop.app/login"),
        "{}",
        stdout(&out)
    );

    // A wrong EIP-55 checksum is a warning, not a 400; the lookup finds the address.
    let wrong = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
    let c = node.cli_json(&["check", wrong]);
    assert_eq!(c["flagged"], true, "imported from the community CSV: {c}");
    assert!(c["warnings"][0].as_str().unwrap().contains("EIP-55"), "{c}");
    let out = node.cli(&["check", wrong]);
    assert!(stdout(&out).starts_with("warning: "), "{}", stdout(&out));
    // Only a wrong length or a non-hex digit is an error.
    let text = error_once(&node.cli(&["check", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe"]));
    assert!(text.contains("hex digits"), "{text}");

    // Mistakes in the import options are named.
    let text = error_once(&node.cli(&[
        "feed",
        "import",
        "csv",
        &csv,
        "--map-category",
        "Giveaway",
        "--admin-token-file",
        &token,
    ]));
    assert!(text.contains("FROM=TO"), "{text}");
    let text = error_once(&node.cli(&[
        "feed",
        "import",
        "json",
        &json,
        "--path",
        "result..x",
        "--admin-token-file",
        &token,
    ]));
    assert!(text.contains("JSON path"), "{text}");
    let text = error_once(&node.cli(&[
        "feed",
        "import",
        "json",
        &json,
        "--path",
        "domains",
        "--admin-token-file",
        &token,
    ]));
    assert!(text.contains("selects nothing") && text.contains("nothing was imported"), "{text}");
}

#[test]
fn common_failures_print_each_cause_once_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // No node at the address.
    let text =
        error_once(&vigil().args(["status", "--node", "http://127.0.0.1:9"]).output().unwrap());
    assert!(text.contains("hint: is a node running at http://127.0.0.1:9?"), "{text}");
    assert!(text.contains("vigil up"), "{text}");
    // The old spelling, before the command, still works for commands that talk to a node.
    let text = error_once(
        &vigil().args(["--node", "http://127.0.0.1:9", "report", "list"]).output().unwrap(),
    );
    assert!(text.contains("is a node running"), "{text}");
    // A URL without a scheme.
    let text = error_once(&vigil().args(["status", "--node", "127.0.0.1:7070"]).output().unwrap());
    assert!(text.matches("builder error").count() <= 1, "{text}");
    assert!(text.contains("http://HOST:PORT"), "{text}");
    // A key file that is not there.
    let missing = dir.path().join("nope.key");
    let missing = missing.to_string_lossy();
    let text = error_once(&vigil().args(["key", "show", "--key", &missing]).output().unwrap());
    assert_eq!(text.matches("No such file or directory").count(), 1, "{text}");
    assert!(text.contains("vigil key new --out"), "{text}");
    // --node where no node is contacted: refused, and not offered in the help.
    let text = error_once(
        &vigil().args(["--node", "http://x:1", "key", "show", "--key", &missing]).output().unwrap(),
    );
    assert!(text.contains("does not talk to a node"), "{text}");
    let help = vigil().args(["key", "show", "--help"]).output().unwrap();
    assert!(!stdout(&help).contains("--node"), "{}", stdout(&help));
    let help = vigil().args(["status", "--help"]).output().unwrap();
    assert!(stdout(&help).contains("--node"), "{}", stdout(&help));
    // A passphrase prompt with no terminal (a new session has none) says how else to give it.
    let enc = dir.path().join("enc.key");
    let pass = dir.path().join("pass.txt");
    std::fs::write(&pass, "correct horse battery staple\n").unwrap();
    let made = vigil()
        .args(["key", "new", "--encrypt", "--out", &enc.to_string_lossy(), "--passphrase-file"])
        .arg(&pass)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    if Path::new("/usr/bin/setsid").exists() {
        let out = std::process::Command::new("/usr/bin/setsid")
            .arg("--wait")
            .arg(env!("CARGO_BIN_EXE_vigil"))
            .args(["key", "show", "--key", &enc.to_string_lossy()])
            .env_remove("VIGIL_KEY_PASSPHRASE")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let text = error_once(&out);
        assert!(text.contains("no terminal to ask on"), "{text}");
        assert!(
            text.contains("--passphrase-file") && text.contains("VIGIL_KEY_PASSPHRASE"),
            "{text}"
        );
    } else {
        eprintln!("SKIPPED the no-terminal prompt case: /usr/bin/setsid is absent");
    }
}

#[test]
fn up_applies_listen_on_an_existing_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let start = |port: u16| {
        let log = std::fs::File::create(dir.path().join(format!("up-{port}.log"))).unwrap();
        let child = vigil()
            .args(["up", "--no-demo", "--data"])
            .arg(&data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(log)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let up = eventually(Duration::from_secs(30), || {
            vigil().args(["status", "--node", &url]).output().is_ok_and(|o| o.status.success())
        });
        (child, up)
    };
    let (first, second) = (free_port(), free_port());
    let (mut child, up) = start(first);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "vigil up did not serve on {first}");
    // The same directory, another address: served there, and said so.
    let (mut child, up) = start(second);
    let _ = child.kill();
    let _ = child.wait();
    assert!(up, "vigil up on an existing directory did not apply --listen {second}");
    let log = std::fs::read_to_string(dir.path().join(format!("up-{second}.log"))).unwrap();
    assert!(log.contains("--listen overrides"), "{log}");
    assert!(log.contains(&format!("127.0.0.1:{first}")), "names the config's address: {log}");
}

#[test]
fn url_indicators_go_through_reports_stix_import_and_export() {
    let node = TestNode::start(200, true);
    let alice = node.key_path("alice").to_string_lossy().into_owned();
    // A report naming a phishing page.
    let out = node.cli(&[
        "report",
        "submit",
        "--indicator",
        "HTTPS://OpenSae.io/login#top",
        "--severity",
        "high",
        "--category",
        "phishing",
        "--summary",
        "OpenSea look-alike login page",
        "--bond",
        "25",
        "--key",
        &alice,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id =
        stdout(&out).lines().find_map(|l| l.strip_prefix("report ")).unwrap().trim().to_owned();
    let shown = node.cli_json(&["report", "show", &id]);
    assert_eq!(shown["report"]["indicators"][0], "https://opensae.io/login", "{shown}");

    // A STIX bundle with a url pattern, imported; the export writes url patterns back.
    let bundle = node.dir.path().join("urls.json");
    std::fs::write(&bundle, r#"{"type": "bundle", "id": "bundle--6f1b6c2e-1f6a-4c89-9a43-0c2d0a7a1b11", "objects": [
      {"type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
       "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
       "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "labels": ["phishing"],
       "pattern": "[url:value = 'https://claim-blur.io/airdrop?id=7']"}]}"#).unwrap();
    let v = node.cli_json(&[
        "feed",
        "import",
        "stix",
        &bundle.to_string_lossy(),
        "--admin-token-file",
        &token(&node),
    ]);
    assert_eq!(v["report"]["imported"], 1, "{v}");
    let c = node.cli_json(&["check", "claim-blur.io"]);
    assert_eq!(c["feeds"]["match"], "url_on_host", "{c}");
    let export = node.dir.path().join("export.json");
    // (--include-expired: the object's 2024 date has decayed it below the default policy.)
    let out =
        node.cli(&["stix", "export", "--include-expired", "--out", &export.to_string_lossy()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&export).unwrap();
    let urls: Vec<&str> = text
        .match_indices("url:value")
        .map(|(i, _)| &text[i.saturating_sub(10)..(i + 60).min(text.len())])
        .collect();
    assert!(
        text.contains("[url:value = 'https://claim-blur.io/airdrop?id=7']"),
        "book entry: {urls:?}"
    );
    assert!(text.contains("[url:value = 'https://opensae.io/login']"), "report indicator");
}
