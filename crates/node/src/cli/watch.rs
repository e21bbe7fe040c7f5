//! `vigil monitor`: watch an EVM chain and its mempool with the detectors and CEL rules,
//! printing alerts as they fire (text, or JSON lines with --json). A node does the same when
//! its configuration has a `[watch]` section.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vigil_chain::MonitorConfig;
use vigil_core::Alert;

/// Arguments of `vigil monitor`.
#[derive(Args)]
pub struct MonitorArgs {
    /// The chain's JSON-RPC URL: http(s):// polls, ws(s):// subscribes.
    #[arg(long)]
    rpc: Option<String>,
    /// A directory of rule files (*.toml); a detect.toml in it configures the detectors.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// A monitor configuration file (TOML); --rpc and --rules override its fields.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Keep the block cursor here, to resume after a restart.
    #[arg(long)]
    cursor: Option<PathBuf>,
    /// First block when there is no cursor (default: the head).
    #[arg(long)]
    start_block: Option<u64>,
    /// Do not watch the mempool.
    #[arg(long)]
    no_pending: bool,
    /// Record everything collected to this JSON file (for offline replays).
    #[arg(long)]
    record: Option<PathBuf>,
}

fn print(alert: &Alert, json: bool) {
    if json {
        println!("{}", serde_json::to_string(alert).unwrap_or_default());
        return;
    }
    let stage = match alert.tx.block {
        Some(b) => format!("block {b}"),
        None => "pending".into(),
    };
    println!(
        "{:<8} {:<10} {:<28} conf {:>3}  {}  {}\n         {}",
        alert.severity.as_str().to_uppercase(),
        alert.kind,
        alert.detector,
        alert.confidence,
        alert.tx.hash,
        stage,
        alert.description
    );
}

/// Runs `vigil monitor`.
pub async fn run(args: MonitorArgs, json: bool) -> Result<()> {
    super::run::init_logging("warn,vigil_chain=info");
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            toml::from_str::<MonitorConfig>(&text).with_context(|| format!("{}", path.display()))?
        }
        None => MonitorConfig::default(),
    };
    if let Some(rpc) = args.rpc {
        config.rpc = rpc;
    }
    if args.rules.is_some() {
        config.rules_dir = args.rules;
    }
    if args.cursor.is_some() {
        config.cursor_file = args.cursor;
    }
    if args.start_block.is_some() {
        config.start_block = args.start_block;
    }
    if args.record.is_some() {
        config.record = args.record;
    }
    config.pending &= !args.no_pending;
    let shutdown = CancellationToken::new();
    super::run::cancel_on_signal(shutdown.clone());
    let (tx, mut rx) = mpsc::channel::<Alert>(1_024);
    let printer = tokio::spawn(async move {
        while let Some(alert) = rx.recv().await {
            print(&alert, json);
        }
    });
    let stop = shutdown.clone();
    let stats = vigil_chain::run(config, tx, async move { stop.cancelled().await }).await;
    let _ = printer.await;
    let stats = stats?;
    eprintln!(
        "monitor stopped: {} blocks, {} pending transactions, {} alerts",
        stats.blocks, stats.pending, stats.alerts
    );
    Ok(())
}
