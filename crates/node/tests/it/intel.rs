//! Threat intelligence through real processes: `vigil feed import` of the public feeds in
//! `../shared/data` into a running node, `GET /v1/check` answers with their sources, restarts,
//! bad files, publishing a feed as reports, `vigil stix export` checked by the OASIS
//! `stix2-validator`, and the OASIS `taxii2-client` reading the node's `/taxii2/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use vigil_core::Indicator;

use crate::harness::{TestNode, eventually, python, vigil};

/// `../shared/data`, or `None` (with a message) when absent.
fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("SKIPPED: {} is absent (the team's shared data)", dir.display());
        None
    }
}

fn token_file(node: &TestNode) -> String {
    node.dir.path().join("admin.token").to_string_lossy().into_owned()
}

/// `vigil feed import KIND PATH [extra…]` against the node, with its admin token.
fn import(node: &TestNode, kind: &str, path: &Path, extra: &[&str]) -> std::process::Output {
    let token = token_file(node);
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["feed", "import", kind, &path, "--admin-token-file", &token];
    args.extend_from_slice(extra);
    node.cli(&args)
}

fn import_json(node: &TestNode, kind: &str, path: &Path, extra: &[&str]) -> Value {
    let token = token_file(node);
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["--json", "feed", "import", kind, &path, "--admin-token-file", &token];
    args.extend_from_slice(extra);
    let out = node.cli(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn check(node: &TestNode, indicator: &str) -> Value {
    node.cli_json(&["check", indicator])
}

fn sources(check: &Value) -> Vec<String> {
    check["feeds"]["sources"]
        .as_array()
        .map(|a| a.iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn real_feeds_import_into_a_running_node_answer_check_and_survive_a_restart() {
    let Some(data) = data_dir() else { return };
    let mut node = TestNode::start(200, true);
    let forta = data.join("forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv");
    let usdt = data.join("ofac-sanctioned-addresses/sanctioned_addresses_USDT.txt");
    let metamask = data.join("metamask-eth-phishing-detect/config.json");

    // The admin token was written at start, private to its owner.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(node.dir.path().join("admin.token")).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);

    // Forta: 7,780 rows dedupe to 7,259 addresses; two rows carry bad checksums, which are
    // merged into their lower-case twins and shown as warnings.
    let text = import(&node, "forta", &forta, &["--source", "forta-etherscan"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("read 7780, imported 7259"), "{stdout}");
    assert!(stdout.contains("rejected 0"), "{stdout}");
    assert!(
        stdout.contains("warning        2  mixed-case address with a wrong EIP-55"),
        "{stdout}"
    );
    // The same file again changes nothing.
    let again = import_json(&node, "forta", &forta, &["--source", "forta-etherscan"]);
    assert_eq!(again["changed"], false, "{again}");
    assert_eq!(again["report"]["imported"], 0);
    assert_eq!(again["report"]["merged"], 7_780);
    assert_eq!(again["indicators"], 7_259);

    // OFAC USDT: exactly 8 EVM addresses, the rest skipped and counted.
    let ofac = import_json(&node, "ofac", &usdt, &[]);
    assert_eq!(ofac["report"]["imported"], 8, "{ofac}");
    assert_eq!(ofac["report"]["skipped"], 18);

    // A list of our own naming one OFAC address: one indicator, both sources kept.
    let mine = node.dir.path().join("mine.csv");
    std::fs::write(
        &mine,
        "address,label\n0x175d44451403edf28469df03a9280c1197adb92c,seen in our incident\n",
    )
    .unwrap();
    let merged = import_json(&node, "csv", &mine, &["--source", "my-list", "--category", "scam"]);
    assert_eq!(
        (merged["report"]["imported"].as_u64(), merged["report"]["merged"].as_u64()),
        (Some(0), Some(1))
    );

    let mm = import_json(&node, "metamask", &metamask, &[]);
    assert!(mm["report"]["imported"].as_u64().unwrap() > 13_000, "{mm}");

    let answers = |node: &TestNode| {
        // A lower-cased OFAC address, asked in upper case.
        let c = check(node, "0x19AA5FE80D33A56D56C78E82EA5E50E5D80B4DFF");
        assert_eq!(c["flagged"], true, "{c}");
        assert_eq!(sources(&c), ["ofac"]);
        assert_eq!(c["feeds"]["sources"][0]["category"], "sanctioned");
        assert!(c["confidence"].as_u64().unwrap() >= 80, "{c}");
        // Two feeds, one indicator.
        let c = check(node, "eip155:1:0x175d44451403Edf28469dF03A9280c1197ADb92c");
        assert_eq!(sources(&c), ["my-list", "ofac"], "{c}");
        assert_eq!(c["feeds"]["match"], "any_chain");
        // A Forta label, with its tag.
        let c = check(node, "0x80d7bb18521acbef32d7906502ebe94928690e93");
        assert_eq!(c["flagged"], true);
        assert_eq!(c["feeds"]["sources"][0]["labels"][0], "Fake_Phishing1772", "{c}");
        assert!(c["feeds"]["sources"][0]["first_seen"].as_str().unwrap().ends_with('Z'));
        // Phishing: exact, subdomain, look-alike; the allow list wins.
        assert_eq!(check(node, "nfts-mints.com")["feeds"]["match"], "exact");
        assert_eq!(check(node, "claim.nfts-mints.com")["feeds"]["match"], "parent_domain");
        let look = check(node, "opensae.io");
        assert_eq!(
            (look["flagged"].as_bool(), look["feeds"]["match"].as_str()),
            (Some(true), Some("look_alike"))
        );
        assert_eq!(look["feeds"]["matched"], "opensea.io");
        let allowed = check(node, "myetherwallet.com");
        assert_eq!(allowed["flagged"], false);
        assert_eq!(allowed["allowed_by"], "myetherwallet.com");
        // Nothing flags an unrelated address.
        let c = check(node, "0x0000000000000000000000000000000000000001");
        assert_eq!((c["flagged"].as_bool(), c["feeds"].is_null()), (Some(false), true));
    };
    answers(&node);

    // None of MetaMask's allow-listed dapps and top sites is flagged.
    let client = reqwest::blocking::Client::new();
    for file in ["test_dapps_allowlisted.json", "test_alexa_top_domains.json"] {
        let names: Vec<String> = serde_json::from_slice(
            &std::fs::read(data.join("metamask-eth-phishing-detect").join(file)).unwrap(),
        )
        .unwrap();
        for name in names {
            let c: Value =
                client.get(format!("{}/v1/check/{name}", node.url)).send().unwrap().json().unwrap();
            assert_eq!(c["flagged"], false, "{name}: {c}");
        }
    }

    // The CLI's text answer names the sources.
    let text = node.cli(&["check", "0x175d44451403Edf28469dF03A9280c1197ADb92c"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("FLAGGED")
            && text.contains("my-list")
            && text.contains("seen in our incident"),
        "{text}"
    );

    // A restart keeps the book.
    let status = node.terminate();
    assert!(status.success());
    node.spawn();
    answers(&node);
    let list = node.cli_json(&["feed", "list"]);
    let names: Vec<&str> =
        list["sources"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["forta-etherscan", "metamask", "my-list", "ofac"]);
    assert_eq!(list["sources"][0]["indicators"], 7_259);
    assert_eq!(
        list["sources"][0]["imports"].as_array().unwrap().len(),
        1,
        "re-import left no trace"
    );

    // Publishing a source: its indicators become a signed, bonded ledger report.
    let key = node.key_path("alice").to_string_lossy().into_owned();
    let dry = node.cli_json(&[
        "feed",
        "publish",
        "--source",
        "ofac",
        "--severity",
        "high",
        "--bond",
        "10",
        "--dry-run",
        "--key",
        &key,
    ]);
    assert_eq!(dry["reports"].as_array().unwrap().len(), 1, "{dry}");
    let published = node.cli_json(&[
        "feed",
        "publish",
        "--source",
        "ofac",
        "--severity",
        "high",
        "--bond",
        "10",
        "--key",
        &key,
    ]);
    let report = published["published"][0]["report"].as_str().unwrap().to_owned();
    assert_eq!(published["published"][0]["status"], "committed", "{published}");
    let shown = node.cli_json(&["report", "show", &report]);
    assert_eq!(shown["report"]["indicators"].as_array().unwrap().len(), 8);
    assert_eq!(shown["report"]["category"], "sanctioned");
    assert_eq!(shown["reporter"], node.key("alice").account_id().to_string());
    let c = check(&node, "0x19aa5fe80d33a56d56c78e82ea5e50e5d80b4dff");
    assert_eq!(c["reports"][0]["report"], report.as_str(), "{c}");
}

#[test]
fn bad_feed_files_get_clear_errors_and_lose_nothing() {
    let node = TestNode::start_with(200, true, "[intel]\nmax_import_bytes = 4096\n", &[]);
    let dir = node.dir.path();
    let good = dir.join("good.csv");
    std::fs::write(&good, "address\n0x098b716b8aaf21512996dc57eb0615e2383e2f96\nnot-an-address\n")
        .unwrap();
    let out = import_json(&node, "csv", &good, &["--source", "good"]);
    assert_eq!(out["report"]["imported"], 1);
    assert_eq!(out["report"]["rejected"][0]["line"], 3, "{out}");
    let book = || node.cli_json(&["feed", "list"]);

    let cases: [(&str, &str, &[u8], &str); 4] = [
        (
            "truncated.json",
            "metamask",
            br#"{"version": 2, "tolerance": 2, "blacklist": ["evil.example", "#,
            "JSON error at line 1",
        ),
        (
            "columns.csv",
            "forta",
            b"wallet,tag\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,x\n",
            "wrong columns",
        ),
        (
            "bad.stix.json",
            "stix",
            br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#,
            "invalid STIX",
        ),
        ("empty.csv", "csv", b"  \n", "input is empty"),
    ];
    for (name, kind, content, expected) in cases {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        let out = import(&node, kind, &path, &[]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{name} was accepted");
        assert!(err.contains(expected) && err.contains("nothing was imported"), "{name}: {err}");
    }
    // A CSV cut inside a row: the partial row is rejected with its line, complete rows count.
    let cut = dir.join("cut.csv");
    std::fs::write(
        &cut,
        "banned_address,wallet_tag,data_source\n\
         0x80d7bb18521acbef32d7906502ebe94928690e93,Fake_Phishing1772,etherscan\n\
         0x098b716b8aaf21512996dc57eb0615e2383e2f96,Ron",
    )
    .unwrap();
    let out = import_json(&node, "forta", &cut, &["--source", "cut"]);
    assert_eq!(out["report"]["imported"], 1, "{out}");
    assert_eq!(out["report"]["rejected"][0]["line"], 3, "{out}");
    let before = book();
    // Too large for the node: refused whole.
    let big = dir.join("big.csv");
    let mut text = String::from("address\n");
    for i in 0..200u32 {
        text.push_str(&format!("0x{:040x}\n", u64::from(i) + 1));
    }
    std::fs::write(&big, text).unwrap();
    let out = import(&node, "csv", &big, &[]);
    assert!(stderr(&out).contains("larger than this node takes"), "{}", stderr(&out));
    // A wrong token, and no token.
    let wrong = dir.join("wrong.token");
    std::fs::write(&wrong, "f".repeat(64)).unwrap();
    let out = node.cli(&[
        "feed",
        "import",
        "csv",
        good.to_str().unwrap(),
        "--admin-token-file",
        wrong.to_str().unwrap(),
    ]);
    assert!(stderr(&out).contains("HTTP 401"), "{}", stderr(&out));
    let out = node.cli(&[
        "feed",
        "import",
        "csv",
        good.to_str().unwrap(),
        "--admin-token-file",
        "/nonexistent/admin.token",
    ]);
    assert!(stderr(&out).contains("admin token /nonexistent/admin.token"), "{}", stderr(&out));
    let out = node.cli(&[
        "feed",
        "import",
        "csv",
        "/nonexistent.csv",
        "--admin-token-file",
        &token_file(&node),
    ]);
    assert!(stderr(&out).contains("/nonexistent.csv"), "{}", stderr(&out));
    // The raw endpoint: no token, wrong media type, a feed naming another source.
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/intel/imports", node.url);
    let resp = client.post(&url).json(&json!({})).send().unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let token = std::fs::read_to_string(token_file(&node)).unwrap().trim().to_owned();
    let resp = client.post(&url).bearer_auth(&token).body("{}").send().unwrap();
    assert_eq!(resp.status().as_u16(), 415);
    let resp = client
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"parsed": {}, "book": {}}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().unwrap().contains("invalid_json"));
    let parsed = json!({"kind": "csv", "source": "x", "read": 1, "imported": 1, "merged": 0,
        "skipped": 0, "rejected_total": 0, "rejected": []});
    for (book, expected) in [("AQ==", "indicator book is corrupt"), ("!!", "not base64")] {
        let resp = client
            .post(&url)
            .bearer_auth(&token)
            .json(&json!({"parsed": parsed, "book": book}))
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 400);
        let text = resp.text().unwrap();
        assert!(text.contains(expected), "{text}");
    }

    // Nothing already imported was lost, and the token is nowhere in the log.
    assert_eq!(book(), before);
    assert_eq!(check(&node, "0x098B716B8Aaf21512996dC57EB0615e2383E2f96")["flagged"], true);
    assert!(!node.log().contains(&token));
}

#[test]
fn a_taxii_user_secret_missing_from_the_environment_stops_the_node_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    let key = dir.path().join("node.key");
    assert!(vigil().args(["key", "new", "--out"]).arg(&key).output().unwrap().status.success());
    std::fs::write(
        &config,
        "key = \"node.key\"\n[api]\nlisten = \"127.0.0.1:0\"\n\
         [[taxii.users]]\nname = \"analyst\"\npassword_env = \"VIGIL_TEST_UNSET_TAXII_PASSWORD\"\n",
    )
    .unwrap();
    let genesis = vigil_ledger::Genesis {
        chain_id: "vigil-itest".parse().unwrap(),
        genesis_time: 0,
        params: Default::default(),
        treasury: vigil_core::Amount::vgl(1),
        reward_pool: vigil_core::Amount::ZERO,
        accounts: vec![vigil_ledger::GenesisAccount {
            account: vigil_node::keyfile::read(&key, None).unwrap().account_id(),
            balance: vigil_core::Amount::vgl(1),
            bonded: vigil_core::Amount::vgl(1),
            validator: true,
        }],
    };
    std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml()).unwrap();
    let out = vigil().args(["node", "--config"]).arg(&config).output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("environment variable VIGIL_TEST_UNSET_TAXII_PASSWORD is not set"),
        "{err}"
    );
}

/// The `[taxii]` section of the TAXII test node: confirmed indicators readable by anyone,
/// the rest by an analyst whose password comes from the environment.
fn taxii_config() -> String {
    let mut taxii = vigil_taxii::TaxiiConfig::default();
    taxii.collections[0].anonymous_read = true;
    taxii.users.push(vigil_taxii::UserConfig {
        password_env: Some("VIGIL_TEST_TAXII_PASSWORD".into()),
        ..vigil_taxii::UserConfig::named("analyst")
    });
    #[derive(serde::Serialize)]
    struct Section {
        taxii: vigil_taxii::TaxiiConfig,
    }
    toml::to_string(&Section { taxii }).unwrap()
}

#[test]
fn taxii2_client_reads_confirmed_reports_and_stix_export_validates() {
    let Some(python) = python() else { return };
    let password = "analyst-password-7f3c1e";
    let node = TestNode::start_with(
        200,
        true,
        &taxii_config(),
        &[("VIGIL_TEST_TAXII_PASSWORD", password)],
    );
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let attacker = "0xf9e3d08196f76f5078882d98941b71c0884bea52";
    let submitted = node.cli_json(&[
        "report",
        "submit",
        "--indicator",
        attacker,
        "--indicator",
        "selector:0xa9059cbb",
        "--severity",
        "critical",
        "--category",
        "exploit",
        "--summary",
        "Popsicle Finance exploiter",
        "--bond",
        "25",
        "--key",
        &key("alice"),
    ]);
    assert_eq!(submitted["status"], "committed", "{submitted}");
    let reports = node.cli_json(&["report", "list"]);
    let id = reports["reports"][0]["id"].as_str().unwrap().to_owned();
    for who in ["bob", "carol"] {
        let out = node.cli_json(&[
            "report",
            "attest",
            &id,
            "--confirm",
            "--stake",
            "600",
            "--key",
            &key(who),
        ]);
        assert_eq!(out["status"], "committed", "{out}");
    }
    assert!(eventually(Duration::from_secs(20), || {
        node.cli_json(&["report", "show", &id])["status"] == "confirmed"
    }));
    let indicator_ids: Vec<String> = [attacker, "selector:0xa9059cbb"]
        .iter()
        .map(|s| vigil_intel::stix::indicator_id(&s.parse::<Indicator>().unwrap()))
        .collect();
    let report_stix_id = vigil_intel::stix::report_id(&id.parse().unwrap());

    // The feed appends asynchronously: wait until the confirmed indicators are served.
    let manifest = format!("{}/taxii2/vigil/collections/indicators/manifest/", node.url);
    let client = reqwest::blocking::Client::new();
    assert!(
        eventually(Duration::from_secs(15), || {
            let text = client
                .get(&manifest)
                .header("Accept", "application/taxii+json;version=2.1")
                .send()
                .and_then(|r| r.text())
                .unwrap_or_default();
            indicator_ids.iter().all(|i| text.contains(i.as_str()))
        }),
        "indicators never reached the TAXII collection; log:\n{}",
        node.log()
    );

    let spec = json!({
        "discovery": format!("{}/taxii2/", node.url),
        "user": "analyst",
        "password": password,
        "indicators_id": vigil_taxii::default_collection_id("indicators"),
        "reports_id": vigil_taxii::default_collection_id("reports"),
    });
    let spec_path = node.dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/taxii_node.py");
    let out = std::process::Command::new(&python).arg(script).arg(&spec_path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "taxii2-client failed:\n{stdout}\n{}", stderr(&out));
    let found: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(found["anonymous_collections"], json!(["Confirmed indicators"]), "{found}");
    let mut expected = indicator_ids.clone();
    expected.sort();
    assert_eq!(found["indicator_ids"], json!(expected), "{found}");
    assert_eq!(found["typed"], 2);
    assert_eq!(found["versions"], 1);
    assert_eq!(found["anon_reports"], "refused");
    for t in ["identity", "indicator", "opinion", "report"] {
        assert!(found["report_types"].as_array().unwrap().contains(&json!(t)), "{t}: {found}");
    }
    assert_eq!(found["report_ids"], json!([report_stix_id]));
    assert!(found["report_labels"].as_array().unwrap().contains(&json!("confirmed")), "{found}");
    assert_eq!(found["report_versions"], 2, "open, then confirmed: {found}");
    assert_eq!(found["opinions"], 2);
    assert_eq!(found["after_last"], 0);
    assert!(!node.log().contains(password), "the TAXII password reached the log");

    // `vigil stix export`: book + ledger, accepted by the OASIS validator.
    let list = node.dir.path().join("list.csv");
    std::fs::write(
        &list,
        "address,label\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,ronin\nevil.example,x\n",
    )
    .unwrap();
    import_json(&node, "csv", &list, &["--source", "mine"]);
    let export = node.dir.path().join("export.json");
    let out = node.cli(&["stix", "export", "--out", export.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("STIX objects"), "{}", stderr(&out));
    let bundle: Value = serde_json::from_slice(&std::fs::read(&export).unwrap()).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let count = |t: &str| objects.iter().filter(|o| o["type"] == t).count();
    assert_eq!(count("report"), 1);
    assert_eq!(count("opinion"), 2);
    assert_eq!(count("indicator"), 4, "two from the book, two from the report");
    assert_eq!(count("marking-definition"), 1);
    assert_eq!(count("extension-definition"), 1);
    let validator =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../intel/tests/py/validate_stix.py");
    let out = std::process::Command::new(&python).arg(&validator).arg(&export).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(out.status.success() && text.contains(": valid"), "stix2-validator:\n{text}");
    // --since in the future leaves only the fixed objects; a bad time is named.
    let out = node.cli(&["stix", "export", "--since", "2999-01-01T00:00:00Z"]);
    let later: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        later["objects"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["type"] != "indicator" && o["type"] != "report")
    );
    let out = node.cli(&["stix", "export", "--since", "yesterday"]);
    assert!(stderr(&out).contains("RFC 3339"), "{}", stderr(&out));
}

/// A STIX 2.1 indicator of an EVM address as a MISP/OpenCTI user would post it.
fn posted_indicator(n: u8, address: &str) -> Value {
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--2b4c6a7e-1f0d-4c3b-9a8e-00000000000{n}"),
        "created": "2026-11-20T10:00:00.000Z",
        "modified": "2026-11-20T10:00:00.000Z",
        "name": format!("drainer wallet {n}"),
        "indicator_types": ["malicious-activity"],
        "pattern": format!("[cryptocurrency-wallet:value = '{address}']"),
        "pattern_type": "stix",
        "valid_from": "2026-11-20T10:00:00Z"
    })
}

