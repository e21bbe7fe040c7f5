//! The server on a real loopback socket: raw HTTP, and the Python `taxii2-client`.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigil_taxii::{
    RedbStore, ServedAt, TaxiiState, TaxiiStore, default_collection_id, format_micros, router,
};

use crate::support::{READER_PASSWORD, WRITER_TOKEN, config, indicator};

/// Serves a fresh server on 127.0.0.1 with `objects` loaded; returns its address.
async fn serve(load: impl FnOnce(&RedbStore)) -> (std::net::SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(redb::Database::create(dir.path().join("node.redb")).unwrap());
    let store = Arc::new(RedbStore::new(db).unwrap());
    load(&store);
    let state = Arc::new(TaxiiState::new(config(), store as Arc<dyn TaxiiStore>).unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // The embedding server says which address each request reached (discovery names it).
    let app = router(state).layer(axum::Extension(ServedAt(addr)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, dir)
}

async fn raw_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/taxii+json;version=2.1\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_http_on_a_real_socket() {
    let (addr, _dir) = serve(|s| {
        s.add(&default_collection_id("indicators"), &[indicator(1, 1_700_000_000)], 1).unwrap();
    })
    .await;
    let resp = raw_get(addr, "/taxii2/").await;
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    assert!(
        resp.to_ascii_lowercase().contains("content-type: application/taxii+json;version=2.1"),
        "{resp}"
    );
    assert!(resp.contains(&format!("http://{addr}/taxii2/vigil/")), "{resp}");
    let resp = raw_get(addr, "/taxii2/vigil/collections/indicators/objects/").await;
    assert!(resp.contains(indicator(1, 0).id()), "{resp}");
    assert!(
        resp.to_ascii_lowercase().contains("x-taxii-date-added-first: 1970-01-01t00:00:00.000001z"),
        "{resp}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_taxii2_client_interoperates() {
    let Some(python) = python() else { return };
    let reports = default_collection_id("reports");
    let t0 = 1_767_225_600_000_000u64;
    let (addr, dir) = serve(|s| {
        // 230 objects in three batches; object 0 gets two more versions later.
        let first: Vec<_> = (0..150).map(|n| indicator(n, 1_700_000_000)).collect();
        s.add(&reports, &first, t0).unwrap();
        let second: Vec<_> = (150..230).map(|n| indicator(n, 1_700_000_000)).collect();
        s.add(&reports, &second, t0 + 1_000_000).unwrap();
        s.add(&reports, &[indicator(0, 1_700_000_100)], t0 + 2_000_000).unwrap();
        s.add(&reports, &[indicator(0, 1_700_000_200)], t0 + 3_000_000).unwrap();
        let report = vigil_intel::stix::Bundle::parse(
            br#"{"type":"bundle","id":"bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","objects":[{"type":"report","spec_version":"2.1","id":"report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","name":"r","published":"2024-01-01T00:00:00Z","object_refs":["indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"]}]}"#,
            usize::MAX,
        )
        .unwrap();
        s.add(&reports, &report.objects, t0 + 3_000_000).unwrap();
    })
    .await;
    let envelope = json!({"objects": (1000..1003).map(|n| indicator(n, 1_700_000_000).into_value()).collect::<Vec<_>>()});
    let spec = json!({
        "discovery": format!("http://{addr}/taxii2/"),
        "reader": "reader",
        "reader_password": READER_PASSWORD,
        "writer_token": WRITER_TOKEN,
        "reports_id": reports,
        "inbox_id": default_collection_id("inbox"),
        "per_request": 50,
        "expected_total": 231,
        // After the first batch: the second batch, object 0's latest version, the report.
        "added_after": format_micros(t0),
        "expected_after": 82,
        "versioned_id": indicator(0, 0).id(),
        "expected_versions": 3,
        "envelope": envelope,
    });
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/taxii_interop.py");
    let child = tokio::process::Command::new(python)
        .arg(script)
        .arg(&spec_path)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .expect("the client finished within 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "taxii2-client failed:\n{stdout}\n{stderr}");
    let found: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(found["paged"], 231);
    assert_eq!(found["posted"], 3);
}

/// The Python interpreter of the test venv, or `None` (skip) unless tools are required.
fn python() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_PYTHON") {
        return Some(p.into());
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "VIGIL_REQUIRE_TOOLS=1 but VIGIL_PYTHON is not set (run scripts/test.sh)"
    );
    eprintln!("SKIPPED: VIGIL_PYTHON is not set (scripts/test.sh sets up the venv)");
    None
}
