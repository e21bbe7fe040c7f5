//! The HTTP side: the axum [`Router`] of the TAXII 2.1 endpoints, their filters, paging,
//! media types, authentication and error resources.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use serde_json::{Value, json};
use vigil_intel::stix::StixObject;

use crate::auth::{self, AuthError, PreparedUser, Requester};
use crate::config::{CollectionConfig, ConfigError, TaxiiConfig};
use crate::media::{STIX_MEDIA_TYPE, TAXII_MEDIA_TYPE, accepts_taxii, is_taxii_content};
use crate::store::{Cursor, Query, StoreError, TaxiiStore, VersionSel};
use crate::time::{Micros, format_micros, now_micros, parse_micros};

/// Recognises the node operator's credentials (the node's admin token) on a request.
type OperatorCheck = Box<dyn Fn(&HeaderMap) -> bool + Send + Sync>;

/// Everything the handlers share.
pub struct TaxiiState {
    config: TaxiiConfig,
    store: Arc<dyn TaxiiStore>,
    users: Vec<PreparedUser>,
    clock: Box<dyn Fn() -> Micros + Send + Sync>,
    operator: Option<OperatorCheck>,
}

/// The local address a request's connection reached, set as a request extension by the server
/// that embeds these routes. Discovery names it when no `public_url` is configured and the
/// request's `Host` is not one of `allowed_hosts`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedAt(pub SocketAddr);

/// Separates a writable collection's id from a poster's name in a store key.
const POSTER_SEPARATOR: char = ':';

/// The store key of `poster`'s submissions to the writable collection `collection_id`: each
/// poster's objects are a collection of their own in the store, so reading, paging and
/// deleting reach only theirs, and one poster's object never hides another's.
pub fn submissions_key(collection_id: &str, poster: &str) -> String {
    format!("{collection_id}{POSTER_SEPARATOR}{poster}")
}

/// The collection id of a store key ([`submissions_key`] or a plain collection id). Collection
/// ids are UUIDs and user names have no `:`, so the split is unambiguous.
pub fn collection_of_key(key: &str) -> &str {
    key.split_once(POSTER_SEPARATOR).map_or(key, |(id, _)| id)
}

impl TaxiiState {
    /// A server over `store`, after checking the configuration.
    pub fn new(config: TaxiiConfig, store: Arc<dyn TaxiiStore>) -> Result<Self, ConfigError> {
        config.validate()?;
        let users = config.users.iter().map(PreparedUser::new).collect::<Result<_, _>>()?;
        Ok(Self { config, store, users, clock: Box::new(now_micros), operator: None })
    }

    /// Lets the node's operator, recognised by `check`, delete any object of a writable
    /// collection (the review queue's reject does the same for queued ones).
    pub fn with_operator(
        mut self,
        check: impl Fn(&HeaderMap) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.operator = Some(Box::new(check));
        self
    }

    /// Replaces the clock that stamps `date_added` (tests use a fixed one).
    pub fn with_clock(mut self, clock: impl Fn() -> Micros + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The store (the node appends ledger reports, opinions and alerts through it).
    pub fn store(&self) -> &Arc<dyn TaxiiStore> {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &TaxiiConfig {
        &self.config
    }
}

/// A TAXII error: an HTTP status with an error message resource.
#[derive(Debug)]
pub struct TaxiiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

impl TaxiiError {
    fn new(status: StatusCode, title: &'static str, description: impl Into<String>) -> Self {
        Self { status, title, description: description.into() }
    }

    fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Bad request", description)
    }

    fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "Not found", what)
    }
}

impl From<StoreError> for TaxiiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "taxii store");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal error",
            "the server's store failed; see its log",
        )
    }
}

impl IntoResponse for TaxiiError {
    fn into_response(self) -> Response {
        let body = json!({
            "title": self.title,
            "description": self.description,
            "http_status": self.status.as_u16().to_string(),
        });
        let mut resp = taxii_response(self.status, body.to_string());
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Basic realm=\"vigil-taxii\", Bearer realm=\"vigil-taxii\"",
                ),
            );
        }
        resp
    }
}

type Result<T, E = TaxiiError> = std::result::Result<T, E>;

