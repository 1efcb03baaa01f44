//! The hashing kernels through the C ABI (SPEC §8): argument checks and conversions over
//! `tandem_kernels`, nothing else.

use tandem_kernels::gpu::GpuError;
use tandem_kernels::{AccountInput, KernelError, LtHash, auto_gpu_min_items};

use crate::args::{Input, check_output, input_slice, message_slices, output_slice_apart};
use crate::error::FfiError;
use crate::stack::kernel_boundary;
use crate::status::Backend;

impl From<KernelError> for FfiError {
    fn from(e: KernelError) -> Self {
        Self::from(&e)
    }
}

impl From<&KernelError> for FfiError {
    fn from(e: &KernelError) -> Self {
        match e {
            // Every way of not having a GPU that works, the device failing mid-call included.
            KernelError::Gpu(
                GpuError::NoAdapter(_)
                | GpuError::Device(_)
                | GpuError::WrongAnswers(_)
                | GpuError::Failed(_),
            ) => FfiError::backend_unavailable(e.to_string()),
        }
    }
}

/// Accounts per kernel call when `tandem_lthash_accounts` runs on the CPU: the staged LtHashes
/// (64 KiB) stay in the L1/L2 cache between the kernel writing them and the copy into the caller's
/// buffer, and stay below glibc's 128 KiB threshold for serving an allocation by `mmap` (whose
/// fresh pages would fault on every call).
const STAGED_ACCOUNTS: usize = 32;

/// Converts the `uint32_t backend` argument into the kernels' backend.
pub(crate) fn kernel_backend(raw: u32) -> Result<tandem_kernels::Backend, FfiError> {
    Ok(match Backend::from_raw(raw)? {
        Backend::Auto => tandem_kernels::Backend::Auto,
        Backend::Cpu => tandem_kernels::Backend::Cpu,
        Backend::Gpu => tandem_kernels::Backend::Gpu,
    })
}

/// Hashes `n` independent messages with BLAKE3.
///
/// `inputs[i]` points to `input_lens[i]` bytes (it may be NULL when that length is 0); `out`
/// receives `n * 32` bytes, hash `i` at `out + 32 * i`. `backend` is a `TANDEM_BACKEND_*` value:
/// `TANDEM_BACKEND_GPU` where no GPU adapter exists, or where the device failed while in use,
/// returns `TANDEM_ERR_BACKEND_UNAVAILABLE`.
/// `out` must not overlap the inputs (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
/// Where the calling thread has less than 512 KiB of stack left (a small host thread), the
/// work runs on a thread of libtandem's own, the caller waiting (on Linux, where one can start).
///
/// # Safety
/// The pointers must be valid for the lengths given (NULL is checked, not dereferenced).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_blake3_many(
    backend: u32,
    n: usize,
    inputs: *const *const u8,
    input_lens: *const usize,
    out: *mut u8,
) -> i32 {
    let body = || {
        let backend = kernel_backend(backend)?;
        check_output(out.cast::<[u8; 32]>(), n, "out", "n")?;
        let inputs_ptrs = inputs;
        // SAFETY: the caller passes n pointers and n lengths describing readable bytes.
        let inputs = unsafe { message_slices(inputs, input_lens, n, "inputs", "input_lens", "n") }?;
        // SAFETY: the caller passes n * 32 writable bytes at out (apart from the inputs: checked).
        let apart = [
            Input::Each("inputs", &inputs),
            Input::c_array("inputs", inputs_ptrs, n),
            Input::c_array("input_lens", input_lens, n),
        ];
        let out = unsafe { output_slice_apart(out.cast::<[u8; 32]>(), n, "out", "n", &apart) }?;
        written_whole_or_not_at_all(backend, out, |out| {
            tandem_kernels::blake3_many(backend, &inputs, out)
        })
    };
    // SAFETY: the body reads the host's arrays and writes its results, holding nothing of
    // the calling thread's (`with_stack_room`).
    unsafe { kernel_boundary("tandem_blake3_many", body) }
}

