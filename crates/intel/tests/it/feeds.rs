//! Feed imports on the real public data in `../shared/data`.

use vigil_core::{Domain, Indicator};
use vigil_intel::{
    DomainVerdict, FeedKind, ImportError, ImportOptions, IndicatorBook, MatchKind, Timestamp,
    import,
};

use crate::support::{data_dir, read};

const SEEN: Timestamp = Timestamp(1_700_000_000);

fn opts() -> ImportOptions {
    ImportOptions::seen_at(SEEN)
}

fn run(book: &mut IndicatorBook, kind: FeedKind, input: &[u8]) -> vigil_intel::ImportReport {
    let report = import(book, kind, input, &opts(), &mut |_| {}).unwrap();
    assert_eq!(
        report.read,
        report.imported + report.merged + report.skipped + report.rejected_total,
        "{}",
        report.summary()
    );
    report
}

#[test]
fn forta_etherscan_labels_dedupe_to_7259_and_reimport_changes_nothing() {
    let Some(dir) = data_dir() else { return };
    let csv = read(&dir, "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv");
    let mut book = IndicatorBook::new();
    let mut ticks = Vec::new();
    let report = import(&mut book, FeedKind::Forta, &csv, &opts(), &mut |p| ticks.push(p)).unwrap();
    // 7,780 rows, 7,259 unique addresses. Two rows spell an address in mixed case with a wrong
    // EIP-55 checksum: they name the same 20 bytes as a lower-case twin, so they are merged
    // and counted as warnings, not lost.
    assert_eq!((report.read, report.imported), (7_780, 7_259), "{}", report.summary());
    assert_eq!(report.rejected_total, 0, "{:?}", report.rejected);
    assert_eq!(report.merged, 521);
    let checksum_warnings: u64 =
        report.warnings.iter().filter(|(w, _)| w.contains("EIP-55")).map(|(_, n)| n).sum();
    assert_eq!(checksum_warnings, 2, "{:?}", report.warnings);
    assert_eq!(book.len(), 7_259);
    let last = ticks.last().unwrap();
    assert_eq!(
        (last.bytes_done, last.bytes_total, last.records),
        (csv.len() as u64, csv.len() as u64, 7_780)
    );
    assert!(ticks.len() > 1, "progress is reported along the way");

    let before = book.clone();
    let again = run(&mut book, FeedKind::Forta, &csv);
    assert_eq!((again.imported, again.merged), (0, 7_780));
    assert_eq!(book, before, "re-importing the same file changes nothing");

    // A labelled phishing address keeps its Etherscan tag and category.
    let a: Indicator = "0x80d7bb18521acbef32d7906502ebe94928690e93".parse().unwrap();
    let entry = book.get(&a).unwrap();
    assert!(entry.labels().contains("Fake_Phishing1772"));
    assert_eq!(entry.category(), vigil_core::Category::Phishing);
}

#[test]
fn forta_other_datasets_and_cross_feed_merge() {
    let Some(dir) = data_dir() else { return };
    let mut book = IndicatorBook::new();
    let contracts = read(&dir, "forta-labelled-datasets/labels/1/malicious_smart_contracts.csv");
    let r = run(&mut book, FeedKind::Forta, &contracts);
    assert_eq!((r.read, r.imported), (753, 719), "{}", r.summary());
    let mut phishing_book = IndicatorBook::new();
    let phishing = read(&dir, "forta-labelled-datasets/labels/1/phishing_scams.csv");
    let r = run(&mut phishing_book, FeedKind::Forta, &phishing);
    assert_eq!((r.read, r.imported), (6_726, 6_205), "{}", r.summary());

    // Two feeds listing the same addresses: one entry each, with both sources.
    let labels = read(&dir, "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv");
    let mut both = IndicatorBook::new();
    let mut o = opts();
    o.source = Some("forta-etherscan".into());
    import(&mut both, FeedKind::Forta, &labels, &o, &mut |_| {}).unwrap();
    o.source = Some("forta-phishing".into());
    let r = import(&mut both, FeedKind::Forta, &phishing, &o, &mut |_| {}).unwrap();
    assert!(r.merged > 521, "phishing_scams overlaps the Etherscan labels: {}", r.summary());
    assert_eq!(both.len() as u64, 7_259 + r.imported);
    let shared = both.entries().filter(|(_, e)| e.sources.len() == 2).count();
    assert!(shared > 0);
    assert_eq!(shared as u64 + r.imported, 6_205);
}

