//! SVG plots of a simulation, drawn with `plotters` (pure Rust, no system fonts).

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::Simulation;
use crate::output::OutputError;
use crate::roster::Strategy;

const SIZE: (u32, u32) = (900, 500);
const UNIT: f64 = vigil_core::UNITS_PER_VGL as f64;

/// Every plot of `sim`, written into `dir`.
pub fn all(sim: &Simulation, dir: &Path) -> Result<Vec<PathBuf>, OutputError> {
    let mut out = Vec::new();
    for (name, draw) in [
        ("loss.svg", loss as fn(&Simulation, &Path) -> Result<(), String>),
        ("profit.svg", profit),
        ("reputation.svg", reputation),
        ("margin.svg", margin),
    ] {
        let path = dir.join(name);
        draw(sim, &path).map_err(|why| OutputError::Plot { path: path.clone(), why })?;
        out.push(path);
    }
    Ok(out)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

type Canvas<'b> = DrawingArea<SVGBackend<'b>, Shift>;
type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A white canvas writing to `path`.
fn canvas(path: &Path) -> Result<Canvas<'_>, String> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    Ok(root)
}

/// A titled chart over `x` × `y`; `y_labels` is the width kept for the y axis's labels.
fn chart<'a, 'b>(
    root: &'a Canvas<'b>,
    title: String,
    x: Range<f64>,
    y: Range<f64>,
    y_labels: u32,
) -> Result<Chart<'a, 'b>, String> {
    ChartBuilder::on(root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// A line with its legend entry.
fn line(
    chart: &mut Chart<'_, '_>,
    points: impl IntoIterator<Item = (f64, f64)>,
    color: RGBAColor,
    label: &str,
) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(points, color.stroke_width(2)))
        .map_err(err)?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    Ok(())
}

/// Draws the legend at `at` and writes the file.
fn finish<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
    root: &Canvas<'b>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)
}

/// Expected loss per strike against sharing latency, with the no-sharing level.
fn loss(sim: &Simulation, path: &Path) -> Result<(), String> {
    let on: Vec<(f64, f64)> = sim
        .sweep
        .iter()
        .filter_map(|p| Some((p.sharing? as f64, p.expected_loss() as f64 / UNIT)))
        .collect();
    let off =
        sim.sweep.iter().find(|p| p.sharing.is_none()).map(|p| p.expected_loss() as f64 / UNIT);
    let max_x = on.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = on.iter().map(|p| p.1).chain(off).fold(1.0, f64::max) * 1.15;
    let root = canvas(path)?;
    let title = format!("{}: expected loss per exploit strike", sim.scenario.name);
    let mut chart = chart(&root, title, 0f64..max_x, 0f64..max_y, 90)?;
    chart
        .configure_mesh()
        .x_desc("sharing latency (blocks from a report to every protocol)")
        .y_desc("VGL lost per strike")
        .draw()
        .map_err(err)?;
    line(&mut chart, on.iter().copied(), BLUE.to_rgba(), "sharing on")?;
    chart.draw_series(on.iter().map(|&p| Circle::new(p, 4, BLUE.filled()))).map_err(err)?;
    if let Some(off) = off {
        line(&mut chart, [(0.0, off), (max_x, off)], RED.to_rgba(), "sharing off")?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::LowerRight)
}

/// Return on capital by strategy, as bars.
fn profit(sim: &Simulation, path: &Path) -> Result<(), String> {
    let rows: Vec<(Strategy, f64)> = sim
        .main
        .profits
        .iter()
        .filter(|r| r.strategy != Strategy::Owner)
        .map(|r| (r.strategy, r.return_bps() as f64 / 100.0))
        .collect();
    let lo = rows.iter().map(|r| r.1).fold(0.0, f64::min) * 1.15 - 1.0;
    let hi = rows.iter().map(|r| r.1).fold(0.0, f64::max) * 1.15 + 1.0;
    let n = rows.len().max(1);
    let root = canvas(path)?;
    let labels: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let title = format!("{}: return on capital by strategy", sim.scenario.name);
    let mut chart = chart(&root, title, 0f64..n as f64, lo..hi, 70)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = (*x - 0.5).round();
            if (x - 0.5 - i).abs() < 1e-6 && i >= 0.0 {
                labels.get(i as usize).map_or(String::new(), |s| (*s).to_owned())
            } else {
                String::new()
            }
        })
        .y_desc("% of starting capital")
        .draw()
        .map_err(err)?;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let color = if *v >= 0.0 { GREEN.mix(0.7) } else { RED.mix(0.7) };
            Rectangle::new([(i as f64 + 0.15, 0.0), (i as f64 + 0.85, *v)], color.filled())
        }))
        .map_err(err)?;
    // The value on every bar: returns differ by orders of magnitude.
    let span = hi - lo;
    chart
        .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
            let y = v.max(0.0) + span * 0.04;
            Text::new(format!("{v:.1}%"), (i as f64 + 0.2, y), ("sans-serif", 14))
        }))
        .map_err(err)?;
    root.present().map_err(err)
}

/// Mean reputation of each strategy over time.
fn reputation(sim: &Simulation, path: &Path) -> Result<(), String> {
    let samples = &sim.main.reputation;
    let max_x = samples.iter().map(|s| s.height).max().unwrap_or(1) as f64;
    let root = canvas(path)?;
    let title = format!("{}: mean reputation by strategy", sim.scenario.name);
    let mut chart = chart(&root, title, 0f64..max_x, 0f64..100f64, 60)?;
    chart.configure_mesh().x_desc("block").y_desc("confidence (0–100)").draw().map_err(err)?;
    let mut strategies: Vec<Strategy> = samples.iter().map(|s| s.strategy).collect();
    strategies.sort_unstable();
    strategies.dedup();
    for (i, strategy) in strategies.into_iter().filter(|s| *s != Strategy::Owner).enumerate() {
        let points = samples
            .iter()
            .filter(|s| s.strategy == strategy)
            .map(|s| (s.height as f64, s.mean_tenths as f64 / 10.0));
        line(&mut chart, points, Palette99::pick(i).to_rgba(), strategy.as_str())?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::MiddleRight)
}

/// Each protocol's corruption margin γ over time, with γ = 0 marked.
fn margin(sim: &Simulation, path: &Path) -> Result<(), String> {
    let samples = &sim.main.margins;
    let gamma = |bps: i64| bps.clamp(-100_000, 100_000) as f64 / 10_000.0;
    let max_x = samples.iter().map(|s| s.height).max().unwrap_or(1) as f64;
    let lo = samples.iter().map(|s| gamma(s.margin_bps)).fold(0.0, f64::min) - 0.2;
    let hi = samples.iter().map(|s| gamma(s.margin_bps)).fold(0.0, f64::max) * 1.1 + 0.2;
    let root = canvas(path)?;
    let title = format!("{}: corruption margin γ = cost / value − 1", sim.scenario.name);
    let mut chart = chart(&root, title, 0f64..max_x, lo..hi, 60)?;
    chart.configure_mesh().x_desc("block").y_desc("γ").draw().map_err(err)?;
    chart
        .draw_series(LineSeries::new([(0.0, 0.0), (max_x, 0.0)], BLACK.stroke_width(1)))
        .map_err(err)?;
    for (i, p) in sim.scenario.protocols.iter().enumerate() {
        let points = samples
            .iter()
            .filter(|s| s.protocol == i)
            .map(|s| (s.height as f64, gamma(s.margin_bps)));
        line(&mut chart, points, Palette99::pick(i).to_rgba(), p.name.as_str())?;
    }
    finish(&mut chart, &root, SeriesLabelPosition::LowerRight)
}
