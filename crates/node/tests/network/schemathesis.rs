//! Schemathesis (property-based testing from the OpenAPI description) against a live node:
//! the server must never fail (5xx), and every answer must be one the description allows.
//!
//! Checks, and why:
//! - `not_a_server_error`: any 5xx is a bug;
//! - `status_code_conformance`, `content_type_conformance`, `response_schema_conformance`,
//!   `response_headers_conformance`: every answer is documented, in its documented media type,
//!   body shape and headers (e.g. `Retry-After` on a 429);
//! - `negative_data_rejection`: what the description forbids (a malformed id, `page=0`, a
//!   `limit` over the maximum) is refused with a 4xx — the server checks its parameters
//!   against this very document;
//! - `unsupported_method`: a method an endpoint does not take gets 405 with `Allow`;
//! - `ignored_auth`: the admin endpoints refuse requests without the admin token.
//!
//! Left out: `positive_data_acceptance` (a well-formed id of nothing is rightly a 404, and an
//! address of the right shape may fail its EIP-55 checksum), and the stateful checks
//! (`use_after_free`, `ensure_resource_availability`: the description declares no links).
//! Left out of the run: `GET /v1/events` (a stream that never ends), `POST /v1/alerts`
//! (a node without gossip peers answers it 503 by design) and `POST /v1/intel/pulls` (it makes
//! the node fetch the URL in its body: fuzzed, the node would dial made-up hosts and answer
//! their failures 502 by design; `tests/it/taxii_pull.rs` drives it against real servers).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::TestNode;

/// The venv's Python, or `None` (the test skips, saying so) unless tools are required.
fn python() -> Option<String> {
    if let Ok(p) = std::env::var("VIGIL_PYTHON") {
        return Some(p);
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_TOOLS").ok().as_deref() != Some("1"),
        "schemathesis is required (VIGIL_REQUIRE_TOOLS=1): set VIGIL_PYTHON to the venv's python"
    );
    eprintln!("SKIP: VIGIL_PYTHON is not set (scripts/test.sh installs schemathesis in its venv)");
    None
}

#[test]
fn schemathesis_finds_nothing_against_a_live_node() {
    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let Some(python) = python() else { return };
    let version = Command::new(&python).args(["-m", "schemathesis.cli", "--version"]).output();
    let version = version.expect("run the venv's python");
    assert!(
        version.status.success(),
        "schemathesis is not installed in {python}: {}",
        String::from_utf8_lossy(&version.stderr)
    );
    // The run sends requests as fast as it can from one client: lift the rate limit so every
    // answer is a real one (the limits have tests of their own).
    let node = TestNode::start_with_files(200, false, "", &[], |dir| {
        let path = dir.join("config.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        let lifted = config.replacen("[api]\n", "[api]\nrate_limit = { per_second = 0 }\n", 1);
        std::fs::write(&path, lifted).unwrap();
    });
    let admin_token = std::fs::read_to_string(node.dir.path().join("admin.token")).unwrap();
    let report = node.dir.path().join("schemathesis");
    let (out_path, err_path) = (report.with_extension("out"), report.with_extension("err"));
    let started = Instant::now();
    let mut child = Command::new(&python)
        .args(["-m", "schemathesis.cli", "run"])
        .arg(format!("{}/v1/openapi.json", node.url))
        .args(["--url", &node.url])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_schema_conformance,response_headers_conformance,negative_data_rejection,\
             unsupported_method,ignored_auth",
        ])
        .args(["--exclude-path", "/v1/events", "--exclude-path", "/v1/alerts"])
        .args(["--exclude-path", "/v1/intel/pulls"])
        .args(["--phases", "examples,coverage,fuzzing"])
        // The admin endpoints are exercised with the node's token (`ignored_auth` then proves
        // they refuse requests without it).
        .args(["--header", &format!("Authorization: Bearer {}", admin_token.trim())])
        // One worker: Python 3.11's parser is not safe across the threads of several.
        .args(["--max-examples", "40", "--max-time", "90", "--workers", "1", "--seed", "15"])
        .args(["--request-timeout", "10", "--wait-for-schema", "10", "--no-color"])
        .arg("--report-dir")
        .arg(&report)
        // Its cache of crashes goes in the node's temporary directory, not the checkout.
        .current_dir(node.dir.path())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .expect("start schemathesis");
    // Bounded whatever happens: the run's own budget is 90 s.
    let deadline = Duration::from_secs(150);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    eprintln!("schemathesis took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        status.success(),
        "schemathesis found problems (exit {status}):\n{stdout}\n{stderr}\nnode log:\n{}",
        node.log()
    );
    eprintln!("{}", stdout.lines().rev().take(12).collect::<Vec<_>>().join("\n"));
}
