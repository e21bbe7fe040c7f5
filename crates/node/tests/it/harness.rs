//! Starts real `vigil node` processes on free loopback ports with a fast test genesis.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use vigil_core::{AccountId, Amount, Keypair};
use vigil_ledger::{Genesis, GenesisAccount, Params};
use vigil_node::client::Client;

pub const NAMES: [&str; 5] = ["node", "alice", "bob", "carol", "dave"];

pub fn vigil() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigil"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub struct TestNode {
    pub dir: TempDir,
    pub url: String,
    child: Option<Child>,
    env: Vec<(String, String)>,
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
        for name in NAMES {
            let path = keys.join(format!("{name}.key"));
            let out = vigil().args(["key", "new", "--out"]).arg(&path).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let shown = vigil().args(["key", "show", "--key"]).arg(&path).output().unwrap();
            let account: AccountId =
                String::from_utf8(shown.stdout).unwrap().trim().parse().unwrap();
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
        let mut node = TestNode { dir, url: format!("http://127.0.0.1:{port}"), child: None, env };
        node.spawn();
        node
    }

    pub fn spawn(&mut self) {
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
        self.wait_ready();
    }

    fn wait_ready(&self) {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if std::net::TcpStream::connect(self.url.trim_start_matches("http://")).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("node did not start; log:\n{}", self.log());
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
