//! Real public data as indicators: Forta's labelled datasets and the OFAC list.

use std::fs;

use vigil_core::{Category, EvmAddress, Indicator};
use vigil_detect::{DetectConfig, Engine, IndicatorIndex, IndicatorMeta, RuleSet};

use crate::support::*;

/// Loads `address,label,...` rows; returns (rows, distinct addresses).
fn load_csv(index: &mut IndexLoader, text: &str, source: &str, category: Category) -> usize {
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(addr), Some(label)) = (cols.next(), cols.next()) else { continue };
        let Ok(address) = addr.trim().parse::<EvmAddress>() else { continue };
        let mut meta = IndicatorMeta::new(80, source).with_category(category);
        if !label.is_empty() {
            meta = meta.with_label(label);
        }
        index.0.insert(&Indicator::address(address), &meta).unwrap();
        rows += 1;
    }
    rows
}

struct IndexLoader(IndicatorIndex);

#[test]
fn forta_labelled_addresses_are_flagged_with_their_label() {
    let Some(data) = shared_data() else { return };
    let dir = data.join("forta-labelled-datasets/labels/1");
    let mut idx = IndexLoader(IndicatorIndex::new());
    let etherscan = fs::read_to_string(dir.join("etherscan_malicious_labels.csv")).unwrap();
    let phishing = fs::read_to_string(dir.join("phishing_scams.csv")).unwrap();
    let rows = load_csv(&mut idx, &etherscan, "feed:forta-etherscan", Category::Phishing)
        + load_csv(&mut idx, &phishing, "feed:forta-phishing", Category::Phishing);
    assert!(rows > 14_000, "{rows} rows");
    // Duplicate rows replace, they do not add: fewer entries than rows.
    assert!(idx.0.len() < rows && idx.0.len() > 12_000, "{} entries", idx.0.len());

    let mut engine = Engine::new(&DetectConfig::default(), RuleSet::empty()).with_indicators(idx.0);
    // Every labelled address of the etherscan list, sent ETH: flagged with its label.
    let mut checked = 0;
    for (i, line) in etherscan.lines().skip(1).enumerate().step_by(97) {
        let mut cols = line.split(',');
        let address: EvmAddress = cols.next().unwrap().parse().unwrap();
        let label = cols.next().unwrap();
        let tx = TxB::new(i as u64).from(a(0x01)).to(Some(address)).value(eth(1)).pending(1);
        let alerts = engine.process_tx(&tx);
        assert_eq!(alerts.len(), 1, "{address}");
        assert_eq!(alerts[0].detector, "indicator-match");
        assert!(
            alerts[0].labels.iter().any(|l| l == label),
            "{address}: {:?} lacks {label}",
            alerts[0].labels
        );
        assert!(alerts[0].addresses.contains(&address));
        checked += 1;
    }
    assert!(checked > 70);
    // An unlabelled address: nothing.
    assert!(
        engine.process_tx(&TxB::new(99_999).from(a(0x01)).to(Some(a(0x02))).pending(1)).is_empty()
    );
}

#[test]
fn lower_cased_ofac_address_matches_its_mixed_case_entry() {
    let Some(data) = shared_data() else { return };
    let text =
        fs::read_to_string(data.join("ofac-sanctioned-addresses/sanctioned_addresses_ETH.txt"))
            .unwrap();
    let mut index = IndicatorIndex::new();
    let mut mixed = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        // Mixed-case entries carry EIP-55 checksums, verified by the parser.
        let address: EvmAddress = line.parse().unwrap_or_else(|e| panic!("{line}: {e}"));
        index
            .insert(
                &Indicator::address(address),
                &IndicatorMeta::new(100, "feed:ofac")
                    .with_label("OFAC SDN")
                    .with_category(Category::Sanctioned),
            )
            .unwrap();
        if line[2..].chars().any(|c| c.is_ascii_uppercase()) {
            mixed.push(line.to_owned());
        }
    }
    assert!(mixed.len() > 100, "{} mixed-case entries", mixed.len());
    let mut engine = Engine::new(&DetectConfig::default(), RuleSet::empty()).with_indicators(index);
    for (i, entry) in mixed.iter().enumerate() {
        let lower: EvmAddress = entry.to_lowercase().parse().unwrap();
        let tx = TxB::new(i as u64).from(lower).to(Some(a(0x02))).pending(1);
        let alerts = engine.process_tx(&tx);
        assert_eq!(alerts.len(), 1, "{entry}");
        assert_eq!(alerts[0].labels, vec!["OFAC SDN".to_owned()]);
        assert_eq!(alerts[0].kind, vigil_core::AlertKind::Suspicious);
        assert_eq!(alerts[0].severity, vigil_core::Severity::High);
        assert_eq!(alerts[0].addresses[0].to_string(), *entry, "displayed checksummed");
    }
}
