//! Each built-in detector on constructed transactions: what fires, and what must not.

use alloy_primitives::U256;
use vigil_core::{AlertKind, Category, Indicator, Severity};
use vigil_detect::config::{
    FlashLoanConfig, FreshContractConfig, GovernanceConfig, IndicatorMatchConfig, OutflowConfig,
    ProtectedContract, VolumeConfig,
};
use vigil_detect::detector::{Balances, Protected};
use vigil_detect::detectors::*;
use vigil_detect::{
    Context, Detector, Effects, Finding, IndicatorIndex, IndicatorMeta, Transaction,
};

use crate::support::*;

const VAULT: u8 = 0x5a;
const TOKEN: u8 = 0x70;
const POOL: u8 = 0xa0;

struct World {
    index: IndicatorIndex,
    protected: Protected,
    balances: Balances,
    head: Option<u64>,
}

impl World {
    fn new() -> Self {
        Self {
            index: IndicatorIndex::new(),
            protected: Protected::new(&[ProtectedContract {
                name: "Vault".into(),
                address: a(VAULT),
                max_loss_bps: None,
            }]),
            balances: Balances::default(),
            head: None,
        }
    }
    fn cx<'a>(&'a self, effects: &'a Effects) -> Context<'a> {
        Context {
            indicators: &self.index,
            protected: &self.protected,
            balances: &self.balances,
            head: self.head,
            effects,
        }
    }
    fn run(&self, d: &mut dyn Detector, tx: &Transaction) -> Vec<Finding> {
        let mut out = Vec::new();
        let effects = Effects::of(tx);
        d.inspect(tx, &self.cx(&effects), &mut out);
        out
    }
}

// ---------------------------------------------------------------- indicator match

#[test]
fn indicator_match_flags_recipient_with_label_and_category() {
    let mut w = World::new();
    w.index
        .insert(
            &Indicator::address(a(0x66)),
            &IndicatorMeta::new(90, "feed:test")
                .with_label("Fake_Phishing1")
                .with_category(Category::Phishing),
        )
        .unwrap();
    let mut d = IndicatorMatch::new(IndicatorMatchConfig::default());
    let f = w.run(&mut d, &TxB::new(1).to(Some(a(0x66))).value(eth(1)).pending(5));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, AlertKind::Scam);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].confidence, 90);
    assert_eq!(f[0].labels, vec!["Fake_Phishing1".to_owned()]);
    assert_eq!(f[0].indicators, vec![Indicator::address(a(0x66))]);
    assert!(f[0].description.contains("recipient"), "{}", f[0].description);

    // A token transfer to the flagged address, seen only in calldata while pending.
    let tx = TxB::new(2)
        .to(Some(a(TOKEN)))
        .call(abi::transferCall { to: al(a(0x66)), amount: eth(5) })
        .pending(5);
    let f = w.run(&mut d, &tx);
    assert_eq!(f.len(), 1);
    assert!(f[0].description.contains("call argument"), "{}", f[0].description);

    // ... and in the Transfer log once mined.
    let tx = TxB::new(3)
        .to(Some(a(TOKEN)))
        .mined(10, vec![transfer(a(TOKEN), a(0xee), a(0x66), eth(5))]);
    assert_eq!(w.run(&mut d, &tx).len(), 1);

    // Nothing flagged: nothing.
    assert!(w.run(&mut d, &TxB::new(4).to(Some(a(0x67))).pending(5)).is_empty());
}

#[test]
fn indicator_match_covers_code_hash_selector_tx_and_confidence_floor() {
    let mut w = World::new();
    let code = vec![0x60, 0x00, 0x60, 0x00, 0xf3];
    let c = created(a(0x44), code);
    w.index
        .insert(&Indicator::CodeHash(c.code_hash.unwrap()), &IndicatorMeta::new(80, "s"))
        .unwrap();
    w.index.insert(&"selector:0xe1fa7638".parse().unwrap(), &IndicatorMeta::new(70, "s")).unwrap();
    w.index
        .insert(&Indicator::TxHash { chain: CHAIN, hash: h(9) }, &IndicatorMeta::new(60, "s"))
        .unwrap();
    w.index.insert(&Indicator::address(a(0x55)), &IndicatorMeta::new(10, "weak")).unwrap();
    let mut d = IndicatorMatch::new(IndicatorMatchConfig::default());

    let creation = TxB::new(1).to(None).mined_with(3, true, vec![], Some(c));
    assert!(w.run(&mut d, &creation)[0].indicators[0].to_string().starts_with("codehash:"));
    let call =
        TxB::new(2).call(abi::attackCall { flashAmount: eth(1), swapAmount: eth(1) }).pending(1);
    assert_eq!(w.run(&mut d, &call)[0].indicators[0].to_string(), "selector:0xe1fa7638");
    assert_eq!(w.run(&mut d, &TxB::new(9).pending(1)).len(), 1);
    // Below min_confidence (30): ignored.
    assert!(w.run(&mut d, &TxB::new(10).to(Some(a(0x55))).pending(1)).is_empty());
}

