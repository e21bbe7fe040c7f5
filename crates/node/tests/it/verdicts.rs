//! Verdicts and governance explained through the CLI: `report show` says why a report has its
//! status and what to run next, amounts print in VGL, short ids resolve, `gov show` decodes
//! every action, and proposals that could not have an effect are refused with the reason.

use std::process::Output;
use std::time::Duration;

use vigil_core::{Category, ContentId, Indicator, Report, Severity};

use crate::harness::{TestNode, eventually};

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the CLI in text mode and returns its output, failing with stderr when it fails.
fn ok(node: &TestNode, args: &[&str]) -> String {
    let out = node.cli(args);
    assert!(out.status.success(), "vigil {args:?} failed: {}", stderr(&out));
    stdout(&out)
}

/// Runs the CLI and returns its stderr, failing when it succeeds.
fn refused(node: &TestNode, args: &[&str]) -> String {
    let out = node.cli(args);
    assert!(!out.status.success(), "vigil {args:?} succeeded: {}", stdout(&out));
    stderr(&out)
}

fn report(summary: &str) -> Report {
    Report {
        indicators: vec![
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96".parse::<Indicator>().unwrap(),
        ],
        severity: Severity::High,
        category: Category::Exploit,
        summary: summary.into(),
        evidence: vec![],
        affected_protocols: vec![],
        detection: Vec::new(),
        revokes: Vec::new(),
    }
}

fn submit(node: &TestNode, summary: &str) -> ContentId {
    let key = node.key_path("alice").to_string_lossy().into_owned();
    let out = ok(
        node,
        &[
            "report",
            "submit",
            "--indicator",
            "0x098B716B8Aaf21512996dC57EB0615e2383E2f96",
            "--severity",
            "high",
            "--category",
            "exploit",
            "--summary",
            summary,
            "--bond",
            "10",
            "--key",
            &key,
        ],
    );
    let id = out.lines().find_map(|l| l.strip_prefix("report ")).expect("the report id");
    let id: ContentId = id.trim().parse().unwrap();
    assert_eq!(id, report(summary).id(), "the test builds the same report");
    id
}

/// The proposal id `gov propose` prints.
fn proposal_id(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("proposal "))
        .and_then(|l| l.split_whitespace().next())
        .expect("the proposal id")
        .to_owned()
}

