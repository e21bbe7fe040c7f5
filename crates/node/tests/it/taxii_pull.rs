//! `vigil feed pull` against medallion, the OASIS TAXII 2.1 reference server (PyPI), serving
//! a collection Vigil did not write: the 16 official STIX 2.1 example bundles of
//! `../shared/data/stix21-examples/` and 2,000 generated indicators of 5 wallet addresses each
//! (10,000 addresses). medallion pages by `next` and caps pages at 100 objects whatever
//! `limit` asks. Checked: a full sync, an incremental pull that fetches only what was added
//! since, a pull stopped by the server failing after five pages and one stopped by the node
//! being killed, each resuming without duplicates, a server answering 500s, garbage, the wrong
//! media type, 401 or 404 — each a clear error that loses nothing and leaves the cursor where
//! it was — and `[[intel.pull]]` syncing a node by itself.
//!
//! The server runs through `tests/py/medallion_server.py` (medallion's own application with
//! its timestamp parser memoised and a fault switch; see that file).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{TestNode, eventually, free_port, python, vigil};

const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";
const USER: &str = "vigil";
const PASSWORD: &str = "correct horse battery staple";
const PASSWORD_VAR: &str = "VIGIL_TEST_TAXII_PASSWORD";
/// Generated indicator objects, and wallet addresses in each.
const WALLET_OBJECTS: usize = 2_000;
const WALLETS_PER_OBJECT: usize = 5;
/// The page size medallion is configured with.
const PAGE: usize = 100;

fn data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.is_dir() {
        return Some(dir);
    }
    eprintln!("SKIPPED: {} is absent (the team's shared data)", dir.display());
    None
}

/// A wallet address of generated object `i`, number `j` (lower case: no checksum to get wrong).
fn wallet(i: usize, j: usize) -> String {
    format!(
        "0x{:08x}{:032x}",
        i * WALLETS_PER_OBJECT + j + 1,
        (i as u128 + 1) * 0x9e37_79b9_7f4a_7c15
    )
}

/// Generated indicator object `i`: a STIX 2.1 indicator whose pattern names five wallets.
fn wallet_indicator(i: usize, created: &str) -> Value {
    let pattern: Vec<String> = (0..WALLETS_PER_OBJECT)
        .map(|j| format!("[cryptocurrency-wallet:address = '{}']", wallet(i, j)))
        .collect();
    json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": format!("indicator--{:08x}-0000-4000-8000-{:012x}", i, i),
        "created": created,
        "modified": created,
        "name": format!("drainer wallets #{i}"),
        "labels": ["scam"],
        "pattern": pattern.join(" OR "),
        "pattern_type": "stix",
        "valid_from": created,
    })
}

