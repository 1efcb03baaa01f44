//! What `tandem bench` leaves in its output directory: `bench.json` (every figure, the machine,
//! the sizes), the hardware profile `<kind>.toml` (read back with [`Profile::load`] to prove it
//! parses) and the plots ([`super::plots`]).

use std::path::{Path, PathBuf};

use serde::Serialize;
use tandem_engine::files::write_whole;

use super::{SuiteConfig, SuiteError, SuiteName, SuiteReport, plots};
use crate::profile::{AutoThreshold, Machine, PipelineFigures, Profile, Rate, TandemBuild};

/// The file names of a run's results, relative to the output directory.
#[derive(Clone, Debug, Serialize)]
pub struct Files {
    /// `bench.json`.
    pub json: String,
    /// The hardware profile, `<kind>.toml`.
    pub profile: String,
    /// The SVG plots.
    pub plots: Vec<String>,
}

/// `bench.json`: everything the suite knows about its run.
#[derive(Clone, Debug, Serialize)]
pub struct BenchJson {
    /// The machine.
    pub machine: Machine,
    /// The tandem measured.
    pub tandem: TandemBuild,
    /// The suites run.
    pub suites: Vec<SuiteName>,
    /// The workloads of the suite size.
    pub sizes: super::Sizes,
    /// Seconds the suites took.
    pub seconds: f64,
    /// Every figure, in the order measured.
    pub figures: Vec<Rate>,
    /// The pipeline's sustained rate.
    pub pipeline: Option<PipelineFigures>,
    /// The GPU crossover.
    pub auto: Option<AutoThreshold>,
    /// Figures skipped and thresholds not set, and why.
    pub notes: Vec<String>,
    /// The files written.
    pub files: Files,
}

/// The hardware profile of a suite's run.
pub fn profile(machine: Machine, tandem: TandemBuild, report: &SuiteReport) -> Profile {
    Profile {
        machine,
        tandem,
        rates: report.rates.clone(),
        pipeline: report.pipeline.clone(),
        auto: report.auto.clone(),
    }
}

impl BenchJson {
    /// The JSON of a run with `config` that measured `report`, whose profile is `profile`.
    pub fn new(profile: &Profile, config: &SuiteConfig, report: &SuiteReport) -> BenchJson {
        BenchJson {
            machine: profile.machine.clone(),
            tandem: profile.tandem.clone(),
            suites: config.suites(),
            sizes: config.sizes.clone(),
            seconds: report.seconds,
            figures: report.rates.clone(),
            pipeline: report.pipeline.clone(),
            auto: report.auto.clone(),
            notes: report.notes.clone(),
            files: Files {
                json: "bench.json".into(),
                profile: format!("{}.toml", profile.machine.kind),
                plots: plots::PLOTS.map(str::to_owned).to_vec(),
            },
        }
    }
}

/// Writes `bench.json`, the profile and the plots into `dir` (created if missing), and reads
/// the profile back; the paths written.
pub fn write(dir: &Path, profile: &Profile, json: &BenchJson) -> Result<Vec<PathBuf>, SuiteError> {
    let failed = |path: &Path, reason: String| SuiteError::Write {
        path: path.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(dir, e.to_string()))?;
    let json_path = dir.join(&json.files.json);
    let text = serde_json::to_string_pretty(json).map_err(|e| failed(&json_path, e.to_string()))?;
    // Each replaced whole: a write that fails leaves an earlier run's profile as it was.
    write_whole(&json_path, (text + "\n").as_bytes())
        .map_err(|e| failed(&json_path, e.to_string()))?;
    let profile_path = dir.join(&json.files.profile);
    write_whole(&profile_path, profile.to_toml().as_bytes())
        .map_err(|e| failed(&profile_path, e.to_string()))?;
    let again = Profile::load(&profile_path)?;
    if &again != profile {
        return Err(failed(
            &profile_path,
            "the profile read back differs from the one written".into(),
        ));
    }
    let mut written = vec![json_path, profile_path];
    written.extend(plots::write(dir, profile)?);
    Ok(written)
}
