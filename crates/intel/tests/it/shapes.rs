//! Generic feeds in the shapes community lists use: their own category words, JSON objects
//! keyed by domains, one value a line, URLs, other chains' addresses. The fixtures are in
//! `testdata/feeds` (see its README); the counts asserted are those of the files.

use vigil_core::{Category, Indicator};
use vigil_intel::{
    CategoryMap, FeedKind, ImportError, ImportOptions, ImportReport, IndicatorBook, MatchKind,
    Timestamp, import,
};

const SEEN: Timestamp = Timestamp(1_700_000_000);

fn fixture(name: &str) -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/feeds/");
    std::fs::read(format!("{path}{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run_with(
    book: &mut IndicatorBook,
    kind: FeedKind,
    input: &[u8],
    opts: &ImportOptions,
) -> ImportReport {
    let r = import(book, kind, input, opts, &mut |_| {}).unwrap();
    assert_eq!(r.read, r.imported + r.merged + r.skipped + r.rejected_total, "{}", r.summary());
    assert_eq!(r.rejected_total, r.rejected_by.values().sum::<u64>(), "{:?}", r.rejected_by);
    assert_eq!(r.skipped, r.skipped_by.values().sum::<u64>(), "{:?}", r.skipped_by);
    r
}

fn ind(s: &str) -> Indicator {
    s.parse().unwrap()
}

#[test]
fn a_community_csv_with_its_own_categories_imports_whole() {
    let csv = fixture("community-scams.csv");
    let mut categories = CategoryMap::new(None);
    categories.add("Giveaway=scam").unwrap();
    let opts = ImportOptions { categories, ..ImportOptions::seen_at(SEEN) };
    let mut book = IndicatorBook::new();
    let r = run_with(&mut book, FeedKind::Csv, &csv, &opts);
    // 40 rows hold 70 values (a URL column and an address column listing 0–2 addresses) and
    // 3 rows hold none. Two values are Bitcoin addresses, two are malformed (`0x12345`,
    // `https://`), one URL is listed twice.
    assert_eq!(
        (r.read, r.imported, r.merged, r.skipped, r.rejected_total),
        (73, 65, 1, 2, 5),
        "{}\n{:?}",
        r.summary(),
        r.rejected
    );
    assert_eq!(r.rejected_by.get("row without an indicator"), Some(&3), "{:?}", r.rejected_by);
    assert_eq!(r.rejected_by.get("not an indicator"), Some(&2), "{:?}", r.rejected_by);
    assert_eq!(r.skipped_by.get("Bitcoin address"), Some(&2), "{:?}", r.skipped_by);
    // Only the wrong checksum is worth a warning: every category word was understood.
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    let bad_line = r.rejected.iter().find(|x| x.reason.contains("0x12345")).unwrap();
    assert_eq!(bad_line.line, 19, "{bad_line}");

    // The feed's words, mapped: Scamming and Fake ICO and Giveaway → scam, Hacking → exploit.
    let category = |i: &str| book.get(&ind(i)).unwrap().category();
    assert_eq!(category("https://uniswap-claim.net/connect?ref=x"), Category::Phishing);
    assert_eq!(category("https://metamask-verify.com/claim"), Category::Exploit);
    assert_eq!(category("http://pancake-airdrop.app/login"), Category::Scam);
    // A URL written without its scheme is a URL; its host matches through it.
    let hit = book.check(&ind("pancake-airdrop.app"), SEEN).expect("host of a listed URL");
    assert!(matches!(hit.kind, MatchKind::UrlOnHost(_)), "{:?}", hit.kind);

    // Without the mapping nothing is lost either: the unknown word is counted and named.
    let mut plain = IndicatorBook::new();
    let r = run_with(&mut plain, FeedKind::Csv, &csv, &ImportOptions::seen_at(SEEN));
    assert_eq!((r.imported, r.rejected_total), (65, 5));
    let giveaway = r.warnings.iter().find(|(w, _)| w.contains("\"Giveaway\"")).unwrap();
    assert!(giveaway.0.contains("--map-category"), "{giveaway:?}");
    // The default category applies to unknown words when given: here the same as the mapping.
    let opts = ImportOptions {
        categories: CategoryMap::new(Some(Category::Scam)),
        ..ImportOptions::seen_at(SEEN)
    };
    let mut defaulted = IndicatorBook::new();
    run_with(&mut defaulted, FeedKind::Csv, &csv, &opts);
    let categories = |b: &IndicatorBook| -> Vec<(String, Category)> {
        b.entries().map(|(i, e)| (i.to_string(), e.category())).collect()
    };
    assert_eq!(categories(&defaulted), categories(&book));
    assert_ne!(categories(&plain), categories(&book));
}

#[test]
fn a_domain_to_addresses_json_is_detected_and_imported_whole() {
    let json = fixture("domain-addresses.json");
    let mut book = IndicatorBook::new();
    let r = run_with(&mut book, FeedKind::Json, &json, &ImportOptions::seen_at(SEEN));
    // 28 domains with 52 addresses: one key is no domain, one address is 10 hex digits, one
    // is a Bitcoin address.
    assert_eq!(
        (r.read, r.imported, r.merged, r.skipped, r.rejected_total),
        (80, 77, 0, 1, 2),
        "{}\n{:?}",
        r.summary(),
        r.rejected
    );
    assert!(r.rejected.iter().all(|x| x.line > 1), "{:?}", r.rejected);
    // Each address is labelled with the domain it belongs to.
    let text = String::from_utf8(json.clone()).unwrap();
    let first_address = text.lines().nth(2).unwrap().trim().trim_matches([',', '"']);
    let entry = book.get(&ind(first_address)).unwrap();
    assert!(entry.labels().contains("opensae-0.app"), "{:?}", entry.labels());
    assert!(book.get(&ind("opensae-0.app")).is_some());

    // The same through explicit paths: the keys, then the values of each key.
    let opts = ImportOptions {
        json_paths: vec!["*".parse().unwrap(), "*.[]".parse().unwrap()],
        ..ImportOptions::seen_at(SEEN)
    };
    let mut by_path = IndicatorBook::new();
    let r2 = run_with(&mut by_path, FeedKind::Json, &json, &opts);
    assert_eq!((r2.read, r2.imported), (r.read, r.imported));
    assert_eq!(by_path.len(), book.len());
}

#[test]
fn common_json_shapes_and_paths() {
    let mut book = IndicatorBook::new();
    let opts = ImportOptions::seen_at(SEEN);
    // Lists under the names feeds use, objects with their own field names.
    let doc = br#"{"domains": ["opensae.io", "https://opensae.io/login"],
        "addresses": [{"address": "0x098b716b8aaf21512996dc57eb0615e2383e2f96", "comment": "drainer", "date": "2023-01-01"}],
        "updated": "2024-01-01"}"#;
    let r = run_with(&mut book, FeedKind::Json, doc, &opts);
    assert_eq!((r.read, r.imported, r.rejected_total), (3, 3, 0), "{}", r.summary());
    let e = book.get(&ind("0x098b716b8aaf21512996dc57eb0615e2383e2f96")).unwrap();
    assert!(e.labels().contains("drainer"));

    // An object keyed by address with metadata objects.
    let doc = br#"{"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed": {"name": "Fake_Phishing1", "category": "Phishing"},
        "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359": [{"name": "Heist", "category": "Hacking"}]}"#;
    let r = run_with(&mut book, FeedKind::Json, doc, &opts);
    assert_eq!((r.read, r.imported), (2, 2), "{}", r.summary());
    let e = book.get(&ind("0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")).unwrap();
    assert_eq!(e.category(), Category::Exploit);

    // A path into a wrapper.
    let doc =
        br#"{"success": true, "result": {"entries": [{"url": "https://claim-lido.site/x"}]}}"#;
    let opts_path = ImportOptions {
        json_paths: vec!["result.entries.[].url".parse().unwrap()],
        ..ImportOptions::seen_at(SEEN)
    };
    let r = run_with(&mut book, FeedKind::Json, doc, &opts_path);
    assert_eq!(r.imported, 1, "{}", r.summary());

    // A shape that cannot be told says so, names the members and suggests --path.
    let err =
        import(&mut book, FeedKind::Json, br#"{"meta": {"v": 1}, "n": 2}"#, &opts, &mut |_| {})
            .unwrap_err();
    assert!(matches!(err, ImportError::Shape(_)), "{err}");
    assert!(err.to_string().contains("meta") && err.to_string().contains("--path"), "{err}");
    let err =
        import(&mut book, FeedKind::Json, br#"{"a": []}"#, &opts_path, &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("selects nothing"), "{err}");
    // A truncated document points at the line where it breaks.
    let err = import(&mut book, FeedKind::Json, b"[\n\"a.io\",\n\"b.io\"", &opts, &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, ImportError::Json { line: 3, .. }), "{err}");
}

