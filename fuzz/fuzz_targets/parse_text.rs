//! Text parsers of outside input: addresses, indicators, domains, amounts, evidence.
//! Whatever parses must display to a text that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::{Amount, Domain, Evidence, EvmAddress, Indicator};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(a) = text.parse::<EvmAddress>() {
        assert_eq!(a.to_string().parse::<EvmAddress>().unwrap(), a);
    }
    if let Ok(i) = text.parse::<Indicator>() {
        assert_eq!(i.to_string().parse::<Indicator>().unwrap(), i);
    }
    if let Ok(d) = text.parse::<Domain>() {
        assert_eq!(d.to_string().parse::<Domain>().unwrap(), d);
    }
    if let Ok(e) = text.parse::<Evidence>() {
        assert_eq!(e.to_string().parse::<Evidence>().unwrap(), e);
    }
    let _ = text.parse::<Amount>();
});
