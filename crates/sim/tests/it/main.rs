//! Integration tests of the simulation: the shipped scenarios' claims, asserted from the CSV
//! files a run writes; sharing against latency; determinism; bad scenario files.

use std::collections::BTreeMap;
use std::path::Path;

use vigil_sim::{Scenario, ScenarioError, simulate_to};

fn shipped(name: &str) -> Scenario {
    let text = vigil_sim::SHIPPED.iter().find(|(n, _)| *n == name).expect("shipped").1;
    Scenario::from_toml(text).expect("valid scenario")
}

/// Rows of a CSV file as maps from header to value.
fn rows(dir: &Path, file: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(dir.join(file)).expect(file);
    let headers = r.headers().expect("header").clone();
    r.records()
        .map(|rec| {
            let rec = rec.expect("row");
            headers.iter().zip(rec.iter()).map(|(h, v)| (h.to_owned(), v.to_owned())).collect()
        })
        .collect()
}

fn totals(dir: &Path) -> BTreeMap<String, String> {
    rows(dir, "totals.csv").into_iter().map(|r| (r["metric"].clone(), r["value"].clone())).collect()
}

fn returns(dir: &Path) -> BTreeMap<String, i64> {
    rows(dir, "profit.csv")
        .into_iter()
        .map(|r| (r["strategy"].clone(), r["return_bps"].parse().expect("bps")))
        .collect()
}

/// Expected loss per strike (in hundredths of a VGL), by sharing latency (`None`: off).
fn losses(dir: &Path) -> BTreeMap<Option<u64>, u128> {
    rows(dir, "loss.csv")
        .into_iter()
        .map(|r| {
            let latency =
                (r["sharing"] == "on").then(|| r["latency_blocks"].parse().expect("latency"));
            let loss = r["expected_loss_per_strike_vgl"].replace('.', "").parse().expect("loss");
            (latency, loss)
        })
        .collect()
}

#[test]
fn the_baseline_file_documents_every_default() {
    let file = shipped("baseline");
    assert_eq!(file, Scenario::default(), "baseline.toml must list the defaults as they are");
}

#[test]
fn adversarial_33_has_no_false_trips_and_honesty_pays() {
    let scenario = shipped("adversarial-33");
    assert_eq!(scenario.coalition.stake_share_bps, 3_300);
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate_to(&scenario, scenario.seed, dir.path(), |_| {}).unwrap();
    let t = totals(dir.path());
    let reports: u64 = t["reports"].parse().unwrap();
    assert!(reports >= 10_000, "only {reports} reports");
    assert_eq!(t["false_breaker_trips"], "0");
    assert!(rows(dir.path(), "trips.csv").iter().all(|r| r["false_trip"] == "false"));
    let colluding = rows(dir.path(), "profit.csv")
        .into_iter()
        .find(|r| r["strategy"] == "colluding")
        .expect("a coalition");
    assert_eq!(colluding["accounts"], "4");

    let r = returns(dir.path());
    let honest = r["honest-reporter"];
    for other in ["false-reporter", "lazy-reporter", "colluding"] {
        assert!(honest > r[other], "honest reporting {honest} bps <= {other} {} bps", r[other]);
    }
    assert!(r["honest-attester"] > r["colluding"]);
    assert!(r["colluding"] < 0 && r["false-reporter"] < 0, "lying must lose: {r:?}");
    // The summary says where each protocol stands, and the plots exist.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("## Findings") && summary.contains("bridge is corruptible"));
    for plot in ["loss.svg", "profit.svg", "reputation.svg", "margin.svg"] {
        let svg = std::fs::read_to_string(dir.path().join(plot)).unwrap();
        assert!(
            svg.starts_with("<svg") && (svg.contains("<polyline") || svg.contains("<rect")),
            "{plot}"
        );
    }
    assert_eq!(sim.main.false_trips(), 0);
}