// ---------------------------------------------------------------- outflow

#[test]
fn outflow_over_the_window_trips_the_limit() {
    let mut w = World::new();
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(1_000));
    let mut d = OutflowRateLimit::new(OutflowConfig {
        window_secs: 3_600,
        max_outflow_bps: 2_000,
        enabled: true,
    });
    let out = |n: u64, block: u64, amount: u64| {
        TxB::new(n).mined(block, vec![transfer(a(TOKEN), a(VAULT), a(0x01), U256::from(amount))])
    };
    // 15 % out: under the 20 % limit.
    let t1 = out(1, 1, 150);
    assert!(w.run(&mut d, &t1).is_empty());
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(850));
    // 100 more: 250 of the 1000 the window opened with = 25 %.
    let f = w.run(&mut d, &out(2, 2, 100));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, AlertKind::Degraded);
    assert_eq!(f[0].severity, Severity::High);
    assert_eq!(f[0].metadata["outflow_bps"], "2500");
    assert_eq!(f[0].metadata["window_start_balance"], "1000");
    assert!(f[0].addresses.contains(&a(VAULT)));
    // An inflow within the window nets off: 250 out, 200 in.
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(750));
    let inflow = TxB::new(3).mined(3, vec![transfer(a(TOKEN), a(0x02), a(VAULT), U256::from(200))]);
    assert!(w.run(&mut d, &inflow).is_empty());
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(950));
    assert!(w.run(&mut d, &out(4, 4, 10)).is_empty(), "net 60 of 1000 is 6 %");
    // Two hours later the window has slid past all of it.
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(940));
    assert!(w.run(&mut d, &out(5, 700, 150)).is_empty(), "150 of 940 is 16 %");
    // Drained in one go: critical.
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(790));
    let f = w.run(&mut d, &out(6, 701, 790));
    assert_eq!(f[0].severity, Severity::Critical);
    // Unknown balance, unprotected holder, pending or reverted: nothing.
    let mut fresh = World::new();
    assert!(fresh.run(&mut d, &out(7, 702, 10_000)).is_empty());
    fresh.balances.observe(a(VAULT), a(TOKEN), U256::from(1));
    let reverted = TxB::new(8).mined_with(703, false, vec![], None);
    assert!(fresh.run(&mut d, &reverted).is_empty());
}

// ---------------------------------------------------------------- flash loan

fn attack_logs(profit_to_sender: u64, vault_out: u64) -> Vec<vigil_detect::Log> {
    let attacker = a(0xc0);
    vec![
        transfer(a(TOKEN), a(POOL), attacker, U256::from(350_000)),
        transfer(a(TOKEN), attacker, a(0x9a), U256::from(350_000)),
        transfer(a(TOKEN), a(VAULT), attacker, U256::from(vault_out)),
        transfer(a(TOKEN), attacker, a(POOL), U256::from(350_175)),
        transfer(a(TOKEN), attacker, a(0xee), U256::from(profit_to_sender)),
        flash_loan(a(POOL), attacker, a(TOKEN), U256::from(350_000)),
    ]
}

#[test]
fn flash_loan_with_profit_and_drain_is_an_exploit() {
    let mut w = World::new();
    w.balances.observe(a(VAULT), a(TOKEN), U256::from(1_000_000));
    let mut d = FlashLoanExploit::new(FlashLoanConfig::default());
    let tx = TxB::new(1).from(a(0xee)).to(Some(a(0xc0))).mined(5, attack_logs(649_825, 1_000_000));
    let f = w.run(&mut d, &tx);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, AlertKind::Exploit);
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(f[0].description.contains("profit of 649825"), "{}", f[0].description);
    assert!(f[0].description.contains("Vault"), "{}", f[0].description);
    assert!(f[0].addresses.contains(&a(VAULT)) && f[0].addresses.contains(&a(0xc0)));

    // An arbitrage: flash loan, tiny profit (0.1 % of the loan), no protected outflow.
    let arb = TxB::new(2).from(a(0xee)).to(Some(a(0xc0))).mined(
        5,
        vec![
            flash_loan(a(POOL), a(0xc0), a(TOKEN), U256::from(350_000)),
            transfer(a(TOKEN), a(POOL), a(0xc0), U256::from(350_000)),
            transfer(a(TOKEN), a(0xc0), a(0x9a), U256::from(350_000)),
            transfer(a(TOKEN), a(0x9a), a(0xc0), U256::from(350_525)),
            transfer(a(TOKEN), a(0xc0), a(POOL), U256::from(350_175)),
        ],
    );
    assert!(w.run(&mut d, &arb).is_empty());
    // A large profit without a flash loan is not this pattern.
    let no_loan =
        TxB::new(3).mined(5, vec![transfer(a(TOKEN), a(0x01), a(0xee), U256::from(10u64.pow(9)))]);
    assert!(w.run(&mut d, &no_loan).is_empty());
    // Pending: no logs yet, nothing to judge.
    assert!(w.run(&mut d, &TxB::new(4).pending(1)).is_empty());
}