#[test]
fn ofac_usdt_keeps_exactly_the_8_evm_addresses() {
    let Some(dir) = data_dir() else { return };
    let mut book = IndicatorBook::new();
    let r = run(
        &mut book,
        FeedKind::Ofac,
        &read(&dir, "ofac-sanctioned-addresses/sanctioned_addresses_USDT.txt"),
    );
    assert_eq!(
        (r.read, r.imported, r.skipped, r.rejected_total),
        (26, 8, 18, 0),
        "{}",
        r.summary()
    );
    assert_eq!(r.skipped_by.values().sum::<u64>(), 18, "{:?}", r.skipped_by);
    assert!(r.skipped_by.contains_key("Tron address"), "{:?}", r.skipped_by);
    assert_eq!(book.len(), 8);
}

#[test]
fn ofac_lower_cased_address_is_matched_text_and_json_agree() {
    let Some(dir) = data_dir() else { return };
    let text = read(&dir, "ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt");
    let mut book = IndicatorBook::new();
    let r = run(&mut book, FeedKind::Ofac, &text);
    assert_eq!((r.read, r.imported, r.rejected_total), (152, 152, 0), "{}", r.summary());
    let mut from_json = IndicatorBook::new();
    run(
        &mut from_json,
        FeedKind::Ofac,
        &read(&dir, "ofac-sanctioned-addresses/sanctioned_addresses_ETH.json"),
    );
    assert_eq!(
        book.entries().map(|(i, _)| i).collect::<Vec<_>>(),
        from_json.entries().map(|(i, _)| i).collect::<Vec<_>>()
    );
    let mixed = std::str::from_utf8(&text)
        .unwrap()
        .lines()
        .find(|l| l.bytes().any(|b| b.is_ascii_uppercase()))
        .unwrap();
    let lower: Indicator = mixed.to_ascii_lowercase().parse().unwrap();
    let hit = book.check(&lower, SEEN).expect("a lower-cased OFAC address is matched");
    assert_eq!(hit.kind, MatchKind::Exact);
    assert!(hit.active);
    assert_eq!(hit.confidence, 95);
    let on_chain: Indicator = format!("eip155:1:{}", mixed.to_ascii_lowercase()).parse().unwrap();
    assert_eq!(book.check(&on_chain, SEEN).unwrap().kind, MatchKind::AnyChain);
}

fn domains(dir: &std::path::Path, rel: &str) -> Vec<Domain> {
    let names: Vec<String> = serde_json::from_slice(&read(dir, rel)).unwrap();
    names.iter().map(|n| n.parse().unwrap()).collect()
}

