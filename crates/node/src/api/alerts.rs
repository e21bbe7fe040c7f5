//! Alerts over HTTP: `POST /v1/alerts` hands the node a signed alert to gossip to every node;
//! `GET /v1/alerts` lists the most recent alerts this node raised or received, and
//! `GET /v1/alerts/{id}` shows one (the link every alert message carries).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use vigil_core::{Alert, Signed};
use vigil_net::gossip::GossipError;

use super::{ApiError, ApiJson, parse_id};
use crate::app::NodeState;

/// Query of `GET /v1/alerts`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertQuery {
    limit: Option<usize>,
}

/// `GET /v1/alerts`: the newest alerts, newest first (`limit`, default 50, at most 1000).
pub async fn list_alerts(
    State(state): State<Arc<NodeState>>,
    query: Result<Query<AlertQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = query.map_err(|e| ApiError::bad_request("invalid_query", e.body_text()))?;
    let limit = q.limit.unwrap_or(50).clamp(1, 1_000);
    let alerts = state.alerts.lock().newest(limit);
    Ok(Json(json!({ "alerts": alerts })))
}

/// `GET /v1/alerts/{id}`: one recent alert, with who sent it and when it arrived.
pub async fn alert(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "alert id")?;
    let record = state.alerts.lock().get(&id).ok_or_else(|| {
        ApiError::not_found(format!(
            "alert {id} (this node keeps its {} most recent alerts)",
            crate::app::RecentAlerts::CAPACITY
        ))
    })?;
    Ok(Json(json!(record)))
}

/// `POST /v1/alerts`: publishes a signed alert (JSON `Signed<Alert>`) to every node. The
/// author's signature for this chain is what authorises it: a forged, foreign or oversized
/// alert is refused with 400 and never published.
pub async fn post_alert(
    State(state): State<Arc<NodeState>>,
    ApiJson(alert): ApiJson<Signed<Alert>>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(bridge) = state.net.gossip.get() else {
        return Err(ApiError {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "gossip_disabled".into(),
            message: "this node does not run gossip ([gossip] enabled = false)".into(),
        });
    };
    // The alert's own id, as every node keys it (its event, `GET /v1/alerts/{id}`).
    let id = alert.payload.id();
    bridge.publish_alert(alert).await.map_err(|e| {
        let (status, code) = match &e {
            GossipError::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid_alert"),
            GossipError::Duplicate(_) => (StatusCode::CONFLICT, "duplicate"),
            GossipError::NoPeers(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_peers"),
            _ => (StatusCode::SERVICE_UNAVAILABLE, "gossip_unavailable"),
        };
        ApiError { status, code: code.into(), message: e.to_string() }
    })?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "published" }))))
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;
    use vigil_core::{AlertKind, Amount, B256, EvmAddress, EvmChainId, Keypair, Severity, TxRef};
    use vigil_ledger::{Genesis, GenesisAccount, Ledger};

    use super::*;
    use crate::gossip::{GossipSettings, start};
    use crate::mempool::Mempool;
    use crate::store::RedbStore;

    #[tokio::test]
    async fn posting_an_alert_without_gossip_is_refused_and_a_forged_one_is_a_bad_request() {
        let dir = tempfile::tempdir().unwrap();
        let key = Keypair::from_seed(&[4; 32]);
        let genesis = Genesis {
            chain_id: "vigil-alerts".parse().unwrap(),
            genesis_time: 0,
            params: Default::default(),
            treasury: Amount::ZERO,
            reward_pool: Amount::ZERO,
            accounts: vec![GenesisAccount {
                account: key.account_id(),
                balance: Amount::vgl(1),
                bonded: Amount::vgl(1),
                validator: true,
            }],
        };
        let store = RedbStore::open(&dir.path().join("db.redb")).unwrap();
        let ledger = Ledger::open(store, &genesis).unwrap();
        let state = NodeState::new(ledger, Mempool::new(10, 1 << 20), key.account_id());
        let alert = Alert {
            detector: "d".into(),
            severity: Severity::High,
            kind: AlertKind::Exploit,
            confidence: 50,
            tx: TxRef {
                chain: EvmChainId::MAINNET,
                hash: B256([1; 32]),
                from: EvmAddress([1; 20]),
                to: None,
                block: None,
            },
            addresses: vec![],
            indicators: vec![],
            labels: vec![],
            description: String::new(),
            time: 0,
            metadata: Default::default(),
            detection: Vec::new(),
        };
        let signed = Signed::sign(alert, genesis.chain_id.clone(), &key);
        let post = |body: &Signed<Alert>| {
            Request::post("/v1/alerts")
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap()
        };
        let app = crate::api::router(Arc::clone(&state), &crate::api::ApiConfig::default());
        let resp = app.clone().oneshot(post(&signed)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);

        // With gossip running (and no peer), a valid alert gets as far as "no peers" while a
        // forged one is refused first.
        let mut settings = GossipSettings { enabled: true, ..GossipSettings::default() };
        settings.listen = "127.0.0.1:0".parse().unwrap();
        let shutdown = CancellationToken::new();
        start(&settings, &key, &state, shutdown.clone()).await.unwrap().unwrap();
        let resp = app.clone().oneshot(post(&signed)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        let mut forged = signed.clone();
        forged.payload.confidence = 99;
        let resp = app.oneshot(post(&forged)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        shutdown.cancel();
    }
}
