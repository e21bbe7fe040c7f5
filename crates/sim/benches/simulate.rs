//! Simulated blocks per second (placeholder replaced below).
fn main() {}
