//! The anaf-sim binary (filled in by the binary slice).
fn main() {}
