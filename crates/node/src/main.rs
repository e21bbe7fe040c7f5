//! The `vigil` command line: run a node (`up`, `node`), manage keys, and talk to a node
//! (`status`, `tx`, `report`, `account`, `check`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use age::secrecy::SecretString;
use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use vigil_core::{
    AccountId, Amount, Category, ContentId, Evidence, Indicator, Keypair, Report, Severity, Stance,
    TxBody,
};
use vigil_node::client::Client;
use vigil_node::config::NodeConfig;
use vigil_node::node::Node;
use vigil_node::{devnet, keyfile};

#[derive(Parser)]
#[command(name = "vigil", version, about = "Vigil: a community-run security network for DeFi")]
struct Cli {
    /// The node to talk to.
    #[arg(long, global = true, env = "VIGIL_NODE", default_value = "http://127.0.0.1:7070")]
    node: String,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a single local node with a demo (the embedded default).
    Up {
        /// Data directory (created with a dev genesis and demo keys if new).
        #[arg(long, default_value = ".vigil")]
        data: PathBuf,
        /// API address for a new data directory.
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Do not run the demo on a fresh chain.
        #[arg(long)]
        no_demo: bool,
    },
    /// Run a node from a configuration file.
    Node {
        /// The configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Create and inspect account keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// The node's chain, height and app hash.
    Status,
    /// Send a transfer, bond or unbond transaction.
    #[command(subcommand)]
    Tx(TxCommand),
    /// Submit, attest, show and list threat reports.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Show an account (yours with --key).
    Account {
        /// The account id.
        account: Option<AccountId>,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Whether an address, domain, code hash, selector or tx hash is flagged.
    Check {
        /// e.g. 0x… (address), eip155:1:0x…, codehash:0x…, selector:0x…, a domain, tx:1:0x…
        indicator: String,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Generate a new Ed25519 account key (file mode 0600).
    New {
        /// Where to write the key file.
        #[arg(long)]
        out: PathBuf,
        /// Encrypt the key with a passphrase (age/scrypt).
        #[arg(long)]
        encrypt: bool,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
    /// Print the account id of a key file (never the secret).
    Show {
        /// The key file.
        #[arg(long)]
        key: PathBuf,
        #[command(flatten)]
        passphrase: PassphraseArgs,
    },
}

#[derive(Subcommand)]
enum TxCommand {
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
enum ReportCommand {
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
struct KeyArgs {
    /// The signer's key file.
    #[arg(long, env = "VIGIL_KEY")]
    key: Option<PathBuf>,
    #[command(flatten)]
    passphrase: PassphraseArgs,
}

#[derive(Args)]
struct SendArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Return once admitted to the mempool instead of waiting for the block.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Args)]
struct PassphraseArgs {
    /// Read the key passphrase from the first line of this file.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

impl PassphraseArgs {
    fn given(&self) -> Result<Option<SecretString>> {
        if let Some(path) = &self.passphrase_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading passphrase file {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default().to_owned();
            if line.is_empty() {
                bail!("passphrase file {} is empty", path.display());
            }
            return Ok(Some(SecretString::from(line)));
        }
        Ok(std::env::var("VIGIL_KEY_PASSPHRASE")
            .ok()
            .filter(|p| !p.is_empty())
            .map(SecretString::from))
    }

    fn for_reading(&self, path: &Path) -> Result<Option<SecretString>> {
        if let Some(p) = self.given()? {
            return Ok(Some(p));
        }
        if keyfile::is_encrypted(path)? {
            let p = rpassword::prompt_password(format!("Passphrase for {}: ", path.display()))?;
            return Ok(Some(SecretString::from(p)));
        }
        Ok(None)
    }
}

impl KeyArgs {
    fn load(&self) -> Result<Keypair> {
        let Some(path) = &self.key else {
            bail!(
                "this command signs a transaction: give the signer's key with --key FILE (or VIGIL_KEY)"
            );
        };
        Ok(keyfile::read(path, self.passphrase.for_reading(path)?)?)
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Cancels `token` on Ctrl-C or SIGTERM.
fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}

fn node_key(config: &NodeConfig) -> Result<Keypair> {
    let pass = std::env::var("VIGIL_KEY_PASSPHRASE")
        .ok()
        .filter(|p| !p.is_empty())
        .map(SecretString::from);
    keyfile::read(&config.key, pass).with_context(|| format!("node key {}", config.key.display()))
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let client = Client::new(&cli.node);
    let json = cli.json;
    match cli.command {
        Command::Up { data, listen, no_demo } => up(&data, listen, no_demo).await,
        Command::Node { config } => {
            init_logging("info");
            let config = NodeConfig::load(&config)?;
            let key = node_key(&config)?;
            let node = Node::open(config, key).await?;
            let shutdown = CancellationToken::new();
            cancel_on_signal(shutdown.clone());
            node.run(shutdown).await?;
            Ok(())
        }
        Command::Key(cmd) => key_command(cmd),
        Command::Status => {
            let s = client.status().await?;
            if json {
                print_json(&serde_json::to_value(&s)?);
            } else {
                println!("chain      {}", s.chain_id);
                println!("height     {}", s.height);
                println!("app hash   {}", s.app_hash);
                println!("mempool    {} pending", s.mempool_size);
                println!("validators {}", s.validators.len());
            }
            Ok(())
        }
        Command::Tx(cmd) => {
            let (body, send) = match cmd {
                TxCommand::Transfer { to, amount, send } => (TxBody::Transfer { to, amount }, send),
                TxCommand::Bond { amount, send } => (TxBody::Bond { amount }, send),
                TxCommand::Unbond { amount, send } => (TxBody::Unbond { amount }, send),
            };
            send_tx(&client, body, &send, json).await
        }
        Command::Report(cmd) => report_command(&client, cmd, json).await,
        Command::Account { account, key } => {
            let id = match account {
                Some(id) => id,
                None => key.load().context("give an account id or --key")?.account_id(),
            };
            let a = client.account(&id).await?;
            if json {
                print_json(&a);
            } else {
                let amount = |k: &str| Amount(a[k].as_u64().unwrap_or(0)).to_string();
                println!("account     {id}");
                println!("balance     {}", amount("balance"));
                println!(
                    "bonded      {} ({} locked in attestations)",
                    amount("bonded"),
                    amount("locked")
                );
                for u in a["unbonding"].as_array().into_iter().flatten() {
                    println!(
                        "unbonding   {} until height {}",
                        Amount(u["amount"].as_u64().unwrap_or(0)),
                        u["release_height"]
                    );
                }
                println!("nonce       {} (next {})", a["nonce"], a["next_nonce"]);
                println!("reputation  {}/100", a["reputation_score"]);
            }
            Ok(())
        }
        Command::Check { indicator } => {
            let c = client.check(&indicator).await?;
            if json {
                print_json(&serde_json::to_value(&c)?);
            } else if c.flagged {
                println!("{} is FLAGGED (confidence {}/100)", c.indicator, c.confidence);
            } else if c.reports.is_empty() {
                println!("{} is not flagged: no report names it", c.indicator);
            } else {
                println!("{} is not flagged (reports exist, none confirmed)", c.indicator);
            }
            if !json {
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
            }
            Ok(())
        }
    }
}

fn print_json(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn send_tx(client: &Client, body: TxBody, send: &SendArgs, json: bool) -> Result<()> {
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

async fn report_command(client: &Client, cmd: ReportCommand, json: bool) -> Result<()> {
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

fn key_command(cmd: KeyCommand) -> Result<()> {
    match cmd {
        KeyCommand::New { out, encrypt, passphrase } => {
            let pass = match passphrase.given()? {
                Some(p) => Some(p),
                None if encrypt => {
                    let first = rpassword::prompt_password("New passphrase: ")?;
                    let again = rpassword::prompt_password("Repeat passphrase: ")?;
                    if first != again {
                        bail!("the passphrases differ");
                    }
                    if first.is_empty() {
                        bail!("an empty passphrase protects nothing");
                    }
                    Some(SecretString::from(first))
                }
                None => None,
            };
            let encrypted = pass.is_some();
            let key = keyfile::create(&out, pass)?;
            println!("account  {}", key.account_id());
            println!(
                "key file {} (mode 0600{})",
                out.display(),
                if encrypted { ", passphrase-encrypted" } else { "" }
            );
        }
        KeyCommand::Show { key, passphrase } => {
            let pass = passphrase.for_reading(&key)?;
            println!("{}", keyfile::read(&key, pass)?.account_id());
        }
    }
    Ok(())
}

async fn up(data: &Path, listen: SocketAddr, no_demo: bool) -> Result<()> {
    init_logging("info,vigil_node=info");
    let net = devnet::init(data, listen)?;
    let config = NodeConfig::load(&net.config_path)?;
    let key = node_key(&config)?;
    let node = Node::open(config, key).await?;
    let fresh = node.state.ledger.read().height() == 0;
    let dir = std::fs::canonicalize(data).unwrap_or_else(|_| data.to_owned());
    let api = format!("http://{}", node.api_addr);
    println!();
    println!(
        "Vigil is up — chain {}, height {}",
        node.state.chain_id,
        node.state.ledger.read().height()
    );
    println!(
        "  API        {api}   (status /v1/status · events /v1/events · metrics /metrics · OpenAPI /v1/openapi.json)"
    );
    println!("  Dashboard  {api}/");
    println!("  Data       {}   (config.toml, genesis.toml, vigil.redb)", dir.display());
    println!("  Demo keys  {}/keys/{{alice,bob,carol,dave,mallory}}.key", dir.display());
    println!(
        "  Try        vigil report list · vigil account --key {}/keys/alice.key",
        dir.display()
    );
    if api != "http://127.0.0.1:7070" {
        println!("             (add --node {api} to talk to this node)");
    }
    println!("Press Ctrl-C to stop.");
    println!();
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    if fresh && !no_demo {
        let state = std::sync::Arc::clone(&node.state);
        let dir = dir.clone();
        let shared = std::env::current_dir().unwrap_or_default().join("../shared/data");
        tokio::spawn(async move {
            devnet::run_demo(state, &dir, &shared, Duration::from_secs(120)).await
        });
    }
    node.run(shutdown).await?;
    Ok(())
}
