//! Four real `vigil` processes on 127.0.0.1, created by `vigil testnet` and run with
//! `vigil node --config`: BFT consensus (Malachite) and gossip between separate processes.
//!
//! One network serves every check, in order, to keep CI time down: a signed alert published at
//! node 0 reaches nodes 1–3 on their event streams while forged and oversized ones are refused
//! and not forwarded; the four commit the same blocks and app hashes for 20+ heights; a
//! transaction sent to any node is committed; with one validator SIGKILLed the rest go on;
//! with two down the chain halts without forking; restarted, both catch up to the same chain.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;
use vigil_core::encoding::encode;
use vigil_core::{
    Alert, AlertKind, Amount, B256, ChainId, EvmAddress, EvmChainId, Keypair, Severity, Signed,
    TxBody, TxRef,
};
use vigil_net::gossip::{Gossip, GossipConfig, GossipKind};
use vigil_node::client::Client;

use crate::harness::vigil;

const VALIDATORS: usize = 4;

/// One `vigil node` process of the testnet.
pub(crate) struct Validator {
    pub(crate) dir: PathBuf,
    pub(crate) url: String,
    child: Option<Child>,
}

impl Validator {
    /// The validator whose data directory (with its `config.toml`) is `dir`, serving `url`.
    pub(crate) fn new(dir: PathBuf, url: String) -> Self {
        Self { dir, url, child: None }
    }

    pub(crate) fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let child = vigil()
            .args(["node", "--config"])
            .arg(self.dir.join("config.toml"))
            .env("RUST_LOG", "info,arc_malachitebft=warn,libp2p=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    pub(crate) fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{} did not start; log:\n{}", self.url, self.log());
    }

    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("node.log")).unwrap_or_default()
    }

    pub(crate) fn client(&self) -> Client {
        Client::new(&self.url)
    }
}

impl Drop for Validator {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) struct Testnet {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) nodes: Vec<Validator>,
    pub(crate) chain: ChainId,
}

impl Testnet {
    /// `vigil testnet` on a free port range, then every validator started.
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// [`Testnet::start`] with more `vigil testnet` arguments.
    pub(crate) fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listing = (0..50)
            .find_map(|attempt| {
                // Ports below the ephemeral range, spread by process id and attempt.
                let base = 20_000 + ((std::process::id() as usize * 7 + attempt * 613) % 9_000);
                let out = vigil()
                    .args(["--json", "testnet", "--validators", "4", "--dir"])
                    .arg(dir.path())
                    .args(["--base-port", &base.to_string()])
                    .args(["--block-time-ms", "100", "--timeout-propose-ms", "1000"])
                    .args(extra)
                    .output()
                    .unwrap();
                let stderr = String::from_utf8_lossy(&out.stderr);
                if out.status.success() {
                    return Some(serde_json::from_slice::<Value>(&out.stdout).unwrap());
                }
                assert!(stderr.contains("in use"), "vigil testnet failed: {stderr}");
                None
            })
            .expect("found free ports for the testnet");
        let nodes: Vec<Validator> = listing["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| Validator {
                dir: Path::new(n["config"].as_str().unwrap()).parent().unwrap().to_owned(),
                url: n["api"].as_str().unwrap().to_owned(),
                child: None,
            })
            .collect();
        assert_eq!(nodes.len(), VALIDATORS);
        let mut net = Testnet { dir, nodes, chain: "vigil-testnet".parse().unwrap() };
        for node in &mut net.nodes {
            node.spawn();
        }
        for node in &net.nodes {
            node.wait_ready();
        }
        net
    }

    pub(crate) fn user_key(&self, j: usize) -> PathBuf {
        self.dir.path().join("keys").join(format!("user-{j}.key"))
    }

    pub(crate) fn logs(&self) -> String {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| format!("---- node-{i} ----\n{}", tail(&n.log(), 40)))
            .collect()
    }
}

pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub(crate) async fn height(node: &Validator) -> Option<u64> {
    node.client().status().await.ok().map(|s| s.height)
}

