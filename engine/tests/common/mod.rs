//! Helpers shared by the store tests.

#![allow(dead_code)] // each test binary uses a different subset

use tandem_engine::sample::SplitMix64;
use tandem_engine::{Account, Mapping, Pubkey};

/// The engine's SplitMix64, with the few draws the tests need: deterministic, so every run of
/// the tests does the same thing.
pub struct SplitMix(SplitMix64);

impl SplitMix {
    pub fn new(seed: u64) -> Self {
        SplitMix(SplitMix64::new(seed))
    }

    pub fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n`, by modulo (the tests' data was generated this way).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        self.0.fill(&mut out);
        out
    }

    pub fn pubkey(&mut self) -> Pubkey {
        self.0.pubkey()
    }

    /// A random account of `mapping` (programs owned by [2; 32], data accounts by the system
    /// program) with `len` bytes of data.
    pub fn account(&mut self, mapping: Mapping, len: usize) -> Account {
        Account {
            pubkey: self.pubkey(),
            lamports: self.next(),
            owner: Pubkey(if mapping.is_program_mapping() {
                [2; 32]
            } else {
                [0; 32]
            }),
            executable: mapping.is_program_mapping(),
            data: self.bytes(len),
            mapping,
        }
    }
}

/// The files of a complete store, sorted: nothing else may be left in its directory by a create,
/// interrupted or not.
pub const STORE_FILES: [&str; 6] = [
    "rw-ued.pages",
    "rw-ved.pages",
    "rx-ued-ved.pages",
    "rx-ued.pages",
    "superblock",
    "wal",
];

/// The names in `dir`, sorted.
pub fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that a child process reached its stray access (it printed `reached`), did not go
/// on past it (it never printed "survived") and died of SIGSEGV there; `what` names the case.
pub fn assert_faulted(output: &std::process::Output, reached: &str, what: &str) {
    use std::os::unix::process::ExitStatusExt;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(reached),
        "{what}: the child failed before its access: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        !stdout.contains("survived"),
        "{what}: the access went through: {stdout}"
    );
    assert_eq!(
        output.status.signal(),
        Some(libc::SIGSEGV),
        "{what}: expected SIGSEGV, got {:?}",
        output.status
    );
}
