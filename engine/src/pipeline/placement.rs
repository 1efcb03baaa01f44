//! Where each pipeline stage runs: one plan computed from the [`Topology`], overridable stage by
//! stage with the `cores` setting ([`CoreSpec`]).
//!
//! The rules, in order of importance:
//! - the VED never waits on user work: on a machine with a core per stage it has a core of its
//!   own; on a small one it shares with the per-slot hash and, last, with the UED, whose
//!   threads run in the `SCHED_IDLE` class and so take only the cycles the VED leaves;
//! - the VED and sigverify cores start on the same NUMA node, so votes are verified where they
//!   execute; the GPU feeder sits on the GPU's node where hwloc knows it;
//! - a core's SMT siblings go to one stage: two stages on one core contend as much as on one PU;
//! - what remains goes to sigverify (a third) and the UED (the rest): the bulk of the work;
//! - a core that takes most of a disk's interrupts ([`Topology::mark_disk_interrupts`]) goes to
//!   the UED, whose commits' syncs they complete: the other stages take the other cores first,
//!   and on a small machine the UED's group trades cores with the group that got it (on two
//!   cores the VED shares it with the UED, and sigverify keeps the other).
//!
//! A plan's numbers are PUs by their OS index (the kernel's CPU numbers, as `taskset` and
//! `lscpu` print them). The plan describes; only [`pin_current_thread`] touches a thread.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use super::cores::{CoreSpec, CoresError};
use super::pin::{PinError, pin_current_thread, pin_current_thread_to_set};
use super::topology::{Core, Topology, format_cpus, pus_label};

/// A pipeline stage that gets threads of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Signature verification of votes and user transactions.
    Sigverify,
    /// The vote execution domain's executor.
    Ved,
    /// The user execution domain's executors.
    Ued,
    /// The per-slot LtHash and block hashing.
    Hash,
    /// The thread that batches work for the GPU and collects its results.
    GpuFeeder,
}

impl Stage {
    /// Every stage, in the order plans list them.
    pub const ALL: [Stage; 5] = [
        Stage::Sigverify,
        Stage::Ved,
        Stage::Ued,
        Stage::Hash,
        Stage::GpuFeeder,
    ];

    /// The stage's name in the `cores` setting and in printed plans.
    pub fn setting_name(self) -> &'static str {
        match self {
            Stage::Sigverify => "sigverify",
            Stage::Ved => "ved",
            Stage::Ued => "ued",
            Stage::Hash => "hash",
            Stage::GpuFeeder => "gpu",
        }
    }

    /// The stage a `cores` setting name means.
    pub fn from_setting_name(name: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|s| s.setting_name() == name)
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.setting_name())
    }
}

/// Who chose a stage's PUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The automatic plan.
    Automatic,
    /// The `cores` setting.
    Setting,
}

/// One stage's place: the PUs its threads are pinned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StagePlacement {
    /// The stage.
    pub stage: Stage,
    /// Its PUs by OS index, ascending; one thread per PU.
    pub cpus: Vec<usize>,
    /// Whether the plan or the `cores` setting chose them.
    pub origin: Origin,
}

/// A sentence of the plan and the stages it speaks of (it is dropped when the `cores` setting
/// moves any of them, since it would no longer be true).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Note {
    about: Vec<Stage>,
    text: String,
}

/// The plan: per stage its PUs, and notes saying which stages share cores and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placement {
    stages: Vec<StagePlacement>,
    notes: Vec<Note>,
}

/// Free cores per NUMA node (cores of unknown node last), taken front first; on each node the
/// cores that take a disk's interrupts come last, so that the stages taken first (the VED, the
/// hash, sigverify) get the others and the UED, which takes what is left, gets them.
struct FreeCores<'t> {
    by_node: BTreeMap<usize, VecDeque<&'t Core>>,
}

impl<'t> FreeCores<'t> {
    fn new(topology: &'t Topology) -> FreeCores<'t> {
        let mut by_node: BTreeMap<usize, VecDeque<&Core>> = BTreeMap::new();
        let (quiet, interrupted): (Vec<&Core>, Vec<&Core>) = topology
            .cores()
            .iter()
            .partition(|core| !topology.takes_disk_interrupts(core));
        for core in quiet.into_iter().chain(interrupted) {
            by_node
                .entry(core.numa_node.unwrap_or(usize::MAX))
                .or_default()
                .push_back(core);
        }
        FreeCores { by_node }
    }

    fn count(&self) -> usize {
        self.by_node.values().map(VecDeque::len).sum()
    }

    /// A core of this node, if one is free.
    fn take_on(&mut self, node: usize) -> Option<&'t Core> {
        self.by_node.get_mut(&node)?.pop_front()
    }

    /// A core of the node with the most free cores (the lowest node on a tie).
    fn take_roomiest(&mut self) -> Option<&'t Core> {
        let node = self
            .by_node
            .iter()
            .filter(|(_, cores)| !cores.is_empty())
            .max_by_key(|(node, cores)| (cores.len(), std::cmp::Reverse(**node)))
            .map(|(node, _)| *node)?;
        self.take_on(node)
    }

    /// A core of `node` where one is free, else of the roomiest node.
    fn take_near(&mut self, node: usize) -> Option<&'t Core> {
        self.take_on(node).or_else(|| self.take_roomiest())
    }

    /// Every free core, node by node.
    fn drain(&mut self) -> Vec<&'t Core> {
        self.by_node
            .values_mut()
            .flat_map(|cores| cores.drain(..))
            .collect()
    }
}

