//! `vigil import oz-monitor DIR`: brings an OpenZeppelin Monitor configuration directory into
//! Vigil. The translation is `vigil_oz_import`'s; this reads the directory, prints the report
//! (what was translated, what was left out and why, which environment variables to set) and
//! writes the result unless `--check` is given.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use vigil_oz_import::{Level, translate};

/// `vigil import …`.
#[derive(Subcommand)]
pub enum ImportCommand {
    /// Translate an OpenZeppelin Monitor config directory (networks/, monitors/, triggers/,
    /// filters/) into node configurations with [watch] and alert channels, and CEL rules.
    OzMonitor(OzMonitorArgs),
}

/// Arguments of `vigil import oz-monitor`.
#[derive(Args)]
pub struct OzMonitorArgs {
    /// The OpenZeppelin Monitor config directory (the one holding networks/ and monitors/).
    dir: PathBuf,
    /// Where to write the Vigil configuration: `<network>.toml` per EVM network and
    /// `rules/<network>/`.
    #[arg(long, default_value = "vigil-oz")]
    out: PathBuf,
    /// Print the report only; write nothing.
    #[arg(long)]
    check: bool,
    /// Overwrite files that already exist in --out.
    #[arg(long)]
    force: bool,
}

/// Runs an import command.
pub fn run(cmd: ImportCommand, json: bool) -> Result<()> {
    match cmd {
        ImportCommand::OzMonitor(args) => oz_monitor(&args, json),
    }
}

/// The files of `dir/{networks,monitors,triggers}/*.json` and the names of `dir/filters/*`.
fn read_config_dir(dir: &Path) -> Result<Vec<(String, String)>> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    let mut files = Vec::new();
    for sub in ["networks", "monitors", "triggers", "filters"] {
        let path = dir.join(sub);
        if !path.is_dir() {
            continue;
        }
        let entries =
            std::fs::read_dir(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("cannot read {}", path.display()))?;
            let file = entry.path();
            if !file.is_file() {
                continue;
            }
            let name = format!("{sub}/{}", entry.file_name().to_string_lossy());
            let text = if sub == "filters" || !name.ends_with(".json") {
                String::new()
            } else {
                std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read {}", file.display()))?
            };
            files.push((name, text));
        }
    }
    Ok(files)
}

fn oz_monitor(args: &OzMonitorArgs, json: bool) -> Result<()> {
    let files = read_config_dir(&args.dir)?;
    let t = translate(&files).with_context(|| format!("in {}", args.dir.display()))?;
    if !args.check {
        for (path, _) in &t.files {
            let target = args.out.join(path);
            if target.exists() && !args.force {
                bail!("{} exists (use --force to overwrite)", target.display());
            }
        }
        for (path, text) in &t.files {
            let target = args.out.join(path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&target, text)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
    }
    if json {
        let entries: Vec<serde_json::Value> = t
            .report
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "level": match e.level {
                        Level::Skipped => "skipped",
                        Level::Note => "note",
                        Level::Env => "env",
                    },
                    "file": e.file,
                    "subject": e.subject,
                    "field": e.field,
                    "message": e.message,
                })
            })
            .collect();
        let out = serde_json::json!({
            "translated": t.report.translated,
            "files": t.files.iter().map(|(p, _)| p).collect::<Vec<_>>(),
            "written": !args.check,
            "out": args.out,
            "report": entries,
        });
        println!("{out}");
        return Ok(());
    }
    print!("{}", t.report);
    if args.check {
        println!("\n--check: nothing written ({} file(s) would be).", t.files.len());
    } else {
        println!("\nWrote {} file(s) to {}:", t.files.len(), args.out.display());
        for (path, _) in t.files.iter().filter(|(p, _)| !p.contains('/')) {
            println!(
                "  {}: [watch] and [respond] for a node's config.toml (its rules_dir is \
                 relative to the file)",
                args.out.join(path).display()
            );
        }
    }
    Ok(())
}