fn taxii_response(status: StatusCode, body: String) -> Response {
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(TAXII_MEDIA_TYPE));
    resp
}

/// The router of every TAXII endpoint, under the configured base path (default `/taxii2`).
/// Both `…/` and `…` forms of each URL are served.
pub fn router(state: Arc<TaxiiState>) -> Router {
    routes(state)
}

/// The same routes as [`router`], for merging into an application whose router has state `S`.
pub fn routes<S: Clone + Send + Sync + 'static>(state: Arc<TaxiiState>) -> Router<S> {
    let base = state.config.base_path.trim_end_matches('/').to_owned();
    let mut r = Router::new();
    let routes: [(&str, axum::routing::MethodRouter<Arc<TaxiiState>>); 9] = [
        ("", get(discovery)),
        ("/{root}", get(api_root)),
        ("/{root}/status/{status}", get(status)),
        ("/{root}/collections", get(collections)),
        ("/{root}/collections/{cid}", get(collection)),
        ("/{root}/collections/{cid}/manifest", get(manifest)),
        ("/{root}/collections/{cid}/objects", get(get_objects).post(post_objects)),
        ("/{root}/collections/{cid}/objects/{oid}", get(get_object).delete(delete_object)),
        ("/{root}/collections/{cid}/objects/{oid}/versions", get(versions)),
    ];
    for (path, handler) in routes {
        let full = format!("{base}{path}");
        if !full.is_empty() {
            r = r.route(&full, handler.clone());
        }
        r = r.route(&format!("{full}/"), handler);
    }
    r.with_state(state)
}

/// Checks `Accept` and credentials, common to every request.
fn begin(state: &TaxiiState, headers: &HeaderMap) -> Result<Requester> {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok());
    if !accepts_taxii(accept) {
        return Err(TaxiiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "Not acceptable",
            format!(
                "this server answers {TAXII_MEDIA_TYPE}; the request accepts only {:?}",
                accept.unwrap_or_default()
            ),
        ));
    }
    auth::identify(headers, &state.users).map_err(|e| {
        let why = match e {
            AuthError::Malformed => "malformed Authorization header (use Basic, Bearer or Token)",
            AuthError::Unknown => "unknown credentials",
        };
        TaxiiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", why)
    })
}

fn user(state: &TaxiiState, who: Requester) -> Option<&PreparedUser> {
    match who {
        Requester::Anonymous => None,
        Requester::User(i) => state.users.get(i),
    }
}

/// Whether `who` may read `c`. A writable collection (an inbox) is read only by its posters,
/// each seeing their own submissions: unreviewed objects are shown to no one else.
fn can_read(state: &TaxiiState, who: Requester, c: &CollectionConfig) -> bool {
    if c.writable {
        return c.readable && can_write(state, who, c);
    }
    c.anonymous_read || (user(state, who).is_some() && c.readable)
}

fn can_write(state: &TaxiiState, who: Requester, c: &CollectionConfig) -> bool {
    c.writable && user(state, who).is_some_and(|u| u.can_write)
}

fn unauthenticated() -> TaxiiError {
    TaxiiError::new(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        "this resource needs credentials (HTTP Basic or a bearer token)",
    )
}

/// Anonymous requesters see the server only when some collection is anonymously readable.
fn require_visibility(state: &TaxiiState, who: Requester) -> Result<()> {
    if who == Requester::Anonymous && !state.config.collections.iter().any(|c| c.anonymous_read) {
        return Err(unauthenticated());
    }
    Ok(())
}

fn check_root(state: &TaxiiState, root: &str) -> Result<()> {
    if root == state.config.api_root {
        Ok(())
    } else {
        Err(TaxiiError::not_found(format!("no API root {root:?}")))
    }
}

fn find_collection<'a>(state: &'a TaxiiState, cid: &str) -> Result<&'a CollectionConfig> {
    state
        .config
        .collection(cid)
        .ok_or_else(|| TaxiiError::not_found(format!("no collection {cid:?}")))
}

