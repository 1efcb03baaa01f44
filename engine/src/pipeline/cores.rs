//! The `cores` setting: `--cores "sigverify=0-3;ved=4;ued=5-11;hash=12"` on the command line,
//! or the same string under a config's `cores` key. Numbers are PUs by OS index; stages it does
//! not name keep the automatic plan. Every error names the setting and the part that is wrong.
//!
//! Parsing only checks the syntax; [`CoreSpec::check`] compares with a machine.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use super::placement::Stage;
use super::topology::{Topology, format_cpus};

/// A wrong `cores` setting; every message starts with the setting's name and quotes the part
/// that is wrong, so the reader knows what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CoresError {
    /// Nothing was given.
    #[error("cores: the setting is empty (expected e.g. \"sigverify=0-3;ved=4;ued=5-11;hash=12\")")]
    Empty,
    /// An entry without `=`.
    #[error("cores: `{entry}`: expected STAGE=CORES, e.g. ved=4")]
    NotAnAssignment {
        /// The entry as written.
        entry: String,
    },
    /// A stage name that is not one of [`Stage::ALL`].
    #[error(
        "cores: `{entry}`: unknown stage `{name}` (the stages are sigverify, ved, ued, hash, gpu)"
    )]
    UnknownStage {
        /// The entry as written.
        entry: String,
        /// The name that matched no stage.
        name: String,
    },
    /// A stage given twice.
    #[error("cores: {stage} is given twice")]
    Repeated {
        /// The stage.
        stage: Stage,
    },
    /// `ved=` with no cores.
    #[error("cores: `{entry}`: the set of cores is empty")]
    EmptySet {
        /// The entry as written.
        entry: String,
    },
    /// A part that is neither a number nor `A-B`.
    #[error("cores: {entry}: `{part}` is not a core number or a range like 5-11")]
    BadRange {
        /// The entry as written.
        entry: String,
        /// The comma-separated part that did not parse.
        part: String,
    },
    /// A core number past 65,535, the largest the setting takes.
    #[error("cores: {entry}: core {number} does not exist (the setting takes cores up to 65535)")]
    PastTheLargest {
        /// The entry as written.
        entry: String,
        /// The number as written.
        number: String,
    },
    /// `A-B` with A > B.
    #[error("cores: {entry}: the range {start}-{end} runs backwards (write {end}-{start})")]
    ReversedRange {
        /// The entry as written.
        entry: String,
        /// The range's first number.
        start: usize,
        /// The range's last number.
        end: usize,
    },
    /// A core number this machine does not have.
    #[error("cores: {entry}: core {cpu} does not exist (this machine has PUs {pus})")]
    NoSuchCore {
        /// The entry as written.
        entry: String,
        /// The missing PU.
        cpu: usize,
        /// The machine's PUs, as ranges.
        pus: String,
    },
    /// A core the machine has and a cpuset (a container's, a cgroup's) forbids the process:
    /// before stop 73 it read as one that does not exist.
    #[error(
        "cores: {entry}: core {cpu} is not allowed to this process: a cpuset (its container's \
         or cgroup's) leaves it out; it may use PUs {pus}"
    )]
    ForbiddenCore {
        /// The entry as written.
        entry: String,
        /// The forbidden PU.
        cpu: usize,
        /// The PUs the process may use, as ranges.
        pus: String,
    },
}

/// A parsed `cores` setting: the PUs of each stage it names; the others keep the automatic plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreSpec {
    /// Per stage: the entry as written (for errors) and its PUs, ascending, without repeats.
    entries: BTreeMap<Stage, (String, Vec<usize>)>,
}

