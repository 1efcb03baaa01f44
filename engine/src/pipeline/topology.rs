//! The machine as the placement sees it: packages, NUMA nodes, cores and their PUs (the kernel's
//! CPU numbers), the NUMA node of each GPU where the PCI locality says, the CPU model, and whether
//! the CPU and kernel offer memory protection keys.
//!
//! It is read from hwloc ([`Topology::detect`]). Where hwloc cannot read the machine (no sysfs in
//! a sandbox, a broken install), `detect` does not fail: it falls back to a flat topology built
//! from the process's affinity mask — one package, one NUMA node, one PU per core — and says so
//! in [`Topology::source`], because a wrong pin costs speed but refusing to run costs everything.
//! [`Topology::synthetic`] builds shapes this machine does not have, for the planner's tests.
//!
//! This module only describes; it never pins a thread or decides where a stage runs. One side
//! effect: asking whether protection keys apply ([`ProtectionKeys::detect`]) takes the store's
//! two keys for the process if no store has yet.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use hwlocality::object::TopologyObject;
use hwlocality::object::attributes::ObjectAttributes;
use hwlocality::object::types::ObjectType;
use hwlocality::topology::builder::TypeFilter;

/// Where a [`Topology`] came from; printed with it, so a fallback is never mistaken for hwloc.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopologySource {
    /// Read from hwloc.
    Hwloc {
        /// The API version of the hwloc library loaded, `major.minor.patch` (it moves only when
        /// a release changes the API, so 2.9.0 reports 2.8.0).
        api_version: String,
        /// False where HWLOC_XMLFILE or HWLOC_SYNTHETIC made hwloc describe another machine:
        /// useful to preview a plan, but its PUs may not exist here.
        this_system: bool,
    },
    /// hwloc failed; a flat topology from the affinity mask (NUMA and SMT unknown).
    Fallback {
        /// Why hwloc could not be used.
        reason: String,
    },
    /// Built by [`Topology::synthetic`] for tests.
    Synthetic,
}

impl fmt::Display for TopologySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologySource::Hwloc {
                api_version,
                this_system: true,
            } => write!(f, "hwloc (API {api_version})"),
            TopologySource::Hwloc {
                api_version,
                this_system: false,
            } => write!(
                f,
                "hwloc (API {api_version}), describing another machine (HWLOC_XMLFILE or HWLOC_SYNTHETIC is set): its PUs may not exist here"
            ),
            TopologySource::Fallback { reason } => write!(
                f,
                "fallback (hwloc failed: {reason}): a flat topology from the affinity mask, NUMA nodes and SMT siblings unknown"
            ),
            TopologySource::Synthetic => write!(f, "synthetic"),
        }
    }
}

/// One physical core: the PUs (hardware threads) it runs, by the kernel's CPU numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Core {
    /// The PUs' OS indices, ascending; two or more where the core has SMT.
    pub pus: Vec<usize>,
    /// The NUMA node (OS index) the core's memory is local to, where known.
    pub numa_node: Option<usize>,
}

/// One NUMA node: its OS index and the PUs local to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumaNode {
    /// The node's OS index (what `numactl` and sysfs call it).
    pub os_index: usize,
    /// The PUs local to the node, ascending.
    pub pus: Vec<usize>,
}

/// A GPU on the PCI bus, as hwloc saw it (display or 3D controller class).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PciGpu {
    /// The PCI bus id, `dddd:bb:dd.f` in lowercase hex (the form wgpu reports too).
    pub pci_bus_id: String,
    /// The vendor and device names where hwloc has the PCI id database, else their ids.
    pub name: String,
    /// The NUMA node the device hangs off, where the PCI locality tells exactly one.
    pub numa_node: Option<usize>,
}

/// Memory protection keys: what the machine offers, and whether the store protects the domains'
/// pages with them in this process ([`crate::store::protection`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProtectionKeys {
    /// The CPU has protection keys (`pku` in /proc/cpuinfo).
    pub cpu: bool,
    /// The kernel enabled them (`ospke` in /proc/cpuinfo).
    pub os: bool,
    /// The store tags each domain's pages with a key of its own in this process, and confines
    /// each executor to its domain's.
    pub applied: bool,
}

impl ProtectionKeys {
    /// Reads the flags of /proc/cpuinfo (a machine without that file, or without x86 flags,
    /// has none), and whether the store applies keys here (allocating them if no store has).
    pub fn detect() -> ProtectionKeys {
        let flags = std::fs::read_to_string("/proc/cpuinfo")
            .map(|text| ProtectionKeys::from_cpuinfo(&text))
            .unwrap_or_default();
        ProtectionKeys {
            applied: crate::store::protection::status().is_ok(),
            ..flags
        }
    }

