//! Shared detection content over HTTP: `GET /v1/detection` lists the fingerprints and rule
//! files this node knows — in force, provisional, revoked or rejected — with where each came
//! from and how often it fired; `GET /v1/detection/{id}` shows one with its content.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::{ApiError, parse_id};
use crate::app::NodeState;

/// `GET /v1/detection`: every item, by id, without its content.
pub async fn list(State(state): State<Arc<NodeState>>) -> Json<Value> {
    let items: Vec<Value> = state
        .immunity
        .lock()
        .items()
        .map(|i| {
            let mut v = json!(i);
            if let Some(o) = v.as_object_mut() {
                o.remove("detection");
            }
            v
        })
        .collect();
    Json(json!({ "items": items }))
}

/// `GET /v1/detection/{id}`: one item with its content.
pub async fn item(
    State(state): State<Arc<NodeState>>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_id(&id, "detection id")?;
    let book = state.immunity.lock();
    let item = book
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("detection item {id} is not known here")))?;
    Ok(Json(json!(item)))
}