impl CoreSpec {
    /// Parses `stage=cores;stage=cores…` where cores are comma-separated numbers and ranges
    /// (`0-3,8`). The syntax only: [`CoreSpec::check`] compares with a machine.
    pub fn parse(text: &str) -> Result<CoreSpec, CoresError> {
        let mut entries = BTreeMap::new();
        // A trailing or doubled `;` is harmless; only a setting with no entry at all is empty.
        for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
            let (name, cores) =
                entry
                    .split_once('=')
                    .ok_or_else(|| CoresError::NotAnAssignment {
                        entry: entry.to_owned(),
                    })?;
            let name = name.trim();
            let stage = Stage::from_setting_name(name).ok_or_else(|| CoresError::UnknownStage {
                entry: entry.to_owned(),
                name: name.to_owned(),
            })?;
            if entries.contains_key(&stage) {
                return Err(CoresError::Repeated { stage });
            }
            let cpus = parse_cpus(entry, cores)?;
            entries.insert(stage, (entry.to_owned(), cpus));
        }
        if entries.is_empty() {
            return Err(CoresError::Empty);
        }
        Ok(CoreSpec { entries })
    }

    /// The PUs the setting gives a stage, if it names it.
    pub fn get(&self, stage: Stage) -> Option<&[usize]> {
        self.entries.get(&stage).map(|(_, cpus)| cpus.as_slice())
    }

    /// The stages the setting names.
    pub fn stages(&self) -> impl Iterator<Item = Stage> + '_ {
        self.entries.keys().copied()
    }

    /// Every PU named must exist on this machine ([`Topology::on_machine`]: also one the
    /// process's main thread is not allowed, which a host may have pinned).
    pub fn check(&self, topology: &Topology) -> Result<(), CoresError> {
        for (entry, cpus) in self.entries.values() {
            if let Some(&cpu) = cpus.iter().find(|&&cpu| !topology.on_machine(cpu)) {
                let (entry, pus) = (entry.clone(), format_cpus(&topology.machine_pus()));
                return Err(match topology.forbidden(cpu) {
                    true => CoresError::ForbiddenCore { entry, cpu, pus },
                    false => CoresError::NoSuchCore { entry, cpu, pus },
                });
            }
        }
        Ok(())
    }
}

impl FromStr for CoreSpec {
    type Err = CoresError;

    fn from_str(text: &str) -> Result<CoreSpec, CoresError> {
        CoreSpec::parse(text)
    }
}

