//! Integration tests of vigil-intel: real feeds from `../shared/data`, STIX interop with the
//! official examples, schemas and the Python `stix2-validator`.

mod feeds;
mod shapes;
mod stix;
mod support;
