//! API errors: every failure becomes a status code and a JSON body `{error, message}` here,
//! in one place. Answers of the layers below the handlers (axum's rejections, a 405) are
//! turned into the same object by `contract::error_contract`.

use axum::Json;
use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vigil_ledger::TxError;

use crate::app::SubmitError;
use crate::mempool::MempoolError;

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine-readable code.
    pub code: String,
    /// What was wrong, for people.
    pub message: String,
}

impl ApiError {
    /// A 400 with `code` and `message`.
    pub fn bad_request(code: &str, message: impl ToString) -> Self {
        Self { status: StatusCode::BAD_REQUEST, code: code.into(), message: message.to_string() }
    }

    /// A 404 for `what`.
    pub fn not_found(what: impl ToString) -> Self {
        Self { status: StatusCode::NOT_FOUND, code: "not_found".into(), message: what.to_string() }
    }

    /// A 500: the node failed.
    pub fn internal(message: impl ToString) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal".into(),
            message: message.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // An overloaded node (503: mempool full, rate limited) says so to every client of a
        // flood; logging each would let the flood fill the log too. Metrics count them.
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            tracing::debug!(code = %self.code, message = %self.message, "request refused");
        } else if self.status.is_server_error() {
            tracing::warn!(code = %self.code, message = %self.message, "request failed");
        }
        (self.status, Json(json!({ "error": self.code, "message": self.message }))).into_response()
    }
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match &e {
            SubmitError::Tx(
                TxError::NonceUsed { .. }
                | TxError::ReportExists { .. }
                | TxError::AlreadyAttested { .. },
            )
            | SubmitError::Mempool(MempoolError::Duplicate(_) | MempoolError::NonceTaken { .. }) => {
                StatusCode::CONFLICT
            }
            SubmitError::Tx(
                TxError::InsufficientBalance { .. }
                | TxError::InsufficientStake { .. }
                | TxError::BondTooSmall { .. }
                | TxError::StakeTooSmall { .. }
                | TxError::UnknownReport { .. }
                | TxError::ReportClosed { .. }
                | TxError::SelfAttestation
                | TxError::SelfTransfer
                | TxError::FeeUnpaid { .. }
                | TxError::Overflow,
            )
            | SubmitError::Mempool(
                MempoolError::Unaffordable { .. }
                | MempoolError::Unfunded { .. }
                | MempoolError::NonceTooFar { .. },
            ) => StatusCode::UNPROCESSABLE_ENTITY,
            SubmitError::Mempool(MempoolError::AccountFull { .. }) => StatusCode::TOO_MANY_REQUESTS,
            SubmitError::Mempool(MempoolError::Full { .. }) | SubmitError::Journal(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            SubmitError::Tx(_) | SubmitError::Detection(_) => StatusCode::BAD_REQUEST,
        };
        Self { status, code: e.code(), message: e.to_string() }
    }
}

impl From<vigil_ledger::StoreError> for ApiError {
    fn from(e: vigil_ledger::StoreError) -> Self {
        ApiError::internal(format!("storage: {e}"))
    }
}

/// A JSON body whose rejections (bad syntax, a wrong field, missing content type, too large)
/// become [`ApiError`]s naming the problem.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(rejection) => {
                // Malformed input, syntactic or of the wrong shape, is a 400.
                let status = match &rejection {
                    JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => {
                        StatusCode::BAD_REQUEST
                    }
                    other => other.status(),
                };
                let code = match status {
                    StatusCode::PAYLOAD_TOO_LARGE => "too_large",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    _ => "invalid_json",
                };
                Err(ApiError { status, code: code.into(), message: rejection.body_text() })
            }
        }
    }
}
