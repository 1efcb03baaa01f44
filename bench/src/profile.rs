//! Hardware profiles (SPEC §9, `hwprofiles/*.toml`): what `tandem bench` writes and `tandem plan`
//! reads.
//!
//! A profile names the machine (the topology hwloc saw, the GPU adapter and driver), the tandem
//! version and git commit it was measured with, and every figure of the suite as a [`Rate`]: a
//! value with its unit, the spread of its runs and how it was measured. A figure measured at
//! several thread counts (the scaling of a kernel) or batch sizes (the GPU against the CPU) is
//! one rate per point, told apart by `threads` or `batch`.
//!
//! ```toml
//! [machine]
//! kind = "kvm-epyc-zen4-2vcpu"
//! cpu_model = "AMD EPYC 9B14"
//! cores = 2
//! pus = 2
//! numa_nodes = 1
//! gpu_hardware = false
//!
//! [tandem]
//! version = "0.1.0"
//! commit = "54755e8"
//!
//! [[rate]]
//! name = "sigverify.cpu.unique"
//! threads = 1
//! value = 23400.0
//! unit = "signatures/s"
//! spread = [23100.0, 23600.0]
//! runs = 5
//! how = "512 unique signers, 200-byte messages, median of 5 runs"
//!
//! [pipeline]
//! sustained_tps = 50500.0
//! ```
//!
//! Reading checks every field the planner relies on and names the one that is wrong
//! (`rate[3].value: missing`, `machine.cores: must be at least 1`), so a hand-edited or
//! truncated profile fails with a message, never with a wrong plan.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// The rates the planner reads, by name (each is one [`Rate`], or one per `threads`).
pub mod names {
    /// ed25519 verifications of signers seen once (user transactions), per second, by thread
    /// count: the CPU kernel with AVX-512/AVX2 as the machine has.
    pub const SIGVERIFY_UNIQUE: &str = "sigverify.cpu.unique";
    /// ed25519 verifications of recurring signers (votes; the signer cache warm), per second,
    /// one thread.
    pub const SIGVERIFY_RECURRING: &str = "sigverify.cpu.recurring";
    /// ed25519 verifications on the GPU, per second, by `batch` size (absent without a GPU).
    pub const SIGVERIFY_GPU: &str = "sigverify.gpu.unique";
    /// The same batches on the CPU (all threads), per second, by `batch` size: the other side
    /// of the GPU's crossover.
    pub const SIGVERIFY_CPU_BATCH: &str = "sigverify.cpu.batch";
    /// Account LtHashes (SPEC §7) per second, by thread count.
    pub const LTHASH: &str = "lthash.cpu.accounts";
    /// BLAKE3 of 128-byte messages per second, by thread count.
    pub const BLAKE3: &str = "blake3.cpu.messages";
    /// Votes the VED executor runs per second (signatures verified beforehand), one thread.
    pub const VED_VOTES: &str = "executor.ved.votes";
    /// User transfers the UED executes per second (signatures verified beforehand; LtHash,
    /// hash chain and commit included), by UED thread count.
    pub const UED_TRANSFERS: &str = "executor.ued.transfers";
    /// Account lookups in the store per second, one thread.
    pub const STORE_LOOKUPS: &str = "store.lookups";
    /// Slot commits of the store (with fsync) per second.
    pub const STORE_COMMITS: &str = "store.commits";
    /// Empty slots the runtime executes and commits per second on the profile's disk (its
    /// status file, runtime state and store commit, every one synced): the UED's cost per
    /// slot, whatever the slot holds. Optional: profiles written before it lack it.
    pub const UED_SLOTS: &str = "executor.ued.slots";

