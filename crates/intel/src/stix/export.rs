//! The STIX 2.1 mapping of Vigil's data: reports → `report` + `indicator`s, attestations →
//! `opinion`, detector alerts → `sighting`, vulnerabilities → `vulnerability`, participants →
//! `identity`, the indicator book → a bundle of `indicator`s. Every object gets a deterministic
//! id (see [`super::vigil_id`]), a TLP 2.0 marking, and, where Vigil has facts STIX has no
//! property for, Vigil's property extension.

use serde_json::{Value, json};
use vigil_core::{
    AccountId, Alert, Amount, B256, Category, Evidence, Indicator, IndicatorKind, Report, ReportId,
    Severity, Stance,
};

use super::extension::{extension_definition, into_map, project_identity, property_extension, ts};
use super::pattern::pattern_of;
use super::{Bundle, StixObject, Tlp, vigil_id};
use crate::book::IndicatorBook;
use crate::time::Timestamp;

/// `created` of objects whose content does not depend on time (participant identities,
/// detector attack patterns), so that every node produces the same object.
const TIMELESS: Timestamp = Timestamp(1_767_225_600); // 2026-01-01T00:00:00Z

/// Longest `name` Vigil writes.
const MAX_NAME: usize = 200;

fn clip(s: &str, max: usize) -> String {
    let first_line = s.lines().next().unwrap_or_default().trim();
    if first_line.chars().count() <= max {
        return first_line.to_owned();
    }
    let mut t: String = first_line.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Confidence (0–100) from a reputation in basis points (0–10 000), rounded down.
pub fn confidence_from_reputation_bps(bps: u32) -> u8 {
    u8::try_from(bps.min(10_000) / 100).unwrap_or(100)
}

/// The STIX id of an indicator: the same indicator always has the same id.
pub fn indicator_id(indicator: &Indicator) -> String {
    vigil_id("indicator", &indicator.to_string())
}

/// The STIX id of a participant's identity.
pub fn identity_id(account: &AccountId) -> String {
    vigil_id("identity", &account.to_string())
}

/// The STIX id of a ledger report.
pub fn report_id(report: &ReportId) -> String {
    vigil_id("report", &report.to_string())
}

/// A participant (account) as a STIX `identity`.
pub fn participant_identity(account: &AccountId) -> StixObject {
    StixObject::built(into_map(json!({
        "type": "identity",
        "spec_version": "2.1",
        "id": identity_id(account),
        "created": ts(TIMELESS),
        "modified": ts(TIMELESS),
        "name": account.to_string(),
        "description": "A Vigil participant, named by its account id (Ed25519 public key).",
        "identity_class": "unknown",
    })))
}

fn indicator_types(category: Category) -> &'static str {
    match category {
        Category::Sanctioned => "attribution",
        Category::Vulnerability => "compromised",
        Category::Other => "unknown",
        Category::Exploit
        | Category::Phishing
        | Category::Scam
        | Category::MaliciousContract
        | Category::GovernanceAttack => "malicious-activity",
    }
}

fn kind_name(kind: IndicatorKind) -> &'static str {
    match kind {
        IndicatorKind::Address => "address",
        IndicatorKind::CodeHash => "contract code hash",
        IndicatorKind::Selector => "function selector",
        IndicatorKind::Domain => "domain",
        IndicatorKind::TxHash => "transaction",
        IndicatorKind::Url => "URL",
    }
}

/// What an indicator object says besides its pattern.
#[derive(Clone, Debug)]
pub struct IndicatorMeta {
    /// First seen: the object's `created` and `valid_from`.
    pub created: Timestamp,
    /// Last change: the object's `modified` (its version).
    pub modified: Timestamp,
    /// The kind of threat.
    pub category: Category,
    /// Confidence 0–100.
    pub confidence: Option<u8>,
    /// Free text for people.
    pub description: String,
    /// Extra labels (the category is always the first label).
    pub labels: Vec<String>,
    /// End of validity.
    pub valid_until: Option<Timestamp>,
    /// The identity that produced it.
    pub created_by: Option<String>,
    /// Its marking.
    pub tlp: Tlp,
    /// Also match `cryptocurrency-wallet` observables in address patterns.
    pub wallet_convention: bool,
}

