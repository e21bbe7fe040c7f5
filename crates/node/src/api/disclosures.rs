//! Disclosures and recovery claims over HTTP.
//!
//! `POST /v1/disclosures` takes a signed `disclose` transaction with its encrypted report: the
//! node checks the ciphertext (size, the content id the transaction names, an `age` file for
//! recipients), keeps it, admits the transaction, and gossips the ciphertext on the protocol's
//! disclosure topic, to the nodes serving that protocol. It never holds a plaintext: the
//! ciphertext is served as it came (`GET /v1/disclosures/{id}/ciphertext`) and only the
//! protocol's identity opens it. A revealed disclosure is public intel, as a STIX
//! `vulnerability` (`GET /v1/disclosures/{id}/stix`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigil_core::{SignedTx, TxBody};
use vigil_intel::stix::Bundle;

use super::{ApiError, ApiJson};
use crate::app::{NodeState, SubmitError};
use crate::disclosure::{DisclosureError, check_ciphertext};

/// The body of `POST /v1/disclosures`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// The signed `disclose` transaction.
    pub tx: SignedTx,
    /// The `age`-encrypted report, ASCII-armored.
    pub ciphertext: String,
}

fn parse_number(text: &str, what: &str) -> Result<u64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::bad_request("invalid_id", format!("{what} {text:?} is not a number"))
    })
}

impl From<DisclosureError> for ApiError {
    fn from(e: DisclosureError) -> Self {
        match e {
            DisclosureError::CiphertextTooLarge { .. } => ApiError {
                status: StatusCode::PAYLOAD_TOO_LARGE,
                code: "too_large".into(),
                message: e.to_string(),
            },
            DisclosureError::CiphertextMismatch { .. } => {
                ApiError::bad_request("ciphertext_mismatch", e)
            }
            _ => ApiError::bad_request("invalid_ciphertext", e),
        }
    }
}

/// `POST /v1/disclosures`: keep the ciphertext, admit the transaction.
pub async fn submit(
    State(state): State<Arc<NodeState>>,
    ApiJson(upload): ApiJson<Upload>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let TxBody::Disclose { ciphertext: named, .. } = &upload.tx.tx.body else {
        return Err(ApiError::bad_request(
            "not_a_disclosure",
            format!(
                "POST /v1/disclosures takes a disclose transaction, not {}; other transactions go to POST /v1/tx",
                upload.tx.tx.body.kind()
            ),
        ));
    };
    let named = *named;
    check_ciphertext(&upload.ciphertext, &named)?;
    // Only a signed transaction can make the node store anything.
    upload.tx.verify().map_err(|e| {
        SubmitError::Tx(vigil_ledger::TxError::BadSignature { reason: e.to_string() })
    })?;
    let upload_copy = vigil_net::gossip::DisclosureUpload {
        tx: upload.tx.clone(),
        ciphertext: upload.ciphertext.as_bytes().to_vec(),
    };
    let worker = Arc::clone(&state);
    let id = tokio::task::spawn_blocking(move || {
        let fresh = worker.store.ciphertext(&named)?.is_none();
        worker.store.put_ciphertext(&named, upload.ciphertext.as_bytes())?;
        match worker.submit_and_relay(upload.tx) {
            Ok(id) => Ok(id),
            Err(e) => {
                if fresh {
                    worker.store.remove_ciphertext(&named)?;
                }
                Err(ApiError::from(e))
            }
        }
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    state.journal.flush_to(state.journal.last_queued()).await.map_err(SubmitError::from)?;
    // On to the protocol's nodes (those subscribed to its disclosure topic), if any.
    if let Some(bridge) = state.net.gossip.get() {
        match bridge.publish_disclosure(upload_copy).await {
            Ok(_) => {
                tracing::info!(ciphertext = %named.short(), "encrypted disclosure sent to the protocol's nodes")
            }
            Err(e) => {
                tracing::info!(ciphertext = %named.short(), error = %e, "encrypted disclosure not gossiped")
            }
        }
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "pending", "ciphertext": named }))))
}

