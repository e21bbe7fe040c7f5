//! The files a simulation writes: CSV tables (integers and fixed decimals only, so they are
//! byte-identical for the same seed), SVG plots and `summary.md`.

use std::path::{Path, PathBuf};

use crate::Simulation;

/// Writing the outputs failed.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// A file could not be created or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A CSV row could not be written.
    #[error("{path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// A plot could not be drawn.
    #[error("{path}: {why}")]
    Plot {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// Base units as VGL with two decimals, rounded down.
pub(crate) fn vgl(units: u128) -> String {
    let unit = u128::from(vigil_core::UNITS_PER_VGL);
    format!("{}.{:02}", units / unit, (units % unit) * 100 / unit)
}

/// Signed base units as VGL with two decimals (toward zero).
pub(crate) fn vgl_signed(units: i128) -> String {
    let sign = if units < 0 { "-" } else { "" };
    format!("{sign}{}", vgl(units.unsigned_abs()))
}

/// Basis points as a decimal with four places (10,000 = 1.0000).
pub(crate) fn ratio(bps: i128) -> String {
    let sign = if bps < 0 { "-" } else { "" };
    let b = bps.unsigned_abs();
    format!("{sign}{}.{:04}", b / 10_000, b % 10_000)
}

fn table(
    dir: &Path,
    name: &str,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> Result<PathBuf, OutputError> {
    let path = dir.join(name);
    let csv_err = |source| OutputError::Csv { path: path.clone(), source };
    let mut w = csv::Writer::from_path(&path).map_err(csv_err)?;
    w.write_record(header).map_err(csv_err)?;
    for row in rows {
        w.write_record(&row).map_err(csv_err)?;
    }
    w.flush().map_err(|source| OutputError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Writes every output of `sim` into `dir` (created if missing) and returns the paths.
pub fn write_outputs(sim: &Simulation, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    std::fs::create_dir_all(dir).map_err(|source| OutputError::Io { path: dir.into(), source })?;
    let m = &sim.main;
    let names: Vec<&str> = sim.scenario.protocols.iter().map(|p| p.name.as_str()).collect();
    let mut out = Vec::new();

    out.push(table(
        dir,
        "loss.csv",
        &[
            "sharing",
            "latency_blocks",
            "strikes",
            "caught",
            "caught_shared",
            "paused_ahead",
            "corrupted",
            "total_loss_vgl",
            "loss_after_bribe_vgl",
            "expected_loss_per_strike_vgl",
        ],
        sim.sweep
            .iter()
            .map(|p| {
                vec![
                    if p.sharing.is_some() { "on" } else { "off" }.into(),
                    p.sharing.map(|l| l.to_string()).unwrap_or_default(),
                    p.strikes.to_string(),
                    p.caught.to_string(),
                    p.caught_shared.to_string(),
                    p.ahead.to_string(),
                    p.corrupted.to_string(),
                    vgl(p.loss),
                    vgl(p.loss_after_bribe),
                    vgl(p.expected_loss()),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "trips.csv",
        &["height", "protocol", "cause", "false_trip", "late"],
        m.trips
            .iter()
            .map(|t| {
                vec![
                    t.height.to_string(),
                    names[t.protocol].into(),
                    t.cause.as_str().into(),
                    t.false_trip.to_string(),
                    t.late.to_string(),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "reports.csv",
        &["kind", "true", "filed", "confirmed", "rejected", "escalated", "open"],
        m.reports
            .iter()
            .map(|(k, c)| {
                vec![
                    k.as_str().into(),
                    k.truth().to_string(),
                    c.filed.to_string(),
                    c.confirmed.to_string(),
                    c.rejected.to_string(),
                    c.escalated.to_string(),
                    c.open.to_string(),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "profit.csv",
        &["strategy", "accounts", "capital_vgl", "end_vgl", "profit_vgl", "return_bps"],
        m.profits
            .iter()
            .map(|r| {
                vec![
                    r.strategy.as_str().into(),
                    r.accounts.to_string(),
                    vgl(r.capital),
                    vgl(r.end),
                    vgl_signed(r.profit()),
                    r.return_bps().to_string(),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "reputation.csv",
        &["height", "strategy", "mean_confidence"],
        m.reputation
            .iter()
            .map(|s| {
                vec![
                    s.height.to_string(),
                    s.strategy.as_str().into(),
                    format!("{}.{}", s.mean_tenths / 10, s.mean_tenths % 10),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "margin.csv",
        &[
            "height",
            "protocol",
            "cost_of_corruption_vgl",
            "protected_value_vgl",
            "margin_bps",
            "gamma",
        ],
        m.margins
            .iter()
            .map(|s| {
                vec![
                    s.height.to_string(),
                    names[s.protocol].into(),
                    vgl(u128::from(s.cost)),
                    vgl(u128::from(s.value)),
                    s.margin_bps.to_string(),
                    ratio(i128::from(s.margin_bps)),
                ]
            })
            .collect(),
    )?);

    out.push(table(
        dir,
        "flows.csv",
        &[
            "strategy",
            "attestations",
            "won",
            "lost",
            "attestation_rewards_vgl",
            "attestation_slashes_vgl",
            "other_rewards_vgl",
            "other_slashes_vgl",
        ],
        m.flows
            .iter()
            .map(|(s, f)| {
                vec![
                    s.as_str().into(),
                    f.attestations.to_string(),
                    f.won.to_string(),
                    f.lost.to_string(),
                    vgl(f.attestation_rewards),
                    vgl(f.attestation_slashes),
                    vgl(f.other_rewards),
                    vgl(f.other_slashes),
                ]
            })
            .collect(),
    )?);

    let failed: u64 = m.failures.values().sum();
    out.push(table(
        dir,
        "totals.csv",
        &["metric", "value"],
        vec![
            vec!["seed".into(), sim.seed.to_string()],
            vec!["blocks".into(), sim.blocks.to_string()],
            vec!["transactions".into(), m.txs.to_string()],
            vec!["failed_transactions".into(), failed.to_string()],
            vec!["reports".into(), m.reports_filed().to_string()],
            vec!["breaker_trips".into(), m.trips.len().to_string()],
            vec!["false_breaker_trips".into(), m.false_trips().to_string()],
            vec!["escalations".into(), m.escalated.to_string()],
            vec!["guardian_corruptions".into(), m.corruptions.to_string()],
            vec!["attesters_bribed".into(), m.bribes.to_string()],
            vec!["total_loss_vgl".into(), vgl(m.total_loss())],
        ],
    )?);

    out.extend(crate::plot::all(sim, dir)?);
    let path = dir.join("summary.md");
    std::fs::write(&path, crate::summary::markdown(sim))
        .map_err(|source| OutputError::Io { path: path.clone(), source })?;
    out.push(path);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_decimals() {
        assert_eq!(vgl(1_234_567), "1.23");
        assert_eq!(vgl(0), "0.00");
        assert_eq!(vgl_signed(-2_500_000), "-2.50");
        assert_eq!(ratio(5_000), "0.5000");
        assert_eq!(ratio(-12_345), "-1.2345");
    }
}
