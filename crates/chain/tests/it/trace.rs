//! Call traces on a real chain: the attack transaction comes with its call tree from each
//! source anvil offers (geth `callTracer`, parity `trace_block`), or without one when tracing
//! is off; `auto` picks the call tracer, and falls back when a node refuses a tracer (anvil
//! behind a proxy that refuses methods). Also, ignored by default, the recorder of the detect
//! crate's trace testdata.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use vigil_chain::{
    ChainError, CursorStore, FileCursorStore, Monitor, MonitorConfig, MonitorError, RawBlock,
    Recorded, Recording, TraceMode, TraceSource,
};
use vigil_core::{EvmChainId, Selector};
use vigil_detect::{Effects, Transaction};

use crate::anvil::{Anvil, free_port};
use crate::contracts::*;
use crate::harness::{Running, eventually};

const WAIT: Duration = Duration::from_secs(15);

/// The attack as the monitor saw it.
struct Seen {
    /// The trace source the monitor reported.
    source: Option<TraceSource>,
    /// The attack's block, as recorded.
    raw: RawBlock,
    /// The attack transaction, converted.
    tx: Transaction,
    deployment: Deployment,
    attacker: Address,
}

/// Deploys the scenario, starts a monitor on `rpc` with `trace`, runs the attack on the fresh
/// vault and returns what the monitor recorded of it.
async fn attack_seen(anvil: &Anvil, rpc: String, trace: TraceMode) -> Seen {
    let d = setup(anvil).await;
    fund_attacker(anvil).await;
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("recording.json");
    let cursor = dir.path().join("cursor.json");
    let config = MonitorConfig {
        rpc,
        detect: vigil_detect::DetectConfig { protected: d.protected(), ..Default::default() },
        poll_interval: Duration::from_millis(100),
        pending: false,
        start_block: Some(anvil.head().await + 1),
        record: Some(record.clone()),
        cursor_file: Some(cursor.clone()),
        trace,
        ..MonitorConfig::default()
    };
    let monitor = Monitor::connect(&config).await.expect("monitor connects");
    let source = monitor.trace_source();
    let m = Running::spawn(monitor);

    let attacker = deploy_attacker(anvil, &d).await;
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    let mined = anvil.mine().await;
    let receipt = anvil.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(receipt.status(), "the attack succeeds on an unpaused vault");
    let store = FileCursorStore::new(&cursor);
    eventually("the attack's block processed", WAIT, || async {
        store.load().ok().flatten().and_then(|c| c.head()).is_some_and(|(n, _)| n >= mined)
    })
    .await;
    let source = *source.borrow();
    let (stats, _) = m.stop().await;
    assert_eq!(stats.conversion_errors, 0, "{stats:?}");

    let raw = attack_block(&record, hash);
    let block = vigil_chain::convert::block(EvmChainId(31337), &raw).expect("converts");
    let tx = block
        .transactions
        .into_iter()
        .find(|t| t.hash.0 == hash.0)
        .expect("the attack is in its block");
    Seen { source, raw, tx, deployment: d, attacker }
}

/// The recorded block holding transaction `hash`.
fn attack_block(record: &Path, hash: B256) -> RawBlock {
    let recording = Recording::read(record).expect("the recording is written");
    recording
        .events
        .into_iter()
        .find_map(|e| match e {
            Recorded::Block(raw) if raw.block.transactions.hashes().any(|h| h == hash) => {
                Some(*raw)
            }
            _ => None,
        })
        .expect("the attack's block is recorded")
}

