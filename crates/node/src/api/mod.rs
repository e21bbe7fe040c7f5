//! The HTTP API: JSON under `/v1`, server-sent events at `/v1/events`, Prometheus metrics at
//! `/metrics`, the OpenAPI description at `/v1/openapi.json` and a small dashboard at `/`.
//! [`router`] builds it over the node's shared state, so tests drive it without a socket;
//! [`serve`] runs it on a socket with the per-client limits of [`ApiConfig`].
//!
//! Every error, whichever layer refuses the request, is the JSON object `{error, message}`
//! (`contract`), and path and query parameters are checked against the OpenAPI description.

pub mod alerts;
mod contract;
mod dashboard;
mod detection;
mod disclosures;
mod error;
pub mod intel;
pub mod limits;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{DefaultBodyLimit, MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::BroadcastStream;
use vigil_core::ProtocolId;
use vigil_core::{AccountId, Amount, ContentId, Indicator, SignedTx};
use vigil_ledger::{CheckMatch, ProtocolRecord, ReportRecord, ReportStatus};

pub use error::{ApiError, ApiJson};
pub use limits::{Client, Limits, RateLimitConfig, serve};

use crate::app::{NodeState, SubmitError};
use crate::metrics::{RequestLabels, method_label};

/// The OpenAPI 3.1 description of this API.
pub const OPENAPI: &str = include_str!("openapi.json");

type Shared = Arc<NodeState>;

/// The whole HTTP application with the limits of `config` (body and target sizes, request
/// rates, event-stream subscribers). Connection caps need the socket: see [`serve`].
pub fn router(state: Shared, config: &ApiConfig) -> Router {
    let limits = Limits::new(config, &state.metrics);
    router_with(state, config, &limits)
}

/// [`router`] sharing `limits` with a listener.
pub fn router_with(state: Shared, config: &ApiConfig, limits: &Limits) -> Router {
    let max_uri = config.max_uri_bytes;
    let app = Router::new()
        .route("/", get(dashboard::index))
        .route("/dashboard/app.js", get(dashboard::script))
        .route("/dashboard/app.css", get(dashboard::style))
        .route("/v1/status", get(status))
        .route("/v1/tx", post(submit_tx))
        .route("/v1/alerts", post(alerts::post_alert).get(alerts::list_alerts))
        .route("/v1/alerts/{id}", get(alerts::alert))
        .route("/v1/detection", get(detection::list))
        .route("/v1/detection/{id}", get(detection::item))
        .route("/v1/tx/{id}", get(tx_status))
        .route("/v1/accounts", get(list_accounts))
        .route("/v1/accounts/{account}", get(account))
        .route("/v1/reports", get(list_reports))
        .route("/v1/reports/{id}", get(report))
        .route("/v1/check/{indicator}", get(check))
        .route("/v1/blocks/{height}", get(block))
        .route("/v1/params", get(params))
        .route("/v1/protocols", get(list_protocols))
        .route("/v1/protocols/{id}", get(protocol))
        .route("/v1/protocols/{id}/security", get(security))
        .route("/v1/breakers", get(breakers))
        .route("/v1/streams", get(list_streams))
        .route("/v1/streams/{id}", get(stream))
        .route("/v1/disclosures", post(disclosures::submit).get(disclosures::list))
        .route("/v1/disclosures/{id}", get(disclosures::item))
        .route("/v1/disclosures/{id}/ciphertext", get(disclosures::ciphertext))
        .route("/v1/disclosures/{id}/stix", get(disclosures::stix))
        .route("/v1/recoveries", get(disclosures::recoveries))
        .route("/v1/recoveries/{id}", get(disclosures::recovery))
        .route("/v1/proposals", get(list_proposals))
        .route("/v1/proposals/{id}", get(proposal))
        .route("/v1/events", get(events))
        .route("/v1/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .merge(intel::routes(&state))
        .fallback(|| async { ApiError::not_found("no such endpoint; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(config.max_body_bytes))
        .layer(axum::Extension(limits.events.clone()))
        .layer(middleware::from_fn(limits::served_at))
        .layer(middleware::from_fn(contract::check_parameters))
        .layer(middleware::from_fn(move |r, n| contract::limit_uri(max_uri, r, n)));
    // Outermost: the rate limit (nothing else runs for a refused request), then the error
    // contract over every answer, then the metrics of what was finally answered.
    let app = match limits.rate_layer() {
        Some(rate) => app.layer(rate),
        None => app,
    };
    app.layer(middleware::from_fn(contract::error_contract))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), track))
        .with_state(state)
}

/// Records each request's latency by route pattern and status.
async fn track(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(request.method().as_str());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let labels = RequestLabels { method, route, status: response.status().as_u16() };
    state
        .metrics
        .http_request_seconds
        .get_or_create(&labels)
        .observe(started.elapsed().as_secs_f64());
    response
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], OPENAPI)
        .into_response()
}

