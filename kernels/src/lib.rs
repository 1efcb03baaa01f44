//! tandem-kernels: the compute kernels of tandem (SPEC §7).
//!
//! | family | what | CPU | GPU |
//! |---|---|---|---|
//! | [`hash`] | BLAKE3 of many messages; account LtHash | portable (blake3 crate), AVX2 ×8, AVX-512 ×16 | WGSL via wgpu |
//!
//! Every accelerated kernel has a reference beside it and is tested against the crate everyone
//! trusts (blake3, solana-lattice-hash). [`Platform`] is the one CPU dispatch point.

pub mod hash;
pub mod platform;

pub use hash::lthash::{AccountInput, LtHash};
pub use platform::Platform;
