//! The Prometheus text exposition format (version 0.0.4) of a [`MetricsSnapshot`], as validators'
//! operators scrape it.
//!
//! It owns the metric names, their help, types and units: every name starts with `tandem_`,
//! counters end in `_total`, times are in seconds (the base unit), a stage is the label `stage`,
//! a domain the label `domain` (`ved`, `ued`), and the time-to-vote is a `summary` with the
//! quantiles 0.5 and 0.99 since start (NaN before the first vote, as Prometheus' own clients
//! write them), as is each step of the vote's path (`tandem_vote_path_seconds`, the label
//! `step`), and a `histogram` besides (`tandem_time_to_vote_histogram_seconds`, the bounds of
//! [`super::LATENCY_BOUNDS_US`]), whose buckets a query rates over any window
//! (`histogram_quantile(0.99, rate(…_bucket[5m]))`) where the summary's quantiles cover all time.
//! It only formats: it never reads the live counters (the caller snapshots them first).

use std::fmt::Write as _;

use super::{LatencySummary, MetricsSnapshot};

/// The `Content-Type` of the text this module writes.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metric's type, as its `# TYPE` line names it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Counter,
    Gauge,
    Summary,
    Histogram,
}

impl Kind {
    const fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Summary => "summary",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample's value: integers are written exactly, floats in Prometheus' spelling.
#[derive(Clone, Copy, Debug)]
enum Value {
    Int(u64),
    Float(f64),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) if v.is_nan() => f.write_str("NaN"),
            Value::Float(v) if v == f64::INFINITY => f.write_str("+Inf"),
            Value::Float(v) if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            Value::Float(v) => write!(f, "{v}"),
        }
    }
}

/// Nanoseconds as seconds.
fn seconds_from_ns(ns: u64) -> Value {
    Value::Float(ns as f64 / 1e9)
}

/// Microseconds as seconds; NaN when there is no value yet.
fn seconds_from_us(us: Option<u64>) -> Value {
    Value::Float(us.map_or(f64::NAN, |us| us as f64 / 1e6))
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// Escapes a help text: backslash and line feed.
fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

/// The text being written, one metric family after another.
struct Exposition {
    text: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines.
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        // Writing to a String cannot fail.
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.name());
    }

    /// One sample line.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (label, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{label}=\"{}\"", escape_label(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }

    /// A summary's samples, `labels` on each: its quantiles 0.5 and 0.99, then `_sum` and
    /// `_count`.
    fn summary(&mut self, name: &str, labels: &[(&str, &str)], summary: &LatencySummary) {
        for (quantile, value) in [("0.5", summary.p50_us), ("0.99", summary.p99_us)] {
            let labelled: Vec<(&str, &str)> = labels
                .iter()
                .copied()
                .chain([("quantile", quantile)])
                .collect();
            self.sample(name, &labelled, seconds_from_us(value));
        }
        let sum = seconds_from_us(Some(summary.sum_us));
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, Value::Int(summary.count));
    }

    /// A histogram's samples: its cumulative buckets (`_bucket`, the label `le` in seconds,
    /// `+Inf` last, the count), then `_sum` and `_count`.
    fn histogram(&mut self, name: &str, summary: &LatencySummary) {
        let bucket = format!("{name}_bucket");
        for b in &summary.buckets {
            let le = (b.le_us as f64 / 1e6).to_string();
            self.sample(&bucket, &[("le", &le)], Value::Int(b.count));
        }
        self.sample(&bucket, &[("le", "+Inf")], Value::Int(summary.count));
        let sum = seconds_from_us(Some(summary.sum_us));
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], Value::Int(summary.count));
    }

    /// A family with one unlabelled sample.
    fn single(&mut self, name: &str, kind: Kind, help: &str, value: Value) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

