//! The asynchronous engine's pipeline: stages linked by bounded queues.
//!
//! What it owns so far:
//! - [`metrics`]: what every stage and the engine report, and the Prometheus endpoint.

pub mod metrics;
