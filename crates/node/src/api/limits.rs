//! Holding under abuse: per-client request rates (`tower_governor`, a token bucket per client),
//! caps on open connections and on event-stream subscribers, and [`serve`], which runs the API
//! on a listener that enforces the connection caps.
//!
//! A client is its IP address; IPv6 clients are grouped by /64, the block one host usually
//! owns, so that rotating addresses inside it buys nothing. A refused request or connection
//! gets `429` with the API's JSON error object and `Retry-After`, and is counted in
//! `vigil_http_limited_total{limit=…}`.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::serve::{IncomingStream, Listener};
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tower_governor::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

use super::{ApiConfig, ApiError, Shared};
use crate::metrics::{LimitLabels, Metrics};

/// Requests each client may make (`[api.rate_limit]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RateLimitConfig {
    /// Requests per second a client may make on average; `0` turns the limit off.
    pub per_second: u32,
    /// Requests a client may make at once before the average applies.
    pub burst: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self { per_second: 200, burst: 400 }
    }
}

/// The client a request or connection comes from: its IP address, IPv6 cut to its /64.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
        v4 => v4,
    }
}

/// The addresses of a connection, as the API's connection info (see [`serve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's end.
    pub peer: SocketAddr,
    /// The node's end: the address the client reached.
    pub local: Option<SocketAddr>,
}

impl Connected<IncomingStream<'_, CappedListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, CappedListener>) -> Self {
        Self { peer: *stream.remote_addr(), local: stream.io().inner.local_addr().ok() }
    }
}

/// Tells the TAXII routes which address the request's connection reached, so discovery can
/// name it instead of a client's `Host` header.
pub(crate) async fn served_at(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let local = request.extensions().get::<ConnectInfo<ClientAddr>>().and_then(|c| c.0.local);
    if let Some(local) = local {
        request.extensions_mut().insert(vigil_taxii::ServedAt(local));
    }
    next.run(request).await
}

/// The client of a request, for handlers. A request without connection info (an app driven
/// in-process, without a socket) is the unspecified address: all such requests share one
/// client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Client(pub IpAddr);

impl Client {
    fn of(extensions: &axum::http::Extensions) -> Self {
        let ip = extensions
            .get::<ConnectInfo<ClientAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.peer.ip());
        Self(client_of(ip))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::of(&parts.extensions))
    }
}

/// The rate limiter's key: the request's [`Client`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClientKey;

impl KeyExtractor for ClientKey {
    type Key = IpAddr;

    fn extract<T>(&self, req: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(Client::of(req.extensions()).0)
    }
}

/// A refusal past a limit: a 429 with the error object and `Retry-After`.
#[derive(Debug)]
pub struct TooMany {
    /// The error code.
    pub code: &'static str,
    /// Which limit, and its setting.
    pub message: String,
    /// Seconds the client should wait (at least 1).
    pub retry_after_secs: u64,
}

impl IntoResponse for TooMany {
    fn into_response(self) -> axum::response::Response {
        let mut resp = ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: self.code.into(),
            message: self.message,
        }
        .into_response();
        let wait = HeaderValue::from(self.retry_after_secs.max(1));
        resp.headers_mut().insert(header::RETRY_AFTER, wait);
        resp
    }
}

/// Counts what each client holds open (connections, event streams) against two caps.
pub(crate) struct ClientCounts {
    what: &'static str,
    setting: &'static str,
    max_total: usize,
    max_per_client: usize,
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One held connection or stream; dropping it gives the place back.
pub(crate) struct Slot {
    counts: Arc<ClientCounts>,
    client: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.counts.held.lock();
        held.0 = held.0.saturating_sub(1);
        if let Some(n) = held.1.get_mut(&self.client) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                held.1.remove(&self.client);
            }
        }
    }
}

impl ClientCounts {
    pub(crate) fn new(
        what: &'static str,
        setting: &'static str,
        max_total: usize,
        max_per_client: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            what,
            setting,
            max_total,
            max_per_client,
            held: Mutex::new((0, HashMap::new())),
        })
    }

    /// Takes a place for `client`, or says which cap is reached.
    pub(crate) fn open(self: &Arc<Self>, client: IpAddr) -> Result<Slot, String> {
        let mut held = self.held.lock();
        let mine = held.1.get(&client).copied().unwrap_or(0);
        if mine >= self.max_per_client {
            return Err(format!(
                "this client already has {mine} open {}, the most one client may have \
                 ([api] {}_per_client)",
                self.what, self.setting
            ));
        }
        if held.0 >= self.max_total {
            return Err(format!(
                "the node already serves {} open {}, the most it takes ([api] {})",
                held.0, self.what, self.setting
            ));
        }
        held.0 += 1;
        *held.1.entry(client).or_insert(0) += 1;
        Ok(Slot { counts: Arc::clone(self), client })
    }

    /// How many places are held in all.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.held.lock().0
    }
}

/// The caps on event-stream subscribers, as the `/v1/events` handler takes them.
#[derive(Clone)]
pub(crate) struct EventStreams {
    counts: Arc<ClientCounts>,
    limited: Counter,
}

