//! A real anvil on a free loopback port (vigil_chain::scenario::DevChain), with the test-side
//! conveniences: skip when absent, panic on failure.

use alloy::primitives::{Address, B256, U256};
use alloy::providers::DynProvider;
use vigil_chain::scenario::{DevChain, anvil_binary};

/// The anvil binary; `None` (test skipped) when absent, unless `VIGIL_REQUIRE_TOOLS=1`.
pub fn binary() -> Option<String> {
    if let Some(b) = anvil_binary() {
        return Some(b);
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
    pub chain: DevChain,
    pub provider: DynProvider,
}

impl Anvil {
    /// Starts anvil with `--no-mining` (blocks are mined on request) on `port` (0: any free one).
    pub async fn start(port: u16) -> Option<Self> {
        let chain = DevChain::start(&binary()?, port).await.expect("start anvil");
        Some(Self { provider: chain.provider.clone(), chain })
    }

    pub fn http(&self) -> String {
        self.chain.http()
    }

    pub fn ws(&self) -> String {
        self.chain.ws()
    }

    pub async fn mine(&self) -> u64 {
        self.chain.mine().await.expect("evm_mine")
    }

    pub async fn mine_n(&self, n: u64) {
        self.chain.mine_n(n).await.expect("anvil_mine")
    }

    pub async fn head(&self) -> u64 {
        self.chain.head().await.expect("block number")
    }

    pub async fn send(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
        gas: u64,
    ) -> B256 {
        self.chain.send(from, to, value, data, gas).await.expect("eth_sendTransaction")
    }

    pub async fn snapshot(&self) -> U256 {
        self.chain.snapshot().await.expect("evm_snapshot")
    }

    pub async fn revert(&self, id: U256) {
        self.chain.revert(id).await.expect("evm_revert")
    }

    pub async fn stop(self) {
        self.chain.stop().await
    }
}

/// A free loopback port from 10000–19999: below the kernel's ephemeral range, so no outgoing
/// connection holds it as its source port and no connection to it can meet itself while it is
/// free. Spread by process id and call, so the tests of one run ask for different ports.
pub fn free_port() -> u16 {
    static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    for _ in 0..1_000 {
        let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let offset = std::process::id().wrapping_mul(131).wrapping_add(call.wrapping_mul(7919));
        let port = 10_000 + u16::try_from(offset % 10_000).unwrap();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in 10000-19999");
}