/// The objects of the 16 official example bundles, the newest version of each (a TAXII
/// collection answers with the newest version only).
fn examples(data: &Path) -> Vec<Value> {
    let mut files = Vec::new();
    for dir in ["cti-documentation", "cti-stix2-json-schemas/examples"] {
        for entry in std::fs::read_dir(data.join("stix21-examples").join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 16, "{files:?}");
    let mut newest: std::collections::BTreeMap<String, Value> = Default::default();
    let version = |o: &Value| o.get("modified").or_else(|| o.get("created")).map(Value::to_string);
    for file in files {
        let bundle: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for o in bundle["objects"].as_array().unwrap() {
            let id = o["id"].as_str().unwrap().to_owned();
            if newest.get(&id).is_none_or(|old| version(old) < version(o)) {
                newest.insert(id, o.clone());
            }
        }
    }
    newest.into_values().collect()
}

/// medallion on a free loopback port, serving one collection.
struct Medallion {
    child: Child,
    base: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Medallion {
    /// Writes medallion's memory-backend data file (objects with their manifest, `date_added`
    /// one microsecond apart in object order) and configuration, and starts it.
    fn start(python: &Path, objects: &[Value]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut stored = Vec::new();
        let mut manifest = Vec::new();
        for (n, o) in objects.iter().enumerate() {
            let date_added = format!("2025-01-01T00:00:00.{n:06}Z");
            let mut o = o.clone();
            let version = match o.get("modified").or_else(|| o.get("created")) {
                Some(v) => v.clone(),
                None => {
                    // Objects without a version (SCOs): medallion keeps their date here.
                    o["_date_added"] = json!(date_added);
                    json!(date_added)
                }
            };
            manifest.push(json!({
                "id": o["id"], "date_added": date_added, "version": version,
                "media_type": "application/stix+json;version=2.1",
            }));
            stored.push(o);
        }
        let data = json!({
            "/discovery": {
                "title": "medallion for Vigil's tests",
                "default": format!("{base}/api1/"),
                "api_roots": [format!("{base}/api1/")],
            },
            "api1": {
                "information": {
                    "title": "test root",
                    "versions": ["application/taxii+json;version=2.1"],
                    "max_content_length": 104_857_600,
                },
                "status": [],
                "collections": [{
                    "id": COLLECTION, "title": "wallets and the official examples",
                    "can_read": true, "can_write": true,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": stored, "manifest": manifest,
                }],
            },
        });
        let data_path = dir.path().join("data.json");
        std::fs::write(&data_path, serde_json::to_vec(&data).unwrap()).unwrap();
        let config = json!({
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": data_path,
            },
            "users": { USER: PASSWORD },
            "taxii": { "max_page_size": PAGE },
        });
        let config_path = dir.path().join("config.json");
        std::fs::write(&config_path, serde_json::to_vec(&config).unwrap()).unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/medallion_server.py");
        let log = dir.path().join("medallion.log");
        let child = Command::new(python)
            .arg(script)
            .arg(&config_path)
            .arg(port.to_string())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(dir.path().join("medallion.err")).unwrap())
            .spawn()
            .expect("start medallion");
        let server = Self { child, base, log, _dir: dir };
        let http = reqwest::blocking::Client::new();
        let started = Instant::now();
        loop {
            let up = http
                .get(format!("{}/taxii2/", server.base))
                .basic_auth(USER, Some(PASSWORD))
                .header("Accept", "application/taxii+json;version=2.1")
                .send()
                .is_ok_and(|r| r.status().is_success());
            if up {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "medallion did not start: {}",
                server.stderr()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default()
    }

    fn api_root(&self) -> String {
        format!("{}/api1/", self.base)
    }

    /// Sets the fault switch (see `medallion_server.py`).
    fn faults(&self, kind: &str, after: usize) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_faults", self.base))
            .json(&json!({ "kind": kind, "after": after }))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }

    /// Adds objects through medallion's own TAXII "add objects" endpoint.
    fn add(&self, objects: Vec<Value>) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}collections/{COLLECTION}/objects/", self.api_root()))
            .basic_auth(USER, Some(PASSWORD))
            .header("Accept", "application/taxii+json;version=2.1")
            .header("Content-Type", "application/taxii+json;version=2.1")
            .body(serde_json::to_vec(&json!({ "objects": objects })).unwrap())
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 202, "{}", r.text().unwrap_or_default());
    }
}