/// The attack's tree: a flash loan from FlashLender to the Attacker contract, around the
/// vault's `borrow`.
fn assert_attack_traced(seen: &Seen, with_logs: bool) {
    let d = &seen.deployment;
    let trace = seen.tx.trace.as_ref().expect("the attack has a call tree");
    assert_eq!(trace.with_logs, with_logs);
    assert_eq!(trace.root.to, Some(ev(seen.attacker)));
    let borrow = Selector::of_signature("borrow(uint256)");
    assert!(
        trace.root.walk().any(|f| f.to == Some(ev(d.vault)) && f.selector() == Some(borrow)),
        "no borrow frame on the vault in {:#?}",
        trace.root
    );
    let effects = Effects::of(&seen.tx);
    assert!(effects.traced);
    let loan = effects.flash_loans.first().expect("a flash loan in the tree");
    assert_eq!(loan.lender, ev(d.lender));
    assert_eq!(loan.receiver, ev(seen.attacker));
    assert_eq!(loan.amount, e18(350_000));
    assert_eq!(loan.api, "aave_v3_simple");
    let txs = seen.raw.block.transactions.len();
    assert_eq!(seen.raw.traces.len(), txs, "one trace per transaction");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn call_tracer_traces_the_attack_with_logs() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let seen = attack_seen(&anvil, anvil.http(), TraceMode::CallTracer).await;
    assert_eq!(seen.source, Some(TraceSource::CallTracer));
    assert_attack_traced(&seen, true);
    let logs = seen.tx.trace.as_ref().unwrap().root.walk().map(|f| f.logs.len()).sum::<usize>();
    assert_eq!(logs, seen.tx.logs.len(), "the frames hold every log of the receipt");
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_traces_the_attack_without_logs() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let seen = attack_seen(&anvil, anvil.ws(), TraceMode::Parity).await;
    assert_eq!(seen.source, Some(TraceSource::Parity));
    assert_attack_traced(&seen, false);
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tracing_off_keeps_receipts_only() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let seen = attack_seen(&anvil, anvil.http(), TraceMode::Off).await;
    assert_eq!(seen.source, Some(TraceSource::ReceiptsOnly));
    assert!(seen.raw.traces.is_empty());
    assert!(seen.tx.trace.is_none());
    assert!(!Effects::of(&seen.tx).traced);
    assert!(!seen.tx.logs.is_empty(), "the receipt's logs are still there");
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_picks_the_call_tracer() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let seen = attack_seen(&anvil, anvil.http(), TraceMode::Auto).await;
    assert_eq!(seen.source, Some(TraceSource::CallTracer));
    assert_attack_traced(&seen, true);
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_parity_when_the_call_tracer_is_refused() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let node = RefusingNode::start(&anvil, &["debug_traceBlockByNumber"]).await;
    let seen = attack_seen(&anvil, node.url(), TraceMode::Auto).await;
    assert_eq!(seen.source, Some(TraceSource::Parity));
    assert_attack_traced(&seen, false);
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_receipts_when_no_tracer_is_offered() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let node = RefusingNode::start(&anvil, &["debug_traceBlockByNumber", "trace_block"]).await;
    let seen = attack_seen(&anvil, node.url(), TraceMode::Auto).await;
    assert_eq!(seen.source, Some(TraceSource::ReceiptsOnly));
    assert!(seen.tx.trace.is_none() && seen.raw.traces.is_empty());
    anvil.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_tracer_the_configuration_requires_stops_the_monitor() {
    let Some(anvil) = Anvil::start(0).await else { return };
    let node = RefusingNode::start(&anvil, &["debug_traceBlockByNumber"]).await;
    anvil.mine().await;
    let config = MonitorConfig {
        rpc: node.url(),
        pending: false,
        start_block: Some(1),
        poll_interval: Duration::from_millis(100),
        trace: TraceMode::CallTracer,
        ..MonitorConfig::default()
    };
    let monitor = Monitor::connect(&config).await.expect("monitor connects");
    let (alerts, _rx) = tokio::sync::mpsc::unbounded_channel();
    let stopped = tokio::time::timeout(WAIT, monitor.run(alerts, std::future::pending()))
        .await
        .expect("the monitor stops by itself");
    match stopped {
        Err(MonitorError::Chain(ChainError::TracerRefused { method, mode, .. })) => {
            assert_eq!(
                (method.as_str(), mode.as_str()),
                ("debug_traceBlockByNumber", "call_tracer")
            );
        }
        other => panic!("expected the tracer refusal, got {other:?}"),
    }
    anvil.stop().await;
}

/// anvil over HTTP behind a JSON-RPC proxy that answers `refused` methods with "method not
/// found", as a node without those APIs does.
struct RefusingNode {
    port: u16,
    task: tokio::task::JoinHandle<()>,
}

impl RefusingNode {
    async fn start(anvil: &Anvil, refused: &[&'static str]) -> Self {
        let port = free_port();
        let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind the proxy");
        let upstream = anvil.provider.clone();
        let refused: Arc<Vec<&'static str>> = Arc::new(refused.to_vec());
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (upstream, refused) = (upstream.clone(), Arc::clone(&refused));
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut read = BufReader::new(read);
                    // One JSON-RPC request per HTTP/1.1 request, on a kept-alive connection.
                    while let Some(body) = read_request(&mut read).await {
                        let answer = answer(&upstream, &refused, &body).await;
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                            answer.len()
                        );
                        if write.write_all(head.as_bytes()).await.is_err()
                            || write.write_all(answer.as_bytes()).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        Self { port, task }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for RefusingNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The body of the next HTTP request, `None` when the connection closes.
async fn read_request(read: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Vec<u8>> {
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if read.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    read.read_exact(&mut body).await.ok()?;
    Some(body)
}

/// The proxy's answer to one JSON-RPC request.
async fn answer(upstream: &alloy::providers::DynProvider, refused: &[&str], body: &[u8]) -> String {
    let request: serde_json::Value = serde_json::from_slice(body).expect("a JSON-RPC request");
    let id = request["id"].clone();
    let method = request["method"].as_str().unwrap_or_default().to_owned();
    if refused.contains(&method.as_str()) {
        let error = serde_json::json!({"code": -32601, "message": "Method not found"});
        return serde_json::json!({"jsonrpc": "2.0", "id": id, "error": error}).to_string();
    }
    let params = serde_json::value::to_raw_value(&request["params"]).unwrap();
    match upstream.raw_request_dyn(method.into(), &params).await {
        Ok(result) => format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{}}}"#, result.get()),
        Err(alloy::transports::RpcError::ErrorResp(e)) => {
            serde_json::json!({"jsonrpc": "2.0", "id": id, "error": e}).to_string()
        }
        Err(e) => panic!("anvil failed: {e}"),
    }
}

/// Rewrites the detect crate's trace testdata from a fresh anvil:
/// `VIGIL_RECORD_TESTDATA=1 cargo test -p vigil-chain --test it record_trace_testdata -- --ignored`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes crates/detect/testdata; run with VIGIL_RECORD_TESTDATA=1"]
async fn record_trace_testdata() {
    if std::env::var("VIGIL_RECORD_TESTDATA").as_deref() != Ok("1") {
        eprintln!("SKIP: set VIGIL_RECORD_TESTDATA=1 to rewrite crates/detect/testdata");
        return;
    }
    let Some(anvil) = Anvil::start(0).await else { return };
    let d = setup(&anvil).await;
    fund_attacker(&anvil).await;
    let attacker = deploy_attacker(&anvil, &d).await;
    let hash = anvil.send(ATTACKER, Some(attacker), U256::ZERO, attack_calldata(), 3_000_000).await;
    let block = anvil.mine().await;
    let receipt = anvil.provider.get_transaction_receipt(hash).await.unwrap().unwrap();
    assert!(receipt.status(), "the attack succeeds on a fresh vault");

    // The results exactly as anvil wrote them.
    let call = |method: &'static str, params: serde_json::Value| {
        let provider = anvil.provider.clone();
        async move {
            let params = serde_json::value::to_raw_value(&params).unwrap();
            provider.raw_request_dyn(method.into(), &params).await.expect(method).get().to_owned()
        }
    };
    let tracer = serde_json::json!({"tracer": "callTracer", "tracerConfig": {"withLog": true}});
    let geth = call("debug_traceTransaction", serde_json::json!([hash, tracer])).await;
    let parity = call("trace_transaction", serde_json::json!([hash])).await;

    // What the detect crate's readers make of them.
    let tree = vigil_detect::trace::geth::parse_tree(&geth).expect("callTracer JSON reads");
    assert!(tree.with_logs);
    let rows = vigil_detect::trace::parity::parse_rows(&parity).expect("parity rows read");
    assert_eq!(rows.len(), 1);

    let dir = testdata_dir();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("anvil-attack-calltracer.json"), format!("{geth}\n")).unwrap();
    std::fs::write(dir.join("anvil-attack-parity.json"), format!("{parity}\n")).unwrap();
    let version = std::process::Command::new(crate::anvil::binary().unwrap())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_owned())
        .unwrap_or_default();
    eprintln!(
        "wrote {}: {version}; tx {hash} in block {block}, gas {}, {} logs; attacker EOA {ATTACKER}, \
         Attacker {attacker}, FlashLender {}, pair {}, vault {}, USDX {}",
        dir.display(),
        receipt.gas_used,
        receipt.inner.logs().len(),
        d.lender,
        d.pair,
        d.vault,
        d.usdx
    );
    anvil.stop().await;
}

fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../detect/testdata")
}
