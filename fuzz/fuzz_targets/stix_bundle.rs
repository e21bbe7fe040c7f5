//! STIX parsing of vigil-intel on arbitrary input: bundles, objects and patterns. Whatever
//! parses as a bundle must write back to JSON that parses to the same bundle.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_intel::stix::{Bundle, pattern};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = Bundle::parse(data, 1 << 20) {
        let again = Bundle::parse(bundle.to_json().as_bytes(), usize::MAX).unwrap();
        assert_eq!(again, bundle);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(found) = pattern::indicators_in(text) {
            for i in found {
                assert_eq!(pattern::indicators_in(&pattern::pattern_of(&i, true)).unwrap(), vec![i]);
            }
        }
    }
});
