//! Integration tests of vigil-taxii.
