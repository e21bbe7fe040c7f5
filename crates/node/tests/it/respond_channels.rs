//! Alert channels against local receivers on loopback that check the request shape each
//! service documents (Slack and Discord webhooks, the Telegram Bot API, PagerDuty Events v2,
//! Opsgenie's Alert API, a signed webhook) and a real SMTP server (Python's `aiosmtpd`, plain
//! and with STARTTLS and a login); and routes: family, rule, severity, stage, peers, cooldown,
//! one delivery per channel however many routes name it, retries, metrics, secrets kept out
//! of errors.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path as UrlPath;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use parking_lot::Mutex;
use vigil_core::{
    Alert, AlertKind, B256, EvmAddress, EvmChainId, Keypair, Severity, Signed, TxRef,
};
use vigil_node::metrics::DeliveryMetrics;
use vigil_node::respond::channel::{Channel, ChannelConfig, ChannelKind, SmtpTls};
use vigil_node::respond::route::RouteConfig;
use vigil_node::respond::template::Template;
use vigil_node::respond::webhook::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};
use vigil_node::respond::{Executor, Family, Incident, NamedChannel, PolicyEngine, Stage};

const TOKEN: &str = "123456:telegram-token-never-in-a-log";
const ROUTING_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";
const GENIE_KEY: &str = "eb243592-faa2-4ba2-a551q-1afdf565c889";
const HMAC_SECRET: &str = "webhook-hmac-secret";

/// One request a receiver got.
#[derive(Clone, Debug)]
struct Request {
    path: String,
    body: serde_json::Value,
}

type Log = Arc<Mutex<Vec<Request>>>;

/// A receiver for every HTTP service on one port: it answers as the service does, refusing a
/// request of the wrong shape with 400, and fails the first `fail_first` requests with 500.
async fn services(fail_first: usize) -> (String, Log) {
    let log: Log = Arc::default();
    let seen = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let handler = {
        let log = Arc::clone(&log);
        move |UrlPath(path): UrlPath<String>, headers: HeaderMap, body: Bytes| {
            let log = Arc::clone(&log);
            let seen = Arc::clone(&seen);
            async move {
                if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < fail_first {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "try again").into_response();
                }
                let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else {
                    return (StatusCode::BAD_REQUEST, "not JSON").into_response();
                };
                let answer = shape(&path, &headers, &body);
                log.lock().push(Request { path: path.clone(), body });
                answer
            }
        }
    };
    let app = Router::new().route("/{*path}", post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

/// The service's answer to a request: its documented success, or 400 naming what is wrong.
fn shape(path: &str, headers: &HeaderMap, body: &serde_json::Value) -> axum::response::Response {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_owned()).into_response();
    let json = |status, v: serde_json::Value| (status, axum::Json(v)).into_response();
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    if content_type != Some("application/json") {
        return bad("content-type must be application/json");
    }
    match path {
        "slack" if body["text"].is_string() => (StatusCode::OK, "ok").into_response(),
        "discord" if body["content"].as_str().is_some_and(|c| c.chars().count() <= 2000) => {
            StatusCode::NO_CONTENT.into_response()
        }
        p if p == format!("bot{TOKEN}/sendMessage") => {
            if body["chat_id"] != "-1001234" || body["text"].as_str().is_none_or(str::is_empty) {
                return json(
                    StatusCode::BAD_REQUEST,
                    serde_json::json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"}),
                );
            }
            json(StatusCode::OK, serde_json::json!({"ok": true, "result": {"message_id": 1}}))
        }
        "v2/enqueue" => {
            let p = &body["payload"];
            let severities = ["critical", "error", "warning", "info"];
            if body["routing_key"] != ROUTING_KEY
                || body["event_action"] != "trigger"
                || p["summary"].as_str().is_none_or(|s| s.is_empty() || s.len() > 1024)
                || p["source"].as_str().is_none_or(str::is_empty)
                || !severities.contains(&p["severity"].as_str().unwrap_or(""))
            {
                return bad("Event object is invalid");
            }
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({"status": "success", "message": "Event processed", "dedup_key": body["dedup_key"]}),
            )
        }
        "v2/alerts" => {
            let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
            if auth != Some(&format!("GenieKey {GENIE_KEY}")) {
                return (StatusCode::UNAUTHORIZED, "Could not authenticate").into_response();
            }
            let priorities = ["P1", "P2", "P3", "P4", "P5"];
            if body["message"].as_str().is_none_or(|m| m.is_empty() || m.chars().count() > 130)
                || body["alias"].as_str().is_some_and(|a| a.len() > 512)
                || !priorities.contains(&body["priority"].as_str().unwrap_or(""))
            {
                return bad("Message can not be empty / priority invalid");
            }
            json(
                StatusCode::ACCEPTED,
                serde_json::json!({"result": "Request will be processed", "took": 0.01, "requestId": "x"}),
            )
        }
        "hook" => {
            let ts: u64 = headers
                .get(TIMESTAMP_HEADER)
                .and_then(|v| v.to_str().ok()?.parse().ok())
                .unwrap_or(0);
            let sig = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            let raw = serde_json::to_vec(body).unwrap();
            // The signature covers the bytes sent, which re-serialise identically.
            if !verify(HMAC_SECRET.as_bytes(), ts, &raw, sig) {
                return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
            }
            StatusCode::OK.into_response()
        }
        _ => bad("unexpected request"),
    }
}