fn disclosure_json(state: &NodeState, id: u64, d: &vigil_ledger::DisclosureRecord) -> Value {
    let mut v = json!(d);
    v["id"] = json!(id);
    v["ciphertext_stored"] = json!(state.store.ciphertext(&d.ciphertext).ok().flatten().is_some());
    v
}

/// `GET /v1/disclosures`: every disclosure, newest first (commitments, never plaintext).
pub async fn list(State(state): State<Arc<NodeState>>) -> Json<Value> {
    let (records, height): (Vec<_>, u64) = {
        let ledger = state.ledger.read();
        (ledger.state().disclosures().map(|(id, d)| (*id, d.clone())).collect(), ledger.height())
    };
    let mut items: Vec<Value> =
        records.iter().map(|(id, d)| disclosure_json(&state, *id, d)).collect();
    items.reverse();
    Json(json!({ "disclosures": items, "height": height }))
}

fn load(
    state: &NodeState,
    id: &str,
) -> Result<(u64, vigil_ledger::DisclosureRecord, u64), ApiError> {
    let id = parse_number(id, "disclosure id")?;
    let ledger = state.ledger.read();
    let d = ledger
        .state()
        .disclosure(id)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("disclosure {id}")))?;
    Ok((id, d, ledger.height()))
}

/// `GET /v1/disclosures/{id}`: one disclosure, with what its program would pay.
pub async fn item(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (id, d, height) = load(&state, &id)?;
    let mut v = disclosure_json(&state, id, &d);
    let program =
        state.ledger.read().state().protocol(&d.protocol).and_then(|p| p.spec.bounty.clone());
    if let Some(program) = program {
        v["claimed_payout"] = json!(program.payout(d.severity, d.funds_at_risk));
    }
    v["height"] = json!(height);
    Ok(Json(v))
}

/// `GET /v1/disclosures/{id}/ciphertext`: the encrypted report as it was submitted.
pub async fn ciphertext(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, d, _) = load(&state, &id)?;
    let bytes = state.store.ciphertext(&d.ciphertext)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "the encrypted report of disclosure {id} is not stored on this node"
        ))
    })?;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], bytes)
        .into_response())
}

/// `GET /v1/disclosures/{id}/stix`: a revealed disclosure as a STIX bundle.
pub async fn stix(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (id, d, _) = load(&state, &id)?;
    let tlp = state.intel.config().tlp;
    let mut times = crate::intel::export::BlockTimes::default();
    let published = times.at(&state.store, d.deadline.saturating_add(1));
    let objects =
        crate::intel::export::disclosure_stix(id, &d, published, tlp).ok_or_else(|| ApiError {
            status: StatusCode::CONFLICT,
            code: "embargoed".into(),
            message: format!(
                "disclosure {id} is {}: only a revealed disclosure is public",
                d.status.as_str()
            ),
        })?;
    let mut all = vec![tlp.marking_definition()];
    all.extend(objects);
    let body = Bundle::of(all).to_json();
    Ok((
        [(header::CONTENT_TYPE, HeaderValue::from_static(vigil_intel::stix::STIX_MEDIA_TYPE))],
        body,
    )
        .into_response())
}

fn recovery_json(id: u64, r: &vigil_ledger::RecoveryRecord) -> Value {
    let mut v = json!(r);
    v["id"] = json!(id);
    v
}

/// `GET /v1/recoveries`: every recovery claim, newest first.
pub async fn recoveries(State(state): State<Arc<NodeState>>) -> Json<Value> {
    let ledger = state.ledger.read();
    let mut items: Vec<Value> =
        ledger.state().recoveries().map(|(id, r)| recovery_json(*id, r)).collect();
    items.reverse();
    Json(json!({ "recoveries": items, "height": ledger.height() }))
}

/// `GET /v1/recoveries/{id}`: one recovery claim.
pub async fn recovery(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_number(&id, "recovery claim id")?;
    let ledger = state.ledger.read();
    let r = ledger
        .state()
        .recovery(id)
        .ok_or_else(|| ApiError::not_found(format!("recovery claim {id}")))?;
    let mut v = recovery_json(id, r);
    v["height"] = json!(ledger.height());
    Ok(Json(v))
}