/// A collection `who` may read, with the store key of what they see in it.
fn readable<'a>(
    state: &'a TaxiiState,
    who: Requester,
    root: &str,
    cid: &str,
) -> Result<(&'a CollectionConfig, String)> {
    check_root(state, root)?;
    let c = find_collection(state, cid)?;
    if can_read(state, who, c) {
        let key = match user(state, who) {
            Some(u) if c.writable => submissions_key(&c.id, &u.name),
            _ => c.id.clone(),
        };
        Ok((c, key))
    } else if who == Requester::Anonymous {
        Err(unauthenticated())
    } else if c.writable {
        Err(TaxiiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "objects posted to this collection wait for review: only their poster may read them",
        ))
    } else {
        Err(TaxiiError::new(StatusCode::FORBIDDEN, "Forbidden", "you may not read this collection"))
    }
}

/// The API root's URL in discovery: `public_url`, else the request's `Host` when it is an
/// allowed one, else the address its connection reached; never a `Host` nobody allowed.
fn root_url(state: &TaxiiState, headers: &HeaderMap, served_at: Option<ServedAt>) -> String {
    let allowed =
        |host: &&str| state.config.allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(host));
    let prefix = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => match headers.get(HOST).and_then(|h| h.to_str().ok()).filter(allowed) {
            Some(host) => format!("http://{host}"),
            None => match served_at {
                Some(ServedAt(addr)) => format!("http://{addr}"),
                None => "http://localhost".to_owned(),
            },
        },
    };
    format!("{prefix}{}/{}/", state.config.base_path.trim_end_matches('/'), state.config.api_root)
}

async fn discovery(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    served_at: Option<Extension<ServedAt>>,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    require_visibility(&state, who)?;
    let url = root_url(&state, &headers, served_at.map(|Extension(s)| s));
    let mut body = json!({
        "title": state.config.title,
        "description": state.config.description,
        "default": url,
        "api_roots": [url],
    });
    if let Some(contact) = &state.config.contact {
        body["contact"] = json!(contact);
    }
    Ok(taxii_response(StatusCode::OK, body.to_string()))
}

async fn api_root(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path(root): Path<String>,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    require_visibility(&state, who)?;
    check_root(&state, &root)?;
    let body = json!({
        "title": state.config.title,
        "description": state.config.description,
        "versions": [TAXII_MEDIA_TYPE],
        "max_content_length": state.config.max_content_length,
    });
    Ok(taxii_response(StatusCode::OK, body.to_string()))
}

fn collection_json(state: &TaxiiState, who: Requester, c: &CollectionConfig) -> Value {
    let mut v = json!({
        "id": c.id,
        "title": c.title,
        "can_read": can_read(state, who, c),
        "can_write": can_write(state, who, c),
        "media_types": [STIX_MEDIA_TYPE],
    });
    if let Some(d) = &c.description {
        v["description"] = json!(d);
    }
    if let Some(a) = &c.alias {
        v["alias"] = json!(a);
    }
    v
}

async fn collections(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path(root): Path<String>,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    require_visibility(&state, who)?;
    check_root(&state, &root)?;
    let list: Vec<Value> = state
        .config
        .collections
        .iter()
        .filter(|c| can_read(&state, who, c) || can_write(&state, who, c))
        .map(|c| collection_json(&state, who, c))
        .collect();
    let body = if list.is_empty() { json!({}) } else { json!({ "collections": list }) };
    Ok(taxii_response(StatusCode::OK, body.to_string()))
}

async fn collection(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid)): Path<(String, String)>,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    check_root(&state, &root)?;
    let c = find_collection(&state, &cid)?;
    if !can_read(&state, who, c) && !can_write(&state, who, c) {
        return Err(if who == Requester::Anonymous {
            unauthenticated()
        } else {
            TaxiiError::not_found(format!("no collection {cid:?}"))
        });
    }
    Ok(taxii_response(StatusCode::OK, collection_json(&state, who, c).to_string()))
}