    /// The flags of the first `flags` line of a /proc/cpuinfo text (`applied` false).
    pub fn from_cpuinfo(text: &str) -> ProtectionKeys {
        let flags: BTreeSet<&str> = text
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                (key.trim() == "flags").then_some(value)
            })
            .map(|value| value.split_whitespace().collect())
            .unwrap_or_default();
        ProtectionKeys {
            cpu: flags.contains("pku"),
            os: flags.contains("ospke"),
            applied: false,
        }
    }

    /// Whether the CPU and kernel both have protection keys.
    pub fn available(&self) -> bool {
        self.cpu && self.os
    }

    /// One sentence for people: what the machine offers and what tandem does with it.
    pub fn summary(&self) -> String {
        match (self.cpu, self.os, self.applied) {
            (_, _, true) => crate::store::protection::summary(),
            (true, true, false) => format!(
                "the CPU and kernel have them (pku, ospke), but {}",
                crate::store::protection::summary()
            ),
            (true, false, false) => "the CPU has them (pku) but the kernel has not enabled them (no ospke): the typed checks of the domain views stand".into(),
            _ => "none on this CPU (no pku flag): the typed checks of the domain views stand".into(),
        }
    }
}

/// The GPU adapter the kernels run on (the one [`tandem_kernels::gpu::GpuContext::shared`]
/// chose), as the placement and `tandem topology` need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuAdapter {
    /// The adapter's name, e.g. "NVIDIA H200" or "llvmpipe (LLVM 15.0.7, 256 bits)".
    pub name: String,
    /// The wgpu backend, e.g. "Vulkan".
    pub backend: String,
    /// A CPU rasterizer (lavapipe, WARP): correct, never fast, so no GPU feeder is planned.
    pub software: bool,
    /// The PCI bus id where the driver reports it (to find the GPU in hwloc's topology).
    pub pci_bus_id: Option<String>,
}

impl GpuAdapter {
    /// The kernels' shared adapter; the reason there is none otherwise (a device that failed
    /// while this process used it included: it is not used again).
    pub fn detect() -> Result<GpuAdapter, String> {
        let context = tandem_kernels::gpu::GpuContext::shared().map_err(|e| e.to_string())?;
        context
            .usable()
            .map_err(|e| format!("{} ({})", e, context.info().name))?;
        let info = context.info();
        Ok(GpuAdapter {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            software: context.is_software(),
            pci_bus_id: Some(info.device_pci_bus_id.trim().to_ascii_lowercase())
                .filter(|id| !id.is_empty()),
        })
    }
}

/// How many times this process had hwloc read the machine ([`Topology::from_hwloc`]: once).
static MACHINE_READS: AtomicUsize = AtomicUsize::new(0);

/// Why hwloc could not read the machine.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TopologyError {
    /// hwloc refused to build or load the topology.
    #[error("hwloc could not read the machine: {0}")]
    Hwloc(String),
    /// hwloc's answer lacks what the placement needs.
    #[error("hwloc's topology is unusable: {0}")]
    Incomplete(&'static str),
}

/// A shape for [`Topology::synthetic`]: `numa_nodes` × `cores_per_node` cores of
/// `pus_per_core` PUs each, numbered in order, and optionally one GPU on a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntheticShape {
    /// NUMA nodes (one package each).
    pub numa_nodes: usize,
    /// Cores in each node.
    pub cores_per_node: usize,
    /// PUs in each core (2 for SMT).
    pub pus_per_core: usize,
    /// The node a GPU hangs off, if there is one; `Some(None)` is a GPU of unknown locality.
    pub gpu: Option<Option<usize>>,
}

/// The machine: what the placement plans over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topology {
    source: TopologySource,
    cpu_model: Option<String>,
    packages: usize,
    numa_nodes: Vec<NumaNode>,
    cores: Vec<Core>,
    gpus: Vec<PciGpu>,
    protection_keys: ProtectionKeys,
    /// The PUs of the machine the process's affinity mask leaves out
    /// ([`Topology::restrict_to`]), with their NUMA nodes, ascending: not planned on, but a
    /// `cores` setting may name them.
    outside: Vec<(usize, Option<usize>)>,
    /// PUs that take most of a disk's interrupts, with the disk's name
    /// ([`Topology::mark_disk_interrupts`]): the plan keeps the votes and the user signatures off
    /// them where it can.
    disk_interrupts: Vec<(usize, String)>,
    /// PUs the kernel runs (`/sys/devices/system/cpu/online`) that hwloc's machine leaves
    /// out: a cpuset (a container's, a cgroup's) forbids them the process. Ascending.
    forbidden: Vec<usize>,
}

impl Topology {
    /// This machine, from hwloc; the flat fallback (stated in [`Topology::source`]) where hwloc
    /// fails.
    pub fn detect() -> Topology {
        match Topology::from_hwloc() {
            Ok(topology) => topology,
            Err(e) => Topology::flat(e.to_string()),
        }
    }