fn alert(detector: &str, severity: Severity, block: Option<u64>, n: u8) -> Signed<Alert> {
    let alert = Alert {
        detector: detector.into(),
        severity,
        kind: AlertKind::Suspicious,
        confidence: 80,
        tx: TxRef {
            chain: EvmChainId(31337),
            hash: B256::from([n; 32]),
            from: "0x00000000000000000000000000000000000000aa".parse().unwrap(),
            to: Some("0x00000000000000000000000000000000000000bb".parse::<EvmAddress>().unwrap()),
            block,
        },
        addresses: vec![],
        indicators: vec![],
        labels: vec!["watched".into()],
        description: format!("1.5 ETH sent to watched address ({n})"),
        time: 1_700_000_000,
        metadata: BTreeMap::from([("value".to_owned(), "1500000000000000000".to_owned())]),
        detection: Vec::new(),
    };
    Signed::sign(alert, "vigil-itest".parse().unwrap(), &Keypair::from_seed(&[7; 32]))
}

fn incident(alert: Signed<Alert>, peer: &str) -> Incident {
    let id = alert.payload.id();
    Incident::Alert {
        id,
        peer: peer.into(),
        alert: Box::new(alert),
        protocols: vec![],
        link: Some(format!("http://127.0.0.1:7070/v1/alerts/{id}")),
        seen_at: Some(Instant::now()),
    }
}

fn channel(name: &str, kind: ChannelKind, url: &str) -> ChannelConfig {
    let mut c = ChannelConfig::new(name, kind);
    c.url = Some(url.into());
    if kind == ChannelKind::Telegram {
        c.token_env = Some("TG_TOKEN".into());
    }
    c.attempts = 3;
    c.backoff_ms = 20;
    c.timeout_ms = 2_000;
    c
}

fn route(channels: &[&str]) -> RouteConfig {
    toml::from_str(&format!("channels = {channels:?}")).unwrap()
}

