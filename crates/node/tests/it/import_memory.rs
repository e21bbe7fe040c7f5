//! Memory of a real node while the same feed is imported again and again (issue 15): a feed
//! the node already holds must not leave its resident memory higher each time.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::TestNode;

/// Imports of the same feed.
const IMPORTS: usize = 20;
/// Largest allowed growth of resident memory from after the first import to after the last.
const MAX_GROWTH: f64 = 1.3;

/// A feed shaped like MetaMask's `eth-phishing-detect` config of `../shared/data` (13,752
/// blocked names, 1,138 allowed, 15 fuzzy, tolerance 2: 14,905 records), with made-up names so
/// that the test needs no outside data.
fn metamask_like_config(path: &Path) {
    let name =
        |kind: &str, i: usize| format!("{kind}{i}-{}.example-{}.com", i * 7919 % 1000, i % 97);
    let config = json!({
        "version": 2,
        "tolerance": 2,
        "fuzzylist": (0..15).map(|i| format!("brand{i}wallet.io")).collect::<Vec<_>>(),
        "whitelist": (0..1_138).map(|i| name("good", i)).collect::<Vec<_>>(),
        "blacklist": (0..13_752).map(|i| name("phish", i)).collect::<Vec<_>>(),
    });
    std::fs::write(path, serde_json::to_vec(&config).unwrap()).unwrap();
}

/// The resident memory of process `pid` (VmRSS), in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).expect("VmRSS in status");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn reimporting_the_same_feed_does_not_grow_the_node() {
    let started = Instant::now();
    let node = TestNode::start(200, false);
    let pid = node.pid().expect("node runs");
    let feed = node.dir.path().join("config.json");
    metamask_like_config(&feed);
    let token = node.dir.path().join("admin.token").to_string_lossy().into_owned();
    let path = feed.to_string_lossy().into_owned();
    let mut rss = Vec::new();
    for i in 1..=IMPORTS {
        let out = node.cli(&[
            "--json",
            "feed",
            "import",
            "metamask",
            &path,
            "--source",
            "phishing",
            "--admin-token-file",
            &token,
        ]);
        assert!(
            out.status.success(),
            "import {i}: {}\nnode log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            node.log()
        );
        let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(outcome["changed"], i == 1, "import {i}: {outcome}");
        assert_eq!(outcome["indicators"], 13_752);
        // Let the allocator hand back what the import freed (jemalloc decays it in steps).
        std::thread::sleep(Duration::from_millis(200));
        rss.push(rss_kib(pid));
    }
    let (first, last) = (rss[0], rss[IMPORTS - 1]);
    let growth = last as f64 / first as f64;
    eprintln!(
        "node RSS after each import (KiB): {rss:?}; after import 1: {first}, after import \
         {IMPORTS}: {last}, ratio {growth:.2} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        growth <= MAX_GROWTH,
        "RSS grew {growth:.2}× from import 1 to import {IMPORTS} (at most {MAX_GROWTH}×): {rss:?}"
    );
}
