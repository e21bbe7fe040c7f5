//! Real-socket tests.
