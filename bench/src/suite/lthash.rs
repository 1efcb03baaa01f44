//! The lthash suite: [`names::LTHASH`], account LtHashes (SPEC §4, §7) by thread count — each
//! thread adding 4,096 accounts of its own (200 bytes of data each) into a sum per call with
//! `lthash_accumulate` on the widest CPU platform, the criterion bench's input
//! (`benches/hash.rs`): what the runtime does for a slot's changed accounts.

use tandem_kernels::hash::lthash::lthash_accumulate;
use tandem_kernels::{LtHash, Platform};

use super::{Context, Figure, by_threads, timed};
use crate::fixtures::{account_inputs, hash_accounts};
use crate::profile::names;

/// The suite's figures.
pub(crate) fn figures<'a>(ctx: &'a Context<'a>) -> Vec<Figure<'a>> {
    let n = ctx.sizes().hash_items;
    let platform = Platform::detect();
    let what = format!(
        "the LtHashes of {n} accounts of 200 bytes of data added into one sum per call (tandem_kernels::hash::lthash::lthash_accumulate on {platform})"
    );
    by_threads(
        ctx,
        "lthash: 200-byte accounts",
        (names::LTHASH, "accounts/s"),
        what,
        move |_| {
            let accounts = hash_accounts(n);
            let mut sum = LtHash::identity();
            move || {
                let inputs = account_inputs(&accounts);
                Ok(timed(n, || lthash_accumulate(platform, &inputs, &mut sum)))
            }
        },
    )
}
