//! Integration and property tests of vigil-core's public API.

mod addresses;
mod encoding;
mod signatures;
