//! What an engine runs on, surveyed once before it opens: the machine (hwloc), the GPU adapter
//! (wgpu), the placement of the stages with the `cores` setting's overrides, and what each
//! backend setting means here (SPEC §7). The CLI (`tandem run`, `tandem topology`) and the C ABI
//! (`tandem_engine_open`, `tandem_engine_describe`) both take it from here, so they agree.

use std::fmt::Write as _;

use super::cores::{CoreSpec, CoresError};
use super::interrupts::{self, DiskInterrupts};
use super::placement::{Origin, Placement, Stage};
use super::topology::{GpuAdapter, Topology, format_cpus, pus_label};
use crate::runtime::Backend;
use tandem_kernels::auto_gpu_min_items;

/// Why a survey for the CPU backend has no GPU adapter ([`Survey::take_for`]).
const NOT_LOOKED_FOR: &str = "not looked for (backend cpu)";

/// The machine, its GPU adapter and the placement of the pipeline's stages on it.
pub struct Survey {
    /// The machine.
    pub topology: Topology,
    /// The GPU adapter wgpu finds, or why there is none.
    pub adapter: Result<GpuAdapter, String>,
    /// Whether the GPU was looked for: not by a survey for the CPU backend
    /// ([`Survey::take_for`]), whose `adapter` says so.
    pub gpu_looked_for: bool,
    /// Where each stage runs.
    pub placement: Placement,
    /// The machine's disks and where their interrupts have gone.
    pub disks: Vec<DiskInterrupts>,
    /// What a reader should know about the plan.
    pub notes: Vec<String>,
}

/// `--backend gpu` (`TANDEM_BACKEND_GPU`) where wgpu finds no adapter.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("backend gpu: no GPU adapter: {reason}")]
pub struct NoGpuAdapter {
    /// Why wgpu found none.
    pub reason: String,
}

/// Which kernels an engine uses, and why (SPEC §7).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backends {
    /// The backend asked for.
    pub requested: Backend,
    /// Where signatures are verified, in words.
    pub sigverify: String,
    /// Where LtHashes are computed, in words.
    pub lthash: String,
    /// The GPU adapter wgpu found: "name (API, hardware|software)".
    pub gpu_adapter: Option<String>,
}

/// The setting's name of a backend: "auto", "cpu" or "gpu".
pub fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Auto => "auto",
        Backend::Cpu => "cpu",
        Backend::Gpu => "gpu",
    }
}

impl Survey {
    /// Surveys the machine and plans the stages, with the `cores` setting's overrides: a
    /// setting that does not parse, or names a core this machine lacks, is an error naming it.
    pub fn take(cores: Option<&str>) -> Result<Survey, CoresError> {
        Survey::take_for(cores, Backend::Auto)
    }

    /// [`Survey::take`] for an engine of `backend`. With the CPU backend the GPU is not looked
    /// for: opening an adapter starts its driver's threads (Mesa's software rasterizer's among
    /// them), which stay for the life of the process, and lets the driver print its complaints
    /// — for a device the engine would never use (an embedding client with the CPU backend
    /// found six threads and 240 mappings left after `tandem_engine_close`); and no stage is
    /// planned to feed one (where a hardware GPU exists, the plan then differs from the one
    /// `tandem topology` prints by that stage). `tandem_engine_open` surveys so; the `tandem`
    /// command, whose process ends with its work, surveys whole ([`Survey::take`]).
    pub fn take_for(cores: Option<&str>, backend: Backend) -> Result<Survey, CoresError> {
        // Parse before surveying the machine, so a typo fails at once.
        let spec = cores.map(CoreSpec::parse).transpose()?;
        let mut topology = Topology::detect();
        // Where the disks' interrupts go, before the plan: it keeps the votes and the user
        // signatures off those PUs where it can.
        let disks = interrupts::detect();
        for (disk, pu, _) in interrupts::concentrated(&disks) {
            topology.mark_disk_interrupts(pu, &disk.device);
        }
        if let Some(spec) = &spec {
            // Before the GPU survey (which opens a device), so a missing core fails at once.
            spec.check(&topology)?;
        }
        let gpu_looked_for = backend != Backend::Cpu;
        let adapter = match gpu_looked_for {
            false => Err(NOT_LOOKED_FOR.to_owned()),
            true => GpuAdapter::detect(),
        };
        if let Some(id) = adapter.as_ref().ok().and_then(|a| a.pci_bus_id.as_deref()) {
            topology.select_gpu(id);
        }
        // A software rasterizer is never worth feeding: the auto backend keeps the work on the
        // CPU.
        let gpu_present = adapter.as_ref().is_ok_and(|a| !a.software);
        let placement = match &spec {
            Some(spec) => Placement::with_cores(&topology, gpu_present, spec)?,
            None => Placement::plan(&topology, gpu_present),
        };
        let mut notes: Vec<String> = placement.notes().map(str::to_owned).collect();
        let outside = topology.outside_the_mask();
        if !outside.is_empty() {
            notes.push(format!(
                "the process's affinity mask (its main thread's) leaves out {}: the automatic \
                 plan does not use them; a cores setting may name them, unless the host keeps \
                 them for threads of its own",
                pus_label(&outside)
            ));
        }
        match &adapter {
            Ok(a) if a.software => notes.push(format!(
                "the GPU adapter ({}) is a software rasterizer: no gpu feeder is planned",
                a.name
            )),
            Ok(_) => {}
            Err(_) if !gpu_looked_for => {}
            Err(reason) => notes.push(format!("no GPU adapter: {reason}")),
        }
        notes.extend(interrupts::notes(&disks, &placement));
        Ok(Survey {
            topology,
            adapter,
            gpu_looked_for,
            placement,
            disks,
            notes,
        })
    }

