//! Canonical decoding of transactions and indicators from untrusted bytes. Whatever decodes must
//! re-encode to the same bytes (one encoding per value), and verifying it must not panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::encoding::{decode, encode};
use vigil_core::{Alert, Indicator, Signed, SignedTx};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = decode::<SignedTx>(data) {
        assert_eq!(encode(&tx), data);
        let _ = tx.verify();
        let _ = tx.tx.body.kind();
        if let vigil_core::TxBody::SubmitReport { report, .. } = &tx.tx.body {
            let _ = report.check_shape();
        }
    }
    if let Ok(ind) = decode::<Indicator>(data) {
        assert_eq!(encode(&ind), data);
    }
    if let Ok(alert) = decode::<Signed<Alert>>(data) {
        let _ = alert.verify(&alert.chain_id.clone());
    }
});
