//! The C ABI of tandem (placeholder, being written).
