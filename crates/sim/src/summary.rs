//! `summary.md`: the headline figures of a simulation and its findings — each parameter the
//! run showed unsafe, with the evidence and the genesis change that fixes it.

use std::fmt::Write;

use vigil_core::Amount;
use vigil_ledger::BPS;

use crate::Simulation;
use crate::output::{ratio, vgl, vgl_signed};
use crate::roster::Strategy;

/// The markdown summary of `sim`.
pub fn markdown(sim: &Simulation) -> String {
    let m = &sim.main;
    let sc = &sim.scenario;
    let mut s = String::new();
    let _ = writeln!(s, "# Simulation: {}\n", sc.name);
    let _ = writeln!(
        s,
        "Seed {}, {} blocks, {} transactions through the real `vigil-ledger` ({} failed), \
         {} reports, {} breaker trips.\n",
        sim.seed,
        sim.blocks,
        m.txs,
        m.failures.values().sum::<u64>(),
        m.reports_filed(),
        m.trips.len()
    );

    let _ = writeln!(s, "## Headline\n");
    let _ = writeln!(s, "| measure | value |\n|---|---:|");
    let _ = writeln!(s, "| false breaker trips (by false intel) | {} |", m.false_trips());
    let late = m.trips.iter().filter(|t| t.late).count();
    let _ = writeln!(s, "| late trips (true report, exploit already over) | {late} |");
    let _ = writeln!(s, "| verdicts escalated to a vote | {} |", m.escalated);
    let _ =
        writeln!(s, "| guardian corruptions (bribed re-arms mid-exploit) | {} |", m.corruptions);
    let _ = writeln!(s, "| attesters bribed | {} |", m.bribes);
    let _ = writeln!(s, "| drained in the main run | {} VGL |", vgl(m.total_loss()));
    let off = sim.sweep.iter().find(|p| p.sharing.is_none());
    let best = sim.sweep.iter().filter(|p| p.sharing.is_some()).min_by_key(|p| p.expected_loss());
    if let (Some(off), Some(best)) = (off, best) {
        let cut = if off.expected_loss() > 0 {
            (off.expected_loss() - best.expected_loss().min(off.expected_loss())) * 10_000
                / off.expected_loss()
        } else {
            0
        };
        let _ = writeln!(
            s,
            "| expected loss per strike, no sharing → sharing at {} blocks | {} → {} VGL ({}% less) |",
            best.sharing.unwrap_or(0),
            vgl(off.expected_loss()),
            vgl(best.expected_loss()),
            pct(cut as i128)
        );
    }

    let _ = writeln!(s, "\n## Loss against sharing latency\n");
    let _ = writeln!(
        s,
        "| sharing | strikes | caught | via sharing | paused ahead | bribed re-arms | lost after a bribe | expected loss per strike |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
    for p in &sim.sweep {
        let label = p.sharing.map_or("off".to_owned(), |l| format!("{l} blocks"));
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {} | {} | {} | {} VGL | {} VGL |",
            p.strikes,
            p.caught,
            p.caught_shared,
            p.ahead,
            p.corrupted,
            vgl(p.loss_after_bribe),
            vgl(p.expected_loss())
        );
    }

    let _ = writeln!(s, "\n## Profit by strategy\n");
    let _ = writeln!(
        s,
        "| strategy | accounts | capital | profit | return |\n|---|---:|---:|---:|---:|"
    );
    for r in &m.profits {
        let _ = writeln!(
            s,
            "| {} | {} | {} VGL | {} VGL | {}% |",
            r.strategy.as_str(),
            r.accounts,
            vgl(r.capital),
            vgl_signed(r.profit()),
            pct(r.return_bps())
        );
    }

    let _ = writeln!(s, "\n## Reports\n");
    let _ = writeln!(
        s,
        "| kind | filed | confirmed | rejected | escalated | open |\n|---|---:|---:|---:|---:|---:|"
    );
    for (k, c) in &m.reports {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            k.as_str(),
            c.filed,
            c.confirmed,
            c.rejected,
            c.escalated,
            c.open
        );
    }

    let _ = writeln!(s, "\n## Where each protocol stands (end of run)\n");
    let _ = writeln!(
        s,
        "γ = cost of corruption / value protected − 1, from `Ledger::security`. When γ > 0 a \
         shock ψ loses at most (1 + 1/γ)·ψ (Durvasula and Roughgarden, 2024); shown for ψ = \
         the protocol's TVL.\n"
    );
    let _ =
        writeln!(s, "| protocol | protected | cost of corruption | γ | loss bound at ψ = TVL |");
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for sec in &sim.security {
        let bound = sec
            .loss_bound(sec.protected_value)
            .map_or("**none: γ ≤ 0**".to_owned(), |b| format!("{} VGL", vgl(u128::from(b.0))));
        let _ = writeln!(
            s,
            "| {} | {} VGL | {} VGL | {} | {} |",
            sec.protocol,
            vgl(u128::from(sec.protected_value.0)),
            vgl(u128::from(sec.cost_of_corruption.0)),
            sec.margin_bps.map_or("∞".into(), |g| ratio(i128::from(g))),
            bound
        );
    }

    let _ = writeln!(s, "\n## Findings\n");
    let findings = findings(sim);
    if findings.is_empty() {
        let _ = writeln!(s, "No parameter of this scenario was shown unsafe.");
    }
    for (i, f) in findings.iter().enumerate() {
        let _ = writeln!(s, "{}. {f}", i + 1);
    }
    if !m.failures.is_empty() {
        let _ = writeln!(s, "\n## Transactions the ledger refused\n");
        for (why, n) in &m.failures {
            let _ = writeln!(s, "- {why}: {n}");
        }
    }
    s
}