impl Drop for Medallion {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `vigil feed pull` against `server`'s collection as source `medallion` (extra arguments
/// appended); the parsed `--json` report, or the error text.
fn pull(node: &TestNode, server: &Medallion, extra: &[&str]) -> Result<Value, String> {
    let token = node.dir.path().join("admin.token");
    let root = server.api_root();
    let out = vigil()
        .args(["--node", &node.url, "--json", "feed", "pull", "--taxii", &root])
        .args(["--collection", COLLECTION, "--user", USER, "--password-env", PASSWORD_VAR])
        .args(["--source", "medallion", "--admin-token-file"])
        .arg(&token)
        .args(extra)
        .env(PASSWORD_VAR, PASSWORD)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn book_size(node: &TestNode) -> u64 {
    node.cli_json(&["feed", "list"])["indicators"].as_u64().unwrap()
}

fn count(report: &Value, key: &str) -> u64 {
    report[key].as_u64().unwrap_or_else(|| panic!("{key} in {report}"))
}

#[test]
fn feed_pull_syncs_medallion_incrementally_resumes_and_survives_bad_answers() {
    let _timed = crate::harness::one_timed_at_a_time();
    let Some(python) = python() else { return };
    let Some(data) = data_dir() else { return };
    let mut objects = examples(&data);
    let example_count = objects.len();
    objects.extend((0..WALLET_OBJECTS).map(|i| wallet_indicator(i, "2024-06-01T00:00:00.000Z")));
    let total = objects.len() as u64;
    let server = Medallion::start(&python, &objects);
    let node = TestNode::start(200, false);

    // Full sync.
    let started = Instant::now();
    let full = pull(&node, &server, &[]).unwrap_or_else(|e| panic!("{e}\n{}", node.log()));
    let elapsed = started.elapsed();
    let imported = full["report"]["imported"].as_u64().unwrap();
    assert_eq!(count(&full, "objects"), total, "{full}");
    assert!(imported >= (WALLET_OBJECTS * WALLETS_PER_OBJECT) as u64, "{full}");
    assert_eq!(count(&full, "pages"), total.div_ceil(PAGE as u64), "{full}");
    assert_eq!(full["added_after"], Value::Null);
    let last_added = format!("2025-01-01T00:00:00.{:06}Z", total - 1);
    assert_eq!(full["cursor"], json!(last_added), "{full}");
    assert_eq!(book_size(&node), imported);
    assert_eq!(full["report"]["rejected_total"], 0, "{full}");
    eprintln!(
        "TAXII full sync: {total} objects ({example_count} official examples), {imported} \
         indicators in {} pages, {:.2} s: {:.0} indicators/s",
        full["pages"],
        elapsed.as_secs_f64(),
        imported as f64 / elapsed.as_secs_f64()
    );
    let check = node.cli_json(&["check", &wallet(1_234, 3)]);
    assert!(check.to_string().contains("medallion"), "{check}");

    // Nothing new: one empty page, the cursor unchanged.
    let again = pull(&node, &server, &[]).unwrap();
    assert_eq!((count(&again, "objects"), count(&again, "pages")), (0, 1), "{again}");
    assert_eq!(again["added_after"], json!(last_added));
    assert_eq!(again["cursor"], json!(last_added));

    // Thirty objects added to the server: the incremental pull fetches those only.
    let added: Vec<Value> = (WALLET_OBJECTS..WALLET_OBJECTS + 30)
        .map(|i| wallet_indicator(i, "2024-07-01T00:00:00.000Z"))
        .collect();
    server.add(added);
    let inc = pull(&node, &server, &[]).unwrap();
    assert_eq!(count(&inc, "objects"), 30, "{inc}");
    assert_eq!(inc["report"]["imported"], json!(30 * WALLETS_PER_OBJECT), "{inc}");
    assert_eq!(inc["report"]["merged"], 0, "{inc}");
    assert_ne!(inc["cursor"], json!(last_added));
    let after_inc = book_size(&node);
    assert_eq!(after_inc, imported + (30 * WALLETS_PER_OBJECT) as u64);

    // Bad answers: clear errors, nothing lost, the cursor where it was.
    let cursor = inc["cursor"].clone();
    for (kind, says) in [
        ("status", "answered HTTP 500 (tried 4 times): InternalError: injected"),
        ("garbage", "not a TAXII 2.1 envelope"),
        ("media_type", "\"text/html; charset=utf-8\", not application/taxii+json"),
    ] {
        server.faults(kind, 0);
        let e = pull(&node, &server, &[]).unwrap_err();
        assert!(e.contains(says), "{kind}: {e}");
        assert!(
            e.contains(&format!("{}collections/{COLLECTION}/objects/", server.api_root())),
            "{e}"
        );
        assert!(!e.contains(PASSWORD), "{e}");
        server.faults("none", 0);
        assert_eq!(book_size(&node), after_inc, "{kind}");
    }
    let missing = vigil()
        .args(["--node", &node.url, "feed", "pull", "--taxii", &server.api_root()])
        .args([
            "--collection",
            "no-such-collection",
            "--user",
            USER,
            "--password-env",
            PASSWORD_VAR,
        ])
        .arg("--admin-token-file")
        .arg(node.dir.path().join("admin.token"))
        .env(PASSWORD_VAR, PASSWORD)
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&missing.stderr);
    assert!(
        !missing.status.success() && e.contains("HTTP 404") && e.contains("no such collection"),
        "{e}"
    );
    let wrong = vigil()
        .args(["--node", &node.url, "feed", "pull", "--taxii", &server.api_root()])
        .args(["--collection", COLLECTION, "--user", USER, "--password-env", PASSWORD_VAR])
        .args(["--source", "medallion", "--admin-token-file"])
        .arg(node.dir.path().join("admin.token"))
        .env(PASSWORD_VAR, "wrong")
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&wrong.stderr);
    assert!(!wrong.status.success() && e.contains("HTTP 401") && e.contains("--user"), "{e}");
    let calm = pull(&node, &server, &[]).unwrap();
    assert_eq!((count(&calm, "objects"), &calm["cursor"]), (0, &cursor), "{calm}");
    assert_eq!(book_size(&node), after_inc);
    assert!(!node.log().contains(PASSWORD), "the password reached the node's log");