async fn metrics(State(state): State<Shared>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, HeaderValue::from_static(content_type))], state.metrics.encode())
        .into_response()
}

/// `GET /v1/status`.
#[derive(Serialize, Deserialize, Debug)]
pub struct Status {
    /// The network.
    pub chain_id: String,
    /// Last committed height.
    pub height: u64,
    /// App hash after it.
    pub app_hash: String,
    /// Its block hash.
    pub block_hash: String,
    /// Pending transactions.
    pub mempool_size: usize,
    /// This node's account.
    pub node_account: String,
    /// The current validator set.
    pub validators: Vec<(String, u64)>,
    /// Node software version.
    pub version: String,
    /// The chain watch, `None` when the node watches no chain.
    #[serde(default)]
    pub watch: Option<crate::app::WatchStatus>,
}

async fn status(State(state): State<Shared>) -> Json<Status> {
    let ledger = state.ledger.read();
    let last = ledger.last_commit();
    let validators =
        ledger.validator_set().iter().map(|(id, power)| (id.to_string(), *power)).collect();
    drop(ledger);
    Json(Status {
        chain_id: state.chain_id.to_string(),
        height: last.height,
        app_hash: last.app_hash.to_string(),
        block_hash: last.block_hash.to_string(),
        mempool_size: state.mempool.lock().len(),
        node_account: state.node_account.to_string(),
        validators,
        version: env!("CARGO_PKG_VERSION").into(),
        watch: *state.watch.read(),
    })
}

async fn submit_tx(
    State(state): State<Shared>,
    ApiJson(tx): ApiJson<SignedTx>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Signature checks are CPU work: keep them off the async worker threads' hot loop.
    let admitted = Arc::clone(&state);
    let id = tokio::task::spawn_blocking(move || admitted.submit_and_relay(tx))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    // 202 means durable: the transaction is in the journal and survives a crash of this node.
    state.journal.flush_to(state.journal.last_queued()).await.map_err(SubmitError::from)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "pending" }))))
}

fn parse_id(text: &str, what: &str) -> Result<ContentId, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request("invalid_id", format!("{what}: {e}")))
}

async fn tx_status(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "transaction id")?;
    let status = state.tx_status(&id)?;
    let code = match status {
        crate::app::TxStatus::Unknown => StatusCode::NOT_FOUND,
        _ => StatusCode::OK,
    };
    let mut body = serde_json::to_value(&status).map_err(ApiError::internal)?;
    body["id"] = json!(id);
    Ok((code, Json(body)).into_response())
}

async fn account(
    State(state): State<Shared>,
    Path(account): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: AccountId = account
        .parse()
        .map_err(|e| ApiError::bad_request("invalid_account", format!("account: {e}")))?;
    let next_nonce = state.next_nonce(&id);
    let ledger = state.ledger.read();
    let mut body = match ledger.account(&id) {
        Some(view) => serde_json::to_value(view).map_err(ApiError::internal)?,
        None => json!({
            "account": id, "balance": 0, "bonded": 0, "locked": 0, "unbonding": [], "nonce": 0,
            "free_stake": 0, "reputation_score": 50,
        }),
    };
    body["exists"] = json!(ledger.account(&id).is_some());
    body["next_nonce"] = json!(next_nonce);
    Ok(Json(body))
}

/// Query of `GET /v1/accounts`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountsQuery {
    page: Option<usize>,
    limit: Option<usize>,
}