/// Encodes a cursor as the opaque `next` token.
fn encode_next(c: Cursor) -> String {
    let mut bytes = Vec::with_capacity(17);
    bytes.push(1u8);
    bytes.extend_from_slice(&c.added.to_be_bytes());
    bytes.extend_from_slice(&c.seq.to_be_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes a `next` token.
fn decode_next(token: &str) -> Option<Cursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    let (version, rest) = bytes.split_first()?;
    if *version != 1 || rest.len() != 16 {
        return None;
    }
    let added = u64::from_be_bytes(rest[..8].try_into().ok()?);
    let seq = u64::from_be_bytes(rest[8..].try_into().ok()?);
    Some(Cursor { added, seq })
}

/// Which filters an endpoint takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Filters {
    /// objects, manifest: added_after, limit, next, match[id|type|version|spec_version].
    Collection,
    /// one object: added_after, limit, next, match[version|spec_version].
    Object,
    /// versions: added_after, limit, next, match[spec_version].
    Versions,
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => {
                        return Err(TaxiiError::bad_request(
                            "malformed percent-encoding in the query string",
                        ));
                    }
                }
            }
            b'%' => {
                return Err(TaxiiError::bad_request(
                    "malformed percent-encoding in the query string",
                ));
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| TaxiiError::bad_request("query string is not UTF-8"))
}

fn split_list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// Parses the query string into a store query.
fn parse_query(state: &TaxiiState, raw: Option<&str>, filters: Filters) -> Result<Query> {
    // Versions stay empty unless given: the store reads that as "last"; the versions and
    // delete endpoints default to every version.
    let mut q = Query::latest(state.config.default_page_size);
    q.versions.clear();
    if filters == Filters::Versions {
        q.versions = vec![VersionSel::All];
    }
    let mut versions = Vec::new();
    for pair in raw.unwrap_or_default().split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        match (k.as_str(), filters) {
            ("added_after", _) => {
                q.added_after = Some(parse_micros(&v).ok_or_else(|| {
                    TaxiiError::bad_request(format!("added_after {v:?} is not a timestamp"))
                })?);
            }
            ("limit", _) => {
                let n: usize = v.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    TaxiiError::bad_request(format!("limit {v:?} is not a positive integer"))
                })?;
                q.limit = n.min(state.config.max_page_size);
            }
            ("next", _) => {
                q.next = Some(decode_next(&v).ok_or_else(|| {
                    TaxiiError::bad_request(format!("next {v:?} is not a token this server issued"))
                })?);
            }
            ("match[id]", Filters::Collection) => q.ids.extend(split_list(&v)),
            ("match[type]", Filters::Collection) => q.types.extend(split_list(&v)),
            ("match[version]", Filters::Collection | Filters::Object) => {
                for s in split_list(&v) {
                    versions.push(match s.as_str() {
                        "last" => VersionSel::Last,
                        "first" => VersionSel::First,
                        "all" => VersionSel::All,
                        t => VersionSel::At(parse_micros(t).ok_or_else(|| {
                            TaxiiError::bad_request(format!(
                                "match[version] {t:?} is not first, last, all or a timestamp"
                            ))
                        })?),
                    });
                }
            }
            ("match[spec_version]", _) => {
                for s in split_list(&v) {
                    if s != "2.0" && s != "2.1" {
                        return Err(TaxiiError::bad_request(format!(
                            "match[spec_version] {s:?} is not 2.0 or 2.1"
                        )));
                    }
                    q.spec_versions.push(s);
                }
            }
            (other, _) => {
                return Err(TaxiiError::bad_request(format!(
                    "unsupported query parameter {other:?} here"
                )));
            }
        }
    }
    if !versions.is_empty() {
        q.versions = versions;
    }
    Ok(q)
}

/// Adds the `X-TAXII-Date-Added-First/Last` headers.
fn date_headers(resp: &mut Response, first: Option<Micros>, last: Option<Micros>) {
    for (name, t) in [("x-taxii-date-added-first", first), ("x-taxii-date-added-last", last)] {
        if let Some(t) = t
            && let Ok(v) = HeaderValue::from_str(&format_micros(t))
        {
            resp.headers_mut().insert(name, v);
        }
    }
}

/// An envelope of the page's objects, written from the stored JSON without re-encoding it.
fn envelope(page: &crate::store::Page) -> String {
    if page.records.is_empty() {
        return "{}".to_owned();
    }
    let size: usize =
        page.records.iter().map(|r| r.object.as_ref().map_or(0, |o| o.get().len() + 1)).sum();
    let mut out = String::with_capacity(size + 64);
    let _ = write!(out, "{{\"more\":{}", page.more);
    if let Some(c) = page.next() {
        let _ = write!(out, ",\"next\":\"{}\"", encode_next(c));
    }
    out.push_str(",\"objects\":[");
    for (i, r) in page.records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r.object.as_ref().map_or("null", |o| o.get()));
    }
    out.push_str("]}");
    out
}