    /// The unit each rate the planner reads is measured in: a profile that gives one in
    /// another unit is refused (the planner reads the values as these).
    pub const UNITS: [(&str, &str); 11] = [
        (SIGVERIFY_UNIQUE, "signatures/s"),
        (SIGVERIFY_RECURRING, "signatures/s"),
        (SIGVERIFY_GPU, "signatures/s"),
        (SIGVERIFY_CPU_BATCH, "signatures/s"),
        (LTHASH, "accounts/s"),
        (BLAKE3, "messages/s"),
        (VED_VOTES, "votes/s"),
        (UED_TRANSFERS, "transfers/s"),
        (STORE_LOOKUPS, "lookups/s"),
        (STORE_COMMITS, "commits/s"),
        (UED_SLOTS, "slots/s"),
    ];

    /// The unit of the planner's rate `name` ([`UNITS`]); `None` for a rate it does not read.
    pub fn unit(name: &str) -> Option<&'static str> {
        UNITS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, unit)| *unit)
    }

    /// The rate the planner reads that `name`, not one of them, looks like a misspelling of:
    /// one within two edits (a letter added, removed, changed or two swapped). Other names are
    /// figures the planner does not read (the suite writes many), passed over.
    pub fn misspelt(name: &str) -> Option<&'static str> {
        if unit(name).is_some() {
            return None;
        }
        UNITS
            .iter()
            .map(|&(known, _)| known)
            .find(|known| edits(name, known) <= 2)
    }

    /// The edits (insertions, deletions, substitutions, swaps of neighbours) from `a` to `b`:
    /// the optimal string alignment distance, over bytes.
    fn edits(a: &str, b: &str) -> usize {
        let (a, b) = (a.as_bytes(), b.as_bytes());
        // d[i][j]: the edits from a[..i] to b[..j].
        let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, cell) in d[0].iter_mut().enumerate() {
            *cell = j;
        }
        for i in 1..=a.len() {
            for j in 1..=b.len() {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[i - 2][j - 2] + 1);
                }
                d[i][j] = best;
            }
        }
        d[a.len()][b.len()]
    }
}

/// Why a profile cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A field is missing, of the wrong type, or out of range.
    #[error("{path}: {field}: {reason}")]
    Field {
        /// The file.
        path: String,
        /// The field, as `rate[3].value`.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The profile lacks a rate the plan needs.
    #[error("{path}: no rate `{name}`{threads} (measure it with `tandem bench`)")]
    MissingRate {
        /// The file.
        path: String,
        /// The rate's name.
        name: String,
        /// ` at 1 thread` and the like, or empty.
        threads: String,
    },
}

/// The machine a profile was measured on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    /// A short name for the machine kind, the profile's file stem.
    pub kind: String,
    /// The CPU model.
    pub cpu_model: String,
    /// Physical cores the suite could use.
    pub cores: u32,
    /// Processing units (hardware threads) the suite could use.
    pub pus: u32,
    /// NUMA nodes.
    pub numa_nodes: u32,
    /// Installed memory, GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_gib: Option<f64>,
    /// The SIMD extensions the kernels use here, e.g. `["avx2", "avx512ifma"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub isa: Vec<String>,
    /// The GPU adapter wgpu found ("name (API, hardware|software)"), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_adapter: Option<String>,
    /// Its driver, as the adapter reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_driver: Option<String>,
    /// Whether that adapter is a hardware GPU (a software rasterizer is never worth feeding).
    /// Required, `false` too: a hand-written profile that left it out would be planned without
    /// its GPU, silently.
    pub gpu_hardware: bool,
    /// Anything else worth knowing (the hypervisor, the storage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

/// What was measured, with which tandem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TandemBuild {
    /// The tandem version.
    pub version: String,
    /// The git commit (short), or "unknown".
    pub commit: String,
    /// When the suite ran (RFC 3339, UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured_at: Option<String>,
    /// The suite's size: "quick", "default" or "full".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rate {
    /// What it measures ([`names`] for the ones the planner reads).
    pub name: String,
    /// The thread count it was measured at, when it scales with threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// The batch size, for figures by batch (GPU against CPU).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// The user transfers in every block, for figures measured against the UED's load
    /// (time-to-vote); 0 is a block of votes alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ued_tx_per_slot: Option<u32>,
    /// The median of the runs.
    pub value: f64,
    /// Its unit, e.g. "signatures/s".
    pub unit: String,
    /// The smallest and the largest run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "two_numbers"
    )]
    pub spread: Option<[f64; 2]>,
    /// How many runs the median is of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<u32>,
    /// How it was measured, so it can be reproduced.
    pub how: String,
}