impl MetricsSnapshot {
    /// The snapshot in the Prometheus text format 0.0.4 (served with [`CONTENT_TYPE`]).
    pub fn to_prometheus(&self) -> String {
        let mut out = Exposition {
            text: String::new(),
        };
        out.single(
            "tandem_uptime_seconds",
            Kind::Gauge,
            "Time since the engine's metrics were created.",
            seconds_from_ns(self.uptime_ns),
        );

        type StageField = fn(&super::StageSnapshot) -> Value;
        let stage_families: [(&str, Kind, &str, StageField); 7] = [
            (
                "tandem_stage_items_total",
                Kind::Counter,
                "Items a pipeline stage has processed.",
                |s| Value::Int(s.items),
            ),
            (
                "tandem_stage_busy_seconds_total",
                Kind::Counter,
                "Time a pipeline stage spent working (summed over its threads).",
                |s| seconds_from_ns(s.busy_ns),
            ),
            (
                "tandem_stage_busy_cpu_seconds_total",
                Kind::Counter,
                "Of a pipeline stage's busy time, the CPU time its own threads ran (busy minus this: preempted or stolen).",
                |s| seconds_from_ns(s.busy_cpu_ns),
            ),
            (
                "tandem_stage_idle_seconds_total",
                Kind::Counter,
                "Time a pipeline stage spent waiting for input.",
                |s| seconds_from_ns(s.idle_ns),
            ),
            (
                "tandem_stage_blocked_seconds_total",
                Kind::Counter,
                "Time a pipeline stage spent blocked: on a full output queue, or the VED waiting for the UED at an epoch boundary.",
                |s| seconds_from_ns(s.blocked_ns),
            ),
            (
                "tandem_stage_queue_depth",
                Kind::Gauge,
                "Items waiting in a pipeline stage's input queue, last sampled.",
                |s| Value::Int(s.queue_depth),
            ),
            (
                "tandem_stage_queue_depth_max",
                Kind::Gauge,
                "The deepest a pipeline stage's input queue was sampled since start.",
                |s| Value::Int(s.max_queue_depth),
            ),
        ];
        for (name, kind, help, field) in stage_families {
            out.family(name, kind, help);
            for stage in &self.stages {
                out.sample(name, &[("stage", &stage.name)], field(stage));
            }
        }

        let ttv = &self.time_to_vote;
        let name = "tandem_time_to_vote_seconds";
        out.family(
            name,
            Kind::Summary,
            "Time from a block handed to ingest to its VED hash.",
        );
        out.summary(name, &[], ttv);
        let name = "tandem_time_to_vote_histogram_seconds";
        out.family(
            name,
            Kind::Histogram,
            "Time from a block handed to ingest to its VED hash, in cumulative buckets (each \
             within 1.6 % of its bound).",
        );
        out.histogram(name, ttv);
        let name = "tandem_vote_path_seconds";
        out.family(
            name,
            Kind::Summary,
            "Time from a block handed to ingest to each step of its vote's path: its votes' \
             signatures verified, ingest's verdict, the VED's part executed.",
        );
        for (step, summary) in self.vote_path.steps() {
            out.summary(name, &[("step", step)], summary);
        }
        out.single(
            "tandem_time_to_vote_max_seconds",
            Kind::Gauge,
            "The longest time-to-vote since start.",
            seconds_from_us(ttv.max_us),
        );

        out.single(
            "tandem_ved_slot",
            Kind::Gauge,
            "The last slot the VED executed.",
            Value::Int(self.ved_slot),
        );
        out.single(
            "tandem_ued_slot",
            Kind::Gauge,
            "The last slot the UED executed.",
            Value::Int(self.ued_slot),
        );
        out.single(
            "tandem_ued_lag_slots",
            Kind::Gauge,
            "Slots the UED is behind the VED.",
            Value::Int(self.ued_lag_slots),
        );
        out.single(
            "tandem_ued_lag_slots_max",
            Kind::Gauge,
            "The most slots the UED was behind the VED since start.",
            Value::Int(self.max_ued_lag_slots),
        );

        let name = "tandem_executed_transactions_total";
        out.family(name, Kind::Counter, "Transactions a domain executed.");
        out.sample(
            name,
            &[("domain", "ved")],
            Value::Int(self.ved_transactions),
        );
        out.sample(
            name,
            &[("domain", "ued")],
            Value::Int(self.ued_transactions),
        );
        let name = "tandem_transactions_per_second";
        out.family(
            name,
            Kind::Gauge,
            "Transactions a domain executed per second over the engine's sliding window.",
        );
        out.sample(name, &[("domain", "ved")], Value::Float(self.ved_tps));
        out.sample(name, &[("domain", "ued")], Value::Float(self.ued_tps));

        out.single(
            "tandem_epoch_boundary_waits_total",
            Kind::Counter,
            "Times the VED waited at an epoch boundary for the UED.",
            Value::Int(self.boundary_waits),
        );
        out.single(
            "tandem_epoch_boundary_wait_seconds_total",
            Kind::Counter,
            "Time the VED waited at epoch boundaries for the UED.",
            seconds_from_ns(self.boundary_wait_ns),
        );
        out.single(
            "tandem_epoch_boundaries_crossed_alone_total",
            Kind::Counter,
            "Epoch boundaries the VED crossed on its own, not waiting for the UED.",
            Value::Int(self.boundaries_crossed_alone),
        );
        out.single(
            "tandem_ued_vote_yields_total",
            Kind::Counter,
            "Blocks whose user signatures waited for the block's vote point before the UED's sigverify stage began them.",
            Value::Int(self.ued_yields),
        );
        out.single(
            "tandem_ued_vote_yield_seconds_total",
            Kind::Counter,
            "Time the user signatures waited for their blocks' vote points.",
            seconds_from_ns(self.ued_yield_ns),
        );
        out.single(
            "tandem_halted",
            Kind::Gauge,
            "1 when the engine halted (a UED divergence, or a UED that cannot catch up), else 0.",
            Value::Int(u64::from(self.halted)),
        );
        out.single(
            "tandem_ued_disagreement_max_ratio",
            Kind::Gauge,
            "The largest share of the VED stake that reported a UED hash other than the local one for a slot.",
            Value::Float(self.max_ued_disagreement_bps as f64 / 10_000.0),
        );
        let signers = &self.vote_signers;
        out.single(
            "tandem_vote_signer_tables",
            Kind::Gauge,
            "Voters' keys the VED's signature verifier holds precomputed tables for.",
            Value::Int(signers.tables),
        );
        out.single(
            "tandem_vote_signer_tables_prepared_total",
            Kind::Counter,
            "Voters' tables built ahead of their first vote (at start, and after boundaries that bring new voters).",
            Value::Int(signers.prepared),
        );
        let name = "tandem_vote_signatures_verified_total";
        out.family(
            name,
            Kind::Counter,
            "Signatures under valid keys the VED's verifier checked on the CPU, with their signer's table or without.",
        );
        out.sample(name, &[("table", "yes")], Value::Int(signers.with_table));
        out.sample(name, &[("table", "no")], Value::Int(signers.without_table));
        out.text
    }
}

