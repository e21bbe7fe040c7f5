//! Issue 17: an OpenZeppelin Monitor config directory (`testdata/oz-monitor/`, written from its
//! documentation) is imported with `vigil import oz-monitor`; a node runs the result against
//! anvil and alerts on the transactions the monitors match — a transfer call above a
//! threshold, a `Transfer` event with an argument condition, a failed transaction — and on no
//! other.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use alloy::primitives::{Address, U256, address};
use alloy::sol_types::SolValue;
use vigil_chain::scenario::{
    self, DEPLOYER, DevChain, e18, mint_calldata, token_transfer_calldata,
};

use crate::harness::{TestNode, anvil, eventually, vigil};

const FIXTURE_TOKEN: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
/// Anvil's second account: holds no tokens, so its transfers revert.
const EMPTY: Address = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
const RECIPIENT: Address = address!("15d34AAf54267DB7D7c367839AAf71A00a2C6A65");

/// Copies the fixture to `to`, pointing it at `rpc` and `token`.
fn copy_fixture(to: &Path, rpc: &str, token: Address) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/oz-monitor");
    for dir in ["networks", "monitors", "triggers", "filters"] {
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in std::fs::read_dir(from.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path)
                .unwrap()
                .replace("http://127.0.0.1:8545", rpc)
                .replace(FIXTURE_TOKEN, &token.to_string());
            std::fs::write(to.join(dir).join(path.file_name().unwrap()), text).unwrap();
        }
    }
}

/// What a receiver got: `(path, JSON body)`.
type Received = Arc<Mutex<Vec<(String, serde_json::Value)>>>;

/// One HTTP receiver for the webhook, Slack, Discord and Telegram channels: it logs each POST
/// and answers as those services do on success.
fn receiver(rt: &tokio::runtime::Runtime) -> (String, Received) {
    use axum::extract::Path as UrlPath;
    let log: Received = Arc::default();
    let handler = {
        let log = Arc::clone(&log);
        move |UrlPath(path): UrlPath<String>, body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            async move {
                let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                log.lock().unwrap().push((path, body));
                axum::Json(serde_json::json!({"ok": true, "result": {}}))
            }
        }
    };
    let app = axum::Router::new().route("/{*path}", axum::routing::post(handler));
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

/// Local alerts from the node's event stream, as they arrive.
fn listen(url: &str) -> Arc<Mutex<Vec<serde_json::Value>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let addr = url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .write_all(b"GET /v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        .unwrap();
    let out = seen.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(data) = line.strip_prefix("data:")
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(data.trim())
                && v["kind"] == "alert"
                && v["peer"] == "local"
            {
                out.lock().unwrap().push(v["alert"]["payload"].clone());
            }
        }
    });
    seen
}

