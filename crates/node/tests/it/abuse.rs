//! Holding under abuse (issue 15): what an attacker probe found, each reproduced first. In
//! process (`oneshot`) for the HTTP contract, on real sockets for what needs one (connection
//! caps, the HTTP parser's own refusals, rate limits per client).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use vigil_node::api::{ApiConfig, router};
use vigil_node::app::NodeState;

use crate::harness::{TestNode, eventually};

fn state(dir: &std::path::Path) -> Arc<NodeState> {
    crate::harness::in_process_state(dir, "vigil-abuse", 6)
}

/// An answer: status, headers, body as JSON (`Null` when it is not JSON).
struct Answer {
    status: StatusCode,
    content_type: String,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn ask(
    app: &axum::Router,
    method: &str,
    uri: &str,
    ct: Option<&str>,
    body: Vec<u8>,
) -> Answer {
    let mut req =
        Request::builder().method(Method::from_bytes(method.as_bytes()).unwrap()).uri(uri);
    if let Some(ct) = ct {
        req = req.header("content-type", ct);
    }
    let resp = app.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let content_type =
        headers.get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        content_type,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    }
}

/// The API's error object, with the code asked for.
fn assert_error(a: &Answer, status: u16, code: &str, what: &str) {
    assert_eq!(a.status.as_u16(), status, "{what}: {}", a.body);
    assert_eq!(a.content_type, "application/json", "{what}");
    assert_eq!(a.body["error"], code, "{what}: {}", a.body);
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}: {}", a.body);
}

/// Regression: 3,000 invented methods grew /metrics from 483 KB to 6.6 MB, and a 60 KB method
/// name was stored verbatim as a label.
#[tokio::test]
async fn invented_methods_and_paths_do_not_grow_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    // Unlimited: every request reaches the routes (a 429 would be a series of its own).
    let unlimited = ApiConfig {
        rate_limit: vigil_node::api::RateLimitConfig { per_second: 0, burst: 0 },
        ..Default::default()
    };
    let app = router(Arc::clone(&state), &unlimited);
    // Once each kind of request has been seen, more of them add no series.
    ask(&app, "GET", "/v1/status", None, vec![]).await;
    ask(&app, "GET", "/nowhere", None, vec![]).await;
    ask(&app, "INVENTED", "/v1/status", None, vec![]).await;
    let before_text = state.metrics.encode();
    let before = before_text.len();
    for i in 0..300 {
        ask(&app, &format!("INVENTED{i}"), "/v1/status", None, vec![]).await;
        ask(&app, "GET", &format!("/nowhere/{i}"), None, vec![]).await;
    }
    ask(&app, &"M".repeat(60_000), "/v1/status", None, vec![]).await;
    let metrics = state.metrics.encode();
    assert!(!metrics.contains("INVENTED"), "an invented method became a label");
    assert!(!metrics.contains("MMMM"), "a 60 KB method became a label");
    assert!(!metrics.contains("/nowhere"), "a raw path became a label");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
    assert!(metrics.contains("route=\"unmatched\""), "{metrics}");
    // Only counts grew (a few digits), not series.
    let new: Vec<&str> =
        metrics.lines().filter(|l| !before_text.contains(l.split(' ').next().unwrap())).collect();
    assert!(new.is_empty(), "new series: {new:#?}");
    assert!(metrics.len() < before + 100, "{before} -> {} bytes", metrics.len());
}

