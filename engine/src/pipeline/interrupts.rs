//! Where the machine's disks deliver their interrupts: a fact the placement does not choose but
//! plans around.
//!
//! Every sync of the UED's commit ends in interrupts from the disk that holds the store, and a
//! disk with one queue (a VM's virtio disk, a SATA controller) takes them all on one PU, with the
//! kernel's work of completing them (the block layer's, the journal's). When that PU is one
//! sigverify runs on — the stage the pipeline's throughput rests on — each of the UED's syncs
//! interrupts the user signatures there. On the 2-vCPU KVM guest the project is developed on, the
//! virtio disk's one queue interrupts PU 1: with sigverify there the pipeline's efficiency was
//! 0.931 (median of six rounds), 1.009 with the stages the other way round, and 1.037–1.050 with
//! the store on tmpfs, which raises none (`docs/measurements/issue-10.md`, "What "beside" was,
//! found"). Multi-queue NVMe disks complete on the submitting PU's queue and spread them.
//!
//! [`detect`] reads, for each block device that is hardware (`/sys/block/*/device`), the
//! interrupts of its PCI function (`msi_irqs`, or its legacy `irq`) and their counts per PU
//! since boot (`/proc/interrupts`). The survey marks each [`concentrated`] disk's PU on the
//! topology before it plans, and the plan gives that PU's core to the UED, whose syncs the
//! interrupts complete, keeping the VED and sigverify off it where the machine has cores enough
//! (`placement`); [`notes`] says when a sigverify PU the UED does not share takes them all the
//! same (a `cores` setting put it there). Moving the interrupts themselves
//! (`/proc/irq/N/smp_affinity_list`, as root) is the operator's call.

use std::collections::BTreeMap;
use std::path::Path;

use super::cores::parse_cpus;
use super::placement::{Placement, Stage};
use super::topology::pus_label;

/// One disk's interrupts, as counted since boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskInterrupts {
    /// The block device (`vda`, `nvme0n1`, `sda`).
    pub device: String,
    /// Its PCI function's interrupt numbers.
    pub irqs: Vec<u32>,
    /// Interrupts taken per PU, PUs that took none left out, by PU.
    pub by_pu: Vec<(usize, u64)>,
    /// Where the disk's busiest interrupt (the one that took the most) goes now: the kernel's
    /// effective affinity of it (`/proc/irq/N/effective_affinity_list`), ascending; empty where
    /// it cannot be read. Counts since boot lag a change of affinity; this does not.
    pub routed_to: Vec<usize>,
}

impl DiskInterrupts {
    /// All of the disk's interrupts taken so far.
    pub fn total(&self) -> u64 {
        self.by_pu.iter().map(|&(_, n)| n).sum()
    }

    /// The PU that took most of them (of a tie, the lowest), with its share (0–1); `None` before
    /// the first.
    pub fn busiest(&self) -> Option<(usize, f64)> {
        let total = self.total();
        self.by_pu
            .iter()
            .max_by_key(|&&(pu, n)| (n, std::cmp::Reverse(pu)))
            .filter(|_| total > 0)
            .map(|&(pu, n)| (pu, n as f64 / total as f64))
    }

    /// The PU the disk's interrupts mostly go to, with the share of them it took so far: where
    /// more than half were taken on one PU (a disk with one queue), the PU its busiest interrupt
    /// is routed to now where that is one PU (an operator may have moved it since), else the PU
    /// that took them. `None` for a disk whose interrupts spread (a multi-queue disk completing
    /// on each submitting PU's queue) or that took none.
    pub fn concentrated(&self) -> Option<(usize, f64)> {
        let (busiest, share) = self.busiest().filter(|&(_, share)| share > 0.5)?;
        match self.routed_to[..] {
            [now] => Some((now, share)),
            _ => Some((busiest, share)),
        }
    }
}

/// This machine's disks and their interrupts (none where `/sys` or `/proc/interrupts` cannot be
/// read: not Linux, a sandbox).
pub fn detect() -> Vec<DiskInterrupts> {
    match std::fs::read_to_string("/proc/interrupts") {
        Ok(counts) => read_from(Path::new("/sys"), Path::new("/proc/irq"), &counts),
        Err(_) => Vec::new(),
    }
}

