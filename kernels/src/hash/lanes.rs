//! The lane driver: BLAKE3 of many independent messages on any lane kernel.
//!
//! Every message is first reduced to its [`RootNode`] — the chaining value, block, length and
//! flags of the one compression that, with the ROOT flag and an output counter, produces its
//! output. Output is then one compression per 64 bytes: one for a 32-byte hash, 32 for the
//! 2,048-byte XOF of an LtHash.
//!
//! Reduction, all of it in lanes of the kernel:
//! 1. **chains**: the blocks of a chunk are compressed one after another; different chunks (of
//!    one message or of many) are independent and fill the lanes. Chains are grouped by length
//!    (a counting sort on the number of blocks) so the lanes of a group finish together; a lane
//!    whose chain is done computes on a zero block until its group ends, and its result was read
//!    at its last step. A message of at most one chunk stops before its last block, which is its
//!    root node.
//! 2. **parents**: the chunk chaining values of a longer message are merged level by level, pairs
//!    from the left and an odd last node carried up — the same tree as BLAKE3's rule that a left
//!    subtree holds the largest power of two of chunks smaller than the whole. The last pair is
//!    the root node. The pairs of every message at a level fill the lanes together.
//!
//! Every function takes its lane kernel as a [`LaneKernel`], which exists only where the CPU can
//! run it, so they are safe for every input.
//!
//! [`hash_many`] fuses the two for messages of at most one chunk: each lane's last block carries
//! CHUNK_END | ROOT, and the chaining value it produces is the hash (a root compression's first
//! 8 output words are computed exactly like a chaining value).

#![allow(clippy::needless_range_loop)] // lane code indexes parallel per-word and per-lane arrays

use super::compress::{
    BLOCK_LEN, CHUNK_END, CHUNK_LEN, CHUNK_START, IV, LaneCv, LaneInput, LaneKernel, LaneOutput,
    PARENT, ROOT, block_words, compress,
};

const ZERO_BLOCK: [u8; BLOCK_LEN] = [0; BLOCK_LEN];

/// A message reduced to its root compression (without the ROOT flag and counter).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RootNode {
    /// Input chaining value.
    pub cv: [u32; 8],
    /// The block, zero-padded.
    pub block: [u8; BLOCK_LEN],
    /// Bytes of the block that belong to the message.
    pub block_len: u32,
    /// CHUNK_START/CHUNK_END for a one-chunk message, PARENT otherwise.
    pub flags: u32,
}

impl Default for RootNode {
    fn default() -> Self {
        RootNode {
            cv: IV,
            block: ZERO_BLOCK,
            block_len: 0,
            flags: CHUNK_START | CHUNK_END,
        }
    }
}

impl RootNode {
    /// Output block `t` (64 bytes as 16 words), scalar.
    pub fn output_block(&self, t: u64) -> [u32; 16] {
        compress(
            &self.cv,
            &block_words(&self.block),
            t,
            self.block_len,
            self.flags | ROOT,
        )
    }

    fn parent(left: &[u32; 8], right: &[u32; 8]) -> RootNode {
        let mut block = [0u8; BLOCK_LEN];
        for (i, w) in left.iter().chain(right).enumerate() {
            block[4 * i..4 * i + 4].copy_from_slice(&w.to_le_bytes());
        }
        RootNode {
            cv: IV,
            block,
            block_len: BLOCK_LEN as u32,
            flags: PARENT,
        }
    }
}

/// Blocks of a chunk (an empty chunk still has one, empty, block).
#[inline(always)]
fn block_count(len: usize) -> usize {
    len.div_ceil(BLOCK_LEN).max(1)
}

/// Block `b` of `bytes` and its length: a slice of the input when whole, else a padded copy in
/// `pad`.
#[inline(always)]
fn block_at<'a>(bytes: &'a [u8], b: usize, pad: &'a [u8; BLOCK_LEN]) -> (&'a [u8; BLOCK_LEN], u32) {
    let start = b * BLOCK_LEN;
    match bytes.get(start..start + BLOCK_LEN) {
        Some(whole) => (whole.try_into().expect("64 bytes"), BLOCK_LEN as u32),
        None => (pad, (bytes.len() - start) as u32),
    }
}

/// The last block of `bytes`, zero-padded, when it is partial.
fn padded_last_block(bytes: &[u8]) -> [u8; BLOCK_LEN] {
    let start = (block_count(bytes.len()) - 1) * BLOCK_LEN;
    let mut pad = ZERO_BLOCK;
    pad[..bytes.len() - start].copy_from_slice(&bytes[start..]);
    pad
}

