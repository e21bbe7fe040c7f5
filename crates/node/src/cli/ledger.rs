//! Commands that read the ledger or send transactions: `status`, `tx`, `report`, `account`,
//! `check`.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};
use serde_json::Value;
use vigil_core::{
    AccountId, Amount, Category, ContentId, Detection, Evidence, Fingerprint, Indicator, Report,
    Severity, Stance, TxBody,
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
    #[command(group(
        clap::ArgGroup::new("flagged")
            .required(true)
            .multiple(true)
            .args(["indicators", "rules", "fingerprint_from", "stix", "revokes"])
    ))]
    Submit {
        /// An indicator (repeat for several).
        #[arg(long = "indicator")]
        indicators: Vec<Indicator>,
        /// A CEL rule file (TOML, contract ABIs inline) that detects the threat; every node
        /// loads it once the report is confirmed (repeatable).
        #[arg(long = "rule", value_name = "FILE")]
        rules: Vec<std::path::PathBuf>,
        /// The attack's call trace — a geth `callTracer` result, or a recording `vigil replay`
        /// reads holding one traced transaction (`FILE#0x<hash>` picks one of several): its
        /// fingerprint, free of addresses, is shared (repeatable).
        #[arg(long = "fingerprint-from", value_name = "TX_TRACE")]
        fingerprint_from: Vec<String>,
        /// A STIX bundle whose `vigil-fingerprint` and `vigil-cel` indicators (as Vigil exports
        /// them) join the report's detection content.
        #[arg(long = "detection-from-stix", value_name = "BUNDLE")]
        stix: Option<std::path::PathBuf>,
        /// How similar, in percent (60–100), a transaction must be to the fingerprints to
        /// match.
        #[arg(long, default_value_t = vigil_core::detection::DEFAULT_MIN_SIMILARITY)]
        min_similarity: u8,
        /// A shared fingerprint or rule file this report withdraws (repeatable).
        #[arg(long = "revoke", value_name = "DETECTION")]
        revokes: Vec<ContentId>,
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
    #[command(group(clap::ArgGroup::new("stance").required(true).args(["confirm", "dispute"])))]
    Attest {
        /// The report id, or a unique prefix of it (at least 4 hex digits).
        id: String,
        /// The report is true.
        #[arg(long, conflicts_with = "dispute")]
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
    /// Show a report with its attestations, and explain its status: the weight cast against
    /// the quorum and the threshold, what happens next and the command to do it.
    Show {
        /// The report id, or a unique prefix of it (at least 4 hex digits).
        id: String,
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
            rules,
            fingerprint_from,
            stix,
            min_similarity,
            revokes,
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
                detection: {
                    let mut d = detection_content(&rules, &fingerprint_from, min_similarity)?;
                    if let Some(path) = &stix {
                        d.extend(detection_from_stix(path)?);
                    }
                    d
                },
                revokes,
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
            let id = resolve_report(client, &id).await?;
            let stance = if confirm { Stance::Confirm } else { Stance::Dispute };
            send_tx(client, TxBody::Attest { report: id, stance, stake }, &send, json).await
        }
        ReportCommand::Show { id } => {
            let id = resolve_report(client, &id).await?;
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
            let attestations = t["attestations"].as_u64().unwrap_or(0);
            println!(
                "tally       confirm {} · dispute {} of weight (stake × reputation), {attestations} \
                 attestation{}",
                vgl(&t["confirm_weight"]),
                vgl(&t["dispute_weight"]),
                if attestations == 1 { "" } else { "s" }
            );
            for a in r["attestations"].as_array().into_iter().flatten() {
                println!(
                    "  {} {:<8} stake {} weight {}{}",
                    a["attester"].as_str().unwrap_or(""),
                    a["stance"].as_str().unwrap_or(""),
                    vgl(&a["stake"]),
                    vgl(&a["weight"]),
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
            for (label, line) in explain_report(&id, &r) {
                println!("{label:<11} {line}");
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

/// The detection content of `vigil report submit`: each rule file, checked as every node will
/// check it, and the fingerprint of each trace.
fn detection_content(
    rules: &[std::path::PathBuf],
    traces: &[String],
    min_similarity: u8,
) -> Result<Vec<Detection>> {
    let mut out = Vec::new();
    for path in rules {
        let source = std::fs::read_to_string(path)
            .with_context(|| format!("reading rule file {}", path.display()))?;
        let d = Detection::Rules { source };
        vigil_detect::shared::check(&d).with_context(|| format!("rule file {}", path.display()))?;
        out.push(d);
    }
    for spec in traces {
        let mut fp = fingerprint_from(spec)?;
        fp.min_similarity = min_similarity;
        let d = Detection::Fingerprint(fp);
        d.check_shape().with_context(|| format!("fingerprint of {spec}"))?;
        out.push(d);
    }
    Ok(out)
}

/// The detection items of a STIX bundle's Vigil indicators, each checked as nodes check it.
fn detection_from_stix(path: &std::path::Path) -> Result<Vec<Detection>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading STIX bundle {}", path.display()))?;
    let bundle: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let items = vigil_intel::stix::detection::detections_in(&bundle)
        .with_context(|| path.display().to_string())?;
    if items.is_empty() {
        bail!("{} holds no vigil-fingerprint or vigil-cel indicator", path.display());
    }
    for d in &items {
        vigil_detect::shared::check(d).with_context(|| path.display().to_string())?;
    }
    Ok(items)
}

/// The fingerprint of the call tree in `spec`: `FILE` or `FILE#0x<tx hash>`.
fn fingerprint_from(spec: &str) -> Result<Fingerprint> {
    let (path, wanted) = match spec.rsplit_once('#') {
        Some((p, h)) => (
            p,
            Some(h.parse::<vigil_core::B256>().with_context(|| {
                format!("{spec:?}: after '#' comes a transaction hash (0x + 64 hex)")
            })?),
        ),
        None => (spec, None),
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading trace {path}"))?;
    // A bare `callTracer` tree, or a JSON-RPC answer holding one.
    if wanted.is_none() {
        let value: Option<Value> = serde_json::from_str(&text).ok();
        let tree = match value.as_ref().and_then(|v| v.get("result")) {
            Some(r) if r.get("type").is_some() => Some(r.to_string()),
            _ => value
                .filter(|v| v.get("type").is_some() && v.get("from").is_some())
                .map(|_| text.clone()),
        };
        if let Some(tree) = tree {
            let trace = vigil_detect::trace::geth::parse_tree(&tree)
                .with_context(|| format!("{path}: not a callTracer trace"))?;
            return Ok(vigil_detect::fingerprint::fingerprint(&trace.root));
        }
    }
    // A recording: one traced transaction, or the one named.
    let txs = vigil_detect::replay::read(&text, vigil_core::EvmChainId(1))
        .with_context(|| format!("{path}: neither a callTracer trace nor a recording"))?;
    let traced: Vec<_> = txs
        .iter()
        .filter(|t| t.tx.trace.is_some())
        .filter(|t| wanted.is_none_or(|w| t.hash == Some(w)))
        .collect();
    match traced.as_slice() {
        [one] => Ok(vigil_detect::fingerprint::fingerprint(
            &one.tx.trace.as_ref().map(|t| &t.root).context("traced")?.clone(),
        )),
        [] => match wanted {
            Some(w) => bail!("{path} holds no traced transaction {w}"),
            None => bail!("{path} holds no transaction with a call trace"),
        },
        many => {
            bail!("{path} holds {} traced transactions; name one as {path}#0x<hash>", many.len())
        }
    }
}

/// `vigil stream …`: audit payment streams.
#[derive(Subcommand)]
pub enum StreamCommand {
    /// Open a stream paying RATE per block to an auditor from a deposit (you are its sender).
    Open {
        /// Who is paid.
        #[arg(long)]
        to: AccountId,
        /// Paid per block, e.g. 0.5 (VGL) or 500000u (base units).
        #[arg(long)]
        rate: Amount,
        /// Moved from your balance into the stream now (top up later).
        #[arg(long, default_value = "0")]
        deposit: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Add to a stream's deposit (its sender).
    Topup {
        /// The stream id.
        id: u64,
        /// How much.
        #[arg(long)]
        amount: Amount,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Stop accrual; what has accrued stays owed (its sender).
    Pause {
        /// The stream id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Resume a paused stream, optionally at a new rate (its sender).
    Restart {
        /// The stream id.
        id: u64,
        /// A new rate per block.
        #[arg(long)]
        rate: Option<Amount>,
        #[command(flatten)]
        send: SendArgs,
    },
    /// End a stream: the deposit beyond what is owed comes back to you (its sender).
    Close {
        /// The stream id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Withdraw what has accrued, up to the deposit (its recipient).
    Claim {
        /// The stream id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Forfeit the debt the deposit does not cover; the stream pauses (sender or recipient).
    Void {
        /// The stream id.
        id: u64,
        #[command(flatten)]
        send: SendArgs,
    },
    /// Show a stream: rate, deposit, debt, what can be withdrawn now, what a close refunds.
    Show {
        /// The stream id.
        id: u64,
    },
    /// List every stream.
    List,
}

fn stream_line(s: &Value) -> String {
    format!(
        "stream {} {:<9} {} → {} at {}/block; balance {}, debt {}, withdrawable {}, uncovered {}, withdrawn {}",
        s["id"],
        s["status"].as_str().unwrap_or(""),
        short(&s["sender"]),
        short(&s["recipient"]),
        vgl(&s["rate"]),
        vgl(&s["balance"]),
        vgl(&s["debt"]),
        vgl(&s["withdrawable"]),
        vgl(&s["uncovered_debt"]),
        vgl(&s["withdrawn"]),
    )
}

/// Runs `vigil stream …`.
pub async fn stream(client: &Client, cmd: StreamCommand, json: bool) -> Result<()> {
    let (body, send) = match cmd {
        StreamCommand::Open { to, rate, deposit, send } => {
            (TxBody::OpenStream { recipient: to, rate, deposit }, send)
        }
        StreamCommand::Topup { id, amount, send } => {
            (TxBody::StreamTopUp { stream: id, amount }, send)
        }
        StreamCommand::Pause { id, send } => (TxBody::StreamPause { stream: id }, send),
        StreamCommand::Restart { id, rate, send } => {
            (TxBody::StreamRestart { stream: id, rate }, send)
        }
        StreamCommand::Close { id, send } => (TxBody::StreamClose { stream: id }, send),
        StreamCommand::Claim { id, send } => (TxBody::StreamClaim { stream: id }, send),
        StreamCommand::Void { id, send } => (TxBody::StreamVoid { stream: id }, send),
        StreamCommand::Show { id } => {
            let s: Value = client.get(&format!("/v1/streams/{id}")).await?;
            if json {
                print_json(&s);
            } else {
                println!("{}", stream_line(&s));
            }
            return Ok(());
        }
        StreamCommand::List => {
            let list: Value = client.get("/v1/streams").await?;
            if json {
                print_json(&list);
            } else {
                for s in list["streams"].as_array().into_iter().flatten() {
                    println!("{}", stream_line(s));
                }
            }
            return Ok(());
        }
    };
    send_tx(client, body, &send, json).await
}

/// `vigil rules …`: the shared detection content a node matches.
#[derive(Subcommand)]
pub enum RulesCommand {
    /// List the shared fingerprints and rule files the node knows: state (in_force,
    /// provisional, revoked, rejected), kind, origin report or alert, confidence and hits.
    List,
    /// Show one item with its content.
    Show {
        /// Its detection id.
        id: ContentId,
    },
    /// Check a rule file as nodes will before sharing it: it compiles, is at most 16 KiB and
    /// costs at most 4,096 to evaluate.
    Check {
        /// The rule file.
        file: std::path::PathBuf,
    },
}

/// Runs `vigil rules …`.
pub async fn rules(client: &Client, cmd: RulesCommand, json: bool) -> Result<()> {
    match cmd {
        RulesCommand::List => {
            let list: Value = client.get("/v1/detection").await?;
            if json {
                print_json(&list);
                return Ok(());
            }
            let items = list["items"].as_array().cloned().unwrap_or_default();
            println!("{} shared detection items", items.len());
            for i in &items {
                let origin = &i["origin"];
                let from = match origin["type"].as_str() {
                    Some("report") => format!("report {}", short(&origin["report"])),
                    Some("alert") => format!(
                        "alert {} of {}",
                        short(&origin["alert"]),
                        short(&origin["monitor"])
                    ),
                    _ => String::new(),
                };
                println!(
                    "{} {:<11} {:<11} {:<8} conf {:>3} hits {:>5}  {from}{}",
                    short(&i["id"]),
                    i["kind"].as_str().unwrap_or(""),
                    i["state"].as_str().unwrap_or(""),
                    i["severity"].as_str().unwrap_or(""),
                    i["confidence"],
                    i["hits"],
                    i["revoked_by"]
                        .as_str()
                        .map(|b| format!(" (revoked by {b})"))
                        .unwrap_or_default(),
                );
            }
            Ok(())
        }
        RulesCommand::Show { id } => {
            let item: Value = client.get(&format!("/v1/detection/{id}")).await?;
            print_json(&item);
            Ok(())
        }
        RulesCommand::Check { file } => {
            let source = std::fs::read_to_string(&file)
                .with_context(|| format!("reading rule file {}", file.display()))?;
            let set = vigil_detect::shared::compile_rules(&file.display().to_string(), &source)?;
            let d = Detection::Rules { source };
            if json {
                print_json(&serde_json::json!({
                    "id": d.id(), "rules": set.len(), "cost": set.cost(),
                    "max_cost": vigil_detect::shared::MAX_RULES_COST,
                }));
            } else {
                println!(
                    "{}: {} rules, cost {} of {}; detection id {}",
                    file.display(),
                    set.len(),
                    set.cost(),
                    vigil_detect::shared::MAX_RULES_COST,
                    d.id()
                );
            }
            Ok(())
        }
    }
}

/// The first 16 hex digits of an id, for tables.
fn short(v: &Value) -> String {
    v.as_str().map(|s| s.chars().take(16).collect()).unwrap_or_default()
}

/// An amount in base units, as JSON, for people.
pub fn vgl(v: &Value) -> Amount {
    Amount(v.as_u64().unwrap_or(0))
}

/// A fraction in basis points as a percentage, e.g. `66.67%`.
pub fn percent(bps: u64) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

/// `part` as basis points of `whole` (0 when `whole` is 0), rounded down.
fn share_bps(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        return 0;
    }
    u64::try_from(u128::from(part) * 10_000 / u128::from(whole)).unwrap_or(u64::MAX)
}

/// A report id from its 64 hex digits or from a unique prefix of at least 4 (with or without
/// 0x, as `vigil report list` and the demo print them), resolved against the node.
pub async fn resolve_report(client: &Client, text: &str) -> Result<ContentId> {
    let text = text.trim();
    let hex = text.strip_prefix("0x").unwrap_or(text);
    if hex.len() == 64 {
        return Ok(text.parse()?);
    }
    if hex.len() < 4 || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        bail!(
            "{text:?} is not a report id: give its 64 hex digits or a unique prefix of at least 4 \
             (`vigil report list` shows the ids)"
        );
    }
    let hex = hex.to_ascii_lowercase();
    let list: Value = client.get(&format!("/v1/reports?prefix={hex}&limit=10")).await?;
    let reports = list["reports"].as_array().map(Vec::as_slice).unwrap_or_default();
    match (list["total"].as_u64().unwrap_or(0), reports) {
        (0, _) | (_, []) => {
            bail!("no report id starts with {hex} (`vigil report list` shows the reports)")
        }
        (1, [only]) => Ok(only["id"].as_str().unwrap_or_default().parse()?),
        (total, some) => {
            let mut candidates: Vec<String> = some
                .iter()
                .map(|r| {
                    format!(
                        "  {} {} {}",
                        r["id"].as_str().unwrap_or(""),
                        r["status"].as_str().unwrap_or(""),
                        r["summary"].as_str().unwrap_or("")
                    )
                })
                .collect();
            if total > some.len() as u64 {
                candidates.push(format!("  … and {} more", total - some.len() as u64));
            }
            bail!(
                "report id prefix {hex} is ambiguous: {total} reports start with it; give more \
                 digits:\n{}",
                candidates.join("\n")
            )
        }
    }
}

/// Why a report has its status, in words, with what happens next and the command to do it:
/// `(label, line)` pairs for `report show`.
fn explain_report(id: &ContentId, r: &Value) -> Vec<(&'static str, String)> {
    let short = id.short();
    let rule = &r["verdict_rule"];
    let num = |v: &Value| v.as_u64().unwrap_or(0);
    let (quorum, cast) = (num(&rule["quorum"]), num(&rule["cast"]));
    let threshold = num(&rule["threshold_bps"]);
    let confirm = num(&r["tally"]["confirm_weight"]);
    let dispute = num(&r["tally"]["dispute_weight"]);
    let deadline = num(&r["deadline"]);
    let sides = format!(
        "confirm has {} of it, dispute {}; a side needs {}",
        percent(share_bps(confirm, cast)),
        percent(share_bps(dispute, cast)),
        percent(threshold)
    );
    let proposals = r["proposals"].as_array().map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::new();
    match r["status"].as_str().unwrap_or("") {
        "open" => {
            let height = num(&r["height"]);
            out.push((
                "verdict",
                format!(
                    "open for attestations until height {deadline} (now {height}, {} blocks \
                     left); the verdict comes at the end of that height",
                    deadline.saturating_sub(height)
                ),
            ));
            let need = format!(
                "the quorum is {} of weight, {} of the {} bonded now",
                Amount(quorum),
                percent(num(&rule["quorum_bps"])),
                vgl(&rule["total_bonded"])
            );
            out.push((
                "quorum",
                if cast > 0 && cast >= quorum {
                    format!("{} of weight cast: reached; {need}", Amount(cast))
                } else {
                    format!(
                        "{} of weight cast, {} more needed by height {deadline} or the report \
                         escalates to governance; {need}",
                        Amount(cast),
                        Amount(quorum.saturating_sub(cast).max(1))
                    )
                },
            ));
            if cast > 0 {
                out.push(("threshold", sides));
            }
            out.push((
                "if closed",
                format!("now, it would be {}", rule["if_closed_now"].as_str().unwrap_or("?")),
            ));
            out.push((
                "next",
                format!(
                    "attest (not as its reporter): `vigil report attest {short} --confirm|--dispute \
                     --stake <VGL> --key <file>`"
                ),
            ));
        }
        "escalated" => {
            let why = if cast == 0 {
                format!(
                    "nobody attested before the deadline (height {deadline}), so no weight was \
                     cast against the quorum of {}",
                    Amount(quorum)
                )
            } else if cast < quorum {
                format!(
                    "the weight cast, {}, is below the quorum {} at the deadline (height \
                     {deadline})",
                    Amount(cast),
                    Amount(quorum)
                )
            } else {
                format!("no side won the {} of weight cast: {sides}", Amount(cast))
            };
            out.push(("verdict", format!("escalated because {why}; governance decides it")));
            out.push((
                "locked",
                "the bond and the attesters' stakes stay locked until then".into(),
            ));
            let pending: Vec<&Value> = proposals
                .iter()
                .filter(|p| matches!(p["status"].as_str(), Some("voting" | "passed")))
                .collect();
            if pending.is_empty() {
                out.push((
                    "next",
                    format!(
                        "propose a decision: `vigil gov propose --resolve-report {short} \
                         confirm|reject --description \"…\" --key <file>`, then bonded stake \
                         votes on it (`vigil gov vote <proposal> --choice yes|no|abstain --key \
                         <file>`)"
                    ),
                ));
            }
            for p in pending {
                let verb = if p["confirm"].as_bool() == Some(true) { "confirm" } else { "reject" };
                out.push((
                    "next",
                    format!(
                        "proposal {} ({}) would {verb} it: `vigil gov show {}`, `vigil gov vote {} \
                         --choice yes|no|abstain --key <file>`",
                        p["id"],
                        p["status"].as_str().unwrap_or(""),
                        p["id"],
                        p["id"]
                    ),
                ));
            }
        }
        status @ ("confirmed" | "rejected") => {
            let by_vote = proposals.iter().find(|p| p["status"] == "executed");
            let at = &r["settlement"]["at_height"];
            out.push((
                "verdict",
                match by_vote {
                    Some(p) => format!(
                        "{status} by governance: proposal {} decided it at height {at}, after \
                         the report escalated",
                        p["id"]
                    ),
                    None => format!(
                        "{status} at height {at}: the weight cast, {}, reached the quorum {}, \
                         and {sides}",
                        Amount(cast),
                        Amount(quorum)
                    ),
                },
            ));
            out.push((
                "next",
                if status == "confirmed" {
                    "nothing: the verdict is final; its indicators now flag in `vigil check`".into()
                } else {
                    "nothing: the verdict is final (the settlement shows who was slashed and paid)"
                        .into()
                },
            ));
        }
        _ => {}
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A report as `GET /v1/reports/{id}` answers it, with the verdict rule's figures in VGL.
    fn answer(status: &str, confirm: u64, dispute: u64, quorum: u64) -> Value {
        let vgl = |n: u64| n * 1_000_000;
        serde_json::json!({
            "status": status, "deadline": 16, "height": 20,
            "tally": { "confirm_weight": vgl(confirm), "dispute_weight": vgl(dispute) },
            "verdict_rule": {
                "quorum": vgl(quorum), "cast": vgl(confirm + dispute), "threshold_bps": 6_667,
                "quorum_bps": 1_000, "total_bonded": vgl(quorum * 10),
            },
            "settlement": { "at_height": 16 },
            "proposals": [],
        })
    }

    fn explained(r: &Value) -> String {
        let id = ContentId([0xab; 32]);
        explain_report(&id, r).iter().map(|(l, t)| format!("{l}: {t}\n")).collect()
    }

    #[test]
    fn each_way_to_a_status_is_explained_with_the_next_command() {
        let nobody = explained(&answer("escalated", 0, 0, 500));
        assert!(nobody.contains("nobody attested before the deadline (height 16)"), "{nobody}");
        assert!(nobody.contains("--resolve-report abababababab confirm|reject"), "{nobody}");
        let split = explained(&answer("escalated", 300, 300, 500));
        assert!(
            split.contains("no side won the 600 VGL of weight cast: confirm has 50.00% of it"),
            "{split}"
        );
        let confirmed = explained(&answer("confirmed", 700, 50, 500));
        assert!(
            confirmed.contains("confirmed at height 16: the weight cast, 750 VGL, reached the quorum 500 VGL, and confirm has 93.33% of it, dispute 6.66%; a side needs 66.67%"),
            "{confirmed}"
        );
        assert!(confirmed.contains("next: nothing: the verdict is final"), "{confirmed}");
        let mut decided = answer("rejected", 0, 0, 500);
        decided["proposals"] =
            serde_json::json!([{ "id": 4, "status": "executed", "confirm": false }]);
        assert!(explained(&decided).contains("rejected by governance: proposal 4 decided it"));
        let mut open = answer("open", 600, 0, 500);
        open["height"] = serde_json::json!(10);
        open["verdict_rule"]["if_closed_now"] = serde_json::json!("confirmed");
        let open = explained(&open);
        assert!(open.contains("until height 16 (now 10, 6 blocks left)"), "{open}");
        assert!(open.contains("600 VGL of weight cast: reached"), "{open}");
        assert!(open.contains("now, it would be confirmed"), "{open}");
    }

    #[test]
    fn shares_and_percentages_round_down_and_survive_zero() {
        assert_eq!(percent(6_667), "66.67%");
        assert_eq!(percent(5), "0.05%");
        assert_eq!(share_bps(1, 3), 3_333);
        assert_eq!(share_bps(5, 0), 0);
        assert_eq!(share_bps(u64::MAX, 1), u64::MAX);
    }
}