fn page_response(page: &crate::store::Page, body: String) -> Response {
    let mut resp = taxii_response(StatusCode::OK, body);
    date_headers(
        &mut resp,
        page.records.first().map(|r| r.date_added),
        page.records.last().map(|r| r.date_added),
    );
    resp
}

async fn get_objects(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    let (_, key) = readable(&state, who, &root, &cid)?;
    let query = parse_query(&state, raw.as_deref(), Filters::Collection)?;
    let page = state.store.query(&key, &query, true)?;
    Ok(page_response(&page, envelope(&page)))
}

async fn manifest(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    let (_, key) = readable(&state, who, &root, &cid)?;
    let query = parse_query(&state, raw.as_deref(), Filters::Collection)?;
    let page = state.store.query(&key, &query, false)?;
    let body = if page.records.is_empty() {
        json!({})
    } else {
        let objects: Vec<Value> = page
            .records
            .iter()
            .map(|r| json!({ "id": r.id, "date_added": format_micros(r.date_added), "version": format_micros(r.version), "media_type": STIX_MEDIA_TYPE }))
            .collect();
        let mut b = json!({ "more": page.more, "objects": objects });
        if let Some(n) = page.next() {
            b["next"] = json!(encode_next(n));
        }
        b
    };
    Ok(page_response(&page, body.to_string()))
}

async fn get_object(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    let (_, key) = readable(&state, who, &root, &cid)?;
    let mut query = parse_query(&state, raw.as_deref(), Filters::Object)?;
    query.ids = vec![oid.clone()];
    let page = state.store.query(&key, &query, true)?;
    if page.records.is_empty() && query.next.is_none() {
        return Err(TaxiiError::not_found(format!("no object {oid:?} matches in this collection")));
    }
    Ok(page_response(&page, envelope(&page)))
}

async fn versions(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    let (_, key) = readable(&state, who, &root, &cid)?;
    let mut query = parse_query(&state, raw.as_deref(), Filters::Versions)?;
    query.ids = vec![oid.clone()];
    let page = state.store.query(&key, &query, false)?;
    if page.records.is_empty() && query.next.is_none() {
        return Err(TaxiiError::not_found(format!("no object {oid:?} in this collection")));
    }
    let mut body = json!({
        "more": page.more,
        "versions": page.records.iter().map(|r| format_micros(r.version)).collect::<Vec<_>>(),
    });
    if let Some(n) = page.next() {
        body["next"] = json!(encode_next(n));
    }
    Ok(page_response(&page, body.to_string()))
}

async fn delete_object(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid, oid)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response> {
    // The operator's credentials are the node's, not a TAXII user's: recognise them first.
    let operator = state.operator.as_ref().is_some_and(|is_operator| is_operator(&headers));
    let who = if operator { Requester::Anonymous } else { begin(&state, &headers)? };
    check_root(&state, &root)?;
    let c = find_collection(&state, &cid)?;
    if !c.writable {
        return Err(TaxiiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "objects of this collection come from the ledger; nothing can be deleted from it",
        ));
    }
    // A poster deletes their own submissions; the operator those of every poster (and any
    // stored under the collection's own id, as objects posted before submissions were kept
    // apart were).
    let keys: Vec<String> = if operator {
        std::iter::once(c.id.clone())
            .chain(
                state.users.iter().filter(|u| u.can_write).map(|u| submissions_key(&c.id, &u.name)),
            )
            .collect()
    } else {
        match user(&state, who) {
            Some(u) if can_write(&state, who, c) => vec![submissions_key(&c.id, &u.name)],
            Some(_) => {
                return Err(TaxiiError::new(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "only an object's poster or the node's operator may delete it",
                ));
            }
            None => return Err(unauthenticated()),
        }
    };
    let mut query = parse_query(&state, raw.as_deref(), Filters::Object)?;
    if query.versions.is_empty() {
        query.versions = vec![VersionSel::All];
    }
    let mut deleted = 0;
    for key in &keys {
        deleted += state.store.delete(key, &oid, &query.versions)?;
    }
    if deleted == 0 {
        return Err(TaxiiError::not_found(format!("no object {oid:?} matches in this collection")));
    }
    Ok(taxii_response(StatusCode::OK, String::new()))
}

