//! The blake3 suite: [`names::BLAKE3`], BLAKE3 of many 128-byte messages by thread count — each
//! thread hashing 4,096 messages of its own per call with `blake3_many` on the widest CPU
//! platform (`Platform::detect`), the criterion bench's input (`benches/hash.rs`).

use tandem_kernels::Platform;
use tandem_kernels::hash::blake3_many;

use super::{Context, Figure, by_threads, timed};
use crate::fixtures::messages;
use crate::profile::names;

/// The suite's figures.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let n = ctx.sizes().hash_items;
    let platform = Platform::detect();
    let what = format!(
        "BLAKE3 of {n} messages of 128 bytes per call (tandem_kernels::hash::blake3_many on {platform})"
    );
    by_threads(
        ctx,
        "blake3: 128-byte messages",
        (names::BLAKE3, "messages/s"),
        what,
        move |_| {
            let owned = messages(n, 128);
            let mut out = vec![[0u8; 32]; n];
            move || {
                let inputs: Vec<&[u8]> = owned.iter().map(Vec::as_slice).collect();
                Ok(timed(n, || blake3_many(platform, &inputs, &mut out)))
            }
        },
    )
}