/// `GET /v1/accounts`: the reputation leaderboard — every account by reputation, then bonded
/// stake, with its record of reports (confirmed, rejected, open or escalated).
async fn list_accounts(
    State(state): State<Shared>,
    query: Result<Query<AccountsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let page = q.page.unwrap_or(1).max(1);
    let ledger = state.ledger.read();
    let mut record: std::collections::BTreeMap<AccountId, [u64; 3]> = Default::default();
    for (_, r) in ledger.state().reports() {
        let slot = match r.status {
            ReportStatus::Confirmed => 0,
            ReportStatus::Rejected => 1,
            ReportStatus::Open | ReportStatus::Escalated => 2,
        };
        record.entry(r.reporter).or_default()[slot] += 1;
    }
    let mut rows: Vec<vigil_ledger::AccountView> =
        ledger.state().accounts().filter_map(|(id, _)| ledger.account(id)).collect();
    rows.sort_by(|a, b| {
        b.reputation_score
            .cmp(&a.reputation_score)
            .then(b.state.bonded.cmp(&a.state.bonded))
            .then(a.account.cmp(&b.account))
    });
    let total = rows.len();
    let accounts: Vec<Value> = rows
        .into_iter()
        .enumerate()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .map(|(rank, a)| {
            let [confirmed, rejected, pending] =
                record.get(&a.account).copied().unwrap_or_default();
            json!({
                "rank": rank + 1,
                "account": a.account,
                "reputation_score": a.reputation_score,
                "bonded": a.state.bonded,
                "balance": a.state.balance,
                "reports_confirmed": confirmed,
                "reports_rejected": rejected,
                "reports_pending": pending,
            })
        })
        .collect();
    Ok(Json(json!({
        "accounts": accounts, "page": page, "limit": limit, "total": total,
        "height": ledger.height(),
    })))
}

/// Query of `GET /v1/reports`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    status: Option<String>,
    page: Option<usize>,
    limit: Option<usize>,
    /// Hex digits the id starts with (so a client can resolve a short id).
    prefix: Option<String>,
    /// Only reports by this account.
    reporter: Option<String>,
}

fn report_summary(id: &ContentId, r: &ReportRecord) -> Value {
    json!({
        "id": id,
        "reporter": r.reporter,
        "status": r.status,
        "severity": r.report.severity,
        "category": r.report.category,
        "summary": r.report.summary,
        "indicators": r.report.indicators.len(),
        "bond": r.bond,
        "submitted_at": r.submitted_at,
        "deadline": r.deadline,
        "tally": r.tally,
    })
}

async fn list_reports(
    State(state): State<Shared>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let status: Option<ReportStatus> = q
        .status
        .map(|s| s.parse())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_query", e))?;
    // The bounds are the OpenAPI description's, checked before this handler runs.
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let page = q.page.unwrap_or(1).max(1);
    // The OpenAPI description's pattern admits only hex digits after an optional 0x.
    let prefix = q.prefix.map(|p| p.trim_start_matches("0x").to_ascii_lowercase());
    let reporter: Option<AccountId> = q
        .reporter
        .map(|a| a.parse())
        .transpose()
        .map_err(|e| ApiError::bad_request("invalid_account", format!("reporter: {e}")))?;
    let ledger = state.ledger.read();
    let mut matching: Vec<(&ContentId, &ReportRecord)> = ledger
        .state()
        .reports()
        .filter(|(_, r)| status.is_none_or(|s| r.status == s))
        .filter(|(_, r)| reporter.is_none_or(|a| r.reporter == a))
        .filter(|(id, _)| prefix.as_ref().is_none_or(|p| id.to_string().starts_with(p.as_str())))
        .collect();
    // Newest first.
    matching.sort_by(|a, b| b.1.submitted_at.cmp(&a.1.submitted_at).then(a.0.cmp(b.0)));
    let total = matching.len();
    let reports: Vec<Value> = matching
        .into_iter()
        .skip((page - 1).saturating_mul(limit))
        .take(limit)
        .map(|(id, r)| report_summary(id, r))
        .collect();
    let quorum =
        vigil_ledger::attestation_quorum(ledger.state().globals().total_bonded, ledger.params());
    Ok(Json(json!({
        "reports": reports, "page": page, "limit": limit, "total": total,
        "height": ledger.height(), "quorum": quorum,
    })))
}