#[test]
fn text_lists_one_value_a_line() {
    let text = b"# community blocklist\n\
        opensae.io\n\
        0.0.0.0 uniswap-claim.net\n\
        https://blur-drop.live/claim # seen 2024-02\n\
        \n\
        1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa\n\
        TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW\n\
        0x098B716B8Aaf21512996dC57EB0615e2383E2f96\n\
        not a value\n";
    let opts = ImportOptions {
        categories: CategoryMap::new(Some(Category::Phishing)),
        ..ImportOptions::seen_at(SEEN)
    };
    let mut book = IndicatorBook::new();
    let r = run_with(&mut book, FeedKind::Text, text, &opts);
    assert_eq!(
        (r.read, r.imported, r.skipped, r.rejected_total),
        (7, 4, 2, 1),
        "{}\n{:?}",
        r.summary(),
        r.rejected
    );
    assert_eq!(r.rejected[0].line, 9);
    assert_eq!(r.skipped_by.get("Tron address"), Some(&1));
    assert_eq!(book.get(&ind("opensae.io")).unwrap().category(), Category::Phishing);
}

#[test]
fn stix_url_patterns_import_and_export_as_urls() {
    let bundle =
        br#"{"type": "bundle", "id": "bundle--6f1b6c2e-1f6a-4c89-9a43-0c2d0a7a1b11", "objects": [
      {"type": "indicator", "spec_version": "2.1",
       "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
       "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
       "name": "phishing page", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z",
       "pattern": "[url:value = 'https://OpenSae.io/login#x']", "labels": ["phishing"]}
    ]}"#;
    let mut book = IndicatorBook::new();
    let r = run_with(&mut book, FeedKind::Stix, bundle, &ImportOptions::seen_at(SEEN));
    assert_eq!(
        (r.read, r.imported, r.rejected_total),
        (1, 1, 0),
        "{}: {:?}",
        r.summary(),
        r.rejected
    );
    let url = ind("https://opensae.io/login");
    assert_eq!(book.get(&url).unwrap().category(), Category::Phishing);
    assert_eq!(
        vigil_intel::stix::pattern::pattern_of(&url, true),
        "[url:value = 'https://opensae.io/login']"
    );
}

