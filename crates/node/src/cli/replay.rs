//! `vigil replay FILE...`: every detector and rule over recorded transactions, printed as a
//! table with a per-detector summary, or as JSON lines (`--json`). See `vigil_node::replay`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vigil_core::{EvmChainId, Severity};
use vigil_detect::{DetectConfig, Engine, ProtectedContract, RuleSet};

use vigil_node::replay::{ReplayAlert, ReplaySummary, Replayer};

/// Arguments of `vigil replay`.
#[derive(Args)]
pub struct ReplayArgs {
    /// Recordings: geth callTracer trees or block arrays, parity trace rows or block objects,
    /// Vigil transactions, or `vigil monitor --record` files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// A directory of rule files (*.toml); a detect.toml in it configures the detectors.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// A TOML file of protected contracts (`[[protected]]` with `name` and `address`).
    #[arg(long)]
    protected: Option<PathBuf>,
    /// The EVM chain id where a recording does not name one.
    #[arg(long, default_value_t = 1)]
    chain: u64,
}

/// The `[[protected]]` entries of a `--protected` file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProtectedFile {
    #[serde(default)]
    protected: Vec<ProtectedContract>,
}

/// Reads a `--protected` file.
pub fn read_protected(path: &std::path::Path) -> Result<Vec<ProtectedContract>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let file: ProtectedFile = toml::from_str(&text).with_context(|| {
        format!("{}: expected [[protected]] entries with name and address", path.display())
    })?;
    Ok(file.protected)
}

fn engine(args: &ReplayArgs) -> Result<Engine> {
    let (rules, detect) = match &args.rules {
        Some(dir) => vigil_chain::monitor::load_rules_dir(dir)
            .with_context(|| format!("loading rules from {}", dir.display()))?,
        None => (RuleSet::default(), None),
    };
    let mut config = detect.unwrap_or_else(DetectConfig::default);
    if let Some(path) = &args.protected {
        for p in read_protected(path)? {
            if !config.protected.iter().any(|q| q.address == p.address) {
                config.protected.push(p);
            }
        }
    }
    // Recordings rarely carry times: every finding is reported.
    config.cooldown_secs = Some(0);
    Ok(Engine::new(&config, rules))
}

fn row(a: &ReplayAlert) {
    let tx = a
        .tx_hash
        .as_deref()
        .map(|h| format!("{}…", &h[..h.len().min(12)]))
        .unwrap_or_else(|| "-".into());
    println!(
        "{:<40} {:<9} {:<26} {:>4} {:<14} {}",
        a.source,
        a.severity.as_str().to_uppercase(),
        a.detector,
        a.confidence,
        tx,
        a.description
    );
}

fn summary(s: &ReplaySummary, secs: f64, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    let rate = if secs > 0.0 { s.transactions as f64 / secs } else { 0.0 };
    let share = if s.transactions > 0 {
        100.0 * s.transactions_alerted as f64 / s.transactions as f64
    } else {
        0.0
    };
    writeln!(out)?;
    writeln!(
        out,
        "{:<28} {:>6} {:>6} {:>6} {:>6} {:>8} {:>6}",
        "detector", "info", "low", "medium", "high", "critical", "total"
    )?;
    for (d, by) in &s.by_detector {
        let n = |sev| by.get(&sev).copied().unwrap_or(0);
        let total: u64 = by.values().sum();
        writeln!(
            out,
            "{:<28} {:>6} {:>6} {:>6} {:>6} {:>8} {:>6}",
            d,
            n(Severity::Info),
            n(Severity::Low),
            n(Severity::Medium),
            n(Severity::High),
            n(Severity::Critical),
            total
        )?;
    }
    writeln!(
        out,
        "{} file(s) ({} unreadable), {} transactions ({} with call traces), {} alerts ({} high or \
         critical) on {} transactions ({share:.2}%), in {secs:.2} s ({rate:.0} tx/s)",
        s.files,
        s.failed_files,
        s.transactions,
        s.traced,
        s.alerts,
        s.at_least(Severity::High),
        s.transactions_alerted,
    )
}

/// Runs `vigil replay`.
pub fn run(args: ReplayArgs, json: bool) -> Result<()> {
    let mut replayer = Replayer::new(engine(&args)?, EvmChainId(args.chain));
    let bar = if std::io::stderr().is_terminal() && args.files.len() > 1 {
        ProgressBar::new(args.files.len() as u64).with_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} files {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let start = Instant::now();
    let mut failed = Vec::new();
    if !json {
        println!(
            "{:<40} {:<9} {:<26} {:>4} {:<14} DESCRIPTION",
            "SOURCE", "SEVERITY", "DETECTOR", "CONF", "TX"
        );
    }
    for path in &args.files {
        let result = replayer.replay_file(path, |a| {
            bar.suspend(|| {
                if json {
                    println!("{}", serde_json::to_string(&a).unwrap_or_default());
                } else {
                    row(&a);
                }
            })
        });
        if let Err(e) = result {
            bar.suspend(|| eprintln!("error: {e}"));
            failed.push(path.display().to_string());
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let secs = start.elapsed().as_secs_f64();
    if json {
        summary(&replayer.summary, secs, &mut std::io::stderr())?;
    } else {
        summary(&replayer.summary, secs, &mut std::io::stdout())?;
    }
    if !failed.is_empty() {
        bail!(
            "{} of {} file(s) could not be read: {}",
            failed.len(),
            args.files.len(),
            failed.join(", ")
        );
    }
    Ok(())
}
