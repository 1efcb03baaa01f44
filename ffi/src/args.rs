//! Checked conversions from C arguments (pointer + length, `uint32_t backend`) to Rust values.
//!
//! Every pointer an export receives goes through one of these helpers before it is read or
//! written, so the rules of SPEC §8 are enforced in one place: a NULL pointer is accepted only for
//! an empty slice, a length whose byte size exceeds `isize::MAX` or a misaligned pointer is
//! `TANDEM_ERR_INVALID_ARGUMENT`, and each message names the argument, e.g.
//! `signatures is NULL but n = 3` or `messages[2] is NULL but message_lens[2] = 5`.
//!
//! What the helpers cannot check stays the caller's promise, stated in the header: a non-NULL
//! pointer points to at least `len` valid elements. That an output does not overlap an input is
//! checked ([`output_slice_apart`]).
//!
//! The helpers run on every call of the batch exports (`tandem_ed25519_verify_batch`,
//! `tandem_blake3_many`, `tandem_lthash_accounts`, `tandem_lthash_accumulate`), once per message
//! in `message_slices`, so a check that passes must cost no more than the comparisons: messages
//! are formatted only on the error path (`bench/benches/ffi.rs` holds the C ABI to the Rust API).

use std::fmt::{self, Display};
use std::mem::{align_of, size_of};

use crate::error::FfiError;
use crate::status::Backend;

/// Why a pointer and a length cannot form a slice.
///
/// The check and the message are apart so that a check that passes formats nothing: the names
/// of the arguments are written only into the message of a check that failed, which keeps
/// `message_slices` free of any per-element allocation (formatting the two indexed names of
/// every element once took 60 % of `tandem_blake3_many` on 128-byte messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SliceFault {
    /// NULL with a non-zero length.
    Null,
    /// Not aligned to the element type's alignment, in bytes.
    Misaligned(usize),
    /// `len * size_of::<T>()` overflows or exceeds `isize::MAX`.
    TooLarge,
}

impl SliceFault {
    /// The `TANDEM_ERR_INVALID_ARGUMENT` error for this fault, `what` naming the pointer argument
    /// and `len_name` the length argument, which was `len`.
    fn error(self, what: &dyn Display, len_name: &dyn Display, len: usize) -> FfiError {
        FfiError::invalid_argument(match self {
            SliceFault::Null => format!("{what} is NULL but {len_name} = {len}"),
            SliceFault::Misaligned(align) => format!("{what} is not aligned to {align} bytes"),
            SliceFault::TooLarge => format!(
                "{len_name} = {len} is too large: {what} would span more than isize::MAX bytes"
            ),
        })
    }
}

/// An element of an array argument in a message: `messages[2]`.
struct Indexed<'a>(&'a str, usize);

impl Display for Indexed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// Borrows `len` elements of `T` at `ptr` after the checks of [`check`].
///
/// # Safety
///
/// As for [`input_slice`].
#[inline]
unsafe fn borrow<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], SliceFault> {
    check(ptr, len)?;
    if len == 0 {
        return Ok(&[]);
    }
    // SAFETY: check proved ptr non-NULL (len > 0), aligned and the span within isize::MAX
    // bytes; the caller promises len initialised elements, unaliased by writes for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Checks that `len` elements of `T` starting at `ptr` may form a slice: NULL only when `len` is
/// 0, `ptr` aligned for `T`, and `len * size_of::<T>()` at most `isize::MAX`.
#[inline]
fn check<T>(ptr: *const T, len: usize) -> Result<(), SliceFault> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(())
        } else {
            Err(SliceFault::Null)
        };
    }
    if !ptr.is_aligned() {
        return Err(SliceFault::Misaligned(align_of::<T>()));
    }
    match len.checked_mul(size_of::<T>()) {
        Some(bytes) if bytes <= isize::MAX as usize => Ok(()),
        _ => Err(SliceFault::TooLarge),
    }
}