/// Indices `0..n` ordered by `key` (at most `max_key`), largest first: a counting sort.
fn order_by_descending(n: usize, max_key: usize, key: impl Fn(usize) -> usize) -> Vec<usize> {
    let mut counts = vec![0usize; max_key + 2];
    for i in 0..n {
        counts[max_key - key(i) + 1] += 1;
    }
    for k in 1..counts.len() {
        counts[k] += counts[k - 1];
    }
    let mut order = vec![0; n];
    for i in 0..n {
        let slot = &mut counts[max_key - key(i)];
        order[*slot] = i;
        *slot += 1;
    }
    order
}

fn broadcast_iv<const N: usize>() -> LaneCv<N> {
    std::array::from_fn(|w| [IV[w]; N])
}

#[inline(always)]
fn lane_cv<const N: usize>(cv: &LaneCv<N>, l: usize) -> [u32; 8] {
    std::array::from_fn(|w| cv[w][l])
}

/// The 32-byte BLAKE3 hash of every input.
pub fn hash_many<const N: usize>(kernel: LaneKernel<N>, inputs: &[&[u8]], out: &mut [[u8; 32]]) {
    let mut short = Vec::with_capacity(inputs.len());
    let mut long = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        if input.len() <= CHUNK_LEN {
            short.push(i);
        } else {
            long.push(i);
        }
    }
    let blocks = |i: usize| block_count(inputs[i].len());
    let ordered: Vec<usize> =
        order_by_descending(short.len(), CHUNK_LEN / BLOCK_LEN, |k| blocks(short[k]))
            .into_iter()
            .map(|k| short[k])
            .collect();
    let mut pads = [ZERO_BLOCK; N];
    for group in ordered.chunks(N) {
        let steps = blocks(group[0]);
        if group.len() == N && blocks(group[N - 1]) == steps {
            hash_uniform_group(kernel, inputs, group, steps, &mut pads, out);
            continue;
        }
        for (l, &i) in group.iter().enumerate() {
            pads[l] = padded_last_block(inputs[i]);
        }
        let mut cv = broadcast_iv::<N>();
        for s in 0..steps {
            let mut input = LaneInput::uniform(&ZERO_BLOCK);
            for (l, &i) in group.iter().enumerate() {
                if s < blocks(i) {
                    let (block, len) = block_at(inputs[i], s, &pads[l]);
                    input.blocks[l] = block;
                    input.block_len[l] = len;
                    input.flags[l] = if s == 0 { CHUNK_START } else { 0 }
                        | if s + 1 == blocks(i) {
                            CHUNK_END | ROOT
                        } else {
                            0
                        };
                }
            }
            kernel.compress(&mut cv, &input, None);
            for (l, &i) in group.iter().enumerate() {
                if s + 1 == blocks(i) {
                    write_hash(&lane_cv(&cv, l), &mut out[i]);
                }
            }
        }
    }
    if !long.is_empty() {
        let long_inputs: Vec<&[u8]> = long.iter().map(|&i| inputs[i]).collect();
        let roots = root_nodes(kernel, &long_inputs);
        for (&i, words) in long.iter().zip(compress_nodes(kernel, &roots, ROOT)) {
            write_hash(&words, &mut out[i]);
        }
    }
}

/// [`hash_many`] for a full group of one-chunk messages that all have `steps` blocks: the flags
/// are the same in every lane, and only a partial last block is copied.
fn hash_uniform_group<const N: usize>(
    kernel: LaneKernel<N>,
    inputs: &[&[u8]],
    group: &[usize],
    steps: usize,
    pads: &mut [[u8; BLOCK_LEN]; N],
    out: &mut [[u8; 32]],
) {
    let mut last_len = [BLOCK_LEN as u32; N];
    for (l, &i) in group.iter().enumerate() {
        let len = inputs[i].len() - (steps - 1) * BLOCK_LEN;
        if len != BLOCK_LEN {
            pads[l] = padded_last_block(inputs[i]);
            last_len[l] = len as u32;
        }
    }
    let mut cv = broadcast_iv::<N>();
    for s in 0..steps {
        let last = s + 1 == steps;
        let mut input = LaneInput::uniform(&ZERO_BLOCK);
        for (l, &i) in group.iter().enumerate() {
            input.blocks[l] = if last && last_len[l] != BLOCK_LEN as u32 {
                &pads[l]
            } else {
                // SAFETY: block `s` is whole: it is not the last, or the last is 64 bytes long, so
                // `64 * s + 64 <= len`.
                unsafe {
                    &*inputs[i]
                        .as_ptr()
                        .add(s * BLOCK_LEN)
                        .cast::<[u8; BLOCK_LEN]>()
                }
            };
        }
        if last {
            input.block_len = last_len;
        }
        input.flags =
            [if s == 0 { CHUNK_START } else { 0 } | if last { CHUNK_END | ROOT } else { 0 }; N];
        kernel.compress(&mut cv, &input, None);
    }
    for (l, &i) in group.iter().enumerate() {
        write_hash(&lane_cv(&cv, l), &mut out[i]);
    }
}

