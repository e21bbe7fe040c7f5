//! The embedded default that `vigil up` runs: a one-validator development network in a data
//! directory, with demo accounts whose keys are written beside it, and a short demo that shows
//! the report → attest → verdict loop in the first minute.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use vigil_core::{
    Amount, Category, Evidence, EvmAddress, Indicator, Keypair, Report, Severity, SignedTx, Stance,
    Tx, TxBody,
};
use vigil_ledger::{Event, Genesis, GenesisAccount, Params, ReportStatus};

use crate::app::{NodeEvent, NodeState};
use crate::config::NodeConfig;
use crate::keyfile;

/// Names of the demo accounts; `node` is the validator.
pub const ACCOUNTS: [&str; 6] = ["node", "alice", "bob", "carol", "dave", "mallory"];

/// A development network's files.
#[derive(Debug, Clone)]
pub struct Devnet {
    /// The data directory.
    pub dir: PathBuf,
    /// Its configuration file.
    pub config_path: PathBuf,
    /// Whether this call created it.
    pub created: bool,
}

/// Why the devnet could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DevnetError {
    /// A file could not be written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A key file.
    #[error(transparent)]
    Key(#[from] keyfile::KeyFileError),
}

/// Parameters of the development network: short windows so the demo finishes in seconds.
pub fn dev_params() -> Params {
    Params {
        challenge_window: 10,
        unbonding_delay: 30,
        voting_period: 20,
        timelock: 5,
        attestation_quorum_bps: 1_000,
        epoch_length: 100,
        min_report_bond: Amount::vgl(10),
        min_attestation_stake: Amount::vgl(1),
        ..Params::default()
    }
}

fn write(path: &Path, text: &str) -> Result<(), DevnetError> {
    std::fs::write(path, text).map_err(|source| DevnetError::Io { path: path.to_owned(), source })
}

/// Creates the devnet in `dir` unless a configuration is already there; `listen` sets the API
/// address of a new one.
pub fn init(dir: &Path, listen: std::net::SocketAddr) -> Result<Devnet, DevnetError> {
    let config_path = dir.join("config.toml");
    if config_path.exists() {
        return Ok(Devnet { dir: dir.to_owned(), config_path, created: false });
    }
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .map_err(|source| DevnetError::Io { path: keys_dir.clone(), source })?;
    let mut accounts = Vec::new();
    for name in ACCOUNTS {
        let path = keys_dir.join(format!("{name}.key"));
        let key =
            if path.exists() { keyfile::read(&path, None)? } else { keyfile::create(&path, None)? };
        let validator = name == "node";
        accounts.push(GenesisAccount {
            account: key.account_id(),
            balance: Amount::vgl(if validator { 1_000 } else { 10_000 }),
            bonded: Amount::vgl(1_000),
            validator,
        });
    }
    let genesis = Genesis {
        chain_id: "vigil-devnet".parse().map_err(|e| DevnetError::Io {
            path: dir.to_owned(),
            source: std::io::Error::other(e),
        })?,
        genesis_time: 0,
        params: dev_params(),
        treasury: Amount::vgl(100_000),
        reward_pool: Amount::vgl(10_000),
        accounts,
    };
    let header = "# Development genesis written by `vigil up`. Demo account keys are in keys/.\n";
    write(&dir.join("genesis.toml"), &format!("{header}{}", genesis.to_toml()))?;
    let mut config = NodeConfig::default();
    config.api.listen = listen;
    // The loopback devnet serves its TAXII collections to anonymous readers (see README).
    for c in config.taxii.collections.iter_mut().filter(|c| !c.writable) {
        c.anonymous_read = true;
    }
    let header = "# Node configuration written by `vigil up`; run it with `vigil node --config <this file>`.\n";
    write(&config_path, &format!("{header}{}", config.to_toml()))?;
    Ok(Devnet { dir: dir.to_owned(), config_path, created: true })
}