    // A pull stopped by the server failing after five pages resumes after the last merged one.
    let fresh = TestNode::start(200, false);
    server.faults("status", 5);
    let e = pull(&fresh, &server, &[]).unwrap_err();
    assert!(e.contains("5 page(s) (500 objects) were merged before it"), "{e}");
    server.faults("none", 0);
    let partial = book_size(&fresh);
    assert!(partial > 0);
    let resumed = pull(&fresh, &server, &[]).unwrap();
    assert_eq!(resumed["resumed"], true, "{resumed}");
    // From just before the last merged object's date: that one object again, then the rest.
    assert_eq!(count(&resumed, "objects"), total + 30 - 500 + 1, "{resumed}");
    assert_eq!(resumed["report"]["imported"].as_u64().unwrap() + partial, after_inc, "{resumed}");
    assert_eq!(book_size(&fresh), after_inc, "no duplicates, nothing missing");
    assert_eq!(resumed["cursor"], cursor);
    let done = pull(&fresh, &server, &[]).unwrap();
    assert_eq!((count(&done, "objects"), done["resumed"].clone()), (0, json!(false)), "{done}");
    drop(fresh);

    // The node killed (SIGKILL) in the middle of a pull: restarted, it resumes after the last
    // page it merged.
    let mut crashed = TestNode::start(200, false);
    server.faults("slow", 0);
    let token = crashed.dir.path().join("admin.token");
    let mut cli = vigil()
        .args(["--node", &crashed.url, "feed", "pull", "--taxii", &server.api_root()])
        .args(["--collection", COLLECTION, "--user", USER, "--password-env", PASSWORD_VAR])
        .args(["--source", "medallion", "--admin-token-file"])
        .arg(&token)
        .env(PASSWORD_VAR, PASSWORD)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(60), || book_size(&crashed) > 0), "{}", crashed.log());
    crashed.kill();
    let _ = cli.wait();
    server.faults("none", 0);
    crashed.spawn();
    let merged_before = book_size(&crashed);
    assert!(merged_before > 0 && merged_before < after_inc, "killed mid-pull: {merged_before}");
    let resumed = pull(&crashed, &server, &[]).unwrap();
    assert_eq!(resumed["resumed"], true, "{resumed}");
    assert!(count(&resumed, "objects") < total + 30, "{resumed}");
    assert_eq!(resumed["report"]["imported"].as_u64().unwrap() + merged_before, after_inc);
    assert_eq!(book_size(&crashed), after_inc, "no duplicates, nothing missing");
    drop(crashed);

    // `[[intel.pull]]`: a node pulls the collection by itself at start, with the password
    // from its environment.
    let schedule = format!(
        "[[intel.pull]]\ntaxii = \"{}\"\ncollection = \"{COLLECTION}\"\nuser = \"{USER}\"\n\
         password_env = \"{PASSWORD_VAR}\"\nsource = \"scheduled\"\ninterval_secs = 3600\n",
        server.api_root()
    );
    let scheduled = TestNode::start_with(200, false, &schedule, &[(PASSWORD_VAR, PASSWORD)]);
    let synced = eventually(Duration::from_secs(120), || book_size(&scheduled) == after_inc);
    assert!(synced, "the scheduled pull did not sync; log:\n{}", scheduled.log());
    assert!(scheduled.log().contains("scheduled TAXII pull"), "{}", scheduled.log());
    assert!(!scheduled.log().contains(PASSWORD), "the password reached the node's log");
}

