//! The indicator book as the node receives it from `vigil feed import` (JSON) and stores it
//! (format byte + borsh), on arbitrary input: decoding never panics; a decoded book merges into
//! another, merging it again changes nothing, and the result round-trips through storage. The
//! node's own path — the storage form checked as [`BookBytes`] and planned entry by entry —
//! accepts only what `from_bytes` decodes, and its plan, applied or streamed, is that merge.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_intel::{BookBytes, IndicatorBook};

fuzz_target!(|data: &[u8]| {
    let stored = IndicatorBook::from_bytes(data);
    if let Ok(feed) = BookBytes::new(data.to_vec()) {
        let decoded = stored.as_ref().expect("what BookBytes accepts, from_bytes decodes");
        let mut book = IndicatorBook::new();
        if let Ok(plan) = book.plan_merge(&feed) {
            let mut streamed = Vec::new();
            book.write_merged(&plan, &mut streamed).unwrap();
            book.apply(plan);
            assert_eq!(streamed, book.to_bytes());
            let mut merged = IndicatorBook::new();
            merged.merge(decoded.clone()).unwrap();
            assert_eq!(merged, book);
            assert!(book.plan_merge(&feed).unwrap().is_empty());
        }
    }
    let Ok(incoming) = serde_json::from_slice::<IndicatorBook>(data) else { return };
    let mut book = IndicatorBook::new();
    if book.merge(incoming.clone()).is_err() {
        return;
    }
    let snapshot = book.clone();
    let again = book.merge(incoming).unwrap();
    assert!(!again.changed);
    assert_eq!(book, snapshot);
    assert_eq!(IndicatorBook::from_bytes(&book.to_bytes()).unwrap(), book);
});