async fn wait_for(log: &Log, n: usize) -> Vec<Request> {
    for _ in 0..200 {
        if log.lock().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    log.lock().clone()
}

async fn settle(tasks: Option<Vec<tokio::task::JoinHandle<()>>>) {
    for t in tasks.unwrap_or_default() {
        t.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_http_channel_sends_its_service_shape_with_the_translated_message() {
    let (base, log) = services(0).await;
    let metrics = DeliveryMetrics::default();
    let mut tg = channel("tg", ChannelKind::Telegram, &base);
    tg.chat_id = Some("-1001234".into());
    let mut pd = channel("pd", ChannelKind::Pagerduty, &format!("{base}/v2/enqueue"));
    pd.min_severity = Severity::High;
    pd.token_env = Some("PD_KEY".into());
    let mut og = channel("og", ChannelKind::Opsgenie, &format!("{base}/v2/alerts"));
    og.token_env = Some("OG_KEY".into());
    let mut slack = channel("slack", ChannelKind::Slack, &format!("{base}/slack"));
    slack.title = Some(Template::parse("Large transfer on ${tx.chain}").unwrap());
    slack.body = Some(
        Template::parse("${alert.rule}: ${metadata.value} wei, tx ${tx.hash} (${stage}) ${link}")
            .unwrap(),
    );
    let discord = channel("discord", ChannelKind::Discord, &format!("{base}/discord"));
    let mut hook = channel("hook", ChannelKind::Webhook, &format!("{base}/hook"));
    hook.secret_env = Some("HOOK_SECRET".into());
    let secrets = [
        (tg, Some(TOKEN)),
        (pd, Some(ROUTING_KEY)),
        (og, Some(GENIE_KEY)),
        (slack, None),
        (discord, None),
        (hook, Some(HMAC_SECRET)),
    ];
    let channels: Vec<NamedChannel> = secrets
        .into_iter()
        .map(|(c, secret)| {
            let name = c.name.clone();
            let ch = Channel::with_secret(c, secret.map(String::from), metrics.clone()).unwrap();
            (name, Arc::new(ch) as Arc<dyn Executor>)
        })
        .collect();
    let all = ["tg", "pd", "og", "slack", "discord", "hook"];
    // Two routes name every channel: each still gets an incident once.
    let engine = PolicyEngine::with_routes(
        vec![],
        vec![route(&all), route(&all)],
        channels,
        None,
        metrics.clone(),
    )
    .unwrap();

    let critical = alert("rule:large-transfer", Severity::Critical, Some(12), 1);
    let hash = critical.payload.tx.hash.to_string();
    settle(engine.dispatch(incident(critical, "local"))).await;
    // A medium alert does not reach PagerDuty (min_severity high); the rest get it.
    settle(
        engine.dispatch(incident(alert("rule:large-transfer", Severity::Medium, None, 2), "local")),
    )
    .await;
    let got = wait_for(&log, 11).await;
    let by = |path: &str| got.iter().filter(|r| r.path == path).cloned().collect::<Vec<_>>();
    assert_eq!(got.len(), 11, "{got:#?}");
    assert_eq!(by("v2/enqueue").len(), 1, "PagerDuty takes high and critical only");

    let slack = by("slack");
    let text = slack[0].body["text"].as_str().unwrap();
    assert!(text.starts_with("*Large transfer on 31337*\n"), "{text}");
    assert!(
        text.contains(&format!("large-transfer: 1500000000000000000 wei, tx {hash} (mined)")),
        "{text}"
    );
    assert!(text.contains("http://127.0.0.1:7070/v1/alerts/"), "{text}");
    assert!(slack[1].body["text"].as_str().unwrap().contains("(pending)"));

    // Defaults carry the description, transaction, chain, stage and link.
    let tg = by(&format!("bot{TOKEN}/sendMessage"));
    let text = tg[0].body["text"].as_str().unwrap();
    for part in [
        "[critical] rule:large-transfer",
        "1.5 ETH sent",
        &hash,
        "chain 31337",
        "block 12",
        "/v1/alerts/",
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
    let pd = &by("v2/enqueue")[0].body;
    assert_eq!(pd["payload"]["severity"], "critical");
    assert_eq!(pd["payload"]["source"], "vigil:chain-31337");
    assert!(pd["dedup_key"].as_str().unwrap().starts_with("alert:"));
    assert!(pd["links"][0]["href"].as_str().unwrap().contains("/v1/alerts/"));
    let og = by("v2/alerts");
    assert_eq!(og[0].body["priority"], "P1");
    assert_eq!(og[1].body["priority"], "P3");
    assert_eq!(og[0].body["details"]["tx_hash"], hash);
    let hook = by("hook");
    assert_eq!(hook[0].body["incident"]["kind"], "alert");
    assert_eq!(hook[0].body["incident"]["alert"]["payload"]["detector"], "rule:large-transfer");
    assert!(by("discord")[0].body["content"].as_str().unwrap().starts_with("**Vigil [critical]"));

    // The same alert again goes nowhere.
    assert!(
        engine
            .dispatch(incident(
                alert("rule:large-transfer", Severity::Critical, Some(12), 1),
                "local"
            ))
            .is_none()
    );
    let counted = |c: &str| {
        let labels = vigil_node::metrics::ChannelLabels { channel: c.into(), outcome: "delivered" };
        metrics.notifications.get_or_create(&labels).get()
    };
    assert_eq!((counted("tg"), counted("pd"), counted("og")), (2, 1, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_filter_by_family_rule_severity_stage_peer_and_cooldown() {
    let (base, log) = services(0).await;
    let metrics = DeliveryMetrics::default();
    let slack = Channel::with_secret(
        channel("slack", ChannelKind::Slack, &format!("{base}/slack")),
        None,
        metrics.clone(),
    )
    .unwrap();
    let channels: Vec<NamedChannel> = vec![("slack".into(), Arc::new(slack))];
    let mut mined_rule: RouteConfig = route(&["slack"]);
    mined_rule.name = Some("mined-transfers".into());
    mined_rule.rules = vec!["large-transfer".into()];
    mined_rule.stages = vec![Stage::Mined];
    mined_rule.min_severity = Severity::Medium;
    mined_rule.cooldown_secs = 3_600;
    let mut breakers: RouteConfig = route(&["slack"]);
    breakers.families = vec![Family::Breaker];
    let engine = PolicyEngine::with_routes(
        vec![],
        vec![mined_rule, breakers],
        channels,
        None,
        metrics.clone(),
    )
    .unwrap();
    let send = |a: Signed<Alert>, peer: &str| engine.dispatch(incident(a, peer));

    settle(send(alert("rule:large-transfer", Severity::High, None, 1), "local")).await; // pending
    settle(send(alert("rule:other", Severity::High, Some(5), 2), "local")).await; // another rule
    settle(send(alert("rule:large-transfer", Severity::Low, Some(5), 3), "local")).await; // too low
    settle(send(alert("rule:large-transfer", Severity::High, Some(5), 4), "12D3KooWpeer")).await; // a peer's
    settle(send(alert("rule:large-transfer", Severity::High, Some(5), 5), "local")).await; // sent
    settle(send(alert("rule:large-transfer", Severity::High, Some(6), 6), "local")).await; // cooldown
    let got = wait_for(&log, 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(log.lock().len(), 1, "{got:#?}");
    assert!(got[0].body["text"].as_str().unwrap().contains("(5)"));
    let held = vigil_node::metrics::RouteLabels { route: "mined-transfers".into() };
    assert_eq!(metrics.notifications_suppressed.get_or_create(&held).get(), 1);

    // Verdicts go nowhere (no route takes them); a trip goes through the breaker route.
    settle(engine.dispatch(Incident::Verdict {
        report: vigil_core::ContentId::of(&1u8),
        status: vigil_ledger::ReportStatus::Confirmed,
        height: 3,
    }))
    .await;
    settle(engine.dispatch(Incident::BreakerTripped {
        protocol: "lendingvault".parse().unwrap(),
        trip: 1,
        reason: serde_json::json!({"type": "guardian"}),
        action: vigil_core::OnChainAction::pausable(
            "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().unwrap(),
        ),
        chain: EvmChainId(31337),
        height: 7,
        detected_at: None,
        outbid: None,
    }))
    .await;
    let got = wait_for(&log, 2).await;
    assert_eq!(got.len(), 2);
    assert!(got[1].body["text"].as_str().unwrap().contains("TRIPPED"), "{got:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_is_retried_and_a_refusal_never_shows_the_token() {
    let (base, log) = services(2).await;
    let metrics = DeliveryMetrics::default();
    let mut tg = channel("tg", ChannelKind::Telegram, &base);
    tg.chat_id = Some("-1001234".into());
    let tg = Channel::with_secret(tg, Some(TOKEN.into()), metrics.clone()).unwrap();
    let a = incident(alert("rule:x", Severity::High, Some(1), 1), "local");
    // Two 500s, then delivered on the third attempt.
    assert_eq!(tg.execute(&a).await.unwrap(), "delivered on attempt 3");
    assert_eq!(log.lock().len(), 1);

    // A chat Telegram does not know: refused every time, and the error names Telegram's
    // reason but not the token (which is part of the URL).
    let mut wrong = channel("tg-wrong", ChannelKind::Telegram, &base);
    wrong.chat_id = Some("-999".into());
    let wrong = Channel::with_secret(wrong, Some(TOKEN.into()), metrics.clone()).unwrap();
    let e = wrong.execute(&a).await.unwrap_err().to_string();
    assert!(e.contains("gave up after 3 attempts"), "{e}");
    assert!(!e.contains(TOKEN) && !e.contains("telegram-token"), "{e}");

    // Nothing listens: a connection error, without the URL's token either.
    let mut gone = channel("tg-gone", ChannelKind::Telegram, "http://127.0.0.1:9");
    gone.chat_id = Some("-1001234".into());
    gone.attempts = 1;
    let gone = Channel::with_secret(gone, Some(TOKEN.into()), metrics.clone()).unwrap();
    let e = gone.execute(&a).await.unwrap_err().to_string();
    assert!(!e.contains("telegram-token"), "{e}");
    let failed =
        vigil_node::metrics::ChannelLabels { channel: "tg-wrong".into(), outcome: "failed" };
    assert_eq!(metrics.notifications.get_or_create(&failed).get(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_reaches_an_smtp_server_plain_and_over_starttls_with_a_login() {
    let dir = tempfile::tempdir().unwrap();
    let Some(plain) = crate::smtp::smtp_sink(dir.path(), None) else { return };
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).unwrap();
    std::fs::write(&key_file, cert.key_pair.serialize_pem()).unwrap();
    let secure = crate::smtp::smtp_sink(dir.path(), Some((&cert_file, &key_file))).unwrap();

    let metrics = DeliveryMetrics::default();
    let email = |name: &str, port: u16| {
        let mut c = ChannelConfig::new(name, ChannelKind::Email);
        c.smtp_host = Some("127.0.0.1".into());
        c.smtp_port = Some(port);
        c.from = Some("Vigil <vigil@example.com>".into());
        c.to = vec!["oncall@example.com".into(), "sec@example.com".into()];
        c.attempts = 2;
        c.backoff_ms = 20;
        c.timeout_ms = 3_000;
        c.title =
            Some(Template::parse("[${alert.severity}] ${alert.rule} on ${tx.chain}").unwrap());
        c
    };
    let mut c = email("mail", plain.port);
    c.tls = Some(SmtpTls::None);
    let mail = Channel::with_secret(c, None, metrics.clone()).unwrap();
    let a = incident(alert("rule:large-transfer", Severity::High, Some(9), 1), "local");
    mail.execute(&a).await.unwrap();
    let got = crate::smtp::mails(&plain);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["from"], "vigil@example.com");
    assert_eq!(got[0]["to"], serde_json::json!(["oncall@example.com", "sec@example.com"]));
    let data = got[0]["data"].as_str().unwrap();
    assert!(data.contains("Subject: [high] large-transfer on 31337"), "{data}");
    assert!(data.contains("1.5 ETH sent to watched address"), "{data}");
    assert!(data.contains("/v1/alerts/"), "{data}");

    // STARTTLS with a login, trusting the server's certificate through ca_file.
    let mut c = email("mail-tls", secure.port);
    c.ca_file = Some(cert_file.clone());
    c.username = Some("alerts".into());
    c.password_env = Some("UNUSED".into());
    let tls = Channel::with_secret(c.clone(), Some("smtp-pw".into()), metrics.clone()).unwrap();
    tls.execute(&a).await.unwrap();
    let got = crate::smtp::mails(&secure);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["tls"], true);

    // A wrong password is refused (and not shown); an untrusted certificate is refused.
    // (aiosmtpd leaves a failed login hanging: the channel's timeout ends the exchange.)
    let mut once = c.clone();
    (once.attempts, once.timeout_ms) = (1, 1_000);
    let wrong = Channel::with_secret(once, Some("not-the-pw".into()), metrics.clone()).unwrap();
    let e = wrong.execute(&a).await.unwrap_err().to_string();
    assert!(!e.contains("not-the-pw"), "{e}");
    c.ca_file = None;
    let untrusted = Channel::with_secret(c, Some("smtp-pw".into()), metrics.clone()).unwrap();
    assert!(untrusted.execute(&a).await.is_err());
    assert_eq!(crate::smtp::mails(&secure).len(), 1);
}