#[test]
fn a_misp_event_imports_what_vigil_can_match_and_counts_the_rest() {
    let event = fixture("misp-event.json");
    let mut book = IndicatorBook::new();
    let r = run_with(&mut book, FeedKind::Misp, &event, &ImportOptions::seen_at(SEEN));
    assert_eq!(
        (r.read, r.imported, r.skipped, r.rejected_total),
        (12, 5, 6, 1),
        "{}\n{:?}\n{:?}",
        r.summary(),
        r.skipped_by,
        r.rejected
    );
    assert_eq!(r.rejected[0].line, 27, "{:?}", r.rejected);
    assert_eq!(r.skipped_by.get("Bitcoin address"), Some(&1), "{:?}", r.skipped_by);
    // The event's tag gives the category; an attribute's own tag wins; comments are labels.
    let drainer = book.get(&ind("0x7f499aee25f0ef0f3e2f047cb11caf27a32370c1")).unwrap();
    assert_eq!(drainer.category(), Category::Phishing);
    assert!(drainer.labels().contains("drainer contract"));
    let coin = book.get(&ind("0x31c48750773348cd1ceee81106d8c363d393ed4c")).unwrap();
    assert_eq!(coin.category(), Category::Scam);
    assert!(coin.labels().contains("Wallet drainer kit: fake airdrop claim sites"));
    assert!(book.get(&ind("cdn.drainer-kit.io")).is_some(), "hostname|port gives the name");
    assert!(book.get(&ind("https://claim-arbitrum.app/connect?wallet=1")).is_some());
    assert!(book.get(&ind("etherscan.io")).is_none(), "to_ids false is context");
    // The same event as MISP's REST search answers it.
    let text = String::from_utf8(event).unwrap();
    let search = format!("{{\"response\": [{}]}}", text.trim());
    let mut again = IndicatorBook::new();
    let r2 = run_with(&mut again, FeedKind::Misp, search.as_bytes(), &ImportOptions::seen_at(SEEN));
    assert_eq!((r2.read, r2.imported), (12, 5));
    let err = import(
        &mut again,
        FeedKind::Misp,
        b"{\"nothing\": 1}",
        &ImportOptions::seen_at(SEEN),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(err.to_string().contains("MISP"), "{err}");
}