/// Runs `kernel` into `out`, through a staging buffer on the `gpu` backend: the device's
/// kernels write their output in parts (zeros first, the long messages hashed on the CPU, one
/// batch after another), and one that fails part way (the device lost) answers
/// `TANDEM_ERR_BACKEND_UNAVAILABLE` with the caller's buffer as it was — a failed call writes
/// nothing. Elsewhere no kernel fails once its arguments are checked (`auto` finishes a failed
/// device's batch on the CPU, whole), and `out` is written directly.
pub(crate) fn written_whole_or_not_at_all<T: Copy + Default, E>(
    backend: tandem_kernels::Backend,
    out: &mut [T],
    kernel: impl FnOnce(&mut [T]) -> Result<(), E>,
) -> Result<(), FfiError>
where
    FfiError: From<E>,
{
    if backend != tandem_kernels::Backend::Gpu {
        return Ok(kernel(out)?);
    }
    let mut staged = vec![T::default(); out.len()];
    kernel(&mut staged)?;
    out.copy_from_slice(&staged);
    Ok(())
}

/// The account arrays shared by the LtHash exports, as the caller passed them.
struct AccountArrays {
    n: usize,
    pubkeys: *const u8,
    owners: *const u8,
    lamports: *const u64,
    executable: *const u8,
    data: *const *const u8,
    data_lens: *const usize,
}

impl AccountArrays {
    /// Borrows the accounts.
    ///
    /// # Safety
    /// As for the exports: each array holds `n` elements (or is NULL with `n` = 0).
    unsafe fn accounts<'a>(&self) -> Result<Vec<AccountInput<'a>>, FfiError> {
        let n = self.n;
        // SAFETY (all four): the caller passes n elements of each array.
        let pubkeys = unsafe { input_slice(self.pubkeys.cast::<[u8; 32]>(), n, "pubkeys", "n") }?;
        let owners = unsafe { input_slice(self.owners.cast::<[u8; 32]>(), n, "owners", "n") }?;
        let lamports = unsafe { input_slice(self.lamports, n, "lamports", "n") }?;
        let executable = unsafe { input_slice(self.executable, n, "executable", "n") }?;
        // SAFETY: the caller passes n data pointers and lengths describing readable bytes.
        let data =
            unsafe { message_slices(self.data, self.data_lens, n, "data", "data_lens", "n") }?;
        // Reserved fallibly, as the data's list is: an allocation that fails aborts.
        let mut accounts = Vec::new();
        accounts.try_reserve_exact(n).map_err(|_| {
            FfiError::invalid_argument(format!(
                "n = {n} is too large: the list of accounts cannot be held in memory"
            ))
        })?;
        let listed = (0..n).map(|i| {
            let executable = match executable[i] {
                0 => false,
                1 => true,
                other => {
                    return Err(FfiError::invalid_argument(format!(
                        "executable[{i}] = {other}, must be 0 or 1"
                    )));
                }
            };
            Ok(AccountInput {
                pubkey: &pubkeys[i],
                owner: &owners[i],
                lamports: lamports[i],
                executable,
                data: data[i],
            })
        });
        for account in listed {
            accounts.push(account?);
        }
        Ok(accounts)
    }

    /// The arrays and each account's data (`slices`), as inputs an output must not overlap.
    fn apart<'s>(&self, slices: &'s [&'s [u8]]) -> [Input<'s>; 7] {
        let n = self.n;
        [
            Input::Each("data", slices),
            Input::c_array("pubkeys", self.pubkeys.cast::<[u8; 32]>(), n),
            Input::c_array("owners", self.owners.cast::<[u8; 32]>(), n),
            Input::c_array("lamports", self.lamports, n),
            Input::c_array("executable", self.executable, n),
            Input::c_array("data", self.data, n),
            Input::c_array("data_lens", self.data_lens, n),
        ]
    }
}