/// A spread read as exactly two numbers: an array of three was read as its first two.
fn two_numbers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<[f64; 2]>, D::Error> {
    let Some(numbers) = Option::<Vec<f64>>::deserialize(d)? else {
        return Ok(None);
    };
    <[f64; 2]>::try_from(numbers.as_slice())
        .map(Some)
        .map_err(|_| {
            serde::de::Error::custom(format!(
                "a spread is [smallest, largest]: two numbers, not {}",
                numbers.len()
            ))
        })
}

/// The most any rate may be: a trillion of its unit a second (or milliseconds) is past every
/// machine, so that a mistyped exponent is refused, not planned as numbers of 300 digits.
pub const RATE_MAX: f64 = 1e12;

/// `v` for a message: as `1e300`, not as 300 digits, where it is that large or that small.
pub fn compact(v: f64) -> String {
    if v.abs() >= 1e6 || (v != 0.0 && v.abs() < 1e-6) {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// The pipeline as a whole, measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineFigures {
    /// Transactions per second the engine sustained (`tandem bench pipeline`'s workload).
    pub sustained_tps: f64,
    /// How that workload was shaped and placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub how: Option<String>,
}

/// Where `auto` puts a batch (SPEC §7).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoThreshold {
    /// The smallest batch the GPU verifies faster than the CPU; absent where it never does
    /// (no hardware GPU, or the CPU wins at every size measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_min_items: Option<u32>,
}

/// A hardware profile (module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// The machine.
    pub machine: Machine,
    /// The tandem it was measured with.
    pub tandem: TandemBuild,
    /// Every figure.
    #[serde(default, rename = "rate")]
    pub rates: Vec<Rate>,
    /// The pipeline's measured sustained rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineFigures>,
    /// The GPU crossover the suite found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<AutoThreshold>,
}

/// serde's message for an integer its field's type cannot hold ("invalid value: integer
/// \`4294967296\`, expected u32"), said as what is wrong with it — negative, or past the
/// largest the field holds (its own checks, after, say the range a field takes within that);
/// any other message as it is.
fn plain_range(message: &str) -> String {
    let range = |ty: &str| match ty {
        "u8" => Some(u64::from(u8::MAX)),
        "u16" => Some(u64::from(u16::MAX)),
        "u32" => Some(u64::from(u32::MAX)),
        "u64" => Some(u64::MAX),
        _ => None,
    };
    message
        .strip_prefix("invalid value: integer `")
        .and_then(|rest| rest.split_once("`, expected "))
        .and_then(|(n, ty)| {
            let max = range(ty)?;
            Some(match n.starts_with('-') {
                true => format!("{n} is negative"),
                false => format!("{n} is more than the field holds ({max})"),
            })
        })
        .unwrap_or_else(|| message.to_owned())
}

