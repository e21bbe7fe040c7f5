//! Integration tests of vigil-intel.
