use proptest::prelude::*;
use vigil_core::{EvmAddress, HexValueError, Indicator};

const OFAC_ETH: &str = include_str!("../../testdata/ofac/sanctioned_addresses_ETH.txt");

#[test]
fn ofac_mixed_case_addresses_parse_and_redisplay_identically() {
    let mixed: Vec<&str> = OFAC_ETH
        .lines()
        .map(str::trim)
        .filter(|l| l.bytes().any(|b| b.is_ascii_uppercase()))
        .collect();
    assert!(mixed.len() >= 20, "expected at least 20 mixed-case entries, found {}", mixed.len());
    for line in &mixed {
        let address: EvmAddress = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        assert_eq!(&address.to_string(), line);
    }
}

#[test]
fn lower_cased_ofac_address_equals_its_mixed_case_entry() {
    for line in OFAC_ETH.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mixed: EvmAddress = line.parse().unwrap();
        let lower: EvmAddress = line.to_lowercase().parse().unwrap();
        let upper: EvmAddress = format!("0x{}", line[2..].to_uppercase()).parse().unwrap();
        assert_eq!(mixed, lower);
        assert_eq!(mixed, upper);
    }
}

#[test]
fn a_case_flip_in_a_real_checksummed_address_is_caught() {
    let line = OFAC_ETH.lines().find(|l| l.bytes().any(|b| b.is_ascii_uppercase())).unwrap();
    let position = line[2..].find(|c: char| c.is_ascii_alphabetic()).unwrap() + 2;
    let mut flipped: Vec<char> = line.chars().collect();
    flipped[position] = if flipped[position].is_ascii_uppercase() {
        flipped[position].to_ascii_lowercase()
    } else {
        flipped[position].to_ascii_uppercase()
    };
    let flipped: String = flipped.into_iter().collect();
    assert!(matches!(EvmAddress::parse_strict(&flipped), Err(HexValueError::BadChecksum { .. })));
    // As data it still names the same 20 bytes, with the mismatch reported.
    assert_eq!(flipped.parse::<EvmAddress>().unwrap(), line.parse::<EvmAddress>().unwrap());
    assert!(EvmAddress::checksum_mismatch(&flipped));
}

proptest! {
    #[test]
    fn address_display_parse_round_trip(bytes in any::<[u8; 20]>()) {
        let a = EvmAddress(bytes);
        let shown = a.to_string();
        prop_assert_eq!(shown.parse::<EvmAddress>().unwrap(), a);
        prop_assert_eq!(shown.to_lowercase().parse::<EvmAddress>().unwrap(), a);
    }

    #[test]
    fn address_parser_never_panics(s in "\\PC{0,60}") {
        let _ = s.parse::<EvmAddress>();
        let _ = s.parse::<Indicator>();
    }

    #[test]
    fn hex_like_garbage_gets_an_error_not_a_panic(s in "0x[0-9a-fA-FgG]{0,70}") {
        let _ = s.parse::<EvmAddress>();
        let _ = s.parse::<Indicator>();
    }
}
