//! `vigil-detect`: turns normalised EVM transactions into alerts within microseconds.
//!
//! It owns the transaction model, the indicator index, the detectors behind one `Detector`
//! trait, user rules in CEL, and alert de-duplication. No I/O: collectors live in `vigil-chain`.
