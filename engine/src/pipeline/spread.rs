//! Work shared between the calling thread and helper threads pinned to given PUs: how a
//! stage borrows the PUs of another for a batch that its own thread would take too long over
//! (the VED's signatures on the sigverify stage's PUs, the VED's LtHash likewise).
//!
//! The threads take small chunks from one counter rather than equal parts: a PU that other
//! work shares (ingest's parse of the block runs on the submitting thread, wherever the OS
//! puts it) then does less, instead of the whole batch waiting for its part.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Below this many items a helper costs more than it saves.
const MIN_PART: usize = 64;

/// What a thread takes at a time: four batches of the widest CPU lanes.
const CHUNK: usize = 32;

/// Runs `work` over `items` on the calling thread and, when `helpers` names PUs and there is
/// enough to share, on one more thread pinned to each of them; the answers come back in
/// `items`' order.
pub fn spread<I: Sync, T: Send, E: Send>(
    helpers: &[usize],
    items: &[I],
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    spread_in_chunks(helpers, items, CHUNK, work)
}

/// [`spread`], the threads taking `chunk` items at a time: larger chunks for work whose
/// answer is per chunk rather than per item (a partial sum), so that there are few of them.
/// No more threads than chunks.
///
/// # Panics
/// If `chunk` is 0.
pub fn spread_in_chunks<I: Sync, T: Send, E: Send>(
    helpers: &[usize],
    items: &[I],
    chunk: usize,
    work: impl Fn(&[I]) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    assert!(chunk > 0, "chunks of at least one item");
    let threads = threads_for(helpers, items.len()).min(items.len().div_ceil(chunk));
    if threads <= 1 {
        return work(items);
    }
    let chunks: Vec<&[I]> = items.chunks(chunk).collect();
    let mut answers: Vec<Option<Vec<T>>> =
        std::iter::repeat_with(|| None).take(chunks.len()).collect();
    for result in take_chunks(&helpers[..threads - 1], chunks.len(), |k| work(chunks[k])) {
        for (k, part) in result? {
            answers[k] = Some(part);
        }
    }
    Ok(answers
        .into_iter()
        .flat_map(|part| part.expect("every chunk done"))
        .collect())
}

/// How many threads share `items` items: the caller's and up to one per helper, each with
/// at least [`MIN_PART`] items.
fn threads_for(helpers: &[usize], items: usize) -> usize {
    (helpers.len() + 1).min(items / MIN_PART).max(1)
}

/// Runs `work(k)` for every chunk `k` of `chunks`, each once, on the calling thread and one
/// thread pinned to each of `helpers`, which take the next chunk from one counter until none
/// is left. Gives each thread's answers by chunk index (a thread stops at its first error);
/// a helper's panic is the caller's. A helper the OS refuses to start (a thread limit) is
/// done without: the others take its chunks.
fn take_chunks<R: Send, E: Send>(
    helpers: &[usize],
    chunks: usize,
    work: impl Fn(usize) -> Result<R, E> + Sync,
) -> Vec<Result<Vec<(usize, R)>, E>> {
    let next = AtomicUsize::new(0);
    let take = || -> Result<Vec<(usize, R)>, E> {
        let mut done = Vec::new();
        loop {
            let k = next.fetch_add(1, Ordering::Relaxed);
            if k >= chunks {
                return Ok(done);
            }
            done.push((k, work(k)?));
        }
    };
    std::thread::scope(|scope| {
        // Spawned with the helpers' PUs in their mask, they start there at once.
        let widened = super::pin::widen_current_thread(helpers);
        let others: Vec<_> = helpers
            .iter()
            .filter_map(|&pu| {
                let take = &take;
                let helper = std::thread::Builder::new().name(format!("tandem-helper-{pu}"));
                let started = helper.spawn_scoped(scope, move || {
                    // A helper that cannot be pinned still works, wherever its (widened)
                    // mask lets it run.
                    let _ = super::pin_current_thread(pu);
                    take()
                });
                started
                    .inspect_err(|e| log::warn!("a helper thread for PU {pu} did not start: {e}"))
                    .ok()
            })
            .collect();
        drop(widened);
        let own = take();
        others
            .into_iter()
            .map(|other| {
                other
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            })
            .chain([own])
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_come_back_in_items_order_on_any_number_of_helpers_and_chunk_sizes() {
        let items: Vec<u64> = (0..1_000).collect();
        let want: Vec<u64> = items.iter().map(|i| i * 3 + 1).collect();
        for helpers in [&[][..], &[0], &[0, 0, 0]] {
            for chunk in [1, 32, 300, 5_000] {
                let calls = AtomicUsize::new(0);
                let answers = spread_in_chunks(helpers, &items, chunk, |part| {
                    calls.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, ()>(part.iter().map(|i| i * 3 + 1).collect())
                })
                .expect("no error");
                // Alone, the caller takes the batch whole; with helpers, chunk by chunk.
                let chunks = match helpers {
                    [] => 1,
                    _ => items.len().div_ceil(chunk),
                };
                assert_eq!(calls.into_inner(), chunks, "{} helpers", helpers.len());
                assert_eq!(
                    answers,
                    want,
                    "{} helpers, chunks of {chunk}",
                    helpers.len()
                );
            }
        }
        // An error of any chunk is the answer.
        let error = spread(&[0], &items, |part| match part[0] {
            640 => Err(part[0]),
            _ => Ok(part.to_vec()),
        });
        assert_eq!(error, Err(640));
    }
}
