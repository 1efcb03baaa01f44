//! tandem-bench: tandem's bench suite.
//!
//! - [`suite`]: `tandem bench`, the suite that measures a machine — the kernels, the store, the
//!   executors, the engine — and writes its hardware profile ([`profile`]), `bench.json` and
//!   plots;
//! - [`isolation`] and [`pipeline`]: the engine's suites behind `tandem bench isolation` and
//!   `tandem bench pipeline` (the suite runs them too);
//! - [`profile`]: the hardware profile's schema, which the capacity planner reads;
//! - [`fixtures`]: the inputs shared by the suite and the criterion benches (`benches/`, run
//!   with `cargo bench -p tandem-bench` or `make bench`).

pub mod fixtures;
pub mod isolation;
pub mod pipeline;
pub mod plan;
pub mod profile;
pub mod suite;
pub mod validate;
