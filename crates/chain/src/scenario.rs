//! The demo protocol of `contracts/` on a development chain: a lending vault priced by a
//! manipulable AMM, a flash lender and an attacker contract (see `contracts/README.md`).
//! [`deploy_targets`] adds more victims (a reentrant ETH vault, a vault with an unprotected
//! initializer) and a second pair for a benign flash-loan arbitrage bot.
//!
//! [`DevChain`] runs a real anvil process on a free loopback port (no automatic mining, so
//! pending transactions can be watched), and [`deploy`] sets the scenario up with anvil's
//! unlocked development accounts. Used by tests, benchmarks and demos; nothing here is meant
//! for a production chain.

use std::process::Stdio;
use std::time::Duration;

use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, B256, Bytes, U256, address};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::sol_types::{SolCall, SolValue};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use vigil_core::EvmAddress;

/// Why the scenario could not be run.
#[derive(Debug, thiserror::Error)]
#[error("dev chain: {0}")]
pub struct ScenarioError(pub String);

fn err(e: impl std::fmt::Display) -> ScenarioError {
    ScenarioError(e.to_string())
}

/// Anvil's first development account: deploys everything.
pub const DEPLOYER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
/// Anvil's third development account: the vault's on-chain guardian (may pause/unpause).
pub const GUARDIAN: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
/// The guardian's private key: anvil's published development key #2 (never use it on a real
/// chain).
pub const GUARDIAN_DEV_KEY: &str =
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a";
/// A fresh EOA (never used before the attack), funded with 10 ETH by the deployer.
pub const ATTACKER: Address = address!("a77ac4e2a77ac4e2a77ac4e2a77ac4e2a77ac4e2");

alloy::sol! {
    function mint(address to, uint256 amount);
    function approve(address spender, uint256 amount) returns (bool);
    function addLiquidity(uint256 amount0, uint256 amount1, address to) returns (uint256);
    function deposit(uint256 amount);
    function withdraw(uint256 amount);
    function addGuardian(address guardian);
    function attack(uint256 flashAmount, uint256 swapAmount) returns (uint256);
    function aim(address fl, address amm, address target);
    function strike(uint256 loan, uint256 pump);
    function propose(address[] targets, uint256[] values, bytes[] calldatas, string description) returns (uint256);
    function transferOwnership(address newOwner);
    function paused() returns (bool);
    function balanceOf(address owner) returns (uint256);
    function initialize(address owner_);
    function arbitrage(uint256 amount) returns (uint256);
    function transfer(address to, uint256 amount) returns (bool);
    function swapExactIn(address tokenIn, uint256 amountIn, uint256 minOut, address to) returns (uint256);
    // Overloads of the names above, kept apart in their own namespaces.
    interface IEtherVault {
        function deposit() payable;
    }
    interface IOneShotAttacker {
        function attack() payable returns (uint256);
    }
}

/// The anvil binary: `VIGIL_ANVIL`, else `anvil` on PATH.
pub fn anvil_binary() -> Option<String> {
    if let Ok(path) = std::env::var("VIGIL_ANVIL") {
        return Some(path);
    }
    let on_path = std::process::Command::new("anvil")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    on_path.then(|| "anvil".into())
}

/// Kills the process group led by a process (spawned with `process_group(0)`) when dropped.
struct GroupKill(Option<u32>);

