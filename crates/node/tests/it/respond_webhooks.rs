//! Webhook executors against real receivers on loopback: the HMAC signature checks out, a
//! failing receiver is retried, a hanging one holds up nobody, and each incident goes out once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use parking_lot::Mutex;
use vigil_core::{EvmChainId, OnChainAction};
use vigil_node::respond::webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, Webhook, WebhookConfig, WebhookFormat, verify,
};
use vigil_node::respond::{Executor, Incident, PolicyEngine};

const SECRET: &[u8] = b"test-secret-not-in-any-log";

#[derive(Default)]
struct Received {
    bodies: Mutex<Vec<(Instant, serde_json::Value)>>,
    attempts: AtomicUsize,
}

/// A receiver that checks the signature and fails its first `fail_first` requests with 500.
async fn receiver(fail_first: usize, hang: bool) -> (String, Arc<Received>) {
    let received = Arc::new(Received::default());
    let r = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let r = Arc::clone(&r);
            async move {
                if hang {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                }
                let n = r.attempts.fetch_add(1, Ordering::SeqCst);
                let ts: u64 = headers
                    .get(TIMESTAMP_HEADER)
                    .and_then(|v| v.to_str().ok()?.parse().ok())
                    .unwrap_or(0);
                let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
                if !sig.is_empty() && !verify(SECRET, ts, &body, sig) {
                    return StatusCode::UNAUTHORIZED;
                }
                if n < fail_first {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                r.bodies.lock().push((Instant::now(), serde_json::from_slice(&body).unwrap()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

fn config(url: &str, format: WebhookFormat) -> WebhookConfig {
    WebhookConfig {
        url: url.into(),
        format,
        secret_env: None,
        events: vec![],
        attempts: 4,
        backoff_ms: 100,
        timeout_ms: 500,
    }
}

fn tripped() -> Incident {
    Incident::BreakerTripped {
        protocol: "lendingvault".parse().unwrap(),
        trip: 1,
        reason: serde_json::json!({"type": "guardian", "note": "drain"}),
        action: OnChainAction::pausable(
            "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().unwrap(),
        ),
        chain: EvmChainId(31337),
        height: 7,
        detected_at: None,
        outbid: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_retried_not_blocking_and_once_per_incident() {
    let (flaky_url, flaky) = receiver(2, false).await;
    let (hung_url, hung) = receiver(0, true).await;
    let (good_url, good) = receiver(0, false).await;
    let (slack_url, slack) = receiver(0, false).await;
    let executors: Vec<Arc<dyn Executor>> = vec![
        Arc::new(
            Webhook::with_secret(config(&hung_url, WebhookFormat::Json), Some(SECRET.to_vec()))
                .unwrap(),
        ),
        Arc::new(
            Webhook::with_secret(config(&flaky_url, WebhookFormat::Json), Some(SECRET.to_vec()))
                .unwrap(),
        ),
        Arc::new(
            Webhook::with_secret(config(&good_url, WebhookFormat::Json), Some(SECRET.to_vec()))
                .unwrap(),
        ),
        Arc::new(Webhook::with_secret(config(&slack_url, WebhookFormat::Slack), None).unwrap()),
    ];
    let engine = PolicyEngine::new(executors);
    let started = Instant::now();
    let tasks = engine.dispatch(tripped()).expect("a new incident");
    assert_eq!(tasks.len(), 4);
    // The same incident again is not sent again.
    assert!(engine.dispatch(tripped()).is_none());

    // The good receiver has it at once, though another receiver hangs and one fails.
    for _ in 0..50 {
        if !good.bodies.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (at, body) = good.bodies.lock()[0].clone();
    assert!(at - started < Duration::from_millis(500), "delivery waited for other receivers");
    assert_eq!(body["incident"]["kind"], "breaker_tripped");
    assert_eq!(body["id"], "trip:lendingvault:1");
    // The flaky receiver refused twice and accepted the third attempt.
    for _ in 0..100 {
        if !flaky.bodies.lock().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(flaky.attempts.load(Ordering::SeqCst), 3);
    assert_eq!(flaky.bodies.lock().len(), 1);
    // Slack gets a text message.
    let text = slack.bodies.lock()[0].1["text"].as_str().unwrap().to_owned();
    assert!(text.contains("TRIPPED"), "{text}");
    // The hung receiver is given up on after its attempts, without holding up anything.
    let hung_task = tasks.into_iter().next().unwrap();
    tokio::time::timeout(Duration::from_secs(10), hung_task).await.unwrap().unwrap();
    assert_eq!(hung.attempts.load(Ordering::SeqCst), 0, "requests never completed there");
}

#[test]
fn a_tampered_body_or_wrong_secret_does_not_verify() {
    let sig = vigil_node::respond::webhook::sign(SECRET, 1_700_000_000, b"{\"a\":1}");
    assert!(verify(SECRET, 1_700_000_000, b"{\"a\":1}", &sig));
    assert!(!verify(SECRET, 1_700_000_000, b"{\"a\":2}", &sig));
    assert!(!verify(SECRET, 1_700_000_001, b"{\"a\":1}", &sig));
    assert!(!verify(b"other", 1_700_000_000, b"{\"a\":1}", &sig));
    assert!(!verify(SECRET, 1_700_000_000, b"{\"a\":1}", "sha256=zz"));
}

#[test]
fn the_json_format_refuses_to_run_without_a_secret() {
    let err = Webhook::with_secret(config("http://127.0.0.1:9/x", WebhookFormat::Json), None)
        .unwrap_err();
    assert!(err.to_string().contains("secret"), "{err}");
}
