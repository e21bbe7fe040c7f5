//! Pulling indicators from TAXII 2.1 servers into the book. `vigil feed pull` (through
//! `POST /v1/intel/pulls`) and the `[[intel.pull]]` schedule run the same [`pull`].
//!
//! A pull reads a collection's objects endpoint page by page — `limit`, then the server's
//! `next` token, or `added_after` set to the page's `X-TAXII-Date-Added-Last` for a server that
//! says `more` without a token, and a single page from one that ignores `limit` — parses each
//! page with the STIX importer ([`vigil_intel::stix::import_envelope`]) and merges it into the
//! book before asking for the next.
//!
//! Invariants:
//! - a source's cursor (the newest `X-TAXII-Date-Added-Last` merged) is written in the same
//!   database transaction as the page's merge, so a pull stopped anywhere — a server failing,
//!   the node killed — leaves book and cursor at the last merged page, and a page that fails
//!   changes neither;
//! - a finished pull's cursor is exclusive (the next pull asks for what was added after it);
//!   an interrupted pull resumes from just before its last merged page's date, so objects added
//!   at the same instant as that page's last one are fetched too — merging again what is
//!   already in the book changes nothing;
//! - one pull per source at a time; the password is sent only to the TAXII server, as HTTP
//!   Basic authentication, and never reaches a log, an answer or the database.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use redb::{ReadableDatabase, TableDefinition};
use reqwest::Url;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use vigil_core::{Category, EvmChainId};
use vigil_intel::import::MAX_LISTED_REJECTIONS;
use vigil_intel::{BookBytes, CategoryMap, ImportOptions, ImportReport, IndicatorBook, Timestamp};
use vigil_taxii::{Micros, TAXII_MEDIA_TYPE, format_micros, parse_micros};

use super::{ImportRequest, Intel, IntelError, now};
use crate::app::NodeState;

/// What a collection id keeps unescaped in a URL path (RFC 3986 unreserved characters).
const PATH_SEGMENT: &AsciiSet =
    &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
/// Cursors: source name → JSON [`Cursor`].
const CURSORS: TableDefinition<&str, &[u8]> = TableDefinition::new("intel_pull_cursors");
/// Objects asked for per page unless the request says (servers may send fewer).
pub const DEFAULT_PAGE_LIMIT: u32 = 1_000;
/// Tries of one request that fails in a way worth retrying (5xx, 429, no connection).
const ATTEMPTS: u32 = 4;
/// The first wait before a retry; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(500);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(8);
/// Pages in a row that bring nothing while the server says more follows, before giving up.
const MAX_EMPTY_PAGES: u32 = 3;
/// Longest wait for one answer (a reference server computes a whole collection for page one).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Bytes of an error answer quoted in an error.
const QUOTED_BYTES: usize = 200;

fn default_interval() -> u64 {
    3_600
}

/// One `[[intel.pull]]` entry: a TAXII 2.1 collection the node pulls on a schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullConfig {
    /// The server's API root, e.g. `https://taxii.example/api1/`.
    pub taxii: String,
    /// The collection's id.
    pub collection: String,
    /// User name for HTTP Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The environment variable holding the password (never the password itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Source name of the pulled indicators (default `taxii:<host>/<collection>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Seconds between the end of one pull and the start of the next (the first runs at start).
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Category of indicators whose labels name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// EVM chain id of the collection's addresses (default: every chain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<u64>,
    /// Objects asked for per page (default 1,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