/// Borrows `len` elements of `T` at `ptr` as a shared slice.
///
/// `ptr` may be NULL only when `len` is 0 (giving an empty slice); a misaligned pointer or a
/// length whose byte size exceeds `isize::MAX` is rejected too. `what` names the pointer argument
/// and `len_name` the length argument in the error message. For arrays of fixed-size records cast
/// first, e.g. `input_slice(signatures.cast::<[u8; 64]>(), n, "signatures", "n")`.
///
/// # Safety
///
/// When `ptr` is non-NULL and `len > 0`, `ptr` must point to `len` initialised elements of `T`
/// that nothing writes to during `'a`.
pub unsafe fn input_slice<'a, T>(
    ptr: *const T,
    len: usize,
    what: &str,
    len_name: &str,
) -> Result<&'a [T], FfiError> {
    // SAFETY: forwarded to the caller.
    unsafe { borrow(ptr, len) }.map_err(|fault| fault.error(&what, &len_name, len))
}

/// Fails as [`output_slice`] would for `len` elements of `T` at `ptr`, touching nothing: for an
/// export to refuse an output no process can hold (`n * 32` past `isize::MAX`) before it lists
/// its inputs — which took memory in proportion to `n` first, and aborted the process where
/// that could not be had.
pub fn check_output<T>(
    ptr: *mut T,
    len: usize,
    what: &str,
    len_name: &str,
) -> Result<(), FfiError> {
    check(ptr.cast_const(), len).map_err(|fault| fault.error(&what, &len_name, len))
}

/// Borrows `len` elements of `T` at `ptr` as an exclusive slice to write results into.
///
/// `ptr` may be NULL only when `len` is 0 (giving an empty slice); the other checks and the
/// messages are those of [`input_slice`].
///
/// # Safety
///
/// When `ptr` is non-NULL and `len > 0`, `ptr` must point to `len` elements of `T` that are valid
/// for writes (and reads: `T` is expected to be plain bytes or integers, so any bit pattern is a
/// valid value) and that nothing else reads or writes during `'a`, including any input slice.
pub unsafe fn output_slice<'a, T>(
    ptr: *mut T,
    len: usize,
    what: &str,
    len_name: &str,
) -> Result<&'a mut [T], FfiError> {
    check(ptr.cast_const(), len).map_err(|fault| fault.error(&what, &len_name, len))?;
    if len == 0 {
        return Ok(&mut []);
    }
    // SAFETY: check proved ptr non-NULL (len > 0), aligned and the span within
    // isize::MAX bytes; the caller promises len writable elements used by nothing else for 'a.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) })
}

