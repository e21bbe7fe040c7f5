//! A protocol's disclosure terms and a researcher's envelope from outside: an `age` recipient
//! as text, a bounty program and Safe Harbor terms as JSON (as a registration file carries
//! them), and a decrypted disclosure envelope. Nothing may panic; a key that parses prints back
//! to itself; a program that passes its checks pays within its floor and cap, never more for
//! a lower severity; Safe Harbor never pays beyond its cap per whitehat.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::{
    Amount, BountyProgram, DisclosureEnvelope, DisclosureKey, ProtocolSpec, SafeHarbor, Severity,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(key) = text.parse::<DisclosureKey>() {
        assert_eq!(key.to_string().parse::<DisclosureKey>().unwrap(), key);
    }
    if let Ok(envelope) = serde_json::from_str::<DisclosureEnvelope>(text) {
        assert_eq!(
            envelope.commitment(),
            vigil_core::disclosure::commitment(&envelope.report, &envelope.salt)
        );
    }
    if let Ok(spec) = serde_json::from_str::<ProtocolSpec>(text)
        && spec.check_shape().is_ok()
    {
        let at_risk = Amount(u64::from_le_bytes(
            data.iter().copied().chain([0; 8]).take(8).collect::<Vec<_>>().try_into().unwrap(),
        ));
        if let Some(p) = &spec.bounty {
            check_program(p, at_risk);
        }
        if let Some(h) = &spec.safe_harbor {
            check_harbor(h, at_risk);
        }
    }
    if let Ok(p) = serde_json::from_str::<BountyProgram>(text) {
        let _ = p.payout(Severity::Critical, Amount(u64::MAX));
    }
    if let Ok(h) = serde_json::from_str::<SafeHarbor>(text) {
        let _ = h.bounty(Amount(u64::MAX));
    }
});

fn check_program(p: &BountyProgram, at_risk: Amount) {
    let critical = p.payout(Severity::Critical, at_risk).unwrap();
    assert!(p.critical_floor <= critical && critical <= p.critical_cap);
    let mut last = Amount::ZERO;
    for s in [Severity::Low, Severity::Medium, Severity::High] {
        let paid = p.payout(s, at_risk).unwrap();
        assert!(paid >= last && paid <= critical.max(p.critical_cap));
        last = paid;
    }
    assert_eq!(p.payout(Severity::Info, at_risk), None);
}

fn check_harbor(h: &SafeHarbor, recovered: Amount) {
    assert!(h.bounty(recovered) <= h.cap_per_whitehat);
    assert!(h.bounty(recovered) <= recovered);
}