#[test]
fn flash_loan_drain_without_known_balance_uses_the_loan_size() {
    let w = World::new();
    let mut d = FlashLoanExploit::new(FlashLoanConfig::default());
    // Profit kept in the contract and a drain twice the loan: still an exploit.
    let tx = TxB::new(1).from(a(0xee)).to(Some(a(0xc0))).mined(5, attack_logs(0, 700_000));
    let f = w.run(&mut d, &tx);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Critical);
}

// ---------------------------------------------------------------- volume

#[test]
fn withdrawal_spike_after_warmup_is_an_anomaly() {
    let mut w = World::new();
    let mut d = VolumeAnomaly::new(VolumeConfig::default());
    let mut findings = Vec::new();
    fn block(w: &mut World, d: &mut VolumeAnomaly, n: u64, amount: u64) -> Vec<Finding> {
        w.balances.observe(a(VAULT), a(TOKEN), U256::from(1_000_000));
        let tx =
            TxB::new(n).mined(n, vec![transfer(a(TOKEN), a(VAULT), a(0x01), U256::from(amount))]);
        let mut out = Vec::new();
        let fx = Effects::of(&tx);
        d.inspect(&tx, &w.cx(&fx), &mut out);
        d.end_block(&block_ref(n), &w.cx(&fx), &mut out);
        out
    }
    for n in 1..=20 {
        // Ordinary 0.1–0.3 % withdrawals, some blocks quiet.
        let amount = if n % 3 == 0 { 0 } else { 1_000 + 1_000 * (n % 3) };
        findings.extend(block(&mut w, &mut d, n, amount));
    }
    assert!(findings.is_empty(), "{findings:?}");
    // A 4 % withdrawal is a big z-score but below min_share (5 %): not an anomaly.
    assert!(block(&mut w, &mut d, 21, 40_000).is_empty());
    // A 30 % withdrawal is.
    let f = block(&mut w, &mut d, 22, 300_000);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].kind, AlertKind::Suspicious);
    assert_eq!(f[0].tx.as_ref().unwrap().hash, h(22));
    assert!(f[0].description.contains("withdrawal"), "{}", f[0].description);
    // After a reorg back to block 21, the same spike replayed alerts again.
    d.rewind(21);
    assert_eq!(block(&mut w, &mut d, 22, 300_000).len(), 1);
}

#[test]
fn liquidation_spike_is_an_anomaly_and_warmup_is_respected() {
    let w = World::new();
    let mut d = VolumeAnomaly::new(VolumeConfig { warmup_blocks: 10, ..VolumeConfig::default() });
    let mut all = Vec::new();
    for n in 1..=30u64 {
        let amount = if n == 5 {
            1_000_000
        } else if n == 30 {
            5_000_000
        } else {
            1_000 + n * 10
        };
        let tx = TxB::new(n).mined(n, vec![liquidation(a(POOL), a(TOKEN), U256::from(amount))]);
        let mut out = Vec::new();
        let fx = Effects::of(&tx);
        d.inspect(&tx, &w.cx(&fx), &mut out);
        d.end_block(&block_ref(n), &w.cx(&fx), &mut out);
        all.push((n, out));
    }
    let fired: Vec<u64> = all.iter().filter(|(_, o)| !o.is_empty()).map(|(n, _)| *n).collect();
    // Block 5 is inside the warm-up; block 30 is a spike.
    assert_eq!(fired, vec![30]);
}

// ---------------------------------------------------------------- governance