/// The demo's stand-in when `../shared/data` is absent: the Popsicle Finance exploit of
/// 2021-08-04 as recorded by DeFiHackLabs (github.com/SunWeb3Sec/DeFiHackLabs, Apache-2.0).
const SAMPLE_INCIDENT: Incident<'static> = Incident {
    date: "20210804",
    name: "Popsicle",
    vuln_type: "Repeated Reward Claim - Logic Flaw",
    lost: "20M USD",
    attacker: "0xf9e3d08196f76f5078882d98941b71c0884bea52",
    attack_contract: "0xdfb6fab7f4bc9512d5620e679e90d1c91c4eade6",
    attack_tx: "0xcd7dae143a4c0223349c16237ce4cd7696b1638d116a72755231ede872ab70fc",
};

/// Uniswap V2's router: a legitimate contract a malicious reporter might falsely flag.
const UNISWAP_V2_ROUTER: &str = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D";

#[derive(Debug, Clone)]
struct Incident<'a> {
    date: &'a str,
    name: &'a str,
    vuln_type: &'a str,
    lost: &'a str,
    attacker: &'a str,
    attack_contract: &'a str,
    attack_tx: &'a str,
}

/// The newest Ethereum exploit in DeFiHackLabs' incident list with an attacker and an attack
/// transaction, or `None` when the file is absent or has none.
fn newest_incident(csv_path: &Path) -> Option<Report> {
    let mut reader = csv::Reader::from_path(csv_path).ok()?;
    let headers = reader.headers().ok()?.clone();
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (date, name, vuln, chain, lost, attacker, contract, tx) = (
        col("date")?,
        col("name")?,
        col("vuln_type")?,
        col("chain")?,
        col("lost_readme")?,
        col("attacker")?,
        col("attack_contract")?,
        col("attack_tx")?,
    );
    let mut best: Option<csv::StringRecord> = None;
    for row in reader.records().flatten() {
        let usable = row.get(chain) == Some("ethereum")
            && row.get(attacker).is_some_and(|a| !a.is_empty())
            && row.get(tx).is_some_and(|t| t.starts_with("0x"));
        if usable && best.as_ref().is_none_or(|b| row.get(date) > b.get(date)) {
            best = Some(row);
        }
    }
    let row = best?;
    let first =
        |i: usize| row.get(i).unwrap_or("").split(';').next().unwrap_or("").trim().to_owned();
    let (d, n, v, l, a, c, t) = (
        first(date),
        first(name),
        first(vuln),
        first(lost),
        first(attacker),
        first(contract),
        first(tx),
    );
    incident_report(&Incident {
        date: &d,
        name: &n,
        vuln_type: &v,
        lost: &l,
        attacker: &a,
        attack_contract: &c,
        attack_tx: &t,
    })
}

fn incident_report(i: &Incident<'_>) -> Option<Report> {
    let mut indicators = vec![Indicator::address(i.attacker.parse::<EvmAddress>().ok()?)];
    if let Ok(contract) = i.attack_contract.parse::<EvmAddress>() {
        indicators.push(Indicator::address(contract));
    }
    let evidence = i
        .attack_tx
        .parse()
        .ok()
        .map(|hash| vec![Evidence::Tx { chain: vigil_core::EvmChainId::MAINNET, hash }])
        .unwrap_or_default();
    let lost = if i.lost.is_empty() { String::new() } else { format!(", {} lost", i.lost) };
    Some(Report {
        indicators,
        severity: Severity::Critical,
        category: Category::Exploit,
        summary: format!(
            "{} exploit of {} ({}{lost}): attacker and attack contract",
            i.name, i.date, i.vuln_type
        ),
        evidence,
        affected_protocols: vec![i.name.to_owned()],
        detection: Vec::new(),
        revokes: Vec::new(),
    })
}

/// The true report of the demo: from `../shared/data` when present, else the built-in sample.
pub fn demo_report(shared_data: &Path) -> (Report, &'static str) {
    let csv = shared_data.join("defihacklabs/incidents.csv");
    match newest_incident(&csv) {
        Some(r) => (r, "DeFiHackLabs incidents in ../shared/data"),
        None => (
            incident_report(&SAMPLE_INCIDENT).expect("the built-in sample parses"),
            "the built-in DeFiHackLabs sample (../shared/data not found)",
        ),
    }
}

fn false_report() -> Report {
    Report {
        indicators: vec![UNISWAP_V2_ROUTER.parse().expect("a valid address")],
        severity: Severity::High,
        category: Category::MaliciousContract,
        summary:
            "Uniswap V2 router drains approvals (a false claim: the demo shows it being rejected)"
                .into(),
        detection: Vec::new(),
        revokes: Vec::new(),
        evidence: vec![],
        affected_protocols: vec!["Uniswap".into()],
    }
}