    /// What `backend` means on this machine; the GPU backend without an adapter is an error
    /// here, before any block.
    pub fn backends(&self, backend: Backend) -> Result<Backends, NoGpuAdapter> {
        let adapter = &self.adapter;
        let adapter_name = adapter.as_ref().ok().map(|a| {
            let kind = if a.software { "software" } else { "hardware" };
            format!("{} ({}, {kind})", a.name, a.backend)
        });
        let both = |text: String| (text.clone(), text);
        let (sigverify, lthash) = match (backend, adapter) {
            (Backend::Cpu, _) => both("CPU (backend cpu)".to_owned()),
            (Backend::Gpu, Ok(a)) => both(format!("GPU: {}", a.name)),
            (Backend::Gpu, Err(reason)) => {
                return Err(NoGpuAdapter {
                    reason: reason.clone(),
                });
            }
            (Backend::Auto, Ok(a)) if !a.software => both(format!(
                "GPU {} for batches of {} items or more, the CPU below",
                a.name,
                auto_gpu_min_items()
            )),
            (Backend::Auto, Ok(a)) => both(format!(
                "CPU: the only GPU adapter ({}) is a software rasterizer",
                a.name
            )),
            (Backend::Auto, Err(reason)) => both(format!("CPU: no GPU adapter ({reason})")),
        };
        // Wherever the CPU verifies, which of its verifiers does (the lanes of issue #14 or the
        // portable one).
        let (sigverify, lthash) = match backend {
            Backend::Gpu => (sigverify, lthash),
            _ => (
                format!("{sigverify}, {}", cpu_verifier_text()),
                format!("{lthash}, {}", cpu_hash_kernels_text()),
            ),
        };
        Ok(Backends {
            requested: backend,
            sigverify,
            lthash,
            gpu_adapter: adapter_name,
        })
    }

    /// Threads for the UED pass when none are asked for: one per PU of the `ued` stage.
    pub fn ued_threads(&self) -> usize {
        self.placement
            .cpus(Stage::Ued)
            .map_or(1, |cpus| cpus.len().max(1))
    }

