//! The `vigil` command line: run a node (`up`, `node`), manage keys, and talk to a node
//! (`status`, `tx`, `report`, `account`, `check`, `protocol`, `breaker`, `gov`, `feed`,
//! `stix`, `taxii`).

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use vigil_core::AccountId;
use vigil_node::client::Client;

use cli::keys::{KeyArgs, KeyCommand};
use cli::ledger::{ReportCommand, TxCommand};
use cli::respond::{BreakerCommand, GovCommand, ProtocolCommand};
use cli::testnet::{AlertCommand, TestnetArgs};

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
    /// Register protocols and inspect their security.
    #[command(subcommand)]
    Protocol(ProtocolCommand),
    /// Trip, reset and inspect circuit breakers.
    #[command(subcommand)]
    Breaker(BreakerCommand),
    /// Governance proposals and votes.
    #[command(subcommand)]
    Gov(GovCommand),
    /// Write keys, a shared genesis and configs for a local multi-validator network.
    Testnet(TestnetArgs),
    /// Publish signed alerts to every node by gossip.
    #[command(subcommand)]
    Alert(AlertCommand),
    /// Watch an EVM chain and its mempool, printing alerts as detectors and rules fire.
    Monitor(cli::watch::MonitorArgs),
    /// Run every detector and rule over recorded transactions (geth callTracer, parity traces,
    /// Vigil recordings) and print the alerts with a per-detector summary.
    Replay(cli::replay::ReplayArgs),
    /// Import threat-intelligence feeds into the node, list them, publish them as reports.
    #[command(subcommand)]
    Feed(cli::feed::FeedCommand),
    /// Export the node's intelligence as STIX 2.1.
    #[command(subcommand)]
    Stix(cli::stix::StixCommand),
    /// TAXII server helpers.
    #[command(subcommand)]
    Taxii(cli::stix::TaxiiCommand),
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
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let client = Client::new(&cli.node);
    let json = cli.json;
    match cli.command {
        Command::Up { data, listen, no_demo } => cli::run::up(&data, listen, no_demo).await,
        Command::Node { config } => cli::run::node(&config).await,
        Command::Key(cmd) => cli::keys::run(cmd),
        Command::Status => cli::ledger::status(&client, json).await,
        Command::Tx(cmd) => cli::ledger::tx(&client, cmd, json).await,
        Command::Report(cmd) => cli::ledger::report(&client, cmd, json).await,
        Command::Account { account, key } => {
            cli::ledger::account(&client, account, &key, json).await
        }
        Command::Check { indicator } => cli::ledger::check(&client, &indicator, json).await,
        Command::Protocol(cmd) => cli::respond::protocol(&client, cmd, json).await,
        Command::Breaker(cmd) => cli::respond::breaker(&client, cmd, json).await,
        Command::Gov(cmd) => cli::respond::gov(&client, cmd, json).await,
        Command::Testnet(args) => cli::testnet::testnet(args, json),
        Command::Alert(cmd) => cli::testnet::alert(&client, cmd, json).await,
        Command::Monitor(args) => cli::watch::run(args, json).await,
        Command::Replay(args) => cli::replay::run(args, json),
        Command::Feed(cmd) => cli::feed::run(&client, cmd, json).await,
        Command::Stix(cmd) => cli::stix::stix(&client, cmd).await,
        Command::Taxii(cmd) => cli::stix::taxii(cmd),
    }
}