async fn report(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "report id")?;
    let ledger = state.ledger.read();
    let record = ledger.report(&id).ok_or_else(|| ApiError::not_found(format!("report {id}")))?;
    let attestations: Vec<Value> = ledger
        .state()
        .attestations_on(&id)
        .map(|(who, a)| {
            json!({
                "attester": who, "stance": a.stance, "stake": a.stake, "weight": a.weight,
                "at_height": a.at_height, "outcome": a.outcome,
            })
        })
        .collect();
    let mut body = serde_json::to_value(record).map_err(ApiError::internal)?;
    body["id"] = json!(id);
    body["attestations"] = json!(attestations);
    body["height"] = json!(ledger.height());
    body["verdict_rule"] = verdict_rule(&state, &ledger, &id, record);
    let proposals: Vec<Value> = ledger
        .state()
        .proposals()
        .filter_map(|(pid, p)| match p.action {
            vigil_core::ProposalAction::ResolveReport { report, confirm } if report == id => {
                Some(json!({ "id": pid, "status": p.status, "confirm": confirm }))
            }
            _ => None,
        })
        .collect();
    body["proposals"] = json!(proposals);
    Ok(Json(body))
}

/// The figures the verdict rule applies to a report: the quorum it was (or, while it is open,
/// would now be) held to, the threshold, the weight cast and, while it is open, the verdict if
/// the window closed now.
fn verdict_rule(
    state: &NodeState,
    ledger: &vigil_ledger::Ledger<crate::store::RedbStore>,
    id: &ContentId,
    r: &ReportRecord,
) -> Value {
    let params = ledger.params();
    let total_bonded = ledger.state().globals().total_bonded;
    let now = vigil_ledger::attestation_quorum(total_bonded, params);
    // An escalated report keeps no settlement: its quorum is the one its verdict event named.
    let at_deadline = || {
        let events = state.store.events(r.deadline).ok().flatten()?;
        events.into_iter().find_map(|e| match e {
            vigil_ledger::Event::Verdict { report, quorum, .. } if report == *id => Some(quorum),
            _ => None,
        })
    };
    let (quorum, quorum_at) = match (r.status, r.settlement) {
        (ReportStatus::Open, _) => (now, "now"),
        (_, Some(s)) => (s.quorum_weight, "verdict"),
        (_, None) => at_deadline().map_or((now, "now"), |q| (q, "verdict")),
    };
    let cast = r.tally.confirm_weight.saturating_add(r.tally.dispute_weight);
    let mut rule = json!({
        "quorum": quorum,
        "quorum_at": quorum_at,
        "quorum_bps": params.attestation_quorum_bps,
        "threshold_bps": params.verdict_threshold_bps,
        "total_bonded": total_bonded,
        "cast": cast,
    });
    if r.status == ReportStatus::Open {
        rule["if_closed_now"] =
            json!(vigil_ledger::verdict_of(&r.tally, quorum, params.verdict_threshold_bps));
    }
    rule
}