/// The disks under `sys` (a sysfs root) and their interrupts' counts in `proc_interrupts` (the
/// text of `/proc/interrupts`), with their routing under `irq_dir` (`/proc/irq`), by device
/// name. A device without a hardware parent (a loop or RAM disk), or whose interrupts cannot be
/// found, is left out.
pub fn read_from(sys: &Path, irq_dir: &Path, proc_interrupts: &str) -> Vec<DiskInterrupts> {
    let counts = parse_counts(proc_interrupts);
    let Ok(entries) = std::fs::read_dir(sys.join("block")) else {
        return Vec::new();
    };
    let mut disks: Vec<DiskInterrupts> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let device = entry.file_name().to_string_lossy().into_owned();
            let parent = std::fs::canonicalize(entry.path().join("device")).ok()?;
            let irqs = interrupts_of(&parent);
            if irqs.is_empty() {
                return None;
            }
            let mut by_pu: BTreeMap<usize, u64> = BTreeMap::new();
            for irq in &irqs {
                for &(pu, n) in counts.get(irq).into_iter().flatten() {
                    *by_pu.entry(pu).or_default() += n;
                }
            }
            by_pu.retain(|_, n| *n > 0);
            let routed_to = irqs
                .iter()
                .map(|irq| {
                    let taken: u64 = counts.get(irq).into_iter().flatten().map(|&(_, n)| n).sum();
                    (taken, std::cmp::Reverse(*irq))
                })
                .filter(|&(taken, _)| taken > 0)
                .max()
                .map(|(_, std::cmp::Reverse(irq))| routing_of(&irq_dir.join(irq.to_string())))
                .unwrap_or_default();
            Some(DiskInterrupts {
                device,
                irqs,
                by_pu: by_pu.into_iter().collect(),
                routed_to,
            })
        })
        .collect();
    disks.sort_by(|a, b| a.device.cmp(&b.device));
    disks
}

/// The PUs an interrupt is delivered to now, from its `/proc/irq/N` directory: its effective
/// affinity (where the kernel routes it), or its affinity mask where the kernel keeps no
/// effective one; empty where neither can be read.
fn routing_of(irq: &Path) -> Vec<usize> {
    ["effective_affinity_list", "smp_affinity_list"]
        .iter()
        .find_map(|name| {
            let text = std::fs::read_to_string(irq.join(name)).ok()?;
            parse_cpus(name, text.trim()).ok()
        })
        .unwrap_or_default()
}

/// The interrupt numbers of the nearest ancestor of `device` (a sysfs device directory) that has
/// any: its `msi_irqs` entries, else its legacy `irq` (0 is none).
fn interrupts_of(device: &Path) -> Vec<u32> {
    for dir in device.ancestors().take(6) {
        if let Ok(entries) = std::fs::read_dir(dir.join("msi_irqs")) {
            let mut irqs: Vec<u32> = entries
                .filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse().ok())
                .collect();
            if !irqs.is_empty() {
                irqs.sort_unstable();
                return irqs;
            }
        }
        let legacy = std::fs::read_to_string(dir.join("irq"))
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok());
        if let Some(irq) = legacy.filter(|&irq| irq > 0) {
            return vec![irq];
        }
    }
    Vec::new()
}

/// `/proc/interrupts`' numbered rows: per interrupt, its count per PU (the header's `CPUn`
/// columns, which skip PUs that are offline).
fn parse_counts(text: &str) -> BTreeMap<u32, Vec<(usize, u64)>> {
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return BTreeMap::new();
    };
    let pus: Vec<usize> = header
        .split_whitespace()
        .filter_map(|column| column.strip_prefix("CPU")?.parse().ok())
        .collect();
    lines
        .filter_map(|line| {
            let (irq, rest) = line.split_once(':')?;
            let irq: u32 = irq.trim().parse().ok()?;
            let counts = rest
                .split_whitespace()
                .map_while(|field| field.parse::<u64>().ok())
                .zip(&pus)
                .map(|(n, &pu)| (pu, n))
                .collect();
            Some((irq, counts))
        })
        .collect()
}

/// The disks whose interrupts mostly (more than half) land on one PU, with that PU and its
/// share: a disk with one queue (virtio, SATA). A multi-queue disk that completes on each
/// submitting PU's queue spreads them and is not one.
pub fn concentrated(
    disks: &[DiskInterrupts],
) -> impl Iterator<Item = (&DiskInterrupts, usize, f64)> {
    disks.iter().filter_map(|disk| {
        let (pu, share) = disk.concentrated()?;
        Some((disk, pu, share))
    })
}

