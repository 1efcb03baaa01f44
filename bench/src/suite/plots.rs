//! The suite's plots, drawn from a [`Profile`] as SVG (plotters' SVG backend; the text is SVG
//! text in a sans-serif font the viewer chooses):
//! - `scaling.svg`: each kernel's rate by thread count ÷ its rate at one thread, so kernels of
//!   different units share an axis, with the ideal (linear) line;
//! - `gpu-vs-cpu.svg`: signatures verified per second by batch size (log-log), the GPU beside
//!   the CPU — the CPU alone where there is no GPU, and the title says so;
//! - `ttv-vs-load.svg`: time-to-vote p50 and p99 against the UED's load (user transfers per
//!   block).
//!
//! A plot with nothing to show (its suite did not run) is drawn empty with a title saying so,
//! so the three files always exist.

use std::ops::Range;
use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;

use super::SuiteError;
use super::isolation::{TIME_TO_VOTE_P50, TIME_TO_VOTE_P99};
use crate::profile::{Profile, names};

/// The plots' file names: scaling, GPU against CPU, time-to-vote against load.
pub const PLOTS: [&str; 3] = ["scaling.svg", "gpu-vs-cpu.svg", "ttv-vs-load.svg"];

/// Pixels of every plot.
const SIZE: (u32, u32) = (900, 560);

/// The series colours, in order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// One line of a plot: its legend and its points.
struct Series {
    label: String,
    points: Vec<(f64, f64)>,
}

/// A plot: where it goes, its title and axes, its series (none: an empty plot).
struct Plot<'p> {
    path: &'p Path,
    title: String,
    x_desc: &'p str,
    y_desc: &'p str,
    series: Vec<Series>,
    /// The x axis counts threads: whole numbers from 1, and a dashed line of linear scaling.
    threads: bool,
}

/// Writes the three plots of `profile` into `dir`; their paths.
pub fn write(dir: &Path, profile: &Profile) -> Result<Vec<PathBuf>, SuiteError> {
    let paths = PLOTS.map(|f| dir.join(f));
    scaling(&paths[0], profile)?;
    gpu_vs_cpu(&paths[1], profile)?;
    ttv_vs_load(&paths[2], profile)?;
    Ok(paths.to_vec())
}

fn scaling(path: &Path, profile: &Profile) -> Result<(), SuiteError> {
    let kernels = [
        (names::SIGVERIFY_UNIQUE, "ed25519, unique signers"),
        (names::BLAKE3, "BLAKE3, 128-byte messages"),
        (names::LTHASH, "LtHash, 200-byte accounts"),
        (names::UED_TRANSFERS, "UED executor, transfers"),
    ];
    let series: Vec<Series> = kernels
        .iter()
        .filter_map(|&(name, label)| {
            let points = profile.scaling(name);
            let one = points.iter().find(|(t, _)| *t == 1)?.1;
            let one_thread = format!("{label} (1 thread: {})", short(one));
            Some(Series {
                label: one_thread,
                points: points
                    .iter()
                    .map(|&(t, v)| (f64::from(t), v / one))
                    .collect(),
            })
        })
        .collect();
    let title = if series.is_empty() {
        "Scaling over threads: no figures by thread count in this run".to_owned()
    } else {
        format!(
            "Scaling over threads on {} ({} PUs): rate / rate at 1 thread",
            profile.machine.cpu_model, profile.machine.pus
        )
    };
    draw_linear(Plot {
        path,
        title,
        x_desc: "threads (each pinned to a PU of its own)",
        y_desc: "speed-up over 1 thread",
        series,
        threads: true,
    })
}

fn gpu_vs_cpu(path: &Path, profile: &Profile) -> Result<(), SuiteError> {
    let cpu = profile.by_batch(names::SIGVERIFY_CPU_BATCH);
    let gpu = profile.by_batch(names::SIGVERIFY_GPU);
    let adapter = profile.machine.gpu_adapter.as_deref();
    // The adapter's name without its details ("llvmpipe (LLVM 15.0.6, 256 bits) (Vulkan,
    // software)" → "llvmpipe"), and whether it is a software rasterizer.
    let adapter = adapter.map(|a| {
        let name = a.split(" (").next().unwrap_or(a);
        let software = if profile.machine.gpu_hardware {
            ""
        } else {
            "software "
        };
        format!("{software}GPU {name}")
    });
    let title = match (cpu.is_empty() && gpu.is_empty(), gpu.is_empty(), adapter) {
        (true, ..) => "ed25519 verifications by batch: no figures by batch in this run".to_owned(),
        (false, false, Some(adapter)) => {
            format!("ed25519 verifications/s by batch: the {adapter} and the CPU")
        }
        (false, _, None) => {
            "ed25519 verifications/s by batch: the CPU alone (no GPU adapter)".to_owned()
        }
        (false, _, Some(adapter)) => {
            format!("ed25519 verifications/s by batch: the CPU alone (the {adapter} not measured)")
        }
    };
    let threads = profile.machine.pus;
    let mut series = Vec::new();
    for (label, points) in [
        (format!("CPU, all {threads} threads"), cpu),
        ("GPU".to_owned(), gpu),
    ] {
        if !points.is_empty() {
            series.push(Series {
                label,
                points: points.iter().map(|&(b, v)| (f64::from(b), v)).collect(),
            });
        }
    }
    let (x, y) = (log_range(&series, |p| p.0), log_range(&series, |p| p.1));
    draw(
        Plot {
            path,
            title,
            x_desc: "signatures per batch (log)",
            y_desc: "signatures/s (log)",
            series,
            threads: false,
        },
        x.log_scale(),
        y.log_scale(),
    )
}

