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
    tandem_engine::files::create_dir_all(dir).map_err(|e| failed(dir, e.to_string()))?;
    let json_path = dir.join(&json.files.json);
    let text = serde_json::to_string_pretty(json).map_err(|e| failed(&json_path, e.to_string()))?;
    let profile_path = dir.join(&json.files.profile);
    // Checked before it replaces anything: a profile `tandem plan` could not load must not
    // take the place of an earlier run's good one.
    let toml = profile.to_toml();
    let again = Profile::parse(&toml, &profile_path.display().to_string())?;
    if &again != profile {
        return Err(failed(
            &profile_path,
            "the profile read back differs from the one written".into(),
        ));
    }
    // Each replaced whole, the profile first: a write that fails leaves the earlier run's
    // profile and report as they were (the report was written first, and named a profile
    // that a failed write never wrote).
    write_whole(&profile_path, toml.as_bytes())
        .map_err(|e| failed(&profile_path, e.to_string()))?;
    write_whole(&json_path, (text + "\n").as_bytes())
        .map_err(|e| failed(&json_path, e.to_string()))?;
    let mut written = vec![json_path, profile_path];
    written.extend(plots::write(dir, profile)?);
    Ok(written)
}

/// The suite a figure of a profile comes from: its name's first part (`executor.…` is the
/// `executors` suite's).
fn suite_of(rate: &Rate) -> Option<SuiteName> {
    let first = rate.name.split('.').next().unwrap_or_default();
    let first = if first == "executor" {
        "executors"
    } else {
        first
    };
    SuiteName::ALL.into_iter().find(|s| s.name() == first)
}

