//! `vigil simulate --scenario FILE --out DIR [--seed N]`: the agent-based simulation of the
//! incentives on the real ledger (`vigil_sim`), with a progress bar, writing CSV files, SVG
//! plots and `summary.md` into the output directory.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use vigil_sim::{Scenario, simulate_to};

/// Arguments of `vigil simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// A scenario file (TOML), or the name of a shipped one: baseline, adversarial-33, sybil.
    #[arg(long, default_value = "baseline")]
    scenario: String,
    /// Directory for the CSV files, SVG plots and summary.md (created if missing).
    #[arg(long, default_value = "sim-out")]
    out: PathBuf,
    /// Seed of the run (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Blocks to run (default: the scenario's `blocks`).
    #[arg(long)]
    blocks: Option<u64>,
}

/// Reads `--scenario`: a file if one exists at that path, else a shipped scenario's name.
fn load(spec: &str) -> Result<Scenario> {
    let path = Path::new(spec);
    if path.exists() {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Scenario::from_toml(&text).with_context(|| path.display().to_string());
    }
    let names: Vec<&str> = vigil_sim::SHIPPED.iter().map(|(n, _)| *n).collect();
    let (_, text) = vigil_sim::SHIPPED.iter().find(|(n, _)| *n == spec).with_context(|| {
        format!("{spec}: no such file, and not a shipped scenario ({})", names.join(", "))
    })?;
    Scenario::from_toml(text).with_context(|| format!("shipped scenario {spec}"))
}

/// Runs `vigil simulate`.
pub fn run(args: SimulateArgs, json: bool) -> Result<()> {
    let mut scenario = load(&args.scenario)?;
    if let Some(blocks) = args.blocks {
        scenario.blocks = blocks;
        scenario.validate()?;
    }
    let seed = args.seed.unwrap_or(scenario.seed);
    let bar = if std::io::stderr().is_terminal() && !json {
        ProgressBar::new(scenario.blocks).with_style(
            ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta})",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        )
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut current = usize::MAX;
    let sim = simulate_to(&scenario, seed, &args.out, |p| {
        if p.run != current {
            current = p.run;
            bar.reset();
            let what = if p.run == 0 { "main run".to_owned() } else { format!("sweep {}", p.run) };
            bar.set_message(format!("run {}/{} ({what})", p.run + 1, p.runs));
        }
        if p.height.is_multiple_of(64) || p.height == scenario.blocks {
            bar.set_position(p.height);
        }
    })
    .with_context(|| format!("simulating {}", scenario.name))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let m = &sim.main;
    let summary = std::fs::read_to_string(args.out.join("summary.md"))
        .with_context(|| format!("reading {}", args.out.join("summary.md").display()))?;
    if json {
        let out = serde_json::json!({
            "scenario": scenario.name,
            "seed": seed,
            "blocks": sim.blocks,
            "runs": sim.sweep.len(),
            "out": args.out,
            "transactions": m.txs,
            "reports": m.reports_filed(),
            "false_breaker_trips": m.false_trips(),
            "total_loss_base_units": m.total_loss().to_string(),
            "seconds": elapsed.as_secs_f64(),
        });
        println!("{out}");
        return Ok(());
    }
    let findings = summary.split("## Findings").nth(1).unwrap_or("");
    let findings = findings.split("\n## ").next().unwrap_or("").trim_end();
    println!(
        "{}: {} blocks × {} runs in {:.1} s; {} reports, {} false breaker trips, {} transactions",
        scenario.name,
        sim.blocks,
        sim.sweep.len(),
        elapsed.as_secs_f64(),
        m.reports_filed(),
        m.false_trips(),
        m.txs
    );
    println!("findings:{findings}");
    println!("wrote CSV files, SVG plots and summary.md to {}", args.out.display());
    Ok(())
}
