//! A client of a node's HTTP API, used by the CLI and the integration tests.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use vigil_core::{
    AccountId, Alert, ChainId, ContentId, Keypair, Signed, SignedTx, Tx, TxBody, TxId,
};

use crate::api::{CheckResponse, Status};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached or answered garbage.
    #[error("cannot reach the node at {url}: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The node answered with an error.
    #[error("{message} ({code}, HTTP {status})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code.
        code: String,
        /// The node's message.
        message: String,
    },
    /// Waiting for a commit took too long.
    #[error("transaction {0} was not committed within the wait time")]
    Timeout(TxId),
}

/// A node's API.
#[derive(Clone, Debug)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the node at `base` (e.g. `http://127.0.0.1:7070`).
    pub fn new(base: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { base: base.trim_end_matches('/').to_owned(), http }
    }

    /// The node's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: DeserializeOwned>(
        &self,
        url: &str,
        response: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<(u16, T), ClientError> {
        // The URL is in the message once, not again inside reqwest's.
        let http = |source: reqwest::Error| ClientError::Http {
            url: url.to_owned(),
            source: source.without_url(),
        };
        let response = response.map_err(http)?;
        let status = response.status().as_u16();
        if response.status().is_client_error() || response.status().is_server_error() {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status,
                code: body["error"].as_str().unwrap_or("error").to_owned(),
                message: body["message"].as_str().unwrap_or("request failed").to_owned(),
            });
        }
        Ok((status, response.json().await.map_err(http)?))
    }

    /// `GET` a path and decode the JSON answer.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let response = self.http.get(&url).send().await;
        self.decode(&url, response).await.map(|(_, v)| v)
    }

    /// The node's status.
    pub async fn status(&self) -> Result<Status, ClientError> {
        self.get("/v1/status").await
    }

    /// An account.
    pub async fn account(&self, id: &AccountId) -> Result<Value, ClientError> {
        self.get(&format!("/v1/accounts/{id}")).await
    }

    /// Checks an indicator (any text form).
    pub async fn check(&self, indicator: &str) -> Result<CheckResponse, ClientError> {
        let encoded =
            percent_encoding::utf8_percent_encode(indicator, percent_encoding::NON_ALPHANUMERIC);
        self.get(&format!("/v1/check/{encoded}")).await
    }

    /// A report with its attestations.
    pub async fn report(&self, id: &ContentId) -> Result<Value, ClientError> {
        self.get(&format!("/v1/reports/{id}")).await
    }

    /// A transaction's status (`Api { status: 404 }` when unknown).
    pub async fn tx(&self, id: &TxId) -> Result<Value, ClientError> {
        self.get(&format!("/v1/tx/{id}")).await
    }

    /// Submits a signed transaction; returns its id once admitted to the mempool.
    pub async fn submit(&self, tx: &SignedTx) -> Result<TxId, ClientError> {
        let url = format!("{}/v1/tx", self.base);
        let response = self.http.post(&url).json(tx).send().await;
        let (_, body): (u16, Value) = self.decode(&url, response).await?;
        body["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| ClientError::Api {
            status: 200,
            code: "bad_answer".into(),
            message: format!("the node answered without a transaction id: {body}"),
        })
    }

    /// Signs `body` with `key` for the node's chain at the account's next nonce, and submits it.
    pub async fn sign_and_submit(
        &self,
        key: &Keypair,
        body: TxBody,
    ) -> Result<(TxId, SignedTx), ClientError> {
        let tx = self.sign(key, body).await?;
        let id = self.submit(&tx).await?;
        Ok((id, tx))
    }

    /// Submits a `disclose` transaction with its encrypted report (`POST /v1/disclosures`):
    /// the node keeps the ciphertext and admits the transaction; returns the transaction id.
    pub async fn submit_disclosure(
        &self,
        tx: &SignedTx,
        ciphertext: &str,
    ) -> Result<TxId, ClientError> {
        let url = format!("{}/v1/disclosures", self.base);
        let payload = serde_json::json!({ "tx": tx, "ciphertext": ciphertext });
        let response = self.http.post(&url).json(&payload).send().await;
        let (_, body): (u16, Value) = self.decode(&url, response).await?;
        body["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| ClientError::Api {
            status: 200,
            code: "bad_answer".into(),
            message: format!("the node answered without a transaction id: {body}"),
        })
    }

    /// A text resource (`GET path`), such as a disclosure's ciphertext.
    pub async fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let url = format!("{}{path}", self.base);
        let http = |source: reqwest::Error| ClientError::Http {
            url: url.clone(),
            source: source.without_url(),
        };
        let response = self.http.get(&url).send().await.map_err(http)?;
        let status = response.status().as_u16();
        let text = response.text().await.map_err(http)?;
        if status >= 400 {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            return Err(ClientError::Api {
                status,
                code: v["error"].as_str().unwrap_or("error").to_owned(),
                message: v["message"].as_str().unwrap_or(&text).to_owned(),
            });
        }
        Ok(text)
    }

    /// Signs `body` with `key` for the node's chain at the account's next nonce.
    pub async fn sign(&self, key: &Keypair, body: TxBody) -> Result<SignedTx, ClientError> {
        let chain_id: ChainId =
            self.status().await?.chain_id.parse().map_err(|e| ClientError::Api {
                status: 200,
                code: "bad_answer".into(),
                message: format!("the node's chain id is invalid: {e}"),
            })?;
        let signer = key.account_id();
        let account = self.account(&signer).await?;
        let nonce = account["next_nonce"].as_u64().unwrap_or(0);
        Ok(Tx { chain_id, signer, nonce, body }.sign(key))
    }

    /// Publishes a signed alert to every node by gossip (`POST /v1/alerts`); returns its id.
    pub async fn publish_alert(&self, alert: &Signed<Alert>) -> Result<ContentId, ClientError> {
        let url = format!("{}/v1/alerts", self.base);
        let response = self.http.post(&url).json(alert).send().await;
        let (_, body): (u16, Value) = self.decode(&url, response).await?;
        body["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| ClientError::Api {
            status: 200,
            code: "bad_answer".into(),
            message: format!("the node answered without an alert id: {body}"),
        })
    }

    /// Waits until a transaction is committed and returns its status.
    pub async fn wait_committed(&self, id: &TxId, timeout: Duration) -> Result<Value, ClientError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match self.tx(id).await {
                Ok(v) if v["status"] == "committed" => return Ok(v),
                Ok(v) if v["status"] == "dropped" => {
                    return Err(ClientError::Api {
                        status: 200,
                        code: "dropped".into(),
                        message: format!(
                            "transaction {id} was dropped before it committed: {}",
                            v["reason"].as_str().unwrap_or("no reason given")
                        ),
                    });
                }
                Ok(_) | Err(ClientError::Api { status: 404, .. }) => {}
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ClientError::Timeout(*id));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
