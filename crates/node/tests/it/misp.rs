//! MISP interop end to end: a MISP event file imports into the book, the book goes out as a MISP
//! feed directory (`vigil misp export`), PyMISP (MISP's own Python library) loads every event
//! of it and the manifest, and the feed directory imports into another node with the same
//! indicators. A feed directory whose manifest names a missing or broken event file imports
//! the rest and names the bad file; one without a manifest imports nothing.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::harness::{TestNode, python};

fn fixture(name: &str) -> String {
    format!("{}/../../testdata/feeds/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn import(node: &TestNode, path: &str) -> std::process::Output {
    let token = node.dir.path().join("admin.token").to_string_lossy().into_owned();
    node.cli(&["--json", "feed", "import", "misp", path, "--admin-token-file", &token])
}

fn imported(node: &TestNode, path: &str) -> Value {
    let out = import(node, path);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Loads every event of the feed with PyMISP; prints `uuid type value` per attribute.
const LOAD: &str = r#"
import json, os, sys
from pymisp import MISPEvent
feed = sys.argv[1]
manifest = json.load(open(os.path.join(feed, "manifest.json")))
for uuid, meta in sorted(manifest.items()):
    event = MISPEvent()
    event.load_file(os.path.join(feed, uuid + ".json"))
    assert event.uuid == uuid, (event.uuid, uuid)
    assert event.info == meta["info"], (event.info, meta["info"])
    for a in event.attributes:
        print(uuid, a.type, a.value, ",".join(t.name for t in a.tags))
    for o in event.objects:
        for a in o.attributes:
            print(uuid, o.name + "/" + a.object_relation, a.value, ",".join(t.name for t in a.tags))
"#;

#[test]
fn a_misp_event_round_trips_through_the_book_and_a_feed_that_pymisp_loads() {
    let Some(python) = python() else { return };
    let node = TestNode::start(200, false);
    // The event as if published now: the 2024 original has decayed out of what is shared.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let event = std::fs::read_to_string(fixture("misp-event.json"))
        .unwrap()
        .replace("1710403200", &now.to_string());
    let fresh = node.dir.path().join("event.json");
    std::fs::write(&fresh, event).unwrap();
    let first = imported(&node, fresh.to_str().unwrap());
    assert_eq!(first["report"]["imported"], 5, "{first}");

    let feed = node.dir.path().join("misp-feed");
    let out = node.cli(&["misp", "export", "--out", feed.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("MISP feed of 1 events (5 attributes)"), "{said}");

    let loaded = Command::new(&python).args(["-c", LOAD, feed.to_str().unwrap()]).output().unwrap();
    assert!(loaded.status.success(), "PyMISP: {}", String::from_utf8_lossy(&loaded.stderr));
    let lines = String::from_utf8(loaded.stdout).unwrap();
    for expected in [
        "domain claim-arbitrum.app",
        "url https://claim-arbitrum.app/connect?wallet=1",
        "domain cdn.drainer-kit.io",
        "coin-address/address-crypto 0x7f499aee25f0ef0f3e2f047cb11caf27a32370c1",
        "coin-address/address-crypto 0x31c48750773348cd1ceee81106d8c363d393ed4c",
        "coin-address/symbol ETH",
    ] {
        assert!(
            lines.to_lowercase().contains(&expected.to_lowercase()),
            "{expected:?} not in\n{lines}"
        );
    }
    assert!(lines.contains("vigil:category=\"scam\""), "{lines}");

    // The feed directory imports into another node: the same five indicators.
    let other = TestNode::start(200, false);
    let again = imported(&other, feed.to_str().unwrap());
    assert_eq!(again["report"]["imported"], 5, "{again}");
    assert_eq!(again["report"]["rejected_total"], 0, "{again}");
    for indicator in ["claim-arbitrum.app", "0x31c48750773348cd1ceee81106d8c363d393ed4c"] {
        let hit = other.cli_json(&["check", indicator]);
        let source = &hit["feeds"]["sources"][0];
        assert_eq!(source["name"], "misp", "{indicator}: {hit}");
        let before = node.cli_json(&["check", indicator]);
        assert_eq!(source["category"], before["feeds"]["sources"][0]["category"], "{indicator}");
    }
}

#[test]
fn a_broken_feed_directory_imports_what_it_can_and_names_what_it_cannot() {
    let node = TestNode::start(200, false);
    let dir = tempfile::tempdir().unwrap();
    let event = std::fs::read_to_string(fixture("misp-event.json")).unwrap();
    let good = "5f1c0a2e-2b1d-4a86-9a55-0c9e6a3f7b01";
    std::fs::write(dir.path().join(format!("{good}.json")), &event).unwrap();
    std::fs::write(dir.path().join("6a2d1b3f-3c2e-4b97-8b66-1d0f7b4a8c12.json"), "{\"Event\": [")
        .unwrap();
    let manifest = serde_json::json!({
        good: {"info": "drainer kit"},
        "6a2d1b3f-3c2e-4b97-8b66-1d0f7b4a8c12": {"info": "truncated"},
        "7b3e2c40-4d3f-4ca8-9c77-2e108c5b9d23": {"info": "not there"},
        "../../etc/passwd": {"info": "outside"},
    });
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    let report = imported(&node, dir.path().to_str().unwrap());
    assert_eq!(report["report"]["imported"], 5, "{report}");
    let rejected = report["report"]["rejected"].to_string();
    for name in [
        "6a2d1b3f-3c2e-4b97-8b66-1d0f7b4a8c12.json",
        "7b3e2c40-4d3f-4ca8-9c77-2e108c5b9d23.json",
        "not an event uuid",
    ] {
        assert!(rejected.contains(name), "{name:?} not in {rejected}");
    }
    // The fixture's own rejection names its file.
    assert!(rejected.contains(&format!("{good}.json: ")), "{rejected}");

    // No manifest: nothing imported, and the error says what a feed directory holds.
    let empty = tempfile::tempdir().unwrap();
    let out = import(&node, empty.path().to_str().unwrap());
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("manifest.json") && e.contains("nothing was imported"), "{e}");
    assert!(Path::new(&fixture("misp-event.json")).exists());
}