#[cfg(test)]
mod tests {
    use super::super::{LatencySummary, StageSnapshot, VotePathSummary, VoteSigners};
    use super::*;

    fn fixed_snapshot() -> MetricsSnapshot {
        MetricsSnapshot {
            uptime_ns: 12_500_000_000,
            stages: vec![
                StageSnapshot {
                    name: "ingest".into(),
                    items: 40,
                    busy_ns: 2_000_000,
                    busy_cpu_ns: 1_500_000,
                    idle_ns: 10_000_000_000,
                    blocked_ns: 0,
                    queue_depth: 0,
                    max_queue_depth: 2,
                },
                StageSnapshot {
                    name: "ved".into(),
                    items: 39,
                    busy_ns: 1_250_000_000,
                    busy_cpu_ns: 1_000_000_000,
                    idle_ns: 11_000_000_000,
                    blocked_ns: 250_000_000,
                    queue_depth: 1,
                    max_queue_depth: 4,
                },
            ],
            time_to_vote: LatencySummary {
                count: 39,
                sum_us: 195_000,
                p50_us: Some(4_015),
                p99_us: Some(9_919),
                max_us: Some(12_001),
                buckets: super::super::LATENCY_BOUNDS_US
                    .iter()
                    .zip([0, 3, 20, 38, 39, 39, 39, 39, 39, 39, 39, 39, 39])
                    .map(|(&le_us, count)| super::super::LatencyBucket { le_us, count })
                    .collect(),
            },
            vote_path: VotePathSummary {
                votes_verified: LatencySummary {
                    count: 39,
                    sum_us: 117_000,
                    p50_us: Some(3_000),
                    p99_us: Some(6_500),
                    max_us: Some(8_000),
                    buckets: Vec::new(),
                },
                verdict: LatencySummary {
                    count: 39,
                    sum_us: 3_900,
                    p50_us: Some(100),
                    p99_us: Some(250),
                    max_us: Some(300),
                    buckets: Vec::new(),
                },
                ved_executed: LatencySummary {
                    count: 39,
                    sum_us: 175_500,
                    p50_us: Some(3_900),
                    p99_us: Some(9_000),
                    max_us: Some(11_000),
                    buckets: Vec::new(),
                },
            },
            ved_slot: 40,
            ued_slot: 37,
            ued_lag_slots: 3,
            max_ued_lag_slots: 5,
            ved_transactions: 390,
            ued_transactions: 39_000,
            ved_tps: 31.2,
            ued_tps: 3120.0,
            boundary_waits: 1,
            boundary_wait_ns: 1_500_000,
            boundaries_crossed_alone: 2,
            ued_yields: 3,
            ued_yield_ns: 21_000_000,
            halted: false,
            max_ued_disagreement_bps: 2_500,
            vote_signers: VoteSigners {
                tables: 10,
                prepared: 10,
                with_table: 388,
                without_table: 2,
            },
        }
    }