impl Profile {
    /// Reads and checks the profile at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Profile, ProfileError> {
        let path = path.as_ref();
        let io = |source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        };
        // A profile is a few kilobytes: a wrong path (`/dev/zero`) is refused, not read on.
        let bytes = tandem_engine::files::read_bounded(path, 16 << 20).map_err(io)?;
        let text = String::from_utf8(bytes)
            .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))?;
        Profile::parse(&text, &path.display().to_string())
    }

    /// Parses and checks a profile's text; `path` names it in errors.
    pub fn parse(text: &str, path: &str) -> Result<Profile, ProfileError> {
        let field = |field: String, reason: String| ProfileError::Field {
            path: path.to_owned(),
            field,
            reason,
        };
        let deserializer = toml::Deserializer::parse(text)
            .map_err(|e| field("(the file)".into(), format!("not TOML: {}", e.message())))?;
        let profile: Profile = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let reason = plain_range(e.inner().message());
            field(e.path().to_string(), reason)
        })?;
        profile.check().map_err(|(f, reason)| field(f, reason))?;
        Ok(profile)
    }

    /// The checks serde cannot make: counts at least 1, rates finite and positive, spreads
    /// around their value, no figure given twice.
    fn check(&self) -> Result<(), (String, String)> {
        let at_least_one = |name: &str, value: u32| {
            if value == 0 {
                Err((format!("machine.{name}"), "must be at least 1".to_owned()))
            } else {
                Ok(())
            }
        };
        at_least_one("cores", self.machine.cores)?;
        at_least_one("pus", self.machine.pus)?;
        // The limit that applies, alone ("100000 is more than the machine's 100000 PUs or the
        // planner's limit of 1024" named both).
        if self.machine.cores > self.machine.pus {
            return Err((
                "machine.cores".to_owned(),
                format!(
                    "{} is more than the machine's {} PUs",
                    self.machine.cores, self.machine.pus
                ),
            ));
        }
        if self.machine.cores > crate::plan::MAX_CORES {
            return Err((
                "machine.cores".to_owned(),
                format!(
                    "{} is more than the planner's limit of {} cores",
                    self.machine.cores,
                    crate::plan::MAX_CORES
                ),
            ));
        }
        at_least_one("numa_nodes", self.machine.numa_nodes)?;
        if let Some(gib) = self.machine.memory_gib
            && !(gib.is_normal() && gib > 0.0)
        {
            return Err((
                "machine.memory_gib".into(),
                format!("{gib} is not a positive number"),
            ));
        }
        for (i, rate) in self.rates.iter().enumerate() {
            let here = |f: &str| format!("rate[{i}].{f}");
            // (Normal: a subnormal rate's inverse, a time per item, is infinite.)
            if !(rate.value.is_normal() && rate.value > 0.0) {
                let value = compact(rate.value);
                return Err((here("value"), format!("{value} is not a positive number")));
            }
            if rate.value > RATE_MAX {
                return Err((
                    here("value"),
                    format!(
                        "{} is more than {} a second: past any machine",
                        compact(rate.value),
                        compact(RATE_MAX)
                    ),
                ));
            }
            if rate.runs == Some(0) {
                return Err((here("runs"), "must be at least 1".into()));
            }
            if rate.threads.is_some() && rate.batch.is_some() {
                return Err((
                    here("batch"),
                    "a rate is measured by threads or by batch, not both".into(),
                ));
            }
            if let Some(meant) = names::misspelt(&rate.name) {
                return Err((
                    here("name"),
                    format!(
                        "`{}` is not a rate the planner reads: `{meant}`? (a misspelt name was \
                         passed over, and the plan went on without the figure)",
                        rate.name
                    ),
                ));
            }
            if let Some(unit) = names::unit(&rate.name)
                && rate.unit != unit
            {
                return Err((
                    here("unit"),
                    format!(
                        "`{}` is measured in {unit}, not \"{}\" (the planner reads it as {unit})",
                        rate.name, rate.unit
                    ),
                ));
            }
            // The planner reads its rates without a UED load: one given one would be passed
            // over, the rate reading as missing.
            if rate.ued_tx_per_slot.is_some() && names::unit(&rate.name).is_some() {
                return Err((
                    here("ued_tx_per_slot"),
                    format!(
                        "`{}` is not measured against the UED's load (only time-to-vote is)",
                        rate.name
                    ),
                ));
            }
            if rate.threads == Some(0) {
                return Err((here("threads"), "must be at least 1".into()));
            }
            if let Some(threads) = rate.threads
                && threads > self.machine.pus
            {
                return Err((
                    here("threads"),
                    format!(
                        "{threads} is more than the machine's {} PUs (a rate is measured on \
                         threads of their own)",
                        self.machine.pus
                    ),
                ));
            }
            if rate.batch == Some(0) {
                return Err((here("batch"), "must be at least 1".into()));
            }
            if let Some([lo, hi]) = rate.spread
                && !(lo <= rate.value && rate.value <= hi)
            {
                return Err((
                    here("spread"),
                    format!(
                        "[{}, {}] does not contain the value {}",
                        compact(lo),
                        compact(hi),
                        compact(rate.value)
                    ),
                ));
            }
            // A figure without a thread count (nor batch) stands for the one-thread point: given
            // beside a `threads = 1` one, it was passed over (a `threads` line lost, and a
            // two-thread point with it, planned on without a word).
            let threads = |r: &Rate| match (r.threads, r.batch) {
                (None, None) => Some(1),
                (threads, _) => threads,
            };
            let twice = self.rates[..i].iter().any(|r| {
                r.name == rate.name
                    && threads(r) == threads(rate)
                    && r.batch == rate.batch
                    && r.ued_tx_per_slot == rate.ued_tx_per_slot
            });
            if twice {
                return Err((
                    here("name"),
                    format!(
                        "`{}` is given twice at the same threads, batch and UED load (one \
                         without a thread count stands for one thread)",
                        rate.name
                    ),
                ));
            }
        }
        if let Some(p) = &self.pipeline
            && !(p.sustained_tps.is_finite() && p.sustained_tps > 0.0)
        {
            return Err((
                "pipeline.sustained_tps".into(),
                format!("{} is not a positive number", compact(p.sustained_tps)),
            ));
        }
        if let Some(p) = &self.pipeline
            && p.sustained_tps > RATE_MAX
        {
            return Err((
                "pipeline.sustained_tps".into(),
                format!(
                    "{} is more than {}: past any machine",
                    compact(p.sustained_tps),
                    compact(RATE_MAX)
                ),
            ));
        }
        Ok(())
    }

    /// The profile as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a profile is plain data")
    }

    /// The rate `name` at `threads` (`None`: the one without a thread count), if measured.
    pub fn rate(&self, name: &str, threads: Option<u32>) -> Option<&Rate> {
        self.rates.iter().find(|r| {
            r.name == name
                && r.threads == threads
                && r.batch.is_none()
                && r.ued_tx_per_slot.is_none()
        })
    }

    /// The points of a rate measured by thread count, sorted by threads.
    pub fn scaling(&self, name: &str) -> Vec<(u32, f64)> {
        self.points(name, |r| r.threads.filter(|_| r.batch.is_none()))
    }

    /// The points of a rate measured by batch size, sorted by batch.
    pub fn by_batch(&self, name: &str) -> Vec<(u32, f64)> {
        self.points(name, |r| r.batch)
    }

    /// The points of a rate measured against the UED's load (user transfers per block), sorted
    /// by load.
    pub fn by_ued_load(&self, name: &str) -> Vec<(u32, f64)> {
        self.points(name, |r| r.ued_tx_per_slot)
    }

    /// `(x, value)` of the rates `name` that `x` gives a point, sorted by `x`.
    fn points(&self, name: &str, x: impl Fn(&Rate) -> Option<u32>) -> Vec<(u32, f64)> {
        let mut points: Vec<(u32, f64)> = self
            .rates
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| x(r).map(|x| (x, r.value)))
            .collect();
        points.sort_by_key(|&(x, _)| x);
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[machine]
kind = "test"
cpu_model = "a test CPU"
cores = 2
pus = 2
numa_nodes = 1
gpu_hardware = false