/// Regression: a bad path parameter answered 400 text/plain, 405 and 414 empty bodies, and
/// the bounds of the OpenAPI description were not the server's.
#[tokio::test]
async fn every_error_is_the_json_error_object() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()), &ApiConfig { max_body_bytes: 4096, ..Default::default() });
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "/v1/check/%ff%fe", 400, "invalid_path"),
        ("GET", "/v1/reports/zz", 400, "invalid_id"),
        ("GET", "/v1/tx/12", 400, "invalid_id"),
        ("GET", "/v1/accounts/xyz", 400, "invalid_account"),
        ("GET", "/v1/blocks/minus-one", 400, "invalid_height"),
        ("GET", "/v1/blocks/0", 400, "invalid_height"),
        ("GET", "/v1/blocks/%2B1", 400, "invalid_height"),
        ("GET", "/v1/proposals/99999999999999999999999", 400, "invalid_id"),
        ("GET", "/v1/protocols/Not_Valid", 400, "invalid_protocol"),
        ("GET", "/v1/reports?page=0", 400, "invalid_query"),
        ("GET", "/v1/reports?page=abc", 400, "invalid_query"),
        ("GET", "/v1/reports?limit=501", 400, "invalid_query"),
        ("GET", "/v1/reports?limit=0", 400, "invalid_query"),
        ("GET", "/v1/reports?status=lost", 400, "invalid_query"),
        ("GET", "/v1/reports?page=1&page=2", 400, "invalid_query"),
        ("GET", "/v1/reports?colour=red", 400, "invalid_query"),
        ("GET", "/v1/nothing-here", 404, "not_found"),
        ("DELETE", "/v1/status", 405, "method_not_allowed"),
        ("PUT", "/v1/tx", 405, "method_not_allowed"),
        ("POST", "/v1/intel/review/abc", 400, "invalid_seq"),
        ("POST", "/v1/intel/review/1", 401, "unauthorized"),
    ];
    for (method, uri, status, code) in cases {
        let a = ask(&app, method, uri, None, vec![]).await;
        assert_error(&a, *status, code, &format!("{method} {uri}"));
    }
    let a = ask(&app, "DELETE", "/v1/status", None, vec![]).await;
    assert_eq!(a.headers["allow"], "GET,HEAD", "405 keeps its Allow header");
    let long = format!("/v1/check/{}.com", "a".repeat(9_000));
    assert_error(&ask(&app, "GET", &long, None, vec![]).await, 414, "uri_too_long", "long target");
    let a = ask(&app, "POST", "/v1/tx", Some("text/plain"), b"{}".to_vec()).await;
    assert_error(&a, 415, "unsupported_media_type", "text/plain body");
    let a = ask(&app, "POST", "/v1/tx", Some("application/json"), vec![b' '; 10_000]).await;
    assert_error(&a, 413, "too_large", "large body");
    let a = ask(&app, "POST", "/v1/tx", Some("application/json"), b"{nope".to_vec()).await;
    assert_error(&a, 400, "invalid_json", "bad JSON");

    // What the description allows, the server takes.
    for uri in ["/v1/reports?page=1&limit=500", "/v1/reports?status=open", "/v1/reports"] {
        assert_eq!(ask(&app, "GET", uri, None, vec![]).await.status, StatusCode::OK, "{uri}");
    }
    let a = ask(&app, "GET", &format!("/v1/blocks/{}", u64::MAX), None, vec![]).await;
    assert_error(&a, 404, "not_found", "the highest height is well formed");
}

/// Regression: `/v1/check/not~an~indicator` was explained as "a domain with a single label".
#[tokio::test]
async fn a_malformed_indicator_is_told_what_an_indicator_is() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()), &ApiConfig::default());
    for uri in ["/v1/check/not~an~indicator", "/v1/check/a~b.com", "/v1/check/0x1234"] {
        let a = ask(&app, "GET", uri, None, vec![]).await;
        assert_error(&a, 400, "invalid_indicator", uri);
        let message = a.body["message"].as_str().unwrap();
        for form in ["address (0x", "domain name", "codehash:0x", "selector:0x"] {
            assert!(message.contains(form), "{uri}: {message}");
        }
        assert!(!message.contains("single label"), "{uri}: {message}");
    }
    let a = ask(&app, "GET", "/v1/check/example.com", None, vec![]).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
}