#[test]
fn an_imported_oz_monitor_config_alerts_on_the_same_transactions() {
    let Some(anvil) = anvil() else { return };
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = rt.block_on(DevChain::start(&anvil, 0)).unwrap();
    let token = rt.block_on(async {
        let mut code = scenario::bytecode("TestToken").unwrap();
        code.extend(("Test Token".to_string(), "TT".to_string()).abi_encode_params());
        let token = chain.exec(DEPLOYER, None, U256::ZERO, code).await.unwrap().unwrap();
        chain
            .exec(DEPLOYER, Some(token), U256::ZERO, mint_calldata(DEPLOYER, e18(10_000)))
            .await
            .unwrap();
        // The watch starts at the head: make it an empty block, not the mint (whose Transfer
        // the event monitor rightly matches).
        chain.mine().await.unwrap();
        token
    });

    // Import: --check writes nothing; then the real import.
    let work = tempfile::tempdir().unwrap();
    let oz = work.path().join("oz");
    copy_fixture(&oz, &chain.http(), token);
    let out = work.path().join("vigil");
    let check = vigil()
        .args(["import", "oz-monitor"])
        .arg(&oz)
        .arg("--out")
        .arg(&out)
        .arg("--check")
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check.status.success(), "{report}{}", String::from_utf8_lossy(&check.stderr));
    assert!(report.contains("network anvil_local: 3 monitor(s)"), "{report}");
    assert!(report.contains("Stellar: Vigil watches EVM chains only"), "{report}");
    assert!(report.contains("set VIGIL_LARGE_TRANSFER_WEBHOOK_SECRET"), "{report}");
    assert!(!out.exists(), "--check wrote {}", out.display());
    let import =
        vigil().args(["import", "oz-monitor"]).arg(&oz).arg("--out").arg(&out).output().unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let again =
        vigil().args(["import", "oz-monitor"]).arg(&oz).arg("--out").arg(&out).output().unwrap();
    assert!(!again.status.success(), "a second import must not overwrite without --force");

    // The node runs the imported configuration as written, but for where things are: the
    // rules directory made absolute (the node's config lives elsewhere), the channels pointed
    // at local receivers (the fixture's URLs are the discard port; Telegram's API base is
    // added; the SMTP sink takes plain connections without a login).
    let config = std::fs::read_to_string(out.join("anvil_local.toml")).unwrap();
    assert!(config.contains(&format!("rpc = '{}'", chain.http())), "{config}");
    let (http, received) = receiver(&rt);
    let sink = crate::smtp::smtp_sink(work.path(), None);
    let mut config = config
        .replace(
            "rules_dir = 'rules/anvil_local'",
            &format!("rules_dir = '{}'", out.join("rules/anvil_local").display()),
        )
        .replace("http://127.0.0.1:9", &http)
        .replace("type = 'telegram'", &format!("type = 'telegram'\nurl = '{http}'"));
    if let Some(sink) = &sink {
        config = config
            .replace("smtp_port = 2525", &format!("smtp_port = {}", sink.port))
            .replace("tls = 'starttls'", "tls = 'none'")
            .replace("username = 'alerts'\n", "")
            .replace("password_env = 'SMTP_PASSWORD'\n", "");
    }
    let env = [
        ("VIGIL_LARGE_TRANSFER_WEBHOOK_SECRET", "webhook-secret"),
        ("VIGIL_FAILED_TX_TELEGRAM_TOKEN", "123:telegram"),
        ("SMTP_PASSWORD", "smtp-pw"),
    ];
    let node = TestNode::start_with(150, true, &config, &env);
    let alerts = listen(&node.url);

    // One block per second, as OZ's anvil example network.
    let miner = {
        let provider = chain.provider.clone();
        rt.spawn(async move {
            use alloy::providers::Provider as _;
            loop {
                tokio::time::sleep(Duration::from_millis(1000)).await;
                let _: Result<String, _> = provider.raw_request("evm_mine".into(), ()).await;
            }
        })
    };
    // Let the watch reach the head before sending.
    std::thread::sleep(Duration::from_secs(3));
    let send = |from: Address, data: Vec<u8>| {
        rt.block_on(chain.send(from, Some(token), U256::ZERO, data, 200_000)).unwrap().to_string()
    };
    rt.block_on(chain.impersonate(EMPTY)).unwrap();
    let big = send(DEPLOYER, token_transfer_calldata(RECIPIENT, e18(2_000)));
    let medium = send(DEPLOYER, token_transfer_calldata(RECIPIENT, e18(600)));
    let small = send(DEPLOYER, token_transfer_calldata(RECIPIENT, e18(10)));
    let failed = send(EMPTY, token_transfer_calldata(RECIPIENT, e18(1)));

    let expected = [
        ("rule:large-transfer-call", big.clone()),
        ("rule:large-transfer-event", big.clone()),
        ("rule:large-transfer-event", medium.clone()),
        ("rule:failed-token-transactions", failed.clone()),
    ];
    let got = || -> Vec<(String, String)> {
        alerts
            .lock()
            .unwrap()
            .iter()
            .map(|a| {
                (
                    a["detector"].as_str().unwrap_or("").to_owned(),
                    a["tx"]["hash"].as_str().unwrap_or("").to_lowercase(),
                )
            })
            .collect()
    };
    let all = eventually(Duration::from_secs(30), || {
        expected.iter().all(|(d, h)| got().contains(&(d.to_string(), h.to_lowercase())))
    });
    // A block more for anything unexpected to show up.
    std::thread::sleep(Duration::from_secs(2));
    miner.abort();
    assert!(all, "alerts {:?}, expected {expected:?}; node log:\n{}", got(), node.log());
    let rule_alerts: Vec<(String, String)> =
        got().into_iter().filter(|(d, _)| d.starts_with("rule:")).collect();
    assert_eq!(rule_alerts.len(), expected.len(), "exactly one alert each: {rule_alerts:?}");
    assert!(!rule_alerts.iter().any(|(_, h)| *h == small.to_lowercase()), "{rule_alerts:?}");

    // The values the channels' templates show, from the rules' metadata.
    let list = alerts.lock().unwrap().clone();
    let find = |detector: &str, hash: &str| {
        list.iter()
            .find(|a| {
                a["detector"] == detector
                    && a["tx"]["hash"].as_str().unwrap_or("").eq_ignore_ascii_case(hash)
            })
            .unwrap()
            .clone()
    };
    let call = find("rule:large-transfer-call", &big);
    assert_eq!(call["metadata"]["functions_0_value"], "2000000000000000000000", "{call}");
    let event = find("rule:large-transfer-event", &medium);
    assert_eq!(event["metadata"]["events_0_value"], "600000000000000000000", "{event}");
    assert_eq!(event["metadata"]["events_0_to"], RECIPIENT.to_string().to_lowercase(), "{event}");

    // Each channel got its translated message for the transactions its monitor matched.
    let recipient = RECIPIENT.to_string().to_lowercase();
    let posted = |path: &str, field: &str| -> Vec<String> {
        received
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b[field].as_str().unwrap_or("").to_owned())
            .collect()
    };
    assert!(
        eventually(Duration::from_secs(15), || posted("oz-webhook", "text").len() == 1
            && posted("slack", "text").len() == 2
            && posted("discord", "content").len() == 1
            && posted("bot123:telegram/sendMessage", "text").len() == 1),
        "received {:?}",
        received.lock().unwrap()
    );
    let webhook =
        received.lock().unwrap().iter().find(|(p, _)| p == "oz-webhook").unwrap().1.clone();
    assert_eq!(webhook["title"], "large-transfer-call triggered", "{webhook}");
    assert_eq!(
        webhook["text"].as_str().unwrap().lines().last().unwrap(),
        format!("Transfer of 2000000000000000000000 to {recipient} in {}", big.to_lowercase()),
        "{webhook}"
    );
    let slack = posted("slack", "text");
    let line = |value: &str, hash: &str| {
        format!(
            "Large transfer of {value} from {} to {recipient} | tx {}",
            DEPLOYER.to_string().to_lowercase(),
            hash.to_lowercase()
        )
    };
    assert!(slack.iter().any(|t| t.contains(&line("2000000000000000000000", &big))), "{slack:?}");
    assert!(slack.iter().any(|t| t.contains(&line("600000000000000000000", &medium))), "{slack:?}");
    assert!(slack.iter().all(|t| t.contains("*large-transfer-event*")), "{slack:?}");
    let discord = posted("discord", "content");
    assert!(
        discord[0].to_lowercase().contains(&format!(
            "{} from {} failed",
            failed.to_lowercase(),
            EMPTY.to_string().to_lowercase()
        )),
        "{discord:?}"
    );
    let telegram = posted("bot123:telegram/sendMessage", "text");
    assert!(telegram[0].contains(&format!("{} failed", failed.to_lowercase())), "{telegram:?}");
    if let Some(sink) = &sink {
        assert!(
            eventually(Duration::from_secs(15), || crate::smtp::mails(sink).len() == 2),
            "mails: {:?}",
            crate::smtp::mails(sink)
        );
        let mails = crate::smtp::mails(sink);
        assert!(
            mails.iter().any(|m| m["data"]
                .as_str()
                .unwrap()
                .contains("Subject: large-transfer-event: 600000000000000000000")),
            "{mails:?}"
        );
    }
}

#[test]
fn the_imported_configuration_loads_as_a_node_configuration() {
    let work = tempfile::tempdir().unwrap();
    let oz = work.path().join("oz");
    copy_fixture(&oz, "http://127.0.0.1:8545", FIXTURE_TOKEN.parse().unwrap());
    let out = work.path().join("vigil");
    let import =
        vigil().args(["import", "oz-monitor"]).arg(&oz).arg("--out").arg(&out).output().unwrap();
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let config = vigil_node::config::NodeConfig::load(&out.join("anvil_local.toml")).unwrap();
    let names: Vec<&str> = config.respond.channels.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "failed_tx_discord",
            "failed_tx_telegram",
            "large_transfer_email",
            "large_transfer_slack",
            "large_transfer_webhook"
        ]
    );
    assert_eq!(config.respond.routes.len(), 3);
    let watch = config.watch.unwrap();
    assert!(!watch.pending);
    assert_eq!(watch.poll_interval, Duration::from_millis(1000));
    let (rules, _) = vigil_chain::monitor::load_rules_dir(&watch.rules_dir.unwrap()).unwrap();
    assert_eq!(rules.len(), 3);
    assert_eq!(rules.contracts().addresses().count(), 1);
}
