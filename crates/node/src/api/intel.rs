//! HTTP endpoints of the node's intelligence, merged into the node's API:
//! - `POST /v1/intel/imports` (admin token): merge a feed the CLI parsed;
//! - `GET /v1/intel/review`, `POST /v1/intel/review/{seq}` (admin token): objects posted to
//!   the TAXII inbox, and the operator's accept (import into the book) or reject;
//! - `POST /v1/intel/pulls` (admin token): pull a TAXII 2.1 collection into the book now;
//! - `GET /v1/intel/sources`: the book's sources, their sizes, policies and import history;
//! - `GET /v1/intel/sources/{name}/reports`: a source as ledger reports, ready to sign;
//! - `GET /v1/stix/bundle`: the book and the ledger as a STIX 2.1 bundle;
//! - the TAXII 2.1 server under its base path (default `/taxii2/`).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::Severity;
use vigil_intel::Timestamp;
use vigil_intel::stix::STIX_MEDIA_TYPE;

use super::ApiError;
use crate::app::NodeState;
use crate::intel::export::{ExportOptions, bundle};
use crate::intel::pull::{PullError, PullRequest};
use crate::intel::{ImportRequest, IntelError};

type Shared = Arc<NodeState>;

/// The intelligence routes (and TAXII, when the node set it up), for the node's router.
pub fn routes(state: &Shared) -> Router<Shared> {
    let max_import = state.intel.config().max_import_bytes;
    let mut r = Router::new()
        .route(
            "/v1/intel/imports",
            post(import)
                .layer(DefaultBodyLimit::max(max_import))
                .route_layer(middleware::from_fn_with_state(Arc::clone(state), require_admin)),
        )
        .merge(
            Router::new()
                .route("/v1/intel/review", get(review_queue))
                .route("/v1/intel/review/{seq}", post(review))
                .route("/v1/intel/pulls", post(pull))
                .route_layer(middleware::from_fn_with_state(Arc::clone(state), require_admin)),
        )
        .route("/v1/intel/sources", get(sources))
        .route("/v1/intel/sources/{name}/reports", get(source_reports))
        .route("/v1/stix/bundle", get(stix_bundle));
    if let Some(taxii) = state.intel.taxii() {
        let limit = taxii.config().max_content_length;
        r = r.merge(
            vigil_taxii::routes::<Shared>(Arc::clone(taxii)).layer(DefaultBodyLimit::max(limit)),
        );
    }
    r
}