/// The demo's protocol: a lending vault on the local EVM chain, paused by `pause()`.
pub fn demo_protocol(guardians: [vigil_core::AccountId; 3]) -> vigil_core::ProtocolSpec {
    let vault: EvmAddress =
        "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9".parse().expect("a valid address");
    vigil_core::ProtocolSpec {
        id: "demo-vault".parse().expect("a valid protocol id"),
        name: "Demo Lending Vault".into(),
        chain: vigil_core::EvmChainId(31337),
        contracts: vec![vault],
        guardians: guardians.to_vec(),
        threshold: 2,
        protected_value: Amount::vgl(2_000_000),
        policy: vigil_core::BreakerPolicy {
            min_severity: Severity::Critical,
            min_confidence: 90,
            monitors: Vec::new(),
            action: vigil_core::OnChainAction::pausable(vault),
        },
        bounty: None,
        safe_harbor: None,
    }
}

/// Runs the demo on a fresh devnet: alice registers a protocol (`demo-vault`, for the incident
/// board) and reports a real exploit, bob and carol confirm it, dave
/// wrongly disputes; mallory falsely flags Uniswap's router and the others dispute. Both
/// verdicts land when the challenge window closes (about ten seconds), and the demo logs what
/// happened. Returns when both reports are settled or `timeout` passes.
pub async fn run_demo(state: Arc<NodeState>, dir: &Path, shared_data: &Path, timeout: Duration) {
    let load = |name: &str| keyfile::read(&dir.join("keys").join(format!("{name}.key")), None);
    let keys: Result<Vec<Keypair>, _> = ACCOUNTS.iter().map(|n| load(n)).collect();
    let Ok(keys) = keys else {
        tracing::warn!("demo: cannot read the demo keys; skipping the demo");
        return;
    };
    let [_, alice, bob, carol, dave, mallory] = &keys[..] else { return };
    let names: std::collections::HashMap<vigil_core::AccountId, &str> =
        keys.iter().zip(ACCOUNTS).map(|(k, n)| (k.account_id(), n)).collect();
    let name = |id: &vigil_core::AccountId| names.get(id).copied().unwrap_or("someone").to_owned();
    let (true_report, source) = demo_report(shared_data);
    let lie = false_report();
    tracing::info!(target: "demo", "alice reports {} (from {source})", true_report.summary);
    tracing::info!(target: "demo", "mallory reports Uniswap's router as malicious (false)");
    let mut events = state.events.subscribe();
    let submit = |key: &Keypair, body: TxBody| {
        let tx = sign(&state, key, body);
        if let Err(e) = state.submit(tx) {
            tracing::warn!(target: "demo", "demo transaction refused: {e}");
        }
    };
    // A protocol on the board: alice owns it; alice, bob and carol guard it (2 of 3 re-arm).
    let vault = demo_protocol([alice, bob, carol].map(Keypair::account_id));
    tracing::info!(target: "demo", "alice registers protocol {} (guardians alice, bob, carol; 2 of 3 re-arm its breaker)", vault.id);
    submit(alice, TxBody::RegisterProtocol { spec: vault, bounty_deposit: Amount::vgl(500) });
    let bond = Amount::vgl(50);
    submit(alice, TxBody::SubmitReport { report: true_report.clone(), bond });
    submit(mallory, TxBody::SubmitReport { report: lie.clone(), bond });
    // Attest once the reports are committed.
    let deadline = tokio::time::Instant::now() + timeout;
    let mut attested = false;
    let mut settled = 0;
    while settled < 2 {
        let Ok(Ok(event)) = tokio::time::timeout_at(deadline, events.recv()).await else {
            tracing::warn!(target: "demo", "demo timed out before both verdicts");
            return;
        };
        if let NodeEvent::Ledger { event: Event::Verdict { .. }, .. } = &event {
            settled += 1;
        }
        log_event(&event, &true_report, &name, &state);
        match event {
            NodeEvent::Ledger { event: Event::ReportSubmitted { report, .. }, .. }
                if !attested && (report == true_report.id() || report == lie.id()) =>
            {
                if state.ledger.read().report(&true_report.id()).is_none()
                    || state.ledger.read().report(&lie.id()).is_none()
                {
                    continue;
                }
                attested = true;
                let attest = |key: &Keypair, report: &Report, stance, stake: u64| {
                    submit(
                        key,
                        TxBody::Attest { report: report.id(), stance, stake: Amount::vgl(stake) },
                    )
                };
                attest(bob, &true_report, Stance::Confirm, 700);
                attest(carol, &true_report, Stance::Confirm, 700);
                attest(dave, &true_report, Stance::Dispute, 100);
                attest(bob, &lie, Stance::Dispute, 300);
                attest(carol, &lie, Stance::Dispute, 300);
                attest(dave, &lie, Stance::Dispute, 800);
                tracing::info!(target: "demo", "bob and carol confirm alice's report, dave disputes it; all three dispute mallory's");
            }
            _ => {}
        }
    }
    // The settlement events of the last verdict's block are already queued.
    while let Ok(event) = events.try_recv() {
        log_event(&event, &true_report, &name, &state);
    }
    tracing::info!(target: "demo", "demo done: try `vigil report list` and `vigil check {}`", true_report.indicators[0]);
}

