//! The test contracts of crates/chain/contracts, deployed per its README's recipe.

use alloy::primitives::{Address, U256, address};
use alloy::sol_types::{SolCall, SolValue};
use vigil_core::EvmAddress;
use vigil_detect::config::ProtectedContract;

use crate::anvil::Anvil;

alloy::sol! {
    function mint(address to, uint256 amount);
    function approve(address spender, uint256 amount) returns (bool);
    function transfer(address to, uint256 amount) returns (bool);
    function addLiquidity(uint256 amount0, uint256 amount1, address to) returns (uint256);
    function token0() returns (address);
    function deposit(uint256 amount);
    function withdraw(uint256 amount);
    function addGuardian(address guardian);
    function attack(uint256 flashAmount, uint256 swapAmount) returns (uint256);
    function propose(address[] targets, uint256[] values, bytes[] calldatas, string description) returns (uint256);
    function transferOwnership(address newOwner);
    function pause();
}

pub const DEPLOYER: Address = address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
pub const GUARDIAN: Address = address!("3C44CdDdB6a900fa2b585dd299e03d12FA4293BC");
/// A fresh EOA (never used before the attack), funded with 10 ETH by the deployer.
pub const ATTACKER: Address = address!("a77ac4e2a77ac4e2a77ac4e2a77ac4e2a77ac4e2");

pub fn e18(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

pub fn ev(a: Address) -> EvmAddress {
    EvmAddress(a.into_array())
}

fn artifact(name: &str) -> Vec<u8> {
    let path = format!("{}/contracts/out/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).expect("artifact JSON");
    let hex = json["bytecode"].as_str().expect("bytecode");
    alloy::hex::decode(hex).expect("bytecode hex")
}

async fn deploy(anvil: &Anvil, from: Address, name: &str, args: Vec<u8>) -> Address {
    let mut code = artifact(name);
    code.extend(args);
    anvil.exec(from, None, U256::ZERO, code).await.expect("contract address")
}

pub struct Deployment {
    pub usdx: Address,
    pub pair: Address,
    pub lender: Address,
    pub vault: Address,
    pub governor: Address,
}

impl Deployment {
    /// The detector configuration protecting the vault.
    pub fn protected(&self) -> Vec<ProtectedContract> {
        vec![ProtectedContract { name: "LendingVault".into(), address: ev(self.vault) }]
    }
}

/// Deploys and sets up everything (README recipe, steps 0–6 and 1–6 of the setup).
pub async fn setup(anvil: &Anvil) -> Deployment {
    let d = DEPLOYER;
    let usdx = deploy(
        anvil,
        d,
        "TestToken",
        ("Vigil USD".to_string(), "USDX".to_string()).abi_encode_params(),
    )
    .await;
    let wethx = deploy(
        anvil,
        d,
        "TestToken",
        ("Vigil Wrapped Ether".to_string(), "WETHX".to_string()).abi_encode_params(),
    )
    .await;
    let pair = deploy(anvil, d, "SimplePair", (usdx, wethx).abi_encode_params()).await;
    let lender = deploy(anvil, d, "FlashLender", vec![]).await;
    let vault = deploy(
        anvil,
        d,
        "LendingVault",
        (usdx, wethx, pair, U256::from(7_500)).abi_encode_params(),
    )
    .await;
    let governor =
        deploy(anvil, d, "SimpleGovernor", (U256::from(1), U256::from(50)).abi_encode_params())
            .await;
    assert_eq!(
        usdx,
        address!("5FbDB2315678afecb367f032d93F642f64180aa3"),
        "fresh chain, recipe addresses"
    );
    assert_eq!(vault, address!("Dc64a140Aa3E981100a9becA4E685f962f0cF6C9"));

    let call = |c: Vec<u8>| c;
    anvil
        .exec(
            d,
            Some(usdx),
            U256::ZERO,
            call(mintCall { to: d, amount: e18(1_100_000) }.abi_encode()),
        )
        .await;
    anvil
        .exec(d, Some(wethx), U256::ZERO, call(mintCall { to: d, amount: e18(100) }.abi_encode()))
        .await;
    anvil
        .exec(
            d,
            Some(usdx),
            U256::ZERO,
            approveCall { spender: pair, amount: e18(100_000) }.abi_encode(),
        )
        .await;
    anvil
        .exec(
            d,
            Some(wethx),
            U256::ZERO,
            approveCall { spender: pair, amount: e18(100) }.abi_encode(),
        )
        .await;
    // USDX is token0 on a fresh chain (lower address).
    anvil
        .exec(
            d,
            Some(pair),
            U256::ZERO,
            addLiquidityCall { amount0: e18(100_000), amount1: e18(100), to: d }.abi_encode(),
        )
        .await;
    anvil
        .exec(
            d,
            Some(usdx),
            U256::ZERO,
            approveCall { spender: vault, amount: e18(1_000_000) }.abi_encode(),
        )
        .await;
    anvil
        .exec(d, Some(vault), U256::ZERO, depositCall { amount: e18(1_000_000) }.abi_encode())
        .await;
    anvil
        .exec(
            d,
            Some(usdx),
            U256::ZERO,
            mintCall { to: lender, amount: e18(1_000_000) }.abi_encode(),
        )
        .await;
    anvil
        .exec(d, Some(vault), U256::ZERO, addGuardianCall { guardian: GUARDIAN }.abi_encode())
        .await;
    Deployment { usdx, pair, lender, vault, governor }
}

/// Funds and impersonates the fresh attacker EOA.
pub async fn fund_attacker(anvil: &Anvil) {
    anvil.exec(DEPLOYER, Some(ATTACKER), e18(10), vec![]).await;
    anvil.impersonate(ATTACKER).await;
}

/// The attacker deploys its contract (mined); returns its address.
pub async fn deploy_attacker(anvil: &Anvil, d: &Deployment) -> Address {
    deploy(anvil, ATTACKER, "Attacker", (d.lender, d.pair, d.vault).abi_encode_params()).await
}

/// `attack(350_000e18, 350_000e18)` calldata.
pub fn attack_calldata() -> Vec<u8> {
    attackCall { flashAmount: e18(350_000), swapAmount: e18(350_000) }.abi_encode()
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