/// A config's `cores = "…"` key reads through the same parser, with the same errors.
impl<'de> serde::Deserialize<'de> for CoreSpec {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<CoreSpec, D::Error> {
        let text = String::deserialize(deserializer)?;
        CoreSpec::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The CPU list of one entry: `0-3,8` (the kernel's list format too: `interrupts` reads
/// `/proc/irq/N/effective_affinity_list` with it).
pub(super) fn parse_cpus(entry: &str, cores: &str) -> Result<Vec<usize>, CoresError> {
    if cores.trim().is_empty() {
        return Err(CoresError::EmptySet {
            entry: entry.to_owned(),
        });
    }
    let bad = |part: &str| CoresError::BadRange {
        entry: entry.to_owned(),
        part: part.to_owned(),
    };
    // u16 bounds a range's length, so a typo like 0-4000000000 cannot allocate gigabytes.
    // Digits only: `parse` also takes a leading `+` (`ved=+1`, `ved=1-+1` read as PU 1).
    let number = |text: &str, part: &str| {
        let text = text.trim();
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(part));
        }
        // Past u16 (or past u64): no machine's core, said as such.
        match text.parse::<u64>() {
            Ok(n) if n <= u64::from(u16::MAX) => Ok(n as usize),
            _ => Err(CoresError::PastTheLargest {
                entry: entry.to_owned(),
                number: text.to_owned(),
            }),
        }
    };
    let mut cpus = BTreeSet::new();
    for part in cores.split(',').map(str::trim) {
        match part.split_once('-') {
            Some((start, end)) => {
                let (start, end) = (number(start, part)?, number(end, part)?);
                if start > end {
                    return Err(CoresError::ReversedRange {
                        entry: entry.to_owned(),
                        start,
                        end,
                    });
                }
                cpus.extend(start..=end);
            }
            None => {
                cpus.insert(number(part, part)?);
            }
        }
    }
    Ok(cpus.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::topology::SyntheticShape;

    fn machine(numa_nodes: usize, cores_per_node: usize) -> Topology {
        Topology::synthetic(SyntheticShape {
            numa_nodes,
            cores_per_node,
            pus_per_core: 1,
            gpu: None,
        })
    }

    #[test]
    fn core_spec_errors_name_the_setting_and_the_problem() {
        let topology = machine(1, 2);
        let err = |text: &str| {
            CoreSpec::parse(text)
                .and_then(|spec| spec.check(&topology))
                .unwrap_err()
        };
        assert_eq!(
            err("ved=7").to_string(),
            "cores: ved=7: core 7 does not exist (this machine has PUs 0-1)"
        );
        // One the kernel has and a cpuset forbids is said as such.
        let mut in_a_cpuset = machine(1, 2);
        in_a_cpuset.forbid(&[1, 2, 3]);
        in_a_cpuset.forbid(&[0]);
        assert!(in_a_cpuset.forbidden(2) && !in_a_cpuset.forbidden(0));
        let forbidden = CoreSpec::parse("ued=1;ved=3").unwrap();
        assert_eq!(
            forbidden.check(&in_a_cpuset).unwrap_err().to_string(),
            "cores: ved=3: core 3 is not allowed to this process: a cpuset (its container's or \
             cgroup's) leaves it out; it may use PUs 0-1"
        );
        assert!(matches!(err("votes=1"), CoresError::UnknownStage { name, .. } if name == "votes"));
        assert!(matches!(err("ved=a"), CoresError::BadRange { part, .. } if part == "a"));
        assert!(matches!(err("ved=1-"), CoresError::BadRange { .. }));
        // Past the largest core the setting takes: said as such (it read as "not a core
        // number or a range"), however many digits.
        assert!(matches!(
            err("ved=0-99999999"),
            CoresError::PastTheLargest { number, .. } if number == "99999999"
        ));
        assert!(matches!(
            err("ved=65536"),
            CoresError::PastTheLargest { .. }
        ));
        assert!(matches!(
            err("ved=0-99999999999999999999999"),
            CoresError::PastTheLargest { .. }
        ));
        assert_eq!(
            err("sigverify=0-1000000000").to_string(),
            "cores: sigverify=0-1000000000: core 1000000000 does not exist (the setting takes \
             cores up to 65535)"
        );
        assert!(matches!(err("ved=+1"), CoresError::BadRange { part, .. } if part == "+1"));
        assert!(matches!(err("ved=1-+1"), CoresError::BadRange { .. }));
        assert!(matches!(
            err("ued=3-1"),
            CoresError::ReversedRange {
                start: 3,
                end: 1,
                ..
            }
        ));
        assert!(matches!(err("ved="), CoresError::EmptySet { .. }));
        assert!(matches!(
            err("ved=0;ved=1"),
            CoresError::Repeated { stage: Stage::Ved }
        ));
        assert!(matches!(err("ved"), CoresError::NotAnAssignment { .. }));
        assert_eq!(err(" ; "), CoresError::Empty);
        for e in [
            err("votes=1"),
            err("ved=a"),
            err("ued=3-1"),
            err("ved="),
            err("ved=0;ved=1"),
            err("ved"),
            err(""),
        ] {
            assert!(e.to_string().starts_with("cores: "), "{e}");
        }
        // Trailing separators, spaces and repeated cores are fine.
        let spec = CoreSpec::parse(" ved = 1 ; ued=0,0-1; ").unwrap();
        assert_eq!(spec.get(Stage::Ued), Some(&[0, 1][..]));
        assert_eq!(spec.get(Stage::Hash), None);
    }

    #[test]
    fn a_config_key_reads_through_the_same_parser() {
        #[derive(serde::Deserialize)]
        struct Config {
            cores: CoreSpec,
        }
        let config: Config = toml::from_str("cores = \"ved=4;ued=5-11\"").unwrap();
        assert_eq!(config.cores.get(Stage::Ved), Some(&[4][..]));
        let err = toml::from_str::<Config>("cores = \"ved=4-2\"")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("cores: ved=4-2: the range 4-2 runs backwards"),
            "{err}"
        );
    }
}