/// An indicator as a STIX `indicator`.
pub fn indicator_object(indicator: &Indicator, meta: &IndicatorMeta) -> StixObject {
    let modified = meta.modified.max(meta.created);
    let mut labels = vec![meta.category.as_str().to_owned()];
    labels.extend(meta.labels.iter().filter(|l| !l.is_empty()).cloned());
    labels.dedup();
    let mut o = into_map(json!({
        "type": "indicator",
        "spec_version": "2.1",
        "id": indicator_id(indicator),
        "created": ts(meta.created),
        "modified": ts(modified),
        "name": clip(&format!("{} {}: {indicator}", meta.category, kind_name(indicator.kind())), MAX_NAME),
        "description": if meta.description.trim().is_empty() { format!("{} {}", meta.category, kind_name(indicator.kind())) } else { meta.description.clone() },
        "indicator_types": [indicator_types(meta.category)],
        "pattern": pattern_of(indicator, meta.wallet_convention),
        "pattern_type": "stix",
        "pattern_version": "2.1",
        "valid_from": ts(meta.created),
        "labels": labels,
        "object_marking_refs": [meta.tlp.marking_id()],
    }));
    if let Some(c) = meta.confidence {
        o.insert("confidence".into(), json!(c.min(100)));
    }
    if let Some(until) = meta.valid_until.filter(|u| *u > meta.created) {
        o.insert("valid_until".into(), ts(until));
    }
    if let Some(by) = &meta.created_by {
        o.insert("created_by_ref".into(), json!(by));
    }
    StixObject::built(o)
}

/// The ledger's facts about a report.
#[derive(Clone, Debug)]
pub struct ReportMeta {
    /// Who submitted it.
    pub author: AccountId,
    /// The bond behind it.
    pub bond: Amount,
    /// When it was included (block time): `created` and `published`.
    pub published: Timestamp,
    /// Last change (e.g. the verdict's block time): `modified`; at least `published`.
    pub modified: Timestamp,
    /// Confidence 0–100 (e.g. from the author's reputation or the verdict).
    pub confidence: Option<u8>,
    /// Extra labels (e.g. `confirmed` once the verdict is in).
    pub labels: Vec<String>,
    /// Marking.
    pub tlp: Tlp,
    /// Also match `cryptocurrency-wallet` observables in address patterns.
    pub wallet_convention: bool,
}

fn evidence_refs(evidence: &[Evidence]) -> Vec<Value> {
    evidence
        .iter()
        .map(|e| match e {
            Evidence::Tx { chain, hash } => {
                json!({ "source_name": format!("eip155:{chain}"), "external_id": hash.to_string(), "description": "transaction" })
            }
            Evidence::Url(url) => json!({ "source_name": "evidence", "url": url }),
        })
        .collect()
}