/// Each unsafe parameter the run exposed, with the change that fixes it.
fn findings(sim: &Simulation) -> Vec<String> {
    let m = &sim.main;
    let params = &sim.scenario.params;
    let mut out = Vec::new();
    let false_trips = m.false_trips();
    if false_trips > 0 {
        // Above the largest share that confirmed a false report, by one percentage point.
        let fix = (m.false_confirm_share_bps + 100).clamp(params.verdict_threshold_bps + 1, 9_900);
        out.push(format!(
            "**False breaker trips: {false_trips}.** False reports naming protocols' contracts \
             were confirmed with up to {}% of the weight cast on them. Genesis fix: raise \
             `verdict_threshold_bps` from {} to {fix}. The cost: a coalition holding more than \
             {}% of the weight cast on a true report can then force it to a vote.",
            pct(i128::from(m.false_confirm_share_bps)),
            params.verdict_threshold_bps,
            pct(i128::from(BPS - fix))
        ));
    }
    for sec in &sim.security {
        let Some(g) = sec.margin_bps else { continue };
        if g > 0 {
            continue;
        }
        let value = sec.protected_value.0;
        let corrupted = m
            .strikes
            .iter()
            .filter(|s| {
                s.corrupted && sim.scenario.protocols[s.protocol].name == sec.protocol.as_str()
            })
            .count();
        let m_guardians = u64::from(sec.threshold.max(1));
        let per_guardian = Amount(value / m_guardians + 1);
        let mut text = format!(
            "**{} is corruptible (γ = {}):** its controls cost {} VGL to corrupt but protect {} \
             VGL; attackers bribed its guardians {corrupted} time(s).",
            sec.protocol,
            ratio(i128::from(g)),
            vgl(u128::from(sec.cost_of_corruption.0)),
            vgl(u128::from(value)),
        );
        if sec.guardian_path_cost <= sec.governance_cost_unopposed {
            let _ = write!(
                text,
                " Genesis fix: bond each of its {m_guardians} least-staked guardians with at least \
                 {} VGL (M × bond > value), or lower its declared value.",
                vgl(u128::from(per_guardian.0))
            );
        } else {
            let total = sec.total_bonded.0.max(1);
            let q = u128::from(value) * u128::from(BPS) / u128::from(total) + 1;
            if q <= u128::from(BPS) {
                let _ = write!(
                    text,
                    " Genesis fix: raise `governance_quorum_bps` from {} to {q}, so an \
                     unopposed vote needs more stake than the value protected.",
                    params.governance_quorum_bps
                );
            } else {
                let _ = write!(
                    text,
                    " No quorum suffices: the network's bonded stake ({} VGL) is below the value; \
                     bond more stake before protecting it.",
                    vgl(u128::from(total))
                );
            }
        }
        out.push(text);
    }
    let ret = |s: Strategy| m.profits.iter().find(|r| r.strategy == s).map(|r| r.return_bps());
    if let Some(honest) = ret(Strategy::HonestAttester)
        && honest < 0
    {
        out.push(format!(
            "**Checking loses money here ({}% for honest attesters).** With few liars to slash, \
             the only stake slashed is honest mistakes, and of each slash only {}% returns to \
             the winning attesters ({}% pays the reporter, the rest the treasury); attesters \
             who copy a settled majority never err and take a share of it. Raising \
             `winner_reward_bps` to {} keeps more of each slash among attesters but cannot make \
             checking pay while nobody lies: that needs a reward beyond the losers' stake (a \
             share of the reward pool for winning attesters), a change to the ledger rather \
             than to the genesis.",
            pct(honest),
            pct(i128::from(params.winner_reward_bps)),
            pct(i128::from(params.reporter_reward_bps)),
            BPS.saturating_sub(params.reporter_reward_bps)
        ));
    }
    for liar in [Strategy::FalseReporter, Strategy::Colluding, Strategy::Sybil] {
        if let Some(r) = ret(liar)
            && r >= 0
        {
            out.push(format!(
                "**Lying pays for {} ({}%).** Genesis fix: raise `min_report_bond` (now {} VGL) \
                 and `attester_slash_bps` (now {}).",
                liar.as_str(),
                pct(r),
                vgl(u128::from(params.min_report_bond.0)),
                params.attester_slash_bps
            ));
        }
    }
    if let (Some(honest), Some(lazy)) = (ret(Strategy::HonestAttester), ret(Strategy::LazyAttester))
        && lazy >= honest
    {
        out.push(format!(
            "**Copying the lead pays as well as checking** (lazy {}% ≥ honest {}%): the tally \
             is public while a report is open, so waiting and following the side that leads \
             rarely loses. No genesis parameter fixes this (raising `attester_slash_bps`, now \
             {}, only bites once liars lead); hiding the tally until the deadline \
             (commit–reveal attestations) is the ledger change that would.",
            pct(lazy),
            pct(honest),
            params.attester_slash_bps
        ));
    }
    let verdicts = m.cast.len() as u64;
    if verdicts > 0 && m.below_quorum * 10 > verdicts {
        // The quorum is a share of all bonded stake; what is cast per report is bounded by the
        // attesting stake divided among the reports open at once.
        let median = m.median_cast().unwrap_or(0);
        let bonded_est = u128::from(m.last_quorum) * u128::from(BPS)
            / u128::from(params.attestation_quorum_bps.max(1));
        let median_bps =
            (u128::from(median) * u128::from(BPS)).checked_div(bonded_est).unwrap_or(0);
        let fix = (median_bps / 2).max(1);
        out.push(format!(
            "**{} of {verdicts} reports missed the attestation quorum** and went to a vote. \
             The quorum is {} bps of all bonded stake, but the median weight cast on a report \
             was {median_bps} bps of it: with many reports open at once, attesters spread \
             their stake. Genesis fix: `attestation_quorum_bps` = {fix} (half the median cast).",
            m.below_quorum, params.attestation_quorum_bps
        ));
    }
    out
}

/// Basis points as a percentage with two decimals.
fn pct(bps: i128) -> String {
    let sign = if bps < 0 { "-" } else { "" };
    let b = bps.unsigned_abs();
    format!("{sign}{}.{:02}", b / 100, b % 100)
}