fn write_hash(words: &[u32; 8], out: &mut [u8; 32]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
}

/// A run of blocks of one chunk to compress in a lane.
struct Chain<'a> {
    bytes: &'a [u8],
    counter: u64,
    /// The chunk is a whole message: stop before its last block, which is the root node.
    root: bool,
    /// Where the result goes: `roots[target]` if `root`, else `cvs[target]`.
    target: usize,
}

impl Chain<'_> {
    fn steps(&self) -> usize {
        block_count(self.bytes.len()) - usize::from(self.root)
    }
}

/// Reduces every input to its root node with lane kernel `kernel`.
pub fn root_nodes<const N: usize>(kernel: LaneKernel<N>, inputs: &[&[u8]]) -> Vec<RootNode> {
    let mut roots = vec![RootNode::default(); inputs.len()];
    let mut chains = Vec::with_capacity(inputs.len());
    // (message, its first chunk's index in `cvs`, its chunks) of every multi-chunk message.
    let mut long = Vec::new();
    let mut cv_count = 0;
    for (i, input) in inputs.iter().enumerate() {
        if input.len() <= CHUNK_LEN {
            chains.push(Chain {
                bytes: input,
                counter: 0,
                root: true,
                target: i,
            });
        } else {
            let chunks = input.len().div_ceil(CHUNK_LEN);
            long.push((i, cv_count, chunks));
            for (c, bytes) in input.chunks(CHUNK_LEN).enumerate() {
                chains.push(Chain {
                    bytes,
                    counter: c as u64,
                    root: false,
                    target: cv_count + c,
                });
            }
            cv_count += chunks;
        }
    }
    let mut cvs = vec![[0u32; 8]; cv_count];
    run_chains(kernel, &chains, &mut roots, &mut cvs);
    if !long.is_empty() {
        merge_parents(kernel, &long, &cvs, &mut roots);
    }
    roots
}

