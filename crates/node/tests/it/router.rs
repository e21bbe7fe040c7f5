//! The HTTP app without a socket (`oneshot`): the OpenAPI document matches the routes.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use vigil_node::api::{ApiConfig, OPENAPI, router};
use vigil_node::app::NodeState;

fn state(dir: &std::path::Path) -> Arc<NodeState> {
    crate::harness::in_process_state(dir, "vigil-router", 5)
}

#[tokio::test]
async fn every_documented_path_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()), &ApiConfig::default());
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 11);
    for (path, item) in paths {
        let concrete = path
            .replace("{id}", &"ab".repeat(32))
            .replace("{account}", &"cd".repeat(32))
            .replace("{indicator}", "example.com")
            .replace("{height}", "1")
            .replace("{seq}", "1");
        let method = if item.get("get").is_some() { "GET" } else { "POST" };
        if path == "/v1/events" {
            continue; // an endless stream; covered by the event tests
        }
        let req = Request::builder()
            .method(method)
            .uri(&concrete)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        let text = String::from_utf8_lossy(&body);
        assert!(!text.contains("no such endpoint"), "{path} is documented but not routed");
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
    }
}

#[tokio::test]
async fn the_event_stream_is_server_sent_events() {
    let dir = tempfile::tempdir().unwrap();
    let app = router(state(dir.path()), &ApiConfig::default());
    let resp = app.oneshot(Request::get("/v1/events").body(Body::empty()).unwrap()).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
}

#[tokio::test]
async fn status_reports_the_watch_and_its_trace_source_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let state = state(dir.path());
    let app = router(Arc::clone(&state), &ApiConfig::default());
    let status = |app: axum::Router| async move {
        let resp = app.oneshot(Request::get("/v1/status").body(Body::empty()).unwrap()).await;
        let body = resp.unwrap().into_body().collect().await.unwrap().to_bytes();
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()
    };
    assert!(status(app.clone()).await["watch"].is_null(), "no [watch]: no watch section");

    *state.watch.write() = Some(vigil_node::app::WatchStatus::default());
    assert!(status(app.clone()).await["watch"]["trace_source"].is_null(), "not probed yet");
    let source = vigil_chain::TraceSource::Parity;
    *state.watch.write() = Some(vigil_node::app::WatchStatus { trace_source: Some(source) });
    state.metrics.set_trace_source(source);
    assert_eq!(status(app.clone()).await["watch"]["trace_source"], "parity");
    let metrics = state.metrics.encode();
    assert!(metrics.contains("vigil_watch_trace_source{source=\"parity\"} 1"), "{metrics}");
    assert!(metrics.contains("vigil_watch_trace_source{source=\"call_tracer\"} 0"), "{metrics}");

    // The OpenAPI description names every source.
    let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
    let documented = &doc["components"]["schemas"]["Status"]["properties"]["watch"]["properties"]["trace_source"]
        ["enum"];
    for s in vigil_chain::TraceSource::ALL {
        assert!(documented.as_array().unwrap().contains(&s.as_str().into()), "{s}");
    }
}