/// An input an output must not overlap (see [`output_slice_apart`]).
pub enum Input<'s> {
    /// A named array, as borrowed.
    Array(&'s str, *const u8, usize),
    /// Each of a named set of byte strings (`data[i]`).
    Each(&'s str, &'s [&'s [u8]]),
}

impl<'s> Input<'s> {
    /// The named array `slice`.
    pub fn array<T>(name: &'s str, slice: &'s [T]) -> Input<'s> {
        Input::Array(name, slice.as_ptr().cast(), std::mem::size_of_val(slice))
    }

    /// The named C array of `n` elements of `T` at `at` (already checked by the helpers above).
    pub fn c_array<T>(name: &'s str, at: *const T, n: usize) -> Input<'s> {
        Input::Array(name, at.cast(), n * size_of::<T>())
    }
}

/// As [`output_slice`], and the output overlaps none of `inputs`: an output over bytes an input
/// reads would be undefined behaviour in Rust, and the kernels would read what they had begun to
/// write — each CPU path in its own order, so the answers would depend on the machine. An
/// overlap is `TANDEM_ERR_INVALID_ARGUMENT` naming both (`out overlaps data[3]`); the check
/// costs a comparison per input.
///
/// # Safety
///
/// As for [`output_slice`], the overlap with `inputs` aside (which is checked).
pub unsafe fn output_slice_apart<'a, T>(
    ptr: *mut T,
    len: usize,
    what: &str,
    len_name: &str,
    inputs: &[Input<'_>],
) -> Result<&'a mut [T], FfiError> {
    check(ptr.cast_const(), len).map_err(|fault| fault.error(&what, &len_name, len))?;
    let start = ptr as usize;
    // check proved the byte size within isize::MAX.
    let end = start + len * size_of::<T>();
    let overlaps = |at: *const u8, bytes: usize| {
        let at = at as usize;
        bytes > 0 && end > start && at < end && start < at + bytes
    };
    for input in inputs {
        match input {
            Input::Array(name, at, bytes) => {
                if overlaps(*at, *bytes) {
                    return Err(FfiError::invalid_argument(format!(
                        "{what} overlaps {name}"
                    )));
                }
            }
            Input::Each(name, slices) => {
                if let Some(i) = slices.iter().position(|s| overlaps(s.as_ptr(), s.len())) {
                    return Err(FfiError::invalid_argument(format!(
                        "{what} overlaps {name}[{i}]"
                    )));
                }
            }
        }
    }
    // SAFETY: as output_slice's, and apart from every input (just checked).
    unsafe { output_slice(ptr, len, what, len_name) }
}

/// A region of a call's memory, named for an error: `n` elements of `T` at `at` (NULL: none).
pub fn region<T>(name: &str, at: *const T, n: usize) -> (&str, usize, usize) {
    (name, at as usize, n.saturating_mul(size_of::<T>()))
}

/// Fails where two regions of one call that are borrowed at once — two outputs, or an output
/// and an input still read — share bytes: two such references are undefined behaviour in
/// Rust, and one answer would land in the other's bytes (`tandem_engine_describe(e, buf, 64,
/// (size_t *)buf)` returned OK with the length over the text). `TANDEM_ERR_INVALID_ARGUMENT`
/// naming both (`len_out overlaps buf`). Checked before either is borrowed; NULL or empty
/// regions overlap nothing.
pub fn apart(
    (a, a_at, a_bytes): (&str, usize, usize),
    (b, b_at, b_bytes): (&str, usize, usize),
) -> Result<(), FfiError> {
    let empty = |at: usize, bytes: usize| at == 0 || bytes == 0;
    if empty(a_at, a_bytes) || empty(b_at, b_bytes) {
        return Ok(());
    }
    let (a_end, b_end) = (a_at.saturating_add(a_bytes), b_at.saturating_add(b_bytes));
    if a_at < b_end && b_at < a_end {
        return Err(FfiError::invalid_argument(format!("{a} overlaps {b}")));
    }
    Ok(())
}

/// Borrows `n` byte strings given as an array of pointers and an array of lengths, as in
/// `const uint8_t *const *messages, const size_t *message_lens`.
///
/// Both arrays may be NULL only when `n` is 0; element `i` may be NULL only when its length is 0
/// (`messages[2] is NULL but message_lens[2] = 5` otherwise). `what` and `lens_name` name the two
/// arrays and `n_name` the count in error messages; the indexed names are formatted only for the
/// element that fails, so a batch that passes costs one allocation (the returned `Vec`).
///
/// # Safety
///
/// When non-NULL, `ptrs` and `lens` must each point to `n` initialised elements, and each non-NULL
/// `ptrs[i]` to `lens[i]` initialised bytes, all unaliased by writes during `'a`.
pub unsafe fn message_slices<'a>(
    ptrs: *const *const u8,
    lens: *const usize,
    n: usize,
    what: &str,
    lens_name: &str,
    n_name: &str,
) -> Result<Vec<&'a [u8]>, FfiError> {
    // SAFETY: the caller promises n readable pointers at ptrs (or ptrs NULL with n = 0).
    let ptrs = unsafe { input_slice(ptrs, n, what, n_name) }?;
    // SAFETY: the caller promises n readable lengths at lens (or lens NULL with n = 0).
    let lens = unsafe { input_slice(lens, n, lens_name, n_name) }?;
    // Refused, not an abort, where the list cannot be had (an `n` past the arrays the caller
    // has, which no check can see otherwise).
    let mut messages = Vec::new();
    messages.try_reserve_exact(n).map_err(|_| {
        FfiError::invalid_argument(format!(
            "{n_name} = {n} is too large: the list of {what} cannot be held in memory"
        ))
    })?;
    for (i, (&ptr, &len)) in ptrs.iter().zip(lens).enumerate() {
        // SAFETY: the caller promises ptrs[i] points to lens[i] readable bytes (or is NULL
        // with lens[i] = 0, which borrow accepts and rejects otherwise).
        let message = unsafe { borrow(ptr, len) }
            .map_err(|fault| fault.error(&Indexed(what, i), &Indexed(lens_name, i), len))?;
        messages.push(message);
    }
    Ok(messages)
}

