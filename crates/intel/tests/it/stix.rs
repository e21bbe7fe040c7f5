//! STIX 2.1 interop: the official examples, the official JSON schemas, Vigil's extension
//! schema, and the OASIS `stix2-validator`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vigil_core::{
    Alert, AlertKind, Amount, Category, EvmChainId, Indicator, Keypair, Report, Severity, Stance,
    TxRef,
};
use vigil_intel::stix::{
    self, AlertMeta, AttestationMeta, BookExport, Bundle, ReportMeta, StixObject, Tlp,
    Vulnerability,
};
use vigil_intel::{FeedKind, ImportOptions, IndicatorBook, Timestamp, import};

use crate::support::{data_dir, py_script, python, read};

const NOW: Timestamp = Timestamp(1_767_225_600);

/// The 16 official STIX 2.1 example bundles and their object counts.
const EXAMPLES: [(&str, usize); 16] = [
    ("cti-documentation/apt1.json", 76),
    ("cti-documentation/defining-campaigns-threat-actors-intrusion-sets.json", 26),
    ("cti-documentation/identifying-a-threat-actor-profile.json", 3),
    ("cti-documentation/indicator-for-malicious-url.json", 3),
    ("cti-documentation/malware-indicator-for-file-hash.json", 3),
    ("cti-documentation/poisonivy.json", 155),
    ("cti-documentation/sighting-of-an-indicator.json", 4),
    ("cti-documentation/sighting-of-observed-data.json", 8),
    ("cti-documentation/threat-actor-leveraging-attack-patterns-and-malware.json", 7),
    ("cti-documentation/using-granular-markings.json", 4),
    ("cti-documentation/using-marking-definitions.json", 4),
    ("cti-stix2-json-schemas/examples/indicator-for-c2-ip-address.json", 1),
    ("cti-stix2-json-schemas/examples/indicator-to-campaign-relationship.json", 3),
    ("cti-stix2-json-schemas/examples/indicators-for-C2-with-COA.json", 8),
    ("cti-stix2-json-schemas/examples/infrastructure.json", 10),
    ("cti-stix2-json-schemas/examples/malicious-email-indicator-with-attachment.json", 6),
];