/// `GET /v1/check/{indicator}`.
#[derive(Serialize, Deserialize, Debug)]
pub struct CheckResponse {
    /// The indicator as understood.
    pub indicator: Indicator,
    /// Whether a confirmed report, or an active entry of the imported feeds, flags it.
    pub flagged: bool,
    /// Highest confidence among confirmed reports and active feed entries (0 when not flagged).
    pub confidence: u8,
    /// Every report that names it.
    pub reports: Vec<CheckMatch>,
    /// What the imported feeds say (sources, decayed confidence, look-alike match), if any.
    #[serde(default)]
    pub feeds: Option<crate::intel::check::FeedAnswer>,
    /// For a domain on an imported allow list: the allow-list name covering it (feeds then
    /// never flag it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_by: Option<String>,
    /// What was accepted but is worth knowing about the query (a wrong EIP-55 checksum).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

async fn check(
    State(state): State<Shared>,
    Path(text): Path<String>,
) -> Result<Json<CheckResponse>, ApiError> {
    let indicator: Indicator = text.parse().map_err(|e| invalid_indicator(&text, &e))?;
    let reports = state.ledger.read().check(&indicator);
    let confirmed = reports.iter().filter(|m| m.status == ReportStatus::Confirmed);
    let mut confidence = confirmed.clone().map(|m| m.confidence).max().unwrap_or(0);
    let mut flagged = confirmed.count() > 0;
    let (feeds, allowed_by) =
        crate::intel::check::lookup(&state.intel.book(), &indicator, crate::intel::now());
    if let Some(f) = feeds.as_ref().filter(|f| f.active) {
        flagged = true;
        confidence = confidence.max(f.confidence);
    }
    let mut warnings = Vec::new();
    if let Indicator::Address { address, .. } = &indicator {
        let written = text.trim().rsplit(':').next().unwrap_or_default();
        if vigil_core::EvmAddress::checksum_mismatch(written) {
            warnings.push(format!(
                "{written} has a wrong EIP-55 checksum (checked as the address {address}): \
                 a typo in a letter's case, or a list that mangled it"
            ));
        }
    }
    Ok(Json(CheckResponse { indicator, flagged, confidence, reports, feeds, allowed_by, warnings }))
}

async fn block(
    State(state): State<Shared>,
    Path(height): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let height: u64 = height.parse().map_err(|_| {
        ApiError::bad_request("invalid_height", format!("height {height:?} is not a number"))
    })?;
    let block =
        state.store.block(height)?.ok_or_else(|| ApiError::not_found(format!("block {height}")))?;
    let results = state.store.results(height)?.unwrap_or_default();
    let events = state.store.events(height)?.unwrap_or_default();
    let app_hash = state.store.commit_info(height)?.map(|c| c.app_hash.to_string());
    Ok(Json(json!({
        "height": height, "hash": block.hash(), "app_hash": app_hash, "block": block,
        "results": results, "events": events,
        "certified": state.store.certificate(height)?.is_some(),
    })))
}

/// The forms of an indicator, for people.
const INDICATOR_FORMS: &str = "an indicator is an address (0x and 40 hex digits, or \
    eip155:<chain id>:0x…), a domain name (example.com, or domain:example.com), a URL \
    (http:// or https://, or url: and it), codehash:0x and 64 hex digits, selector:0x and 8 hex digits, or tx:<chain id>:0x and 64 \
    hex digits";

/// A 400 for text that is no indicator: what is wrong with it as the kind it looks like, then
/// the forms an indicator takes.
fn invalid_indicator(text: &str, e: &vigil_core::IndicatorError) -> ApiError {
    ApiError::bad_request(
        "invalid_indicator",
        format!("{} is not an indicator: {e}; {INDICATOR_FORMS}", contract::echo(text)),
    )
}

async fn events(
    State(state): State<Shared>,
    client: Client,
    axum::Extension(streams): axum::Extension<limits::EventStreams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, limits::TooMany> {
    let slot = streams.open(client)?;
    let stream = BroadcastStream::new(state.events.subscribe()).filter_map(move |item| {
        // The place is held for as long as the stream is.
        let _held = &slot;
        // A slow listener that fell behind skips what it missed.
        let event = item.ok()?;
        SseEvent::default().event(event.name()).json_data(&event).ok().map(Ok)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

async fn params(State(state): State<Shared>) -> Json<Value> {
    let ledger = state.ledger.read();
    Json(json!({ "params": ledger.params(), "globals": ledger.state().globals() }))
}

fn parse_protocol(text: &str) -> Result<ProtocolId, ApiError> {
    text.parse().map_err(|e| ApiError::bad_request("invalid_protocol", e))
}

fn protocol_json(id: &ProtocolId, p: &ProtocolRecord) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    v["id"] = json!(id);
    v
}

/// `GET /v1/protocols`: every protocol with its breaker and its cost of corruption.
async fn list_protocols(State(state): State<Shared>) -> Json<Value> {
    let ledger = state.ledger.read();
    let protocols: Vec<Value> = ledger
        .state()
        .protocols()
        .map(|(id, p)| {
            let mut v = protocol_json(id, p);
            v["security"] = json!(vigil_ledger::security(ledger.state(), id));
            v
        })
        .collect();
    Json(json!({ "protocols": protocols, "height": ledger.height() }))
}

async fn protocol(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_protocol(&id)?;
    let ledger = state.ledger.read();
    let p = ledger
        .state()
        .protocol(&id)
        .ok_or_else(|| ApiError::not_found(format!("protocol {id}")))?;
    Ok(Json(protocol_json(&id, p)))
}

/// Query of `GET /v1/protocols/{id}/security`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SecurityQuery {
    /// A shock ψ (an amount: `12.5`, `12.5 VGL` or `12500000u`) to bound the loss of.
    shock: Option<String>,
}

/// `GET /v1/protocols/{id}/security[?shock=ψ]`: the cost of corruption, the corruption margin
/// γ, and for a shock ψ the worst-case loss (1 + 1/γ)·ψ — or a warning when γ ≤ 0.
async fn security(
    State(state): State<Shared>,
    Path(id): Path<String>,
    query: Result<Query<SecurityQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_protocol(&id)?;
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let shock = q
        .shock
        .map(|s| {
            s.parse::<Amount>()
                .map_err(|e| ApiError::bad_request("invalid_amount", format!("shock: {e}")))
        })
        .transpose()?;
    let report = state
        .ledger
        .read()
        .security(&id)
        .ok_or_else(|| ApiError::not_found(format!("protocol {id}")))?;
    let mut v = serde_json::to_value(&report).map_err(ApiError::internal)?;
    v["gamma"] = match report.margin_bps {
        Some(bps) => json!(bps as f64 / f64::from(vigil_ledger::BPS)),
        None => Value::Null,
    };
    if !report.stable {
        v["warning"] = json!(format!(
            "γ ≤ 0: corrupting {id}'s controls costs {} but they protect {}; no loss bound holds",
            report.cost_of_corruption, report.protected_value
        ));
    }
    if let Some(shock) = shock {
        v["shock"] = json!(shock);
        v["loss_bound"] = json!(report.loss_bound(shock));
    }
    Ok(Json(v))
}

async fn breakers(State(state): State<Shared>) -> Json<Value> {
    let ledger = state.ledger.read();
    let breakers: Vec<Value> = ledger
        .state()
        .protocols()
        .map(|(id, p)| {
            json!({
                "protocol": id,
                "breaker": p.breaker,
                "tripped": p.breaker.is_tripped(),
                "trips": p.trips,
                "reset_approvals": p.reset_approvals,
                "threshold": p.spec.threshold,
                "guardians": p.spec.guardians,
            })
        })
        .collect();
    Json(json!({ "breakers": breakers }))
}

fn proposal_json(id: u64, p: &vigil_ledger::ProposalRecord) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    v["id"] = json!(id);
    v
}

async fn list_proposals(State(state): State<Shared>) -> Json<Value> {
    let ledger = state.ledger.read();
    let mut proposals: Vec<Value> =
        ledger.state().proposals().map(|(id, p)| proposal_json(*id, p)).collect();
    proposals.reverse();
    Json(json!({ "proposals": proposals }))
}

/// A stream with what it owes at `height`: its debt, what the recipient can withdraw now, the
/// debt the deposit does not cover, and what a close would refund.
fn stream_json(id: u64, s: &vigil_ledger::StreamRecord, height: u64) -> Value {
    let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
    v["id"] = json!(id);
    v["height"] = json!(height);
    v["debt"] = json!(s.debt_at(height));
    v["withdrawable"] = json!(s.withdrawable_at(height));
    v["uncovered_debt"] = json!(s.uncovered_at(height));
    v["refundable"] = json!(s.refundable_at(height));
    v
}

/// `GET /v1/streams`: every payment stream, with what it owes now.
async fn list_streams(State(state): State<Shared>) -> Json<Value> {
    let ledger = state.ledger.read();
    let h = ledger.height();
    let streams: Vec<Value> =
        ledger.state().streams().map(|(id, s)| stream_json(*id, s, h)).collect();
    Json(json!({ "streams": streams }))
}

/// `GET /v1/streams/{id}`: one payment stream.
async fn stream(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("stream id {id:?} is not a number"))
    })?;
    let ledger = state.ledger.read();
    let s = ledger.state().stream(id).ok_or_else(|| ApiError::not_found(format!("stream {id}")))?;
    Ok(Json(stream_json(id, s, ledger.height())))
}