/// A ledger report as STIX: its author's `identity`, one `indicator` per indicator, a
/// `vulnerability` when it is a vulnerability report, and the `report` referring to them.
pub fn report_objects(report: &Report, meta: &ReportMeta) -> Vec<StixObject> {
    let author = participant_identity(&meta.author);
    let rid = report.id();
    let modified = meta.modified.max(meta.published);
    let mut objects = vec![author.clone()];
    let mut refs = Vec::new();
    for indicator in &report.indicators {
        let obj = indicator_object(
            indicator,
            &IndicatorMeta {
                created: meta.published,
                modified,
                category: report.category,
                confidence: meta.confidence,
                description: clip(&report.summary, 1_000),
                labels: meta.labels.clone(),
                valid_until: None,
                created_by: Some(author.id().to_owned()),
                tlp: meta.tlp,
                wallet_convention: meta.wallet_convention,
            },
        );
        refs.push(json!(obj.id()));
        objects.push(obj);
    }
    for d in &report.detection {
        let obj = super::detection::detection_object(
            d,
            meta.published,
            Some(author.id()),
            meta.confidence,
            &clip(&report.summary, 1_000),
            meta.tlp.marking_id(),
        );
        refs.push(json!(obj.id()));
        objects.push(obj);
    }
    if report.category == Category::Vulnerability {
        let v = vulnerability_object(
            &Vulnerability {
                name: clip(&report.summary, MAX_NAME),
                description: report.summary.clone(),
                affected_protocols: report.affected_protocols.clone(),
                severity: report.severity,
                cve: None,
                published: meta.published,
                reporter: Some(meta.author),
                commitment: None,
            },
            meta.tlp,
        );
        refs.push(json!(v.id()));
        objects.push(v);
    }
    let mut labels = vec![report.category.as_str().to_owned(), report.severity.as_str().to_owned()];
    labels.extend(meta.labels.iter().cloned());
    let ext = into_map(json!({
        "report_id": rid.to_string(),
        "severity": report.severity.as_str(),
        "category": report.category.as_str(),
        "bond_units": meta.bond.0,
    }));
    let mut o = into_map(json!({
        "type": "report",
        "spec_version": "2.1",
        "id": report_id(&rid),
        "created_by_ref": author.id(),
        "created": ts(meta.published),
        "modified": ts(modified),
        "name": clip(&report.summary, MAX_NAME),
        "description": report.summary,
        "report_types": ["threat-report"],
        "published": ts(meta.published),
        "object_refs": refs,
        "labels": labels,
        "object_marking_refs": [meta.tlp.marking_id()],
        "extensions": property_extension(ext),
    }));
    if let Some(c) = meta.confidence {
        o.insert("confidence".into(), json!(c.min(100)));
    }
    let mut external = evidence_refs(&report.evidence);
    external.extend(
        report
            .affected_protocols
            .iter()
            .map(|p| json!({ "source_name": "affected-protocol", "description": p })),
    );
    if !external.is_empty() {
        o.insert("external_references".into(), Value::Array(external));
    }
    objects.push(StixObject::built(o));
    objects
}

/// An attestation on the ledger.
#[derive(Clone, Debug)]
pub struct AttestationMeta {
    /// The report attested.
    pub report: ReportId,
    /// Who attested.
    pub attester: AccountId,
    /// Confirm or dispute.
    pub stance: Stance,
    /// Stake locked behind it.
    pub stake: Amount,
    /// When (block time).
    pub at: Timestamp,
    /// Confidence 0–100 (e.g. from the attester's reputation).
    pub confidence: Option<u8>,
    /// Marking.
    pub tlp: Tlp,
}

/// An attestation as a STIX `opinion` on the report (`agree` to confirm, `disagree` to
/// dispute), with the attester's `identity`. The stake is in Vigil's property extension.
pub fn attestation_opinion(meta: &AttestationMeta) -> Vec<StixObject> {
    let attester = participant_identity(&meta.attester);
    let (opinion, verb) = match meta.stance {
        Stance::Confirm => ("agree", "confirms"),
        Stance::Dispute => ("disagree", "disputes"),
    };
    let mut o = into_map(json!({
        "type": "opinion",
        "spec_version": "2.1",
        "id": vigil_id("opinion", &format!("{}:{}", meta.report, meta.attester)),
        "created_by_ref": attester.id(),
        "created": ts(meta.at),
        "modified": ts(meta.at),
        "opinion": opinion,
        "explanation": format!("Vigil participant {} {verb} report {} with a stake of {}.", meta.attester, meta.report, meta.stake),
        "authors": [meta.attester.to_string()],
        "object_refs": [report_id(&meta.report)],
        "object_marking_refs": [meta.tlp.marking_id()],
        "extensions": property_extension(into_map(json!({
            "report_id": meta.report.to_string(),
            "attester": meta.attester.to_string(),
            "stake_units": meta.stake.0,
        }))),
    }));
    if let Some(c) = meta.confidence {
        o.insert("confidence".into(), json!(c.min(100)));
    }
    vec![attester, StixObject::built(o)]
}