impl PullConfig {
    /// What is wrong with the entry, as `(field, why)`.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if api_root(&self.taxii).is_err() {
            return Err(("intel.pull.taxii", "must be an http:// or https:// URL"));
        }
        if self.collection.trim().is_empty() {
            return Err(("intel.pull.collection", "must name a collection"));
        }
        if self.interval_secs == 0 {
            return Err(("intel.pull.interval_secs", "must be at least 1"));
        }
        if self.limit == Some(0) {
            return Err(("intel.pull.limit", "must be at least 1"));
        }
        if self.password_env.is_some() && self.user.is_none() {
            return Err(("intel.pull.password_env", "needs a user"));
        }
        Ok(())
    }

    /// The request one pull of this entry makes, with the password read from `password_env`.
    pub fn request(&self) -> Result<PullRequest, PullError> {
        let password = match &self.password_env {
            Some(var) => Some(std::env::var(var).map_err(|_| {
                PullError::Invalid(format!(
                    "the password of {} is read from the environment variable {var}, which is \
                     not set for the node",
                    self.taxii
                ))
            })?),
            None => None,
        };
        Ok(PullRequest {
            taxii: self.taxii.clone(),
            collection: self.collection.clone(),
            user: self.user.clone(),
            password,
            source: self.source.clone(),
            category: self.category,
            chain: self.chain,
            limit: self.limit,
            full: false,
        })
    }
}

/// One pull, as `POST /v1/intel/pulls` takes it (the CLI reads the password from its own
/// environment and sends it to the node; the node sends it only to the TAXII server).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// The server's API root URL.
    pub taxii: String,
    /// The collection's id.
    pub collection: String,
    /// User name for HTTP Basic authentication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Its password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// Source name (default `taxii:<host>/<collection>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Category of indicators whose labels name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<Category>,
    /// EVM chain id of the collection's addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<u64>,
    /// Objects asked for per page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// Ignore the source's cursor and read the whole collection again.
    #[serde(default)]
    pub full: bool,
}

impl std::fmt::Debug for PullRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PullRequest")
            .field("taxii", &self.taxii)
            .field("collection", &self.collection)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("source", &self.source)
            .field("full", &self.full)
            .finish_non_exhaustive()
    }
}

/// What a pull did.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PullReport {
    /// The source the indicators were recorded under.
    pub source: String,
    /// The collection's objects endpoint.
    pub url: String,
    /// Pages read and merged.
    pub pages: u64,
    /// STIX objects in them.
    pub objects: u64,
    /// The merged import report of every page, counted against the node's book: `imported`
    /// are indicators new to the node, `merged` those it already had.
    pub report: ImportReport,
    /// Where the pull started: it asked for objects added after this (none: from the start).
    pub added_after: Option<String>,
    /// Whether it resumed an interrupted pull.
    pub resumed: bool,
    /// The source's cursor now: the newest `date_added` merged; the next pull asks for what
    /// was added after it.
    pub cursor: Option<String>,
    /// Indicators in the book now.
    pub indicators: usize,
}

impl PullReport {
    /// A one-line summary for people.
    pub fn summary(&self) -> String {
        let r = &self.report;
        format!(
            "{}: {} page(s), {} object(s); indicators imported {}, already known {}, objects \
             skipped {}, rejected {}",
            self.source,
            self.pages,
            self.objects,
            r.imported,
            r.merged,
            r.skipped,
            r.rejected_total
        )
    }
}

/// Why a pull failed.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The request itself (a URL, a missing password variable).
    #[error("{0}")]
    Invalid(String),
    /// Another pull of the same source is running.
    #[error("a pull of source {0:?} is already running")]
    Busy(String),
    /// The server answered with an error status (after retries when it was worth retrying).
    #[error("{url} answered HTTP {status}{detail}")]
    Status {
        /// The request.
        url: String,
        /// The status.
        status: u16,
        /// What the answer said, or a hint.
        detail: String,
    },
    /// No answer (connection refused, timeout) after the retries.
    #[error("{url}: {reason} (tried {ATTEMPTS} times)")]
    Unreachable {
        /// The request.
        url: String,
        /// The last failure.
        reason: String,
    },
    /// An answer that is not a TAXII 2.1 envelope (wrong media type, garbage).
    #[error("{url}: {reason}")]
    BadAnswer {
        /// The request.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// The book or the database.
    #[error(transparent)]
    Intel(#[from] IntelError),
    /// A pull that merged some pages before it failed.
    #[error(
        "{cause} — {pages} page(s) ({objects} objects) were merged before it and nothing after; \
         the cursor stays at {}: the next pull resumes there",
        cursor.as_deref().unwrap_or("the start")
    )]
    Stopped {
        /// Why it stopped.
        cause: Box<PullError>,
        /// Pages merged.
        pages: u64,
        /// Objects in them.
        objects: u64,
        /// The cursor as it stays.
        cursor: Option<String>,
    },
}

