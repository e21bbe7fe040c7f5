//! Issue 17's first acceptance: on anvil with 1 s blocks, every one of 30 transfers matching a
//! rule produces exactly one webhook per configured stage (pending and mined), through an
//! alert route, with no breaker involved; transfers the rule does not match produce none. The
//! test prints send → webhook latencies (p50/p90) per stage; BENCHMARKS.md records them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256, address};
use axum::Router;
use axum::routing::post;
use parking_lot::Mutex;
use vigil_chain::scenario::{DEPLOYER, DevChain, e18};

use crate::harness::{TestNode, anvil, eventually};

const TREASURY: Address = address!("5a52e96bacdabb82fd05763e25335261b270efcb");
const ELSEWHERE: Address = address!("00000000000000000000000000000000000c0ffe");
const TRANSFERS: usize = 30;

type Deliveries = Arc<Mutex<Vec<(Instant, serde_json::Value)>>>;

fn get(node: &TestNode, path: &str) -> reqwest::Result<reqwest::blocking::Response> {
    reqwest::blocking::get(format!("{}{path}", node.url))?.error_for_status()
}

fn percentile(sorted: &[Duration], p: usize) -> Duration {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

#[test]
fn every_matching_transfer_sends_one_webhook_per_stage_without_a_breaker() {
    let _timed = crate::harness::one_timed_at_a_time();
    let Some(anvil) = anvil() else { return };
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = rt.block_on(DevChain::start(&anvil, 0)).unwrap();
    rt.block_on(chain.set_block_time(1)).unwrap();

    // The receiver: a plain webhook endpoint recording when each message arrived.
    let deliveries: Deliveries = Arc::default();
    let hook = {
        let deliveries = Arc::clone(&deliveries);
        let app = Router::new().route(
            "/hook",
            post(move |axum::Json(body): axum::Json<serde_json::Value>| {
                let deliveries = Arc::clone(&deliveries);
                async move { deliveries.lock().push((Instant::now(), body)) }
            }),
        );
        let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    };

    let rules = tempfile::tempdir().unwrap();
    std::fs::write(
        rules.path().join("treasury.toml"),
        format!(
            "[[rule]]\nname = \"eth-to-treasury\"\n\
             expression = \"tx.to == '{TREASURY:#x}' && tx.value > 0.5e18\"\n\
             severity = \"medium\"\n\
             description = \"{{{{tx.value_eth}}}} ETH to the treasury\"\n"
        ),
    )
    .unwrap();
    let extra = format!(
        "[watch]\nrpc = \"{}\"\nrules_dir = \"{}\"\npoll_interval = 100\n\
         [[respond.channels]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{hook}\"\n\
         [[respond.routes]]\nchannels = [\"hook\"]\nrules = [\"eth-to-treasury\"]\n",
        chain.ws(),
        rules.path().display()
    );
    let node = TestNode::start_with(200, true, &extra, &[]);
    let watching = eventually(Duration::from_secs(20), || {
        get(&node, "/v1/status")
            .and_then(|r| r.json::<serde_json::Value>())
            .is_ok_and(|s| !s["watch"]["trace_source"].is_null())
    });
    assert!(watching, "the watch did not start; node log:\n{}", node.log());

    // 30 matching transfers, and 10 the rule must not match (another recipient, too little).
    let mut sent: BTreeMap<String, Instant> = BTreeMap::new();
    let mut unmatched = Vec::new();
    for i in 0..TRANSFERS {
        let at = Instant::now();
        let hash =
            rt.block_on(chain.send(DEPLOYER, Some(TREASURY), e18(1), vec![], 21_000)).unwrap();
        sent.insert(hash.to_string(), at);
        if i % 6 == 0 {
            let small = e18(1) / U256::from(10);
            for (to, value) in [(ELSEWHERE, e18(1)), (TREASURY, small)] {
                let h = rt.block_on(chain.send(DEPLOYER, Some(to), value, vec![], 21_000)).unwrap();
                unmatched.push(h.to_string());
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    let all_in = eventually(Duration::from_secs(30), || deliveries.lock().len() >= 2 * TRANSFERS);
    // Anything extra would arrive within a couple of blocks.
    std::thread::sleep(Duration::from_secs(3));
    let got = deliveries.lock().clone();
    assert!(all_in, "{} of {} webhooks; node log:\n{}", got.len(), 2 * TRANSFERS, node.log());

    let mut per_stage: BTreeMap<(String, &str), usize> = BTreeMap::new();
    let mut latency: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (at, body) in &got {
        let incident = &body["incident"];
        assert_eq!(incident["kind"], "alert", "{body}");
        let alert = &incident["alert"]["payload"];
        assert_eq!(alert["detector"], "rule:eth-to-treasury");
        let hash = alert["tx"]["hash"].as_str().unwrap().to_owned();
        let stage = if alert["tx"]["block"].is_null() { "pending" } else { "mined" };
        assert!(body["text"].as_str().unwrap().contains("/v1/alerts/"), "{body}");
        assert!(!unmatched.contains(&hash), "a transfer the rule does not match alerted: {body}");
        let send = sent.get(&hash).unwrap_or_else(|| panic!("unknown transaction {hash}"));
        latency.entry(stage).or_default().push(at.saturating_duration_since(*send));
        *per_stage.entry((hash, stage)).or_default() += 1;
    }
    for hash in sent.keys() {
        for stage in ["pending", "mined"] {
            let n = per_stage.get(&(hash.clone(), stage)).copied().unwrap_or(0);
            assert_eq!(n, 1, "{hash} sent {n} {stage} webhooks");
        }
    }
    // No breaker was involved: no protocol is registered.
    let breakers: serde_json::Value = get(&node, "/v1/breakers").unwrap().json().unwrap();
    assert_eq!(breakers["breakers"], serde_json::json!([]), "{breakers}");
    // The link in a message answers with the alert.
    let id = got[0].1["incident"]["id"].as_str().unwrap().to_owned();
    let id = id.strip_prefix("alert:").unwrap_or(&id);
    let shown: serde_json::Value = get(&node, &format!("/v1/alerts/{id}")).unwrap().json().unwrap();
    assert_eq!(shown["alert"]["payload"]["detector"], "rule:eth-to-treasury");
    let metrics = get(&node, "/metrics").unwrap().text().unwrap();
    assert!(
        metrics.contains(&format!(
            "vigil_notifications_total{{channel=\"hook\",outcome=\"delivered\"}} {}",
            2 * TRANSFERS
        )),
        "{metrics}"
    );

    for (stage, mut l) in latency {
        l.sort();
        eprintln!(
            "send → webhook, {stage}: p50 {:?}, p90 {:?}, max {:?} over {} transfers (anvil, 1 s blocks)",
            percentile(&l, 50),
            percentile(&l, 90),
            l[l.len() - 1],
            l.len()
        );
    }
}