[tandem]
version = "0.1.0"
commit = "abc"

[[rate]]
name = "sigverify.cpu.unique"
threads = 1
value = 20000.0
unit = "signatures/s"
spread = [19000.0, 21000.0]
runs = 3
how = "test"

[[rate]]
name = "sigverify.cpu.unique"
threads = 2
value = 38000.0
unit = "signatures/s"
how = "test"

[pipeline]
sustained_tps = 1000.0
"#;

    #[test]
    fn a_profile_round_trips_and_answers_by_threads() {
        let profile = Profile::parse(GOOD, "good.toml").expect("valid");
        assert_eq!(
            profile.scaling(names::SIGVERIFY_UNIQUE),
            [(1, 20000.0), (2, 38000.0)]
        );
        assert_eq!(
            profile
                .rate(names::SIGVERIFY_UNIQUE, Some(2))
                .map(|r| r.value),
            Some(38000.0)
        );
        let again = Profile::parse(&profile.to_toml(), "again.toml").expect("round trip");
        assert_eq!(again, profile);
    }

    #[test]
    fn figures_against_the_ued_load_are_told_apart_by_it() {
        let loaded = GOOD.replace(
            "[pipeline]",
            r#"[[rate]]
name = "isolation.time_to_vote_p50"
ued_tx_per_slot = 0
value = 20.0
unit = "ms"
how = "test"

[[rate]]
name = "isolation.time_to_vote_p50"
ued_tx_per_slot = 2000
value = 22.0
unit = "ms"
how = "test"

[pipeline]"#,
        );
        let profile = Profile::parse(&loaded, "load.toml").expect("valid");
        assert_eq!(
            profile.by_ued_load("isolation.time_to_vote_p50"),
            [(0, 20.0), (2000, 22.0)]
        );
        assert_eq!(profile.rate("isolation.time_to_vote_p50", None), None);
        let twice = loaded.replace("ued_tx_per_slot = 2000", "ued_tx_per_slot = 0");
        assert!(
            Profile::parse(&twice, "p.toml")
                .expect_err("refused")
                .to_string()
                .contains("given twice")
        );
    }

    fn error(text: &str) -> String {
        Profile::parse(text, "p.toml")
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn a_missing_or_wrong_field_is_named() {
        assert_eq!(
            error(&GOOD.replace("cores = 2\n", "")),
            "p.toml: machine: missing field `cores`"
        );
        // Left out, a hardware GPU would be planned as none.
        assert_eq!(
            error(&GOOD.replace("gpu_hardware = false\n", "")),
            "p.toml: machine: missing field `gpu_hardware`"
        );
        assert_eq!(
            error(&GOOD.replace("value = 38000.0\n", "")),
            "p.toml: rate[1]: missing field `value`"
        );
        assert_eq!(
            error(&GOOD.replace("cores = 2", "cores = \"two\"")),
            "p.toml: machine.cores: invalid type: string \"two\", expected u32"
        );
        assert_eq!(
            error(&GOOD.replace("cores = 2", "cores = 0")),
            "p.toml: machine.cores: must be at least 1"
        );
        // The planner tries every split of the cores: 2^32 of them made one 51 GB allocation.
        assert_eq!(
            error(&GOOD.replace("cores = 2", "cores = 4294967295")),
            "p.toml: machine.cores: 4294967295 is more than the machine's 2 PUs"
        );
        // A misspelt key was ignored: `thread` made a rate a thread count's that it is not.
        assert!(
            error(&GOOD.replace("threads = 2", "thread = 2")).contains("unknown field `thread`"),
            "{}",
            error(&GOOD.replace("threads = 2", "thread = 2"))
        );
        assert_eq!(
            error(&GOOD.replace("value = 38000.0", "value = -1.0")),
            "p.toml: rate[1].value: -1 is not a positive number"
        );
        assert_eq!(
            error(&GOOD.replace("spread = [19000.0, 21000.0]", "spread = [1.0, 2.0]")),
            "p.toml: rate[0].spread: [1, 2] does not contain the value 20000"
        );
        assert_eq!(
            error(&GOOD.replace("threads = 2", "threads = 1")),
            "p.toml: rate[1].name: `sigverify.cpu.unique` is given twice at the same threads, batch and UED load (one without a thread count stands for one thread)"
        );
        // A `threads` line lost: that figure stood for one thread beside the measured one, and
        // was passed over.
        assert_eq!(
            error(&GOOD.replace("threads = 2\n", "")),
            "p.toml: rate[1].name: `sigverify.cpu.unique` is given twice at the same threads, batch and UED load (one without a thread count stands for one thread)"
        );
        // A misspelt name the planner reads was passed over, the plan made without it.
        for (misspelt, meant) in [
            ("sigverify.cpu.uniqeu", "sigverify.cpu.unique"),
            ("executor.ued.slot", "executor.ued.slots"),
            ("lthash.cpu.acounts", "lthash.cpu.accounts"),
        ] {
            let text = GOOD.replacen("sigverify.cpu.unique", misspelt, 1);
            let err = error(&text);
            assert!(
                err.contains(&format!(
                    "`{misspelt}` is not a rate the planner reads: `{meant}`?"
                )),
                "{err}"
            );
        }
        // The figures the suite writes that the planner does not read are no misspellings.
        for name in [
            "pipeline.sustained",
            "pipeline.efficiency",
            "pipeline.efficiency_beside",
            "pipeline.executor_alone",
            "pipeline.max_ued_lag",
            "pipeline.sigverify_ued_alone",
            "pipeline.time_to_vote_p50",
            "pipeline.time_to_vote_p99",
            "isolation.loaded_over_idle_p50",
            "isolation.loaded_over_idle_p99",
            "isolation.time_to_vote_p50",
            "isolation.time_to_vote_p99",
        ] {
            assert_eq!(names::misspelt(name), None, "{name}");
        }
        for (name, _) in names::UNITS {
            assert_eq!(names::misspelt(name), None, "{name}");
        }
        // Any unit was taken: a profile in other units planned as if it were in these.
        assert_eq!(
            error(&GOOD.replace(
                "value = 38000.0\nunit = \"signatures/s\"",
                "value = 38.0\nunit = \"Ksignatures/s\""
            )),
            "p.toml: rate[1].unit: `sigverify.cpu.unique` is measured in signatures/s, not \
             \"Ksignatures/s\" (the planner reads it as signatures/s)"
        );
        assert!(error("[machine").starts_with("p.toml: (the file): not TOML"));
        assert_eq!(
            error(&GOOD.replace("sustained_tps = 1000.0", "sustained_tps = 0.0")),
            "p.toml: pipeline.sustained_tps: 0 is not a positive number"
        );
        // A rate whose time per item is infinite, a thread count the machine lacks, a memory
        // size of no machine: each planned before, none measured.
        assert_eq!(
            error(&GOOD.replace("value = 38000.0", "value = 1e-320")),
            "p.toml: rate[1].value: 1e-320 is not a positive number"
        );
        assert_eq!(
            error(&GOOD.replace("threads = 2", "threads = 3")),
            "p.toml: rate[1].threads: 3 is more than the machine's 2 PUs (a rate is measured \
             on threads of their own)"
        );
        assert_eq!(
            error(&GOOD.replace("pus = 2", "pus = 2\nmemory_gib = -4.0")),
            "p.toml: machine.memory_gib: -4 is not a positive number"
        );
    }

    #[test]
    fn a_core_count_names_the_limit_it_passes() {
        assert_eq!(
            error(&GOOD.replace("cores = 2\npus = 2", "cores = 100000\npus = 100000")),
            "p.toml: machine.cores: 100000 is more than the planner's limit of 1024 cores"
        );
        assert_eq!(
            error(&GOOD.replace("cores = 2\npus = 2", "cores = 3\npus = 2")),
            "p.toml: machine.cores: 3 is more than the machine's 2 PUs"
        );
    }

    #[test]
    fn figures_past_any_machine_and_malformed_runs_are_refused() {
        // Found by black-box testing: each was accepted (planned as numbers of 300 digits, or
        // read in part).
        assert_eq!(
            error(&GOOD.replace("value = 38000.0", "value = 1e308")),
            "p.toml: rate[1].value: 1e308 is more than 1e12 a second: past any machine"
        );
        assert_eq!(
            error(&GOOD.replace("sustained_tps = 1000.0", "sustained_tps = 1e300")),
            "p.toml: pipeline.sustained_tps: 1e300 is more than 1e12: past any machine"
        );
        assert_eq!(
            error(&GOOD.replace("value = 20000.0", "value = 5e11")),
            "p.toml: rate[0].spread: [19000, 21000] does not contain the value 5e11"
        );
        assert_eq!(
            error(&GOOD.replace("runs = 3", "runs = 0")),
            "p.toml: rate[0].runs: must be at least 1"
        );
        assert_eq!(
            error(&GOOD.replace("threads = 2", "threads = 2\nbatch = 64")),
            "p.toml: rate[1].batch: a rate is measured by threads or by batch, not both"
        );
        // serde's "invalid value: integer `4294967296`, expected u32" before.
        assert_eq!(
            error(&format!("{GOOD}\n[auto]\ngpu_min_items = 4294967296\n")),
            "p.toml: auto.gpu_min_items: 4294967296 is more than the field holds (4294967295)"
        );
        assert_eq!(
            error(&GOOD.replace("threads = 2", "threads = -2")),
            "p.toml: rate[1].threads: -2 is negative"
        );
        assert_eq!(
            error(&GOOD.replace("threads = 2", "threads = 2\nued_tx_per_slot = 20000")),
            "p.toml: rate[1].ued_tx_per_slot: `sigverify.cpu.unique` is not measured against \
             the UED's load (only time-to-vote is)"
        );
        let three = error(&GOOD.replace(
            "spread = [19000.0, 21000.0]",
            "spread = [19000.0, 20000.0, 21000.0]",
        ));
        assert!(
            three.contains("a spread is [smallest, largest]: two numbers, not 3"),
            "{three}"
        );
    }
}