fn pus_of(cores: &[&Core]) -> Vec<usize> {
    let mut pus: Vec<usize> = cores.iter().flat_map(|c| c.pus.iter().copied()).collect();
    pus.sort_unstable();
    pus
}

fn node_name(node: usize) -> String {
    if node == usize::MAX {
        "an unknown NUMA node".to_owned()
    } else {
        format!("NUMA node {node}")
    }
}

impl Placement {
    /// The automatic plan for this machine; `gpu_present` adds the GPU feeder.
    pub fn plan(topology: &Topology, gpu_present: bool) -> Placement {
        let mut stages = vec![Stage::Sigverify, Stage::Ved, Stage::Ued, Stage::Hash];
        if gpu_present {
            stages.push(Stage::GpuFeeder);
        }
        let mut free = FreeCores::new(topology);
        let ved_node = free.by_node.keys().next().copied().unwrap_or(0);
        let mut placement = if free.count() >= stages.len() {
            Placement::plan_own_cores(topology, &mut free, ved_node, gpu_present)
        } else {
            Placement::plan_shared_cores(topology, &mut free, &stages)
        };
        placement.note_disk_interrupts(topology);
        if topology.cores().iter().any(|c| c.pus.len() > 1) {
            placement.note(
                &Stage::ALL,
                "SMT: a core's sibling PUs go to one stage, never to two".to_owned(),
            );
        }
        placement
    }

    /// A machine with a core for each stage: VED and hash one each, the feeder one on the GPU's
    /// node, sigverify a third of the rest from the VED's node on, the UED the remainder.
    fn plan_own_cores(
        topology: &Topology,
        free: &mut FreeCores<'_>,
        ved_node: usize,
        gpu_present: bool,
    ) -> Placement {
        let mut placement = Placement::empty();
        let ved: Vec<&Core> = free.take_near(ved_node).into_iter().collect();
        placement.set(Stage::Ved, pus_of(&ved));
        placement.note(
            &[Stage::Ved],
            format!(
                "ved has a core to itself ({}): votes never wait on user work",
                pus_label(&pus_of(&ved))
            ),
        );
        if gpu_present {
            let gpu_node = topology.gpu_numa_node();
            let core = match gpu_node.and_then(|node| free.take_on(node)) {
                Some(core) => {
                    placement.note(
                        &[Stage::GpuFeeder],
                        format!(
                            "gpu feeder on {}, the GPU's node (PCI locality): the UED's sigverify thread, which hands the GPU the user signatures",
                            node_name(core.numa_node.unwrap_or(usize::MAX))
                        ),
                    );
                    Some(core)
                }
                None => {
                    let core = free.take_roomiest();
                    let node = core.and_then(|c| c.numa_node).unwrap_or(usize::MAX);
                    let why = match gpu_node {
                        // Known, but the VED took its last core, or the process's mask leaves
                        // it none.
                        Some(gpu) => format!(
                            "the GPU is on {}, which has no core left for it in this process's \
                             CPUs",
                            node_name(gpu)
                        ),
                        None => "the GPU's NUMA node is unknown (hwloc gives no PCI locality for \
                                 it)"
                        .to_owned(),
                    };
                    placement.note(
                        &[Stage::GpuFeeder],
                        format!("{why}: the gpu feeder is on {}", node_name(node)),
                    );
                    core
                }
            };
            placement.set(Stage::GpuFeeder, pus_of(&Vec::from_iter(core)));
        }
        let mut hash: Vec<&Core> = free.take_near(ved_node).into_iter().collect();
        let rest = free.count();
        let sigverify_cores = rest.div_ceil(3).max(1);
        let mut sigverify: Vec<&Core> = (0..sigverify_cores)
            .filter_map(|_| free.take_near(ved_node))
            .collect();
        // Votes are verified on the VED's node before the hash runs there: where the hash took
        // that node's last core and sigverify found none on it, they trade.
        let on_ved_node = |c: &&Core| c.numa_node == Some(ved_node);
        if !sigverify.iter().any(on_ved_node)
            && let (Some(h), Some(first)) = (hash.first_mut(), sigverify.first_mut())
            && on_ved_node(h)
        {
            std::mem::swap(h, first);
        }
        placement.set(Stage::Hash, pus_of(&hash));
        placement.note(
            &[Stage::Hash],
            format!(
                "hash on {}: the UED's threads hash each slot's changed accounts there too",
                pus_label(&pus_of(&hash))
            ),
        );
        placement.set(Stage::Sigverify, pus_of(&sigverify));
        if free.by_node.len() > 1 {
            let local = sigverify
                .iter()
                .filter(|c| c.numa_node.unwrap_or(usize::MAX) == ved_node)
                .count();
            placement.note(
                &[Stage::Ved, Stage::Sigverify],
                format!(
                    "ved and {local} of sigverify's {} cores are on {}: votes are verified on the node where they execute",
                    sigverify.len(),
                    node_name(ved_node)
                ),
            );
        }
        placement.set(Stage::Ued, pus_of(&free.drain()));
        placement
    }

