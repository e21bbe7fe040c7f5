//! The test contracts of crates/chain/contracts, deployed per its README's recipe by
//! vigil_chain::scenario; the calls tests make themselves.

use alloy::primitives::Address;

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

pub use vigil_chain::scenario::{
    ATTACKER, DEPLOYER, Deployment, GUARDIAN, attack_calldata, e18, ev, hostile_proposal,
};

/// Deploys and sets up everything (README recipe).
pub async fn setup(anvil: &Anvil) -> Deployment {
    let d = vigil_chain::scenario::deploy(&anvil.chain).await.expect("deploy the scenario");
    assert_eq!(
        d.usdx,
        alloy::primitives::address!("5FbDB2315678afecb367f032d93F642f64180aa3"),
        "fresh chain, recipe addresses"
    );
    assert_eq!(d.vault, alloy::primitives::address!("Dc64a140Aa3E981100a9becA4E685f962f0cF6C9"));
    d
}

/// Funds and impersonates the fresh attacker EOA.
pub async fn fund_attacker(anvil: &Anvil) {
    vigil_chain::scenario::fund_attacker(&anvil.chain).await.expect("fund the attacker")
}

/// The attacker deploys its contract (mined); returns its address.
pub async fn deploy_attacker(anvil: &Anvil, d: &Deployment) -> Address {
    vigil_chain::scenario::deploy_attacker(&anvil.chain, d).await.expect("deploy the attacker")
}
