//! Commands of the respond loop: `protocol`, `breaker`, `gov`.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use vigil_core::{AccountId, Amount, ProposalAction, ProtocolId, ProtocolSpec, TxBody, VoteChoice};
use vigil_node::client::Client;

use super::ledger::{SendArgs, percent, print_json, resolve_report, send_tx, vgl};

/// `vigil protocol …`.
#[derive(Subcommand)]
pub enum ProtocolCommand {
    /// Register a protocol from a TOML file (see docs/examples/protocol.toml).
    Register {
        /// The registration: id, name, chain, contracts, guardians, threshold,
        /// protected_value and [policy] with min_severity, min_confidence, monitors and
        /// [policy.action] target, calldata, reset_calldata.
        #[arg(long)]
        file: PathBuf,
        /// Deposit into the protocol's bounty pool.
        #[arg(long, default_value = "0")]
        bounty: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show a protocol: guardians, policy, breaker.
    Show {
        /// The protocol id.
        id: ProtocolId,
    },
    /// Add to a protocol's bounty escrow, which pays disclosures and recovery bounties
    /// (anyone may).
    Fund {
        /// The protocol id.
        id: ProtocolId,
        /// How much.
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// The cost of corrupting its controls against the value it protects.
    Security {
        /// The protocol id.
        id: ProtocolId,
        /// A shock ψ (e.g. `250000` VGL or `5u` base units): print the worst-case loss of
        /// stake (1 + 1/γ)·ψ when every attack costs at least (1 + γ) times its profit.
        #[arg(long)]
        shock: Option<Amount>,
    },
    /// List registered protocols.
    List,
}

/// `vigil breaker …`.
#[derive(Subcommand)]
pub enum BreakerCommand {
    /// Trip a protocol's breaker (guardians only).
    Trip {
        /// The protocol id.
        id: ProtocolId,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Approve re-arming a tripped breaker (guardians only; M approvals re-arm it).
    ApproveReset {
        /// The protocol id.
        id: ProtocolId,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show every breaker, or one protocol's.
    Show {
        /// The protocol id.
        id: Option<ProtocolId>,
    },
}

/// What a proposal does (exactly one).
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct ActionArgs {
    /// Re-arm this protocol's breaker.
    #[arg(long, value_name = "PROTOCOL")]
    breaker_reset: Option<ProtocolId>,
    /// Pay from the treasury: ACCOUNT AMOUNT.
    #[arg(long, num_args = 2, value_names = ["ACCOUNT", "AMOUNT"])]
    treasury_spend: Option<Vec<String>>,
    /// Slash an account's stake: ACCOUNT AMOUNT.
    #[arg(long, num_args = 2, value_names = ["ACCOUNT", "AMOUNT"])]
    slash: Option<Vec<String>>,
    /// Decide an escalated report: REPORT (its id or a unique prefix) confirm|reject.
    #[arg(long, num_args = 2, value_names = ["REPORT", "VERDICT"])]
    resolve_report: Option<Vec<String>>,
    /// Withdraw a shared fingerprint or rule file (its detection id, see `vigil rules list`).
    #[arg(long, value_name = "DETECTION")]
    revoke_detection: Option<vigil_core::DetectionId>,
    /// Change parameters: name=value (repeatable), e.g. --param challenge_window=200.
    #[arg(long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,
}

/// `vigil gov …`.
#[derive(Subcommand)]
pub enum GovCommand {
    /// Submit a proposal (locks the proposal deposit).
    Propose {
        #[command(flatten)]
        action: ActionArgs,
        /// Why, for voters.
        #[arg(long)]
        description: String,
        /// Do not execute before this height.
        #[arg(long)]
        not_before: Option<u64>,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Vote with all your bonded stake.
    Vote {
        /// The proposal id.
        id: u64,
        /// yes, no or abstain.
        #[arg(long)]
        choice: VoteChoice,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show a proposal and its votes.
    Show {
        /// The proposal id.
        id: u64,
    },
    /// List proposals, newest first.
    List,
}

/// Runs `vigil protocol …`.
pub async fn protocol(client: &Client, cmd: ProtocolCommand, json: bool) -> Result<()> {
    match cmd {
        ProtocolCommand::Register { file, bounty, send } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let spec: ProtocolSpec =
                toml::from_str(&text).with_context(|| format!("{}", file.display()))?;
            spec.check_shape().with_context(|| format!("{}", file.display()))?;
            let id = spec.id.clone();
            send_tx(client, TxBody::RegisterProtocol { spec, bounty_deposit: bounty }, &send, json)
                .await?;
            if !json {
                println!("protocol {id} registered");
            }
            Ok(())
        }
        ProtocolCommand::Fund { id, amount, send } => {
            send_tx(client, TxBody::FundBounty { protocol: id, amount }, &send, json).await
        }
        ProtocolCommand::Show { id } => {
            let p: Value = client.get(&format!("/v1/protocols/{id}")).await?;
            if json {
                print_json(&p);
                return Ok(());
            }
            println!("protocol    {} ({})", id, p["spec"]["name"].as_str().unwrap_or(""));
            println!("chain       {}", p["spec"]["chain"]);
            for c in p["spec"]["contracts"].as_array().into_iter().flatten() {
                println!("contract    {}", c.as_str().unwrap_or(""));
            }
            let guardians =
                p["spec"]["guardians"].as_array().map(Vec::as_slice).unwrap_or_default();
            println!(
                "guardians   {} of these {} must approve a reset (any one may trip the breaker):",
                p["spec"]["threshold"],
                guardians.len()
            );
            for g in guardians {
                println!("  {}", g.as_str().unwrap_or(""));
            }
            let monitors = p["spec"]["policy"]["monitors"].as_array().map(Vec::as_slice);
            match monitors.unwrap_or_default() {
                [] => {
                    println!("monitors    none: no monitor may trip the breaker on the fast path")
                }
                monitors => {
                    println!(
                        "monitors    {} may trip the breaker on the fast path with a signed alert:",
                        monitors.len()
                    );
                    for m in monitors {
                        println!("  {}", m.as_str().unwrap_or(""));
                    }
                }
            }
            println!(
                "policy      trips at {} severity, confidence ≥ {}",
                p["spec"]["policy"]["min_severity"].as_str().unwrap_or("?"),
                p["spec"]["policy"]["min_confidence"]
            );
            println!("breaker     {}", breaker_line(&p["breaker"]));
            println!("bounty pool {}", Amount(p["bounty_pool"].as_u64().unwrap_or(0)));
            let b = &p["spec"]["bounty"];
            if b.is_object() {
                println!(
                    "bounties    critical {} of funds at risk ({}–{}), high {}, medium {}, low {}; {} disclosure key(s)",
                    percent(b["critical_bps"].as_u64().unwrap_or(0)),
                    vgl(&b["critical_floor"]),
                    vgl(&b["critical_cap"]),
                    vgl(&b["high"]),
                    vgl(&b["medium"]),
                    vgl(&b["low"]),
                    b["recipients"].as_array().map_or(0, Vec::len)
                );
            }
            let h = &p["spec"]["safe_harbor"];
            if h.is_object() {
                println!(
                    "safe harbor {} of recovered funds, at most {} per whitehat and {} in all ({} so far); {}",
                    percent(h["bounty_bps"].as_u64().unwrap_or(0)),
                    vgl(&h["cap_per_whitehat"]),
                    vgl(&h["cap_total"]),
                    vgl(&p["recovery_granted"]),
                    if h["retainable"] == true {
                        "the bounty may be retained"
                    } else {
                        "everything must be returned first"
                    }
                );
            }
            Ok(())
        }
        ProtocolCommand::Security { id, shock } => {
            let path = match shock {
                Some(psi) => format!("/v1/protocols/{id}/security?shock={}u", psi.0),
                None => format!("/v1/protocols/{id}/security"),
            };
            let s: Value = client.get(&path).await?;
            if json {
                print_json(&s);
                return Ok(());
            }
            let a = |k: &str| Amount(s[k].as_u64().unwrap_or(0)).to_string();
            println!("protocol                 {id}");
            println!("value protected          {}", a("protected_value"));
            println!(
                "guardian path ({} of {})  {}",
                s["threshold"],
                s["guardians"],
                a("guardian_path_cost")
            );
            println!("governance, unopposed    {}", a("governance_cost_unopposed"));
            println!("governance, opposed      {}", a("governance_cost_opposed"));
            println!("cost of corruption       {}", a("cost_of_corruption"));
            let gamma = match s["margin_bps"].as_i64() {
                Some(bps) => {
                    let sign = if bps < 0 { "-" } else { "" };
                    let abs = bps.unsigned_abs();
                    format!("{sign}{}.{:04}", abs / 10_000, abs % 10_000)
                }
                None => "unbounded (nothing protected)".to_owned(),
            };
            println!("margin γ                 {gamma}");
            let stable = s["stable"].as_bool() == Some(true);
            println!(
                "stable                   {}",
                if stable {
                    "yes: corrupting the controls costs more than they protect"
                } else {
                    "NO: the controls cost less to corrupt than the value they protect"
                }
            );
            if shock.is_some() {
                match s["loss_bound"].as_u64() {
                    Some(bound) => println!(
                        "loss bound for ψ = {}  {} of stake at most, (1 + 1/γ)·ψ",
                        a("shock"),
                        Amount(bound)
                    ),
                    None => println!("loss bound for ψ = {}  none: γ ≤ 0", a("shock")),
                }
            }
            if !stable {
                eprintln!(
                    "WARNING: γ ≤ 0 for {id}: an attacker profits from corrupting its controls; \
                     raise guardian stake or the governance quorum, or lower the value protected"
                );
            }
            Ok(())
        }
        ProtocolCommand::List => {
            let list: Value = client.get("/v1/protocols").await?;
            if json {
                print_json(&list);
                return Ok(());
            }
            let protocols = list["protocols"].as_array().map(Vec::as_slice).unwrap_or_default();
            if protocols.is_empty() {
                println!("no protocols registered (vigil protocol register …)");
            }
            for p in protocols {
                println!("{:<24} {}", p["id"].as_str().unwrap_or(""), breaker_line(&p["breaker"]));
            }
            Ok(())
        }
    }
}

fn breaker_line(b: &Value) -> String {
    match b["state"].as_str() {
        Some("tripped") => format!(
            "TRIPPED at height {} by {} ({})",
            b["at_height"],
            b["by"].as_str().unwrap_or("?"),
            b["reason"]["type"].as_str().unwrap_or("?")
        ),
        Some(s) => s.to_owned(),
        None => "?".into(),
    }
}

/// Runs `vigil breaker …`.
pub async fn breaker(client: &Client, cmd: BreakerCommand, json: bool) -> Result<()> {
    match cmd {
        BreakerCommand::Trip { id, reason, send } => {
            send_tx(client, TxBody::TripBreaker { protocol: id, reason }, &send, json).await
        }
        BreakerCommand::ApproveReset { id, send } => {
            send_tx(client, TxBody::ApproveReset { protocol: id.clone() }, &send, json).await?;
            if !json {
                let p: Value = client.get(&format!("/v1/protocols/{id}")).await?;
                println!("breaker of {id}: {}", breaker_line(&p["breaker"]));
            }
            Ok(())
        }
        BreakerCommand::Show { id } => {
            let all: Value = client.get("/v1/breakers").await?;
            let items: Vec<&Value> = all["breakers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|b| {
                    id.as_ref().is_none_or(|id| b["protocol"].as_str() == Some(id.as_str()))
                })
                .collect();
            if id.is_some() && items.is_empty() {
                bail!(
                    "no protocol {} is registered",
                    id.map(|i| i.to_string()).unwrap_or_default()
                );
            }
            if json {
                print_json(&Value::Array(items.into_iter().cloned().collect()));
                return Ok(());
            }
            if items.is_empty() {
                println!("no protocols registered, so no breakers (vigil protocol register …)");
            }
            for b in items {
                let approvals = b["reset_approvals"].as_array().map(Vec::len).unwrap_or(0);
                println!(
                    "{:<24} {} (trips {}, reset approvals {approvals}/{})",
                    b["protocol"].as_str().unwrap_or(""),
                    breaker_line(&b["breaker"]),
                    b["trips"],
                    b["threshold"]
                );
            }
            Ok(())
        }
    }
}

async fn action(client: &Client, a: ActionArgs) -> Result<ProposalAction> {
    if let Some(protocol) = a.breaker_reset {
        return Ok(ProposalAction::BreakerReset { protocol });
    }
    let pair = |v: &[String]| -> Result<(AccountId, Amount)> {
        Ok((v[0].parse().context("account")?, v[1].parse().context("amount")?))
    };
    if let Some(v) = a.treasury_spend {
        let (to, amount) = pair(&v)?;
        return Ok(ProposalAction::TreasurySpend { to, amount });
    }
    if let Some(v) = a.slash {
        let (account, amount) = pair(&v)?;
        return Ok(ProposalAction::Slash { account, amount });
    }
    if let Some(detection) = a.revoke_detection {
        return Ok(ProposalAction::RevokeDetection { detection });
    }
    if let Some(v) = a.resolve_report {
        let report = resolve_report(client, &v[0]).await?;
        let confirm = match v[1].as_str() {
            "confirm" => true,
            "reject" => false,
            other => bail!("verdict must be confirm or reject, not {other:?}"),
        };
        return Ok(ProposalAction::ResolveReport { report, confirm });
    }
    // A parameter change: the current parameters with the named fields replaced.
    let current: Value = client.get("/v1/params").await?;
    let mut params = current["params"].clone();
    for kv in &a.params {
        let (name, value) =
            kv.split_once('=').with_context(|| format!("--param {kv:?} is not name=value"))?;
        if params.get(name).is_none() {
            bail!(
                "unknown parameter {name:?}; parameters are: {}",
                params
                    .as_object()
                    .map(|o| o.keys().cloned().collect::<Vec<_>>().join(", "))
                    .unwrap_or_default()
            );
        }
        params[name] = serde_json::from_str(value).unwrap_or(Value::String(value.to_owned()));
    }
    let params: vigil_ledger::Params = serde_json::from_value(params).context("parameters")?;
    params.validate()?;
    Ok(ProposalAction::ParameterChange { params: vigil_core::encoding::encode(&params) })
}

/// Runs `vigil gov …`.
pub async fn gov(client: &Client, cmd: GovCommand, json: bool) -> Result<()> {
    match cmd {
        GovCommand::Propose { action: args, description, not_before, send } => {
            let action = action(client, args).await?;
            let next: Value = client.get("/v1/params").await?;
            let id = next["globals"]["next_proposal"].as_u64().unwrap_or(0);
            send_tx(client, TxBody::Propose { action, description, not_before }, &send, json)
                .await?;
            if !json {
                println!(
                    "proposal {id} is open for votes (vigil gov vote {id} --choice yes|no|abstain)"
                );
            }
            Ok(())
        }
        GovCommand::Vote { id, choice, send } => {
            send_tx(client, TxBody::Vote { proposal: id, choice }, &send, json).await
        }
        GovCommand::Show { id } => {
            let p: Value = client.get(&format!("/v1/proposals/{id}")).await?;
            if json {
                print_json(&p);
                return Ok(());
            }
            let status = p["status"].as_str().unwrap_or("?");
            let (head, details) = describe_action(client, &p).await?;
            println!("proposal    {id}: {head}");
            for d in details {
                println!("  {d}");
            }
            println!("status      {status}");
            println!("description {}", p["description"].as_str().unwrap_or(""));
            let t = &p["tally"];
            let a = |k: &str| vgl(&t[k]).to_string();
            println!("tally       yes {} · no {} · abstain {}", a("yes"), a("no"), a("abstain"));
            match status {
                "voting" => {
                    let now: Value = client.get("/v1/params").await?;
                    let bonded = now["globals"]["total_bonded"].as_u64().unwrap_or(0);
                    let quorum_bps = now["params"]["governance_quorum_bps"].as_u64().unwrap_or(0);
                    let threshold = now["params"]["governance_threshold_bps"].as_u64().unwrap_or(0);
                    let quorum = u128::from(bonded) * u128::from(quorum_bps);
                    let quorum = u64::try_from(quorum.div_ceil(10_000)).unwrap_or(u64::MAX);
                    println!(
                        "voting      open until height {} (now {})",
                        p["voting_ends"], p["height"]
                    );
                    println!(
                        "to pass     {} must vote (yes, no or abstain; {} of the {} bonded now) \
                         and yes needs {} of yes + no",
                        Amount(quorum),
                        percent(quorum_bps),
                        Amount(bonded),
                        percent(threshold)
                    );
                    println!(
                        "next        vote with all your bonded stake: `vigil gov vote {id} \
                         --choice yes|no|abstain --key <file>`"
                    );
                }
                "passed" => {
                    if let Some(h) = p["execute_at"].as_u64() {
                        println!("next        executes at the end of height {h} (the timelock)");
                    }
                }
                _ => {
                    println!("voting      closed at height {}", p["voting_ends"]);
                }
            }
            if let Some(q) = p["quorum"].as_u64() {
                println!("quorum      {} had to vote", Amount(q));
            }
            if let (Some(h), "executed") = (p["execute_at"].as_u64(), status) {
                println!("executed    at height {h}");
            }
            if let Some(f) = p["failure"].as_str() {
                println!("failed      {f}");
            }
            Ok(())
        }
        GovCommand::List => {
            let list: Value = client.get("/v1/proposals").await?;
            if json {
                print_json(&list);
                return Ok(());
            }
            let proposals = list["proposals"].as_array().map(Vec::as_slice).unwrap_or_default();
            if proposals.is_empty() {
                println!("no proposals (vigil gov propose …)");
            }
            for p in proposals {
                println!(
                    "{:>4} {:<9} {:<16} {}",
                    p["id"],
                    p["status"].as_str().unwrap_or(""),
                    p["action"]["type"].as_str().unwrap_or(""),
                    p["description"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

/// What a proposal's action does, in words: a headline and detail lines. A parameter change is
/// decoded and compared with the parameters it replaces (those in force, until it executes).
async fn describe_action(client: &Client, p: &Value) -> Result<(String, Vec<String>)> {
    let action = &p["action"];
    let text = |v: &Value| v.as_str().unwrap_or("?").to_owned();
    Ok(match action["type"].as_str().unwrap_or("") {
        "parameter_change" => {
            let decoded = action["params"]
                .as_str()
                .and_then(|h| hex::decode(h.trim_start_matches("0x")).ok())
                .and_then(|b| vigil_core::encoding::decode::<vigil_ledger::Params>(&b).ok());
            let before: Option<vigil_ledger::Params> =
                serde_json::from_value(p["params_before"].clone()).ok();
            let (Some(new), Some(before)) = (decoded, before) else {
                return Ok(("change parameters (the encoded set does not decode)".into(), vec![]));
            };
            let changes = before.changes_to(&new);
            let head = match changes.len() {
                0 => "change no parameter (the set is the one in force)".to_owned(),
                1 => "change 1 parameter".to_owned(),
                n => format!("change {n} parameters"),
            };
            let lines = changes
                .iter()
                .map(|c| format!("set {} from {} to {}", c.name, c.from, c.to))
                .collect();
            (head, lines)
        }
        "treasury_spend" => {
            let now: Value = client.get("/v1/params").await?;
            (
                format!(
                    "pay {} from the treasury to {}",
                    vgl(&action["amount"]),
                    text(&action["to"])
                ),
                vec![format!("the treasury holds {} now", vgl(&now["globals"]["treasury"]))],
            )
        }
        "breaker_reset" => {
            let protocol = text(&action["protocol"]);
            let state = match client.get::<Value>(&format!("/v1/protocols/{protocol}")).await {
                Ok(record) => format!("its breaker is now {}", breaker_line(&record["breaker"])),
                Err(e) => format!("the protocol cannot be read: {e}"),
            };
            (format!("re-arm the breaker of {protocol}"), vec![state])
        }
        "slash" => (
            format!(
                "slash up to {} of the stake of {} to the treasury",
                vgl(&action["amount"]),
                text(&action["account"])
            ),
            vec!["bonded and unbonding stake; never more than is slashable".into()],
        ),
        "resolve_report" => {
            let verdict =
                if action["confirm"].as_bool() == Some(true) { "confirm" } else { "reject" };
            let report = text(&action["report"]);
            let detail = match client.get::<Value>(&format!("/v1/reports/{report}")).await {
                Ok(r) => format!(
                    "\"{}\", {} now",
                    r["report"]["summary"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or("?")
                ),
                Err(e) => format!("the report cannot be read: {e}"),
            };
            (format!("{verdict} escalated report {report}"), vec![detail])
        }
        "revoke_detection" => {
            let id = text(&action["detection"]);
            let detail = match client.get::<Value>(&format!("/v1/detection/{id}")).await {
                Ok(i) => format!(
                    "a shared {} from {}, {} on this node, {} hits",
                    i["kind"].as_str().unwrap_or("?"),
                    i["origin"]["type"].as_str().unwrap_or("?"),
                    i["state"].as_str().unwrap_or("?"),
                    i["hits"]
                ),
                Err(_) => "not known to this node".into(),
            };
            (format!("revoke shared detection item {id}"), vec![detail])
        }
        other => (format!("{other} (not known to this client)"), vec![]),
    })
}