fn ttv_vs_load(path: &Path, profile: &Profile) -> Result<(), SuiteError> {
    let series: Vec<Series> = [(TIME_TO_VOTE_P50, "p50"), (TIME_TO_VOTE_P99, "p99")]
        .into_iter()
        .map(|(name, label)| Series {
            label: format!("time-to-vote {label}"),
            points: profile
                .by_ued_load(name)
                .iter()
                .map(|&(l, v)| (f64::from(l), v))
                .collect(),
        })
        .filter(|s| !s.points.is_empty())
        .collect();
    let title = if series.is_empty() {
        "Time-to-vote against UED load: no figures in this run".to_owned()
    } else {
        "Time-to-vote (block handed to the engine -> its VED hash) against UED load".to_owned()
    };
    draw_linear(Plot {
        path,
        title,
        x_desc: "user transfers in every block",
        y_desc: "time-to-vote (ms)",
        series,
        threads: false,
    })
}

/// A linear plot from 0 to a bit beyond the largest point on both axes.
fn draw_linear(plot: Plot<'_>) -> Result<(), SuiteError> {
    let top = |f: fn(&(f64, f64)) -> f64| {
        let most = plot
            .series
            .iter()
            .flat_map(|s| &s.points)
            .map(f)
            .fold(0.0, f64::max);
        0.0..if most > 0.0 { most * 1.1 } else { 1.0 }
    };
    let (mut x, mut y) = (top(|p| p.0), top(|p| p.1));
    if plot.threads {
        // Threads: from 1, and the ideal line in view.
        x.start = 0.5;
        y.end = y.end.max(x.end);
    }
    draw(plot, x, y)
}

/// The range of the series' values `f` for a log axis: whole decades around them, so the axis
/// has labels.
fn log_range(series: &[Series], f: fn(&(f64, f64)) -> f64) -> Range<f64> {
    let values = series.iter().flat_map(|s| &s.points).map(f);
    let (lo, hi) = values.fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo.is_finite() && lo > 0.0 {
        10f64.powf(lo.log10().floor())..10f64.powf(hi.log10().floor() + 1.0)
    } else {
        1.0..10.0
    }
}

/// Draws `plot` on axes `x` and `y`, into memory, then replaces its file whole: drawn into
/// the file, a write the disk refused left a plot cut short over an earlier run's whole one
/// (found by black-box testing, 2026-12-07), where the suite's other outputs are renamed
/// into place.
fn draw<X, Y>(plot: Plot<'_>, x: X, y: Y) -> Result<(), SuiteError>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let path = plot.path;
    let mut svg = String::new();
    draw_into(&mut svg, plot, x, y)?;
    tandem_engine::files::write_whole(path, svg.as_bytes()).map_err(|e| SuiteError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// [`draw`]'s drawing, into `svg`.
fn draw_into<X, Y>(svg: &mut String, plot: Plot<'_>, x: X, y: Y) -> Result<(), SuiteError>
where
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let failed = |e: &dyn std::fmt::Display| SuiteError::Write {
        path: plot.path.display().to_string(),
        reason: format!("drawing the plot: {e}"),
    };
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&plot.title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x, y)
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc(plot.x_desc)
        .y_desc(plot.y_desc)
        // Threads and batches are whole numbers: no label between them.
        .x_label_formatter(&|v| {
            if plot.threads && v.fract() != 0.0 {
                String::new()
            } else {
                short(*v)
            }
        })
        .y_label_formatter(&|v| short(*v))
        .draw()
        .map_err(|e| failed(&e))?;
    if plot.threads && !plot.series.is_empty() {
        let most = plot
            .series
            .iter()
            .flat_map(|s| &s.points)
            .map(|p| p.0)
            .fold(1.0, f64::max);
        chart
            .draw_series(DashedLineSeries::new(
                [(1.0, 1.0), (most, most)],
                6,
                4,
                BLACK.mix(0.4).stroke_width(1),
            ))
            .map_err(|e| failed(&e))?
            .label("linear")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.4)));
    }
    for (i, series) in plot.series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(
                series.points.iter().copied(),
                colour.stroke_width(2),
            ))
            .map_err(|e| failed(&e))?
            .label(&series.label)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart
            .draw_series(
                series
                    .points
                    .iter()
                    .map(|&p| Circle::new(p, 3, colour.filled())),
            )
            .map_err(|e| failed(&e))?;
    }
    if !plot.series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(|e| failed(&e))?;
    }
    root.present().map_err(|e| failed(&e))
}

/// A figure in few characters: 1.2M, 23.4K, 512, 1.5.
pub fn short(v: f64) -> String {
    let a = v.abs();
    if a >= 1e9 {
        format!("{:.2}G", v / 1e9)
    } else if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e4 {
        format!("{:.1}K", v / 1e3)
    } else if a >= 100.0 || a == 0.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::testing::profile;

    #[test]
    fn a_plot_the_disk_refuses_leaves_the_earlier_one_whole() {
        // Drawn into its file, a plot the disk refused (full, or past a size limit) was left
        // cut short over an earlier run's whole one.
        let dir = tempfile::tempdir().unwrap();
        let earlier = dir.path().join(super::PLOTS[0]);
        std::fs::write(&earlier, "<svg>an earlier run's plot</svg>").unwrap();
        // Its new bytes cannot be written (a directory where they go): as a full disk refuses.
        std::fs::create_dir(tandem_engine::files::partial_path(&earlier)).unwrap();
        let refused = super::write(dir.path(), &profile(2));
        assert!(refused.is_err(), "{refused:?}");
        assert_eq!(
            std::fs::read_to_string(&earlier).unwrap(),
            "<svg>an earlier run's plot</svg>"
        );
    }
}