    /// A machine with fewer cores than stages: stages are merged, one core per group, in the
    /// order that costs the votes least.
    fn plan_shared_cores(
        topology: &Topology,
        free: &mut FreeCores<'_>,
        stages: &[Stage],
    ) -> Placement {
        let cores = free.drain();
        let mut groups: Vec<Vec<Stage>> = [Stage::Ved, Stage::Hash, Stage::Sigverify, Stage::Ued]
            .into_iter()
            .chain(
                stages
                    .contains(&Stage::GpuFeeder)
                    .then_some(Stage::GpuFeeder),
            )
            .map(|s| vec![s])
            .collect();
        let mut reasons: Vec<(Vec<Stage>, &str)> = Vec::new();
        // Each step merges two groups; the order is the order of least harm.
        let merges: [(Stage, Stage, &str); 3] = [
            (
                Stage::Sigverify,
                Stage::GpuFeeder,
                "the feeder mostly waits on the GPU, and what it feeds is sigverify's batches",
            ),
            (
                Stage::Ved,
                Stage::Hash,
                "the hash runs briefly once per slot, on the executors' own threads",
            ),
            (
                Stage::Ved,
                Stage::Ued,
                "the UED's threads run in the SCHED_IDLE class, so they take only the cycles the VED leaves, and sigverify — the bulk of the user work, where votes are verified first — keeps a core of its own",
            ),
        ];
        for (into, from, why) in merges {
            if groups.len() <= cores.len().max(1) {
                break;
            }
            let (Some(a), Some(b)) = (
                groups.iter().position(|g| g.contains(&into)),
                groups.iter().position(|g| g.contains(&from)),
            ) else {
                continue;
            };
            let moved = groups.remove(b);
            let a = if b < a { a - 1 } else { a };
            groups[a].extend(moved);
            reasons.push((vec![into, from], why));
        }
        let mut placement = Placement::empty();
        placement.note(
            &Stage::ALL,
            format!(
                "small machine: {} core{} for {} stages, so stages share cores",
                cores.len(),
                if cores.len() == 1 { "" } else { "s" },
                stages.len()
            ),
        );
        if groups.len() > cores.len() {
            // One core (or none known): everything runs there.
            let pus = pus_of(&cores);
            for &stage in stages {
                placement.set(stage, pus.clone());
            }
            placement.note(
                &Stage::ALL,
                format!(
                    "every stage shares one core ({}): votes wait on user work",
                    pus_label(&pus)
                ),
            );
            return placement;
        }
        let mut cores: Vec<&Core> = cores.into_iter().take(groups.len()).collect();
        // The cores come with those that take a disk's interrupts last: where the UED's group
        // would get one of the others while another group gets one of those, the two trade.
        let ued_group = groups.iter().position(|g| g.contains(&Stage::Ued));
        let interrupted = cores
            .iter()
            .position(|core| topology.takes_disk_interrupts(core));
        if let (Some(ued), Some(interrupted)) = (ued_group, interrupted)
            && !topology.takes_disk_interrupts(cores[ued])
        {
            cores.swap(ued, interrupted);
        }
        for (group, core) in groups.iter().zip(&cores) {
            for &stage in group {
                placement.set(stage, core.pus.clone());
            }
        }
        for (pair, why) in reasons {
            let cpus = placement.cpus(pair[0]).map(pus_label).unwrap_or_default();
            placement.note(
                &pair,
                format!("{} and {} share a core ({cpus}): {why}", pair[0], pair[1]),
            );
        }
        placement
    }