#[test]
fn all_16_official_examples_import_and_round_trip_with_their_ids() {
    let Some(dir) = data_dir() else { return };
    let mut book = IndicatorBook::new();
    let mut domains = 0;
    for (file, count) in EXAMPLES {
        let input = read(&dir, &format!("stix21-examples/{file}"));
        let before = book.len();
        let out = stix::import_bundle(&mut book, &input, &ImportOptions::seen_at(NOW), &mut |_| {})
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(out.report.rejected_total, 0, "{file}: {:?}", out.report.rejected);
        // The fast path (objects not kept) reads the same.
        let mut other = IndicatorBook::new();
        let fast =
            import(&mut other, FeedKind::Stix, &input, &ImportOptions::seen_at(NOW), &mut |_| {})
                .unwrap();
        assert_eq!(
            (fast.read, fast.skipped, fast.rejected_total),
            (out.report.read, out.report.skipped, 0),
            "{file}"
        );
        assert_eq!(out.report.read as usize, count, "{file}");
        assert_eq!(out.bundle.objects.len(), count, "{file}");
        domains += book.len() - before;

        let original: Value = serde_json::from_slice(&input).unwrap();
        let again = Bundle::parse(out.bundle.to_json().as_bytes(), usize::MAX).unwrap();
        assert_eq!(again.id, original["id"].as_str().unwrap(), "{file}");
        let ids = |b: &Bundle| b.objects.iter().map(|o| o.id().to_owned()).collect::<Vec<_>>();
        let original_ids: Vec<String> = original["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids(&again), original_ids, "{file}");
        for (a, b) in again.objects.iter().zip(original["objects"].as_array().unwrap()) {
            assert_eq!(&a.clone().into_value(), b, "{file}: {} changed in the round trip", a.id());
        }
    }
    // poisonivy and apt1 carry domain-name indicators: they reach the book.
    assert!(domains >= 10, "{domains}");
    assert!(book.check(&"hugesoft.org".parse().unwrap(), NOW).is_some());
}

#[test]
fn invalid_stix_is_refused_with_clear_errors_and_nothing_lost() {
    let mut book = IndicatorBook::new();
    import(
        &mut book,
        FeedKind::Csv,
        b"0x098b716b8aaf21512996dc57eb0615e2383e2f96\n",
        &ImportOptions::seen_at(NOW),
        &mut |_| {},
    )
    .unwrap();
    let before = book.clone();
    let o = ImportOptions::seen_at(NOW);
    let err = stix::import_bundle(
        &mut book,
        br#"{"type": "report", "id": "report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#,
        &o,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("expected \"bundle\""), "{err}");
    let err = stix::import_bundle(
        &mut book,
        br#"{"type": "bundle", "id": "bundle--1", "objects": []}"#,
        &o,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("bundle--UUID"), "{err}");
    let err =
        stix::import_bundle(&mut book, b"{\"type\": \"bundle\",\n \"objects\": [", &o, &mut |_| {})
            .unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
    let mut tiny = o.clone();
    tiny.max_bytes = 10;
    let err = stix::import_bundle(
        &mut book,
        br#"{"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}"#,
        &tiny,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("limit is 10 bytes"), "{err}");
    assert_eq!(book, before);

    // One bad object among good ones: it is rejected with its line; the others are imported.
    let mixed = br#"{"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "objects": [
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--11111111-17d4-4cbf-938f-98ee46b3cd3f",
   "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
   "pattern": "[domain-name:value = 'drainer.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"},
  {"type": "indicator", "spec_version": "2.1", "id": "malware--22222222-17d4-4cbf-938f-98ee46b3cd3f",
   "pattern": "[domain-name:value = 'other.example']", "pattern_type": "stix"},
  {"type": "indicator", "spec_version": "2.1", "id": "indicator--33333333-17d4-4cbf-938f-98ee46b3cd3f",
   "created": "yesterday", "pattern": "[domain-name:value = 'third.example']", "pattern_type": "stix"}
]}"#;
    let mut fast_book = book.clone();
    let fast = import(&mut fast_book, FeedKind::Stix, mixed, &o, &mut |_| {}).unwrap();
    let out = stix::import_bundle(&mut book, mixed, &o, &mut |_| {}).unwrap();
    assert_eq!(fast, out.report, "both paths check objects alike");
    assert_eq!(fast_book, book);
    assert_eq!((out.report.read, out.report.imported, out.report.rejected_total), (3, 1, 2));
    assert_eq!(out.report.rejected[0].line, 5);
    assert!(
        out.report.rejected[0].reason.contains("does not start with its type"),
        "{}",
        out.report.rejected[0]
    );
    assert_eq!(out.report.rejected[1].line, 7);
    assert!(out.report.rejected[1].reason.contains("created"), "{}", out.report.rejected[1]);
    let entry = book.get(&"drainer.example".parse().unwrap()).unwrap();
    assert_eq!(
        entry.last_seen(),
        "2024-01-01T00:00:00Z".parse().unwrap(),
        "the object's own date is kept"
    );
    assert!(book.get(&"0x098b716b8aaf21512996dc57eb0615e2383e2f96".parse().unwrap()).is_some());
}

fn account(seed: u8) -> vigil_core::AccountId {
    Keypair::from_seed(&[seed; 32]).account_id()
}

fn ind(s: &str) -> Indicator {
    s.parse().unwrap()
}