impl Backend {
    /// Converts the `uint32_t backend` argument of an export; an unknown value is
    /// `TANDEM_ERR_INVALID_ARGUMENT`.
    pub fn from_raw(raw: u32) -> Result<Self, FfiError> {
        match raw {
            0 => Ok(Self::Auto),
            1 => Ok(Self::Cpu),
            2 => Ok(Self::Gpu),
            _ => Err(FfiError::invalid_argument(format!(
                "backend = {raw} is not TANDEM_BACKEND_AUTO (0), TANDEM_BACKEND_CPU (1) or \
                 TANDEM_BACKEND_GPU (2)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::TANDEM_ERR_INVALID_ARGUMENT;
    use std::ptr;

    /// `message_slices` with the argument names of `tandem_ed25519_verify_batch`.
    ///
    /// # Safety
    ///
    /// As for `message_slices`.
    unsafe fn messages<'a>(
        ptrs: *const *const u8,
        lens: *const usize,
        n: usize,
    ) -> Result<Vec<&'a [u8]>, FfiError> {
        // SAFETY: forwarded to the caller.
        unsafe { message_slices(ptrs, lens, n, "messages", "message_lens", "n") }
    }

    fn message(result: Result<impl std::fmt::Debug, FfiError>) -> String {
        let e = result.expect_err("the helper rejects this argument");
        assert_eq!(e.code, TANDEM_ERR_INVALID_ARGUMENT);
        e.message
    }

    #[test]
    fn input_slice_borrows_the_elements() {
        let data = [1_u64, 2, 3];
        // SAFETY: data holds 3 u64s and outlives the slice.
        let slice = unsafe { input_slice(data.as_ptr(), 3, "lamports", "n") };
        assert_eq!(slice, Ok(&data[..]));
    }

    #[test]
    fn input_slice_of_fixed_size_records() {
        let signatures = [7_u8; 128];
        // SAFETY: 128 bytes are 2 records of 64 bytes, alive for the slice's lifetime.
        let slice = unsafe { input_slice(signatures.as_ptr().cast::<[u8; 64]>(), 2, "sigs", "n") };
        let slice = slice.expect("valid records");
        assert_eq!(slice.len(), 2);
        assert_eq!(slice[1], [7_u8; 64]);
    }

    #[test]
    fn input_slice_accepts_null_only_when_empty() {
        // SAFETY: NULL with len 0 is never dereferenced.
        let empty = unsafe { input_slice(ptr::null::<u8>(), 0, "signatures", "n") };
        assert_eq!(empty, Ok(&[][..]));
        // SAFETY: NULL with len 3 is rejected before any dereference.
        let null = unsafe { input_slice(ptr::null::<[u8; 64]>(), 3, "signatures", "n") };
        assert_eq!(message(null), "signatures is NULL but n = 3");
    }

    #[test]
    fn input_slice_rejects_oversized_lengths() {
        let byte = 0_u8;
        // SAFETY: rejected before any dereference (the byte size overflows isize).
        let too_long = unsafe { input_slice(&byte, usize::MAX, "data", "data_len") };
        assert_eq!(
            message(too_long),
            format!(
                "data_len = {} is too large: data would span more than isize::MAX bytes",
                usize::MAX
            )
        );
        let record = [0_u8; 64];
        // SAFETY: rejected before any dereference (n * 64 overflows usize).
        let overflow = unsafe {
            input_slice(
                record.as_ptr().cast::<[u8; 64]>(),
                usize::MAX / 32,
                "sigs",
                "n",
            )
        };
        assert!(message(overflow).contains("is too large"));
    }

    #[test]
    fn input_slice_rejects_misaligned_pointers() {
        let words = [0_u64; 2];
        let misaligned = words.as_ptr().cast::<u8>().wrapping_add(1).cast::<u64>();
        // SAFETY: rejected before any dereference (misaligned).
        let result = unsafe { input_slice(misaligned, 1, "lamports", "n") };
        assert_eq!(message(result), "lamports is not aligned to 8 bytes");
    }

    #[test]
    fn output_slice_writes_through() {
        let mut out = [0_u8; 4];
        // SAFETY: out holds 4 bytes, used only through the slice while it lives.
        let slice = unsafe { output_slice(out.as_mut_ptr(), 4, "out", "n") }.expect("valid");
        slice.copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(out, [1, 2, 3, 4]);
    }

    #[test]
    fn output_slice_accepts_null_only_when_empty() {
        // SAFETY: NULL with len 0 is never dereferenced.
        let empty = unsafe { output_slice(ptr::null_mut::<u8>(), 0, "results", "n") };
        assert_eq!(empty.map(|s| s.len()), Ok(0));
        // SAFETY: NULL with len 5 is rejected before any dereference.
        let null = unsafe { output_slice(ptr::null_mut::<u8>(), 5, "results", "n") };
        assert_eq!(message(null), "results is NULL but n = 5");
    }

    #[test]
    fn output_slice_rejects_oversized_and_misaligned() {
        let mut byte = 0_u8;
        // SAFETY: rejected before any dereference (too large).
        let too_long = unsafe { output_slice(&mut byte, usize::MAX, "out", "n") };
        assert!(message(too_long).starts_with("n = "));
        let mut words = [0_u64; 2];
        let misaligned = words
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(1)
            .cast::<u64>();
        // SAFETY: rejected before any dereference (misaligned).
        let result = unsafe { output_slice(misaligned, 1, "sums", "n") };
        assert_eq!(message(result), "sums is not aligned to 8 bytes");
    }

    #[test]
    fn message_slices_borrows_each_message() {
        let (a, b) = (b"hello".as_slice(), b"".as_slice());
        let ptrs = [a.as_ptr(), ptr::null()];
        let lens = [a.len(), b.len()];
        // SAFETY: both arrays hold 2 elements; ptrs[0] points to 5 bytes, ptrs[1] is NULL with 0.
        let borrowed = unsafe { messages(ptrs.as_ptr(), lens.as_ptr(), 2) };
        assert_eq!(borrowed, Ok(vec![a, b]));
    }

    #[test]
    fn message_slices_accepts_null_arrays_only_when_empty() {
        // SAFETY: n = 0, nothing is dereferenced.
        let empty = unsafe { messages(ptr::null(), ptr::null(), 0) };
        assert_eq!(empty, Ok(vec![]));
        let lens = [1_usize, 2];
        // SAFETY: the NULL ptrs array is rejected before any dereference.
        let null_ptrs = unsafe { messages(ptr::null(), lens.as_ptr(), 2) };
        assert_eq!(message(null_ptrs), "messages is NULL but n = 2");
        let data = [0_u8; 2];
        let ptrs = [data.as_ptr(), data.as_ptr()];
        // SAFETY: the NULL lens array is rejected before any dereference.
        let null_lens = unsafe { messages(ptrs.as_ptr(), ptr::null(), 2) };
        assert_eq!(message(null_lens), "message_lens is NULL but n = 2");
    }

    #[test]
    fn message_slices_names_the_null_element() {
        let data = [0_u8; 8];
        let ptrs = [data.as_ptr(), data.as_ptr(), ptr::null()];
        let lens = [8_usize, 0, 5];
        // SAFETY: 3 elements each; messages[2] is NULL and rejected before any dereference.
        let result = unsafe { messages(ptrs.as_ptr(), lens.as_ptr(), 3) };
        assert_eq!(
            message(result),
            "messages[2] is NULL but message_lens[2] = 5"
        );
    }

    #[test]
    fn message_slices_rejects_an_oversized_element() {
        let data = [0_u8; 8];
        let ptrs = [data.as_ptr()];
        let lens = [usize::MAX];
        // SAFETY: the oversized length is rejected before any dereference.
        let result =
            unsafe { message_slices(ptrs.as_ptr(), lens.as_ptr(), 1, "inputs", "input_lens", "n") };
        assert_eq!(
            message(result),
            format!(
                "input_lens[0] = {} is too large: inputs[0] would span more than isize::MAX bytes",
                usize::MAX
            )
        );
    }

    #[test]
    fn backend_from_raw_accepts_the_three_selectors() {
        assert_eq!(Backend::from_raw(0), Ok(Backend::Auto));
        assert_eq!(Backend::from_raw(1), Ok(Backend::Cpu));
        assert_eq!(Backend::from_raw(2), Ok(Backend::Gpu));
        assert_eq!(
            message(Backend::from_raw(3)),
            "backend = 3 is not TANDEM_BACKEND_AUTO (0), TANDEM_BACKEND_CPU (1) or \
             TANDEM_BACKEND_GPU (2)"
        );
    }
}
