//! The dashboard in Debian's Chromium, driven by playwright-core (`tests/browser/dashboard.mjs`):
//! `vigil up`, the demo's verdict arriving live, a CLI breaker trip on the board within a
//! second, markup injected through a summary and a trip reason shown as text, a node restart
//! the page reconnects across, and no request to any host but the node. Screenshots go to
//! `$VIGIL_ARTIFACTS` (default: the test's temp dir, printed). Bounded to 3 minutes.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::free_port;

/// Chromium and playwright-core, or `None` (the test skips, saying so) unless tools are
/// required (`scripts/test.sh` installs both).
fn browser() -> Option<(String, String)> {
    match (std::env::var("VIGIL_CHROMIUM"), std::env::var("VIGIL_PLAYWRIGHT")) {
        (Ok(c), Ok(p)) => Some((c, p)),
        _ => {
            assert!(
                std::env::var("VIGIL_REQUIRE_TOOLS").as_deref() != Ok("1"),
                "VIGIL_REQUIRE_TOOLS=1 but VIGIL_CHROMIUM / VIGIL_PLAYWRIGHT are not set (run scripts/test.sh)"
            );
            eprintln!(
                "SKIPPED: VIGIL_CHROMIUM and VIGIL_PLAYWRIGHT are not set (scripts/test.sh installs Chromium and playwright-core)"
            );
            None
        }
    }
}

#[test]
fn the_dashboard_updates_live_in_chromium_and_shows_untrusted_text_as_text() {
    let _one = crate::ONE_AT_A_TIME.blocking_lock();
    let Some((chromium, playwright)) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let artifacts = std::env::var_os("VIGIL_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| dir.path().join("artifacts"));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser/dashboard.mjs");
    let mut child = Command::new("node")
        .arg(&script)
        .env("VIGIL_BIN", env!("CARGO_BIN_EXE_vigil"))
        .env("VIGIL_DATA", dir.path().join("data"))
        .env("VIGIL_PORT", free_port().to_string())
        .env("VIGIL_CHROMIUM", chromium)
        .env("VIGIL_PLAYWRIGHT", playwright)
        .env("VIGIL_ARTIFACTS", &artifacts)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node (Node.js) runs the browser test");
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let out = child.wait_with_output().unwrap();
    let log = std::fs::read_to_string(artifacts.join("node.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the browser test failed after {:?}:\n{}\n{}\nnode log (last lines):\n{}",
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        log.lines()
            .rev()
            .take(30)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let measured: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("dashboard: {measured}; screenshots in {}", artifacts.display());
    for name in ["board", "reports", "reputation", "governance", "plots"] {
        assert!(artifacts.join(format!("{name}.png")).exists(), "{name}.png");
    }
}