impl EventStreams {
    /// A place for one more stream of `client`, or the 429 that refuses it.
    pub(crate) fn open(&self, client: Client) -> Result<Slot, TooMany> {
        self.counts.open(client.0).map_err(|message| {
            self.limited.inc();
            TooMany { code: "too_many_subscribers", message, retry_after_secs: 5 }
        })
    }
}

/// The API's limits, shared by its router and its listener.
pub struct Limits {
    pub(crate) rate: Option<Arc<GovernorConfig<ClientKey, governor::middleware::NoOpMiddleware>>>,
    pub(crate) connections: Arc<ClientCounts>,
    pub(crate) events: EventStreams,
    pub(crate) limited_rate: Counter,
    pub(crate) limited_connections: Counter,
}

impl Limits {
    /// The limits `config` sets, counting refusals in `metrics`.
    pub fn new(config: &ApiConfig, metrics: &Metrics) -> Self {
        let rate = (config.rate_limit.per_second > 0).then(|| {
            let period =
                Duration::from_nanos(1_000_000_000 / u64::from(config.rate_limit.per_second));
            GovernorConfigBuilder::default()
                .period(period)
                .burst_size(config.rate_limit.burst.max(1))
                .key_extractor(ClientKey)
                .finish()
                .map(Arc::new)
        });
        let counter = |limit| metrics.http_limited.get_or_create(&LimitLabels { limit }).clone();
        Self {
            rate: rate.flatten(),
            connections: ClientCounts::new(
                "connections",
                "max_connections",
                config.max_connections,
                config.max_connections_per_client,
            ),
            events: EventStreams {
                counts: ClientCounts::new(
                    "event streams",
                    "max_event_subscribers",
                    config.max_event_subscribers,
                    config.max_event_subscribers_per_client,
                ),
                limited: counter("events"),
            },
            limited_rate: counter("rate"),
            limited_connections: counter("connections"),
        }
    }

    /// The rate-limiting layer, when a rate is set.
    pub(crate) fn rate_layer(
        &self,
    ) -> Option<tower_governor::GovernorLayer<ClientKey, governor::middleware::NoOpMiddleware, Body>>
    {
        let config = Arc::clone(self.rate.as_ref()?);
        let limited = self.limited_rate.clone();
        Some(tower_governor::GovernorLayer::new(config).error_handler(move |e| {
            limited.inc();
            match e {
                // The wait is rounded down to whole seconds: say one more.
                GovernorError::TooManyRequests { wait_time, .. } => TooMany {
                    code: "rate_limited",
                    message: format!(
                        "too many requests from this client; retry in {}s ([api.rate_limit])",
                        wait_time + 1
                    ),
                    retry_after_secs: wait_time + 1,
                }
                .into_response(),
                other => ApiError::internal(format!("rate limiter: {other}")).into_response(),
            }
        }))
    }
}

/// A TCP listener that holds each client to `max_connections_per_client` open connections
/// and the node to `max_connections`: one more is answered `429` and closed.
pub struct CappedListener {
    inner: TcpListener,
    connections: Arc<ClientCounts>,
    limited: Counter,
    /// Refusals being written at once; past that, extra connections are just closed.
    refusals: Arc<tokio::sync::Semaphore>,
}

impl CappedListener {
    /// Wraps `inner` with the connection caps of `limits`.
    pub fn new(inner: TcpListener, limits: &Limits) -> Self {
        Self {
            inner,
            connections: Arc::clone(&limits.connections),
            limited: limits.limited_connections.clone(),
            refusals: Arc::new(tokio::sync::Semaphore::new(32)),
        }
    }

    /// Answers a connection over the cap with a 429 and closes it, without reading more than
    /// a little of what it sent (so the close does not reset the answer away).
    fn refuse(&self, mut stream: TcpStream, why: String) {
        self.limited.inc();
        let Ok(permit) = Arc::clone(&self.refusals).try_acquire_owned() else { return };
        tokio::spawn(async move {
            let _permit = permit;
            let body =
                serde_json::json!({ "error": "too_many_connections", "message": why }).to_string();
            let head = format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
                 content-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n",
                body.len()
            );
            let answer = async {
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(body.as_bytes()).await?;
                stream.shutdown().await?;
                let mut sink = [0u8; 4096];
                let mut left = 64 * 1024usize;
                while left > 0 {
                    let n = stream.read(&mut sink).await?;
                    if n == 0 {
                        break;
                    }
                    left = left.saturating_sub(n);
                }
                io::Result::Ok(())
            };
            let _ = tokio::time::timeout(Duration::from_secs(2), answer).await;
        });
    }
}

