//! Integration tests of `vigil-detect`.

mod decoding;
mod detectors;
mod engine;
mod feeds;
mod rules;
mod support;
mod traces;