    /// This machine, from hwloc, I/O devices included so GPUs show with their PCI locality;
    /// the plan's PUs are those of the process's affinity mask ([`process_cpus`]), whatever the
    /// calling thread's own, and the others are kept aside ([`Topology::on_machine`]).
    ///
    /// hwloc reads the machine once a process (again after a failed read), the affinity mask
    /// at every call: hwloc's PCI discovery leaks about a kilobyte at each load, which a host
    /// opening engine after engine lost each time (1,104 bytes an open under valgrind, a failed
    /// open too; found by a soak test, stop 71). A device plugged in later, or PUs a container's
    /// cpuset gains later, are not seen until the process restarts.
    pub fn from_hwloc() -> Result<Topology, TopologyError> {
        static MACHINE: Mutex<Option<Topology>> = Mutex::new(None);
        let mut machine = MACHINE.lock().unwrap_or_else(PoisonError::into_inner);
        let mut topology = match &*machine {
            Some(topology) => topology.clone(),
            None => machine.insert(Topology::read_machine()?).clone(),
        };
        drop(machine);
        // hwloc shows the whole machine; the process may use only its affinity mask (`taskset`,
        // a container's cpuset): plan on that.
        if let Some(allowed) = process_cpus() {
            topology.restrict_to(&allowed);
        }
        Ok(topology)
    }

    /// The whole machine from hwloc ([`Topology::from_hwloc`]), with what the kernel tells of
    /// the CPU.
    fn read_machine() -> Result<Topology, TopologyError> {
        MACHINE_READS.fetch_add(1, Ordering::Relaxed);
        let hwloc = hwlocality::Topology::builder()
            .with_io_type_filter(TypeFilter::KeepImportant)
            .map_err(|e| TopologyError::Hwloc(e.to_string()))?
            .build()
            .map_err(|e| TopologyError::Hwloc(e.to_string()))?;
        let mut topology = Topology::read_hwloc(&hwloc)?;
        topology.protection_keys = ProtectionKeys::detect();
        let on_machine = topology.machine_pus();
        topology.forbidden = online_cpus()
            .into_iter()
            .filter(|pu| !on_machine.contains(pu))
            .collect();
        if topology.cpu_model.is_none() {
            topology.cpu_model = cpuinfo_model();
        }
        Ok(topology)
    }

