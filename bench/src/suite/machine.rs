//! What a profile says about where and with what it was measured: the `[machine]` from the
//! engine's survey (hwloc's topology, wgpu's adapter), `/proc/meminfo` and the CPU's flags, and
//! the `[tandem]` build (version, git commit, time, suite size). It reads; it measures nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use tandem_engine::pipeline::{Survey, TopologySource};
use tandem_kernels::Platform;

use super::{Size, SuiteError};
use crate::profile::{Machine, TandemBuild};

/// The `[machine]` of a profile measured on the machine `survey` describes; `kind` names it
/// (the profile's file stem), else [`kind_of`] derives one.
pub fn machine(survey: &Survey, kind: Option<&str>) -> Result<Machine, SuiteError> {
    let topology = &survey.topology;
    let cpu_model = topology.cpu_model().unwrap_or("unknown CPU").to_owned();
    let pus = topology.pus().len();
    let adapter = survey.adapter.as_ref().ok();
    let kind = match kind {
        Some(kind) => check_kind(kind)?,
        None => kind_of(
            &cpu_model,
            &kernels_kind(),
            pus,
            adapter.filter(|a| !a.software).map(|a| a.name.as_str()),
        ),
    };
    let driver = adapter.and_then(|_| {
        let context = tandem_kernels::gpu::GpuContext::shared().ok()?;
        let info = context.info();
        Some(
            format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_owned(),
        )
    });
    let mut notes = vec![format!("the kernels' CPU platform: {}", Platform::detect())];
    if !matches!(
        topology.source(),
        TopologySource::Hwloc {
            this_system: true,
            ..
        }
    ) {
        notes.push(format!("topology: {}", topology.source()));
    }
    Ok(Machine {
        kind,
        cpu_model,
        cores: topology.cores().len().max(1) as u32,
        pus: pus.max(1) as u32,
        numa_nodes: topology.numa_nodes().len().max(1) as u32,
        memory_gib: std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| memory_gib(&text)),
        isa: isa(),
        gpu_adapter: adapter.map(|a| {
            let kind = if a.software { "software" } else { "hardware" };
            format!("{} ({}, {kind})", a.name, a.backend)
        }),
        gpu_driver: driver.filter(|d| !d.is_empty()),
        gpu_hardware: adapter.is_some_and(|a| !a.software),
        notes: Some(notes.join("; ")),
    })
}

/// The `[tandem]` of a profile measured now with this build at `size`: the git commit is the
/// one this tandem was built from (`build.rs`; "unknown" where its source was no checkout) —
/// before, it was the commit of whatever directory `tandem bench` ran in.
pub fn build(size: Size) -> TandemBuild {
    TandemBuild {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        commit: env!("TANDEM_GIT_COMMIT").to_owned(),
        measured_at: Some(rfc3339(SystemTime::now())),
        suite: Some(size.name().to_owned()),
    }
}

/// The kernels' part of a machine kind: their CPU platform, `avx512-ifma` where the verifier
/// uses the IFMA lanes (AVX-512 with and without IFMA verify at rates apart: one kind would
/// mix them).
fn kernels_kind() -> String {
    let platform = Platform::detect();
    match tandem_kernels::sigverify::cpu_verifier(platform) {
        ifma @ "avx512-ifma" => ifma.to_owned(),
        _ => platform.name().to_owned(),
    }
}

/// A machine kind from its CPU model, the kernels' CPU platform, its PU count and its hardware
/// GPU: lowercase words of the model (trademarks, "CPU", "Processor", the core count and the
/// clock dropped) joined by `-`, then the platform, `<pus>pu`, then the GPU's words —
/// "amd-epyc-avx512-ifma-2pu", "intel-xeon-platinum-8480c-avx512-224pu-nvidia-h100". The platform
/// since stop 74: a guest's model name is often bare ("AMD EPYC" on Zen 3 and Zen 4 alike),
/// and two machines whose kernels differ wrote one kind, each profile over the other's.
pub fn kind_of(cpu_model: &str, platform: &str, pus: usize, hardware_gpu: Option<&str>) -> String {
    let words = |text: &str| -> Vec<String> {
        // The clock ("@ 2.00GHz") and what follows "with" (an integrated GPU) say nothing
        // about the kind.
        let text = text
            .split('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let text = text.replace("(r)", " ").replace("(tm)", " ");
        let all: Vec<&str> = text
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .take_while(|w| *w != "with")
            .collect();
        let core = |w: &&str| ["core", "cores"].contains(w);
        let count = |w: &str| w.bytes().all(|b| b.is_ascii_digit());
        all.iter()
            .enumerate()
            // "96-Core": the core count and the word ("Intel(R) Core(TM)": the vendor stays).
            .filter(|(i, w)| {
                let core_count = count(w) && all.get(i + 1).is_some_and(core);
                !core(w) && !core_count
            })
            .map(|(_, w)| *w)
            .filter(|w| !["cpu", "processor"].contains(w))
            .map(str::to_owned)
            .collect()
    };
    let mut parts = words(cpu_model);
    if parts.is_empty() {
        parts.push("unknown".into());
    }
    parts.push(platform.to_owned());
    parts.push(format!("{pus}pu"));
    if let Some(gpu) = hardware_gpu {
        parts.extend(words(gpu));
    }
    parts.join("-")
}

/// `kind` where it can name a file: letters, digits, `-`, `_` and `.`, not starting with `.`.
fn check_kind(kind: &str) -> Result<String, SuiteError> {
    let ok = !kind.is_empty()
        && !kind.starts_with('.')
        && kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(kind.to_owned())
    } else {
        Err(SuiteError::BadKind(kind.to_owned()))
    }
}