#[test]
fn report_show_explains_open_and_escalated_reports_and_short_ids_resolve() {
    let node = TestNode::start(200, true);
    let key = |n: &str| node.key_path(n).to_string_lossy().into_owned();
    let id = submit(&node, "Ronin bridge exploiter");
    // The demo of `vigil up` logs reports by `ContentId::short` (12 hex digits).
    let short = id.short();

    let open = ok(&node, &["report", "show", &short]);
    assert!(open.contains(&format!("report      {id}")), "{open}");
    assert!(open.contains("open for attestations until height"), "{open}");
    // 5,000 VGL bonded, a 10% quorum: 500 VGL of weight.
    assert!(open.contains("0 VGL of weight cast, 500 VGL more needed"), "{open}");
    assert!(open.contains(&format!("vigil report attest {short} --confirm|--dispute")), "{open}");
    let with_0x = ok(&node, &["report", "show", &format!("0x{}", &short[..6])]);
    assert!(with_0x.contains(&id.to_string()), "{with_0x}");

    // Without a stance, the error names both.
    let why = refused(&node, &["report", "attest", &short, "--stake", "1", "--key", &key("bob")]);
    assert!(why.contains("--confirm") && why.contains("--dispute"), "{why}");

    // Bob confirms with 100 VGL; a newcomer's reputation counts one half: 50 VGL of weight.
    let out = node.cli_json(&[
        "report",
        "attest",
        &short,
        "--confirm",
        "--stake",
        "100",
        "--key",
        &key("bob"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");
    let shown = ok(&node, &["report", "show", &short]);
    assert!(shown.contains("confirm 50 VGL · dispute 0 VGL of weight"), "{shown}");
    assert!(shown.contains("stake 100 VGL weight 50 VGL"), "{shown}");
    assert!(!shown.contains("50000000"), "amounts in VGL, not base units: {shown}");
    assert!(shown.contains("50 VGL of weight cast, 450 VGL more needed"), "{shown}");
    assert!(shown.contains("now, it would be escalated"), "{shown}");
    // JSON keeps base units.
    let json = node.cli_json(&["report", "show", &short]);
    assert_eq!(json["tally"]["confirm_weight"], 50_000_000);
    assert_eq!(json["verdict_rule"]["quorum"], 500_000_000u64);

    assert!(
        eventually(Duration::from_secs(20), || {
            node.cli_json(&["report", "show", &short])["status"] == "escalated"
        }),
        "the report did not escalate"
    );
    let escalated = ok(&node, &["report", "show", &short]);
    assert!(
        escalated.contains(
            "escalated because the weight cast, 50 VGL, is below the quorum 500 VGL at the deadline"
        ),
        "{escalated}"
    );
    assert!(
        escalated.contains(&format!("vigil gov propose --resolve-report {short} confirm|reject")),
        "{escalated}"
    );

    // Governance decides it, named by its short id.
    let proposed = ok(
        &node,
        &[
            "gov",
            "propose",
            "--resolve-report",
            &short,
            "confirm",
            "--description",
            "bob's evidence holds",
            "--key",
            &key("alice"),
        ],
    );
    let proposal = proposal_id(&proposed);
    let gov = ok(&node, &["gov", "show", &proposal]);
    assert!(gov.contains(&format!("confirm escalated report {id}")), "{gov}");
    assert!(gov.contains("\"Ronin bridge exploiter\", escalated now"), "{gov}");
    assert!(gov.contains(&format!("vigil gov vote {proposal} --choice yes|no|abstain")), "{gov}");
    let pending = ok(&node, &["report", "show", &short]);
    assert!(
        pending.contains(&format!("proposal {proposal} (voting) would confirm it")),
        "{pending}"
    );
    vote_yes(&node, &proposal, &key);
    assert!(
        eventually(Duration::from_secs(20), || {
            node.cli_json(&["report", "show", &short])["status"] == "confirmed"
        }),
        "governance did not confirm the report"
    );
    let confirmed = ok(&node, &["report", "show", &short]);
    assert!(
        confirmed.contains(&format!("confirmed by governance: proposal {proposal} decided it")),
        "{confirmed}"
    );
    // A final report cannot be resolved again: refused at admission, with the reason.
    let again = refused(
        &node,
        &[
            "gov",
            "propose",
            "--resolve-report",
            &short,
            "reject",
            "--description",
            "again",
            "--key",
            &key("alice"),
        ],
    );
    assert!(again.contains("is confirmed, not escalated"), "{again}");

    // Two reports whose ids share their first four hex digits: the prefix is ambiguous.
    let mut seen = std::collections::BTreeMap::new();
    let (a, b) = (0..)
        .find_map(|i| {
            let summary = format!("drainer wave {i}");
            let prefix = report(&summary).id().to_string()[..4].to_owned();
            seen.insert(prefix.clone(), summary.clone()).map(|earlier| (earlier, summary))
        })
        .unwrap();
    let (a, b) = (submit(&node, &a), submit(&node, &b));
    let prefix = &a.to_string()[..4];
    let ambiguous = refused(&node, &["report", "show", prefix]);
    assert!(ambiguous.contains(&format!("report id prefix {prefix} is ambiguous")), "{ambiguous}");
    assert!(ambiguous.contains(&a.to_string()) && ambiguous.contains(&b.to_string()));
    let longer = &a.to_string()[..20];
    assert!(ok(&node, &["report", "show", longer]).contains(&a.to_string()));
    let unknown = ["ffff", "0000", "1234", "abcd"]
        .into_iter()
        .map(|p| format!("{p}{p}{p}"))
        .find(|p| ![id, a, b].iter().any(|i| i.to_string().starts_with(p.as_str())))
        .unwrap();
    let none = refused(&node, &["report", "show", &unknown]);
    assert!(none.contains(&format!("no report id starts with {unknown}")), "{none}");
    let bad = refused(&node, &["report", "show", "xyz"]);
    assert!(bad.contains("is not a report id"), "{bad}");
}

#[test]
fn gov_show_decodes_actions_and_proposals_without_effect_are_refused() {
    let node = TestNode::start(200, true);
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
        "--key",
        &key("alice"),
    ]);
    assert_eq!(out["status"], "committed", "{out}");

    // `protocol show` lists guardians with the threshold, and monitors.
    let shown = ok(&node, &["protocol", "show", "lendingvault"]);
    assert!(shown.contains("guardians   2 of these 3 must approve a reset"), "{shown}");
    for g in ["bob", "carol", "dave", "alice"] {
        assert!(shown.contains(&format!("  {}", id(g))), "{g} missing: {shown}");
    }
    assert!(shown.contains("monitors    1 may trip the breaker on the fast path"), "{shown}");

    // Refused at admission: resetting an armed breaker, proposing the parameters in force.
    let armed = refused(
        &node,
        &[
            "gov",
            "propose",
            "--breaker-reset",
            "lendingvault",
            "--description",
            "reset",
            "--key",
            &key("alice"),
        ],
    );
    assert!(
        armed.contains("the breaker of lendingvault is armed; there is nothing to reset"),
        "{armed}"
    );
    // With its own code (a one-value variant once failed to serialise and showed invalid_tx).
    assert!(armed.contains("(not_tripped, HTTP 400)"), "{armed}");
    let same = refused(
        &node,
        &[
            "gov",
            "propose",
            "--param",
            "min_report_bond=10000000",
            "--description",
            "no change",
            "--key",
            &key("alice"),
        ],
    );
    assert!(same.contains("the proposal would change nothing"), "{same}");

    // A parameter change reads as what it sets, before and after it executes.
    let proposed = ok(
        &node,
        &[
            "gov",
            "propose",
            "--param",
            "min_report_bond=25000000",
            "--param",
            "attestation_quorum_bps=2000",
            "--description",
            "raise the bond and the quorum",
            "--key",
            &key("alice"),
        ],
    );
    let change = proposal_id(&proposed);
    let gov = ok(&node, &["gov", "show", &change]);
    assert!(gov.contains("change 2 parameters"), "{gov}");
    assert!(gov.contains("set min_report_bond from 10 VGL to 25 VGL"), "{gov}");
    assert!(
        gov.contains("set attestation_quorum_bps from 10.00% (1000 bps) to 20.00% (2000 bps)"),
        "{gov}"
    );
    assert!(!gov.contains("params"), "no encoded parameters in text: {gov}");
    let json = node.cli_json(&["gov", "show", &change]);
    assert_eq!(json["changes"][0]["name"], "min_report_bond", "{json}");
    vote_yes(&node, &change, &key);
    assert!(
        eventually(Duration::from_secs(20), || node.cli_json(&["gov", "show", &change])["status"]
            == "executed"),
        "the parameter change did not execute"
    );
    let executed = ok(&node, &["gov", "show", &change]);
    assert!(executed.contains("set min_report_bond from 10 VGL to 25 VGL"), "{executed}");

    // A breaker reset and a treasury spend, in words.
    node.cli_json(&["breaker", "trip", "lendingvault", "--reason", "drain", "--key", &key("bob")]);
    let proposed = ok(
        &node,
        &[
            "gov",
            "propose",
            "--breaker-reset",
            "lendingvault",
            "--description",
            "fixed",
            "--key",
            &key("alice"),
        ],
    );
    let reset = ok(&node, &["gov", "show", &proposal_id(&proposed)]);
    assert!(reset.contains("re-arm the breaker of lendingvault"), "{reset}");
    assert!(reset.contains("its breaker is now TRIPPED at height"), "{reset}");
    let proposed = ok(
        &node,
        &[
            "gov",
            "propose",
            "--treasury-spend",
            &id("carol"),
            "5",
            "--description",
            "audit",
            "--key",
            &key("bob"),
        ],
    );
    let spend = ok(&node, &["gov", "show", &proposal_id(&proposed)]);
    assert!(spend.contains(&format!("pay 5 VGL from the treasury to {}", id("carol"))), "{spend}");
    assert!(spend.contains("the treasury holds"), "{spend}");
}

#[test]
fn the_short_report_ids_the_demo_of_vigil_up_prints_work_with_report_show() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let mut up = crate::harness::vigil()
        .args(["up", "--data"])
        .arg(dir.path().join("devnet"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, got) = std::sync::mpsc::channel();
    let pipe = up.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    // "height N: alice's report <12 hex digits> is confirmed"
    let mut log = String::new();
    let short = loop {
        let line = match got.recv_timeout(Duration::from_secs(90)) {
            Ok(line) => line,
            Err(e) => {
                up.kill().unwrap();
                panic!("no verdict in the demo's log ({e}):\n{log}");
            }
        };
        log.push_str(&line);
        log.push('\n');
        if let Some(rest) = line.split("alice's report ").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    assert_eq!(short.len(), 12, "{log}");
    let out = crate::harness::vigil().args(["--node", &url, "report", "show", &short]).output();
    up.kill().unwrap();
    up.wait().unwrap();
    let out = out.unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{log}", stderr(&out));
    assert!(text.contains(&format!("report      {short}")), "{text}");
    assert!(text.contains("verdict     confirmed at height"), "{text}");
}

/// Every account votes yes on `proposal`. The voting period is a second of blocks: on a loaded
/// machine the proposal may pass on the first votes, and then a later vote is refused as
/// closed, which is fine.
fn vote_yes(node: &TestNode, proposal: &str, key: &dyn Fn(&str) -> String) {
    for who in ["alice", "bob", "carol", "dave"] {
        let out = node.cli(&["gov", "vote", proposal, "--choice", "yes", "--key", &key(who)]);
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() || e.contains("voting_closed"), "{who}: {e}");
    }
}