/// A TAXII 2.1 server of seven wallet indicators, added one microsecond apart, that pages
/// the way some servers do: collection `dates` ignores `limit`, sends three objects a page
/// with `more` and `X-TAXII-Date-Added-Last` but no `next` token (the client pages by
/// `added_after`); collection `whole` ignores `limit` too and sends everything at once, with
/// no date headers.
async fn date_paging_server() -> String {
    use axum::extract::{Path as UrlPath, Query};
    use axum::response::IntoResponse;
    const FIRST: u64 = 1_735_689_600_000_000; // 2025-01-01T00:00:00Z
    let media = [("content-type", "application/taxii+json;version=2.1")];
    let collection = move |UrlPath(id): UrlPath<String>| async move {
        (
            media,
            serde_json::to_string(&json!({ "id": id, "can_read": true, "can_write": false }))
                .unwrap(),
        )
    };
    let objects =
        move |UrlPath(id): UrlPath<String>,
              Query(q): Query<std::collections::BTreeMap<String, String>>| async move {
            let after = q.get("added_after").and_then(|t| vigil_taxii::parse_micros(t));
            let all: Vec<(u64, Value)> = (0..7)
                .map(|i| {
                    (FIRST + i as u64, wallet_indicator(10_000 + i, "2024-06-01T00:00:00.000Z"))
                })
                .filter(|(added, _)| after.is_none_or(|a| *added > a))
                .collect();
            if id == "whole" {
                let objects: Vec<&Value> = all.iter().map(|(_, o)| o).collect();
                let body = json!({ "more": false, "objects": objects });
                return (media, serde_json::to_string(&body).unwrap()).into_response();
            }
            let page = &all[..all.len().min(3)];
            let more = all.len() > page.len();
            let objects: Vec<&Value> = page.iter().map(|(_, o)| o).collect();
            let body = serde_json::to_string(&json!({ "more": more, "objects": objects })).unwrap();
            let mut response = (media, body).into_response();
            if let Some((last, _)) = page.last() {
                let value = vigil_taxii::format_micros(*last).parse().unwrap();
                response.headers_mut().insert("x-taxii-date-added-last", value);
            }
            response
        };
    let app = axum::Router::new()
        .route("/api1/collections/{id}/", axum::routing::get(collection))
        .route("/api1/collections/{id}/objects/", axum::routing::get(objects));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/api1/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_next_tokens_is_paged_by_date_and_one_that_ignores_limit_read_at_once() {
    use vigil_node::intel::pull::{PullRequest, pull};
    let root = date_paging_server().await;
    let dir = tempfile::tempdir().unwrap();
    let state = crate::harness::in_process_state(dir.path(), "vigil-pull", 7);
    let request = |collection: &str| PullRequest {
        taxii: root.clone(),
        collection: collection.into(),
        user: None,
        password: None,
        source: Some(format!("mock-{collection}")),
        category: None,
        chain: None,
        limit: Some(2),
        full: false,
    };
    let by_date = pull(&state, request("dates")).await.unwrap();
    assert_eq!((by_date.pages, by_date.objects, by_date.report.imported), (3, 7, 35));
    assert_eq!(by_date.cursor.as_deref(), Some("2025-01-01T00:00:00.000006Z"));
    let again = pull(&state, request("dates")).await.unwrap();
    assert_eq!((again.pages, again.objects), (1, 0));
    assert_eq!(again.added_after, by_date.cursor);

    let whole = pull(&state, request("whole")).await.unwrap();
    assert_eq!((whole.pages, whole.objects, whole.report.merged), (1, 7, 35));
    assert_eq!(whole.cursor, None, "no date headers: nothing to resume from");
    assert_eq!(whole.indicators, 35);

    let busy_free =
        pull(&state, PullRequest { taxii: "ftp://x/".into(), ..request("dates") }).await;
    assert!(busy_free.unwrap_err().to_string().contains("not an http(s) URL"));
}