/// `MemTotal` of a /proc/meminfo text, in GiB to a tenth.
pub fn memory_gib(meminfo: &str) -> Option<f64> {
    let kib: f64 = meminfo
        .lines()
        .find_map(|line| line.strip_prefix("MemTotal:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some((kib / (1024.0 * 1024.0) * 10.0).round() / 10.0)
}

/// The SIMD extensions of this CPU that the kernels use: AVX2 and AVX-512F (the BLAKE3 and
/// LtHash lanes), AVX-512VL and AVX-512IFMA (curve25519-dalek's field arithmetic).
fn isa() -> Vec<String> {
    let mut isa = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        let flags = [
            ("avx2", std::is_x86_feature_detected!("avx2")),
            ("avx512f", std::is_x86_feature_detected!("avx512f")),
            ("avx512vl", std::is_x86_feature_detected!("avx512vl")),
            ("avx512ifma", std::is_x86_feature_detected!("avx512ifma")),
        ];
        isa.extend(
            flags
                .into_iter()
                .filter(|(_, has)| *has)
                .map(|(name, _)| name.to_owned()),
        );
    }
    isa
}

/// `time` as RFC 3339 in UTC to the second, e.g. `2026-05-01T12:34:56Z`.
pub fn rfc3339(time: SystemTime) -> String {
    // Before 1970 too (a clock set back): it read 1970-01-01T00:00:00Z (a black-box test of
    // clocks, stop 74). The second a time before the epoch falls in is the one below it.
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_secs() as i64,
        Err(before) => {
            let before = before.duration();
            let whole = before.as_secs() as i64;
            -(whole + i64::from(before.subsec_nanos() > 0))
        }
    };
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days: the proleptic Gregorian date of a day count.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3_600,
        rest / 60 % 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_names_the_commit_tandem_was_built_from_wherever_it_runs() {
        // Before: `git rev-parse HEAD` in the working directory — another repository's commit,
        // or "unknown" outside one. The build's own commit does not depend on where it runs.
        let commit = build(Size::Quick).commit;
        assert_eq!(commit, env!("TANDEM_GIT_COMMIT"));
        let git = std::process::Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output();
        if let Some(out) = git.ok().filter(|o| o.status.success()) {
            let head = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            assert_eq!(commit, head, "the checkout this test was built from");
        }
    }
    use std::time::Duration;

    #[test]
    fn times_are_rfc3339_utc() {
        let at = |secs| rfc3339(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        let before = |secs| rfc3339(UNIX_EPOCH - Duration::from_secs_f64(secs));
        assert_eq!(before(60.0), "1969-12-31T23:59:00Z");
        assert_eq!(before(0.5), "1969-12-31T23:59:59Z");
        assert_eq!(before(2_208_988_800.0), "1900-01-01T00:00:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }

    #[test]
    fn kinds_are_the_model_the_platform_the_pus_and_a_hardware_gpu() {
        assert_eq!(
            kind_of("AMD EPYC", "avx512", 2, None),
            "amd-epyc-avx512-2pu"
        );
        // A Zen 3 guest's model name is the same: its kind is not (stop 74).
        assert_eq!(kind_of("AMD EPYC", "avx2", 2, None), "amd-epyc-avx2-2pu");
        assert_eq!(
            kind_of(
                "Intel(R) Xeon(R) Platinum 8480C CPU @ 2.00GHz",
                "avx512",
                224,
                Some("NVIDIA H100 80GB HBM3")
            ),
            "intel-xeon-platinum-8480c-avx512-224pu-nvidia-h100-80gb-hbm3"
        );
        assert_eq!(
            kind_of("AMD EPYC 9654 96-Core Processor", "avx512", 192, None),
            "amd-epyc-9654-avx512-192pu"
        );
        assert_eq!(kind_of("", "portable", 4, None), "unknown-portable-4pu");
        assert_eq!(
            kind_of("Intel(R) Core(TM) i7-8700K CPU @ 3.70GHz", "avx2", 12, None),
            "intel-i7-8700k-avx2-12pu"
        );
        assert!(check_kind("kvm-epyc-zen4-2vcpu").is_ok());
        assert!(check_kind("../x").is_err());
        assert!(check_kind("").is_err());
    }

    #[test]
    fn memory_is_memtotal_in_gib() {
        let meminfo = "MemTotal:       24684096 kB\nMemFree:  1 kB\n";
        assert_eq!(memory_gib(meminfo), Some(23.5));
        assert_eq!(memory_gib("MemFree: 1 kB\n"), None);
    }
}
