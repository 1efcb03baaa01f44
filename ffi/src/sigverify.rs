//! Signature verification through the C ABI (SPEC §8): argument checks over
//! `tandem_kernels::ed25519_verify_batch`.

use crate::args::{Input, input_slice, message_slices, output_slice_apart};
use crate::hash::kernel_backend;
use crate::stack::kernel_boundary;

/// Verifies `n` ed25519 signatures exactly as ed25519-dalek's `verify_strict` does (SPEC §2).
///
/// Signature `i` is `signatures + 64 * i` (R then S), by the public key `public_keys + 32 * i`,
/// over `messages[i]` of `message_lens[i]` bytes (NULL allowed when that length is 0).
/// `results[i]` receives 1 when the signature is valid and 0 when it is not; an invalid signature
/// is a result, not an error. Recurring signers are served from a process-wide cache.
/// `TANDEM_BACKEND_GPU` where no GPU adapter exists, or where the device failed while in use,
/// returns `TANDEM_ERR_BACKEND_UNAVAILABLE`.
/// `results` must not overlap the inputs (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
/// Where the calling thread has less than 512 KiB of stack left (a small host thread: the
/// verify takes about 80 KiB), the work runs on a thread of libtandem's own, the caller
/// waiting (on Linux, where one can start).
///
/// # Safety
/// The pointers must be valid for the lengths given (NULL is checked, not dereferenced).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_ed25519_verify_batch(
    backend: u32,
    n: usize,
    signatures: *const u8,
    public_keys: *const u8,
    messages: *const *const u8,
    message_lens: *const usize,
    results: *mut u8,
) -> i32 {
    let body = || {
        let backend = kernel_backend(backend)?;
        let message_ptrs = messages;
        // SAFETY (all four): the caller passes n elements of each array, results apart from them.
        let signatures =
            unsafe { input_slice(signatures.cast::<[u8; 64]>(), n, "signatures", "n") }?;
        let public_keys =
            unsafe { input_slice(public_keys.cast::<[u8; 32]>(), n, "public_keys", "n") }?;
        let messages =
            unsafe { message_slices(messages, message_lens, n, "messages", "message_lens", "n") }?;
        let inputs = [
            Input::array("signatures", signatures),
            Input::array("public_keys", public_keys),
            Input::Each("messages", &messages),
            Input::c_array("messages", message_ptrs, n),
            Input::c_array("message_lens", message_lens, n),
        ];
        let results = unsafe { output_slice_apart(results, n, "results", "n", &inputs) }?;
        crate::hash::written_whole_or_not_at_all(backend, results, |results| {
            tandem_kernels::ed25519_verify_batch(
                backend,
                signatures,
                public_keys,
                &messages,
                results,
            )
        })
    };
    // SAFETY: the body reads the host's arrays and writes its results, holding nothing of
    // the calling thread's (`with_stack_room`).
    unsafe { kernel_boundary("tandem_ed25519_verify_batch", body) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::last_error_message;
    use crate::status::{Backend, TANDEM_ERR_INVALID_ARGUMENT};
    use std::ptr;

    /// `tandem_ed25519_verify_batch` on the CPU over as many messages as `message_lens` holds.
    ///
    /// # Safety
    /// As for the export: the arrays hold that many elements, `results` as many writable bytes.
    unsafe fn verify_on_the_cpu(
        signatures: &[u8],
        public_keys: &[u8],
        messages: &[*const u8],
        message_lens: &[usize],
        results: *mut u8,
    ) -> i32 {
        // SAFETY: the caller's promises.
        unsafe {
            tandem_ed25519_verify_batch(
                Backend::Cpu as u32,
                message_lens.len(),
                signatures.as_ptr(),
                public_keys.as_ptr(),
                messages.as_ptr(),
                message_lens.as_ptr(),
                results,
            )
        }
    }

    /// A NULL message with a length at index 3: the error names that element of both arrays,
    /// exactly as C callers have read it so far.
    #[test]
    fn verify_batch_names_the_bad_element() {
        let (signatures, public_keys) = ([0_u8; 4 * 64], [0_u8; 4 * 32]);
        let msg = [1_u8; 8];
        let messages = [msg.as_ptr(), msg.as_ptr(), msg.as_ptr(), ptr::null()];
        let message_lens = [8_usize, 8, 8, 8];
        let mut results = [9_u8; 4];
        // SAFETY: every array holds 4 elements; messages[3] is NULL with length 8, rejected
        // before any read.
        let status = unsafe {
            verify_on_the_cpu(
                &signatures,
                &public_keys,
                &messages,
                &message_lens,
                results.as_mut_ptr(),
            )
        };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_ed25519_verify_batch: messages[3] is NULL but message_lens[3] = 8"
        );
        assert_eq!(results, [9_u8; 4], "a failed call writes nothing");
    }

    #[test]
    fn results_over_the_signatures_are_refused() {
        let mut signatures = [0_u8; 2 * 64];
        let public_keys = [0_u8; 2 * 32];
        let messages = [ptr::null(), ptr::null()];
        let message_lens = [0_usize, 0];
        // SAFETY: two of each; results lie over the signatures, refused before any write.
        let results = signatures.as_mut_ptr().wrapping_add(64);
        let status = unsafe {
            verify_on_the_cpu(&signatures, &public_keys, &messages, &message_lens, results)
        };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_ed25519_verify_batch: results overlaps signatures"
        );
    }
}