impl Listener for CappedListener {
    type Io = CappedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (stream, addr) = Listener::accept(&mut self.inner).await;
            match self.connections.open(client_of(addr.ip())) {
                Ok(slot) => return (CappedStream::new(stream, slot), addr),
                Err(why) => {
                    tracing::debug!(client = %addr.ip(), "connection refused: {why}");
                    self.refuse(stream, why);
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection holding its place under the caps. It also turns the bare answers the HTTP
/// parser gives to requests it cannot parse (`400`, `414` for a target over 64 KiB, `431`,
/// each with an empty body) into the API's JSON error object.
pub struct CappedStream {
    inner: TcpStream,
    _slot: Slot,
    /// A rewritten answer being written: its bytes, how many are written, and how many bytes
    /// of the original it stands for.
    rewrite: Option<(Vec<u8>, usize, usize)>,
}

impl CappedStream {
    fn new(inner: TcpStream, slot: Slot) -> Self {
        Self { inner, _slot: slot, rewrite: None }
    }

    /// Writes the rewritten answer; done, it reports the original's length as written.
    fn poll_rewrite(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        while let Some((bytes, written, _)) = self.rewrite.as_mut()
            && *written < bytes.len()
        {
            let n = match Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            *written += n;
        }
        let stands_for = self.rewrite.take().map_or(0, |(_, _, original)| original);
        Poll::Ready(Ok(stands_for))
    }
}

/// The JSON answer standing for one of the HTTP parser's bare error answers, if `head` is
/// one: a whole response head (nothing after it) with status 400, 414 or 431, no content type
/// and an empty body. The API's own errors always carry a content type, so never match.
fn parser_error_answer(head: &[u8]) -> Option<Vec<u8>> {
    let rest = head.strip_prefix(b"HTTP/1.1 ").or_else(|| head.strip_prefix(b"HTTP/1.0 "))?;
    let status = rest.get(..3)?;
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None;
    }
    let text = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    if text.contains("\r\ncontent-type:") || !text.contains("\r\ncontent-length: 0\r\n") {
        return None;
    }
    let (status, code, message) = match status {
        b"400" => (
            "400 Bad Request",
            "bad_request",
            "the request is not well-formed HTTP/1.1 (its method, target, a header or the version)",
        ),
        b"414" => {
            ("414 URI Too Long", "uri_too_long", "the request target is longer than 65,534 bytes")
        }
        b"431" => (
            "431 Request Header Fields Too Large",
            "headers_too_large",
            "the request line and headers are larger than this node reads",
        ),
        _ => return None,
    };
    let body = serde_json::json!({ "error": code, "message": message }).to_string();
    Some(
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for CappedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CappedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.rewrite.is_none()
            && let Some(answer) = parser_error_answer(buf)
        {
            self.rewrite = Some((answer, 0, buf.len()));
        }
        if self.rewrite.is_some() {
            return self.poll_rewrite(cx);
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if self.rewrite.is_none()
            && let (Some(only), None) = (filled.next(), filled.next())
            && let Some(answer) = parser_error_answer(only)
        {
            self.rewrite = Some((answer, 0, only.len()));
        }
        if self.rewrite.is_some() {
            return self.poll_rewrite(cx);
        }
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Serves the API on `listener` with every limit of `config` until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    state: Shared,
    config: ApiConfig,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let limits = Limits::new(&config, &state.metrics);
    if let Some(rate) = &limits.rate {
        // Forget clients that have been quiet long enough to have a full bucket again, so
        // the limiter's memory follows the clients of the last minute, not of all time.
        let limiter = Arc::clone(rate.limiter());
        let stop = shutdown.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tick.tick() => {
                        limiter.retain_recent();
                        limiter.shrink_to_fit();
                    }
                }
            }
        });
    }
    let app = super::router_with(state, &config, &limits);
    let listener = CappedListener::new(listener, &limits);
    axum::serve(listener, app.into_make_service_with_connect_info::<ClientAddr>())
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_are_addresses_and_ipv6_slash_64s() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_of(a), client_of(b));
        assert_ne!(client_of(a), client_of(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_of(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_of("192.0.2.7".parse().unwrap()), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn counts_cap_each_client_and_the_total_and_give_places_back() {
        let counts = ClientCounts::new("event streams", "max_event_subscribers", 3, 2);
        let (a, b, c) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into(), [10, 0, 0, 3].into());
        let a1 = counts.open(a).unwrap();
        let _a2 = counts.open(a).unwrap();
        let e = counts.open(a).err().unwrap();
        assert!(e.contains("max_event_subscribers_per_client"), "{e}");
        let _b1 = counts.open(b).unwrap();
        let e = counts.open(c).err().unwrap();
        assert!(e.contains("[api] max_event_subscribers)"), "{e}");
        drop(a1);
        assert_eq!(counts.total(), 2);
        let _c1 = counts.open(c).unwrap();
    }

    #[test]
    fn only_the_parsers_bare_error_answers_are_rewritten() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(parser_error_answer(bare).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{answer}");
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(json["error"], "uri_too_long");
        // The API's own answers have a content type, a body, or another status.
        let own = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n";
        assert!(parser_error_answer(own).is_none());
        let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
        assert!(parser_error_answer(ok).is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nx";
        assert!(parser_error_answer(with_body).is_none());
    }
}
