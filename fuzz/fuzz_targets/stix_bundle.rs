//! STIX parsing of vigil-intel on arbitrary input: bundles, TAXII envelopes, objects and
//! patterns. Whatever parses as a bundle must write back to JSON that parses to the same bundle;
//! an envelope that is refused adds nothing to the book.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_intel::stix::{self, Bundle, pattern};
use vigil_intel::{ImportOptions, IndicatorBook, Timestamp};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::parse(data, 1 << 20) {
        let again = Bundle::parse(bundle.to_json().as_bytes(), usize::MAX).unwrap();
        assert_eq!(again, bundle);
    }
    let mut book = IndicatorBook::new();
    let options = ImportOptions::seen_at(Timestamp(1_700_000_000));
    match stix::import_envelope(&mut book, data, &options, &mut |_| {}) {
        Ok((report, _)) => assert_eq!(report.imported as usize, book.len()),
        Err(_) => assert_eq!(book.len(), 0),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(found) = pattern::indicators_in(text) {
            for i in found {
                assert_eq!(pattern::indicators_in(&pattern::pattern_of(&i, true)).unwrap(), vec![i]);
            }
        }
    }
});
