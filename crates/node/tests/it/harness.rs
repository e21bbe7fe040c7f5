//! Starts real `vigil node` processes on free loopback ports with a fast test genesis.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use vigil_core::{AccountId, Amount, Keypair};
use vigil_ledger::{Genesis, GenesisAccount, Params};
use vigil_node::client::Client;

pub const NAMES: [&str; 5] = ["node", "alice", "bob", "carol", "dave"];

pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

/// A free loopback port for a node's API, taken from 10000–19999: below the kernel's ephemeral
/// range, so no outgoing connection of a concurrent test holds it as its source port and no
/// readiness probe can connect to itself on it. Spread by process id and call, so the tests of
/// one run ask for different ports.
pub fn free_port() -> u16 {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    for _ in 0..1_000 {
        let call = CALLS.fetch_add(1, Ordering::Relaxed);
        let offset = std::process::id().wrapping_mul(131).wrapping_add(call.wrapping_mul(7919));
        let port = 10_000 + u16::try_from(offset % 10_000).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 10000-19999");
}

/// How a start attempt ended.
enum Started {
    Ready,
    /// The node exited because something else took its API port meanwhile.
    PortTaken,
}

pub struct TestNode {
    pub dir: TempDir,
    pub url: String,
    child: Option<Child>,
    env: Vec<(String, String)>,
    /// The node's own account, to tell it apart from anything else on its port.
    node_account: String,
}

/// A genesis where verdicts come fifteen blocks after submission.
pub fn test_params() -> Params {
    Params {
        challenge_window: 15,
        unbonding_delay: 5,
        voting_period: 5,
        timelock: 2,
        attestation_quorum_bps: 1_000,
        min_report_bond: Amount::vgl(10),
        disclosure_response_window: 20,
        disclosure_challenge_window: 40,
        ..Params::default()
    }
}

impl TestNode {
    /// Creates keys (with `vigil key new`), genesis and config in a temp dir, and starts a node.
    pub fn start(block_interval_ms: u64, empty_blocks: bool) -> Self {
        Self::start_with(block_interval_ms, empty_blocks, "", &[])
    }

    /// Starts a node with extra TOML appended to its config and extra environment variables.
    pub fn start_with(
        block_interval_ms: u64,
        empty_blocks: bool,
        extra: &str,
        env: &[(&str, &str)],
    ) -> Self {
        Self::start_with_files(block_interval_ms, empty_blocks, extra, env, |_| {})
    }

    /// Like [`TestNode::start_with`], calling `prepare` with the data directory before the node
    /// starts (to write extra files such as keys).
    pub fn start_with_files(
        block_interval_ms: u64,
        empty_blocks: bool,
        extra: &str,
        env: &[(&str, &str)],
        prepare: impl FnOnce(&std::path::Path),
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let mut accounts = Vec::new();
        let mut node_account = String::new();
        for name in NAMES {
            let path = keys.join(format!("{name}.key"));
            let out = vigil().args(["key", "new", "--out"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let shown = vigil().args(["key", "show", "--key"]).arg(&path).output().unwrap();
            let account: AccountId =
                String::from_utf8(shown.stdout).unwrap().trim().parse().unwrap();
            if name == "node" {
                node_account = account.to_string();
            }
            accounts.push(GenesisAccount {
                account,
                balance: Amount::vgl(10_000),
                bonded: Amount::vgl(1_000),
                validator: name == "node",
            });
        }
        let genesis = Genesis {
            chain_id: "vigil-itest".parse().unwrap(),
            genesis_time: 0,
            params: test_params(),
            treasury: Amount::vgl(1_000),
            reward_pool: Amount::vgl(1_000),
            accounts,
        };
        std::fs::write(dir.path().join("genesis.toml"), genesis.to_toml()).unwrap();
        let port = free_port();
        let config = format!(
            "genesis = \"genesis.toml\"\nkey = \"keys/node.key\"\ndb = \"vigil.redb\"\n\
             [api]\nlisten = \"127.0.0.1:{port}\"\n\
             [consensus]\nblock_interval_ms = {block_interval_ms}\nempty_blocks = {empty_blocks}\n{extra}"
        );
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        prepare(dir.path());
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut node = TestNode {
            dir,
            url: format!("http://127.0.0.1:{port}"),
            child: None,
            env,
            node_account,
        };
        node.spawn();
        node
    }

    /// Starts the node process and waits until its API answers as this node; moves it to
    /// another port if something else took its port meanwhile.
    pub fn spawn(&mut self) {
        for _ in 0..5 {
            let log_start = self.log().len();
            self.launch();
            match self.wait_ready(log_start) {
                Started::Ready => return,
                Started::PortTaken => self.move_to_new_port(),
            }
        }
        panic!("node could not get a free API port in 5 attempts; log:\n{}", self.log());
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("node.log"))
            .unwrap();
        let child = vigil()
            .args(["node", "--config"])
            .arg(self.dir.path().join("config.toml"))
            .env("RUST_LOG", "info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Polls `/v1/status` until it names this node's account; `log_start` is where this start's
    /// log begins. Plain std I/O: callers may be inside an async runtime.
    fn wait_ready(&mut self, log_start: usize) -> Started {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let child = self.child.as_mut().expect("launched");
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                let log = self.log();
                if log.get(log_start..).unwrap_or_default().contains("Address already in use") {
                    return Started::PortTaken;
                }
                panic!("node exited at start ({status}); log:\n{log}");
            }
            if self.status_text().is_some_and(|s| s.contains(&self.node_account)) {
                return Started::Ready;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node did not start; log:\n{}", self.log());
    }

    /// The raw answer to `GET /v1/status`, if anything answers on the node's port.
    fn status_text(&self) -> Option<String> {
        use std::io::{Read, Write};
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(stream, "GET /v1/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    }

    /// Rewrites the config's API address to a new free port.
    fn move_to_new_port(&mut self) {
        let old = self.url.trim_start_matches("http://").to_owned();
        let new = format!("127.0.0.1:{}", free_port());
        let path = self.dir.path().join("config.toml");
        let config = std::fs::read_to_string(&path).unwrap();
        let moved = config.replace(&format!("listen = \"{old}\""), &format!("listen = \"{new}\""));
        assert_ne!(moved, config, "config has no listen = \"{old}\"");
        std::fs::write(&path, moved).unwrap();
        self.url = format!("http://{new}");
    }

    /// The node process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    pub fn key_path(&self, name: &str) -> PathBuf {
        self.dir.path().join("keys").join(format!("{name}.key"))
    }

    pub fn key(&self, name: &str) -> Keypair {
        vigil_node::keyfile::read(&self.key_path(name), None).unwrap()
    }

    pub fn client(&self) -> Client {
        Client::new(&self.url)
    }

    /// Runs the CLI against this node.
    pub fn cli(&self, args: &[&str]) -> Output {
        vigil().arg("--node").arg(&self.url).args(args).output().unwrap()
    }

    /// Runs the CLI and parses its `--json` output, failing with stderr when it fails.
    pub fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.cli(&all);
        assert!(
            out.status.success(),
            "vigil {args:?} failed: {}\nnode log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        let started = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(10), "node did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `check` until it holds or `timeout` passes.
pub fn eventually(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < timeout {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// Held by the tests that measure time on a real chain (a pause in the exploit's block, alert
/// latencies) and by the ones that load the machine most (a TAXII server in Python): on two
/// cores they run one after another, the light tests beside them.
static TIMED: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Waits for the other timed or heavy tests (see [`TIMED`]) and holds them off until dropped.
pub fn one_timed_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    TIMED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The Python of the test venv (`VIGIL_PYTHON`), or `None` (the test skips, saying so) unless
/// `VIGIL_REQUIRE_TOOLS=1`.
pub fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("VIGIL_PYTHON") {
        return Some(p.into());
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "VIGIL_REQUIRE_TOOLS=1 but VIGIL_PYTHON is not set (run scripts/test.sh)"
    );
    eprintln!("SKIPPED: VIGIL_PYTHON is not set (scripts/test.sh sets up the venv)");
    None
}

/// The anvil binary for tests on a real chain; `None` (the test skips, saying so) when it is
/// absent, unless `VIGIL_REQUIRE_TOOLS=1`, when its absence fails the test.
pub fn anvil() -> Option<String> {
    if let Some(b) = vigil_chain::scenario::anvil_binary() {
        return Some(b);
    }
    assert!(
        std::env::var("VIGIL_REQUIRE_TOOLS").ok().as_deref() != Some("1"),
        "anvil is required (VIGIL_REQUIRE_TOOLS=1): set VIGIL_ANVIL"
    );
    eprintln!("SKIP: anvil not found (set VIGIL_ANVIL or run scripts/test.sh)");
    None
}

/// A node's shared state over a fresh redb file in `dir`, with one funded validator (key from
/// `seed`) on `chain`: for driving the HTTP router in-process, without a socket.
pub fn in_process_state(
    dir: &std::path::Path,
    chain: &str,
    seed: u8,
) -> std::sync::Arc<vigil_node::app::NodeState> {
    let key = Keypair::from_seed(&[seed; 32]);
    let genesis = Genesis {
        chain_id: chain.parse().unwrap(),
        genesis_time: 0,
        params: Default::default(),
        treasury: Amount::vgl(1),
        reward_pool: Amount::ZERO,
        accounts: vec![GenesisAccount {
            account: key.account_id(),
            balance: Amount::vgl(1),
            bonded: Amount::vgl(1),
            validator: true,
        }],
    };
    let store = vigil_node::store::RedbStore::open(&dir.join("db.redb")).unwrap();
    let ledger = vigil_ledger::Ledger::open(store, &genesis).unwrap();
    let mempool = vigil_node::mempool::Mempool::new(10, 1 << 20);
    vigil_node::app::NodeState::new(ledger, mempool, key.account_id())
}
