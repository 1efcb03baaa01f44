//! Hashing kernels: BLAKE3 of many independent messages, and the account lattice hash (LtHash).
//!
//! Layout of the family (STYLE.md): [`compress`] holds BLAKE3's compression, scalar and as the
//! lane contract; [`portable`] is the reference (the blake3 crate, one message at a time);
//! `avx2.rs` and `avx512.rs` are lane kernels (8 and 16 compressions per call), reached only
//! through [`compress::LaneKernel`], which exists only where the CPU has their instruction set;
//! [`lanes`] drives any lane kernel over many messages; [`lthash`] is the LtHash type and its batch functions;
//! [`gpu`] runs the same on a GPU through wgpu. [`blake3_many`] and the `lthash_*` functions are
//! the one dispatch point: they `match` on the [`Platform`].

pub mod compress;
pub mod gpu;

pub mod lanes;
pub mod lthash;
pub mod portable;

// The SIMD kernels are `unsafe` (they need their instruction set) and so crate-private: outside
// code reaches them only through `compress::LaneKernel`, which checks the CPU first.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;

use crate::Platform;
#[cfg(target_arch = "x86_64")]
use compress::LaneKernel;

/// Why a platform's `LaneKernel` exists: the dispatch functions assert `is_supported()` first.
#[cfg(target_arch = "x86_64")]
const SUPPORTED: &str = "is_supported() was asserted";

/// BLAKE3 of every input on the CPU `platform`; `out[i]` receives the hash of `inputs[i]`.
///
/// # Panics
/// If `out` and `inputs` differ in length (a caller bug, not an input error), or if `platform` is
/// not supported by this CPU.
pub fn blake3_many(platform: Platform, inputs: &[&[u8]], out: &mut [[u8; 32]]) {
    assert_eq!(inputs.len(), out.len(), "one output per input");
    assert!(
        platform.is_supported(),
        "{platform} is not supported by this CPU"
    );
    match platform {
        Platform::Portable => portable::blake3_many(inputs, out),
        #[cfg(target_arch = "x86_64")]
        Platform::Avx2 => lanes::hash_many(LaneKernel::avx2().expect(SUPPORTED), inputs, out),
        #[cfg(target_arch = "x86_64")]
        Platform::Avx512 => lanes::hash_many(LaneKernel::avx512().expect(SUPPORTED), inputs, out),
        #[cfg(not(target_arch = "x86_64"))]
        Platform::Avx2 | Platform::Avx512 => unreachable!("checked by is_supported"),
    }
}
