//! A real anvil on a free loopback port, killed when dropped.

use std::process::Stdio;
use std::time::Duration;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The anvil binary: `VIGIL_ANVIL`, else `anvil` on PATH; `None` (test skipped) when absent,
/// unless `VIGIL_REQUIRE_TOOLS=1`.
pub fn binary() -> Option<String> {
    if let Ok(path) = std::env::var("VIGIL_ANVIL") {
        return Some(path);
    }
    let on_path = std::process::Command::new("anvil")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if on_path {
        return Some("anvil".into());
    }
    if std::env::var("VIGIL_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!(
            "anvil is required (VIGIL_REQUIRE_TOOLS=1) but neither VIGIL_ANVIL nor `anvil` on PATH is set"
        );
    }
    eprintln!("SKIP: anvil not found (set VIGIL_ANVIL or run scripts/test.sh)");
    None
}

pub struct Anvil {
    child: Child,
    pub port: u16,
    pub provider: DynProvider,
}

impl Anvil {
    /// Starts anvil with `--no-mining` (blocks are mined on request) on `port` (0: any free one).
    pub async fn start(port: u16) -> Option<Self> {
        let bin = binary()?;
        let mut child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--no-mining"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn anvil");
        let stdout = child.stdout.take().expect("anvil stdout");
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Some(line) = lines.next_line().await.expect("read anvil stdout") {
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    return addr.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .expect("anvil did not start within 20s")
        .expect("anvil did not print its port");
        // Keep draining stdout so anvil never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let provider = ProviderBuilder::new()
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("connect")
            .erased();
        Some(Self { child, port, provider })
    }

    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Mines one block with whatever is pending.
    pub async fn mine(&self) -> u64 {
        let _: String = self.provider.raw_request("evm_mine".into(), ()).await.expect("evm_mine");
        self.provider.get_block_number().await.expect("block number")
    }

    /// Mines `n` empty-or-not blocks.
    pub async fn mine_n(&self, n: u64) {
        let _: () = self
            .provider
            .raw_request("anvil_mine".into(), (U256::from(n),))
            .await
            .expect("anvil_mine");
    }

    pub async fn head(&self) -> u64 {
        self.provider.get_block_number().await.expect("block number")
    }

    /// Sends a transaction from an unlocked (or impersonated) account; not mined.
    pub async fn send(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
        gas: u64,
    ) -> B256 {
        let mut req = TransactionRequest::default()
            .from(from)
            .value(value)
            .input(Bytes::from(data).into())
            .gas_limit(gas);
        if let Some(to) = to {
            req = req.to(to);
        } else {
            req = req.into_create();
        }
        let pending = self.provider.send_transaction(req).await.expect("eth_sendTransaction");
        *pending.tx_hash()
    }

    /// Sends and mines; panics if it reverted. Returns the receipt's contract address, if any.
    pub async fn exec(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
    ) -> Option<Address> {
        let hash = self.send(from, to, value, data, 8_000_000).await;
        self.mine().await;
        let receipt =
            self.provider.get_transaction_receipt(hash).await.expect("receipt").expect("mined");
        assert!(receipt.status(), "transaction {hash} reverted");
        receipt.contract_address
    }

    pub async fn impersonate(&self, who: Address) {
        let _: () = self
            .provider
            .raw_request("anvil_impersonateAccount".into(), (who,))
            .await
            .expect("impersonate");
    }

    pub async fn snapshot(&self) -> U256 {
        self.provider.raw_request("evm_snapshot".into(), ()).await.expect("evm_snapshot")
    }

    pub async fn revert(&self, id: U256) {
        let ok: bool =
            self.provider.raw_request("evm_revert".into(), (id,)).await.expect("evm_revert");
        assert!(ok, "evm_revert failed");
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
