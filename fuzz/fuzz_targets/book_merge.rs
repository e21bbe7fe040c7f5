//! The indicator book as the node receives it from `vigil feed import` (JSON) and stores it
//! (format byte + borsh), on arbitrary input: decoding never panics; a decoded book merges into
//! another, merging it again changes nothing, and the result round-trips through storage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_intel::IndicatorBook;

fuzz_target!(|data: &[u8]| {
    let _ = IndicatorBook::from_bytes(data);
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