    /// The automatic plan with the stages the setting names moved to its cores; a core this
    /// machine lacks is an error naming the setting.
    pub fn with_cores(
        topology: &Topology,
        gpu_present: bool,
        spec: &CoreSpec,
    ) -> Result<Placement, CoresError> {
        spec.check(topology)?;
        let mut placement = Placement::plan(topology, gpu_present);
        let mut moved = Vec::new();
        for stage in spec.stages() {
            let Some(cpus) = spec.get(stage) else {
                continue;
            };
            if stage == Stage::GpuFeeder && !gpu_present {
                placement.note(
                    &[],
                    format!(
                        "cores: gpu={} is unused: no hardware GPU is in use (a software one such \
                         as lavapipe is driven from the stages' own threads), so no gpu feeder \
                         runs",
                        format_cpus(cpus)
                    ),
                );
                continue;
            }
            placement.set(stage, cpus.to_vec());
            if let Some(s) = placement.stages.iter_mut().find(|s| s.stage == stage) {
                s.origin = Origin::Setting;
            }
            moved.push(stage);
        }
        if moved.is_empty() {
            return Ok(placement);
        }
        // A note stays only where none of its stages moved or now shares a core with one
        // that did ("sigverify keeps a core of its own" outlived sigverify set on the VED's).
        let core_of = |pu: usize| topology.cores().iter().position(|c| c.pus.contains(&pu));
        // (A PU in no core of the topology stands for itself.)
        let cores_of = |stage: Stage| -> Vec<usize> {
            placement
                .cpus(stage)
                .unwrap_or_default()
                .iter()
                .map(|&pu| core_of(pu).unwrap_or(usize::MAX - pu))
                .collect()
        };
        let touched: Vec<Stage> = placement
            .stages
            .iter()
            .map(|s| s.stage)
            .filter(|&s| {
                moved.contains(&s)
                    || moved
                        .iter()
                        .any(|&m| cores_of(m).iter().any(|c| cores_of(s).contains(c)))
            })
            .collect();
        placement
            .notes
            .retain(|n| !n.about.iter().any(|s| touched.contains(s)));
        placement.note(
            &[],
            format!(
                "set by the cores setting: {}; the other stages keep the automatic plan",
                moved
                    .iter()
                    .map(|s| format!("{s}={}", format_cpus(spec.get(*s).unwrap_or_default())))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        let stages: Vec<Stage> = placement.stages.iter().map(|s| s.stage).collect();
        for (i, &a) in stages.iter().enumerate() {
            for &b in &stages[i + 1..] {
                if !moved.contains(&a) && !moved.contains(&b) {
                    continue;
                }
                let votes_wait = [a, b].contains(&Stage::Ved)
                    && [a, b]
                        .iter()
                        .any(|s| matches!(s, Stage::Ued | Stage::Sigverify));
                let wait = if votes_wait {
                    ": votes may wait on user work there"
                } else {
                    ""
                };
                let shared = placement.shared_cpus(a, b);
                if !shared.is_empty() {
                    placement.note(
                        &[],
                        format!(
                            "{a} and {b} share {} by the cores setting{wait}",
                            pus_label(&shared)
                        ),
                    );
                    continue;
                }
                // Other PUs of one core (SMT siblings) share the core's execution units.
                let (a_pus, b_pus) = (
                    placement.cpus(a).unwrap_or_default(),
                    placement.cpus(b).unwrap_or_default(),
                );
                let siblings: Vec<(usize, usize)> = a_pus
                    .iter()
                    .flat_map(|&x| b_pus.iter().map(move |&y| (x, y)))
                    .filter(|&(x, y)| core_of(x).is_some() && core_of(x) == core_of(y))
                    .collect();
                if let Some(&(x, y)) = siblings.first() {
                    placement.note(
                        &[],
                        format!(
                            "{a} and {b} run on SMT siblings of one core (PUs {x} and {y}) by the \
                             cores setting{wait}"
                        ),
                    );
                }
            }
        }
        Ok(placement)
    }

    /// Says where the disks' interrupts went in the plan: to the UED's core (which the
    /// `FreeCores` order and the small machine's trade arrange), or, where the UED had no core
    /// to give, to the stages there. Dropped when the cores setting moves any stage.
    fn note_disk_interrupts(&mut self, topology: &Topology) {
        for (pu, device) in topology.disk_interrupts() {
            let here: Vec<Stage> = self
                .stages
                .iter()
                .filter(|s| s.cpus.contains(pu))
                .map(|s| s.stage)
                .collect();
            // Nothing runs there, or everything does (one core): nothing to say.
            if here.is_empty() || (here.contains(&Stage::Ued) && here.contains(&Stage::Sigverify)) {
                continue;
            }
            let others: Vec<String> = here
                .iter()
                .filter(|&&s| s != Stage::Ued)
                .map(|s| s.to_string())
                .collect();
            let text = if !here.contains(&Stage::Ued) {
                format!(
                    "the disk {device}'s interrupts go to {}, where {} run{}: the \
                     plan had no core of the UED's to put there",
                    pus_label(&[*pu]),
                    others.join(" and "),
                    if others.len() == 1 { "s" } else { "" },
                )
            } else if others.is_empty() {
                format!(
                    "the disk {device}'s interrupts go to {}: the plan gives that \
                     core to the UED, whose commits' syncs they complete, and the votes and user \
                     signatures other cores",
                    pus_label(&[*pu])
                )
            } else {
                format!(
                    "the disk {device}'s interrupts go to {}: the plan gives that \
                     core to the UED, whose commits' syncs they complete, and sigverify another \
                     ({} share{} the UED's core here)",
                    pus_label(&[*pu]),
                    others.join(" and "),
                    if others.len() == 1 { "s" } else { "" },
                )
            };
            self.note(&Stage::ALL, text);
        }
    }

    fn empty() -> Placement {
        Placement {
            stages: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Sets a stage's PUs, keeping [`Stage::ALL`] order.
    fn set(&mut self, stage: Stage, cpus: Vec<usize>) {
        match self.stages.iter_mut().find(|s| s.stage == stage) {
            Some(s) => s.cpus = cpus,
            None => {
                self.stages.push(StagePlacement {
                    stage,
                    cpus,
                    origin: Origin::Automatic,
                });
                self.stages.sort_by_key(|s| s.stage);
            }
        }
    }

    fn note(&mut self, about: &[Stage], text: String) {
        self.notes.push(Note {
            about: about.to_vec(),
            text,
        });
    }

    /// The stages that run, with their PUs, in [`Stage::ALL`] order.
    pub fn stages(&self) -> &[StagePlacement] {
        &self.stages
    }

    /// A stage's PUs; `None` for a stage that does not run (the GPU feeder without a GPU).
    pub fn cpus(&self, stage: Stage) -> Option<&[usize]> {
        self.stages
            .iter()
            .find(|s| s.stage == stage)
            .map(|s| s.cpus.as_slice())
    }

    fn shared_cpus(&self, a: Stage, b: Stage) -> Vec<usize> {
        let (Some(a), Some(b)) = (self.cpus(a), self.cpus(b)) else {
            return Vec::new();
        };
        a.iter().copied().filter(|cpu| b.contains(cpu)).collect()
    }

    /// The other stages with at least one PU in common with `stage`.
    pub fn shared_with(&self, stage: Stage) -> Vec<Stage> {
        self.stages
            .iter()
            .map(|s| s.stage)
            .filter(|&other| other != stage && !self.shared_cpus(stage, other).is_empty())
            .collect()
    }

    /// Sentences for people: which stages share cores and why, where the VED and the feeder are.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.notes.iter().map(|n| n.text.as_str())
    }

    /// Lets the calling thread run on every PU of `stage` (and only those); threads it spawns
    /// inherit the mask.
    pub fn pin_thread_to_stage(&self, stage: Stage) -> Result<(), PinError> {
        let cpus = match stage {
            // The UED's thread, and the threads it starts, hash on the hash stage's PUs too.
            Stage::Ued => self.ued_side_cpus(),
            _ => self.cpus(stage).unwrap_or_default().to_vec(),
        };
        if cpus.is_empty() {
            return Err(PinError::NoCores { stage });
        }
        pin_current_thread_to_set(&cpus).map_err(|e| e.of_stage(stage))
    }

    /// The PUs of the UED's threads: the `ued` stage's, and those of the `hash` stage that are
    /// not the VED's, where the UED's threads hash each slot's changed accounts (the VED's
    /// hashing is on the VED's thread and its helpers on the sigverify stage's other PUs;
    /// where the hash shares the VED's core, as on a small machine, the UED's threads stay
    /// where the UED stage is).
    pub fn ued_side_cpus(&self) -> Vec<usize> {
        let mut cpus = self.cpus(Stage::Ued).unwrap_or_default().to_vec();
        cpus.extend(self.hash_cpus_beside_the_ued_list());
        cpus.sort_unstable();
        cpus.dedup();
        cpus
    }

    /// How many PUs the `hash` stage adds to the UED's threads ([`Placement::ued_side_cpus`]).
    pub fn hash_cpus_beside_the_ued(&self) -> usize {
        self.hash_cpus_beside_the_ued_list().len()
    }

    fn hash_cpus_beside_the_ued_list(&self) -> Vec<usize> {
        let ued = self.cpus(Stage::Ued).unwrap_or_default();
        let ved = self.cpus(Stage::Ved).unwrap_or_default();
        let hash = self.cpus(Stage::Hash).unwrap_or_default();
        hash.iter()
            .copied()
            .filter(|pu| !ued.contains(pu) && !ved.contains(pu))
            .collect()
    }

    /// Where the UED's signatures are verified: the stage its sigverify thread is pinned to,
    /// and the PUs of its helper threads, one on each. That thread hands the GPU the user
    /// signatures, so where the plan has a GPU feeder it is the feeder — on the GPU's node — and
    /// has a helper on every sigverify PU; elsewhere it runs on sigverify's PUs with a helper on
    /// each but one. (Its helpers verify only batches that stay on the CPU.)
    pub fn user_sigverify(&self) -> (Stage, Vec<usize>) {
        let sigverify = self.cpus(Stage::Sigverify).unwrap_or_default();
        match self.cpus(Stage::GpuFeeder) {
            Some(feeder) if !feeder.is_empty() => (
                Stage::GpuFeeder,
                sigverify
                    .iter()
                    .copied()
                    .filter(|pu| !feeder.contains(pu))
                    .collect(),
            ),
            _ => (
                Stage::Sigverify,
                sigverify.iter().skip(1).copied().collect(),
            ),
        }
    }

    /// The PUs of the threads that verify votes beside the VED's sigverify thread, one on each
    /// sigverify PU that is not the VED's: votes are verified first there too, at the VED's
    /// priority.
    pub fn vote_sigverify_helpers(&self) -> Vec<usize> {
        let ved = self.cpus(Stage::Ved).unwrap_or_default();
        let sigverify = self.cpus(Stage::Sigverify).unwrap_or_default();
        sigverify
            .iter()
            .copied()
            .filter(|pu| !ved.contains(pu))
            .collect()
    }

    /// Pins the calling thread, the `index`-th of `stage`, to that stage's PU `index` (wrapping
    /// when a stage runs more threads than it has PUs).
    pub fn pin_stage_thread(&self, stage: Stage, index: usize) -> Result<usize, PinError> {
        let cpus = self.cpus(stage).unwrap_or_default();
        let Some(&pu) = cpus.get(index % cpus.len().max(1)) else {
            return Err(PinError::NoCores { stage });
        };
        pin_current_thread(pu).map_err(|e| e.of_stage(stage))?;
        Ok(pu)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::pipeline::topology::SyntheticShape;

    fn machine(numa_nodes: usize, cores_per_node: usize, gpu: Option<Option<usize>>) -> Topology {
        Topology::synthetic(SyntheticShape {
            numa_nodes,
            cores_per_node,
            pus_per_core: 1,
            gpu,
        })
    }

    /// Every PU of the machine is used, and every stage that runs has PUs.
    /// `topology` with `device`'s interrupts marked on `pu`.
    fn interrupted(mut topology: Topology, pu: usize, device: &str) -> Topology {
        topology.mark_disk_interrupts(pu, device);
        topology
    }

    fn assert_complete(topology: &Topology, placement: &Placement) {
        let used: BTreeSet<usize> = placement
            .stages()
            .iter()
            .flat_map(|s| s.cpus.iter().copied())
            .collect();
        assert_eq!(
            used.into_iter().collect::<Vec<_>>(),
            topology.pus(),
            "{placement:?}"
        );
        assert!(placement.stages().iter().all(|s| !s.cpus.is_empty()));
    }

    #[test]
    fn two_cores_share_and_say_so_keeping_ved_off_user_work() {
        // Sigverify, the bulk of the user work, gets a core; the UED shares the VED's, where
        // its SCHED_IDLE threads take only the cycles the VED leaves.
        let topology = machine(1, 2, None);
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert_eq!(placement.cpus(Stage::Ved), Some(&[0][..]));
        assert_eq!(placement.cpus(Stage::Hash), Some(&[0][..]));
        assert_eq!(placement.cpus(Stage::Sigverify), Some(&[1][..]));
        assert_eq!(placement.cpus(Stage::Ued), Some(&[0][..]));
        assert_eq!(placement.cpus(Stage::GpuFeeder), None);
        assert_eq!(placement.shared_with(Stage::Ved), [Stage::Ued, Stage::Hash]);
        assert_eq!(placement.shared_with(Stage::Sigverify), []);
        let notes: Vec<&str> = placement.notes().collect();
        assert!(notes.iter().any(|n| n.contains("small machine: 2 cores")));
        assert!(notes.iter().any(|n| n.starts_with("ved and hash share")));
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("ved and ued share") && n.contains("SCHED_IDLE"))
        );
    }

    #[test]
    fn three_cores_give_sigverify_and_the_ued_a_core_each() {
        let topology = machine(1, 3, None);
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert_eq!(placement.shared_with(Stage::Ved), [Stage::Hash]);
        assert_eq!(placement.shared_with(Stage::Sigverify), []);
        assert_eq!(placement.shared_with(Stage::Ued), []);
        // The hash shares the VED's core: the UED's threads do not go there.
        assert_eq!(placement.hash_cpus_beside_the_ued(), 0);
        assert_eq!(
            placement.ued_side_cpus(),
            placement.cpus(Stage::Ued).unwrap()
        );
    }

    #[test]
    fn one_core_runs_everything() {
        let topology = machine(1, 1, Some(Some(0)));
        let placement = Placement::plan(&topology, true);
        assert_eq!(placement.stages().len(), 5);
        assert!(placement.stages().iter().all(|s| s.cpus == [0]));
        assert!(
            placement
                .notes()
                .any(|n| n.contains("votes wait on user work"))
        );
    }

    #[test]
    fn four_cores_with_a_gpu_put_the_feeder_with_sigverify() {
        let topology = machine(1, 4, Some(Some(0)));
        let placement = Placement::plan(&topology, true);
        assert_complete(&topology, &placement);
        assert!(placement.shared_with(Stage::Ved).is_empty());
        assert_eq!(placement.shared_with(Stage::GpuFeeder), [Stage::Sigverify]);
    }

    #[test]
    fn a_disks_interrupts_go_to_the_ueds_core_on_two_cores() {
        // The virtio disk of the guest the README measures: one queue, interrupting PU 1.
        let topology = interrupted(machine(1, 2, None), 1, "vda");
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert_eq!(placement.cpus(Stage::Sigverify), Some(&[0][..]));
        for stage in [Stage::Ved, Stage::Ued, Stage::Hash] {
            assert_eq!(placement.cpus(stage), Some(&[1][..]), "{stage}");
        }
        let notes: Vec<&str> = placement.notes().collect();
        assert!(
            notes
                .iter()
                .any(|n| n.starts_with("ved and ued share a core (PU 1)"))
        );
        assert!(
            notes.iter().any(|n| n.starts_with("the disk vda")
                && n.contains("gives that core to the UED")
                && n.contains("ved and hash share the UED's core")),
            "{notes:?}"
        );
        // Where the disk interrupts PU 0, the UED's core already, nothing moves.
        let topology = interrupted(machine(1, 2, None), 0, "vda");
        let placement = Placement::plan(&topology, false);
        assert_eq!(placement.cpus(Stage::Sigverify), Some(&[1][..]));
        assert_eq!(placement.cpus(Stage::Ved), Some(&[0][..]));
        // A cores setting that moves a stage drops the note, which may no longer be true.
        let spec = CoreSpec::parse("sigverify=1").unwrap();
        let topology = interrupted(machine(1, 2, None), 1, "vda");
        let placement = Placement::with_cores(&topology, false, &spec).unwrap();
        assert!(!placement.notes().any(|n| n.starts_with("the disk vda")));
    }

    #[test]
    fn a_disks_interrupts_go_to_a_ued_core_on_a_large_machine() {
        // The disk interrupts PU 0, where the VED would otherwise be: the UED takes that core.
        let topology = interrupted(machine(1, 16, None), 0, "sda");
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert!(placement.cpus(Stage::Ued).unwrap().contains(&0));
        for stage in [Stage::Ved, Stage::Hash, Stage::Sigverify] {
            assert!(!placement.cpus(stage).unwrap().contains(&0), "{stage}");
        }
        assert_eq!(placement.cpus(Stage::Ved), Some(&[1][..]));
        assert_eq!(placement.cpus(Stage::Ued).map(<[usize]>::len), Some(9));
        assert!(placement.notes().any(|n| n.starts_with("the disk sda")
            && n.contains("and the votes and user signatures other cores")));
        // Two nodes, the disk on the second's first core: the UED's cores there include it.
        let topology = interrupted(machine(2, 4, None), 4, "nvme0n1");
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert!(placement.cpus(Stage::Ued).unwrap().contains(&4));
        assert!(!placement.cpus(Stage::Sigverify).unwrap().contains(&4));
    }

    #[test]
    fn sixteen_cores_on_one_node_give_ved_its_own_core() {
        let topology = machine(1, 16, None);
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        assert_eq!(placement.cpus(Stage::Ved).map(<[usize]>::len), Some(1));
        assert_eq!(placement.cpus(Stage::Hash).map(<[usize]>::len), Some(1));
        assert_eq!(
            placement.cpus(Stage::Sigverify).map(<[usize]>::len),
            Some(5)
        );
        assert_eq!(placement.cpus(Stage::Ued).map(<[usize]>::len), Some(9));
        for stage in Stage::ALL {
            assert!(placement.shared_with(stage).is_empty(), "{stage}");
        }
        assert!(!placement.notes().any(|n| n.contains("small machine")));
    }

    #[test]
    fn user_signatures_are_verified_on_every_sigverify_core_and_fed_from_the_feeders() {
        // Without a GPU: the stage's thread on sigverify's PUs, a helper on each but one.
        let placement = Placement::plan(&machine(1, 16, None), false);
        let sigverify = placement.cpus(Stage::Sigverify).unwrap().to_vec();
        assert_eq!(
            placement.user_sigverify(),
            (Stage::Sigverify, sigverify[1..].to_vec())
        );
        assert_eq!(placement.vote_sigverify_helpers(), sigverify);
        // With one: the thread that feeds it on the feeder's core, a helper on every sigverify
        // PU, so the feeder's core is not left idle.
        let placement = Placement::plan(&machine(2, 16, Some(Some(1))), true);
        let sigverify = placement.cpus(Stage::Sigverify).unwrap().to_vec();
        assert_eq!(placement.user_sigverify(), (Stage::GpuFeeder, sigverify));
        // Sharing the feeder's core, sigverify adds no helper; on two cores there is none.
        let placement = Placement::plan(&machine(1, 4, Some(Some(0))), true);
        assert_eq!(placement.user_sigverify(), (Stage::GpuFeeder, Vec::new()));
        let placement = Placement::plan(&machine(1, 2, None), false);
        assert_eq!(placement.user_sigverify(), (Stage::Sigverify, Vec::new()));
        // The VED's core gets no vote helper where sigverify shares it.
        let spec = CoreSpec::parse("sigverify=0-1;ved=1;ued=0;hash=0").unwrap();
        let placement = Placement::with_cores(&machine(1, 2, None), false, &spec).unwrap();
        assert_eq!(placement.vote_sigverify_helpers(), [0]);
        assert_eq!(placement.user_sigverify(), (Stage::Sigverify, vec![1]));
    }

    #[test]
    fn two_nodes_put_the_feeder_on_the_gpus_node_and_sigverify_with_ved() {
        let topology = machine(2, 16, Some(Some(1)));
        let placement = Placement::plan(&topology, true);
        assert_complete(&topology, &placement);
        let feeder = placement.cpus(Stage::GpuFeeder).unwrap();
        assert!(
            feeder
                .iter()
                .all(|&pu| topology.numa_node_of(pu) == Some(1))
        );
        let ved = placement.cpus(Stage::Ved).unwrap();
        assert_eq!(ved.len(), 1);
        let ved_node = topology.numa_node_of(ved[0]);
        let sigverify = placement.cpus(Stage::Sigverify).unwrap();
        assert_eq!(topology.numa_node_of(sigverify[0]), ved_node);
        assert!(placement.shared_with(Stage::Ved).is_empty());
        assert!(!placement.shared_with(Stage::Ued).contains(&Stage::Ved));
        assert!(placement.notes().any(|n| n.contains("the GPU's node")));
    }

    #[test]
    fn a_gpu_of_unknown_locality_is_said_so() {
        let topology = machine(2, 8, Some(None));
        let placement = Placement::plan(&topology, true);
        assert_complete(&topology, &placement);
        assert!(
            placement
                .notes()
                .any(|n| n.contains("NUMA node is unknown"))
        );
    }

    #[test]
    fn a_gpu_whose_node_has_no_core_in_the_mask_is_said_so_not_called_unknown() {
        // Two nodes of eight cores, the GPU on node 1, the process bound to node 0 (`numactl
        // --cpunodebind=0`): the note said hwloc knew no PCI locality.
        let mut topology = machine(2, 8, Some(Some(1)));
        let node_0: Vec<usize> = (0..16)
            .filter(|&pu| topology.numa_node_of(pu) == Some(0))
            .collect();
        topology.restrict_to(&node_0);
        let placement = Placement::plan(&topology, true);
        let notes: Vec<&str> = placement.notes().collect();
        assert!(
            notes
                .iter()
                .any(|n| n.contains("the GPU is on NUMA node 1, which has no core left")),
            "{notes:?}"
        );
        assert!(!notes.iter().any(|n| n.contains("unknown")), "{notes:?}");
    }

    #[test]
    fn smt_siblings_stay_with_one_stage() {
        let topology = Topology::synthetic(SyntheticShape {
            numa_nodes: 1,
            cores_per_node: 8,
            pus_per_core: 2,
            gpu: None,
        });
        let placement = Placement::plan(&topology, false);
        assert_complete(&topology, &placement);
        for core in topology.cores() {
            let owners: BTreeSet<Stage> = placement
                .stages()
                .iter()
                .filter(|s| core.pus.iter().any(|pu| s.cpus.contains(pu)))
                .map(|s| s.stage)
                .collect();
            assert_eq!(owners.len(), 1, "core {:?}", core.pus);
        }
        assert!(placement.notes().any(|n| n.starts_with("SMT")));
    }

    #[test]
    fn the_setting_overrides_named_stages_only() {
        let topology = machine(1, 16, None);
        let automatic = Placement::plan(&topology, false);
        let spec = CoreSpec::parse("sigverify=0-3;ved=4;ued=5-11;hash=12").unwrap();
        let placement = Placement::with_cores(&topology, false, &spec).unwrap();
        assert_eq!(placement.cpus(Stage::Sigverify), Some(&[0, 1, 2, 3][..]));
        assert_eq!(placement.cpus(Stage::Ved), Some(&[4][..]));
        assert_eq!(
            placement.cpus(Stage::Ued),
            Some(&[5, 6, 7, 8, 9, 10, 11][..])
        );
        assert_eq!(placement.cpus(Stage::Hash), Some(&[12][..]));
        // The UED's threads run, and hash, on the hash stage's PU too.
        assert_eq!(placement.ued_side_cpus(), [5, 6, 7, 8, 9, 10, 11, 12]);
        assert_eq!(placement.hash_cpus_beside_the_ued(), 1);

        let spec = CoreSpec::parse("ved=5").unwrap();
        let placement = Placement::with_cores(&topology, false, &spec).unwrap();
        assert_eq!(placement.cpus(Stage::Ved), Some(&[5][..]));
        assert_eq!(placement.cpus(Stage::Ued), automatic.cpus(Stage::Ued));
        assert_eq!(placement.stages()[1].origin, Origin::Setting);
        assert!(placement.notes().any(|n| n.contains("votes may wait")));
    }

    #[test]
    fn sigverify_has_a_core_on_the_veds_node_before_the_hash() {
        // Two nodes of two cores: the VED and the hash took node 0, sigverify went to node 1,
        // and the note said votes were verified where they execute.
        for nodes in [2, 3] {
            let topology = machine(nodes, 2, None);
            let placement = Placement::plan(&topology, false);
            let node_of = |pu: usize| {
                topology
                    .cores()
                    .iter()
                    .find(|c| c.pus.contains(&pu))
                    .and_then(|c| c.numa_node)
            };
            let ved_node = node_of(placement.cpus(Stage::Ved).unwrap()[0]);
            let sigverify = placement.cpus(Stage::Sigverify).unwrap();
            assert!(
                sigverify.iter().any(|&pu| node_of(pu) == ved_node),
                "{nodes} nodes: sigverify on {sigverify:?}, the VED on {ved_node:?}"
            );
            assert!(placement.notes().all(|n| !n.contains("0 of sigverify's")));
        }
    }

    #[test]
    fn the_setting_is_told_what_it_shares_and_the_plan_what_no_longer_holds() {
        // Two PUs of one core (SMT siblings) set to the VED and the UED: said, like a PU shared.
        let smt = Topology::synthetic(SyntheticShape {
            numa_nodes: 1,
            cores_per_node: 4,
            pus_per_core: 2,
            gpu: None,
        });
        let sibling = smt.cores()[3].pus.clone();
        let spec = CoreSpec::parse(&format!("ved={};ued={}", sibling[0], sibling[1])).unwrap();
        let placement = Placement::with_cores(&smt, false, &spec).unwrap();
        assert!(
            placement.notes().any(
                |n| n.contains("ved and ued run on SMT siblings of one core")
                    && n.contains("votes may wait")
            ),
            "{:?}",
            placement.notes().collect::<Vec<_>>()
        );
        // Sigverify set on the VED's PU: the plan's notes about the VED having a core to
        // itself, or sigverify one of its own, no longer hold and are gone.
        for topology in [machine(1, 2, None), machine(1, 8, None), smt] {
            let automatic = Placement::plan(&topology, false);
            let ved = automatic.cpus(Stage::Ved).expect("a VED")[0];
            let spec = CoreSpec::parse(&format!("sigverify={ved}")).unwrap();
            let placement = Placement::with_cores(&topology, false, &spec).unwrap();
            let notes: Vec<&str> = placement.notes().collect();
            assert!(
                !notes
                    .iter()
                    .any(|n| n.contains("to itself") || n.contains("keeps a core of its own")),
                "{notes:?}"
            );
            assert!(
                notes.iter().any(|n| n.contains("votes may wait")),
                "{notes:?}"
            );
        }
    }
}