#[test]
fn metamask_allow_listed_and_top_sites_pass_blacklisted_and_look_alikes_do_not() {
    let Some(dir) = data_dir() else { return };
    let config = read(&dir, "metamask-eth-phishing-detect/config.json");
    let mut book = IndicatorBook::new();
    let r = run(&mut book, FeedKind::MetaMask, &config);
    assert_eq!(r.read, 1_138 + 13_752 + 15, "{}", r.summary());
    assert!(r.rejected_total <= 5, "{:?}", r.rejected);
    for rej in &r.rejected {
        assert!(rej.line > 1 && !rej.reason.is_empty());
    }

    let dapps = domains(&dir, "metamask-eth-phishing-detect/test_dapps_allowlisted.json");
    let top = domains(&dir, "metamask-eth-phishing-detect/test_alexa_top_domains.json");
    assert_eq!((dapps.len(), top.len()), (48, 50));
    for d in dapps.iter().chain(&top) {
        let v = book.check_domain(d, SEEN);
        assert!(!matches!(v, DomainVerdict::Flagged(_)), "{d} must not be flagged: {v:?}");
        assert!(book.check(&Indicator::Domain(d.clone()), SEEN).is_none());
    }

    let parsed: serde_json::Value = serde_json::from_slice(&config).unwrap();
    let blacklisted: Vec<Domain> = parsed["blacklist"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str()?.parse().ok())
        .collect();
    let mut exact = 0;
    for d in blacklisted.iter().step_by(97) {
        match book.check_domain(d, SEEN) {
            DomainVerdict::Flagged(hit) => {
                assert_eq!(hit.kind, MatchKind::Exact, "{d}");
                exact += 1;
            }
            // A blacklisted name may also be allow-listed; the allow list wins, as in MetaMask.
            DomainVerdict::Allowed { .. } => {}
            DomainVerdict::Unknown => panic!("{d} is blacklisted but not flagged"),
        }
    }
    assert!(exact > 100);
    let sub: Domain = format!("login.{}", blacklisted[0]).parse().unwrap();
    assert!(matches!(
        book.check_domain(&sub, SEEN),
        DomainVerdict::Flagged(hit) if matches!(hit.kind, MatchKind::ParentDomain(_))
    ));

    // Look-alikes of fuzzy-list names, within the list's tolerance of 2.
    for (fake, of) in [
        ("myetherwalet.com", "myetherwallet.com"),
        ("www.myetherwa11et.net", "myetherwallet.com"),
        ("rnetamask.io", "metamask.io"),
        ("opensee.xyz", "opensea.io"),
    ] {
        match book.check_domain(&fake.parse().unwrap(), SEEN) {
            DomainVerdict::Flagged(hit) => match hit.kind {
                MatchKind::LookAlike { of: got, distance } => {
                    assert_eq!(got.as_str(), of, "{fake}");
                    assert!(distance <= 2);
                }
                other => assert!(
                    matches!(other, MatchKind::Exact | MatchKind::ParentDomain(_)),
                    "{fake}: {other:?}"
                ),
            },
            other => panic!("{fake} must be flagged, got {other:?}"),
        }
    }
    // Three edits away is not a look-alike; the real names are allow-listed.
    assert!(matches!(
        book.check_domain(&"myetherwa111et.org".parse().unwrap(), SEEN),
        DomainVerdict::Unknown
    ));
    assert!(matches!(
        book.check_domain(&"myetherwallet.com".parse().unwrap(), SEEN),
        DomainVerdict::Allowed { .. }
    ));
}

#[test]
fn generic_csv_and_json_lists() {
    let mut book = IndicatorBook::new();
    let csv = b"indicator,label,category\n\
        0x098b716b8aaf21512996dc57eb0615e2383e2f96,drainer,phishing\n\
        selector:0x42b0b77c,flash loan,exploit\n\
        evil.example.com,,\n\
        0x1234,bad,other\n\
        0x098b716b8aaf21512996dc57eb0615e2383e2f96,drainer,nonsense\n";
    let r = run(&mut book, FeedKind::Csv, csv);
    // An unknown category word keeps the record (default category) with a warning naming it.
    assert_eq!((r.read, r.imported, r.merged, r.rejected_total), (5, 3, 1, 1), "{}", r.summary());
    assert_eq!(r.rejected[0].line, 5);
    assert!(r.rejected[0].reason.contains("0x1234"), "{}", r.rejected[0]);
    assert!(r.warnings.keys().any(|w| w.contains("\"nonsense\"")), "{:?}", r.warnings);

    let headerless = b"0x098b716b8aaf21512996dc57eb0615e2383e2f96\nanother.example\n";
    let r = run(&mut book, FeedKind::Csv, headerless);
    assert_eq!((r.read, r.imported, r.merged), (2, 1, 1), "{}", r.summary());

    let json = br#"{"indicators": [
        "codehash:0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
        {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "label": "mixer", "confidence": 90},
        {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"},
        42
    ]}"#;
    let r = run(&mut book, FeedKind::Json, json);
    // The wrong checksum on line 4 is the same address as line 3: merged, with a warning.
    assert_eq!((r.read, r.imported, r.merged, r.rejected_total), (4, 2, 1, 1), "{}", r.summary());
    assert_eq!(r.warnings.values().sum::<u64>(), 1, "{:?}", r.warnings);
    assert_eq!(r.rejected[0].line, 5);
    assert_eq!(r.rejected_by.get("not a string or object"), Some(&1), "{:?}", r.rejected_by);
}