/// The node that raised (signed) an alert, and when it saw the transaction.
#[derive(Clone, Debug)]
pub struct AlertMeta {
    /// The signer of the alert.
    pub raised_by: AccountId,
    /// When the transaction was seen.
    pub seen: Timestamp,
    /// Marking.
    pub tlp: Tlp,
    /// Also match `cryptocurrency-wallet` observables in address patterns.
    pub wallet_convention: bool,
}

/// A detector alert as STIX `sighting`s: one per indicator it matched (with the `indicator`),
/// or, when it matched none, one sighting of the detector as an `attack-pattern`. The
/// raising node is the `identity` where it was sighted.
pub fn alert_objects(alert: &Alert, meta: &AlertMeta) -> Vec<StixObject> {
    let node = participant_identity(&meta.raised_by);
    let alert_id = alert.id();
    let category = match alert.kind {
        vigil_core::AlertKind::Exploit => Category::Exploit,
        vigil_core::AlertKind::Scam => Category::Scam,
        _ => Category::Other,
    };
    let mut objects = vec![node.clone()];
    let mut sighted = Vec::new();
    for indicator in &alert.indicators {
        let obj = indicator_object(
            indicator,
            &IndicatorMeta {
                created: meta.seen,
                modified: meta.seen,
                category,
                confidence: Some(alert.confidence.min(100)),
                description: clip(&alert.description, 1_000),
                labels: alert.labels.clone(),
                valid_until: None,
                created_by: Some(node.id().to_owned()),
                tlp: meta.tlp,
                wallet_convention: meta.wallet_convention,
            },
        );
        sighted.push(obj.id().to_owned());
        objects.push(obj);
    }
    if sighted.is_empty() {
        let ap = StixObject::built(into_map(json!({
            "type": "attack-pattern",
            "spec_version": "2.1",
            "id": vigil_id("attack-pattern", &format!("detector:{}", alert.detector)),
            "created": ts(TIMELESS),
            "modified": ts(TIMELESS),
            "name": clip(&alert.detector, MAX_NAME),
            "description": format!("What Vigil's detector {:?} detects.", alert.detector),
        })));
        sighted.push(ap.id().to_owned());
        objects.push(ap);
    }
    let tx = &alert.tx;
    for of in sighted {
        let mut ext = into_map(json!({
            "alert_id": alert_id.to_string(),
            "detector": alert.detector,
            "alert_kind": alert.kind.to_string(),
            "chain_id": tx.chain.0,
            "tx_hash": tx.hash.to_string(),
        }));
        if alert.detector.is_empty() {
            ext.remove("detector");
        }
        objects.push(StixObject::built(into_map(json!({
            "type": "sighting",
            "spec_version": "2.1",
            "id": vigil_id("sighting", &format!("{alert_id}:{of}:{}", meta.raised_by)),
            "created_by_ref": node.id(),
            "created": ts(meta.seen),
            "modified": ts(meta.seen),
            "first_seen": ts(meta.seen),
            "last_seen": ts(meta.seen),
            "count": 1,
            "sighting_of_ref": of,
            "where_sighted_refs": [node.id()],
            "description": clip(&alert.description, 4_000),
            "confidence": alert.confidence.min(100),
            "labels": [alert.kind.to_string(), alert.severity.as_str()],
            "external_references": [{ "source_name": format!("eip155:{}", tx.chain), "external_id": tx.hash.to_string(), "description": "transaction" }],
            "object_marking_refs": [meta.tlp.marking_id()],
            "extensions": property_extension(ext),
        }))));
    }
    objects
}

/// A vulnerability disclosure (the revealed plaintext, or just its commitment while embargoed).
#[derive(Clone, Debug)]
pub struct Vulnerability {
    /// A short name.
    pub name: String,
    /// What it is.
    pub description: String,
    /// Protocols it affects.
    pub affected_protocols: Vec<String>,
    /// How bad.
    pub severity: Severity,
    /// Its CVE id, if it has one.
    pub cve: Option<String>,
    /// When it was disclosed.
    pub published: Timestamp,
    /// Who reported it.
    pub reporter: Option<AccountId>,
    /// The hash committed on the ledger while embargoed.
    pub commitment: Option<B256>,
}

