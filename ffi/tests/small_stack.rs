//! A host thread with a small stack opens and closes an engine: `tandem_engine_open` took
//! about 112 KiB of its caller's stack, and a C host's thread of 96 KiB faulted in it without a
//! word (a black-box test under the OS's limits, stop 73; a musl thread has 128 KiB). Open and
//! close run on a thread of their own now. So do the kernel exports where the caller's stack is
//! short: the batch verify took about 80 KiB on its first call, 48 KiB after, the LtHash
//! accumulation 20 KiB (a black-box test of embedding hosts, stop 74). A separate test binary
//! (process): without that, the overflow aborts the process.

mod common;

use common::{describe, open_default_engine};
use tandem::Backend;
use tandem::engine::tandem_engine_close;
use tandem::hash::tandem_lthash_accumulate;
use tandem::sigverify::tandem_ed25519_verify_batch;

#[test]
fn a_host_thread_of_64_kib_opens_and_closes_an_engine() {
    let host = std::thread::Builder::new().stack_size(64 << 10);
    let opened = host
        .spawn(|| {
            let (_dir, engine) = open_default_engine(Backend::Cpu);
            assert!(describe(engine).contains("backend: cpu"));
            // SAFETY: an open engine, used by no other thread.
            unsafe { tandem_engine_close(engine) };
        })
        .expect("a thread of 64 KiB");
    opened.join().expect("opened and closed");
}

#[test]
fn a_host_thread_of_32_kib_verifies_a_batch_and_accumulates_an_lthash() {
    let host = std::thread::Builder::new().stack_size(32 << 10);
    let done = host
        .spawn(|| {
            let (signature, public_key) = ([0_u8; 64], [0_u8; 32]);
            let message = b"m";
            let (messages, lens) = ([message.as_ptr()], [message.len()]);
            let mut result = [7_u8];
            // SAFETY: one element in each array, one result byte.
            let verified = unsafe {
                tandem_ed25519_verify_batch(
                    Backend::Cpu as u32,
                    1,
                    signature.as_ptr(),
                    public_key.as_ptr(),
                    messages.as_ptr(),
                    lens.as_ptr(),
                    result.as_mut_ptr(),
                )
            };
            assert_eq!(
                (verified, result),
                (0, [0]),
                "a zero signature does not verify"
            );
            let (pubkey, owner, lamports, executable) = ([1_u8; 32], [2_u8; 32], [5_u64], [0_u8]);
            let data = b"d";
            let (datas, data_lens) = ([data.as_ptr()], [data.len()]);
            let mut sum = [0_u8; 2048];
            // SAFETY: one account in each array; a sum of 2,048 bytes, apart from them.
            let accumulated = unsafe {
                tandem_lthash_accumulate(
                    Backend::Cpu as u32,
                    1,
                    pubkey.as_ptr(),
                    owner.as_ptr(),
                    lamports.as_ptr(),
                    executable.as_ptr(),
                    datas.as_ptr(),
                    data_lens.as_ptr(),
                    sum.as_mut_ptr(),
                )
            };
            assert_eq!(accumulated, 0);
            assert!(sum.iter().any(|&b| b != 0), "the account's hash added");
        })
        .expect("a thread of 32 KiB");
    done.join().expect("verified and accumulated");
}
