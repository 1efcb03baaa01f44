//! `tandem topology`: printing over `tandem_engine::pipeline` — the machine hwloc sees and the
//! placement of the pipeline's stages on it.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;
use tandem_engine::pipeline::interrupts::DiskInterrupts;
use tandem_engine::pipeline::topology::{format_cpus, pus_label};
use tandem_engine::pipeline::{GpuAdapter, Origin, Placement, Survey, Topology};

use crate::output::{table, write_json};

/// The JSON document; its keys are stable for scripts.
#[derive(Serialize)]
struct TopologyJson {
    machine: MachineJson,
    placement: Vec<StageJson>,
    notes: Vec<String>,
}

#[derive(Serialize)]
struct MachineJson {
    /// "hwloc (API x.y.z)", or the fallback and why.
    source: String,
    cpu_model: Option<String>,
    packages: usize,
    numa_nodes: Vec<NumaNodeJson>,
    cores: Vec<CoreJson>,
    pus: Vec<usize>,
    /// GPUs on the PCI bus, as hwloc saw them.
    pci_gpus: Vec<PciGpuJson>,
    /// The adapter the kernels run on; null where there is none.
    gpu_adapter: Option<GpuAdapterJson>,
    pku: PkuJson,
    /// The CPU kernels this machine runs.
    cpu_kernels: CpuKernelsJson,
    /// Each disk's interrupts since boot, per PU.
    disk_interrupts: Vec<DiskJson>,
}

#[derive(Serialize)]
struct DiskJson {
    device: String,
    irqs: Vec<u32>,
    by_pu: Vec<PuCountJson>,
    /// Where its busiest interrupt is routed now (the kernel's effective affinity); empty where
    /// unknown.
    routed_to: Vec<usize>,
}

#[derive(Serialize)]
struct PuCountJson {
    pu: usize,
    count: u64,
}

#[derive(Serialize)]
struct NumaNodeJson {
    node: usize,
    cpus: Vec<usize>,
}

#[derive(Serialize)]
struct CoreJson {
    cpus: Vec<usize>,
    numa_node: Option<usize>,
}

#[derive(Serialize)]
struct PciGpuJson {
    pci_bus_id: String,
    name: String,
    numa_node: Option<usize>,
}

#[derive(Serialize)]
struct GpuAdapterJson {
    name: String,
    backend: String,
    software: bool,
    pci_bus_id: Option<String>,
}

/// Which CPU kernels run (none was named: a validator could not tell which its hashing used;
/// a black-box test on emulated CPUs, stop 74). From CPUID, as the kernels choose — not from
/// `/proc/cpuinfo`'s model name.
#[derive(Serialize)]
struct CpuKernelsJson {
    /// The platform of the BLAKE3 and LtHash kernels (and the lanes verifier's):
    /// `portable`, `avx2` or `avx512` (`TANDEM_CPU_PLATFORM` narrows it).
    platform: &'static str,
    /// Every platform this CPU can run, narrowest first.
    available: Vec<&'static str>,
    /// The CPU's ed25519 verifier: `avx512-ifma`, `avx2` or `portable`.
    ed25519_verifier: &'static str,
}

#[derive(Serialize)]
struct PkuJson {
    cpu: bool,
    os: bool,
    available: bool,
    applied: bool,
    summary: String,
}

/// One stage of a placement.
#[derive(Serialize)]
pub struct StageJson {
    stage: &'static str,
    cpus: Vec<usize>,
    shared_with: Vec<&'static str>,
    /// "plan" or "cores setting".
    chosen_by: &'static str,
}

/// Surveys the machine and plans the stages, with the `cores` setting's overrides.
pub fn survey(cores: Option<&str>) -> Result<Survey, String> {
    Survey::take(cores).map_err(|e| e.to_string())
}

/// `tandem topology [--cores SPEC] [--json FILE]`.
pub fn topology(cores: Option<&str>, json: Option<&Path>) -> Result<(), String> {
    let Survey {
        topology,
        adapter,
        placement,
        disks,
        notes,
        .. // a whole survey: the GPU looked for
    } = survey(cores)?;
    let report = report(&topology, adapter.ok(), &placement, &disks, notes);
    // The report first: a table that cannot be printed (a reader gone, a full device) loses
    // no report.
    if let Some(path) = json {
        write_json(path, &report)?;
    }
    if json != Some(Path::new("-")) {
        print(&topology, &report);
    }
    Ok(())
}

/// Each stage's PUs, as the JSON of `topology` and `run` lists them.
pub fn placement_json(placement: &Placement) -> Vec<StageJson> {
    placement
        .stages()
        .iter()
        .map(|s| StageJson {
            stage: s.stage.setting_name(),
            cpus: s.cpus.clone(),
            shared_with: placement
                .shared_with(s.stage)
                .into_iter()
                .map(|other| other.setting_name())
                .collect(),
            chosen_by: match s.origin {
                Origin::Automatic => "plan",
                Origin::Setting => "cores setting",
            },
        })
        .collect()
}