fn run_chains<const N: usize>(
    kernel: LaneKernel<N>,
    chains: &[Chain<'_>],
    roots: &mut [RootNode],
    cvs: &mut [[u32; 8]],
) {
    let order = order_by_descending(chains.len(), CHUNK_LEN / BLOCK_LEN, |j| chains[j].steps());
    let mut pads = [ZERO_BLOCK; N];
    for group in order.chunks(N) {
        let steps = chains[group[0]].steps();
        // Only a chunk that ends a long message chains a partial block; a root chain stops before
        // its last block and every earlier block is whole.
        for (l, &j) in group.iter().enumerate() {
            let chain = &chains[j];
            if !chain.root && !chain.bytes.len().is_multiple_of(BLOCK_LEN) {
                pads[l] = padded_last_block(chain.bytes);
            }
        }
        let mut cv = broadcast_iv::<N>();
        let finish = |j: usize, lane: [u32; 8], roots: &mut [RootNode], cvs: &mut [[u32; 8]]| {
            let chain = &chains[j];
            if chain.root {
                let blocks = block_count(chain.bytes.len());
                roots[chain.target] = RootNode {
                    cv: lane,
                    block: padded_last_block(chain.bytes),
                    block_len: (chain.bytes.len() - (blocks - 1) * BLOCK_LEN) as u32,
                    flags: CHUNK_END | if blocks == 1 { CHUNK_START } else { 0 },
                };
            } else {
                cvs[chain.target] = lane;
            }
        };
        for &j in group {
            if chains[j].steps() == 0 {
                finish(j, IV, roots, cvs);
            }
        }
        for s in 0..steps {
            let mut input = LaneInput::uniform(&ZERO_BLOCK);
            for (l, &j) in group.iter().enumerate() {
                let chain = &chains[j];
                if s < chain.steps() {
                    let (block, len) = block_at(chain.bytes, s, &pads[l]);
                    input.blocks[l] = block;
                    input.block_len[l] = len;
                    input.set_counter(l, chain.counter);
                    let last = s + 1 == block_count(chain.bytes.len());
                    input.flags[l] =
                        if s == 0 { CHUNK_START } else { 0 } | if last { CHUNK_END } else { 0 };
                }
            }
            kernel.compress(&mut cv, &input, None);
            for (l, &j) in group.iter().enumerate() {
                if s + 1 == chains[j].steps() {
                    finish(j, lane_cv(&cv, l), roots, cvs);
                }
            }
        }
    }
}

/// Merges the chunk chaining values of each long message up to its root node.
fn merge_parents<const N: usize>(
    kernel: LaneKernel<N>,
    long: &[(usize, usize, usize)],
    chunk_cvs: &[[u32; 8]],
    roots: &mut [RootNode],
) {
    let mut levels: Vec<Vec<[u32; 8]>> = long
        .iter()
        .map(|&(_, first, chunks)| chunk_cvs[first..first + chunks].to_vec())
        .collect();
    loop {
        // Every pair of every message with more than two nodes left; a message down to two
        // nodes has reached its root pair.
        let mut owners = Vec::new();
        let mut parents = Vec::new();
        for (m, nodes) in levels.iter().enumerate() {
            if nodes.len() > 2 {
                for pair in nodes.chunks_exact(2) {
                    owners.push(m);
                    parents.push(RootNode::parent(&pair[0], &pair[1]));
                }
            }
        }
        if parents.is_empty() {
            break;
        }
        let merged = compress_nodes(kernel, &parents, 0);
        let mut next: Vec<Vec<[u32; 8]>> = levels
            .iter()
            .map(|n| Vec::with_capacity(n.len() / 2 + 1))
            .collect();
        for (&m, cv) in owners.iter().zip(merged) {
            next[m].push(cv);
        }
        for (m, nodes) in levels.iter().enumerate() {
            if nodes.len() > 2 {
                if nodes.len() % 2 == 1 {
                    next[m].push(nodes[nodes.len() - 1]);
                }
            } else {
                next[m] = nodes.clone();
            }
        }
        levels = next;
    }
    for (&(i, _, _), nodes) in long.iter().zip(&levels) {
        roots[i] = RootNode::parent(&nodes[0], &nodes[1]);
    }
}

/// One chaining compression of each node with counter 0 and `extra_flags` added (ROOT gives a
/// root node's hash), in lanes. Returns the 8-word result of each.
pub fn compress_nodes<const N: usize>(
    kernel: LaneKernel<N>,
    nodes: &[RootNode],
    extra_flags: u32,
) -> Vec<[u32; 8]> {
    let mut results = Vec::with_capacity(nodes.len());
    for group in nodes.chunks(N) {
        let mut cv = broadcast_iv::<N>();
        let mut input = LaneInput::uniform(&ZERO_BLOCK);
        for (l, node) in group.iter().enumerate() {
            for w in 0..8 {
                cv[w][l] = node.cv[w];
            }
            input.blocks[l] = &node.block;
            input.block_len[l] = node.block_len;
            input.flags[l] = node.flags | extra_flags;
        }
        kernel.compress(&mut cv, &input, None);
        for l in 0..group.len() {
            results.push(lane_cv(&cv, l));
        }
    }
    results
}

/// The output blocks `0..blocks` of `root` (its extended output), in lanes: the lanes of a call
/// are consecutive output blocks of the same root, which share one block (broadcast, not
/// transposed). `sink` receives each call's output and the index of its first output block.
pub fn xof_blocks<const N: usize>(
    kernel: LaneKernel<N>,
    root: &RootNode,
    blocks: u64,
    mut sink: impl FnMut(u64, &LaneOutput<N>),
) {
    let mut out = LaneOutput::<N>::default();
    let mut cv: LaneCv<N> = std::array::from_fn(|w| [root.cv[w]; N]);
    let mut input = LaneInput::uniform(&root.block);
    input.same_block = true;
    input.block_len = [root.block_len; N];
    input.flags = [root.flags | ROOT; N];
    let mut first = 0;
    while first < blocks {
        for l in 0..N {
            input.set_counter(l, first + l as u64);
        }
        kernel.compress(&mut cv, &input, Some(&mut out));
        sink(first, &out);
        first += N as u64;
    }
}