async fn proposal(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("proposal id {id:?} is not a number"))
    })?;
    let ledger = state.ledger.read();
    let p =
        ledger.state().proposal(id).ok_or_else(|| ApiError::not_found(format!("proposal {id}")))?;
    let votes: Vec<Value> = ledger
        .state()
        .votes_on(id)
        .map(|(who, v)| json!({ "voter": who, "choice": v.choice, "power": v.power, "at_height": v.at_height }))
        .collect();
    let mut body = proposal_json(id, p);
    body["votes"] = json!(votes);
    body["height"] = json!(ledger.height());
    if let vigil_core::ProposalAction::ParameterChange { params } = &p.action
        && let Ok(new) = vigil_core::encoding::decode::<vigil_ledger::Params>(params)
        && let Some(before) = ledger.params_before(id)
    {
        body["params"] = json!(new);
        body["params_before"] = json!(before);
        body["changes"] = json!(before.changes_to(&new));
    }
    Ok(Json(body))
}
/// The HTTP API (`[api]`). A client is an IP address (IPv6: its /64).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address to listen on.
    pub listen: std::net::SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Longest request target (path and query string) accepted, in bytes.
    pub max_uri_bytes: usize,
    /// Requests per client.
    pub rate_limit: RateLimitConfig,
    /// Open connections in all; one more is answered 429 and closed.
    pub max_connections: usize,
    /// Open connections per client.
    pub max_connections_per_client: usize,
    /// Event-stream (`/v1/events`) subscribers in all.
    pub max_event_subscribers: usize,
    /// Event-stream subscribers per client.
    pub max_event_subscribers_per_client: usize,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 7070)),
            max_body_bytes: 1 << 20,
            max_uri_bytes: 8 * 1024,
            rate_limit: RateLimitConfig::default(),
            max_connections: 1024,
            max_connections_per_client: 128,
            max_event_subscribers: 256,
            max_event_subscribers_per_client: 16,
        }
    }
}