fn report(
    topology: &Topology,
    adapter: Option<GpuAdapter>,
    placement: &Placement,
    disks: &[DiskInterrupts],
    notes: Vec<String>,
) -> TopologyJson {
    let keys = topology.protection_keys();
    let platform = tandem_kernels::Platform::detect();
    TopologyJson {
        machine: MachineJson {
            source: topology.source().to_string(),
            cpu_model: topology.cpu_model().map(str::to_owned),
            packages: topology.packages(),
            numa_nodes: topology
                .numa_nodes()
                .iter()
                .map(|n| NumaNodeJson {
                    node: n.os_index,
                    cpus: n.pus.clone(),
                })
                .collect(),
            cores: topology
                .cores()
                .iter()
                .map(|c| CoreJson {
                    cpus: c.pus.clone(),
                    numa_node: c.numa_node,
                })
                .collect(),
            pus: topology.pus(),
            pci_gpus: topology
                .gpus()
                .iter()
                .map(|g| PciGpuJson {
                    pci_bus_id: g.pci_bus_id.clone(),
                    name: g.name.clone(),
                    numa_node: g.numa_node,
                })
                .collect(),
            gpu_adapter: adapter.map(|a| GpuAdapterJson {
                name: a.name,
                backend: a.backend,
                software: a.software,
                pci_bus_id: a.pci_bus_id,
            }),
            cpu_kernels: CpuKernelsJson {
                platform: platform.name(),
                available: (tandem_kernels::Platform::available().into_iter())
                    .map(tandem_kernels::Platform::name)
                    .collect(),
                ed25519_verifier: tandem_kernels::sigverify::cpu_verifier(platform),
            },
            pku: PkuJson {
                cpu: keys.cpu,
                os: keys.os,
                available: keys.available(),
                applied: keys.applied,
                summary: keys.summary(),
            },
            disk_interrupts: disks
                .iter()
                .map(|d| DiskJson {
                    device: d.device.clone(),
                    irqs: d.irqs.clone(),
                    by_pu: d
                        .by_pu
                        .iter()
                        .map(|&(pu, count)| PuCountJson { pu, count })
                        .collect(),
                    routed_to: d.routed_to.clone(),
                })
                .collect(),
        },
        placement: placement_json(placement),
        notes,
    }
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "none".to_owned()
    } else {
        text
    }
}

fn print(topology: &Topology, report: &TopologyJson) {
    let machine = &report.machine;
    println!("machine (read by {})", machine.source);
    println!(
        "CPU model: {}",
        machine.cpu_model.as_deref().unwrap_or("unknown")
    );
    println!(
        "packages: {}, NUMA nodes: {}, cores: {}, PUs: {} ({})",
        machine.packages,
        machine.numa_nodes.len(),
        machine.cores.len(),
        machine.pus.len(),
        format_cpus(&machine.pus)
    );
    for node in &machine.numa_nodes {
        println!("NUMA node {}: PUs {}", node.node, format_cpus(&node.cpus));
    }
    if machine.pci_gpus.is_empty() {
        println!("GPUs on the PCI bus (hwloc): none");
    }
    for gpu in &machine.pci_gpus {
        println!(
            "GPU on the PCI bus (hwloc): {} {} on {}",
            gpu.pci_bus_id,
            gpu.name,
            gpu.numa_node
                .map_or("an unknown NUMA node".to_owned(), |n| format!(
                    "NUMA node {n}"
                ))
        );
    }
    match &machine.gpu_adapter {
        Some(a) => println!(
            "GPU adapter (wgpu): {} ({}{})",
            a.name,
            a.backend,
            if a.software { ", software" } else { "" }
        ),
        None => println!("GPU adapter (wgpu): none"),
    }
    let kernels = &machine.cpu_kernels;
    println!(
        "CPU kernels: {} (BLAKE3, LtHash; this CPU runs {}), ed25519 verifier {}",
        kernels.platform,
        kernels.available.join(", "),
        kernels.ed25519_verifier
    );
    println!("memory protection keys: {}", machine.pku.summary);
    let disks: Vec<String> = machine
        .disk_interrupts
        .iter()
        .map(|d| {
            let total: u64 = d.by_pu.iter().map(|c| c.count).sum();
            let on: Vec<String> = d
                .by_pu
                .iter()
                .map(|c| {
                    format!(
                        "{:.0} % on PU {}",
                        c.count as f64 * 100.0 / total as f64,
                        c.pu
                    )
                })
                .collect();
            let now = match d.routed_to.as_slice() {
                [] => String::new(),
                pus => format!(", routed to {} now", pus_label(pus)),
            };
            match total {
                0 => format!("{} none yet{now}", d.device),
                _ => format!("{} {total} ({}){now}", d.device, on.join(", ")),
            }
        })
        .collect();
    println!(
        "disk interrupts since boot: {}",
        if disks.is_empty() {
            "none found".to_owned()
        } else {
            disks.join("; ")
        }
    );
    println!("{}", placement_table(topology, &report.placement));
    for note in &report.notes {
        println!("- {note}");
    }
}

/// The placement as a table: each stage's PUs, their NUMA nodes, the stages it shares with.
pub fn placement_table(topology: &Topology, stages: &[StageJson]) -> comfy_table::Table {
    let rows = stages
        .iter()
        .map(|s| {
            let nodes: BTreeSet<usize> = s
                .cpus
                .iter()
                .filter_map(|&pu| topology.numa_node_of(pu))
                .collect();
            let nodes: Vec<String> = nodes.iter().map(usize::to_string).collect();
            vec![
                s.stage.to_owned(),
                format_cpus(&s.cpus),
                or_none(nodes.join(",")),
                or_none(s.shared_with.join(", ")),
                s.chosen_by.to_owned(),
            ]
        })
        .collect();
    table(
        &["stage", "PUs", "NUMA node", "shares with", "chosen by"],
        rows,
    )
}
