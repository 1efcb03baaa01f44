//! The accounts lattice hash (SIMD-0215, SPEC §4), bit-identical to Agave's `solana-lattice-hash`.
//!
//! An account's LtHash is the 2,048-byte BLAKE3 extended output of
//! `lamports (u64 LE) ‖ data ‖ executable (1 byte) ‖ owner (32) ‖ pubkey (32)`, read as 1,024
//! little-endian u16 — all zeros when the account holds no lamports. A set of accounts hashes to
//! the wrapping u16 sum of theirs, so a change is "subtract the old, add the new".
//!
//! On SIMD platforms every account is reduced to its root node in lanes (see [`lanes`]), then its
//! 32 output blocks go through the lanes together (16 per call with AVX-512, 8 with AVX2).
//! [`lthash_accumulate`] never reorders those outputs into bytes: it adds each call's output, in
//! the lanes' transposed layout, to an accumulator of the same layout (a 32-bit word holds two
//! u16 elements, added as u16), and converts once at the end.

#![allow(clippy::needless_range_loop)] // lane code indexes parallel per-word and per-lane arrays

#[cfg(target_arch = "x86_64")]
use super::SUPPORTED;
use super::compress::{BLOCK_LEN, LaneKernel, LaneOutput};
use super::lanes::{self, RootNode};
use super::portable;
use crate::Platform;

/// One account's (or a set's) lattice hash: 1,024 u16, added and subtracted with wrapping.
///
/// `repr(transparent)` over the array: on a little-endian machine a slice of `LtHash` is byte for
/// byte the 2,048-byte little-endian encoding of SPEC §4, so a caller's aligned buffer can be
/// handed to the kernels to write in place ([`LtHash::slice_from_elements_mut`]; the C ABI does,
/// and copies nothing then). Not `Copy`: 2 KiB should not be copied without a `clone()`.
#[derive(Clone, PartialEq, Eq)]
#[repr(transparent)]
pub struct LtHash(pub [u16; LtHash::ELEMENTS]);

impl LtHash {
    /// Views arrays of 1,024 elements as LtHashes, in place (no copy): for a caller that owns
    /// the memory in another form, such as a C buffer of 2,048-byte hashes.
    pub fn slice_from_elements_mut(elements: &mut [[u16; LtHash::ELEMENTS]]) -> &mut [LtHash] {
        let len = elements.len();
        // SAFETY: LtHash is repr(transparent) over [u16; 1024], so both slices have the same
        // layout, length and alignment; the borrow of `elements` is handed on whole.
        unsafe { std::slice::from_raw_parts_mut(elements.as_mut_ptr().cast::<LtHash>(), len) }
    }

    /// Elements of the hash.
    pub const ELEMENTS: usize = 1024;
    /// Bytes of the hash.
    pub const BYTES: usize = 2048;

    /// The hash of the empty set (all zeros).
    pub const fn identity() -> Self {
        LtHash([0; LtHash::ELEMENTS])
    }

    /// Adds `other` (an account enters the set).
    pub fn mix_in(&mut self, other: &LtHash) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = a.wrapping_add(*b);
        }
    }

    /// Subtracts `other` (an account leaves the set).
    pub fn mix_out(&mut self, other: &LtHash) {
        for (a, b) in self.0.iter_mut().zip(&other.0) {
            *a = a.wrapping_sub(*b);
        }
    }

    /// The 2,048 bytes, elements little-endian.
    pub fn to_bytes(&self) -> [u8; LtHash::BYTES] {
        let mut out = [0u8; LtHash::BYTES];
        for (chunk, e) in out.chunks_exact_mut(2).zip(&self.0) {
            chunk.copy_from_slice(&e.to_le_bytes());
        }
        out
    }

    /// Reads 2,048 bytes, elements little-endian.
    pub fn from_bytes(bytes: &[u8; LtHash::BYTES]) -> Self {
        LtHash(std::array::from_fn(|i| {
            u16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]])
        }))
    }

    /// The 32-byte checksum: BLAKE3 of the 2,048 bytes (what Agave calls the LtHash checksum).
    pub fn checksum(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }
}

impl Default for LtHash {
    fn default() -> Self {
        LtHash::identity()
    }
}

impl std::fmt::Debug for LtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sum = self.checksum();
        write!(
            f,
            "LtHash(checksum {:02x}{:02x}{:02x}{:02x}…)",
            sum[0], sum[1], sum[2], sum[3]
        )
    }
}

/// The fields of an account that its LtHash covers, borrowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccountInput<'a> {
    /// The account's address.
    pub pubkey: &'a [u8; 32],
    /// Its owner program.
    pub owner: &'a [u8; 32],
    /// Its balance; 0 hashes to the identity.
    pub lamports: u64,
    /// Whether it is a program.
    pub executable: bool,
    /// Its data.
    pub data: &'a [u8],
}

impl AccountInput<'_> {
    /// Length of the hash input: 8 + data + 1 + 32 + 32.
    pub fn hash_input_len(&self) -> usize {
        self.data.len() + 73
    }

    /// Appends the hash input to `out`.
    pub fn write_hash_input(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.lamports.to_le_bytes());
        out.extend_from_slice(self.data);
        out.push(u8::from(self.executable));
        out.extend_from_slice(self.owner);
        out.extend_from_slice(self.pubkey);
    }
}

/// Output blocks of one LtHash.
const XOF_BLOCKS: u64 = (LtHash::BYTES / BLOCK_LEN) as u64;

