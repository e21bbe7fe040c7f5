//! Feed importers of vigil-intel on arbitrary input: Forta/generic CSV, OFAC text/JSON,
//! MetaMask config, generic JSON (shapes detected, or value paths), text lists. They must never panic; a failed import must leave the book
//! unchanged, and a successful one must account for every record it read.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_intel::{FeedKind, ImportOptions, IndicatorBook, Timestamp, import};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else { return };
    let kind = FeedKind::ALL[usize::from(selector) % FeedKind::ALL.len()];
    let mut book = IndicatorBook::new();
    let mut options = ImportOptions::seen_at(Timestamp(1_700_000_000));
    // Half the JSON inputs go through explicit value paths instead of shape detection.
    if selector >= 128 && kind == FeedKind::Json {
        options.json_paths = ["*", "*.[]", "data.[].address"].map(|p| p.parse().unwrap()).to_vec();
    }
    match import(&mut book, kind, input, &options, &mut |_| {}) {
        Ok(report) => {
            if kind != FeedKind::Stix {
                assert_eq!(report.read, report.imported + report.merged + report.skipped + report.rejected_total);
            }
            // Importing the same input again changes nothing.
            let before = book.clone();
            let again = import(&mut book, kind, input, &options, &mut |_| {}).unwrap();
            assert_eq!(again.imported, 0);
            assert_eq!(book, before);
            assert_eq!(IndicatorBook::from_bytes(&book.to_bytes()).unwrap(), book);
        }
        Err(_) => assert!(book.is_empty()),
    }
});