/// The profile to write at `path` for a run of `suites` that measured `profile`: when they are
/// not every suite and `path` holds a profile of the same machine, its figures of the suites
/// not run are kept (each `how` saying which run measured it), and its pipeline figures and GPU
/// crossover where their suite did not run; so re-running one suite updates its figures without
/// losing the others. A note says what was kept, or why an earlier profile was replaced whole.
pub fn keeping_suites_not_run(
    mut profile: Profile,
    suites: &[SuiteName],
    path: &Path,
) -> (Profile, Option<String>) {
    if SuiteName::ALL.iter().all(|s| suites.contains(s)) || !path.exists() {
        return (profile, None);
    }
    let earlier = match Profile::load(path) {
        Ok(earlier) => earlier,
        Err(e) => {
            let note = format!("{} replaced whole: it did not load ({e})", path.display());
            return (profile, Some(note));
        }
    };
    let (m, e) = (&profile.machine, &earlier.machine);
    if (&m.kind, &m.cpu_model, m.pus, &m.gpu_adapter)
        != (&e.kind, &e.cpu_model, e.pus, &e.gpu_adapter)
    {
        let note = format!(
            "{} replaced whole: it was measured on another machine ({}, {} PUs)",
            path.display(),
            e.cpu_model,
            e.pus
        );
        return (profile, Some(note));
    }
    let from = format!(
        "[kept from the run of {} ({} {}, {} suite)]",
        earlier
            .tandem
            .measured_at
            .as_deref()
            .unwrap_or("an unknown time"),
        earlier.tandem.version,
        earlier.tandem.commit,
        earlier.tandem.suite.as_deref().unwrap_or("unknown")
    );
    let run = |rate: &Rate| suite_of(rate).is_some_and(|s| suites.contains(&s));
    let mut kept: Vec<Rate> = earlier.rates.into_iter().filter(|r| !run(r)).collect();
    for rate in &mut kept {
        if !rate.how.contains("[kept from the run of") {
            rate.how = format!("{} {from}", rate.how);
        }
    }
    let kept_suites: Vec<&str> = SuiteName::ALL
        .into_iter()
        .filter(|s| kept.iter().any(|r| suite_of(r) == Some(*s)))
        .map(SuiteName::name)
        .collect();
    // In the order the suites run.
    let mut rates = Vec::with_capacity(kept.len() + profile.rates.len());
    for suite in SuiteName::ALL {
        let of = |r: &&Rate| suite_of(r) == Some(suite);
        rates.extend(kept.iter().filter(of).cloned());
        rates.extend(profile.rates.iter().filter(of).cloned());
    }
    // Figures of no known suite (none today) stay, after the others.
    rates.extend(kept.iter().filter(|r| suite_of(r).is_none()).cloned());
    rates.extend(
        profile
            .rates
            .iter()
            .filter(|r| suite_of(r).is_none())
            .cloned(),
    );
    profile.rates = rates;
    if !suites.contains(&SuiteName::Pipeline) && profile.pipeline.is_none() {
        profile.pipeline = earlier.pipeline;
    }
    if !suites.contains(&SuiteName::Sigverify) && profile.auto.is_none() {
        profile.auto = earlier.auto;
    }
    let note = (!kept_suites.is_empty()).then(|| {
        format!(
            "{} keeps the figures of the suites not run ({}) {from}",
            path.display(),
            kept_suites.join(", ")
        )
    });
    (profile, note)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::names;
    use crate::profile::testing::{profile, rate};

    #[test]
    fn a_run_of_some_suites_keeps_the_others_figures_of_the_same_machine_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hand-made.toml");
        let mut earlier = profile(4);
        earlier.tandem.measured_at = Some("2026-12-01T00:00:00Z".into());
        earlier.tandem.suite = Some("quick".into());
        std::fs::write(&path, earlier.to_toml()).unwrap();
        let mut new = profile(4);
        new.rates = vec![rate(names::LTHASH, Some(1), 123.0)];
        let (merged, note) = keeping_suites_not_run(new.clone(), &[SuiteName::Lthash], &path);
        assert_eq!(merged.rates.len(), earlier.rates.len(), "{note:?}");
        assert_eq!(merged.rate(names::LTHASH, Some(1)).unwrap().value, 123.0);
        let kept = merged.rate(names::UED_TRANSFERS, Some(2)).unwrap();
        assert_eq!(kept.value, 180_000.0);
        // Which run, and its size: the profile's [tandem] says the new run's.
        assert!(kept.how.contains("2026-12-01T00:00:00Z"), "{}", kept.how);
        assert!(kept.how.contains("quick suite)]"), "{}", kept.how);
        let note = note.unwrap();
        assert!(note.contains("(sigverify, executors)"), "{note}");
        // Every suite run: this run's figures alone.
        let (all, note) = keeping_suites_not_run(new.clone(), &SuiteName::ALL, &path);
        assert_eq!((all.rates.len(), note), (1, None));
        // Another machine under the same kind: replaced whole, and said so.
        let mut other = new.clone();
        other.machine.pus = 8;
        let (replaced, note) = keeping_suites_not_run(other, &[SuiteName::Lthash], &path);
        assert_eq!(replaced.rates.len(), 1);
        assert!(note.unwrap().contains("another machine"));
    }

    #[test]
    fn a_profile_that_would_not_load_replaces_nothing() {
        // A rate given twice (a suite named twice, before suites were made unique) does not
        // load: the write refuses it and the earlier run's profile stays as it was.
        let dir = tempfile::tempdir().unwrap();
        let good = profile(4);
        let json = |p: &Profile| BenchJson {
            machine: p.machine.clone(),
            tandem: p.tandem.clone(),
            suites: vec![SuiteName::Lthash],
            sizes: super::super::Sizes::new(super::super::Size::Quick, 2, 2, None),
            seconds: 1.0,
            figures: p.rates.clone(),
            pipeline: None,
            auto: None,
            notes: Vec::new(),
            files: Files {
                json: "bench.json".into(),
                profile: format!("{}.toml", p.machine.kind),
                plots: Vec::new(),
            },
        };
        write(dir.path(), &good, &json(&good)).expect("a good profile is written");
        let path = dir.path().join(format!("{}.toml", good.machine.kind));
        let mut twice = good.clone();
        twice.rates.push(twice.rates[0].clone());
        let refused = write(dir.path(), &twice, &json(&twice)).unwrap_err();
        assert!(refused.to_string().contains("given twice"), "{refused}");
        assert!(
            Profile::load(&path).unwrap() == good,
            "the earlier profile stands"
        );
    }
}
