//! Property tests: decoders never panic, and the index counts what it holds.

use proptest::prelude::*;
use vigil_core::{B256, EvmAddress, Indicator};
use vigil_detect::calls::{address_words, decode_call};
use vigil_detect::events::{decode_log, topics};
use vigil_detect::{IndicatorIndex, IndicatorMeta};

fn known_topic() -> impl Strategy<Value = [u8; 32]> {
    prop::sample::select(vec![
        topics::TRANSFER,
        topics::APPROVAL,
        topics::APPROVAL_FOR_ALL,
        topics::AAVE_V3_FLASH_LOAN,
        topics::AAVE_V2_FLASH_LOAN,
        topics::BALANCER_FLASH_LOAN,
        topics::UNISWAP_V2_SWAP,
        topics::UNISWAP_V2_SYNC,
        topics::UNISWAP_V3_SWAP,
        topics::UNISWAP_V3_FLASH,
        topics::AAVE_V3_LIQUIDATION_CALL,
        topics::PROPOSAL_CREATED,
    ])
}

proptest! {
    #[test]
    fn decode_log_never_panics(t0 in known_topic(), rest in prop::collection::vec(any::<[u8; 32]>(), 0..4), data in prop::collection::vec(any::<u8>(), 0..600)) {
        let mut topics = vec![B256(t0)];
        topics.extend(rest.into_iter().map(B256));
        let _ = decode_log(&topics, &data);
    }

    #[test]
    fn decode_call_never_panics(sel in prop::sample::select(vec![
        [0xa9u8, 0x05, 0x9c, 0xbb], [0x23, 0xb8, 0x72, 0xdd], [0x09, 0x5e, 0xa7, 0xb3], [0x42, 0xb0, 0xb7, 0x7c],
        [0xab, 0x9c, 0x4b, 0x5d], [0x5c, 0x38, 0x44, 0x9e], [0x49, 0x0e, 0x6c, 0xbc], [0x02, 0x2c, 0x0d, 0x9f],
        [0x7d, 0x5e, 0x81, 0xe2], [0xda, 0x95, 0x69, 0x1a], [0x5c, 0xff, 0xe9, 0xde],
    ]), body in prop::collection::vec(any::<u8>(), 0..700)) {
        let mut input = sel.to_vec();
        input.extend(body);
        let _ = decode_call(&input, EvmAddress::ZERO);
        let _ = address_words(&input).count();
    }

    #[test]
    fn index_len_counts_distinct_indicator_source_pairs(
        ops in prop::collection::vec((0u8..8, 0u8..3, any::<bool>()), 0..64)
    ) {
        let mut index = IndicatorIndex::new();
        let mut model = std::collections::BTreeSet::new();
        for (addr, source, insert) in ops {
            let ind = Indicator::address(EvmAddress([addr; 20]));
            let src = format!("s{source}");
            if insert {
                index.insert(&ind, &IndicatorMeta::new(50, &src)).unwrap();
                model.insert((addr, source));
            } else {
                let removed = index.remove(&ind, &src);
                prop_assert_eq!(removed, model.remove(&(addr, source)));
            }
            prop_assert_eq!(index.len(), model.len());
        }
        for addr in 0u8..8 {
            let n = index.match_address(vigil_core::EvmChainId(1), &EvmAddress([addr; 20])).count();
            prop_assert_eq!(n, model.iter().filter(|(a, _)| *a == addr).count());
        }
    }
}
