//! tandem-bench (placeholder, being written).
