//! Shared detection content from outside: a STIX indicator of Vigil's pattern types (its
//! pattern as arbitrary text), a fingerprint as JSON, and a rule file checked as nodes check
//! it. Nothing may panic; an item that passes the checks must load into the engine, and a
//! fingerprint that parses must match itself exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_core::{Detection, Fingerprint};
use vigil_detect::{DetectionUpdate, Provenance, SharedDetection};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for pattern_type in ["vigil-fingerprint", "vigil-cel"] {
        let object = serde_json::json!({
            "type": "indicator", "id": "indicator--fuzz", "pattern_type": pattern_type,
            "pattern": text,
        });
        let Some(Ok(detection)) = vigil_intel::stix::detection::detection_of(&object) else {
            continue;
        };
        if vigil_detect::shared::check(&detection).is_ok() {
            let mut shared = SharedDetection::new();
            let provenance = Provenance {
                origin: "fuzz".into(),
                confidence: 50,
                severity: vigil_core::Severity::High,
                provisional: true,
            };
            shared
                .apply(DetectionUpdate::Load { detection: detection.clone(), provenance })
                .expect("checked content loads");
        }
        if let Detection::Fingerprint(f) = &detection {
            assert_eq!(f.similarity(f), 1.0);
            let mut index = vigil_detect::fingerprint::FingerprintIndex::new();
            index.add(f.clone());
            assert_eq!(index.matches(f).len(), 1, "a fingerprint matches itself");
        }
    }
    let _ = serde_json::from_str::<Fingerprint>(text);
});