#[test]
fn proposals_that_take_control_or_funds_are_suspicious() {
    let w = World::new();
    let mut d = SuspiciousProposal::new(GovernanceConfig::default());
    let gov = a(0x60);
    let own =
        alloy_sol_types::SolCall::abi_encode(&abi::transferOwnershipCall { newOwner: al(a(0xba)) });
    let tx = TxB::new(1).mined(
        3,
        vec![proposal(
            gov,
            a(0x11),
            &[(a(VAULT), U256::ZERO, own.clone())],
            "Routine upgrade\nbody",
        )],
    );
    let f = w.run(&mut d, &tx);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].description.contains("transferOwnership(address)"), "{}", f[0].description);
    assert!(f[0].description.contains("Routine upgrade"), "{}", f[0].description);
    assert_eq!(f[0].metadata["proposal_id"], "0x4d");

    // Moving treasury funds: medium.
    let xfer = alloy_sol_types::SolCall::abi_encode(&abi::transferCall {
        to: al(a(0x12)),
        amount: eth(1_000_000),
    });
    let tx = TxB::new(2)
        .mined(3, vec![proposal(gov, a(0x11), &[(a(TOKEN), U256::ZERO, xfer)], "Grant")]);
    assert_eq!(w.run(&mut d, &tx)[0].severity, Severity::Medium);
    // Sending ETH is a treasury move too.
    let tx =
        TxB::new(3).mined(3, vec![proposal(gov, a(0x11), &[(a(0x13), eth(500), vec![])], "Pay")]);
    assert_eq!(w.run(&mut d, &tx).len(), 1);
    // Pausing the vault is not suspicious.
    let pause = alloy_sol_types::SolCall::abi_encode(&abi::pauseCall {});
    let tx = TxB::new(4)
        .mined(3, vec![proposal(gov, a(0x11), &[(a(VAULT), U256::ZERO, pause.clone())], "Pause")]);
    assert!(w.run(&mut d, &tx).is_empty());

    // The same hostile proposal seen pending as a propose() call: id computed as OZ does.
    let upgrade =
        alloy_sol_types::SolCall::abi_encode(&abi::upgradeToCall { implementation: al(a(0xba)) });
    let call = abi::proposeCall {
        targets: vec![al(a(VAULT))],
        values: vec![U256::ZERO],
        calldatas: vec![upgrade.into()],
        description: "Upgrade".into(),
    };
    let f = w.run(&mut d, &TxB::new(5).from(a(0x11)).to(Some(gov)).call(call).pending(1));
    assert_eq!(f.len(), 1);
    assert!(f[0].description.contains("upgradeTo(address)"), "{}", f[0].description);
    assert!(f[0].metadata["proposal_id"].starts_with("0x"), "{:?}", f[0].metadata);
}

/// The recipe's governance step: propose `pause()` on the vault from SimpleGovernor; its
/// proposal id is the one SimpleGovernor (like OZ) computes, 0xf6bb48d0…94a2.
#[test]
fn oz_proposal_id_matches_simple_governor() {
    use vigil_detect::calls::{Call, decode_call};
    use vigil_detect::detectors::governance::oz_proposal_id;
    let vault: vigil_core::EvmAddress =
        "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().unwrap();
    let call = abi::proposeCall {
        targets: vec![al(vault)],
        values: vec![U256::ZERO],
        calldatas: vec![vec![0x84, 0x56, 0xcb, 0x59].into()],
        description: "Pause the vault".into(),
    };
    let Call::Propose(p) = decode_call(&alloy_sol_types::SolCall::abi_encode(&call), a(1)) else {
        panic!()
    };
    let id = format!("{:#x}", oz_proposal_id(&p).unwrap());
    assert!(id.starts_with("0xf6bb48d0") && id.ends_with("94a2"), "{id}");
}

// ---------------------------------------------------------------- fresh contract

/// Runtime code that pushes the Aave `flashLoanSimple` selector and embeds `target`.
fn attacker_code(target: vigil_core::EvmAddress) -> Vec<u8> {
    let mut code = vec![0x63, 0x42, 0xb0, 0xb7, 0x7c, 0x73];
    code.extend_from_slice(&target.0);
    code.extend_from_slice(&[0x50, 0x50, 0x00]);
    code
}

