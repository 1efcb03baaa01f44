//! tandem-bench: tandem's bench suite.
//!
//! It holds the suites behind `tandem bench isolation` ([`isolation`]) and `tandem bench
//! pipeline` ([`pipeline`]), the criterion
//! benches (`benches/`, run with `cargo bench -p tandem-bench` or
//! `make bench`) and the fixtures they share. `tandem bench`, hardware profiles and the capacity
//! planner come with later issues.

pub mod fixtures;
pub mod isolation;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod validate;