/// Computes each of `n` accounts' own LtHash (SPEC §4).
///
/// Account `i` is `pubkeys + 32 * i`, `owners + 32 * i`, `lamports[i]`, `executable[i]` (0 or 1)
/// and `data[i]` of `data_lens[i]` bytes; `out + 2048 * i` receives its 2,048-byte LtHash (1,024
/// little-endian u16; all zeros when `lamports[i]` is 0). `out` must not overlap
/// the inputs (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
/// Where the calling thread has less than 512 KiB of stack left (a small host thread), the
/// work runs on a thread of libtandem's own, the caller waiting (on Linux, where one can start).
///
/// # Safety
/// The pointers must be valid for the lengths given (NULL is checked, not dereferenced).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_lthash_accounts(
    backend: u32,
    n: usize,
    pubkeys: *const u8,
    owners: *const u8,
    lamports: *const u64,
    executable: *const u8,
    data: *const *const u8,
    data_lens: *const usize,
    out: *mut u8,
) -> i32 {
    let body = || {
        let backend = kernel_backend(backend)?;
        let arrays = AccountArrays {
            n,
            pubkeys,
            owners,
            lamports,
            executable,
            data,
            data_lens,
        };
        check_output(out.cast::<[u8; LtHash::BYTES]>(), n, "out", "n")?;
        // SAFETY: forwarded from the caller's promise on every array.
        let accounts = unsafe { arrays.accounts() }?;
        // (As many as the accounts, whose list was had: a third of its size.)
        let slices: Vec<&[u8]> = accounts.iter().map(|a| a.data).collect();
        let apart = arrays.apart(&slices);
        // SAFETY: the caller passes n * 2048 writable bytes at out (apart from the inputs:
        // checked).
        let out = unsafe {
            output_slice_apart(out.cast::<[u8; LtHash::BYTES]>(), n, "out", "n", &apart)
        }?;
        // No account: the kernel answers (on the `gpu` backend without a device, an error, as
        // for every other export), not the chunks below, of which there are none.
        if accounts.is_empty() {
            return Ok(tandem_kernels::lthash_accounts(backend, &[], &mut [])?);
        }
        // `LtHash` is `repr(transparent)` over 1,024 u16: on a little-endian machine, where the
        // caller's buffer is 2-byte aligned (malloc'd buffers are), it *is* the C layout and the
        // kernels write into it directly.
        // (Not on the `gpu` backend: the device's kernels write the output in parts, and one
        // that fails part way — the device lost — must leave the caller's buffer as it was.)
        #[cfg(target_endian = "little")]
        if backend != tandem_kernels::Backend::Gpu
            && let Ok(elements) = bytemuck::try_cast_slice_mut(&mut *out)
        {
            let hashes = LtHash::slice_from_elements_mut(elements);
            return Ok(tandem_kernels::lthash_accounts(backend, &accounts, hashes)?);
        }
        // Otherwise the kernels write into a staging buffer that is copied out. On the CPU it
        // holds one chunk at a time and stays in cache (staging the whole batch made this export
        // 1.20x the Rust API's time on 1,024 accounts, chunks of 32 1.10-1.15x, chunks of 8 1.24x:
        // bench/benches/ffi.rs).
        // Chunking keeps the kernels' choice of backend: a chunk is smaller than the batch, so
        // where the batch is below auto_gpu_min_items(), `Auto` picks the CPU for every chunk as it
        // would for the batch; the GPU gets the whole batch in one dispatch.
        let chunk = match backend {
            tandem_kernels::Backend::Cpu => STAGED_ACCOUNTS,
            tandem_kernels::Backend::Auto if n < auto_gpu_min_items() => STAGED_ACCOUNTS,
            tandem_kernels::Backend::Auto | tandem_kernels::Backend::Gpu => n.max(1),
        };
        let mut stage = vec![LtHash::identity(); chunk.min(n)];
        for (accounts, out) in accounts.chunks(chunk).zip(out.chunks_mut(chunk)) {
            let stage = &mut stage[..accounts.len()];
            tandem_kernels::lthash_accounts(backend, accounts, stage)?;
            for (bytes, hash) in out.iter_mut().zip(stage.iter()) {
                // Straight into the caller's buffer, not through the 2 KiB array that
                // `LtHash::to_bytes` returns (the compiler turns this loop into a vector copy).
                for (pair, element) in bytes.chunks_exact_mut(2).zip(&hash.0) {
                    pair.copy_from_slice(&element.to_le_bytes());
                }
            }
        }
        Ok(())
    };
    // SAFETY: the body reads the host's arrays and writes its results, holding nothing of
    // the calling thread's (`with_stack_room`).
    unsafe { kernel_boundary("tandem_lthash_accounts", body) }
}