#[test]
fn fresh_contract_called_soon_after_creation_is_flagged() {
    let mut w = World::new();
    let mut d = FreshAttackerContract::new(FreshContractConfig {
        max_age_blocks: 10,
        ..Default::default()
    });
    let attacker = a(0xc0);
    let deploy = TxB::new(1).from(a(0xee)).to(None).mined_with(
        100,
        true,
        vec![],
        Some(created(attacker, attacker_code(a(VAULT)))),
    );
    let f = w.run(&mut d, &deploy);
    assert_eq!(f.len(), 1, "creation that calls flash loans and embeds a protected address");
    assert_eq!(f[0].severity, Severity::Medium);
    w.head = Some(100);

    // The creator calls it while pending: judged from its code.
    let call = TxB::new(2)
        .from(a(0xee))
        .to(Some(attacker))
        .call(abi::attackCall { flashAmount: eth(1), swapAmount: eth(1) });
    let f = w.run(&mut d, &call.pending(1));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].kind, AlertKind::Exploit);
    assert_eq!(f[0].severity, Severity::Critical);
    assert!(f[0].description.contains("0x42b0b77c"), "{}", f[0].description);
    assert_eq!(f[0].metadata["stage"], "pending");

    // Mined: judged from its logs (a flash loan to it, a transfer out of the vault).
    let call = TxB::new(3).from(a(0xee)).to(Some(attacker)).mined(101, attack_logs(1, 1));
    let f = w.run(&mut d, &call);
    assert_eq!(f[0].kind, AlertKind::Exploit);
    assert!(f[0].description.contains("took 1 flash loan"), "{}", f[0].description);

    // Too old: nothing.
    let late = TxB::new(4).from(a(0xee)).to(Some(attacker)).mined(111, attack_logs(1, 1));
    assert!(w.run(&mut d, &late).is_empty());
}

#[test]
fn ordinary_fresh_contracts_are_not_flagged() {
    let w = World::new();
    let mut d = FreshAttackerContract::new(FreshContractConfig::default());
    let token = a(0x71);
    // Plain code that neither uses flash loans nor knows protected contracts.
    let deploy = TxB::new(1).to(None).mined_with(
        5,
        true,
        vec![],
        Some(created(token, vec![0x60, 0x80, 0x60, 0x40, 0x52, 0x00])),
    );
    assert!(w.run(&mut d, &deploy).is_empty());
    let call = TxB::new(2).to(Some(token)).call(abi::transferCall { to: al(a(3)), amount: eth(1) });
    assert!(w.run(&mut d, &call.pending(1)).is_empty());
    // A contract that only references the vault, called: suspicious, not exploit.
    let mut d = FreshAttackerContract::new(FreshContractConfig::default());
    let mut code = vec![0x73];
    code.extend_from_slice(&a(VAULT).0);
    let deploy = TxB::new(3).to(None).mined_with(5, true, vec![], Some(created(a(0x72), code)));
    assert!(w.run(&mut d, &deploy).is_empty());
    let f = w.run(&mut d, &TxB::new(4).to(Some(a(0x72))).pending(1));
    assert_eq!(f[0].kind, AlertKind::Suspicious);
}

#[test]
fn new_tokens_sent_to_protected_contracts_and_new_protected_contracts_are_not_suspects() {
    let mut w = World::new();
    let mut d = FreshAttackerContract::new(FreshContractConfig::default());
    // A new token, transferred into the vault: the vault ran no code.
    let token = a(0x73);
    let deploy = TxB::new(1).to(None).mined_with(5, true, vec![], Some(created(token, vec![0x00])));
    assert!(w.run(&mut d, &deploy).is_empty());
    w.head = Some(5);
    let xfer =
        TxB::new(2).to(Some(token)).mined(6, vec![transfer(token, a(0xee), a(VAULT), eth(5))]);
    assert!(w.run(&mut d, &xfer).is_empty());
    // The vault itself, just deployed, then used.
    let deploy =
        TxB::new(3).to(None).mined_with(6, true, vec![], Some(created(a(VAULT), vec![0x00])));
    assert!(w.run(&mut d, &deploy).is_empty());
    let deposit = TxB::new(4)
        .to(Some(a(VAULT)))
        .mined(7, vec![transfer(a(TOKEN), a(0xee), a(VAULT), eth(5))]);
    assert!(w.run(&mut d, &deposit).is_empty());
    let withdraw = TxB::new(5)
        .to(Some(a(VAULT)))
        .mined(7, vec![transfer(a(TOKEN), a(VAULT), a(0xee), eth(5))]);
    assert!(w.run(&mut d, &withdraw).is_empty());
}

#[test]
fn pushed_selectors_skip_push_data() {
    use vigil_detect::detectors::fresh_contract::pushed_selectors;
    // PUSH5 whose data contains a PUSH4 opcode byte must not be read as a PUSH4.
    let code = [0x64, 0x63, 0xaa, 0xbb, 0xcc, 0xdd, 0x63, 0x01, 0x02, 0x03, 0x04];
    let s: Vec<String> = pushed_selectors(&code).iter().map(ToString::to_string).collect();
    assert_eq!(s, vec!["0x01020304"]);
    // Truncated push data at the end of code is ignored.
    assert!(pushed_selectors(&[0x63, 0x01]).is_empty());
}