async fn post_objects(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, cid)): Path<(String, String)>,
    body: Body,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    check_root(&state, &root)?;
    let c = find_collection(&state, &cid)?;
    let Some(u) = user(&state, who) else { return Err(unauthenticated()) };
    if !can_write(&state, who, c) {
        return Err(TaxiiError::new(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "you may not write to this collection",
        ));
    }
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !is_taxii_content(ct) {
        return Err(TaxiiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            format!("post an envelope as {TAXII_MEDIA_TYPE}, not {:?}", ct.unwrap_or_default()),
        ));
    }
    let limit = state.config.max_content_length;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        TaxiiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request too large",
            format!("the body exceeds max_content_length ({limit} bytes)"),
        )
    })?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| TaxiiError::bad_request(format!("body is not JSON: {e}")))?;
    let Some(list) = doc.get("objects").and_then(Value::as_array) else {
        return Err(TaxiiError::bad_request("body must be an envelope {\"objects\": [...]}"));
    };
    let request_timestamp = (state.clock)();
    let mut good = Vec::new();
    let mut failures = Vec::new();
    for v in list {
        let id = v.get("id").and_then(Value::as_str).unwrap_or("?").to_owned();
        let version = v
            .get("modified")
            .or_else(|| v.get("created"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match StixObject::from_value(v.clone()) {
            Ok(o) => good.push(o),
            Err(e) => {
                let mut f = json!({ "id": id, "message": e.0 });
                if let Some(ver) = version {
                    f["version"] = json!(ver);
                }
                failures.push(f);
            }
        }
    }
    let key = submissions_key(&c.id, &u.name);
    let outcome = state.store.add_for_review(&key, &good, request_timestamp, &u.name)?;
    let successes: Vec<Value> = outcome
        .added
        .iter()
        .map(|(id, v)| json!({ "id": id, "version": format_micros(*v), "message": "queued for review" }))
        .collect();
    let status_id = uuid::Uuid::new_v4().to_string();
    let status = json!({
        "id": status_id,
        "status": "complete",
        "request_timestamp": format_micros(request_timestamp),
        "total_count": list.len(),
        "success_count": successes.len(),
        "successes": successes,
        "failure_count": failures.len(),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    });
    let text = status.to_string();
    state.store.put_status(&status_id, &u.name, text.as_bytes())?;
    tracing::info!(user = %u.name, collection = %c.id, added = outcome.new, failed = status["failure_count"].as_u64().unwrap_or(0), "taxii objects posted");
    Ok(taxii_response(StatusCode::ACCEPTED, text))
}

async fn status(
    State(state): State<Arc<TaxiiState>>,
    headers: HeaderMap,
    Path((root, status_id)): Path<(String, String)>,
) -> Result<Response> {
    let who = begin(&state, &headers)?;
    check_root(&state, &root)?;
    let Some(u) = user(&state, who) else { return Err(unauthenticated()) };
    match state.store.status(&status_id)? {
        Some((owner, body)) if owner == u.name => {
            Ok(taxii_response(StatusCode::OK, String::from_utf8_lossy(&body).into_owned()))
        }
        _ => Err(TaxiiError::not_found(format!("no status {status_id:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_tokens_round_trip_and_refuse_garbage() {
        let c = Cursor { added: 1_714_564_800_123_456, seq: 42 };
        assert_eq!(decode_next(&encode_next(c)), Some(c));
        assert_eq!(decode_next("not-a-token"), None);
        assert_eq!(decode_next(""), None);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("match%5Btype%5D").unwrap(), "match[type]");
        assert_eq!(percent_decode("2024-01-01T00%3A00%3A00Z").unwrap(), "2024-01-01T00:00:00Z");
        assert!(percent_decode("%zz").is_err());
        assert!(percent_decode("%4").is_err());
    }
}
