//! A server under test: a redb store, users, collections, a fixed clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use serde_json::Value;
use tower::ServiceExt as _;
use vigil_core::{Category, Indicator};
use vigil_intel::Timestamp;
use vigil_intel::stix::{IndicatorMeta, StixObject, Tlp, indicator_object};
use vigil_taxii::{
    RedbStore, TAXII_MEDIA_TYPE, TaxiiConfig, TaxiiState, TaxiiStore, UserConfig,
    default_collection_id, router,
};

pub const WRITER_TOKEN: &str = "writer-token-0123456789";
pub const OTHER_WRITER_TOKEN: &str = "other-writer-token-0123456789";
/// What the embedding node recognises as its operator (its admin token).
pub const OPERATOR_TOKEN: &str = "operator-token-0123456789";
pub const READER_PASSWORD: &str = "reader-password";

/// A test server: the router, its store and a clock the test moves.
pub struct TestServer {
    pub router: axum::Router,
    pub store: Arc<RedbStore>,
    pub clock: Arc<AtomicU64>,
    _dir: tempfile::TempDir,
}

pub fn config() -> TaxiiConfig {
    let mut c = TaxiiConfig {
        users: vec![
            UserConfig {
                token: Some(WRITER_TOKEN.into()),
                can_write: true,
                ..UserConfig::named("writer")
            },
            UserConfig { password: Some(READER_PASSWORD.into()), ..UserConfig::named("reader") },
            UserConfig {
                token: Some(OTHER_WRITER_TOKEN.into()),
                can_write: true,
                ..UserConfig::named("other-writer")
            },
        ],
        default_page_size: 100,
        max_page_size: 1_000,
        max_content_length: 64 * 1024,
        ..TaxiiConfig::default()
    };
    // Confirmed indicators are public on this node; the rest need credentials.
    c.collections[0].anonymous_read = true;
    c
}

pub fn indicators_id() -> String {
    default_collection_id("indicators")
}

pub fn inbox_id() -> String {
    default_collection_id("inbox")
}

impl TestServer {
    pub fn new() -> Self {
        Self::with_config(config())
    }

    pub fn with_config(config: TaxiiConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(redb::Database::create(dir.path().join("node.redb")).unwrap());
        let store = Arc::new(RedbStore::new(db).unwrap());
        let clock = Arc::new(AtomicU64::new(1_767_225_600_000_000));
        let c = clock.clone();
        let state = TaxiiState::new(config, store.clone() as Arc<dyn TaxiiStore>)
            .unwrap()
            .with_clock(move || c.load(Ordering::SeqCst))
            .with_operator(|h| {
                h.get("authorization").is_some_and(|v| v == &format!("Bearer {OPERATOR_TOKEN}"))
            });
        Self { router: router(Arc::new(state)), store, clock, _dir: dir }
    }
}

/// Who calls.
#[derive(Clone, Copy)]
pub enum As {
    Anonymous,
    Reader,
    Writer,
    /// A second writer, who must not see or delete the first one's submissions.
    OtherWriter,
    /// The node's operator.
    Operator,
}

/// The result of a call.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

pub async fn call(
    server: &TestServer,
    who: As,
    method: Method,
    uri: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Reply {
    call_with(server, who, method, uri, Some(TAXII_MEDIA_TYPE), body).await
}

pub async fn call_with(
    server: &TestServer,
    who: As,
    method: Method,
    uri: &str,
    accept: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Reply {
    let mut req = Request::builder().method(method).uri(uri).header("host", "127.0.0.1:9999");
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    match who {
        As::Anonymous => {}
        As::Reader => {
            let b = base64::engine::general_purpose::STANDARD
                .encode(format!("reader:{READER_PASSWORD}"));
            req = req.header("authorization", format!("Basic {b}"));
        }
        As::Writer => req = req.header("authorization", format!("Bearer {WRITER_TOKEN}")),
        As::OtherWriter => {
            req = req.header("authorization", format!("Bearer {OTHER_WRITER_TOKEN}"));
        }
        As::Operator => req = req.header("authorization", format!("Bearer {OPERATOR_TOKEN}")),
    }
    let req = match body {
        Some((ct, bytes)) => req.header("content-type", ct).body(Body::from(bytes)).unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    let resp = server.router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
    };
    Reply { status, headers, body }
}

/// A STIX indicator object for the n-th test address, at version `modified`.
pub fn indicator(n: u64, modified: u64) -> StixObject {
    let mut a = [0u8; 20];
    a[12..].copy_from_slice(&n.to_be_bytes());
    let i = Indicator::address(vigil_core::EvmAddress(a));
    indicator_object(
        &i,
        &IndicatorMeta {
            created: Timestamp(1_700_000_000),
            modified: Timestamp(modified),
            category: Category::Phishing,
            confidence: Some(80),
            description: format!("test indicator {n}"),
            labels: vec![],
            valid_until: None,
            created_by: None,
            tlp: Tlp::Green,
            wallet_convention: true,
        },
    )
}

/// The ids of an envelope's objects.
pub fn ids(body: &Value) -> Vec<String> {
    body["objects"]
        .as_array()
        .map_or_else(Vec::new, |a| a.iter().map(|o| o["id"].as_str().unwrap().to_owned()).collect())
}

/// Base URL of the API root.
pub const ROOT: &str = "/taxii2/vigil";