/// `vigil node` with `settings` added to its `[api]` section.
fn node_with_api(settings: &str, extra: &str) -> TestNode {
    let settings = settings.to_owned();
    TestNode::start_with_files(200, false, extra, &[], move |dir| {
        let path = dir.join("config.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, config.replacen("[api]\n", &format!("[api]\n{settings}\n"), 1))
            .unwrap();
    })
}

/// Sends raw bytes on a fresh connection and reads the answer until the server closes it.
fn raw(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // The server may answer and close before it has read everything.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn json_body(answer: &str) -> Value {
    let (_, body) = answer.split_once("\r\n\r\n").unwrap_or_else(|| panic!("no head: {answer:?}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {answer}"))
}

/// Regression: the HTTP parser's own refusals (a target over 64 KiB, a malformed request
/// line) went out with empty bodies.
#[test]
fn the_http_parsers_refusals_are_json_too() {
    let node = TestNode::start(200, false);
    let addr = node.url.trim_start_matches("http://");
    let huge = format!("GET /v1/check/{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(70_000));
    let answer = raw(addr, huge.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("content-type: application/json"), "{answer}");
    assert_eq!(json_body(&answer)["error"], "uri_too_long");
    let answer = raw(addr, b"G\x01T /v1/status HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(json_body(&answer)["error"], "bad_request");
    // And the node serves on.
    let ok = raw(addr, b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

/// A client over its request rate gets 429, the error object and Retry-After; the metric
/// counts it; the node stays up for everyone.
#[test]
fn a_client_over_its_rate_gets_429_with_retry_after() {
    let node = node_with_api("", "[api.rate_limit]\nper_second = 1\nburst = 5\n");
    let client = reqwest::blocking::Client::new();
    let mut limited = None;
    for _ in 0..20 {
        let resp = client.get(format!("{}/v1/status", node.url)).send().unwrap();
        if resp.status().as_u16() == 429 {
            limited = Some(resp);
            break;
        }
    }
    let resp = limited.expect("20 requests at once, a burst of 5: some must be refused");
    let retry: u64 = resp.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    assert_eq!(resp.headers()["content-type"], "application/json");
    let body: Value = resp.json().unwrap();
    assert_eq!(body["error"], "rate_limited", "{body}");
    std::thread::sleep(Duration::from_secs(retry + 1));
    let metrics = client.get(format!("{}/metrics", node.url)).send().unwrap();
    assert_eq!(metrics.status().as_u16(), 200, "the bucket refilled");
    let text = metrics.text().unwrap();
    assert!(text.contains("vigil_http_limited_total{limit=\"rate\"}"), "{text}");
}

/// A client holding its connections gets 429 on one more; closing one lets it in again.
#[test]
fn connections_and_event_streams_are_capped_per_client() {
    let node = node_with_api(
        "max_connections_per_client = 3\nmax_event_subscribers_per_client = 1\n\
         max_event_subscribers = 4",
        "",
    );
    let addr = node.url.trim_start_matches("http://").to_owned();
    // One event stream per client: a second is refused while the first is open.
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream.write_all(b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).unwrap();
    assert!(head[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&head[..n]));
    let second = raw(&addr, b"GET /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(second.starts_with("HTTP/1.1 429"), "{second}");
    assert!(second.to_ascii_lowercase().contains("retry-after:"), "{second}");
    assert_eq!(json_body(&second)["error"], "too_many_subscribers");

    // Three connections in all: the event stream, plus two idle ones; a fourth is refused.
    let idle: Vec<TcpStream> = (0..2).map(|_| TcpStream::connect(&addr).unwrap()).collect();
    // The listener counts a connection once it has accepted it.
    std::thread::sleep(Duration::from_millis(300));
    let refused = raw(&addr, b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert_eq!(json_body(&refused)["error"], "too_many_connections");
    assert!(
        json_body(&refused)["message"].as_str().unwrap().contains("max_connections_per_client")
    );
    drop(idle);
    drop(stream);
    // Closed connections give their places back; an event stream's once the node notices
    // the client is gone (at the latest on its next keep-alive, every 15 s).
    let events = b"GET /v1/events HTTP/1.1\r\nHost: x\r\n\r\n";
    assert!(
        eventually(Duration::from_secs(40), || head_of(&addr, events).starts_with("HTTP/1.1 200")),
        "the event stream's place was not given back"
    );
    let ok = raw(&addr, b"GET /v1/status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}

/// The first bytes of the answer to `request` on a fresh connection (for answers that do not
/// end, such as an event stream), then the connection is closed.
fn head_of(addr: &str, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(request).unwrap();
    let mut head = [0u8; 1024];
    let n = s.read(&mut head).unwrap_or(0);
    String::from_utf8_lossy(&head[..n]).into_owned()
}

/// Regression: without `public_url`, TAXII discovery named whatever `Host` the client sent.
#[test]
fn taxii_discovery_names_the_node_not_the_clients_host() {
    let node = TestNode::start_with(
        200,
        false,
        "[[taxii.users]]\nname = \"analyst\"\npassword = \"analyst-password-0123\"\n",
        &[],
    );
    let addr = node.url.trim_start_matches("http://").to_owned();
    let auth = "Basic YW5hbHlzdDphbmFseXN0LXBhc3N3b3JkLTAxMjM="; // analyst:analyst-password-0123
    let request = format!(
        "GET /taxii2/ HTTP/1.1\r\nHost: evil.example\r\nAccept: application/taxii+json;version=2.1\r\n\
         Authorization: {auth}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(&addr, request.as_bytes());
    let body = json_body(&answer);
    assert_eq!(body["api_roots"][0], format!("http://{addr}/taxii2/vigil/"), "{answer}");
    assert!(!answer.contains("evil.example"), "{answer}");
}