    /// The backends and the placement as text for people (`tandem_engine_describe`): one line
    /// per fact, the stages in pipeline order.
    pub fn describe(&self, backends: &Backends, ued_threads: usize) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let mut line = |args: std::fmt::Arguments<'_>| {
            let _ = text.write_fmt(args);
            text.push('\n');
        };
        line(format_args!(
            "tandem {} on {} ({} PUs: {})",
            env!("CARGO_PKG_VERSION"),
            self.topology.cpu_model().unwrap_or("an unknown CPU"),
            self.topology.pus().len(),
            format_cpus(&self.topology.pus())
        ));
        line(format_args!(
            "backend: {}",
            backend_name(backends.requested)
        ));
        line(format_args!("sigverify: {}", backends.sigverify));
        line(format_args!("lthash: {}", backends.lthash));
        line(format_args!(
            "gpu adapter: {}",
            backends
                .gpu_adapter
                .as_deref()
                .unwrap_or(match self.gpu_looked_for {
                    true => "none",
                    false => NOT_LOOKED_FOR,
                })
        ));
        line(format_args!("ued threads: {ued_threads}"));
        for stage in self.placement.stages() {
            let shared: Vec<&str> = self
                .placement
                .shared_with(stage.stage)
                .into_iter()
                .map(Stage::setting_name)
                .collect();
            line(format_args!(
                "stage {}: PUs {}{}{}",
                stage.stage.setting_name(),
                format_cpus(&stage.cpus),
                match stage.origin {
                    Origin::Automatic => " (plan)",
                    Origin::Setting => " (cores setting)",
                },
                if shared.is_empty() {
                    String::new()
                } else {
                    format!(", shared with {}", shared.join(", "))
                }
            ));
        }
        for note in &self.notes {
            line(format_args!("note: {note}"));
        }
        text
    }
}

/// Which of the CPU's BLAKE3 and LtHash kernels run (only the verifier was named: a
/// validator could not tell its hashing's; a black-box test on emulated CPUs, stop 74).
fn cpu_hash_kernels_text() -> String {
    format!(
        "with the CPU's {} BLAKE3 and LtHash kernels",
        tandem_kernels::Platform::detect().name()
    )
}

/// The CPU's ed25519 verifier on this machine, as the backends text names it.
fn cpu_verifier_text() -> String {
    format!(
        "with the CPU's {} ed25519 verifier",
        tandem_kernels::sigverify::cpu_verifier(tandem_kernels::Platform::detect())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn survey_without_gpu() -> Survey {
        let mut survey = Survey::take(None).expect("no setting");
        survey.adapter = Err("none in this test".into());
        survey
    }

    #[test]
    fn a_bad_cores_setting_is_an_error_naming_it() {
        let error = Survey::take(Some("ved=")).err().expect("refused");
        assert!(error.to_string().starts_with("cores:"), "{error}");
        let error = Survey::take(Some("ved=100000")).err().expect("refused");
        assert!(error.to_string().contains("100000"), "{error}");
    }

    #[test]
    fn the_gpu_backend_needs_an_adapter() {
        let survey = survey_without_gpu();
        assert_eq!(
            survey.backends(Backend::Gpu),
            Err(NoGpuAdapter {
                reason: "none in this test".into()
            })
        );
        let auto = survey.backends(Backend::Auto).expect("auto runs anywhere");
        assert_eq!(
            auto.sigverify,
            format!(
                "CPU: no GPU adapter (none in this test), {}",
                cpu_verifier_text()
            )
        );
        assert_eq!(auto.gpu_adapter, None);
    }

    #[test]
    fn auto_names_the_measured_gpu_threshold() {
        let mut survey = survey_without_gpu();
        survey.adapter = Ok(GpuAdapter {
            name: "a hardware GPU".into(),
            backend: "Vulkan".into(),
            software: false,
            pci_bus_id: None,
        });
        // A profile's crossover (tandem run --profile) replaces the default threshold.
        tandem_kernels::set_auto_gpu_min_items(4096);
        let auto = survey.backends(Backend::Auto).expect("auto");
        assert_eq!(
            auto.sigverify,
            format!(
                "GPU a hardware GPU for batches of 4096 items or more, the CPU below, {}",
                cpu_verifier_text()
            )
        );
    }

    #[test]
    fn the_description_names_backends_and_every_stage() {
        let survey = survey_without_gpu();
        let backends = survey.backends(Backend::Cpu).expect("cpu");
        let text = survey.describe(&backends, survey.ued_threads());
        assert!(text.contains("backend: cpu\n"), "{text}");
        let sigverify = format!("sigverify: CPU (backend cpu), {}\n", cpu_verifier_text());
        assert!(text.contains(&sigverify), "{text}");
        let platform = tandem_kernels::Platform::detect().name();
        let lthash = format!("CPU (backend cpu), with the CPU's {platform} BLAKE3 and LtHash");
        assert!(text.contains(&lthash), "{text}");
        for stage in survey.placement.stages() {
            let name = stage.stage.setting_name();
            assert!(text.contains(&format!("stage {name}: PUs ")), "{text}");
        }
        assert!(text.ends_with('\n'));
    }
}