impl PullError {
    /// The error that stopped a pull, under any [`PullError::Stopped`].
    pub fn cause(&self) -> &PullError {
        match self {
            Self::Stopped { cause, .. } => cause.cause(),
            other => other,
        }
    }
}

/// The sources being pulled now.
#[derive(Default)]
pub struct Running(Mutex<BTreeSet<String>>);

/// A source marked as being pulled until dropped.
struct RunningGuard<'a> {
    running: &'a Running,
    source: String,
}

impl Running {
    fn start(&self, source: &str) -> Result<RunningGuard<'_>, PullError> {
        if !self.0.lock().insert(source.to_owned()) {
            return Err(PullError::Busy(source.to_owned()));
        }
        Ok(RunningGuard { running: self, source: source.to_owned() })
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.running.0.lock().remove(&self.source);
    }
}

/// Where a source's pulls have got, stored per source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Cursor {
    /// The objects endpoint it belongs to (a source pulled from elsewhere starts over).
    url: String,
    /// The newest `date_added` merged, in microseconds.
    added_after: Option<Micros>,
    /// Whether the last pull read to the end.
    complete: bool,
    /// When it was written.
    updated: Timestamp,
}

fn db_err(e: impl std::fmt::Display) -> IntelError {
    IntelError::Db(e.to_string())
}

fn read_cursor(intel: &Intel, source: &str) -> Result<Option<Cursor>, IntelError> {
    let txn = intel.db.begin_read().map_err(db_err)?;
    let table = match txn.open_table(CURSORS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(db_err(e)),
    };
    let Some(value) = table.get(source).map_err(db_err)? else { return Ok(None) };
    serde_json::from_slice(value.value()).map(Some).map_err(db_err)
}

fn write_cursor(
    txn: &redb::WriteTransaction,
    source: &str,
    cursor: &Cursor,
) -> Result<(), IntelError> {
    let json = serde_json::to_vec(cursor).map_err(db_err)?;
    txn.open_table(CURSORS).map_err(db_err)?.insert(source, json.as_slice()).map_err(db_err)?;
    Ok(())
}