/// Adds the LtHash of each of `n` accounts (the same arrays as `tandem_lthash_accounts`) to the
/// 2,048-byte sum at `sum_inout`, with wrapping u16 addition. `sum_inout` must not overlap the
/// inputs (`TANDEM_ERR_INVALID_ARGUMENT` where it does).
/// Where the calling thread has less than 512 KiB of stack left (a small host thread), the
/// work runs on a thread of libtandem's own, the caller waiting (on Linux, where one can start).
///
/// # Safety
/// The pointers must be valid for the lengths given (NULL is checked, not dereferenced).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tandem_lthash_accumulate(
    backend: u32,
    n: usize,
    pubkeys: *const u8,
    owners: *const u8,
    lamports: *const u64,
    executable: *const u8,
    data: *const *const u8,
    data_lens: *const usize,
    sum_inout: *mut u8,
) -> i32 {
    let body = || {
        let backend = kernel_backend(backend)?;
        let arrays = AccountArrays {
            n,
            pubkeys,
            owners,
            lamports,
            executable,
            data,
            data_lens,
        };
        // SAFETY: forwarded from the caller's promise on every array.
        let accounts = unsafe { arrays.accounts() }?;
        // (As many as the accounts, whose list was had: a third of its size.)
        let slices: Vec<&[u8]> = accounts.iter().map(|a| a.data).collect();
        let apart = arrays.apart(&slices);
        // One sum, no length to name ("sum_inout is NULL but its length (2048) = 1", before).
        if sum_inout.is_null() {
            return Err(FfiError::invalid_argument("sum_inout is NULL"));
        }
        // SAFETY: the caller passes 2048 readable and writable bytes at sum_inout (apart from
        // the inputs: checked).
        let sum_bytes = unsafe {
            output_slice_apart(
                sum_inout.cast::<[u8; LtHash::BYTES]>(),
                1,
                "sum_inout",
                "its length (2048)",
                &apart,
            )
        }?;
        let mut sum = LtHash::from_bytes(&sum_bytes[0]);
        tandem_kernels::lthash_accumulate(backend, &accounts, &mut sum)?;
        sum_bytes[0] = sum.to_bytes();
        Ok(())
    };
    // SAFETY: the body reads the host's arrays and writes its results, holding nothing of
    // the calling thread's (`with_stack_room`).
    unsafe { kernel_boundary("tandem_lthash_accumulate", body) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::last_error_message;
    use crate::status::{TANDEM_ERR_INVALID_ARGUMENT, TANDEM_OK};
    use std::ptr;

    const CPU: u32 = Backend::Cpu as u32;

    /// A kernel of the `gpu` backend that fails part way — its device lost after it wrote a
    /// part (zeros, the long messages hashed on the CPU, a first batch) — leaves the caller's
    /// output as it was; elsewhere the output is written in place (no kernel fails there once
    /// its arguments are checked). Found in review: the exports handed the caller's buffer to
    /// the kernels.
    #[test]
    fn a_gpu_kernel_failing_part_way_writes_nothing() {
        use tandem_kernels::Backend as Kernels;
        let half_then_fail = |out: &mut [u8]| {
            out[..2].fill(0);
            Err(KernelError::Gpu(tandem_kernels::gpu::GpuError::Failed(
                "the device was lost".into(),
            )))
        };
        let mut out = [0xaau8; 4];
        let failed = written_whole_or_not_at_all(Kernels::Gpu, &mut out, half_then_fail);
        assert!(failed.is_err());
        assert_eq!(out, [0xaa; 4], "nothing written");
        let mut out = [0xaau8; 4];
        let written = written_whole_or_not_at_all(Kernels::Cpu, &mut out, |out| {
            out.fill(1);
            Ok::<(), KernelError>(())
        });
        assert!(written.is_ok());
        assert_eq!(out, [1; 4]);
        let mut out = [0xaau8; 4];
        let staged = written_whole_or_not_at_all(Kernels::Gpu, &mut out, |out| {
            out.fill(2);
            Ok::<(), KernelError>(())
        });
        assert!(staged.is_ok());
        assert_eq!(out, [2; 4], "copied out whole");
    }

    /// An `n` whose output no process can hold (past `isize::MAX` bytes, or `n * 2048`
    /// wrapping), or whose inputs' list cannot be had: the export listed its inputs first, and
    /// panicked ("capacity overflow", TANDEM_ERR_INTERNAL) or aborted the process where that
    /// allocation failed. Refused, naming `n`, before anything is read.
    #[test]
    fn an_n_past_what_memory_holds_is_refused_not_an_abort() {
        let (buf, lens) = ([0_u8; 8], [1_usize]);
        let inputs = [buf.as_ptr()];
        let mut out = [0_u8; 4096];
        let (pubkey, owner, lamports, executable) = ([1_u8; 32], [2_u8; 32], [1_u64], [0_u8]);
        for n in [usize::MAX / 16, 1 << 58, (1 << 57) + 3] {
            // SAFETY: refused before the arrays are read (they hold 1 element, not n).
            let status = unsafe {
                tandem_blake3_many(CPU, n, inputs.as_ptr(), lens.as_ptr(), out.as_mut_ptr())
            };
            assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT, "n = {n}");
            let message = last_error_message();
            assert!(
                message.starts_with(&format!("tandem_blake3_many: n = {n} is too large")),
                "{message}"
            );
        }
        for n in [1 << 52, (1 << 53) + 1, 1 << 50] {
            // SAFETY: as above.
            let status = unsafe {
                tandem_lthash_accounts(
                    CPU,
                    n,
                    pubkey.as_ptr(),
                    owner.as_ptr(),
                    lamports.as_ptr(),
                    executable.as_ptr(),
                    inputs.as_ptr(),
                    lens.as_ptr(),
                    out.as_mut_ptr(),
                )
            };
            assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT, "n = {n}");
            let message = last_error_message();
            assert!(
                message.starts_with(&format!("tandem_lthash_accounts: n = {n} is too large")),
                "{message}"
            );
        }
        assert!(out.iter().all(|&b| b == 0), "nothing written");
    }

    /// An output over an input: the kernels would read what they had begun to write, each CPU
    /// path in its own order (the lanes zero the output first), so the answer depended on the
    /// machine. Refused, naming both, with nothing written.
    #[test]
    fn an_output_over_an_input_is_refused_naming_both() {
        let mut buffer = vec![0x5a_u8; 4096];
        let (pubkey, owner, lamports, executable) = ([1_u8; 32], [2_u8; 32], 7_u64, 0_u8);
        let data = [buffer[100..].as_ptr()];
        let data_lens = [100_usize];
        type AccountsExport = unsafe extern "C" fn(
            u32,
            usize,
            *const u8,
            *const u8,
            *const u64,
            *const u8,
            *const *const u8,
            *const usize,
            *mut u8,
        ) -> i32;
        let exports: [(AccountsExport, &str); 2] = [
            (
                tandem_lthash_accounts,
                "tandem_lthash_accounts: out overlaps data[0]",
            ),
            (
                tandem_lthash_accumulate,
                "tandem_lthash_accumulate: sum_inout overlaps data[0]",
            ),
        ];
        for (export, refused) in exports {
            // SAFETY: one account; data[0] lies inside the output, which the check refuses
            // before any write.
            let status = unsafe {
                export(
                    CPU,
                    1,
                    pubkey.as_ptr(),
                    owner.as_ptr(),
                    &lamports,
                    &executable,
                    data.as_ptr(),
                    data_lens.as_ptr(),
                    buffer.as_mut_ptr(),
                )
            };
            assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
            assert_eq!(last_error_message(), refused);
            assert!(buffer.iter().all(|&b| b == 0x5a), "nothing written");
        }
        let inputs = [buffer[8..].as_ptr()];
        let lens = [40_usize];
        // SAFETY: one message inside out, refused before any write.
        let status = unsafe {
            tandem_blake3_many(CPU, 1, inputs.as_ptr(), lens.as_ptr(), buffer.as_mut_ptr())
        };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_blake3_many: out overlaps inputs[0]"
        );
        // Beside each other is not over each other.
        let (left, right) = buffer.split_at_mut(32);
        let inputs = [right.as_ptr()];
        // SAFETY: the message follows out's 32 bytes.
        let status = unsafe {
            tandem_blake3_many(CPU, 1, inputs.as_ptr(), lens.as_ptr(), left.as_mut_ptr())
        };
        assert_eq!(status, TANDEM_OK);
    }

    /// Four messages, the one at index 3 NULL with a length: the error must name that element
    /// of both arrays, exactly as C callers have read it so far.
    #[test]
    fn blake3_many_names_the_bad_element() {
        let data = [7_u8; 4];
        let inputs = [data.as_ptr(), data.as_ptr(), ptr::null(), ptr::null()];
        let mut out = [[0_u8; 32]; 4];
        let mut hash = |lens: [usize; 4]| {
            // SAFETY: 4 pointers and lengths, out holds 4 hashes; a NULL input with a length, or
            // a length too large, is rejected before any read.
            unsafe {
                tandem_blake3_many(
                    CPU,
                    4,
                    inputs.as_ptr(),
                    lens.as_ptr(),
                    out.as_mut_ptr().cast(),
                )
            }
        };
        assert_eq!(hash([4, 4, 0, 0]), TANDEM_OK);
        assert_eq!(hash([4, 4, 0, 4]), TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_blake3_many: inputs[3] is NULL but input_lens[3] = 4"
        );
        assert_eq!(hash([4, usize::MAX, 0, 0]), TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            format!(
                "tandem_blake3_many: input_lens[1] = {} is too large: inputs[1] would span more \
                 than isize::MAX bytes",
                usize::MAX
            )
        );
        // The failed calls wrote nothing: out[3] is still BLAKE3 of the empty input (the
        // official test vectors) from the first call.
        let hex: String = out[3].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
    }

    /// More accounts than one staging chunk, and not a multiple of it, into an aligned buffer
    /// (written in place) and a misaligned one (staged): every account, the last partial chunk
    /// included, lands where the kernels put it through the Rust API.
    #[test]
    fn lthash_accounts_writes_in_place_or_stages_every_chunk() {
        let n = 2 * STAGED_ACCOUNTS + 5;
        let keys: Vec<[u8; 32]> = (0..2 * n).map(|i| [i as u8; 32]).collect();
        let data: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8; i % 50]).collect();
        let lamports: Vec<u64> = (0..n as u64).map(|i| i % 3).collect(); // some zero
        let executable: Vec<u8> = (0..n).map(|i| u8::from(i % 2 == 0)).collect();
        let accounts: Vec<AccountInput<'_>> = (0..n)
            .map(|i| AccountInput {
                pubkey: &keys[i],
                owner: &keys[n + i],
                lamports: lamports[i],
                executable: executable[i] == 1,
                data: &data[i],
            })
            .collect();
        let mut expected = vec![LtHash::identity(); n];
        tandem_kernels::lthash_accounts(tandem_kernels::Backend::Cpu, &accounts, &mut expected)
            .expect("CPU backend");
        let expected: Vec<u8> = expected.iter().flat_map(LtHash::to_bytes).collect();
        let data_ptrs: Vec<*const u8> = data.iter().map(|d| d.as_ptr()).collect();
        let data_lens: Vec<usize> = data.iter().map(Vec::len).collect();
        for (backend, offset) in [(Backend::Cpu, 0), (Backend::Cpu, 1), (Backend::Auto, 1)] {
            // An allocation of u16 is 2-byte aligned; one byte in, it is not.
            let mut buffer = vec![0xAAAA_u16; n * LtHash::ELEMENTS + 1];
            let buffer: &mut [u8] = bytemuck::cast_slice_mut(&mut buffer);
            let out = &mut buffer[offset..offset + n * LtHash::BYTES];
            // SAFETY: every array holds n elements, each data pointer its length in bytes, and
            // out n LtHashes apart from the inputs.
            let status = unsafe {
                tandem_lthash_accounts(
                    backend as u32,
                    n,
                    keys.as_ptr().cast(),
                    keys[n..].as_ptr().cast(),
                    lamports.as_ptr(),
                    executable.as_ptr(),
                    data_ptrs.as_ptr(),
                    data_lens.as_ptr(),
                    out.as_mut_ptr(),
                )
            };
            assert_eq!(status, TANDEM_OK, "{}", last_error_message());
            assert!(
                *out == expected[..],
                "{backend:?}, offset {offset}: the C ABI differs from the Rust API"
            );
        }
    }

    /// The LtHash exports name the bad element of `data` and of `executable`.
    #[test]
    fn lthash_exports_name_the_bad_element() {
        let (pubkeys, owners) = ([1_u8; 4 * 32], [2_u8; 4 * 32]);
        let lamports = [1_u64; 4];
        let mut executable = [0_u8; 4];
        let bytes = [9_u8; 3];
        let data = [bytes.as_ptr(), bytes.as_ptr(), bytes.as_ptr(), ptr::null()];
        let data_lens = [3_usize, 3, 3, 2];
        let mut out = vec![0_u8; 4 * LtHash::BYTES];
        let mut sum = [0_u8; LtHash::BYTES];
        // SAFETY: every array holds 4 elements and out 4 LtHashes; data[3] is NULL with
        // length 2, rejected before any read.
        let status = unsafe {
            tandem_lthash_accounts(
                CPU,
                4,
                pubkeys.as_ptr(),
                owners.as_ptr(),
                lamports.as_ptr(),
                executable.as_ptr(),
                data.as_ptr(),
                data_lens.as_ptr(),
                out.as_mut_ptr(),
            )
        };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_lthash_accounts: data[3] is NULL but data_lens[3] = 2"
        );
        executable[3] = 7;
        let data_lens = [3_usize, 3, 3, 0];
        // SAFETY: as above, data[3] NULL with length 0 now; sum holds 2,048 bytes.
        let status = unsafe {
            tandem_lthash_accumulate(
                CPU,
                4,
                pubkeys.as_ptr(),
                owners.as_ptr(),
                lamports.as_ptr(),
                executable.as_ptr(),
                data.as_ptr(),
                data_lens.as_ptr(),
                sum.as_mut_ptr(),
            )
        };
        assert_eq!(status, TANDEM_ERR_INVALID_ARGUMENT);
        assert_eq!(
            last_error_message(),
            "tandem_lthash_accumulate: executable[3] = 7, must be 0 or 1"
        );
        assert_eq!(sum, [0_u8; LtHash::BYTES], "a failed call writes nothing");
    }
}