#[test]
fn bad_input_gives_clear_errors_and_loses_nothing() {
    let Some(dir) = data_dir() else { return };
    let mut book = IndicatorBook::new();
    run(
        &mut book,
        FeedKind::Ofac,
        &read(&dir, "ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt"),
    );
    let ofac = book.clone();

    // Wrong columns: refused as a whole, the book unchanged.
    let err = import(
        &mut book,
        FeedKind::Forta,
        b"wallet,comment\n0x098b716b8aaf21512996dc57eb0615e2383e2f96,x\n",
        &opts(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, ImportError::Columns { .. }), "{err}");
    assert!(
        err.to_string().contains("banned_address") && err.to_string().contains("wallet"),
        "{err}"
    );
    let err =
        import(&mut book, FeedKind::Csv, b"when,who\n1,2\n", &opts(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("indicator"), "{err}");
    assert_eq!(book, ofac);

    // Oversized: refused before parsing.
    let csv = read(&dir, "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv");
    let mut small = opts();
    small.max_bytes = 1_000;
    let err = import(&mut book, FeedKind::Forta, &csv, &small, &mut |_| {}).unwrap_err();
    assert_eq!(err, ImportError::TooLarge { size: csv.len(), limit: 1_000 });
    assert!(err.to_string().contains("limit"));
    assert_eq!(book, ofac);

    // Truncated CSV (cut inside a row): the partial last row is rejected with its line, every
    // complete row is imported, and what was there before stays.
    let cut = &csv[..csv.len() / 2];
    let last_line = cut.iter().filter(|b| **b == b'\n').count() as u64 + 1;
    let r = run(&mut book, FeedKind::Forta, cut);
    let partial = r.rejected.last().unwrap();
    assert_eq!(partial.line, last_line, "{:?}", r.rejected);
    assert!(
        partial.reason.contains("expected 3 fields") || partial.reason.contains("banned_address"),
        "{partial}"
    );
    assert_eq!(r.read, last_line - 1);
    for (i, e) in ofac.entries() {
        assert_eq!(book.get(i), Some(e));
    }

    // Truncated JSON: a clear error with its position, the book unchanged.
    let before = book.clone();
    let json = read(&dir, "ofac-sanctioned-addresses/sanctioned_addresses_ETH.json");
    let err = import(&mut book, FeedKind::Ofac, &json[..json.len() - 30], &opts(), &mut |_| {})
        .unwrap_err();
    assert!(matches!(err, ImportError::Json { line, .. } if line > 100), "{err}");
    let err = import(&mut book, FeedKind::MetaMask, b"[1, 2", &opts(), &mut |_| {}).unwrap_err();
    assert!(matches!(err, ImportError::Shape(_)), "{err}");
    let err =
        import(&mut book, FeedKind::Ofac, b"\xff\xfe0x12\n", &opts(), &mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
    assert_eq!(
        import(&mut book, FeedKind::Csv, b"  \n", &opts(), &mut |_| {}),
        Err(ImportError::Empty)
    );
    assert_eq!(book, before);
}

#[test]
fn a_real_book_survives_its_storage_form() {
    let Some(dir) = data_dir() else { return };
    let mut book = IndicatorBook::new();
    run(
        &mut book,
        FeedKind::Forta,
        &read(&dir, "forta-labelled-datasets/labels/1/etherscan_malicious_labels.csv"),
    );
    run(&mut book, FeedKind::MetaMask, &read(&dir, "metamask-eth-phishing-detect/config.json"));
    let bytes = book.to_bytes();
    assert_eq!(IndicatorBook::from_bytes(&bytes).unwrap(), book);
    let json = serde_json::to_string(&book).unwrap();
    assert_eq!(serde_json::from_str::<IndicatorBook>(&json).unwrap(), book);
}