impl ApiConfig {
    /// Checks the limits; the error names the field and what is wrong.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.max_body_bytes < 1024 {
            return Err(("api.max_body_bytes", "must be at least 1024"));
        }
        if self.max_uri_bytes < 256 {
            return Err(("api.max_uri_bytes", "must be at least 256"));
        }
        if self.rate_limit.per_second > 1_000_000_000 {
            return Err(("api.rate_limit.per_second", "must be at most 1,000,000,000"));
        }
        if self.rate_limit.per_second > 0 && self.rate_limit.burst == 0 {
            return Err(("api.rate_limit.burst", "must be at least 1 when a rate is set"));
        }
        if self.max_connections == 0 || self.max_connections_per_client == 0 {
            return Err((
                "api.max_connections",
                "and max_connections_per_client must be at least 1",
            ));
        }
        if self.max_event_subscribers_per_client > self.max_event_subscribers {
            return Err((
                "api.max_event_subscribers_per_client",
                "must not exceed max_event_subscribers",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_settings_default_to_valid_limits_and_bad_ones_are_named() {
        let defaults = ApiConfig::default();
        assert_eq!(defaults.check(), Ok(()));
        let parsed: ApiConfig =
            toml::from_str("[rate_limit]\nper_second = 5\n").expect("a partial section");
        assert_eq!((parsed.rate_limit.per_second, parsed.rate_limit.burst), (5, 400));
        assert!(toml::from_str::<ApiConfig>("[rate_limit]\nper_sec = 5\n").is_err());
        let cases = [
            (ApiConfig { max_uri_bytes: 10, ..ApiConfig::default() }, "api.max_uri_bytes"),
            (
                ApiConfig {
                    rate_limit: RateLimitConfig { per_second: 1, burst: 0 },
                    ..ApiConfig::default()
                },
                "api.rate_limit.burst",
            ),
            (
                ApiConfig { max_connections_per_client: 0, ..ApiConfig::default() },
                "api.max_connections",
            ),
            (
                ApiConfig { max_event_subscribers: 1, ..ApiConfig::default() },
                "api.max_event_subscribers_per_client",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.check().map_err(|(f, _)| f), Err(field));
        }
    }
}
