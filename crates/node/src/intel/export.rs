//! The node's intelligence as STIX 2.1: the indicator book, and the ledger's reports (with
//! their indicators and authors) and attestations (as opinions), as `vigil stix export` and the
//! TAXII feed produce them. Times are block times, so every node makes the same objects.

use std::collections::{BTreeMap, BTreeSet};

use vigil_core::{AccountId, ReportId};
use vigil_intel::Timestamp;
use vigil_intel::stix::{
    AttestationMeta, BookExport, Bundle, ReportMeta, StixObject, Tlp, Vulnerability,
    attestation_opinion, book_bundle, participant_identity, report_objects, vulnerability_object,
};
use vigil_ledger::{ReportRecord, ReportStatus};

use crate::app::NodeState;
use crate::store::RedbStore;

/// Block times by height, read once each.
#[derive(Default)]
pub struct BlockTimes(BTreeMap<u64, Timestamp>);

impl BlockTimes {
    /// The time of the block at `height` (zero for genesis or a block not stored).
    pub fn at(&mut self, store: &RedbStore, height: u64) -> Timestamp {
        *self.0.entry(height).or_insert_with(|| {
            Timestamp(store.block(height).ok().flatten().map(|b| b.time).unwrap_or(0))
        })
    }
}

/// A ledger report as STIX at one moment of its life: the author's identity, its indicators
/// (labelled with the status) and the `report` whose version is `modified`.
pub fn report_stix(
    id: &ReportId,
    record: &ReportRecord,
    status: ReportStatus,
    published: Timestamp,
    modified: Timestamp,
    confidence: Option<u8>,
    tlp: Tlp,
) -> Vec<StixObject> {
    debug_assert_eq!(*id, record.report.id());
    report_objects(
        &record.report,
        &ReportMeta {
            author: record.reporter,
            bond: record.bond,
            published,
            modified,
            confidence,
            labels: vec![status.as_str().to_owned()],
            tlp,
            wallet_convention: true,
        },
    )
}

/// An attestation as STIX (the attester's identity and an `opinion`).
pub fn opinion_stix(
    report: ReportId,
    attester: AccountId,
    stance: vigil_core::Stance,
    stake: vigil_core::Amount,
    at: Timestamp,
    confidence: Option<u8>,
    tlp: Tlp,
) -> Vec<StixObject> {
    attestation_opinion(&AttestationMeta { report, attester, stance, stake, at, confidence, tlp })
}

/// The reputation of an account as a STIX confidence (0–100).
pub fn reputation(state: &NodeState, account: &AccountId) -> Option<u8> {
    state.ledger.read().account(account).map(|a| a.reputation_score.min(100))
}

/// Every report and attestation on the ledger, and every revealed disclosure, as STIX, those at
/// or after `since` (block time).
pub fn ledger_objects(state: &NodeState, since: Option<Timestamp>, tlp: Tlp) -> Vec<StixObject> {
    struct Item {
        id: ReportId,
        record: ReportRecord,
        confidence: Option<u8>,
        attestations: Vec<(AccountId, vigil_ledger::Attestation, Option<u8>)>,
    }
    let (items, height) = {
        let ledger = state.ledger.read();
        let score = |a: &AccountId| ledger.account(a).map(|v| v.reputation_score.min(100));
        let items: Vec<Item> = ledger
            .state()
            .reports()
            .map(|(id, r)| Item {
                id: *id,
                record: r.clone(),
                confidence: score(&r.reporter),
                attestations: ledger
                    .state()
                    .attestations_on(id)
                    .map(|(who, a)| (*who, *a, score(who)))
                    .collect(),
            })
            .collect();
        (items, ledger.height())
    };
    let since = since.unwrap_or_default();
    let mut times = BlockTimes::default();
    let mut out = Vec::new();
    for item in items {
        let published = times.at(&state.store, item.record.submitted_at);
        let modified = if item.record.status == ReportStatus::Open {
            published
        } else {
            times.at(&state.store, item.record.deadline.min(height))
        };
        if modified >= since {
            out.extend(report_stix(
                &item.id,
                &item.record,
                item.record.status,
                published,
                modified,
                item.confidence,
                tlp,
            ));
        }
        for (who, a, confidence) in item.attestations {
            let at = times.at(&state.store, a.at_height);
            if at >= since {
                out.extend(opinion_stix(item.id, who, a.stance, a.stake, at, confidence, tlp));
            }
        }
    }
    out.extend(disclosure_objects(state, since, tlp));
    out
}

/// A revealed disclosure as STIX: its researcher's identity and a `vulnerability` whose
/// description is the report as committed and whose external reference is the commitment.
pub fn disclosure_stix(
    id: u64,
    d: &vigil_ledger::DisclosureRecord,
    published: Timestamp,
    tlp: Tlp,
) -> Option<Vec<StixObject>> {
    let report = d.revealed.as_ref()?;
    let first_line = report.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let title = first_line.trim_start_matches('#').trim();
    let vulnerability = vulnerability_object(
        &Vulnerability {
            name: format!("Vigil disclosure {id}: {title}"),
            description: report.clone(),
            affected_protocols: vec![d.protocol.to_string()],
            severity: d.severity,
            cve: None,
            published,
            reporter: Some(d.researcher),
            commitment: Some(vigil_core::B256(d.commitment.0)),
        },
        tlp,
    );
    Some(vec![participant_identity(&d.researcher), vulnerability])
}

/// Every revealed disclosure as STIX, those revealed at or after `since`.
fn disclosure_objects(state: &NodeState, since: Timestamp, tlp: Tlp) -> Vec<StixObject> {
    let revealed: Vec<(u64, vigil_ledger::DisclosureRecord)> = {
        let ledger = state.ledger.read();
        ledger
            .state()
            .disclosures()
            .filter(|(_, d)| d.revealed.is_some())
            .map(|(id, d)| (*id, d.clone()))
            .collect()
    };
    let mut times = BlockTimes::default();
    let mut out = Vec::new();
    for (id, d) in revealed {
        // Published when the deadline passed unanswered: the first height a reveal was allowed.
        let published = times.at(&state.store, d.deadline.saturating_add(1));
        if published >= since {
            out.extend(disclosure_stix(id, &d, published, tlp).unwrap_or_default());
        }
    }
    out
}

/// Options of [`bundle`].
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Only what was seen (book) or happened (ledger) at or after this time.
    pub since: Option<Timestamp>,
    /// Also book indicators whose confidence decayed below their threshold.
    pub include_expired: bool,
    /// Leave out the book.
    pub no_book: bool,
    /// Leave out the ledger.
    pub no_ledger: bool,
}

/// The book and the ledger as one STIX bundle. Objects with the same id and version appear
/// once.
pub fn bundle(state: &NodeState, options: &ExportOptions) -> Bundle {
    let tlp = state.intel.config().tlp;
    let book = state.intel.book();
    let mut objects = book_bundle(
        &book,
        &BookExport {
            since: options.since,
            now: super::now(),
            producer: state.node_account,
            tlp,
            include_expired: options.include_expired,
            wallet_convention: true,
        },
    )
    .objects;
    if options.no_book {
        // Keep the marking, extension definition and identities the ledger objects refer to.
        objects.retain(|o| o.object_type() != "indicator");
    }
    if !options.no_ledger {
        objects.extend(ledger_objects(state, options.since, tlp));
    }
    let mut seen = BTreeSet::new();
    objects.retain(|o| seen.insert((o.id().to_owned(), o.version().map(str::to_owned))));
    Bundle::of(objects)
}
