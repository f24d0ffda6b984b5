//! Daily quotas of limiteApeluriAPI.txt (filled in by the limits slice).

#[derive(Default)]
pub struct Quotas {}
