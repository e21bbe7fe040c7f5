//! Builders for constructed transactions, logs and blocks. Logs are ABI-encoded here with
//! alloy's `sol!`, independently of the decoder under test.

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use vigil_core::{B256, EvmAddress, EvmChainId};
use vigil_detect::{Block, BlockRef, CreatedContract, Log, Transaction};

pub mod abi {
    alloy_sol_types::sol! {
        event Transfer(address indexed from, address indexed to, uint256 value);
        event FlashLoan(
            address indexed target,
            address initiator,
            address indexed asset,
            uint256 amount,
            uint8 interestRateMode,
            uint256 premium,
            uint16 indexed referralCode
        );
        event LiquidationCall(
            address indexed collateralAsset,
            address indexed debtAsset,
            address indexed user,
            uint256 debtToCover,
            uint256 liquidatedCollateralAmount,
            address liquidator,
            bool receiveAToken
        );
        event ProposalCreated(
            uint256 proposalId,
            address proposer,
            address[] targets,
            uint256[] values,
            string[] signatures,
            bytes[] calldatas,
            uint256 voteStart,
            uint256 voteEnd,
            string description
        );
        function transfer(address to, uint256 amount);
        function transferOwnership(address newOwner);
        function pause();
        function upgradeTo(address implementation);
        function propose(address[] targets, uint256[] values, bytes[] calldatas, string description);
        function attack(uint256 flashAmount, uint256 swapAmount);
    }
}

pub const CHAIN: EvmChainId = EvmChainId(31337);

pub fn a(n: u8) -> EvmAddress {
    EvmAddress([n; 20])
}

pub fn al(e: EvmAddress) -> Address {
    Address::from(e.0)
}

pub fn h(n: u64) -> B256 {
    let mut b = [0u8; 32];
    b[24..].copy_from_slice(&n.to_be_bytes());
    B256(b)
}

pub fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

pub fn log_of(address: EvmAddress, data: alloy_primitives::LogData) -> Log {
    let topics = data.topics().iter().map(|t| B256(t.0)).collect();
    Log::new(address, topics, data.data)
}

pub fn transfer(token: EvmAddress, from: EvmAddress, to: EvmAddress, value: U256) -> Log {
    log_of(token, abi::Transfer { from: al(from), to: al(to), value }.encode_log_data())
}

pub fn flash_loan(pool: EvmAddress, target: EvmAddress, asset: EvmAddress, amount: U256) -> Log {
    let premium = amount * U256::from(5) / U256::from(10_000);
    log_of(
        pool,
        abi::FlashLoan {
            target: al(target),
            initiator: al(target),
            asset: al(asset),
            amount,
            interestRateMode: 0,
            premium,
            referralCode: 0,
        }
        .encode_log_data(),
    )
}

pub fn liquidation(pool: EvmAddress, debt_asset: EvmAddress, amount: U256) -> Log {
    log_of(
        pool,
        abi::LiquidationCall {
            collateralAsset: al(a(0xc0)),
            debtAsset: al(debt_asset),
            user: al(a(0xc1)),
            debtToCover: amount,
            liquidatedCollateralAmount: amount,
            liquidator: al(a(0xc2)),
            receiveAToken: false,
        }
        .encode_log_data(),
    )
}

/// A `ProposalCreated` with OZ-style actions (empty signatures).
pub fn proposal(
    governor: EvmAddress,
    proposer: EvmAddress,
    actions: &[(EvmAddress, U256, Vec<u8>)],
    description: &str,
) -> Log {
    log_of(
        governor,
        abi::ProposalCreated {
            proposalId: U256::from(77),
            proposer: al(proposer),
            targets: actions.iter().map(|x| al(x.0)).collect(),
            values: actions.iter().map(|x| x.1).collect(),
            signatures: actions.iter().map(|_| String::new()).collect(),
            calldatas: actions.iter().map(|x| Bytes::from(x.2.clone())).collect(),
            voteStart: U256::from(10),
            voteEnd: U256::from(60),
            description: description.into(),
        }
        .encode_log_data(),
    )
}

/// A transaction under construction.
pub struct TxB {
    pub hash: B256,
    pub from: EvmAddress,
    pub to: Option<EvmAddress>,
    pub value: U256,
    pub input: Vec<u8>,
}

impl TxB {
    pub fn new(n: u64) -> Self {
        Self { hash: h(n), from: a(0xee), to: Some(a(0xdd)), value: U256::ZERO, input: Vec::new() }
    }
    pub fn from(mut self, f: EvmAddress) -> Self {
        self.from = f;
        self
    }
    pub fn to(mut self, t: Option<EvmAddress>) -> Self {
        self.to = t;
        self
    }
    pub fn value(mut self, v: U256) -> Self {
        self.value = v;
        self
    }
    pub fn call(mut self, c: impl SolCall) -> Self {
        self.input = c.abi_encode();
        self
    }
    pub fn pending(self, seen_at: u64) -> Transaction {
        Transaction::pending(
            CHAIN,
            self.hash,
            self.from,
            self.to,
            self.value,
            0,
            self.input.into(),
            seen_at,
        )
    }
    pub fn mined(self, block: u64, logs: Vec<Log>) -> Transaction {
        self.mined_with(block, true, logs, None)
    }
    pub fn mined_with(
        self,
        block: u64,
        success: bool,
        logs: Vec<Log>,
        created: Option<CreatedContract>,
    ) -> Transaction {
        self.pending(0).into_mined(block_ref(block), 0, success, 21_000, logs, created)
    }
}

pub fn block_ref(n: u64) -> BlockRef {
    BlockRef { number: n, hash: h(1_000_000 + n), timestamp: 1_700_000_000 + 12 * n }
}

pub fn block(n: u64, transactions: Vec<Transaction>) -> Block {
    Block {
        chain: CHAIN,
        header: block_ref(n),
        parent_hash: h(1_000_000 + n - 1),
        transactions,
        balances: Vec::new(),
    }
}

pub fn created(address: EvmAddress, code: Vec<u8>) -> CreatedContract {
    CreatedContract { address, code_hash: Some(B256::keccak(&code)), code: code.into() }
}

/// Where ../shared/data is from this crate, if it is there.
pub fn shared_data() -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("SKIP: {} is absent; tests needing ../shared/data are skipped", p.display());
        None
    }
}