/// A bundle exercising every mapping: book export, report (with a vulnerability), attestations
/// both ways, alerts with and without matched indicators, a disclosure, every TLP level.
fn everything() -> Bundle {
    let mut book = IndicatorBook::new();
    let list = "indicator,label,category\n\
        0x098b716b8aaf21512996dc57eb0615e2383e2f96,Tornado,sanctioned\n\
        eip155:1:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed,drainer,phishing\n\
        codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470,empty,malicious_contract\n\
        selector:0x42b0b77c,flashLoanSimple,exploit\n\
        myetherwa11et.com,look-alike,phishing\n\
        tx:1:0x0000000000000000000000000000000000000000000000000000000000000001,exploit tx,exploit\n";
    import(&mut book, FeedKind::Csv, list.as_bytes(), &ImportOptions::seen_at(NOW), &mut |_| {})
        .unwrap();
    let mut objects = stix::book_bundle(
        &book,
        &BookExport {
            since: None,
            now: NOW,
            producer: account(1),
            tlp: Tlp::Green,
            include_expired: false,
            wallet_convention: true,
        },
    )
    .objects;
    let report = Report {
        indicators: vec![
            ind("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            ind("selector:0x42b0b77c"),
        ],
        severity: Severity::Critical,
        category: Category::Vulnerability,
        summary: "Price oracle of ExampleLend can be moved in one block\nDetails follow.".into(),
        evidence: vec![
            "tx:1:0x00000000000000000000000000000000000000000000000000000000000000aa"
                .parse()
                .unwrap(),
            "https://example.org/post-mortem".parse().unwrap(),
        ],
        affected_protocols: vec!["ExampleLend".into()],
        // Shared detection content: exported as indicators of Vigil's pattern types.
        detection: vec![
            vigil_core::Detection::Fingerprint(vigil_core::Fingerprint::new(
                (0..5u8)
                    .map(|depth| vigil_core::detection::Step {
                        kind: vigil_core::CallKind::Call,
                        selector: (depth > 0)
                            .then_some(vigil_core::Selector([0x42, 0xb0, 0xb7, depth])),
                        depth,
                        target: vigil_core::detection::Target::Up(1),
                        ok: true,
                        value: depth,
                        flow: vigil_core::detection::Flow::In,
                    })
                    .collect(),
            )),
            vigil_core::Detection::Rules {
                source: "[[rule]]\nname = \"oracle-swing\"\nexpression = \"tx.value > 1e18\"\n"
                    .into(),
            },
        ],
        revokes: Vec::new(),
    };
    objects.extend(stix::report_objects(
        &report,
        &ReportMeta {
            author: account(2),
            bond: Amount::vgl(100),
            published: NOW,
            modified: NOW,
            confidence: Some(stix::confidence_from_reputation_bps(7_250)),
            labels: vec!["confirmed".into()],
            tlp: Tlp::Amber,
            wallet_convention: false,
        },
    ));
    for (seed, stance) in [(3, Stance::Confirm), (4, Stance::Dispute)] {
        objects.extend(stix::attestation_opinion(&AttestationMeta {
            report: report.id(),
            attester: account(seed),
            stance,
            stake: Amount::vgl(5),
            at: NOW,
            confidence: Some(60),
            tlp: Tlp::AmberStrict,
        }));
    }
    let tx = TxRef {
        chain: EvmChainId::MAINNET,
        hash: "0x00000000000000000000000000000000000000000000000000000000000000bb".parse().unwrap(),
        from: "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse().unwrap(),
        to: None,
        block: Some(19_000_000),
    };
    for indicators in [vec![ind("0x098b716b8aaf21512996dc57eb0615e2383e2f96")], vec![]] {
        let alert = Alert {
            detector: "flash-loan-exploit".into(),
            severity: Severity::High,
            kind: AlertKind::Exploit,
            confidence: 88,
            tx: tx.clone(),
            addresses: vec![tx.from],
            indicators,
            labels: vec!["ofac".into()],
            description: "Flash loan followed by an oracle swing".into(),
            time: 1_700_000_000,
            metadata: Default::default(),
            detection: Vec::new(),
        };
        objects.extend(stix::alert_objects(
            &alert,
            &AlertMeta { raised_by: account(5), seen: NOW, tlp: Tlp::Red, wallet_convention: true },
        ));
    }
    objects.push(stix::vulnerability_object(
        &Vulnerability {
            name: "Reentrancy in ExampleVault.withdraw".into(),
            description: "Embargoed until the fix ships.".into(),
            affected_protocols: vec!["ExampleVault".into()],
            severity: Severity::High,
            cve: Some("CVE-2026-0001".into()),
            published: NOW,
            reporter: Some(account(6)),
            commitment: Some(vigil_core::B256([7; 32])),
        },
        Tlp::Clear,
    ));
    for tlp in Tlp::ALL {
        objects.push(tlp.marking_definition());
    }
    for i in [
        "0x098b716b8aaf21512996dc57eb0615e2383e2f96",
        "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        "selector:0x42b0b77c",
        "tx:1:0x00000000000000000000000000000000000000000000000000000000000000bb",
        "eip155:10:0x098b716b8aaf21512996dc57eb0615e2383e2f96",
    ] {
        objects.push(stix::evm_observable(&ind(i)).unwrap());
    }
    // One copy of each (id, version): the same identity appears in several mappings.
    let mut seen = std::collections::BTreeSet::new();
    objects.retain(|o| seen.insert((o.id().to_owned(), o.version().map(str::to_owned))));
    Bundle::of(objects)
}

/// Loads the official STIX 2.1 JSON schemas from their folder, keyed by their `$id`.
struct SchemaFolder(BTreeMap<String, Value>);

impl jsonschema::Retrieve for SchemaFolder {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        self.0.get(uri.as_str()).cloned().ok_or_else(|| format!("no schema {uri}").into())
    }
}