#[test]
fn taxii_inbox_posts_wait_for_review_then_accept_imports_and_reject_deletes() {
    let password = "poster-password-41c9";
    let mut taxii = vigil_taxii::TaxiiConfig::default();
    taxii.users.push(vigil_taxii::UserConfig {
        password_env: Some("VIGIL_TEST_TAXII_PASSWORD".into()),
        can_write: true,
        ..vigil_taxii::UserConfig::named("partner")
    });
    #[derive(serde::Serialize)]
    struct Section {
        taxii: vigil_taxii::TaxiiConfig,
    }
    let node = TestNode::start_with(
        200,
        true,
        &toml::to_string(&Section { taxii }).unwrap(),
        &[("VIGIL_TEST_TAXII_PASSWORD", password)],
    );
    let token = token_file(&node);
    let (kept, dropped) = (
        "0x1111111111111111111111111111111111111111",
        "0x2222222222222222222222222222222222222222",
    );
    let inbox = format!(
        "{}/taxii2/vigil/collections/{}/objects/",
        node.url,
        vigil_taxii::default_collection_id("inbox")
    );
    let media = "application/taxii+json;version=2.1";
    let posted = reqwest::blocking::Client::new()
        .post(&inbox)
        .basic_auth("partner", Some(password))
        .header("Accept", media)
        .header("Content-Type", media)
        .body(
            json!({ "objects": [posted_indicator(1, kept), posted_indicator(2, dropped)] })
                .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(posted.status().as_u16(), 202);

    // Queued, not yet believed.
    let queue = node.cli_json(&["feed", "review", "--admin-token-file", &token]);
    let items = queue["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{queue}");
    assert_eq!(items[0]["posted_by"], "partner");
    assert_eq!(items[0]["object"]["pattern"], posted_indicator(1, kept)["pattern"]);
    assert_eq!(check(&node, kept)["flagged"], false);
    let (first, second) = (items[0]["seq"].as_u64().unwrap(), items[1]["seq"].as_u64().unwrap());

    // The review needs the admin token; a bad query is a clear 400.
    let anonymous = reqwest::blocking::get(format!("{}/v1/intel/review", node.url)).unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let secret = std::fs::read_to_string(&token).unwrap();
    let bad: Value = reqwest::blocking::Client::new()
        .get(format!("{}/v1/intel/review?after=first", node.url))
        .bearer_auth(secret.trim())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(bad["error"], "invalid_query", "{bad}");

    // Accept: its indicator joins the book under the poster's name.
    let accepted = node.cli_json(&[
        "feed",
        "review",
        "--accept",
        &first.to_string(),
        "--admin-token-file",
        &token,
    ]);
    assert_eq!(accepted["decision"], "accept");
    assert_eq!(accepted["import"]["report"]["imported"], 1, "{accepted}");
    let c = check(&node, kept);
    assert_eq!(c["flagged"], true, "{c}");
    assert_eq!(sources(&c), ["taxii:partner"]);

    // Reject: gone from the queue and from the inbox, and never flagged.
    let text = node.cli(&[
        "feed",
        "review",
        "--reject",
        &second.to_string(),
        "--admin-token-file",
        &token,
    ]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(String::from_utf8_lossy(&text.stdout).contains("rejected"));
    assert_eq!(check(&node, dropped)["flagged"], false);
    let queue = node.cli_json(&["feed", "review", "--admin-token-file", &token]);
    assert_eq!(queue["items"], json!([]));
    let object = reqwest::blocking::Client::new()
        .get(format!("{inbox}{}/", posted_indicator(2, dropped)["id"].as_str().unwrap()))
        .basic_auth("partner", Some(password))
        .header("Accept", media)
        .send()
        .unwrap();
    assert_eq!(object.status().as_u16(), 404);

    // Deciding twice, or about nothing, is a clear error that changes nothing.
    let again = node.cli(&[
        "feed",
        "review",
        "--accept",
        &second.to_string(),
        "--admin-token-file",
        &token,
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains(&format!("no object #{second} is waiting for review")),
        "{}",
        stderr(&again)
    );
    assert_eq!(check(&node, dropped)["flagged"], false);
}