/// The API root as a URL ending in `/`.
fn api_root(text: &str) -> Result<Url, PullError> {
    let mut url = Url::parse(text.trim())
        .map_err(|e| PullError::Invalid(format!("TAXII URL {text:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Not echoed: the URL holds a secret.
        return Err(PullError::Invalid(
            "the TAXII URL carries credentials: give the user with --user and the password \
             with --password-env (user and password_env in [[intel.pull]])"
                .into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(PullError::Invalid(format!("TAXII URL {text:?} is not an http(s) URL")));
    }
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// A TAXII 2.1 collection, as one pull reads it.
struct Collection {
    http: reqwest::Client,
    /// `…/collections/{id}/`.
    url: Url,
    user: Option<String>,
    password: Option<String>,
    /// Largest answer read.
    max_bytes: usize,
}

/// An answer worth reading: its body and headers.
struct Answer {
    body: Vec<u8>,
    headers: HeaderMap,
}

impl Collection {
    fn new(request: &PullRequest, max_bytes: usize) -> Result<Self, PullError> {
        let root = api_root(&request.taxii)?;
        let id = request.collection.trim();
        if id.is_empty() {
            return Err(PullError::Invalid("the collection id is empty".into()));
        }
        let url = root
            .join(&format!("collections/{}/", utf8_percent_encode(id, PATH_SEGMENT)))
            .map_err(|e| PullError::Invalid(format!("collection {id:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PullError::Invalid(format!("HTTP client: {e}")))?;
        let password = request.password.clone();
        Ok(Self { http, url, user: request.user.clone(), password, max_bytes })
    }

    fn objects_url(&self) -> String {
        format!("{}objects/", self.url)
    }

    /// GET `url`, retrying what is worth retrying; any other error status is an error.
    async fn get(&self, url: &Url) -> Result<Answer, PullError> {
        let shown = url.to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self.http.get(url.clone()).header(ACCEPT, TAXII_MEDIA_TYPE);
            if let Some(user) = &self.user {
                request = request.basic_auth(user, self.password.as_deref());
            }
            let retry = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    let body = match read_capped(response, self.max_bytes).await {
                        Ok(Some(b)) => b,
                        Ok(None) => {
                            let reason = format!(
                                "the answer is larger than [intel] max_import_bytes ({} bytes)",
                                self.max_bytes
                            );
                            return Err(PullError::BadAnswer { url: shown, reason });
                        }
                        Err(e) if attempt < ATTEMPTS => {
                            self.wait(attempt, &shown, &e.without_url().to_string()).await;
                            continue;
                        }
                        Err(e) => {
                            let reason = format!("reading the answer: {}", e.without_url());
                            return Err(PullError::Unreachable { url: shown, reason });
                        }
                    };
                    if status.is_success() {
                        return Ok(Answer { body, headers });
                    }
                    let worth_retrying = status.is_server_error() || status.as_u16() == 429;
                    let error = PullError::Status {
                        url: shown.clone(),
                        status: status.as_u16(),
                        detail: detail(status.as_u16(), &body, attempt),
                    };
                    if !worth_retrying || attempt >= ATTEMPTS {
                        return Err(error);
                    }
                    format!("HTTP {}", status.as_u16())
                }
                Err(e) => {
                    let reason = e.without_url().to_string();
                    if attempt >= ATTEMPTS {
                        return Err(PullError::Unreachable { url: shown, reason });
                    }
                    reason
                }
            };
            self.wait(attempt, &shown, &retry).await;
        }
    }

    async fn wait(&self, attempt: u32, url: &str, why: &str) {
        let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
        let delay = FIRST_RETRY_WAIT.saturating_mul(factor).min(MAX_RETRY_WAIT);
        tracing::warn!(%url, attempt, retry_in_ms = delay.as_millis(), "TAXII request failed: {why}");
        tokio::time::sleep(delay).await;
    }

    /// Checks that the collection exists and can be read (a clear error before any page).
    async fn check(&self) -> Result<(), PullError> {
        let answer = self.get(&self.url).await.map_err(|e| match e {
            PullError::Status { url, status: 404, .. } => PullError::Status {
                url,
                status: 404,
                detail: " — no such collection on this API root (GET …/collections/ lists \
                         them)"
                    .into(),
            },
            other => other,
        })?;
        let url = self.url.to_string();
        media_type(&url, &answer.headers)?;
        let info: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| PullError::BadAnswer {
                url: url.clone(),
                reason: format!("not a collection resource: {e}"),
            })?;
        if info.get("can_read") == Some(&serde_json::Value::Bool(false)) {
            return Err(PullError::BadAnswer {
                url,
                reason: "the collection says it cannot be read (can_read: false) by this user"
                    .into(),
            });
        }
        Ok(())
    }
}

/// The body of `response`, or `None` once it grows past `max` bytes (read no further).
async fn read_capped(
    mut response: reqwest::Response,
    max: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len().saturating_add(chunk.len()) > max {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// The hint or text of an error answer.
fn detail(status: u16, body: &[u8], attempts: u32) -> String {
    let tries = if attempts > 1 { format!(" (tried {attempts} times)") } else { String::new() };
    let hint = match status {
        401 => " — the server wants credentials (--user, --password-env)",
        403 => " — this user may not read the collection",
        406 => " — the server does not speak TAXII 2.1",
        _ => "",
    };
    // TAXII error messages are JSON with a title and a description.
    let said = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            let title = v.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
            let description = v.get("description").and_then(|t| t.as_str()).unwrap_or_default();
            Some(format!("{title}: {description}")).filter(|s| s.len() > 2)
        })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&body[..body.len().min(QUOTED_BYTES)]).trim().to_owned()
        });
    let said = if said.is_empty() { String::new() } else { format!(": {said}") };
    format!("{tries}{said}{hint}")
}

/// Refuses an answer that is not TAXII (or plain) JSON.
fn media_type(url: &str, headers: &HeaderMap) -> Result<(), PullError> {
    let value = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/taxii+json" | "application/stix+json" | "application/json" => Ok(()),
        _ => Err(PullError::BadAnswer {
            url: url.to_owned(),
            reason: format!(
                "the answer is {:?}, not {TAXII_MEDIA_TYPE}: is this a TAXII 2.1 API root?",
                if value.is_empty() { "without a Content-Type" } else { value }
            ),
        }),
    }
}

