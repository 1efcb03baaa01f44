//! tandem-engine: the execution engine of tandem.
//!
//! What it owns today:
//! - [`account`]: the vocabulary of SPEC §1 — pubkeys, accounts, the two execution domains and the
//!   four domain mappings with their access table;
//! - [`store`]: the domain-tagged, memory-mapped account store with per-domain views, atomic slot
//!   commits and crash recovery;
//! - [`tx`]: the transaction wire format of SPEC §2 (Solana's legacy and v0): zero-copy decoding,
//!   Solana's sanitize rules, the message builder and signing;
//! - [`genesis`]: the genesis file of SPEC §9 (TOML) — parsing, validation, the VED membership
//!   rule at genesis, and the shipped default cluster with its deterministic keys;
//! - [`ledger`]: the ledger file of SPEC §9 — the binary sequence of blocks, written and read
//!   with every truncation and corruption reported;
//! - [`runtime`]: the VED/UED runtime of SPEC §2–§5 — the two domain passes over each block,
//!   the builtin programs, fees and statuses, per-domain hashes, epochs and remaps; the two domain
//!   executors the engine runs apart, the VED's log and the status index;
//! - [`pipeline`]: the asynchronous engine — the VED ahead of the UED on pinned threads linked
//!   by bounded queues — with the machine's topology (hwloc), the placement of its stages, the
//!   `cores` setting, thread pinning, and the stages' metrics with their Prometheus endpoint;
//! - [`cluster`]: the cluster view of SPEC §6 — agreement of the executed votes with the local
//!   hashes, the halts — and a cluster of engines in one process (`tandem cluster`);
//! - [`workload`]: the deterministic workload generator behind `tandem gen`;
//! - [`fail_points`]: places in the stages where a test holds a thread (feature `fail-points`);
//! - [`files`]: reports, profiles and ledgers replaced whole, never left half-written;
//! - [`logging`]: which log lines the front ends (the command, the C ABI) pass on;
//! - [`sharded`]: a hash map in many small tables, none of whose inserts moves much of it (the
//!   live status index, under the lock the vote point takes);
//! - [`sample`]: deterministic sample accounts (and the builtin program accounts) for demos, tests
//!   and benchmarks.

pub mod account;
pub mod cluster;
pub mod fail_points;
pub mod files;
pub mod genesis;
pub mod ledger;
pub mod logging;
pub mod pipeline;
pub mod runtime;
pub mod sample;
pub mod sharded;
pub mod store;
#[cfg(test)]
mod test_support;
pub mod tx;
pub mod workload;

pub use account::{Account, Domain, Mapping, PerDomain, Pubkey};