fn official_schemas(dir: &Path) -> SchemaFolder {
    let root = dir.join("stix21-examples/cti-stix2-json-schemas/schemas");
    let mut map = BTreeMap::new();
    for sub in ["common", "observables", "sdos", "sros"] {
        for entry in std::fs::read_dir(root.join(sub)).unwrap() {
            let path: PathBuf = entry.unwrap().path();
            let schema: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let id = schema["$id"].as_str().unwrap().to_owned();
            map.insert(id, schema);
        }
    }
    SchemaFolder(map)
}

const SCHEMA_BASE: &str =
    "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/";

/// Types the official `bundle.json` (at the vendored commit) does not list although STIX 2.1
/// defines them: it then requires them to match exactly one of `core.json` and
/// `cyber-observable-core.json`, and any valid object of these types matches both. They are
/// checked against their own official schema instead.
const NOT_IN_BUNDLE_SCHEMA: [&str; 2] = ["opinion", "extension-definition"];

#[test]
fn exports_validate_against_the_official_schemas_and_vigils_extension_schema() {
    let Some(dir) = data_dir() else { return };
    let folder = official_schemas(&dir);
    let bundle = everything();
    let json: Value = serde_json::from_str(&bundle.to_json()).unwrap();

    // Every object against the official schema of its type (custom observables against
    // cyber-observable-core).
    let mut validators: BTreeMap<String, jsonschema::Validator> = BTreeMap::new();
    for obj in &bundle.objects {
        let t = obj.object_type();
        let uri = ["sdos", "sros", "common", "observables"]
            .iter()
            .map(|sub| format!("{SCHEMA_BASE}{sub}/{t}.json"))
            .find(|u| folder.0.contains_key(u))
            .unwrap_or_else(|| format!("{SCHEMA_BASE}common/cyber-observable-core.json"));
        let v = validators.entry(uri.clone()).or_insert_with(|| {
            jsonschema::options()
                .with_retriever(SchemaFolder(folder.0.clone()))
                .build(&folder.0[&uri])
                .unwrap()
        });
        let value = obj.clone().into_value();
        let errors: Vec<String> =
            v.iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{} against {uri}: {errors:#?}", obj.id());
    }

    // The bundle as a whole against bundle.json.
    let bundle_schema = folder.0[&format!("{SCHEMA_BASE}common/bundle.json")].clone();
    let validator = jsonschema::options()
        .with_retriever(SchemaFolder(folder.0.clone()))
        .build(&bundle_schema)
        .unwrap();
    let mut listed = json.clone();
    listed["objects"]
        .as_array_mut()
        .unwrap()
        .retain(|o| !NOT_IN_BUNDLE_SCHEMA.contains(&o["type"].as_str().unwrap()));
    let errors: Vec<String> =
        validator.iter_errors(&listed).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // A broken object is caught by the same validator: the test can fail.
    let mut broken = listed.clone();
    let idx = broken["objects"]
        .as_array()
        .unwrap()
        .iter()
        .position(|o| o["type"] == "indicator")
        .unwrap();
    broken["objects"][idx]["pattern_type"] = Value::Null;
    assert!(!validator.is_valid(&broken));

    let ours: Value = serde_json::from_str(stix::VIGIL_EXTENSION_SCHEMA).unwrap();
    let ext = jsonschema::options().build(&ours).unwrap();
    let mut using = 0;
    for obj in &bundle.objects {
        let v = obj.clone().into_value();
        let errs: Vec<String> = ext.iter_errors(&v).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{}: {errs:#?}", obj.id());
        using += usize::from(obj.to_json().contains(stix::VIGIL_EXTENSION_ID));
    }
    assert!(using >= 10, "{using}");
    let bad_sco = serde_json::json!({"type": "vigil-evm-address", "id": "vigil-evm-address--8e2e2d2b-17d4-5cbf-938f-98ee46b3cd3f",
        "value": "0x1234", "extensions": {(stix::VIGIL_EXTENSION_ID): {"extension_type": "new-sco"}}});
    assert!(!ext.is_valid(&bad_sco));
}

#[test]
fn exports_pass_the_oasis_stix2_validator() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil-export.json");
    std::fs::write(&path, everything().to_json()).unwrap();
    let out = std::process::Command::new(&python)
        .arg(py_script("validate_stix.py"))
        .arg(&path)
        .output()
        .unwrap();
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "stix2-validator refused the export:\n{text}");
    assert!(text.contains(": valid"), "{text}");

    // And it does refuse a broken export.
    let mut bad: Value = serde_json::from_str(&everything().to_json()).unwrap();
    bad["objects"][5]["created"] = "not a time".into();
    std::fs::write(&path, bad.to_string()).unwrap();
    let out = std::process::Command::new(&python)
        .arg(py_script("validate_stix.py"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn ids_are_deterministic_and_survive_export_import_export() {
    let a = everything();
    let b = everything();
    assert_eq!(a.to_json(), b.to_json(), "same content, same bundle, ids included");
    let report_indicator = a
        .objects
        .iter()
        .filter(|o| o.object_type() == "indicator")
        .find(|o| o.str("pattern").unwrap().contains("0x42b0b77c"))
        .unwrap();
    assert_eq!(report_indicator.id(), stix::indicator_id(&ind("selector:0x42b0b77c")));

    let mut book = IndicatorBook::new();
    let out = stix::import_bundle(
        &mut book,
        a.to_json().as_bytes(),
        &ImportOptions::seen_at(NOW),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(out.report.rejected_total, 0);
    // Shared detection content comes back as the report's fingerprint and rule file.
    let bundle: Value = serde_json::from_str(&a.to_json()).unwrap();
    let detections = stix::detection::detections_in(&bundle).unwrap();
    assert_eq!(detections.len(), 2);
    assert_eq!((detections[0].kind(), detections[1].kind()), ("fingerprint", "rules"));
    let exported: Vec<&StixObject> = a
        .objects
        .iter()
        .filter(|o| o.object_type() == "indicator" && o.str("pattern_type") == Some("stix"))
        .collect();
    for obj in &exported {
        let found = stix::pattern::indicators_in(obj.str("pattern").unwrap()).unwrap();
        for i in found {
            assert!(book.get(&i).is_some(), "{i}");
            assert_eq!(stix::indicator_id(&i), obj.id());
        }
    }
    let again = stix::book_bundle(
        &book,
        &BookExport {
            since: None,
            now: NOW,
            producer: account(1),
            tlp: Tlp::Green,
            include_expired: true,
            wallet_convention: true,
        },
    );
    let ids: std::collections::BTreeSet<&str> = again
        .objects
        .iter()
        .filter(|o| o.object_type() == "indicator")
        .map(StixObject::id)
        .collect();
    for obj in exported {
        assert!(ids.contains(obj.id()), "{} lost its id in the round trip", obj.id());
    }
}

#[test]
fn export_since_filters_by_last_seen() {
    let mut book = IndicatorBook::new();
    let mut o = ImportOptions::seen_at(Timestamp(1_000));
    import(&mut book, FeedKind::Csv, b"old.example\n", &o, &mut |_| {}).unwrap();
    o.seen = Timestamp(2_000);
    import(&mut book, FeedKind::Csv, b"new.example\n", &o, &mut |_| {}).unwrap();
    let opts = BookExport {
        since: Some(Timestamp(1_500)),
        now: Timestamp(2_000),
        producer: account(1),
        tlp: Tlp::Clear,
        include_expired: false,
        wallet_convention: false,
    };
    let bundle = stix::book_bundle(&book, &opts);
    let patterns: Vec<&str> = bundle.objects.iter().filter_map(|o| o.str("pattern")).collect();
    assert_eq!(patterns, ["[domain-name:value = 'new.example']"]);
}

#[test]
fn a_taxii_envelope_imports_like_a_bundle_and_says_whether_more_follows() {
    let wallet = "0x098b716b8aaf21512996dc57eb0615e2383e2f96";
    let page = serde_json::json!({
        "more": true,
        "next": "page-2",
        "objects": [{
            "type": "indicator", "spec_version": "2.1",
            "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
            "created": "2024-05-01T12:00:00.000Z", "modified": "2024-05-01T12:00:00.000Z",
            "valid_from": "2024-05-01T12:00:00.000Z", "pattern_type": "stix",
            "pattern": format!("[cryptocurrency-wallet:address = '{wallet}']"),
        }, {
            "type": "malware", "spec_version": "2.1",
            "id": "malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b",
            "created": "2024-05-01T12:00:00.000Z", "modified": "2024-05-01T12:00:00.000Z",
            "name": "x", "is_family": false,
        }],
    });
    let o = ImportOptions { source: Some("feed".into()), ..ImportOptions::seen_at(NOW) };
    let mut book = IndicatorBook::new();
    let input = serde_json::to_vec(&page).unwrap();
    let (report, next) = stix::import_envelope(&mut book, &input, &o, &mut |_| {}).unwrap();
    assert_eq!((report.read, report.imported, report.skipped), (2, 1, 1));
    assert_eq!(next, stix::EnvelopePage { more: true, next: Some("page-2".into()) });
    assert!(book.get(&wallet.parse().unwrap()).is_some());

    // The last page, an empty one, and a bundle (what TAXII 2.0 servers answer).
    let (_, last) =
        stix::import_envelope(&mut book, br#"{"objects": []}"#, &o, &mut |_| {}).unwrap();
    assert_eq!(last, stix::EnvelopePage::default());
    let (r, _) = stix::import_envelope(&mut book, b"{}", &o, &mut |_| {}).unwrap();
    assert_eq!(r.read, 0);
    let bundle = br#"{"type": "bundle", "id": "bundle--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "objects": []}"#;
    assert!(!stix::import_envelope(&mut book, bundle, &o, &mut |_| {}).unwrap().1.more);

    // Not an envelope: said so, and the book is unchanged.
    let before = book.clone();
    for (bad, says) in [
        (&b"<html>oops</html>"[..], "envelope is a JSON object"),
        (b"{\"objects\": [", "JSON"),
        (b"{\"more\": \"yes\"}", "JSON"),
        (br#"{"type": "indicator"}"#, "of type \"indicator\""),
    ] {
        let e = stix::import_envelope(&mut book, bad, &o, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains(says), "{e}");
    }
    assert_eq!(book, before);
}