fn log_event(
    event: &NodeEvent,
    true_report: &Report,
    name: &dyn Fn(&vigil_core::AccountId) -> String,
    state: &NodeState,
) {
    let NodeEvent::Ledger { height, event } = event else { return };
    match event {
        Event::Verdict { report, status, .. } => {
            let whose = if *report == true_report.id() { "alice's" } else { "mallory's" };
            let short = report.short();
            tracing::info!(target: "demo", "height {height}: {whose} report {short} is {status} (`vigil report show {short}` explains why)");
            let confirmed = *status == ReportStatus::Confirmed;
            if confirmed
                && let Some(hit) = state.ledger.read().check(&true_report.indicators[0]).first()
            {
                tracing::info!(
                    target: "demo",
                    "`vigil check {}` now answers flagged, confidence {}",
                    true_report.indicators[0], hit.confidence
                );
            }
        }
        Event::Slashed { account, amount, reason, .. } => {
            tracing::info!(target: "demo", "{} slashed {amount} ({reason:?})", name(account));
        }
        Event::Rewarded { account, amount, reason, .. } => {
            tracing::info!(target: "demo", "{} paid {amount} ({reason:?})", name(account));
        }
        _ => {}
    }
}

fn sign(state: &NodeState, key: &Keypair, body: TxBody) -> SignedTx {
    let signer = key.account_id();
    Tx { chain_id: state.chain_id.clone(), signer, nonce: state.next_nonce(&signer), body }
        .sign(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_sample_and_the_false_report_are_valid() {
        let (report, source) = demo_report(Path::new("/nonexistent"));
        assert!(source.contains("built-in"));
        assert_eq!(report.check_shape(), Ok(()));
        assert_eq!(report.indicators.len(), 2);
        assert_eq!(false_report().check_shape(), Ok(()));
    }

    #[test]
    fn the_newest_real_incident_is_used_when_the_shared_data_is_there() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
        if !shared.join("defihacklabs/incidents.csv").exists() {
            eprintln!("skipping: ../shared/data/defihacklabs is not present");
            return;
        }
        let (report, source) = demo_report(&shared);
        assert!(source.contains("DeFiHackLabs incidents"));
        assert_eq!(report.check_shape(), Ok(()));
        assert!(matches!(report.evidence[0], Evidence::Tx { .. }));
    }

    #[test]
    fn init_writes_keys_genesis_and_config_once() {
        let dir = tempfile::tempdir().unwrap();
        let net = init(dir.path(), "127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(net.created);
        let genesis = crate::node::load_genesis(&dir.path().join("genesis.toml")).unwrap();
        assert_eq!(genesis.accounts.len(), ACCOUNTS.len());
        let config = NodeConfig::load(&net.config_path).unwrap();
        assert_eq!(config.api.listen.port(), 0);
        let again = init(dir.path(), "127.0.0.1:7070".parse().unwrap()).unwrap();
        assert!(!again.created, "an existing devnet is reused, not overwritten");
    }
}