/// Hand-made profiles for the tests of the planner and of the suite's output.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Machine, Profile, Rate, TandemBuild, names};

    pub(crate) fn rate(name: &str, threads: Option<u32>, value: f64) -> Rate {
        Rate {
            name: name.to_owned(),
            threads,
            batch: None,
            ued_tx_per_slot: None,
            value,
            unit: names::unit(name).unwrap_or("per second").to_owned(),
            spread: None,
            runs: None,
            how: "hand-made".to_owned(),
        }
    }

    /// A hand-made 4-core machine: sigverify 20,000/s on 1 thread and 36,000/s on 2 (90 % per
    /// thread), the UED 100,000 transfers/s on 1 and 180,000/s on 2, votes verified at 50,000/s
    /// and executed at 200,000/s (40,000/s both), LtHash 400,000 accounts/s.
    pub(crate) fn profile(cores: u32) -> Profile {
        Profile {
            machine: Machine {
                kind: "hand-made".into(),
                cpu_model: "test".into(),
                cores,
                pus: cores,
                numa_nodes: 1,
                memory_gib: None,
                isa: vec![],
                gpu_adapter: None,
                gpu_driver: None,
                gpu_hardware: false,
                notes: None,
            },
            tandem: TandemBuild {
                version: "0".into(),
                commit: "x".into(),
                measured_at: None,
                suite: None,
            },
            rates: vec![
                rate(names::SIGVERIFY_UNIQUE, Some(1), 20_000.0),
                rate(names::SIGVERIFY_UNIQUE, Some(2), 36_000.0),
                rate(names::UED_TRANSFERS, Some(1), 100_000.0),
                rate(names::UED_TRANSFERS, Some(2), 180_000.0),
                rate(names::SIGVERIFY_RECURRING, Some(1), 50_000.0),
                rate(names::VED_VOTES, Some(1), 200_000.0),
                rate(names::LTHASH, Some(1), 400_000.0),
            ],
            pipeline: None,
            auto: None,
        }
    }
}