fn date_added_last(headers: &HeaderMap) -> Option<Micros> {
    headers.get("x-taxii-date-added-last").and_then(|v| v.to_str().ok()).and_then(parse_micros)
}

/// Adds one page's report to the pull's.
fn add_up(total: &mut ImportReport, page: ImportReport) {
    total.read += page.read;
    total.imported += page.imported;
    total.merged += page.merged;
    total.skipped += page.skipped;
    total.rejected_total += page.rejected_total;
    let room = MAX_LISTED_REJECTIONS.saturating_sub(total.rejected.len());
    total.rejected.extend(page.rejected.into_iter().take(room));
    for (into, from) in [
        (&mut total.skipped_by, page.skipped_by),
        (&mut total.rejected_by, page.rejected_by),
        (&mut total.warnings, page.warnings),
    ] {
        for (k, n) in from {
            *into.entry(k).or_default() += n;
        }
    }
}

/// The default source name of a pull: `taxii:<host>/<collection>`.
fn default_source(request: &PullRequest) -> String {
    let host = Url::parse(request.taxii.trim())
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    format!("taxii:{host}/{}", request.collection.trim())
}

/// Pulls what the collection added since the source's cursor (everything the first time, or
/// with `full`) into the book, page by page; see the module docs for the guarantees.
pub async fn pull(state: &Arc<NodeState>, request: PullRequest) -> Result<PullReport, PullError> {
    let source = request.source.clone().unwrap_or_else(|| default_source(&request));
    if source.trim().is_empty() || source.len() > 200 {
        return Err(PullError::Invalid("source name must be 1 to 200 bytes".into()));
    }
    if request.limit == Some(0) {
        return Err(PullError::Invalid("limit must be at least 1".into()));
    }
    let max_bytes = state.intel.config().max_import_bytes;
    let collection = Collection::new(&request, max_bytes)?;
    let _running = state.intel.pulls.start(&source)?;
    let objects_url = collection.objects_url();
    let stored = read_cursor(&state.intel, &source)?.filter(|c| c.url == objects_url);
    let (start, resumed) = match &stored {
        Some(c) if !request.full => match c.added_after {
            // An interrupted pull: from just before its last merged page's date.
            Some(t) if !c.complete => (Some(t.saturating_sub(1)), true),
            t => (t, false),
        },
        _ => (None, false),
    };
    let mut cursor = Cursor {
        url: objects_url.clone(),
        added_after: if request.full { None } else { stored.and_then(|c| c.added_after) },
        complete: false,
        updated: now(),
    };
    tracing::info!(
        %source,
        url = %objects_url,
        added_after = start.map(format_micros),
        resumed,
        "TAXII pull started"
    );
    collection.check().await?;
    let limit = request.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
    let options = ImportOptions {
        source: Some(source.clone()),
        chain: request.chain.map(EvmChainId),
        categories: CategoryMap::new(request.category),
        max_bytes,
        ..ImportOptions::seen_at(now())
    };
    let mut report = PullReport {
        source: source.clone(),
        url: objects_url.clone(),
        pages: 0,
        objects: 0,
        report: ImportReport {
            kind: vigil_intel::FeedKind::Stix,
            source: source.clone(),
            read: 0,
            imported: 0,
            merged: 0,
            skipped: 0,
            skipped_by: Default::default(),
            rejected_total: 0,
            rejected_by: Default::default(),
            rejected: Vec::new(),
            warnings: Default::default(),
        },
        added_after: start.map(format_micros),
        resumed,
        cursor: cursor.added_after.map(format_micros),
        indicators: state.intel.book().len(),
    };
    let stopped = |e: PullError, report: &PullReport| {
        if report.pages == 0 {
            return e;
        }
        PullError::Stopped {
            cause: Box::new(e),
            pages: report.pages,
            objects: report.objects,
            cursor: report.cursor.clone(),
        }
    };
    let (mut after, mut next): (Option<Micros>, Option<String>) = (start, None);
    let mut empty_pages = 0;
    loop {
        let mut url = Url::parse(&objects_url).map_err(|e| PullError::Invalid(e.to_string()))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("limit", &limit.to_string());
            if let Some(t) = after {
                q.append_pair("added_after", &format_micros(t));
            }
            if let Some(n) = &next {
                q.append_pair("next", n);
            }
        }
        let answer = collection.get(&url).await.map_err(|e| stopped(e, &report))?;
        let shown = url.to_string();
        media_type(&shown, &answer.headers).map_err(|e| stopped(e, &report))?;
        let last = date_added_last(&answer.headers);
        let page_no = report.pages + 1;
        let merged = {
            let state = Arc::clone(state);
            let (options, source, shown) = (options.clone(), source.clone(), shown.clone());
            let mut page_cursor = cursor.clone();
            tokio::task::spawn_blocking(move || {
                let mut book = IndicatorBook::new();
                let (parsed, page) = vigil_intel::stix::import_envelope(
                    &mut book,
                    &answer.body,
                    &options,
                    &mut |_| {},
                )
                .map_err(|e| PullError::BadAnswer {
                    url: shown.clone(),
                    reason: format!("the page is not a TAXII 2.1 envelope of STIX objects: {e}"),
                })?;
                drop(answer);
                page_cursor.added_after = page_cursor.added_after.max(last);
                page_cursor.complete = !page.more;
                page_cursor.updated = now();
                let request = ImportRequest {
                    parsed,
                    file: Some(format!("taxii {shown} (page {page_no})")),
                    book: BookBytes::from(&book),
                };
                drop(book);
                let written = page_cursor.clone();
                let outcome = state.intel.import_and_write(
                    request,
                    Some(|txn: &redb::WriteTransaction| write_cursor(txn, &source, &written)),
                )?;
                Ok::<_, PullError>((outcome, page, page_cursor))
            })
            .await
            .map_err(|e| PullError::Intel(IntelError::Db(format!("page merge task: {e}"))))
        };
        let (outcome, page, page_cursor) = match merged {
            Ok(Ok(m)) => m,
            Ok(Err(e)) | Err(e) => return Err(stopped(e, &report)),
        };
        cursor = page_cursor;
        let objects = outcome.report.read;
        report.pages += 1;
        report.objects += objects;
        report.cursor = cursor.added_after.map(format_micros);
        report.indicators = outcome.indicators;
        add_up(&mut report.report, outcome.report);
        tracing::debug!(%source, page = report.pages, objects, more = page.more, "TAXII page merged");
        if !page.more {
            break;
        }
        empty_pages = if objects == 0 { empty_pages + 1 } else { 0 };
        if empty_pages >= MAX_EMPTY_PAGES {
            let reason = format!(
                "{MAX_EMPTY_PAGES} pages in a row brought no object while the server said more follow"
            );
            return Err(stopped(PullError::BadAnswer { url: shown, reason }, &report));
        }
        match (page.next, last) {
            // The server's token: the same query otherwise (servers check it is unchanged).
            (Some(token), _) => next = Some(token),
            // Paging by date: what was added after this page's last object.
            (None, Some(t)) if after.is_none_or(|a| t > a) => {
                after = Some(t);
                next = None;
            }
            _ => {
                let reason = "the server says more objects follow but gives neither a `next` \
                              token nor a newer X-TAXII-Date-Added-Last to page by"
                    .to_owned();
                return Err(stopped(PullError::BadAnswer { url: shown, reason }, &report));
            }
        }
    }
    tracing::info!(
        source = %report.source,
        pages = report.pages,
        objects = report.objects,
        imported = report.report.imported,
        known = report.report.merged,
        skipped = report.report.skipped,
        cursor = report.cursor.as_deref(),
        "TAXII pull done"
    );
    Ok(report)
}