impl From<IntelError> for ApiError {
    fn from(e: IntelError) -> Self {
        match e {
            IntelError::BadImport(m) => ApiError::bad_request("invalid_import", m),
            IntelError::NotFound(m) => {
                ApiError { status: StatusCode::NOT_FOUND, code: "not_found".into(), message: m }
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<PullError> for ApiError {
    fn from(e: PullError) -> Self {
        let message = e.to_string();
        let (status, code) = match e.cause() {
            PullError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_pull"),
            PullError::Busy(_) => (StatusCode::CONFLICT, "pull_running"),
            PullError::Status { .. }
            | PullError::Unreachable { .. }
            | PullError::BadAnswer { .. } => (StatusCode::BAD_GATEWAY, "taxii_upstream"),
            PullError::Intel(_) | PullError::Stopped { .. } => {
                return match e {
                    PullError::Intel(e) => e.into(),
                    other => ApiError::internal(other),
                };
            }
        };
        ApiError { status, code: code.into(), message }
    }
}

fn unauthorized(message: &str) -> Response {
    let mut resp = ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized".into(),
        message: message.into(),
    }
    .into_response();
    resp.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Refuses requests without the admin token before their body is read.
async fn require_admin(State(state): State<Shared>, request: Request, next: Next) -> Response {
    match state.intel.admin() {
        None => unauthorized("this node has no admin token, so it takes no imports"),
        Some(token) if token.verify(request.headers()) => next.run(request).await,
        Some(_) => unauthorized(
            "send the node's admin token as `Authorization: Bearer <token>` (the node writes it \
             to admin.token in its data directory)",
        ),
    }
}

async fn import(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(ApiError {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type".into(),
            message: "send the import as application/json".into(),
        });
    }
    let body = body.map_err(|e| {
        let status = e.status();
        let too_large = status == StatusCode::PAYLOAD_TOO_LARGE;
        ApiError {
            status,
            code: if too_large { "too_large" } else { "invalid_body" }.into(),
            message: if too_large {
                format!(
                    "the import is larger than this node takes ([intel] max_import_bytes = {})",
                    state.intel.config().max_import_bytes
                )
            } else {
                e.body_text()
            },
        }
    })?;
    let outcome = tokio::task::spawn_blocking(move || {
        let request: ImportRequest = serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request("invalid_json", format!("import: {e}")))?;
        state.intel.import(request).map_err(ApiError::from)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(serde_json::to_value(outcome).map_err(ApiError::internal)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

async fn review_queue(
    State(state): State<Shared>,
    query: Result<Query<ReviewQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    let items = tokio::task::spawn_blocking(move || state.intel.review_queue(q.after, limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    decision: crate::intel::ReviewDecision,
    #[serde(default)]
    source: Option<String>,
}

async fn review(
    State(state): State<Shared>,
    Path(seq): Path<u64>,
    body: Result<Json<ReviewBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(body) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("review: {} (send {{\"decision\": \"accept\"|\"reject\"}})", e.body_text()),
        )
    })?;
    let outcome =
        tokio::task::spawn_blocking(move || state.intel.review(seq, body.decision, body.source))
            .await
            .map_err(|e| ApiError::internal(e.to_string()))??;
    Ok(Json(serde_json::to_value(outcome).map_err(ApiError::internal)?))
}

async fn pull(
    State(state): State<Shared>,
    body: Result<Json<PullRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = body.map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("pull: {} (send {{\"taxii\": URL, \"collection\": ID}})", e.body_text()),
        )
    })?;
    let report = crate::intel::pull::pull(&state, request).await?;
    Ok(Json(serde_json::to_value(report).map_err(ApiError::internal)?))
}

async fn sources(State(state): State<Shared>) -> Result<Json<Value>, ApiError> {
    let book = state.intel.book();
    let imports = state.intel.imports()?;
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for (_, entry) in book.entries() {
        for name in entry.sources.keys() {
            *counts.entry(name).or_default() += 1;
        }
    }
    let list: Vec<Value> = book
        .sources()
        .into_iter()
        .map(|name| {
            let history: Vec<&crate::intel::ImportRecord> =
                imports.iter().filter(|r| r.report.source == name).collect();
            json!({
                "name": name,
                "indicators": counts.get(name).copied().unwrap_or(0),
                "allow_names": book.domain_rules().allow.values().filter(|s| s.contains(name)).count(),
                "fuzzy_names": book.domain_rules().fuzzy.values().filter(|t| t.sources.contains(name)).count(),
                "policy": book.policy(name),
                "imports": history,
            })
        })
        .collect();
    Ok(Json(json!({ "indicators": book.len(), "sources": list })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportsQuery {
    severity: Option<String>,
    summary: Option<String>,
}

async fn source_reports(
    State(state): State<Shared>,
    Path(name): Path<String>,
    query: Result<Query<ReportsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let severity: Severity = q
        .severity
        .as_deref()
        .unwrap_or("medium")
        .parse()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("severity: {e}")))?;
    let book = state.intel.book();
    if !book.sources().contains(name.as_str()) {
        return Err(ApiError::not_found(format!("source {name:?} is not in the indicator book")));
    }
    let summary = q.summary.unwrap_or_else(|| format!("Indicators listed by the feed {name}"));
    if summary.trim().is_empty() || summary.len() > 3_900 {
        return Err(ApiError::bad_request("invalid_query", "summary must be 1 to 3,900 bytes"));
    }
    let reports = book.reports_for_source(&name, severity, &summary);
    Ok(Json(json!({ "source": name, "reports": reports })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BundleQuery {
    since: Option<String>,
    #[serde(default)]
    include_expired: bool,
    #[serde(default)]
    no_book: bool,
    #[serde(default)]
    no_ledger: bool,
}

async fn stix_bundle(
    State(state): State<Shared>,
    query: Result<Query<BundleQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let since = q
        .since
        .as_deref()
        .map(str::parse::<Timestamp>)
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", format!("since: {e}")))?;
    let options = ExportOptions {
        since,
        include_expired: q.include_expired,
        no_book: q.no_book,
        no_ledger: q.no_ledger,
    };
    let body = tokio::task::spawn_blocking(move || {
        let bundle = bundle(&state, &options);
        let mut out = Vec::new();
        bundle.write_to(&mut out).map(|()| out)
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))?
    .map_err(ApiError::internal)?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static(STIX_MEDIA_TYPE))], body).into_response())
}