/// What a reader of the plan should know about `disks`: for each [`concentrated`] disk whose
/// PU is one of sigverify's PUs that the UED does not run on — where a
/// cores setting put sigverify, or a plan had no core of the UED's to trade — a note saying so.
pub fn notes(disks: &[DiskInterrupts], placement: &Placement) -> Vec<String> {
    let of = |stage| placement.cpus(stage).unwrap_or(&[]);
    let (sigverify, ued) = (of(Stage::Sigverify), of(Stage::Ued));
    concentrated(disks)
        .filter(|&(_, pu, _)| sigverify.contains(&pu) && !ued.contains(&pu))
        .map(|(disk, pu, share)| {
            format!(
                "the disk {}'s interrupts go to {} ({:.0} % of the {} since boot on one PU), \
                     where sigverify runs: each of the UED's syncs interrupts the user signatures \
                     there (on the 2-vCPU guest the README measures, 8 % of the pipeline's \
                     efficiency); `--cores` can put sigverify elsewhere, or root can move the \
                     interrupts (IRQ {}: /proc/irq/N/smp_affinity_list)",
                disk.device,
                pus_label(&[pu]),
                share * 100.0,
                disk.total(),
                disk.irqs
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::topology::{SyntheticShape, Topology};

    const PROC_INTERRUPTS: &str = "           CPU0       CPU1       \n\
  1:          9          0   IO-APIC    1-edge      i8042\n\
 35:          0          2  PCI-MSIX-0000:00:02.0   0-edge      virtio1-config\n\
 36:         10     556926  PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0\n\
 40:        700        300  PCI-MSIX-0000:00:04.0   0-edge      nvme0q0\n\
NMI:          0          0   Non-maskable interrupts\n";

    /// A sysfs root with a virtio disk (MSI-X, on PCI function 00:02.0), an NVMe disk (00:04.0),
    /// a SATA disk on a controller with a legacy interrupt, and a loop device.
    fn sysfs() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let sys = root.path();
        let pci = sys.join("devices/pci0000:00");
        let mkdir = |p: &Path| std::fs::create_dir_all(p).unwrap();
        let link = |target: &Path, at: &Path| {
            mkdir(at.parent().unwrap());
            std::os::unix::fs::symlink(target, at).unwrap();
        };
        mkdir(&pci.join("0000:00:02.0/virtio1"));
        for irq in ["35", "36"] {
            mkdir(&pci.join("0000:00:02.0/msi_irqs").join(irq));
        }
        link(
            &pci.join("0000:00:02.0/virtio1"),
            &sys.join("block/vda/device"),
        );
        mkdir(&pci.join("0000:00:04.0/nvme/nvme0"));
        mkdir(&pci.join("0000:00:04.0/msi_irqs/40"));
        link(
            &pci.join("0000:00:04.0/nvme/nvme0"),
            &sys.join("block/nvme0n1/device"),
        );
        mkdir(&pci.join("0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0"));
        std::fs::write(pci.join("0000:00:1f.2/irq"), "19\n").unwrap();
        link(
            &pci.join("0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0"),
            &sys.join("block/sda/device"),
        );
        mkdir(&sys.join("block/loop0"));
        // The virtio disk's request queue (IRQ 36) routed to PU 1, its mask both PUs; the
        // NVMe's has no directory here (routing unknown).
        mkdir(&sys.join("irq/36"));
        std::fs::write(sys.join("irq/36/smp_affinity_list"), "0-1\n").unwrap();
        std::fs::write(sys.join("irq/36/effective_affinity_list"), "1\n").unwrap();
        root
    }

    #[test]
    fn each_hardware_disk_gets_its_functions_interrupts_counted_per_pu() {
        let root = sysfs();
        let disks = read_from(root.path(), &root.path().join("irq"), PROC_INTERRUPTS);
        let names: Vec<&str> = disks.iter().map(|d| d.device.as_str()).collect();
        assert_eq!(
            names,
            ["nvme0n1", "sda", "vda"],
            "the loop device has no hardware"
        );
        let [nvme, sata, virtio] = &disks[..] else {
            unreachable!()
        };
        assert_eq!(virtio.irqs, [35, 36]);
        assert_eq!(virtio.by_pu, [(0, 10), (1, 556_928)]);
        assert_eq!(
            virtio.routed_to,
            [1],
            "the busiest interrupt's effective affinity"
        );
        assert_eq!(virtio.concentrated().map(|(pu, _)| pu), Some(1));
        let (pu, share) = virtio.busiest().unwrap();
        assert_eq!(pu, 1);
        assert!(share > 0.9999, "{share}");
        assert_eq!(nvme.by_pu, [(0, 700), (1, 300)]);
        assert_eq!(nvme.busiest().unwrap().0, 0);
        assert!(nvme.routed_to.is_empty());
        assert_eq!(
            nvme.concentrated().map(|(pu, _)| pu),
            Some(0),
            "70 %: by the counts"
        );
        // The SATA controller's legacy interrupt has no row: counted as none taken.
        assert_eq!((sata.irqs.as_slice(), sata.busiest()), (&[19][..], None));
    }

    #[test]
    fn a_note_only_where_a_disk_interrupts_a_sigverify_pu_the_ued_does_not_share() {
        let root = sysfs();
        let disks = read_from(root.path(), &root.path().join("irq"), PROC_INTERRUPTS);
        let two = Topology::synthetic(SyntheticShape {
            numa_nodes: 1,
            cores_per_node: 2,
            pus_per_core: 1,
            gpu: None,
        });
        // The small machine's plan: sigverify on PU 1, the executors on PU 0.
        let plan = Placement::plan(&two, false);
        assert_eq!(plan.cpus(Stage::Sigverify), Some(&[1][..]));
        let said = notes(&disks, &plan);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with(
                "the disk vda's interrupts go to PU 1 (100 % of the 556938 since boot"
            ),
            "{said:?}"
        );
        assert!(said[0].contains("(IRQ 35, 36: /proc/irq/N/"), "{said:?}");
        // The other way round: the virtio disk interrupts the executors' PU, nothing to say of
        // it — but the NVMe disk's busiest PU, 0, is sigverify's now.
        let swapped = Placement::with_cores(
            &two,
            false,
            &crate::pipeline::CoreSpec::parse("sigverify=0;ved=1;ued=1;hash=1").unwrap(),
        )
        .unwrap();
        let said = notes(&disks, &swapped);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].starts_with("the disk nvme0n1's interrupts go to PU 0 (70 % of"),
            "{said:?}"
        );
        // Where no PU took more than half of a disk's interrupts, nothing either.
        let spread = DiskInterrupts {
            device: "nvme1n1".into(),
            irqs: vec![41, 42],
            by_pu: vec![(0, 50), (1, 50)],
            routed_to: vec![0],
        };
        assert_eq!(spread.concentrated(), None);
        assert_eq!(spread.busiest().map(|(pu, _)| pu), Some(0));
        assert!(notes(&[spread], &plan).is_empty());
        // No /proc/interrupts rows, or no sysfs: no disks, no notes.
        assert!(
            read_from(root.path(), &root.path().join("irq"), "")
                .iter()
                .all(|d| d.busiest().is_none())
        );
        assert!(
            read_from(
                &root.path().join("absent"),
                &root.path().join("irq"),
                PROC_INTERRUPTS
            )
            .is_empty()
        );
    }

    #[test]
    fn a_disk_whose_interrupt_was_moved_counts_where_it_goes_now() {
        // Root moved the virtio disk's request queue to PU 0 after 556,928 interrupts on PU 1:
        // the counts still say PU 1, the routing says PU 0, and the plan must follow the
        // routing.
        let root = sysfs();
        std::fs::write(root.path().join("irq/36/effective_affinity_list"), "0\n").unwrap();
        let disks = read_from(root.path(), &root.path().join("irq"), PROC_INTERRUPTS);
        let virtio = disks.iter().find(|d| d.device == "vda").unwrap();
        assert_eq!(virtio.busiest().unwrap().0, 1);
        assert_eq!(virtio.routed_to, [0]);
        assert_eq!(virtio.concentrated().map(|(pu, _)| pu), Some(0));
        // Without an effective affinity (an older kernel), the mask; one of two PUs says
        // nothing, so the counts decide.
        std::fs::remove_file(root.path().join("irq/36/effective_affinity_list")).unwrap();
        let disks = read_from(root.path(), &root.path().join("irq"), PROC_INTERRUPTS);
        let virtio = disks.iter().find(|d| d.device == "vda").unwrap();
        assert_eq!(virtio.routed_to, [0, 1]);
        assert_eq!(virtio.concentrated().map(|(pu, _)| pu), Some(1));
    }
}