/// (block hash, app hash) of every height from 1 to `up_to` on `node`.
pub(crate) async fn chain_of(node: &Validator, up_to: u64) -> BTreeMap<u64, (String, String)> {
    let client = node.client();
    let mut out = BTreeMap::new();
    for h in 1..=up_to {
        let block: Value = client.get(&format!("/v1/blocks/{h}")).await.unwrap();
        assert_eq!(block["certified"], true, "block {h} of {} has no certificate", node.url);
        out.insert(
            h,
            (block["hash"].as_str().unwrap().into(), block["app_hash"].as_str().unwrap().into()),
        );
    }
    out
}

/// Polls until every listed node's height reaches `target`, or fails with the logs.
pub(crate) async fn wait_heights(
    net: &Testnet,
    which: &[usize],
    target: u64,
    secs: u64,
    what: &str,
) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut heights = Vec::new();
        for &i in which {
            heights.push(height(&net.nodes[i]).await.unwrap_or(0));
        }
        if heights.iter().all(|h| *h >= target) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: heights {heights:?} of nodes {which:?} did not reach {target} in {secs} s\n{}",
            net.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn metric(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn metrics(node: &Validator) -> String {
    reqwest::get(format!("{}/metrics", node.url)).await.unwrap().text().await.unwrap()
}

/// Polls a gauge until it reads `want` (peer counts settle while connections form and the
/// node samples them once a second), failing with the last metrics after `secs`.
async fn wait_gauge(node: &Validator, name: &str, want: u64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let m = metrics(node).await;
        if metric(&m, name) == want {
            return;
        }
        assert!(Instant::now() < deadline, "{name} is not {want} after {secs} s:\n{m}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads a node's event stream on a thread and sends every `alert` event's data.
pub(crate) fn watch_alerts(url: &str, found: mpsc::Sender<(String, Value)>) {
    let url = format!("{url}/v1/events");
    std::thread::spawn(move || {
        let client =
            reqwest::blocking::Client::builder().timeout(Duration::from_secs(120)).build().unwrap();
        let Ok(response) = client.get(&url).send() else { return };
        let mut event = String::new();
        for line in BufReader::new(response).lines() {
            let Ok(line) = line else { return };
            if let Some(name) = line.strip_prefix("event:") {
                event = name.trim().to_owned();
            } else if let Some(data) = line.strip_prefix("data:")
                && event == "alert"
            {
                let value: Value = serde_json::from_str(data.trim()).unwrap();
                if found.send((url.clone(), value)).is_err() {
                    return;
                }
            }
        }
    });
}

fn alert(n: u8, description: String) -> Alert {
    Alert {
        detector: "flash-loan-exploit".into(),
        severity: Severity::Critical,
        kind: AlertKind::Exploit,
        confidence: 90,
        tx: TxRef {
            chain: EvmChainId::MAINNET,
            hash: B256([n; 32]),
            from: EvmAddress([1; 20]),
            to: Some(EvmAddress([2; 20])),
            block: Some(u64::from(n)),
        },
        addresses: vec![EvmAddress([3; 20])],
        indicators: vec![],
        labels: vec![],
        description,
        time: 1_700_000_000,
        metadata: [("amount".to_owned(), "1000000".to_owned())].into(),
        detection: Vec::new(),
    }
}

/// A signed alert published at node 0 reaches nodes 1–3 on their event streams; forged and
/// oversized alerts are refused by the API and, sent raw over gossip, by the first node that
/// receives them, which does not forward them.
async fn alerts_reach_every_node_and_bad_ones_do_not(net: &Testnet) {
    let (found, alerts) = mpsc::channel();
    for node in &net.nodes[1..] {
        watch_alerts(&node.url, found.clone());
    }
    // Subscribers must be listening before the alert goes out.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let alert_file = net.dir.path().join("alert.json");
    std::fs::write(&alert_file, serde_json::to_string(&alert(7, "drain".into())).unwrap()).unwrap();
    let key_path = net.user_key(0);
    let author = vigil_node::keyfile::read(&key_path, None).unwrap().account_id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let published = loop {
        // Until the gossip mesh forms, the node answers 503 no_peers.
        let out = vigil()
            .args(["--json", "--node", &net.nodes[0].url, "alert", "publish", "--file"])
            .arg(&alert_file)
            .arg("--key")
            .arg(&key_path)
            .output()
            .unwrap();
        if out.status.success() {
            break serde_json::from_slice::<Value>(&out.stdout).unwrap();
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("no_peers"), "publishing failed: {stderr}");
        assert!(Instant::now() < deadline, "no gossip peers after 20 s\n{}", net.logs());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let id = published["id"].as_str().unwrap().to_owned();
    let mut reached = BTreeMap::new();
    while reached.len() < VALIDATORS - 1 {
        let (url, event) = alerts
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("alert reached only {reached:?}\n{}", net.logs()));
        assert_eq!(event["id"], id.as_str());
        assert_eq!(event["alert"]["signer"], author.to_string());
        assert_eq!(event["alert"]["payload"]["description"], "drain");
        reached.insert(url, event);
    }

    // Forged (payload changed after signing) and oversized alerts: the API refuses them.
    let key = vigil_node::keyfile::read(&key_path, None).unwrap();
    let mut forged = Signed::sign(alert(8, "real".into()), net.chain.clone(), &key);
    forged.payload.description = "forged".into();
    let oversized = Signed::sign(alert(9, "x".repeat(70 * 1024)), net.chain.clone(), &key);
    for bad in [&forged, &oversized] {
        let err = net.nodes[0].client().publish_alert(bad).await.unwrap_err().to_string();
        assert!(err.contains("invalid_alert") && err.contains("HTTP 400"), "{err}");
    }

    // Sent raw over gossip by a rogue peer connected to node 3 only: node 3 rejects both and
    // forwards neither; nobody delivers them.
    let before: Vec<String> = all_metrics(net).await;
    let rogue_key = Keypair::from_seed(&[66; 32]);
    let shutdown = CancellationToken::new();
    let mut config = GossipConfig::new(net.chain.clone());
    config.bootstrap = vec![gossip_addr(&net.nodes[3].dir)];
    let (rogue, _inbox) = Gossip::start(config, &rogue_key, shutdown.clone()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    for bytes in [encode(&forged), encode(&oversized)] {
        while let Err(e) = rogue.publish_unchecked(GossipKind::Alert, bytes.clone()).await {
            assert!(Instant::now() < deadline, "rogue could not publish: {e}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let rejected = |text: &String| metric(text, "vigil_gossip_rejected_total");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = all_metrics(net).await;
        if rejected(&now[3]) >= rejected(&before[3]) + 2 {
            for i in 0..3 {
                assert_eq!(rejected(&now[i]), rejected(&before[i]), "node {i} saw a bad alert");
            }
            break;
        }
        assert!(Instant::now() < deadline, "node 3 did not reject the rogue's alerts");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shutdown.cancel();
    // Neither bad alert was delivered anywhere (a second of grace for stragglers).
    if let Ok((url, event)) = alerts.recv_timeout(Duration::from_secs(1)) {
        panic!("{url} delivered an alert it should have rejected: {event}");
    }
}

async fn all_metrics(net: &Testnet) -> Vec<String> {
    let mut out = Vec::new();
    for node in &net.nodes {
        out.push(metrics(node).await);
    }
    out
}

/// The gossip address of the node in `dir`, with its peer id.
fn gossip_addr(dir: &Path) -> vigil_net::gossip::Multiaddr {
    let config = vigil_node::config::NodeConfig::load(&dir.join("config.toml")).unwrap();
    let key = vigil_node::keyfile::read(&config.key, None).unwrap();
    let addr = vigil_node::gossip::tcp_multiaddr(config.gossip.listen);
    format!("{addr}/p2p/{}", vigil_net::gossip::peer_id_of(&key)).parse().unwrap()
}

/// Signs a transfer from user `j` and submits it to node `at`; waits until node `check` (a
/// different one) has it committed.
async fn transfer_commits(net: &Testnet, j: usize, at: usize, check: usize) {
    let key = vigil_node::keyfile::read(&net.user_key(j), None).unwrap();
    let to = vigil_node::keyfile::read(&net.user_key((j + 1) % 4), None).unwrap().account_id();
    let (id, _) = net.nodes[at]
        .client()
        .sign_and_submit(&key, TxBody::Transfer { to, amount: Amount::vgl(1) })
        .await
        .unwrap();
    let done = net.nodes[check]
        .client()
        .wait_committed(&id, Duration::from_secs(20))
        .await
        .unwrap_or_else(|e| {
            panic!("tx sent to node {at} not committed at {check}: {e}\n{}", net.logs())
        });
    assert!(done["result"]["outcome"].get("Ok").is_some(), "{done}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_validator_processes_agree_survive_one_crash_halt_on_two_and_catch_up() {
    let _one = crate::ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let mut net = Testnet::start();
    let phase = |what: &str| eprintln!("[{:>5.1} s] {what}", started.elapsed().as_secs_f64());
    phase("four validators up");

    alerts_reach_every_node_and_bad_ones_do_not(&net).await;
    phase("alert delivered to nodes 1-3; forged and oversized ones refused");

    // 20 heights, the same everywhere.
    wait_heights(&net, &[0, 1, 2, 3], 20, 60, "start").await;
    let reference = chain_of(&net.nodes[0], 20).await;
    for node in &net.nodes[1..] {
        assert_eq!(chain_of(node, 20).await, reference, "{} disagrees", node.url);
    }
    // A transaction sent to any node is committed (checked on another node).
    for i in 0..VALIDATORS {
        transfer_commits(&net, i, i, (i + 1) % VALIDATORS).await;
    }
    phase("20 identical heights; a transfer sent to each node committed");
    let m = metrics(&net.nodes[0]).await;
    assert_eq!(metric(&m, "vigil_consensus_validators"), 4, "{m}");
    assert!(metric(&m, "vigil_consensus_rounds_total") >= 20, "{m}");
    wait_gauge(&net.nodes[0], "vigil_consensus_peers", 3, 15).await;
    wait_gauge(&net.nodes[0], "vigil_gossip_peers", 3, 15).await;

    // One validator down: the other three go on (its turns as proposer cost a timeout).
    net.nodes[3].kill();
    let h = height(&net.nodes[0]).await.unwrap();
    wait_heights(&net, &[0, 1, 2], h + 6, 60, "one validator down").await;
    transfer_commits(&net, 0, 1, 2).await;
    phase(&format!("node 3 killed at height {h}; three went on"));

    // Two down: less than 2/3 of the power is left, so nothing more is decided.
    net.nodes[2].kill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let halted = [height(&net.nodes[0]).await.unwrap(), height(&net.nodes[1]).await.unwrap()];
    tokio::time::sleep(Duration::from_secs(3)).await;
    let later = [height(&net.nodes[0]).await.unwrap(), height(&net.nodes[1]).await.unwrap()];
    assert_eq!(halted, later, "the chain moved on with half of the validators");
    phase(&format!("node 2 killed; halted at {halted:?}"));
    let top = halted[0].min(halted[1]);
    let survivors = chain_of(&net.nodes[0], top).await;
    assert_eq!(chain_of(&net.nodes[1], top).await, survivors, "the survivors forked");
    assert_eq!(
        survivors.range(..=20).map(|(h, v)| (*h, v.clone())).collect::<BTreeMap<_, _>>(),
        reference
    );

    // Both restarted: they catch up and the chain moves again, the same on all four.
    net.nodes[2].spawn();
    net.nodes[3].spawn();
    net.nodes[2].wait_ready();
    net.nodes[3].wait_ready();
    let target = halted[0].max(halted[1]) + 5;
    wait_heights(&net, &[0, 1, 2, 3], target, 60, "after restart").await;
    phase(&format!("nodes 2 and 3 restarted; all four at {target}"));
    transfer_commits(&net, 3, 3, 0).await;
    let reference = chain_of(&net.nodes[0], target).await;
    for node in &net.nodes[1..] {
        assert_eq!(
            chain_of(node, target).await,
            reference,
            "{} disagrees after catch-up",
            node.url
        );
    }
    assert_eq!(
        reference.range(..=top).map(|(h, v)| (*h, v.clone())).collect::<BTreeMap<_, _>>(),
        survivors,
        "history changed after the restart"
    );
}