/// Runs every `[[intel.pull]]` entry of the node's configuration on its schedule until
/// `shutdown`: the first pull at start, the next `interval_secs` after each ends. A failed pull
/// is logged and tried again at the next interval.
pub fn spawn_schedule(state: &Arc<NodeState>, shutdown: CancellationToken) {
    for entry in state.intel.config().pull {
        let (state, shutdown) = (Arc::clone(state), shutdown.clone());
        tokio::spawn(async move {
            let interval = Duration::from_secs(entry.interval_secs);
            loop {
                let run = async {
                    let request = entry.request()?;
                    pull(&state, request).await
                };
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    result = run => match result {
                        Ok(r) => tracing::info!(summary = %r.summary(), "scheduled TAXII pull"),
                        Err(e) => tracing::error!(taxii = %entry.taxii, collection = %entry.collection, "scheduled TAXII pull failed: {e}"),
                    },
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(interval) => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_roots_and_sources() {
        assert_eq!(
            api_root("http://127.0.0.1:5000/api1").unwrap().as_str(),
            "http://127.0.0.1:5000/api1/"
        );
        assert!(api_root("ftp://x/").is_err());
        assert!(api_root("not a url").is_err());
        let e = api_root("https://me:hunter2@taxii.example/api1/").unwrap_err().to_string();
        assert!(e.contains("--password-env") && !e.contains("hunter2"), "{e}");
        let request = PullConfig {
            taxii: "https://taxii.example/api1/".into(),
            collection: "91a7b528".into(),
            user: Some("u".into()),
            password_env: Some("VIGIL_TEST_NO_SUCH_VARIABLE".into()),
            source: None,
            interval_secs: 60,
            category: None,
            chain: None,
            limit: None,
        };
        assert!(request.check().is_ok());
        let e = request.request().unwrap_err().to_string();
        assert!(e.contains("VIGIL_TEST_NO_SUCH_VARIABLE"), "{e}");
        let r = PullRequest {
            password: Some("hunter2".into()),
            ..PullConfig { password_env: None, ..request }.request().unwrap()
        };
        assert_eq!(default_source(&r), "taxii:taxii.example/91a7b528");
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn error_answers_are_quoted_with_a_hint() {
        let body = br#"{"title": "ProcessingError", "http_status": "404", "description": "Collection 'x' not found"}"#;
        assert_eq!(detail(404, body, 1), ": ProcessingError: Collection 'x' not found");
        assert_eq!(detail(500, b"<h1>down</h1>", 4), " (tried 4 times): <h1>down</h1>");
        assert!(detail(401, b"", 1).contains("--user"));
    }
}