    const FIXED_TEXT: &str = "\
# HELP tandem_uptime_seconds Time since the engine's metrics were created.
# TYPE tandem_uptime_seconds gauge
tandem_uptime_seconds 12.5
# HELP tandem_stage_items_total Items a pipeline stage has processed.
# TYPE tandem_stage_items_total counter
tandem_stage_items_total{stage=\"ingest\"} 40
tandem_stage_items_total{stage=\"ved\"} 39
# HELP tandem_stage_busy_seconds_total Time a pipeline stage spent working (summed over its threads).
# TYPE tandem_stage_busy_seconds_total counter
tandem_stage_busy_seconds_total{stage=\"ingest\"} 0.002
tandem_stage_busy_seconds_total{stage=\"ved\"} 1.25
# HELP tandem_stage_busy_cpu_seconds_total Of a pipeline stage's busy time, the CPU time its own threads ran (busy minus this: preempted or stolen).
# TYPE tandem_stage_busy_cpu_seconds_total counter
tandem_stage_busy_cpu_seconds_total{stage=\"ingest\"} 0.0015
tandem_stage_busy_cpu_seconds_total{stage=\"ved\"} 1
# HELP tandem_stage_idle_seconds_total Time a pipeline stage spent waiting for input.
# TYPE tandem_stage_idle_seconds_total counter
tandem_stage_idle_seconds_total{stage=\"ingest\"} 10
tandem_stage_idle_seconds_total{stage=\"ved\"} 11
# HELP tandem_stage_blocked_seconds_total Time a pipeline stage spent blocked: on a full output queue, or the VED waiting for the UED at an epoch boundary.
# TYPE tandem_stage_blocked_seconds_total counter
tandem_stage_blocked_seconds_total{stage=\"ingest\"} 0
tandem_stage_blocked_seconds_total{stage=\"ved\"} 0.25
# HELP tandem_stage_queue_depth Items waiting in a pipeline stage's input queue, last sampled.
# TYPE tandem_stage_queue_depth gauge
tandem_stage_queue_depth{stage=\"ingest\"} 0
tandem_stage_queue_depth{stage=\"ved\"} 1
# HELP tandem_stage_queue_depth_max The deepest a pipeline stage's input queue was sampled since start.
# TYPE tandem_stage_queue_depth_max gauge
tandem_stage_queue_depth_max{stage=\"ingest\"} 2
tandem_stage_queue_depth_max{stage=\"ved\"} 4
# HELP tandem_time_to_vote_seconds Time from a block handed to ingest to its VED hash.
# TYPE tandem_time_to_vote_seconds summary
tandem_time_to_vote_seconds{quantile=\"0.5\"} 0.004015
tandem_time_to_vote_seconds{quantile=\"0.99\"} 0.009919
tandem_time_to_vote_seconds_sum 0.195
tandem_time_to_vote_seconds_count 39
# HELP tandem_time_to_vote_histogram_seconds Time from a block handed to ingest to its VED hash, in cumulative buckets (each within 1.6 % of its bound).
# TYPE tandem_time_to_vote_histogram_seconds histogram
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.001\"} 0
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.0025\"} 3
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.005\"} 20
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.01\"} 38
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.025\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.05\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.1\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.25\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"0.4\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"1\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"2.5\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"5\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"10\"} 39
tandem_time_to_vote_histogram_seconds_bucket{le=\"+Inf\"} 39
tandem_time_to_vote_histogram_seconds_sum 0.195
tandem_time_to_vote_histogram_seconds_count 39
# HELP tandem_vote_path_seconds Time from a block handed to ingest to each step of its vote's path: its votes' signatures verified, ingest's verdict, the VED's part executed.
# TYPE tandem_vote_path_seconds summary
tandem_vote_path_seconds{step=\"votes_verified\",quantile=\"0.5\"} 0.003
tandem_vote_path_seconds{step=\"votes_verified\",quantile=\"0.99\"} 0.0065
tandem_vote_path_seconds_sum{step=\"votes_verified\"} 0.117
tandem_vote_path_seconds_count{step=\"votes_verified\"} 39
tandem_vote_path_seconds{step=\"verdict\",quantile=\"0.5\"} 0.0001
tandem_vote_path_seconds{step=\"verdict\",quantile=\"0.99\"} 0.00025
tandem_vote_path_seconds_sum{step=\"verdict\"} 0.0039
tandem_vote_path_seconds_count{step=\"verdict\"} 39
tandem_vote_path_seconds{step=\"ved_executed\",quantile=\"0.5\"} 0.0039
tandem_vote_path_seconds{step=\"ved_executed\",quantile=\"0.99\"} 0.009
tandem_vote_path_seconds_sum{step=\"ved_executed\"} 0.1755
tandem_vote_path_seconds_count{step=\"ved_executed\"} 39
# HELP tandem_time_to_vote_max_seconds The longest time-to-vote since start.
# TYPE tandem_time_to_vote_max_seconds gauge
tandem_time_to_vote_max_seconds 0.012001
# HELP tandem_ved_slot The last slot the VED executed.
# TYPE tandem_ved_slot gauge
tandem_ved_slot 40
# HELP tandem_ued_slot The last slot the UED executed.
# TYPE tandem_ued_slot gauge
tandem_ued_slot 37
# HELP tandem_ued_lag_slots Slots the UED is behind the VED.
# TYPE tandem_ued_lag_slots gauge
tandem_ued_lag_slots 3
# HELP tandem_ued_lag_slots_max The most slots the UED was behind the VED since start.
# TYPE tandem_ued_lag_slots_max gauge
tandem_ued_lag_slots_max 5
# HELP tandem_executed_transactions_total Transactions a domain executed.
# TYPE tandem_executed_transactions_total counter
tandem_executed_transactions_total{domain=\"ved\"} 390
tandem_executed_transactions_total{domain=\"ued\"} 39000
# HELP tandem_transactions_per_second Transactions a domain executed per second over the engine's sliding window.
# TYPE tandem_transactions_per_second gauge
tandem_transactions_per_second{domain=\"ved\"} 31.2
tandem_transactions_per_second{domain=\"ued\"} 3120
# HELP tandem_epoch_boundary_waits_total Times the VED waited at an epoch boundary for the UED.
# TYPE tandem_epoch_boundary_waits_total counter
tandem_epoch_boundary_waits_total 1
# HELP tandem_epoch_boundary_wait_seconds_total Time the VED waited at epoch boundaries for the UED.
# TYPE tandem_epoch_boundary_wait_seconds_total counter
tandem_epoch_boundary_wait_seconds_total 0.0015
# HELP tandem_epoch_boundaries_crossed_alone_total Epoch boundaries the VED crossed on its own, not waiting for the UED.
# TYPE tandem_epoch_boundaries_crossed_alone_total counter
tandem_epoch_boundaries_crossed_alone_total 2
# HELP tandem_ued_vote_yields_total Blocks whose user signatures waited for the block's vote point before the UED's sigverify stage began them.
# TYPE tandem_ued_vote_yields_total counter
tandem_ued_vote_yields_total 3
# HELP tandem_ued_vote_yield_seconds_total Time the user signatures waited for their blocks' vote points.
# TYPE tandem_ued_vote_yield_seconds_total counter
tandem_ued_vote_yield_seconds_total 0.021
# HELP tandem_halted 1 when the engine halted (a UED divergence, or a UED that cannot catch up), else 0.
# TYPE tandem_halted gauge
tandem_halted 0
# HELP tandem_ued_disagreement_max_ratio The largest share of the VED stake that reported a UED hash other than the local one for a slot.
# TYPE tandem_ued_disagreement_max_ratio gauge
tandem_ued_disagreement_max_ratio 0.25
# HELP tandem_vote_signer_tables Voters' keys the VED's signature verifier holds precomputed tables for.
# TYPE tandem_vote_signer_tables gauge
tandem_vote_signer_tables 10
# HELP tandem_vote_signer_tables_prepared_total Voters' tables built ahead of their first vote (at start, and after boundaries that bring new voters).
# TYPE tandem_vote_signer_tables_prepared_total counter
tandem_vote_signer_tables_prepared_total 10
# HELP tandem_vote_signatures_verified_total Signatures under valid keys the VED's verifier checked on the CPU, with their signer's table or without.
# TYPE tandem_vote_signatures_verified_total counter
tandem_vote_signatures_verified_total{table=\"yes\"} 388
tandem_vote_signatures_verified_total{table=\"no\"} 2
";

    /// One parsed sample line: metric name, labels, value.
    type Sample = (String, Vec<(String, String)>, f64);

    /// Parses a sample line of the text format (the subset this module writes: no timestamps).
    fn parse_sample(line: &str) -> Result<Sample, String> {
        let is_name_start = |c: char| c.is_ascii_alphabetic() || c == '_' || c == ':';
        let is_name_char = |c: char| is_name_start(c) || c.is_ascii_digit();
        let name_end = line
            .find(|c: char| !is_name_char(c))
            .ok_or_else(|| format!("no value: {line:?}"))?;
        let name = &line[..name_end];
        if !name.starts_with(is_name_start) {
            return Err(format!("bad metric name in {line:?}"));
        }
        let mut rest = &line[name_end..];
        let mut labels = Vec::new();
        if let Some(body) = rest.strip_prefix('{') {
            let close = body
                .find('}')
                .ok_or_else(|| format!("unclosed labels: {line:?}"))?;
            for pair in body[..close].split(',') {
                let (label, quoted) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("label without '=' in {line:?}"))?;
                if label.is_empty()
                    || !label.starts_with(is_name_start)
                    || !label.chars().all(is_name_char)
                {
                    return Err(format!("bad label name {label:?}"));
                }
                let value = quoted
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .ok_or_else(|| format!("unquoted label value in {line:?}"))?;
                labels.push((label.to_owned(), value.to_owned()));
            }
            rest = &body[close + 1..];
        }
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| format!("no space before the value: {line:?}"))?;
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|e| format!("bad value {v:?}: {e}"))?,
        };
        Ok((name.to_owned(), labels, value))
    }

    /// Checks the structure of a whole exposition and returns its samples.
    fn parse_exposition(text: &str) -> Vec<Sample> {
        let mut typed: Vec<(String, String)> = Vec::new();
        let mut samples = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("a TYPE line names a type");
                assert!(
                    ["counter", "gauge", "summary", "histogram"].contains(&kind),
                    "{line}"
                );
                assert!(typed.iter().all(|(n, _)| n != name), "{name} typed twice");
                typed.push((name.to_owned(), kind.to_owned()));
            } else if line.starts_with("# HELP ") {
                continue;
            } else {
                let sample = parse_sample(line).unwrap_or_else(|e| panic!("{e}"));
                let (family, kind) = typed.last().expect("a sample follows its TYPE line");
                let name = &sample.0;
                assert!(name.starts_with("tandem_"), "{name}");
                match kind.as_str() {
                    "counter" => assert!(name == family && name.ends_with("_total"), "{name}"),
                    "gauge" => assert_eq!(name, family),
                    "histogram" => assert!(
                        [format!("{family}_bucket"), format!("{family}_sum")].contains(name)
                            || *name == format!("{family}_count"),
                        "{name} in histogram {family}"
                    ),
                    _ => assert!(
                        *name == *family
                            || *name == format!("{family}_sum")
                            || *name == format!("{family}_count"),
                        "{name} in summary {family}"
                    ),
                }
                samples.push(sample);
            }
        }
        samples
    }

    #[test]
    fn a_fixed_snapshot_gives_the_exact_text() {
        assert_eq!(fixed_snapshot().to_prometheus(), FIXED_TEXT);
    }

    #[test]
    fn every_line_parses() {
        let samples = parse_exposition(&fixed_snapshot().to_prometheus());
        assert_eq!(samples.len(), 67);
        let busy = samples
            .iter()
            .find(|(n, l, _)| n == "tandem_stage_busy_seconds_total" && l[0].1 == "ved")
            .expect("the VED's busy time");
        assert_eq!(busy.2, 1.25);
        // The vote path's steps: a summary per `step`, each sample labelled with it.
        let steps = samples
            .iter()
            .filter(|(n, ..)| n.starts_with("tandem_vote_path_"));
        assert!(steps.clone().all(|(_, l, _)| l[0].0 == "step"));
        assert_eq!(steps.count(), 3 * 4);
        let verdict = samples
            .iter()
            .find(|(n, l, _)| {
                n == "tandem_vote_path_seconds" && l[0].1 == "verdict" && l[1].1 == "0.5"
            })
            .expect("the verdict's median");
        assert_eq!(verdict.2, 0.0001);
    }

    #[test]
    fn an_empty_engine_writes_nan_quantiles_and_still_parses() {
        let snapshot = MetricsSnapshot::default();
        let text = snapshot.to_prometheus();
        assert!(text.contains("tandem_time_to_vote_seconds{quantile=\"0.99\"} NaN\n"));
        assert!(text.contains("tandem_time_to_vote_seconds_count 0\n"));
        let samples = parse_exposition(&text);
        assert!(
            samples
                .iter()
                .all(|(n, _, _)| !n.starts_with("tandem_stage_"))
        );
    }

    #[test]
    fn label_values_and_special_floats_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), r#"a\\b\"c\nd"#);
        assert_eq!(escape_help("x\\y\nz"), r"x\\y\nz");
        assert_eq!(Value::Float(f64::INFINITY).to_string(), "+Inf");
        assert_eq!(Value::Float(f64::NEG_INFINITY).to_string(), "-Inf");
        assert_eq!(Value::Float(f64::NAN).to_string(), "NaN");
        assert_eq!(Value::Float(1e-7).to_string(), "0.0000001");
        let (_, labels, _) = parse_sample(r#"tandem_x{stage="a\"b"} 1"#).expect("parses");
        assert_eq!(labels[0].1, r#"a\"b"#);
    }
}
