//! tandem-kernels: the compute kernels of tandem.
//!
//! This crate will own the kernel families of SPEC §7 — multi-message BLAKE3, the account LtHash
//! and ed25519 signature verification — each with a portable reference, AVX2 and AVX-512 paths
//! and a wgpu/WGSL GPU path behind one `platform.rs` dispatch.
//!
//! **Status:** empty. No kernel is implemented yet (issues #3 and #4 build them), so this crate
//! exports nothing rather than pretending to compute anything.
