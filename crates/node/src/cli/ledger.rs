//! Commands that read the ledger or send transactions: `status`, `tx`, `report`, `account`,
//! `check`.

use std::time::Duration;

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use vigil_core::{
    AccountId, Amount, Category, ContentId, Evidence, Indicator, Report, Severity, Stance, TxBody,
};
use vigil_node::client::Client;

use super::keys::KeyArgs;

#[derive(Subcommand)]
pub enum TxCommand {
    /// Move liquid balance to another account.
    Transfer {
        /// Recipient account id.
        #[arg(long)]
        to: AccountId,
        /// Amount, e.g. 12.5 (VGL) or 12500000u (base units).
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Bond liquid balance as stake.
    Bond {
        /// Amount.
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Start unbonding stake (slashable until released).
    Unbond {
        /// Amount.
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
}

#[derive(Subcommand)]
pub enum ReportCommand {
    /// Submit a threat report with a bond.
    Submit {
        /// An indicator (repeat for several).
        #[arg(long = "indicator", required = true)]
        indicators: Vec<Indicator>,
        /// info, low, medium, high or critical.
        #[arg(long)]
        severity: Severity,
        /// exploit, phishing, scam, sanctioned, malicious_contract, governance_attack, vulnerability, other.
        #[arg(long)]
        category: Category,
        /// What happened.
        #[arg(long)]
        summary: String,
        /// tx:<chain>:0x… or a URL (repeatable).
        #[arg(long = "evidence")]
        evidence: Vec<Evidence>,
        /// Affected protocol (repeatable).
        #[arg(long = "protocol")]
        protocols: Vec<String>,
        /// Bond, lost if the report is rejected.
        #[arg(long)]
        bond: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Confirm or dispute a report, locking stake behind the attestation.
    Attest {
        /// The report id.
        id: ContentId,
        /// The report is true.
        #[arg(long, conflicts_with = "dispute", required_unless_present = "dispute")]
        confirm: bool,
        /// The report is false.
        #[arg(long)]
        dispute: bool,
        /// Stake to lock.
        #[arg(long)]
        stake: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show a report with its attestations.
    Show {
        /// The report id.
        id: ContentId,
    },
    /// List reports, newest first.
    List {
        /// open, confirmed, rejected or escalated.
        #[arg(long)]
        status: Option<String>,
        /// Page (from 1).
        #[arg(long, default_value_t = 1)]
        page: usize,
    },
}

#[derive(Args)]
pub struct SendArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Return once admitted to the mempool instead of waiting for the block.
    #[arg(long)]
    pub no_wait: bool,
}

/// Runs `vigil status`.
pub async fn status(client: &Client, json: bool) -> Result<()> {
    let s = client.status().await?;
    if json {
        print_json(&serde_json::to_value(&s)?);
    } else {
        println!("chain      {}", s.chain_id);
        println!("height     {}", s.height);
        println!("app hash   {}", s.app_hash);
        println!("mempool    {} pending", s.mempool_size);
        println!("validators {}", s.validators.len());
        if let Some(watch) = &s.watch {
            let source = watch.trace_source.map_or("not probed yet", |t| t.as_str());
            println!("watch      traces from {source}");
        }
    }
    Ok(())
}

/// Runs `vigil tx …`.
pub async fn tx(client: &Client, cmd: TxCommand, json: bool) -> Result<()> {
    let (body, send) = match cmd {
        TxCommand::Transfer { to, amount, send } => (TxBody::Transfer { to, amount }, send),
        TxCommand::Bond { amount, send } => (TxBody::Bond { amount }, send),
        TxCommand::Unbond { amount, send } => (TxBody::Unbond { amount }, send),
    };
    send_tx(client, body, &send, json).await
}

/// Runs `vigil account`.
pub async fn account(
    client: &Client,
    account: Option<AccountId>,
    key: &KeyArgs,
    json: bool,
) -> Result<()> {
    let id = match account {
        Some(id) => id,
        None => key.load().map_err(|e| e.context("give an account id or --key"))?.account_id(),
    };
    let a = client.account(&id).await?;
    if json {
        print_json(&a);
        return Ok(());
    }
    let amount = |k: &str| Amount(a[k].as_u64().unwrap_or(0)).to_string();
    println!("account     {id}");
    println!("balance     {}", amount("balance"));
    println!("bonded      {} ({} locked in attestations)", amount("bonded"), amount("locked"));
    for u in a["unbonding"].as_array().into_iter().flatten() {
        println!(
            "unbonding   {} until height {}",
            Amount(u["amount"].as_u64().unwrap_or(0)),
            u["release_height"]
        );
    }
    println!("nonce       {} (next {})", a["nonce"], a["next_nonce"]);
    println!("reputation  {}/100", a["reputation_score"]);
    Ok(())
}

/// Runs `vigil check`.
pub async fn check(client: &Client, indicator: &str, json: bool) -> Result<()> {
    // Said here, before the node is asked, so the reason is the parser's own (another chain's
    // address, a wrong length) rather than the API's list of forms.
    indicator.parse::<Indicator>()?;
    let c = client.check(indicator).await?;
    if json {
        print_json(&serde_json::to_value(&c)?);
        return Ok(());
    }
    print_check(&c);
    for m in &c.reports {
        println!(
            "  {} {:<9} {} {} confidence {}",
            m.report,
            m.status.as_str(),
            m.severity,
            m.category,
            m.confidence
        );
    }
    Ok(())
}

/// Prints pretty JSON.
pub fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Signs, submits and (unless --no-wait) waits for the commit of a transaction.
pub async fn send_tx(client: &Client, body: TxBody, send: &SendArgs, json: bool) -> Result<()> {
    let key = send.key.load()?;
    let kind = body.kind();
    let (id, _) = client.sign_and_submit(&key, body).await?;
    if send.no_wait {
        if json {
            print_json(&serde_json::json!({ "id": id, "status": "pending" }));
        } else {
            println!("{kind} {id} pending");
        }
        return Ok(());
    }
    let status = client.wait_committed(&id, Duration::from_secs(60)).await?;
    if json {
        print_json(&status);
    } else {
        let outcome = &status["result"]["outcome"];
        let height = &status["height"];
        match outcome.get("Err") {
            Some(err) => {
                bail!("{kind} {id} committed at height {height} but failed: {}", err["code"])
            }
            None => println!("{kind} {id} committed at height {height}"),
        }
    }
    Ok(())
}

/// Runs `vigil report …`.
pub async fn report(client: &Client, cmd: ReportCommand, json: bool) -> Result<()> {
    match cmd {
        ReportCommand::Submit {
            indicators,
            severity,
            category,
            summary,
            evidence,
            protocols,
            bond,
            send,
        } => {
            let report = Report {
                indicators,
                severity,
                category,
                summary,
                evidence,
                affected_protocols: protocols,
            };
            report.check_shape()?;
            let id = report.id();
            send_tx(client, TxBody::SubmitReport { report, bond }, &send, json).await?;
            if !json {
                println!("report {id}");
            }
            Ok(())
        }
        ReportCommand::Attest { id, confirm, dispute: _, stake, send } => {
            let stance = if confirm { Stance::Confirm } else { Stance::Dispute };
            send_tx(client, TxBody::Attest { report: id, stance, stake }, &send, json).await
        }
        ReportCommand::Show { id } => {
            let r = client.report(&id).await?;
            if json {
                print_json(&r);
                return Ok(());
            }
            println!("report      {id}");
            println!("status      {}", r["status"].as_str().unwrap_or("?"));
            println!(
                "severity    {} · {}",
                r["report"]["severity"].as_str().unwrap_or("?"),
                r["report"]["category"].as_str().unwrap_or("?")
            );
            println!("summary     {}", r["report"]["summary"].as_str().unwrap_or(""));
            println!("reporter    {}", r["reporter"].as_str().unwrap_or(""));
            println!("bond        {}", Amount(r["bond"].as_u64().unwrap_or(0)));
            println!("window      heights {}..={}", r["submitted_at"], r["deadline"]);
            for i in r["report"]["indicators"].as_array().into_iter().flatten() {
                println!("indicator   {}", i.as_str().unwrap_or(""));
            }
            let t = &r["tally"];
            println!(
                "tally       confirm {} / dispute {} (weight), {} attestations",
                t["confirm_weight"], t["dispute_weight"], t["attestations"]
            );
            for a in r["attestations"].as_array().into_iter().flatten() {
                println!(
                    "  {} {:<8} stake {} weight {}{}",
                    a["attester"].as_str().unwrap_or(""),
                    a["stance"].as_str().unwrap_or(""),
                    Amount(a["stake"].as_u64().unwrap_or(0)),
                    a["weight"],
                    match a["outcome"].as_object() {
                        Some(o) => format!(
                            " → {} (slashed {}, reward {})",
                            if o["won"].as_bool() == Some(true) { "won" } else { "lost" },
                            Amount(o["slashed"].as_u64().unwrap_or(0)),
                            Amount(o["reward"].as_u64().unwrap_or(0))
                        ),
                        None => String::new(),
                    }
                );
            }
            if let Some(s) = r["settlement"].as_object() {
                println!(
                    "settlement  slashed {}, reporter reward {}, winners {}, treasury {}",
                    Amount(s["slashed"].as_u64().unwrap_or(0)),
                    Amount(s["reporter_reward"].as_u64().unwrap_or(0)),
                    Amount(s["winners_reward"].as_u64().unwrap_or(0)),
                    Amount(s["to_treasury"].as_u64().unwrap_or(0)),
                );
            }
            Ok(())
        }
        ReportCommand::List { status, page } => {
            let mut path = format!("/v1/reports?page={page}");
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            let list: Value = client.get(&path).await?;
            if json {
                print_json(&list);
                return Ok(());
            }
            println!("{} reports (page {})", list["total"], list["page"]);
            for r in list["reports"].as_array().into_iter().flatten() {
                println!(
                    "{} {:<9} {:<8} {}",
                    r["id"].as_str().unwrap_or(""),
                    r["status"].as_str().unwrap_or(""),
                    r["severity"].as_str().unwrap_or(""),
                    r["summary"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

/// Prints the verdict and what the feeds say, in `vigil check`'s text output (the reports
/// follow).
pub fn print_check(c: &vigil_node::api::CheckResponse) {
    let i = &c.indicator;
    for w in &c.warnings {
        println!("warning: {w}");
    }
    if c.flagged {
        println!("{i} is FLAGGED (confidence {}/100)", c.confidence);
    } else if let Some(by) = &c.allowed_by {
        let also = if c.reports.is_empty() { "" } else { "; no report on it is confirmed" };
        println!("{i} is not flagged: on an imported allow list (covered by {by}){also}");
    } else if c.reports.is_empty() && c.feeds.is_none() {
        println!("{i} is not flagged: no report or imported feed names it");
    } else {
        println!("{i} is not flagged: nothing confirmed or still active names it");
    }
    let Some(f) = &c.feeds else { return };
    let how = match f.kind {
        vigil_node::intel::check::FeedMatchKind::Exact => "listed".to_owned(),
        vigil_node::intel::check::FeedMatchKind::AnyChain => {
            format!("listed as {} (every chain)", f.matched)
        }
        vigil_node::intel::check::FeedMatchKind::ParentDomain => {
            format!("parent domain {} listed", f.matched)
        }
        vigil_node::intel::check::FeedMatchKind::LookAlike => {
            format!("look-alike of {} (distance {})", f.matched, f.distance.unwrap_or(0))
        }
        vigil_node::intel::check::FeedMatchKind::UrlHost => {
            format!("its host {} is listed", f.matched)
        }
        vigil_node::intel::check::FeedMatchKind::UrlOnHost => {
            format!("a page on it is listed: {}", f.matched)
        }
    };
    println!(
        "  feeds: {how}, confidence {}/100{}",
        f.confidence,
        if f.active { "" } else { " (decayed: no longer active)" }
    );
    for s in &f.sources {
        let labels =
            if s.labels.is_empty() { String::new() } else { format!(" [{}]", s.labels.join(", ")) };
        println!(
            "    {:<20} {}{labels} · seen {} … {} · confidence {}{}",
            s.name,
            s.category,
            s.first_seen,
            s.last_seen,
            s.confidence,
            if s.active { "" } else { " (expired)" }
        );
    }
}