impl Drop for GroupKill {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            use nix::sys::signal::{Signal, killpg};
            // The group may already be gone: nothing to do then.
            let _ = killpg(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

/// A real anvil on a loopback port, killed when dropped — with its whole process group, since
/// `binary` may be a wrapper (the npm package's `anvil` is a Node.js script that spawns the real
/// binary, which killing the script alone would leave running).
pub struct DevChain {
    child: Child,
    /// Anvil's own process group, killed on drop after the child.
    _group: GroupKill,
    /// Its port.
    pub port: u16,
    /// A provider over HTTP.
    pub provider: DynProvider,
}

impl DevChain {
    /// Starts `binary` without automatic mining on `port` (0: any free one), chain id 31337.
    pub async fn start(binary: &str, port: u16) -> Result<Self, ScenarioError> {
        Self::start_on(binary, port, 31_337).await
    }

    /// Like [`DevChain::start`], with chain id `chain_id` (two chains of one test told apart).
    pub async fn start_on(binary: &str, port: u16, chain_id: u64) -> Result<Self, ScenarioError> {
        let mut command = Command::new(binary);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--no-mining"])
            .args(["--chain-id", &chain_id.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child =
            command.spawn().map_err(|e| ScenarioError(format!("cannot run {binary}: {e}")))?;
        // From here on, returning early (an error below) kills the group too.
        let group = GroupKill(child.id());
        let stdout = child.stdout.take().ok_or_else(|| err("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(addr) = line.strip_prefix("Listening on ") {
                    return addr.trim().rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
                }
            }
            None
        })
        .await
        .map_err(|_| err("anvil did not start within 20 s"))?
        .ok_or_else(|| err("anvil did not print its port"))?;
        // Keep draining stdout so anvil never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let provider = ProviderBuilder::new()
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .map_err(err)?
            .erased();
        Ok(Self { child, _group: group, port, provider })
    }

    /// Its HTTP URL.
    pub fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Its WebSocket URL.
    pub fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Mines one block with whatever is pending; returns the new head.
    pub async fn mine(&self) -> Result<u64, ScenarioError> {
        let _: String = self.provider.raw_request("evm_mine".into(), ()).await.map_err(err)?;
        self.provider.get_block_number().await.map_err(err)
    }

    /// Mines `n` blocks.
    pub async fn mine_n(&self, n: u64) -> Result<(), ScenarioError> {
        let _: () =
            self.provider.raw_request("anvil_mine".into(), (U256::from(n),)).await.map_err(err)?;
        Ok(())
    }

    /// The head block number.
    pub async fn head(&self) -> Result<u64, ScenarioError> {
        self.provider.get_block_number().await.map_err(err)
    }

    /// Sends a transaction from an unlocked (or impersonated) account, without mining it.
    pub async fn send(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
        gas: u64,
    ) -> Result<B256, ScenarioError> {
        let mut req = TransactionRequest::default()
            .from(from)
            .value(value)
            .input(Bytes::from(data).into())
            .gas_limit(gas);
        req = match to {
            Some(to) => req.to(to),
            None => req.into_create(),
        };
        let pending = self.provider.send_transaction(req).await.map_err(err)?;
        Ok(*pending.tx_hash())
    }

    /// Sends and mines; an error if it reverted. Returns the created contract's address, if any.
    pub async fn exec(
        &self,
        from: Address,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Option<Address>, ScenarioError> {
        let hash = self.send(from, to, value, data, 8_000_000).await?;
        self.mine().await?;
        let receipt = self
            .provider
            .get_transaction_receipt(hash)
            .await
            .map_err(err)?
            .ok_or_else(|| ScenarioError(format!("transaction {hash} was not mined")))?;
        if !receipt.status() {
            return Err(ScenarioError(format!("transaction {hash} reverted")));
        }
        Ok(receipt.contract_address)
    }

    /// Lets `who` send unsigned transactions.
    pub async fn impersonate(&self, who: Address) -> Result<(), ScenarioError> {
        let _: () = self
            .provider
            .raw_request("anvil_impersonateAccount".into(), (who,))
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Takes a state snapshot.
    pub async fn snapshot(&self) -> Result<U256, ScenarioError> {
        self.provider.raw_request("evm_snapshot".into(), ()).await.map_err(err)
    }

    /// Returns to a snapshot.
    pub async fn revert(&self, id: U256) -> Result<(), ScenarioError> {
        let ok: bool = self.provider.raw_request("evm_revert".into(), (id,)).await.map_err(err)?;
        if ok { Ok(()) } else { Err(err("evm_revert failed")) }
    }

    /// Whether a Pausable contract is paused.
    pub async fn is_paused(&self, contract: Address) -> Result<bool, ScenarioError> {
        let req = TransactionRequest::default()
            .to(contract)
            .input(Bytes::from(pausedCall {}.abi_encode()).into());
        let out = self.provider.call(req).await.map_err(err)?;
        pausedCall::abi_decode_returns(&out).map_err(err)
    }

    /// Simulates a call; `Err` carries the revert data's text when it reverts.
    pub async fn simulate(
        &self,
        from: Address,
        to: Address,
        data: Vec<u8>,
    ) -> Result<Bytes, ScenarioError> {
        let req = TransactionRequest::default().from(from).to(to).input(Bytes::from(data).into());
        self.provider.call(req).await.map_err(err)
    }

    /// Mines a block every `secs` seconds from now on, with whatever is pending then (anvil
    /// orders it by fee): exploits wait in the mempool, as on a real chain.
    pub async fn set_block_time(&self, secs: u64) -> Result<(), ScenarioError> {
        let _: () = self
            .provider
            .raw_request("evm_setIntervalMining".into(), (secs,))
            .await
            .map_err(err)?;
        Ok(())
    }

    /// Mines each transaction as soon as it arrives (or stops doing so).
    pub async fn set_automine(&self, on: bool) -> Result<(), ScenarioError> {
        let _: () =
            self.provider.raw_request("evm_setAutomine".into(), (on,)).await.map_err(err)?;
        Ok(())
    }

    /// `balanceOf(holder)` of an ERC-20 token.
    pub async fn token_balance(
        &self,
        token: Address,
        holder: Address,
    ) -> Result<U256, ScenarioError> {
        let req = TransactionRequest::default()
            .to(token)
            .input(Bytes::from(balanceOfCall { owner: holder }.abi_encode()).into());
        let out = self.provider.call(req).await.map_err(err)?;
        balanceOfCall::abi_decode_returns(&out).map_err(err)
    }

    /// Stops anvil.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// `n` whole tokens of 18 decimals.
pub fn e18(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

/// An alloy address as a Vigil address.
pub fn ev(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

const ARTIFACTS: [(&str, &str); 12] = [
    ("TestToken", include_str!("../contracts/out/TestToken.json")),
    ("SimplePair", include_str!("../contracts/out/SimplePair.json")),
    ("FlashLender", include_str!("../contracts/out/FlashLender.json")),
    ("LendingVault", include_str!("../contracts/out/LendingVault.json")),
    ("Attacker", include_str!("../contracts/out/Attacker.json")),
    ("CopycatAttacker", include_str!("../contracts/out/CopycatAttacker.json")),
    ("SimpleGovernor", include_str!("../contracts/out/SimpleGovernor.json")),
    ("EtherVault", include_str!("../contracts/out/EtherVault.json")),
    ("ReentrancyAttacker", include_str!("../contracts/out/ReentrancyAttacker.json")),
    ("TakeoverVault", include_str!("../contracts/out/TakeoverVault.json")),
    ("TakeoverAttacker", include_str!("../contracts/out/TakeoverAttacker.json")),
    ("Arbitrageur", include_str!("../contracts/out/Arbitrageur.json")),
];

/// The creation bytecode of a compiled contract of `contracts/`.
pub fn bytecode(name: &str) -> Result<Vec<u8>, ScenarioError> {
    let (_, json) = ARTIFACTS
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ScenarioError(format!("no artifact {name}")))?;
    let json: serde_json::Value = serde_json::from_str(json).map_err(err)?;
    let hex = json["bytecode"].as_str().ok_or_else(|| err("artifact without bytecode"))?;
    alloy::hex::decode(hex).map_err(err)
}

async fn deploy_contract(
    chain: &DevChain,
    from: Address,
    name: &str,
    args: Vec<u8>,
) -> Result<Address, ScenarioError> {
    let mut code = bytecode(name)?;
    code.extend(args);
    chain
        .exec(from, None, U256::ZERO, code)
        .await?
        .ok_or_else(|| ScenarioError(format!("{name} was not created")))
}

/// The deployed scenario.
#[derive(Clone, Copy, Debug)]
pub struct Deployment {
    /// The stable token the vault lends.
    pub usdx: Address,
    /// The token the vault takes as collateral (the pair's other token).
    pub wethx: Address,
    /// The AMM pair pricing the collateral.
    pub pair: Address,
    /// The flash lender.
    pub lender: Address,
    /// The protected lending vault (Pausable; `GUARDIAN` may pause it).
    pub vault: Address,
    /// A governor.
    pub governor: Address,
}

impl Deployment {
    /// The detector configuration protecting the vault.
    pub fn protected(&self) -> Vec<vigil_detect::config::ProtectedContract> {
        vec![vigil_detect::config::ProtectedContract {
            name: "LendingVault".into(),
            address: ev(self.vault),
            max_loss_bps: None,
        }]
    }
}

/// Deploys and sets up everything per `contracts/README.md`: 1,000,000 USDX in the vault,
/// 100,000 USDX / 100 WETHX in the pair, 1,000,000 USDX in the flash lender, `GUARDIAN` added.
pub async fn deploy(chain: &DevChain) -> Result<Deployment, ScenarioError> {
    let d = DEPLOYER;
    let token =
        |name: &str, symbol: &str| (name.to_string(), symbol.to_string()).abi_encode_params();
    let usdx = deploy_contract(chain, d, "TestToken", token("Vigil USD", "USDX")).await?;
    let wethx =
        deploy_contract(chain, d, "TestToken", token("Vigil Wrapped Ether", "WETHX")).await?;
    let pair = deploy_contract(chain, d, "SimplePair", (usdx, wethx).abi_encode_params()).await?;
    let lender = deploy_contract(chain, d, "FlashLender", vec![]).await?;
    let vault = deploy_contract(
        chain,
        d,
        "LendingVault",
        (usdx, wethx, pair, U256::from(7_500)).abi_encode_params(),
    )
    .await?;
    let governor = deploy_contract(
        chain,
        d,
        "SimpleGovernor",
        (U256::from(1), U256::from(50)).abi_encode_params(),
    )
    .await?;
    let calls: Vec<(Address, Vec<u8>)> = vec![
        (usdx, mintCall { to: d, amount: e18(1_100_000) }.abi_encode()),
        (wethx, mintCall { to: d, amount: e18(100) }.abi_encode()),
        (usdx, approveCall { spender: pair, amount: e18(100_000) }.abi_encode()),
        (wethx, approveCall { spender: pair, amount: e18(100) }.abi_encode()),
        // USDX is token0 on a fresh chain (lower address).
        (pair, addLiquidityCall { amount0: e18(100_000), amount1: e18(100), to: d }.abi_encode()),
        (usdx, approveCall { spender: vault, amount: e18(1_000_000) }.abi_encode()),
        (vault, depositCall { amount: e18(1_000_000) }.abi_encode()),
        (usdx, mintCall { to: lender, amount: e18(1_000_000) }.abi_encode()),
        (vault, addGuardianCall { guardian: GUARDIAN }.abi_encode()),
    ];
    for (to, data) in calls {
        chain.exec(d, Some(to), U256::ZERO, data).await?;
    }
    Ok(Deployment { usdx, wethx, pair, lender, vault, governor })
}

/// The deployer lends `amount` more USDX to the vault (mints, approves, deposits; mined).
pub async fn refill_vault(
    chain: &DevChain,
    d: &Deployment,
    amount: U256,
) -> Result<(), ScenarioError> {
    chain
        .exec(DEPLOYER, Some(d.usdx), U256::ZERO, mintCall { to: DEPLOYER, amount }.abi_encode())
        .await?;
    chain
        .exec(
            DEPLOYER,
            Some(d.usdx),
            U256::ZERO,
            approveCall { spender: d.vault, amount }.abi_encode(),
        )
        .await?;
    chain.exec(DEPLOYER, Some(d.vault), U256::ZERO, depositCall { amount }.abi_encode()).await?;
    Ok(())
}

/// Funds and impersonates the fresh attacker EOA.
pub async fn fund_attacker(chain: &DevChain) -> Result<(), ScenarioError> {
    chain.exec(DEPLOYER, Some(ATTACKER), e18(10), vec![]).await?;
    chain.impersonate(ATTACKER).await
}

/// The attacker deploys its contract (mined); returns its address.
pub async fn deploy_attacker(chain: &DevChain, d: &Deployment) -> Result<Address, ScenarioError> {
    deploy_contract(chain, ATTACKER, "Attacker", (d.lender, d.pair, d.vault).abi_encode_params())
        .await
}

/// A second attacker's own rewrite of the exploit (`CopycatAttacker`: other code, other entry
/// point, the same calls), deployed by `from` and aimed at `d`'s vault (both mined); returns
/// its address. `from` must be funded and impersonated.
pub async fn deploy_copycat(
    chain: &DevChain,
    d: &Deployment,
    from: Address,
) -> Result<Address, ScenarioError> {
    let copycat = deploy_contract(chain, from, "CopycatAttacker", vec![]).await?;
    let aim = aimCall { fl: d.lender, amm: d.pair, target: d.vault }.abi_encode();
    chain.exec(from, Some(copycat), U256::ZERO, aim).await?;
    Ok(copycat)
}

/// `strike(350_000e18, 350_000e18)` calldata: the copycat's attack.
pub fn copycat_calldata() -> Vec<u8> {
    strikeCall { loan: e18(350_000), pump: e18(350_000) }.abi_encode()
}

/// `addGuardian(guardian)` calldata (the vault's owner adds a guardian who may pause it).
pub fn add_guardian_calldata(guardian: Address) -> Vec<u8> {
    addGuardianCall { guardian }.abi_encode()
}

/// `attack(350_000e18, 350_000e18)` calldata.
pub fn attack_calldata() -> Vec<u8> {
    attackCall { flashAmount: e18(350_000), swapAmount: e18(350_000) }.abi_encode()
}

/// `withdraw(amount)` calldata for the vault.
pub fn withdraw_calldata(amount: U256) -> Vec<u8> {
    withdrawCall { amount }.abi_encode()
}

/// A hostile proposal: hand the vault's ownership to the attacker.
pub fn hostile_proposal(d: &Deployment) -> Vec<u8> {
    proposeCall {
        targets: vec![d.vault],
        values: vec![U256::ZERO],
        calldatas: vec![transferOwnershipCall { newOwner: ATTACKER }.abi_encode().into()],
        description: "Transfer vault ownership\nRoutine maintenance.".into(),
    }
    .abi_encode()
}

/// The extra victims of [`deploy_targets`] and the second pair of the arbitrage.
#[derive(Clone, Copy, Debug)]
pub struct Targets {
    /// The reentrant ETH bank (Pausable; `GUARDIAN` may pause it), holding 100 ETH of the
    /// deployer.
    pub ether_vault: Address,
    /// The USDX vault with an unprotected `initialize` (Pausable; `GUARDIAN` may pause it),
    /// owned by and holding 500,000 USDX of the deployer.
    pub takeover_vault: Address,
    /// A second USDX/WETHX pair at 1,050 USDX/WETHX (105,000 / 100), 5% above the first one.
    pub pair_b: Address,
}

/// Deploys the extra targets of `contracts/README.md` from `DEPLOYER` (all mined), after
/// [`deploy`]: an `EtherVault` with `GUARDIAN` added and 100 ETH deposited; a
/// `TakeoverVault(USDX, GUARDIAN)` legitimately initialized to `DEPLOYER`, with 500,000 USDX
/// deposited; and a second `SimplePair` of USDX/WETHX seeded with 105,000 USDX / 100 WETHX.
pub async fn deploy_targets(chain: &DevChain, d: &Deployment) -> Result<Targets, ScenarioError> {
    let me = DEPLOYER;
    let ether_vault = deploy_contract(chain, me, "EtherVault", vec![]).await?;
    chain
        .exec(
            me,
            Some(ether_vault),
            U256::ZERO,
            addGuardianCall { guardian: GUARDIAN }.abi_encode(),
        )
        .await?;
    chain.exec(me, Some(ether_vault), e18(100), ether_deposit_calldata()).await?;

    let takeover_vault =
        deploy_contract(chain, me, "TakeoverVault", (d.usdx, GUARDIAN).abi_encode_params()).await?;
    let calls: Vec<(Address, Vec<u8>)> = vec![
        (takeover_vault, initializeCall { owner_: me }.abi_encode()),
        (d.usdx, mint_calldata(me, e18(500_000))),
        (d.usdx, approve_calldata(takeover_vault, e18(500_000))),
        (takeover_vault, deposit_calldata(e18(500_000))),
    ];
    for (to, data) in calls {
        chain.exec(me, Some(to), U256::ZERO, data).await?;
    }

    // Same sorted tokens as `d.pair`: USDX is token0 on a fresh chain.
    let pair_b =
        deploy_contract(chain, me, "SimplePair", (d.usdx, d.wethx).abi_encode_params()).await?;
    let calls: Vec<(Address, Vec<u8>)> = vec![
        (d.usdx, mint_calldata(me, e18(105_000))),
        (d.wethx, mint_calldata(me, e18(100))),
        (d.usdx, approve_calldata(pair_b, e18(105_000))),
        (d.wethx, approve_calldata(pair_b, e18(100))),
        (
            pair_b,
            addLiquidityCall { amount0: e18(105_000), amount1: e18(100), to: me }.abi_encode(),
        ),
    ];
    for (to, data) in calls {
        chain.exec(me, Some(to), U256::ZERO, data).await?;
    }
    Ok(Targets { ether_vault, takeover_vault, pair_b })
}

/// The attacker deploys its `ReentrancyAttacker` against the ETH vault (mined; fund and
/// impersonate it first with [`fund_attacker`]); returns its address.
pub async fn deploy_reentrancy_attacker(
    chain: &DevChain,
    t: &Targets,
) -> Result<Address, ScenarioError> {
    deploy_contract(chain, ATTACKER, "ReentrancyAttacker", t.ether_vault.abi_encode()).await
}

/// The attacker deploys its `TakeoverAttacker` against the takeover vault (mined; fund and
/// impersonate it first with [`fund_attacker`]); returns its address.
pub async fn deploy_takeover_attacker(
    chain: &DevChain,
    t: &Targets,
) -> Result<Address, ScenarioError> {
    deploy_contract(chain, ATTACKER, "TakeoverAttacker", t.takeover_vault.abi_encode()).await
}

/// `from` (an unlocked or impersonated account, then its owner) deploys the benign
/// `Arbitrageur(lender, pair, pair_b)` (mined); returns its address.
pub async fn deploy_arbitrageur(
    chain: &DevChain,
    d: &Deployment,
    t: &Targets,
    from: Address,
) -> Result<Address, ScenarioError> {
    deploy_contract(chain, from, "Arbitrageur", (d.lender, d.pair, t.pair_b).abi_encode_params())
        .await
}

/// The ETH to send with [`reentrancy_attack_calldata`]: 1 ETH, the chunk of every withdrawal.
pub const REENTRANCY_BAIT: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

/// A gas limit that lets the reentrancy attack drain the vault. The 101 nested withdrawals of
/// the 100 ETH vault use about 1.14M gas, but each call frame keeps back 1/64 of the gas it
/// has, so anvil estimates 6.88M, a 3M limit makes the attack revert (out of gas at the
/// bottom), and a vault holding a few more ETH needs more still.
pub const REENTRANCY_ATTACK_GAS: u64 = 25_000_000;

/// `attack()` calldata for the `ReentrancyAttacker`: send it with [`REENTRANCY_BAIT`] (1 ETH) as
/// the value and [`REENTRANCY_ATTACK_GAS`].
pub fn reentrancy_attack_calldata() -> Vec<u8> {
    IOneShotAttacker::attackCall {}.abi_encode()
}

/// `attack()` calldata for the `TakeoverAttacker` (no value; the same bytes as
/// [`reentrancy_attack_calldata`]).
pub fn takeover_attack_calldata() -> Vec<u8> {
    IOneShotAttacker::attackCall {}.abi_encode()
}

/// `arbitrage(amount)` calldata for the `Arbitrageur` (1,000 USDX earns about 22.83 USDX; 3,000
/// cannot repay the loan and reverts).
pub fn arbitrage_calldata(amount: U256) -> Vec<u8> {
    arbitrageCall { amount }.abi_encode()
}

/// `deposit()` calldata for the ETH vault (payable: the value is the deposit).
pub fn ether_deposit_calldata() -> Vec<u8> {
    IEtherVault::depositCall {}.abi_encode()
}

/// `withdraw(amount)` calldata for the ETH vault (wei).
pub fn ether_withdraw_calldata(amount: U256) -> Vec<u8> {
    withdrawCall { amount }.abi_encode()
}

/// ERC20 `transfer(to, amount)` calldata.
pub fn token_transfer_calldata(to: Address, amount: U256) -> Vec<u8> {
    transferCall { to, amount }.abi_encode()
}

/// `swapExactIn(token_in, amount_in, min_out, to)` calldata for a `SimplePair` (approve the pair
/// for `amount_in` of `token_in` first).
pub fn swap_exact_in_calldata(
    token_in: Address,
    amount_in: U256,
    min_out: U256,
    to: Address,
) -> Vec<u8> {
    swapExactInCall { tokenIn: token_in, amountIn: amount_in, minOut: min_out, to }.abi_encode()
}

/// ERC20 `approve(spender, amount)` calldata.
pub fn approve_calldata(spender: Address, amount: U256) -> Vec<u8> {
    approveCall { spender, amount }.abi_encode()
}

/// `TestToken.mint(to, amount)` calldata (the deployer owns both tokens).
pub fn mint_calldata(to: Address, amount: U256) -> Vec<u8> {
    mintCall { to, amount }.abi_encode()
}

/// `deposit(amount)` calldata for the token vaults (`LendingVault`, `TakeoverVault`; approve
/// first).
pub fn deposit_calldata(amount: U256) -> Vec<u8> {
    depositCall { amount }.abi_encode()
}