    /// Reads what the placement needs from a loaded hwloc topology (this machine's, or a
    /// synthetic one in tests).
    fn read_hwloc(hwloc: &hwlocality::Topology) -> Result<Topology, TopologyError> {
        let version = hwlocality::hwloc_api_version();
        let api_version = format!(
            "{}.{}.{}",
            version >> 16,
            (version >> 8) & 0xff,
            version & 0xff
        );
        let numa_nodes: Vec<NumaNode> = hwloc
            .objects_with_type(ObjectType::NUMANode)
            .filter_map(|node| {
                Some(NumaNode {
                    os_index: node.os_index()?,
                    pus: cpus_of(node),
                })
            })
            .collect();
        let node_of = |pu: usize| {
            numa_nodes
                .iter()
                .find(|node| node.pus.contains(&pu))
                .map(|node| node.os_index)
        };
        let cores: Vec<Core> = hwloc
            .objects_with_type(ObjectType::Core)
            .map(cpus_of)
            .filter(|pus| !pus.is_empty())
            .map(|pus| Core {
                numa_node: node_of(pus[0]),
                pus,
            })
            .collect();
        // Some virtual machines report PUs without a Core level; each PU is then its own core.
        let cores = if cores.is_empty() {
            hwloc
                .objects_with_type(ObjectType::PU)
                .filter_map(TopologyObject::os_index)
                .map(|pu| Core {
                    pus: vec![pu],
                    numa_node: node_of(pu),
                })
                .collect()
        } else {
            cores
        };
        if cores.is_empty() {
            return Err(TopologyError::Incomplete("no PUs"));
        }
        let cpu_model = hwloc
            .objects_with_type(ObjectType::Package)
            .find_map(|package| package.info("CPUModel"))
            .and_then(|model| model.to_str().ok())
            .map(|model| model.trim().to_owned());
        let gpus = hwloc
            .pci_devices()
            .filter_map(|device| {
                let Some(ObjectAttributes::PCIDevice(pci)) = device.attributes() else {
                    return None;
                };
                // Base class 0x03: display controllers (VGA 0x0300, 3D 0x0302, other 0x0380).
                if pci.class_id() >> 8 != 0x03 {
                    return None;
                }
                let text = |key| {
                    device
                        .info(key)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                let name = match (text("PCIVendor"), text("PCIDevice")) {
                    (Some(vendor), Some(model)) => format!("{vendor} {model}"),
                    _ => format!("{:04x}:{:04x}", pci.vendor_id(), pci.device_id()),
                };
                // The device's locality is that of its first ancestor with CPUs; it names one
                // node only where the firmware told the kernel (VMs often say nothing).
                let numa_node = device
                    .first_non_io_ancestor()
                    .and_then(|ancestor| ancestor.nodeset())
                    .and_then(|nodes| {
                        let mut nodes = nodes.iter_set().map(usize::from);
                        let first = nodes.next()?;
                        nodes.next().is_none().then_some(first)
                    });
                Some(PciGpu {
                    pci_bus_id: format!(
                        "{:04x}:{:02x}:{:02x}.{:x}",
                        pci.domain(),
                        pci.bus_id(),
                        pci.bus_device(),
                        pci.function()
                    ),
                    name,
                    numa_node,
                })
            })
            .collect();
        Ok(Topology {
            source: TopologySource::Hwloc {
                api_version,
                this_system: hwloc.is_this_system(),
            },
            cpu_model,
            packages: hwloc.objects_with_type(ObjectType::Package).len().max(1),
            numa_nodes,
            cores,
            gpus,
            protection_keys: ProtectionKeys::default(),
            outside: Vec::new(),
            disk_interrupts: Vec::new(),
            forbidden: Vec::new(),
        })
    }

    /// Keeps only the PUs in `allowed` (the process's affinity mask) for the plan: cores and
    /// NUMA nodes lose the others, and a core left with none is dropped; the others stay on
    /// the machine ([`Topology::on_machine`]), where a `cores` setting may still name them.
    /// Nothing changes when no PU of the machine is allowed (a mask from elsewhere), so the
    /// machine never ends up empty.
    pub fn restrict_to(&mut self, allowed: &[usize]) {
        if !self.pus().iter().any(|pu| allowed.contains(pu)) {
            return;
        }
        for core in &self.cores {
            let left_out = core.pus.iter().filter(|pu| !allowed.contains(pu));
            self.outside
                .extend(left_out.map(|&pu| (pu, core.numa_node)));
        }
        self.outside.sort_unstable();
        for core in &mut self.cores {
            core.pus.retain(|pu| allowed.contains(pu));
        }
        self.cores.retain(|core| !core.pus.is_empty());
        for node in &mut self.numa_nodes {
            node.pus.retain(|pu| allowed.contains(pu));
        }
    }

    /// The fallback where hwloc fails: one package, one NUMA node (0), one core per CPU of the
    /// process's affinity mask (or `0..available_parallelism` where even that is unknown).
    pub fn flat(reason: String) -> Topology {
        let pus: Vec<usize> = process_cpus().unwrap_or_else(|| {
            (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
        });
        Topology {
            source: TopologySource::Fallback { reason },
            cpu_model: cpuinfo_model(),
            packages: 1,
            numa_nodes: vec![NumaNode {
                os_index: 0,
                pus: pus.clone(),
            }],
            cores: pus
                .into_iter()
                .map(|pu| Core {
                    pus: vec![pu],
                    numa_node: Some(0),
                })
                .collect(),
            gpus: Vec::new(),
            protection_keys: ProtectionKeys::detect(),
            outside: Vec::new(),
            disk_interrupts: Vec::new(),
            forbidden: Vec::new(),
        }
    }

    /// A made-up machine of the given shape (no protection keys, model "synthetic"), so the
    /// planner can be tested on machines this one is not.
    pub fn synthetic(shape: SyntheticShape) -> Topology {
        let nodes = shape.numa_nodes.max(1);
        let per_core = shape.pus_per_core.max(1);
        let mut cores = Vec::new();
        let mut numa_nodes = Vec::new();
        for node in 0..nodes {
            let first = node * shape.cores_per_node;
            let node_cores: Vec<Core> = (first..first + shape.cores_per_node)
                .map(|core| Core {
                    pus: (core * per_core..(core + 1) * per_core).collect(),
                    numa_node: Some(node),
                })
                .collect();
            numa_nodes.push(NumaNode {
                os_index: node,
                pus: node_cores.iter().flat_map(|c| c.pus.clone()).collect(),
            });
            cores.extend(node_cores);
        }
        Topology {
            source: TopologySource::Synthetic,
            cpu_model: Some("synthetic".to_owned()),
            packages: nodes,
            numa_nodes,
            cores,
            gpus: shape
                .gpu
                .map(|numa_node| PciGpu {
                    pci_bus_id: "0000:01:00.0".to_owned(),
                    name: "synthetic GPU".to_owned(),
                    numa_node,
                })
                .into_iter()
                .collect(),
            protection_keys: ProtectionKeys::default(),
            outside: Vec::new(),
            disk_interrupts: Vec::new(),
            forbidden: Vec::new(),
        }
    }

    /// Where this description came from (hwloc, the fallback, or a test).
    pub fn source(&self) -> &TopologySource {
        &self.source
    }

    /// The CPU model name, where hwloc or /proc/cpuinfo tell it.
    pub fn cpu_model(&self) -> Option<&str> {
        self.cpu_model.as_deref()
    }

    /// How many CPU packages (sockets).
    pub fn packages(&self) -> usize {
        self.packages
    }

    /// The NUMA nodes, as hwloc lists them.
    pub fn numa_nodes(&self) -> &[NumaNode] {
        &self.numa_nodes
    }

    /// The physical cores, as hwloc lists them (package by package).
    pub fn cores(&self) -> &[Core] {
        &self.cores
    }

    /// Every PU's OS index in the process's affinity mask, ascending: what the automatic plan
    /// uses ([`Topology::machine_pus`] for what `--cores` takes).
    pub fn pus(&self) -> Vec<usize> {
        let mut pus: Vec<usize> = self
            .cores
            .iter()
            .flat_map(|c| c.pus.iter().copied())
            .collect();
        pus.sort_unstable();
        pus
    }

    /// Whether a PU with this OS index exists here, in the process's affinity mask (what the
    /// plan uses).
    pub fn has_pu(&self, pu: usize) -> bool {
        self.cores.iter().any(|c| c.pus.contains(&pu))
    }

    /// Whether a PU with this OS index is on the machine, in the process's affinity mask or
    /// not: what a `cores` setting may name. The mask is one thread's — the main thread's —
    /// which a host may have pinned. A PU a cpuset forbids the process is not on hwloc's
    /// machine (refused by the setting's check); the kernel refuses any other it will not run
    /// a stage on when the stage is pinned, naming the core. Where hwloc cannot read the
    /// machine, only the mask's PUs are known.
    pub fn on_machine(&self, pu: usize) -> bool {
        self.has_pu(pu) || self.outside.iter().any(|&(p, _)| p == pu)
    }

    /// The PUs of the machine the process's affinity mask leaves out, ascending.
    pub fn outside_the_mask(&self) -> Vec<usize> {
        self.outside.iter().map(|&(pu, _)| pu).collect()
    }

    /// Whether the kernel runs this PU but a cpuset forbids it the process (hwloc's machine
    /// leaves it out): a `cores` setting naming it is refused as such, not as a PU that does
    /// not exist.
    pub fn forbidden(&self, pu: usize) -> bool {
        self.forbidden.contains(&pu)
    }

    /// Marks `pus` forbidden by a cpuset ([`Topology::forbidden`]): the kernel's list, which
    /// only a machine read from hwloc has; for a synthetic machine's tests.
    #[cfg(test)]
    pub(crate) fn forbid(&mut self, pus: &[usize]) {
        let off: Vec<usize> = pus
            .iter()
            .copied()
            .filter(|&pu| !self.on_machine(pu))
            .collect();
        self.forbidden.extend(off);
        self.forbidden.sort_unstable();
        self.forbidden.dedup();
    }

    /// Every PU of the machine, in the process's affinity mask or not, ascending: the numbers
    /// a `cores` setting may name.
    pub fn machine_pus(&self) -> Vec<usize> {
        let mut pus = self.pus();
        pus.extend(self.outside_the_mask());
        pus.sort_unstable();
        pus
    }

    /// The NUMA node of a PU, where known.
    pub fn numa_node_of(&self, pu: usize) -> Option<usize> {
        match self.cores.iter().find(|c| c.pus.contains(&pu)) {
            Some(core) => core.numa_node,
            // A PU outside the mask that a `cores` setting named.
            None => self
                .outside
                .iter()
                .find(|&&(p, _)| p == pu)
                .and_then(|&(_, node)| node),
        }
    }

    /// The GPUs hwloc found on the PCI bus (none where hwloc has no PCI support or the GPU is
    /// not a PCI device, like a software rasterizer).
    pub fn gpus(&self) -> &[PciGpu] {
        &self.gpus
    }

    /// Keeps only the GPU with this PCI bus id (the one wgpu chose), when hwloc found it; other
    /// GPUs would mislead the feeder's placement.
    pub fn select_gpu(&mut self, pci_bus_id: &str) {
        let wanted = pci_bus_id.trim().to_ascii_lowercase();
        if self.gpus.iter().any(|g| g.pci_bus_id == wanted) {
            self.gpus.retain(|g| g.pci_bus_id == wanted);
        }
    }

    /// The NUMA node of the GPU: known only where every GPU hwloc located sits on one node
    /// (with several GPUs on several nodes, which one the engine uses is not known here).
    pub fn gpu_numa_node(&self) -> Option<usize> {
        let nodes: BTreeSet<Option<usize>> = self.gpus.iter().map(|g| g.numa_node).collect();
        match nodes.into_iter().collect::<Vec<_>>()[..] {
            [Some(node)] => Some(node),
            _ => None,
        }
    }

    /// Memory protection keys on this machine.
    pub fn protection_keys(&self) -> ProtectionKeys {
        self.protection_keys
    }

    /// Records that the disk `device` takes most of its interrupts on `pu`
    /// (`pipeline::interrupts::concentrated`), a fact hwloc does not give: the plan then gives
    /// that PU's core to the UED, whose commits the interrupts complete, where it can.
    pub fn mark_disk_interrupts(&mut self, pu: usize, device: &str) {
        if !self
            .disk_interrupts
            .iter()
            .any(|(p, d)| *p == pu && d == device)
        {
            self.disk_interrupts.push((pu, device.to_owned()));
        }
    }

    /// The PUs marked as taking most of a disk's interrupts, with the disks' names, in the order
    /// marked.
    pub fn disk_interrupts(&self) -> &[(usize, String)] {
        &self.disk_interrupts
    }

    /// Whether a PU of `core` takes most of a disk's interrupts.
    pub fn takes_disk_interrupts(&self, core: &Core) -> bool {
        self.disk_interrupts
            .iter()
            .any(|(pu, _)| core.pus.contains(pu))
    }
}

/// An hwloc object's CPUs as OS indices.
fn cpus_of(object: &TopologyObject) -> Vec<usize> {
    object
        .cpuset()
        .map(|set| set.iter_set().map(usize::from).collect())
        .unwrap_or_default()
}

/// The CPUs the process may run on: its main thread's affinity mask, which `taskset` and a
/// container's cpuset set for every thread it starts. Not the calling thread's: a host that
/// pinned the thread opening an engine (validators pin theirs) would have had the engine
/// planned on that one core, and a `cores` setting naming the process's other CPUs refused as
/// CPUs that do not exist. `None` where the kernel does not say.
pub fn process_cpus() -> Option<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes at most its size.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: getpid cannot fail; the set is valid for size_of::<cpu_set_t>() bytes.
    let status =
        unsafe { libc::sched_getaffinity(libc::getpid(), size_of::<libc::cpu_set_t>(), &mut set) };
    if status != 0 {
        return None;
    }
    let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
        // SAFETY: cpu < CPU_SETSIZE, within the set.
        .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
        .collect();
    (!cpus.is_empty()).then_some(cpus)
}

/// The PUs the kernel runs (`/sys/devices/system/cpu/online`, a list such as `0-63`; an
/// offline one is not forbidden by a cpuset), none where it cannot be read.
fn online_cpus() -> Vec<usize> {
    std::fs::read_to_string("/sys/devices/system/cpu/online")
        .ok()
        .and_then(|list| super::cores::parse_cpus("online", list.trim()).ok())
        .unwrap_or_default()
}

/// The "model name" line of /proc/cpuinfo, for where hwloc gives no CPUModel.
fn cpuinfo_model() -> Option<String> {
    let text = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

/// "PU 3" or "PUs 0-1,8".
pub fn pus_label(cpus: &[usize]) -> String {
    let s = if cpus.len() == 1 { "" } else { "s" };
    format!("PU{s} {}", format_cpus(cpus))
}

/// PU numbers as compact ranges, "0-3,8,10-11": how `--cores` writes them and errors show them.
pub fn format_cpus(cpus: &[usize]) -> String {
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {

    #[test]
    fn hwloc_reads_the_machine_once_a_process() {
        // Each hwloc load leaks in its PCI discovery: a host opening engines again and again
        // lost a kilobyte each time.
        let first = Topology::from_hwloc();
        let second = Topology::from_hwloc();
        assert_eq!(first.is_ok(), second.is_ok());
        if let (Ok(first), Ok(second)) = (&first, &second) {
            assert_eq!(first, second);
        }
        assert_eq!(MACHINE_READS.load(Ordering::Relaxed), 1);
    }

    use super::*;

    #[test]
    fn this_machine_is_read_from_hwloc() {
        let topology = Topology::from_hwloc().expect("hwloc reads this machine");
        assert!(matches!(topology.source(), TopologySource::Hwloc { .. }));
        assert!(!topology.cores().is_empty());
        assert!(topology.packages() >= 1);
        assert!(!topology.numa_nodes().is_empty());
        // Every PU the kernel lets us run on is one hwloc reports.
        for id in core_affinity::get_core_ids().unwrap_or_default() {
            assert!(topology.has_pu(id.id), "PU {} missing", id.id);
        }
        for pu in topology.pus() {
            assert!(topology.numa_node_of(pu).is_some(), "PU {pu} has no node");
        }
    }

    #[test]
    fn a_pinned_thread_surveys_the_process_cpus_not_its_own() {
        let process = process_cpus().expect("the kernel says");
        if process.len() < 2 {
            tandem_kernels::say_skipped!(
                "skipped: the process may run on one CPU only ({process:?})"
            );
            return;
        }
        let first = process[0];
        let seen = std::thread::spawn(move || {
            assert!(core_affinity::set_for_current(core_affinity::CoreId {
                id: first
            }));
            let own = core_affinity::get_core_ids().unwrap_or_default();
            assert_eq!(own.len(), 1, "pinned");
            Topology::from_hwloc().expect("hwloc").pus()
        })
        .join()
        .unwrap();
        let mut seen = seen;
        seen.sort_unstable();
        assert_eq!(seen, process, "the thread's own mask was {first} only");
    }

    /// Set, to the parent's process id, in the child process of the test below, which pins its
    /// main thread.
    const PINNED_MAIN_CHILD: &str = "TANDEM_TEST_PINNED_MAIN_CHILD";

    #[test]
    fn a_cores_setting_may_name_the_cpus_of_a_host_that_pinned_its_main_thread() {
        use crate::pipeline::cores::CoreSpec;
        use crate::pipeline::placement::{Placement, Stage};
        let name = "pipeline::topology::tests::\
                    a_cores_setting_may_name_the_cpus_of_a_host_that_pinned_its_main_thread";
        let parent = std::os::unix::process::parent_id().to_string();
        if std::env::var(PINNED_MAIN_CHILD).ok().as_deref() == Some(parent.as_str()) {
            // The child: its main thread (the test harness's) pinned to one CPU, as a validator
            // pins its own, after it started this one.
            let main = std::process::id() as libc::pid_t;
            // SAFETY: the gettid system call takes nothing and cannot fail.
            let this = unsafe { libc::syscall(libc::SYS_gettid) } as libc::pid_t;
            assert_ne!(this, main, "the test runs on a thread of its own");
            let all = process_cpus().expect("the kernel says");
            let (first, other) = (all[0], all[1]);
            // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET stays within it; the set
            // is valid for its size.
            let status = unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(first, &mut set);
                libc::sched_setaffinity(main, size_of::<libc::cpu_set_t>(), &set)
            };
            assert_eq!(status, 0, "pin the main thread");
            // The automatic plan keeps to the main thread's mask; the setting may name the
            // machine's other PUs, and a stage is pinned there.
            let topology = Topology::from_hwloc().expect("hwloc");
            assert_eq!(topology.pus(), [first], "the plan's PUs");
            assert!(topology.on_machine(other) && !topology.has_pu(other));
            let spec = CoreSpec::parse(&format!("ved={other}")).expect("a setting");
            let placement = Placement::with_cores(&topology, false, &spec).expect("accepted");
            let pinned = std::thread::spawn(move || {
                placement.pin_thread_to_stage(Stage::Ved).expect("pinned");
                core_affinity::get_core_ids().unwrap_or_default()
            })
            .join()
            .unwrap();
            assert_eq!(pinned.iter().map(|c| c.id).collect::<Vec<_>>(), [other]);
            // A PU the machine lacks is still refused, naming the machine's.
            let missing = CoreSpec::parse("ved=4000").expect("a setting");
            let err = Placement::with_cores(&topology, false, &missing).unwrap_err();
            let machine = format_cpus(&topology.machine_pus());
            assert!(err.to_string().contains(&machine), "{err}");
            assert!(topology.machine_pus().contains(&other));
            // What the survey tells the operator (`tandem topology`, `tandem run`).
            let survey = crate::pipeline::survey::Survey::take(Some(&format!("ved={other}")))
                .expect("the survey takes the setting");
            let leaves_out = format!("leaves out {}:", pus_label(&topology.outside_the_mask()));
            assert!(topology.outside_the_mask().contains(&other));
            assert!(
                survey.notes.iter().any(|n| n.contains(&leaves_out)),
                "{:?}",
                survey.notes
            );
            return;
        }
        let process = process_cpus().expect("the kernel says");
        if process.len() < 2 {
            tandem_kernels::say_skipped!(
                "skipped: the process may run on one CPU only ({process:?})"
            );
            return;
        }
        // In a child process: pinning this process's main thread would pin every test thread
        // the harness starts after it.
        let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .args(["--exact", name, "--nocapture", "--test-threads", "1"])
            .env(PINNED_MAIN_CHILD, std::process::id().to_string())
            .output()
            .expect("run the child");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("1 passed"), "the child ran the test: {text}");
    }

    #[test]
    fn hwloc_reader_sees_two_nodes_of_a_synthetic_hwloc_machine() {
        let hwloc = hwlocality::Topology::builder()
            .from_synthetic("pack:2 numa:1 core:4 pu:2")
            .unwrap()
            .build()
            .unwrap();
        let topology = Topology::read_hwloc(&hwloc).unwrap();
        assert!(topology.source().to_string().contains("another machine"));
        assert_eq!(topology.packages(), 2);
        assert_eq!(topology.numa_nodes().len(), 2);
        assert_eq!(topology.cores().len(), 8);
        assert_eq!(topology.pus().len(), 16);
        assert!(topology.cores().iter().all(|c| c.pus.len() == 2));
        let node0 = topology.cores()[0].numa_node;
        let node1 = topology.cores()[7].numa_node;
        assert!(node0.is_some() && node1.is_some() && node0 != node1);
    }

    #[test]
    fn the_fallback_is_flat_and_says_why() {
        let topology = Topology::flat("no sysfs".to_owned());
        assert!(topology.source().to_string().contains("no sysfs"));
        assert_eq!(topology.numa_nodes().len(), 1);
        assert!(topology.cores().iter().all(|c| c.pus.len() == 1));
        assert!(!topology.pus().is_empty());
    }

    #[test]
    fn synthetic_shapes_number_pus_in_order() {
        let topology = Topology::synthetic(SyntheticShape {
            numa_nodes: 2,
            cores_per_node: 8,
            pus_per_core: 2,
            gpu: Some(Some(1)),
        });
        assert_eq!(topology.cores().len(), 16);
        assert_eq!(topology.pus(), (0..32).collect::<Vec<_>>());
        assert_eq!(topology.numa_node_of(15), Some(0));
        assert_eq!(topology.numa_node_of(16), Some(1));
        assert_eq!(topology.gpu_numa_node(), Some(1));
    }

    #[test]
    fn an_affinity_mask_keeps_its_pus_only() {
        let mut topology = Topology::synthetic(SyntheticShape {
            numa_nodes: 2,
            cores_per_node: 2,
            pus_per_core: 2,
            gpu: None,
        });
        // `taskset -c 1,4-5`: half of core 0, all of core 2.
        topology.restrict_to(&[1, 4, 5]);
        let cores: Vec<&[usize]> = topology.cores().iter().map(|c| &c.pus[..]).collect();
        assert_eq!(cores, [&[1][..], &[4, 5][..]]);
        assert_eq!(topology.numa_nodes()[0].pus, [1]);
        assert_eq!(topology.numa_nodes()[1].pus, [4, 5]);
        // The others stay on the machine, with their nodes, for a `cores` setting to name.
        assert_eq!(topology.outside_the_mask(), [0, 2, 3, 6, 7]);
        assert_eq!(topology.machine_pus(), (0..8).collect::<Vec<_>>());
        assert!(topology.on_machine(6) && !topology.has_pu(6) && !topology.on_machine(8));
        assert_eq!(topology.numa_node_of(6), Some(1));
        let spec = crate::pipeline::cores::CoreSpec::parse("ved=6").unwrap();
        assert!(spec.check(&topology).is_ok());
        let spec = crate::pipeline::cores::CoreSpec::parse("ved=9").unwrap();
        let err = spec.check(&topology).unwrap_err().to_string();
        assert!(err.contains("this machine has PUs 0-7"), "{err}");
        // A mask naming none of the machine's PUs leaves it whole.
        topology.restrict_to(&[99]);
        assert_eq!(topology.pus(), [1, 4, 5]);
        assert_eq!(topology.outside_the_mask(), [0, 2, 3, 6, 7]);
    }

    #[test]
    fn protection_keys_come_from_the_cpu_flags() {
        let both = "processor\t: 0\nflags\t\t: fpu sse pku ospke avx2\n";
        assert!(ProtectionKeys::from_cpuinfo(both).available());
        let cpu_only = "flags\t: fpu pku\n";
        let keys = ProtectionKeys::from_cpuinfo(cpu_only);
        assert!(keys.cpu && !keys.os && !keys.available());
        // "pkus" or "ospke2" are not the flags.
        assert_eq!(
            ProtectionKeys::from_cpuinfo("flags: pkus ospke2\n"),
            ProtectionKeys::default()
        );
        assert!(ProtectionKeys::default().summary().contains("typed checks"));
    }

    /// Where the CPU and kernel have protection keys, the store applies them (unless turned
    /// off, or a sandbox refuses the system call): a regression in their allocation would
    /// otherwise only make every test of them skip.
    #[test]
    fn a_machine_with_protection_keys_gets_them_applied() {
        let keys = ProtectionKeys::detect();
        let off =
            std::env::var(crate::store::protection::PROTECTION_KEYS_ENV).is_ok_and(|v| v == "off");
        if !keys.available() {
            // The reason names what is missing, not a shortage of keys (pkey_alloc answers
            // ENOSPC where the CPU has none).
            let reason = crate::store::protection::status().as_ref().unwrap_err();
            let named = reason.contains("offers none") || reason.contains("x86-64 only");
            assert!(off || named, "{reason}");
            tandem_kernels::say_skipped!("skipped: {}", keys.summary());
            return;
        }
        if off {
            tandem_kernels::say_skipped!("skipped: {}", keys.summary());
            return;
        }
        match crate::store::protection::status() {
            Ok(_) => assert!(keys.applied && keys.summary().starts_with("applied: ")),
            // A sandbox's seccomp filter, not tandem.
            Err(reason)
                if reason.contains("Operation not permitted")
                    || reason.contains("not implemented") =>
            {
                tandem_kernels::say_skipped!("skipped: {reason}")
            }
            Err(reason) => panic!("pku and ospke, yet no keys: {reason}"),
        }
    }

    #[test]
    fn cpu_lists_print_as_ranges() {
        assert_eq!(format_cpus(&[0, 1, 2, 3, 8, 10, 11]), "0-3,8,10-11");
        assert_eq!(format_cpus(&[5]), "5");
        assert_eq!(format_cpus(&[]), "");
    }
}
