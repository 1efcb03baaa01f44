//! A host thread with a small stack opens and closes an engine: `tandem_engine_open` took
//! about 112 KiB of its caller's stack, and a C host's thread of 96 KiB faulted in it without a
//! word (a black-box test under the OS's limits, stop 73; a musl thread has 128 KiB). Open and
//! close run on a thread of their own now. A separate test binary (process): without that, the
//! overflow aborts the process.

mod common;

use common::{describe, open_default_engine};
use tandem::Backend;
use tandem::engine::tandem_engine_close;

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