/// Each account's own LtHash; `out[i]` receives that of `accounts[i]`.
///
/// # Panics
/// If the lengths differ or `platform` is not supported by this CPU.
pub fn lthash_accounts(platform: Platform, accounts: &[AccountInput<'_>], out: &mut [LtHash]) {
    assert_eq!(accounts.len(), out.len(), "one output per account");
    assert!(
        platform.is_supported(),
        "{platform} is not supported by this CPU"
    );
    match platform {
        Platform::Portable => {
            for (account, hash) in accounts.iter().zip(out.iter_mut()) {
                *hash = portable::lthash_account(account);
            }
        }
        #[cfg(target_arch = "x86_64")]
        Platform::Avx2 => accounts_in_lanes(LaneKernel::avx2().expect(SUPPORTED), accounts, out),
        #[cfg(target_arch = "x86_64")]
        Platform::Avx512 => {
            accounts_in_lanes(LaneKernel::avx512().expect(SUPPORTED), accounts, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        Platform::Avx2 | Platform::Avx512 => unreachable!("checked by is_supported"),
    }
}

/// Adds every account's LtHash to `sum` (wrapping), without materialising them.
///
/// # Panics
/// If `platform` is not supported by this CPU.
pub fn lthash_accumulate(platform: Platform, accounts: &[AccountInput<'_>], sum: &mut LtHash) {
    assert!(
        platform.is_supported(),
        "{platform} is not supported by this CPU"
    );
    match platform {
        Platform::Portable => {
            for account in accounts {
                sum.mix_in(&portable::lthash_account(account));
            }
        }
        #[cfg(target_arch = "x86_64")]
        Platform::Avx2 => accumulate_in_lanes(LaneKernel::avx2().expect(SUPPORTED), accounts, sum),
        #[cfg(target_arch = "x86_64")]
        Platform::Avx512 => {
            accumulate_in_lanes(LaneKernel::avx512().expect(SUPPORTED), accounts, sum)
        }
        #[cfg(not(target_arch = "x86_64"))]
        Platform::Avx2 | Platform::Avx512 => unreachable!("checked by is_supported"),
    }
}

/// The root node of every account that holds lamports, with its index.
pub(crate) fn account_roots<const N: usize>(
    kernel: LaneKernel<N>,
    accounts: &[AccountInput<'_>],
) -> (Vec<usize>, Vec<RootNode>) {
    let live: Vec<usize> = (0..accounts.len())
        .filter(|&i| accounts[i].lamports != 0)
        .collect();
    let total: usize = live.iter().map(|&i| accounts[i].hash_input_len()).sum();
    let mut arena = Vec::with_capacity(total);
    let mut ends = Vec::with_capacity(live.len());
    for &i in &live {
        accounts[i].write_hash_input(&mut arena);
        ends.push(arena.len());
    }
    let mut start = 0;
    let inputs: Vec<&[u8]> = ends
        .iter()
        .map(|&end| {
            let input = &arena[start..end];
            start = end;
            input
        })
        .collect();
    let roots = lanes::root_nodes(kernel, &inputs);
    (live, roots)
}

/// Calls `f(element, value)` for the 32 elements of each output block in a lane output whose
/// lanes are output blocks `first..first + N`.
#[inline(always)]
fn for_each_element<const N: usize>(
    first: u64,
    out: &LaneOutput<N>,
    mut f: impl FnMut(usize, u16),
) {
    for l in 0..N {
        let t = first as usize + l;
        if t >= XOF_BLOCKS as usize {
            break;
        }
        for w in 0..16 {
            let word = out.0[w][l];
            f(t * 32 + 2 * w, word as u16);
            f(t * 32 + 2 * w + 1, (word >> 16) as u16);
        }
    }
}

fn accounts_in_lanes<const N: usize>(
    kernel: LaneKernel<N>,
    accounts: &[AccountInput<'_>],
    out: &mut [LtHash],
) {
    for hash in out.iter_mut() {
        *hash = LtHash::identity();
    }
    let (live, roots) = account_roots(kernel, accounts);
    for (&i, root) in live.iter().zip(&roots) {
        let hash = &mut out[i].0;
        lanes::xof_blocks(kernel, root, XOF_BLOCKS, |first, lanes_out| {
            for_each_element(first, lanes_out, |e, v| hash[e] = v);
        });
    }
}

fn accumulate_in_lanes<const N: usize>(
    kernel: LaneKernel<N>,
    accounts: &[AccountInput<'_>],
    sum: &mut LtHash,
) {
    let (_, roots) = account_roots(kernel, accounts);
    // acc[first / N] accumulates the output of the calls whose lanes are blocks first..first+N.
    let calls = (XOF_BLOCKS as usize).div_ceil(N);
    let mut acc = vec![LaneOutput::<N>::default(); calls];
    for root in &roots {
        lanes::xof_blocks(kernel, root, XOF_BLOCKS, |first, lanes_out| {
            let a: &mut [u16] =
                bytemuck::cast_slice_mut(acc[first as usize / N].0.as_flattened_mut());
            let b: &[u16] = bytemuck::cast_slice(lanes_out.0.as_flattened());
            for (x, y) in a.iter_mut().zip(b) {
                *x = x.wrapping_add(*y);
            }
        });
    }
    for (c, lanes_acc) in acc.iter().enumerate() {
        for_each_element((c * N) as u64, lanes_acc, |e, v| {
            sum.0[e] = sum.0[e].wrapping_add(v);
        });
    }
}