/// A vulnerability as a STIX `vulnerability`. Its id derives from the commitment when there
/// is one (so the embargoed and the revealed object are versions of one object), else from
/// the name and the affected protocols.
pub fn vulnerability_object(v: &Vulnerability, tlp: Tlp) -> StixObject {
    let key = match &v.commitment {
        Some(c) => format!("commitment:{c}"),
        None => format!("{}|{}", v.name, v.affected_protocols.join(",")),
    };
    let mut external: Vec<Value> = Vec::new();
    if let Some(cve) = &v.cve {
        external.push(json!({ "source_name": "cve", "external_id": cve }));
    }
    if let Some(c) = &v.commitment {
        external.push(json!({ "source_name": "vigil-commitment", "external_id": c.to_string() }));
    }
    external.extend(
        v.affected_protocols
            .iter()
            .map(|p| json!({ "source_name": "affected-protocol", "description": p })),
    );
    let mut o = into_map(json!({
        "type": "vulnerability",
        "spec_version": "2.1",
        "id": vigil_id("vulnerability", &key),
        "created": ts(v.published),
        "modified": ts(v.published),
        "name": clip(&v.name, MAX_NAME),
        "description": v.description,
        "labels": [v.severity.as_str()],
        "object_marking_refs": [tlp.marking_id()],
    }));
    if let Some(r) = &v.reporter {
        o.insert("created_by_ref".into(), json!(identity_id(r)));
    }
    if !external.is_empty() {
        o.insert("external_references".into(), Value::Array(external));
    }
    StixObject::built(o)
}

/// How to export the indicator book.
#[derive(Clone, Debug)]
pub struct BookExport {
    /// Only indicators some source saw at or after this time.
    pub since: Option<Timestamp>,
    /// Now, for decayed confidence.
    pub now: Timestamp,
    /// The exporting node's account (the `created_by_ref` of every indicator).
    pub producer: AccountId,
    /// Marking of every object.
    pub tlp: Tlp,
    /// Also export indicators whose confidence has decayed below their threshold.
    pub include_expired: bool,
    /// Also match `cryptocurrency-wallet` observables in address patterns.
    pub wallet_convention: bool,
}

/// The indicator book as a STIX bundle: the TLP marking, Vigil's extension definition and
/// project identity, the producer's identity, and one `indicator` per entry. The same book
/// exported twice at the same `now` gives the same bundle, ids included.
pub fn book_bundle(book: &IndicatorBook, options: &BookExport) -> Bundle {
    let producer = participant_identity(&options.producer);
    let mut objects = vec![
        options.tlp.marking_definition(),
        project_identity(),
        extension_definition(),
        producer.clone(),
    ];
    let since = options.since.unwrap_or_default();
    for (indicator, entry) in book.entries_seen_since(since) {
        let (confidence, active) = book.confidence(entry, options.now);
        if !active && !options.include_expired {
            continue;
        }
        let description = entry
            .sources
            .iter()
            .map(|(name, rec)| {
                let labels: Vec<&str> = rec.labels.iter().map(String::as_str).take(5).collect();
                if labels.is_empty() {
                    name.clone()
                } else {
                    format!("{name} ({})", labels.join(", "))
                }
            })
            .collect::<Vec<_>>()
            .join("; ");
        let valid_until = entry.sources.values().map(|r| r.valid_until).max().flatten();
        objects.push(indicator_object(
            indicator,
            &IndicatorMeta {
                created: entry.first_seen(),
                modified: entry.last_seen(),
                category: entry.category(),
                confidence: Some(confidence),
                description: clip(&format!("Listed by {description}"), 2_000),
                labels: entry.sources.keys().map(|s| format!("source:{s}")).collect(),
                valid_until,
                created_by: Some(producer.id().to_owned()),
                tlp: options.tlp,
                wallet_convention: options.wallet_convention,
            },
        ));
    }
    Bundle::of(objects)
}
