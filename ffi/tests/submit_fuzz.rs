//! The property of the `submit_block` fuzz target (`ffi/fuzz`), on stable Rust and in a few
//! seconds: thousands of deterministic inputs — the fuzz corpus's seeds, blocks of a generated
//! ledger, their mutations (bit flips, cuts, length-field edits, made-up transactions) and
//! random bytes — through the Rust side of `tandem_engine_submit_block`, each answered with
//! `Ok`, `INVALID_ARGUMENT`, `REJECTED` or `HALTED`, never a panic or a stopped engine, and every
//! accepted block executed (`tandem::fuzzing` has the property and the mutations).
//!
//! `TANDEM_BLESS_FUZZ_SEEDS=1 cargo test -p tandem-ffi --test submit_fuzz` rewrites the
//! generated seeds of the corpus (`seed-ledger-*`, `seed-cut`, `seed-empty`,
//! `seed-header-only`); other `seed-*` files there (inputs that once crashed) are kept.

use std::path::{Path, PathBuf};

use ::tandem_engine::genesis::Genesis;
use ::tandem_engine::ledger::BLOCK_HEADER_LEN;
use ::tandem_engine::sample::SplitMix64;
use ::tandem_engine::workload::{WorkloadConfig, generate};
use tandem::TANDEM_ERR_HALTED;
use tandem::error::FfiError;
use tandem::fuzzing::{Feeder, follow, mutate};

/// Mutated and random inputs fed after the seeds.
const INPUTS: usize = 3000;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/submit_block")
}

/// The encodings of a small generated ledger's blocks: votes, transfers, an account creation.
fn ledger_blocks() -> Vec<Vec<u8>> {
    let scratch = tempfile::tempdir().unwrap();
    let config = WorkloadConfig {
        slots: 4,
        transfers: 2,
        creates: 1,
        ..WorkloadConfig::default()
    };
    let mut blocks = Vec::new();
    generate(
        &Genesis::default_cluster(),
        &config,
        scratch.path(),
        |block, _| {
            blocks.push(block.encode().expect("a generated block encodes"));
            Ok(())
        },
        |_| {},
    )
    .unwrap();
    blocks
}

/// A header with no transactions: always a valid block once it follows the last one.
fn header_only(block: &[u8]) -> Vec<u8> {
    let mut bytes = block[..BLOCK_HEADER_LEN].to_vec();
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes
}

/// The generated seeds of the corpus, by file name.
fn generated_seeds(blocks: &[Vec<u8>]) -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (format!("seed-ledger-slot{}", i + 1), b.clone()))
        .collect();
    let last = &blocks[blocks.len() - 1];
    seeds.push(("seed-cut".into(), last[..last.len() * 2 / 3].to_vec()));
    seeds.push(("seed-empty".into(), Vec::new()));
    seeds.push(("seed-header-only".into(), header_only(&blocks[0])));
    seeds
}

/// Every `seed-*` file of the corpus, in name order.
fn corpus_seeds() -> Vec<(String, Vec<u8>)> {
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .expect("ffi/fuzz/corpus/submit_block")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .filter(|(name, _)| name.starts_with("seed-"))
        .collect();
    seeds.sort();
    seeds
}

/// Feeds a block with `header`'s header, no transactions, made to follow the last block.
fn feed_empty(feeder: &mut Feeder, header: &[u8]) -> Result<(), FfiError> {
    let mut empty = header_only(header);
    let (slot, ms) = feeder.last();
    follow(&mut empty, slot, ms);
    feeder.feed(&empty)
}

#[test]
fn submit_block_answers_every_input_with_an_allowed_code() {
    let blocks = ledger_blocks();
    if std::env::var_os("TANDEM_BLESS_FUZZ_SEEDS").is_some() {
        for (name, bytes) in generated_seeds(&blocks) {
            std::fs::write(corpus_dir().join(name), bytes).unwrap();
        }
    }
    let corpus = corpus_seeds();
    assert!(
        corpus.len() >= 4,
        "the corpus lost its seeds: run with TANDEM_BLESS_FUZZ_SEEDS=1"
    );
    let mut seeds: Vec<Vec<u8>> = corpus.into_iter().map(|(_, bytes)| bytes).collect();
    seeds.extend(blocks.iter().cloned());

    let dir = tempfile::tempdir().unwrap();
    let mut feeder = Feeder::open(dir.path());
    for seed in &seeds {
        let _ = feeder.feed(seed);
    }
    let mut rng = SplitMix64::new(0x7a6e_d3e5);
    for i in 0..INPUTS {
        let input = if rng.below(8) == 0 {
            let mut bytes = vec![0u8; rng.below(400) as usize];
            rng.fill(&mut bytes);
            bytes
        } else {
            let mut bytes = seeds[rng.below(seeds.len() as u64) as usize].clone();
            for _ in 0..=rng.below(3) {
                bytes = mutate(&mut rng, &bytes);
            }
            bytes
        };
        let _ = feeder.feed(&input);
        // Whatever came before, a refused block changed nothing: an empty block that follows
        // the last accepted one goes through.
        if i % 200 == 0 {
            let header = &blocks[i % blocks.len()];
            let mut outcome = feed_empty(&mut feeder, header);
            if matches!(&outcome, Err(e) if e.code == TANDEM_ERR_HALTED) {
                // Votes of an earlier block halted it; the feeder opened a fresh engine.
                outcome = feed_empty(&mut feeder, header);
            }
            assert_eq!(outcome, Ok(()), "an empty block was refused");
        }
    }
    let stats = feeder.stats();
    eprintln!("submit_fuzz: {stats:?}");
    feeder.finish();
    // Each kind of outcome is reached, the accepted ones mostly through the rewritten headers.
    assert!(stats.accepted > 200, "{stats:?}");
    assert!(stats.invalid > 500, "{stats:?}");
    assert!(stats.rejected > 200, "{stats:?}");
}
