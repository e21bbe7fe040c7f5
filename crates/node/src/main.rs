//! The `vigil` command line: run a node (`up`, `node`), manage keys, and talk to a node
//! (`status`, `tx`, `report`, `stream`, `disclose`, `disclosure`, `recovery`, `account`,
//! `check`, `protocol`, `breaker`, `gov`, `feed`,
//! `stix`, `taxii`), and bring other tools' configurations in (`import oz-monitor`).

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use vigil_core::AccountId;
use vigil_node::client::Client;

use cli::bounty::{DiscloseArgs, DisclosureCommand, RecoveryCommand};
use cli::keys::{KeyArgs, KeyCommand};
use cli::ledger::{ReportCommand, RulesCommand, StreamCommand, TxCommand};
use cli::respond::{BreakerCommand, GovCommand, ProtocolCommand};
use cli::testnet::{AlertCommand, TestnetArgs};

#[derive(Parser)]
#[command(name = "vigil", version, about = "Vigil: a community-run security network for DeFi")]
struct Cli {
    /// The node to talk to, before the command (`vigil --node URL status`): kept for scripts
    /// written that way; the commands that talk to a node take `--node` themselves.
    #[arg(long, hide = true, value_name = "URL")]
    node: Option<String>,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

/// The node a command talks to; only commands that contact a node take it.
#[derive(clap::Args)]
struct NodeArgs {
    /// The node's API URL [default: http://127.0.0.1:7070].
    #[arg(long, global = true, env = "VIGIL_NODE", value_name = "URL")]
    node: Option<String>,
}

/// The API of `vigil up`'s node.
const DEFAULT_NODE: &str = "http://127.0.0.1:7070";

impl NodeArgs {
    /// A client of the node named here, else before the command, else the default.
    fn client(&self, before: &Option<String>) -> Client {
        Client::new(self.node.as_deref().or(before.as_deref()).unwrap_or(DEFAULT_NODE))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a single local node with a demo (the embedded default).
    Up {
        /// Data directory (created with a dev genesis and demo keys if new).
        #[arg(long, default_value = ".vigil")]
        data: PathBuf,
        /// API address (default 127.0.0.1:7070 for a new data directory; for an existing one
        /// it overrides its config.toml for this run).
        #[arg(long)]
        listen: Option<SocketAddr>,
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
    Status {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Send a transfer, bond or unbond transaction.
    Tx {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: TxCommand,
    },
    /// Submit, attest, show and list threat reports.
    Report {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: ReportCommand,
    },
    /// Audit payment streams: open, top up, pause, restart, close, claim, void, show, list.
    Stream {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: StreamCommand,
    },
    /// Disclose a vulnerability under embargo: the report is encrypted to the protocol's keys
    /// and only a commitment to it (with a bond) goes on the ledger.
    Disclose {
        #[command(flatten)]
        node: NodeArgs,
        #[command(flatten)]
        args: DiscloseArgs,
    },
    /// Embargoed disclosures: keygen, list, show, ack, downgrade, dispute, escalate, reveal,
    /// decrypt.
    Disclosure {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: DisclosureCommand,
    },
    /// Safe Harbor recovery bounties: claim, confirm, dispute, escalate, show, list.
    Recovery {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: RecoveryCommand,
    },
    /// Shared fingerprints and rule files: list those the node matches, show one, check a rule
    /// file before sharing it.
    Rules {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: RulesCommand,
    },
    /// Show an account (yours with --key).
    Account {
        /// The account id.
        account: Option<AccountId>,
        #[command(flatten)]
        key: KeyArgs,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Whether an address, domain, URL, code hash, selector or tx hash is flagged.
    Check {
        /// e.g. 0x… (address), eip155:1:0x…, codehash:0x…, selector:0x…, a domain, a URL,
        /// tx:1:0x…
        indicator: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Register protocols and inspect their security.
    Protocol {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: ProtocolCommand,
    },
    /// Trip, reset and inspect circuit breakers.
    Breaker {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: BreakerCommand,
    },
    /// Governance proposals and votes.
    Gov {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: GovCommand,
    },
    /// Write keys, a shared genesis and configs for a local multi-validator network.
    Testnet(TestnetArgs),
    /// Publish signed alerts to every node by gossip.
    Alert {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: AlertCommand,
    },
    /// Watch an EVM chain and its mempool, printing alerts as detectors and rules fire.
    Monitor(cli::watch::MonitorArgs),
    /// Run every detector and rule over recorded transactions (geth callTracer, parity traces,
    /// Vigil recordings) and print the alerts with a per-detector summary.
    Replay(cli::replay::ReplayArgs),
    /// Import threat-intelligence feeds into the node, list them, publish them as reports.
    Feed {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: cli::feed::FeedCommand,
    },
    /// Export the node's intelligence as STIX 2.1.
    Stix {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: cli::stix::StixCommand,
    },
    /// Publish the node's intelligence as a MISP feed.
    Misp {
        #[command(flatten)]
        node: NodeArgs,
        #[command(subcommand)]
        cmd: cli::stix::MispCommand,
    },
    /// TAXII server helpers.
    #[command(subcommand)]
    Taxii(cli::stix::TaxiiCommand),
    /// Bring other tools' configurations into Vigil (OpenZeppelin Monitor).
    #[command(subcommand)]
    Import(cli::import::ImportCommand),
    /// Simulate the incentives on the real ledger: attacks, liars, Sybils, bribes and
    /// corruptible guardians; writes CSV files, SVG plots and a summary of findings.
    Simulate(cli::simulate::SimulateArgs),
}

/// jemalloc (the default feature), as reth runs it: it hands freed pages back to the system
/// after its decay time, where glibc's malloc keeps them in per-thread arenas; of the three it
/// kept the node lowest with feed re-imports flat (BENCHMARKS.md, issue 15).
#[cfg(all(feature = "jemalloc", not(feature = "mimalloc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// mimalloc (`--no-default-features --features mimalloc`): flatter still, but about 20 MB
/// more resident throughout (BENCHMARKS.md).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack of every runtime thread: call trees nest up to 1,024 calls, and what walks them
/// (effects, detectors, serialisation) recurses once per level.
const THREAD_STACK: usize = 8 * 1024 * 1024;

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {}", cli::errors::render(&e));
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let json = cli.json;
    let node_before_command = cli.node;
    if node_before_command.is_some() && !cli.command.talks_to_a_node() {
        anyhow::bail!(
            "--node was given, but `vigil {}` does not talk to a node; it applies to status, \
             tx, report, account, check, protocol, breaker, gov, alert, feed and stix",
            cli.command.name()
        );
    }
    let b = &node_before_command;
    match cli.command {
        Command::Up { data, listen, no_demo } => cli::run::up(&data, listen, no_demo).await,
        Command::Node { config } => cli::run::node(&config).await,
        Command::Key(cmd) => cli::keys::run(cmd),
        Command::Status { node } => cli::ledger::status(&node.client(b), json).await,
        Command::Tx { node, cmd } => cli::ledger::tx(&node.client(b), cmd, json).await,
        Command::Report { node, cmd } => cli::ledger::report(&node.client(b), cmd, json).await,
        Command::Rules { node, cmd } => cli::ledger::rules(&node.client(b), cmd, json).await,
        Command::Stream { node, cmd } => cli::ledger::stream(&node.client(b), cmd, json).await,
        Command::Disclose { node, args } => {
            cli::bounty::disclose(&node.client(b), args, json).await
        }
        Command::Disclosure { node, cmd } => {
            cli::bounty::disclosure(&node.client(b), cmd, json).await
        }
        Command::Recovery { node, cmd } => cli::bounty::recovery(&node.client(b), cmd, json).await,
        Command::Account { account, key, node } => {
            cli::ledger::account(&node.client(b), account, &key, json).await
        }
        Command::Check { indicator, node } => {
            cli::ledger::check(&node.client(b), &indicator, json).await
        }
        Command::Protocol { node, cmd } => cli::respond::protocol(&node.client(b), cmd, json).await,
        Command::Breaker { node, cmd } => cli::respond::breaker(&node.client(b), cmd, json).await,
        Command::Gov { node, cmd } => cli::respond::gov(&node.client(b), cmd, json).await,
        Command::Testnet(args) => cli::testnet::testnet(args, json),
        Command::Alert { node, cmd } => cli::testnet::alert(&node.client(b), cmd, json).await,
        Command::Monitor(args) => cli::watch::run(args, json).await,
        Command::Replay(args) => cli::replay::run(args, json),
        Command::Feed { node, cmd } => cli::feed::run(&node.client(b), cmd, json).await,
        Command::Stix { node, cmd } => cli::stix::stix(&node.client(b), cmd).await,
        Command::Misp { node, cmd } => cli::stix::misp(&node.client(b), cmd).await,
        Command::Taxii(cmd) => cli::stix::taxii(cmd),
        Command::Import(cmd) => cli::import::run(cmd, json),
        Command::Simulate(args) => cli::simulate::run(args, json),
    }
}

impl Command {
    /// Whether the command talks to a node's API.
    fn talks_to_a_node(&self) -> bool {
        !matches!(
            self,
            Command::Up { .. }
                | Command::Node { .. }
                | Command::Key(_)
                | Command::Testnet(_)
                | Command::Monitor(_)
                | Command::Replay(_)
                | Command::Taxii(_)
                | Command::Import(_)
                | Command::Simulate(_)
        )
    }

    /// The command's name on the command line.
    fn name(&self) -> &'static str {
        match self {
            Command::Up { .. } => "up",
            Command::Node { .. } => "node",
            Command::Key(_) => "key",
            Command::Status { .. } => "status",
            Command::Tx { .. } => "tx",
            Command::Report { .. } => "report",
            Command::Rules { .. } => "rules",
            Command::Stream { .. } => "stream",
            Command::Disclose { .. } => "disclose",
            Command::Disclosure { .. } => "disclosure",
            Command::Recovery { .. } => "recovery",
            Command::Account { .. } => "account",
            Command::Check { .. } => "check",
            Command::Protocol { .. } => "protocol",
            Command::Breaker { .. } => "breaker",
            Command::Gov { .. } => "gov",
            Command::Testnet(_) => "testnet",
            Command::Alert { .. } => "alert",
            Command::Monitor(_) => "monitor",
            Command::Replay(_) => "replay",
            Command::Feed { .. } => "feed",
            Command::Stix { .. } => "stix",
            Command::Misp { .. } => "misp",
            Command::Taxii(_) => "taxii",
            Command::Import(_) => "import",
            Command::Simulate(_) => "simulate",
        }
    }
}