#[test]
fn sharing_lowers_loss_and_more_so_the_sooner() {
    // Every protocol's guardians bonded above its TVL (γ > 0), so bribed re-arms, which reward
    // catching an exploit early with more left to drain, do not blur the exposure effect.
    let mut scenario = shipped("baseline");
    for p in &mut scenario.protocols {
        p.guardian_stake = 600_000;
    }
    let dir = tempfile::tempdir().unwrap();
    simulate_to(&scenario, scenario.seed, dir.path(), |_| {}).unwrap();
    let loss = losses(dir.path());
    let off = loss[&None];
    let on: Vec<(u64, u128)> = loss.iter().filter_map(|(l, v)| Some(((*l)?, *v))).collect();
    assert_eq!(on.len(), scenario.sharing.sweep.len());
    for (latency, v) in &on {
        assert!(*v < off, "sharing at {latency} blocks lost {v} >= {off} without sharing");
    }
    for pair in on.windows(2) {
        assert!(pair[0].1 <= pair[1].1, "loss rose as latency fell: {pair:?}");
    }
    assert!(on[0].1 < on[on.len() - 1].1, "latency made no difference: {on:?}");
    assert!(rows(dir.path(), "loss.csv").iter().all(|r| r["corrupted"] == "0"));
}

#[test]
fn the_same_seed_writes_the_same_csv_files() {
    let mut scenario = shipped("adversarial-33");
    scenario.blocks = 400;
    scenario.sharing.sweep = vec![0, 10];
    let (a, b, c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    simulate_to(&scenario, 7, a.path(), |_| {}).unwrap();
    simulate_to(&scenario, 7, b.path(), |_| {}).unwrap();
    simulate_to(&scenario, 8, c.path(), |_| {}).unwrap();
    let mut compared = 0;
    for entry in std::fs::read_dir(a.path()).unwrap() {
        let name = entry.unwrap().file_name();
        if !name.to_string_lossy().ends_with(".csv") {
            continue;
        }
        let x = std::fs::read(a.path().join(&name)).unwrap();
        let y = std::fs::read(b.path().join(&name)).unwrap();
        assert!(x == y, "{} differs between two runs of seed 7", name.to_string_lossy());
        compared += 1;
    }
    assert_eq!(compared, 8, "every CSV file compared");
    let a_trips = std::fs::read(a.path().join("trips.csv")).unwrap();
    let c_trips = std::fs::read(c.path().join("trips.csv")).unwrap();
    assert_ne!(a_trips, c_trips, "another seed must give another run");
}

#[test]
fn a_sybil_swarm_loses_its_stake() {
    let scenario = shipped("sybil");
    let dir = tempfile::tempdir().unwrap();
    simulate_to(&scenario, scenario.seed, dir.path(), |_| {}).unwrap();
    let r = returns(dir.path());
    assert!(r["sybil"] < -5_000, "the swarm kept most of its stake: {} bps", r["sybil"]);
    assert!(r["honest-reporter"] > r["sybil"] && r["honest-attester"] > r["sybil"]);
    let sybil_reports = rows(dir.path(), "reports.csv")
        .into_iter()
        .find(|r| r["kind"] == "false-sybil")
        .expect("swarm reports");
    let filed: u64 = sybil_reports["filed"].parse().unwrap();
    let rejected: u64 = sybil_reports["rejected"].parse().unwrap();
    assert!(rejected * 100 >= filed * 95, "{rejected} of {filed} swarm reports rejected");
}

#[test]
fn bad_scenarios_are_refused_with_the_field_named() {
    let cases = [
        ("blocks = 0", "blocks"),
        ("[[protocols]]\nname = \"x\"\nguardians = 2\nthreshold = 3", "protocols.threshold"),
        ("[[protocols]]\nname = \"Bad Name\"", "protocols.name"),
        ("[monitors]\ndetect_bps = 10001", "monitors.detect_bps"),
        ("[coalition]\nstake_share_bps = 9001", "coalition.stake_share_bps"),
        ("[honest]\nstake = 2000000000", "honest.stake"),
        ("[honest]\nverify_max = 50", "honest.verify_max"),
        ("[params]\nverdict_threshold_bps = 20000", "params"),
    ];
    for (text, field) in cases {
        let err = Scenario::from_toml(text).expect_err(text);
        let ScenarioError::Invalid { field: got, .. } = &err else { panic!("{text}: {err}") };
        assert_eq!(*got, field, "{text}");
        assert!(err.to_string().contains(field));
    }
    let err = Scenario::from_toml("[attacks]\ncampains = 3").unwrap_err();
    assert!(err.to_string().contains("campains"), "{err}");
    let err = Scenario::from_toml("blocks = \"many\"").unwrap_err();
    assert!(err.to_string().contains("blocks") || err.to_string().contains("integer"), "{err}");
}
