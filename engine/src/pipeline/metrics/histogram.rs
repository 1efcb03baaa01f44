//! A latency histogram with fixed log-linear buckets (HDR-style), for the time-to-vote.
//!
//! It owns a fixed array of atomic bucket counters, the exact sum and maximum. Recording is a
//! handful of atomic additions: any thread may record at any time, none ever waits, and the
//! memory never grows. It must never allocate or lock on [`LatencyHistogram::record`]. A read
//! ([`LatencyHistogram::read`]) takes the count from the same pass over the buckets as the
//! quantiles, and each recording publishes its bucket last, so a read that counts it sees its
//! maximum too: what one read says agrees with itself while other threads record.
//!
//! # Buckets and error
//!
//! Values are whole microseconds. Below [`SUB_BUCKETS`] µs every value has its own bucket (exact).
//! Above, each power of two `[2^e, 2^(e+1))` is split into [`SUB_BUCKETS`] equal buckets, so a
//! bucket is at most `1/SUB_BUCKETS` (1.6 %) of its lower bound wide. A quantile answers the
//! midpoint of the bucket that holds the value of that rank, hence within
//! [`RELATIVE_ERROR`] (0.8 %) of it, and never above the exact maximum. Buckets cover
//! 0 µs to [`MAX_TRACKED_US`] (about 67 s); a longer duration is counted in the last bucket, its
//! exact value still reaching the maximum and the sum.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets per power of two (and the number of exact buckets below it): 64, a 1/64 bucket width.
pub const SUB_BUCKETS: u64 = 64;
const SUB_BITS: u32 = SUB_BUCKETS.trailing_zeros();
/// The highest power of two the buckets split: values up to `2^(TOP_EXPONENT + 1) − 1` µs.
const TOP_EXPONENT: u32 = 25;
/// The largest value, in µs, with a bucket of its own (2^26 − 1 µs ≈ 67.1 s, past the 60 s asked).
pub const MAX_TRACKED_US: u64 = (1 << (TOP_EXPONENT + 1)) - 1;
/// The number of buckets: the exact ones, then `SUB_BUCKETS` per power of two up to the top.
const BUCKETS: usize = (SUB_BUCKETS + (TOP_EXPONENT + 1 - SUB_BITS) as u64 * SUB_BUCKETS) as usize;
/// The largest relative distance between a quantile's answer and the recorded value of that rank
/// (half a bucket), for values of at least one microsecond below [`MAX_TRACKED_US`].
pub const RELATIVE_ERROR: f64 = 0.5 / SUB_BUCKETS as f64;
const _: () = assert!(MAX_TRACKED_US >= 60_000_000, "the buckets reach 60 s");

/// The bucket of a value in µs (values past [`MAX_TRACKED_US`] share the last bucket).
fn bucket_of(us: u64) -> usize {
    let us = us.min(MAX_TRACKED_US);
    if us < SUB_BUCKETS {
        return us as usize;
    }
    let exponent = 63 - us.leading_zeros();
    let shift = exponent - SUB_BITS;
    let sub = (us >> shift) - SUB_BUCKETS;
    (SUB_BUCKETS + u64::from(shift) * SUB_BUCKETS + sub) as usize
}

/// The lowest value and the width (both µs) of a bucket.
fn bucket_bounds(index: usize) -> (u64, u64) {
    let index = index as u64;
    if index < SUB_BUCKETS {
        return (index, 1);
    }
    let shift = (index - SUB_BUCKETS) / SUB_BUCKETS;
    let sub = (index - SUB_BUCKETS) % SUB_BUCKETS;
    ((SUB_BUCKETS + sub) << shift, 1 << shift)
}

/// A value that stands for a whole bucket: its midpoint (the value itself for exact buckets).
fn bucket_value(index: usize) -> u64 {
    let (low, width) = bucket_bounds(index);
    low + (width - 1) / 2
}

/// A concurrent latency histogram of bounded size: see the module docs for its buckets and error.
#[derive(Debug)]
pub struct LatencyHistogram {
    buckets: Box<[AtomicU64]>,
    sum_us: AtomicU64,
    max_us: AtomicU64,
}

/// One read of a [`LatencyHistogram`]: its parts agree with each other (module docs).
#[derive(Clone, Debug, PartialEq)]
pub struct HistogramRead {
    /// How many durations were recorded.
    pub count: u64,
    /// Their sum (whole microseconds each; it may already hold a recording in progress).
    pub sum: Duration,
    /// The longest, exact; `None` when nothing was recorded.
    pub max: Option<Duration>,
    /// The quantiles asked for, in order ([`LatencyHistogram::quantile`]).
    pub quantiles: Vec<Option<Duration>>,
    /// Every bucket's count, as read (what [`HistogramRead::at_most`] sums).
    counts: Vec<u64>,
}

impl HistogramRead {
    /// For each of `bounds_us` (rising), how many recordings were at most that many
    /// microseconds — a Prometheus histogram's cumulative `le` buckets, from the same read as
    /// [`HistogramRead::count`]. A bucket counts where its midpoint (the value a quantile
    /// answers for it) is at most the bound: a recording within a bucket's width (1.6 %) of a
    /// bound may be counted on the other side of it, exact below [`SUB_BUCKETS`] µs.
    pub fn at_most(&self, bounds_us: &[u64]) -> Vec<u64> {
        let mut cumulative = 0;
        let mut bucket = 0;
        bounds_us
            .iter()
            .map(|&bound| {
                while bucket < self.counts.len() && bucket_value(bucket) <= bound {
                    cumulative += self.counts[bucket];
                    bucket += 1;
                }
                cumulative
            })
            .collect()
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    /// An empty histogram (about 11 KiB of buckets, allocated once).
    pub fn new() -> Self {
        Self {
            buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            max_us: AtomicU64::new(0),
        }
    }

    /// Records one duration, truncated to whole microseconds (saturating past `u64::MAX` µs).
    pub fn record(&self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
        // Last, and released: a read that counts this recording sees its maximum.
        self.buckets[bucket_of(us)].fetch_add(1, Ordering::Release);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.read(&[]).count
    }

    /// The sum of every recorded duration (whole microseconds each).
    pub fn sum(&self) -> Duration {
        self.read(&[]).sum
    }

    /// The longest recorded duration, exact to the microsecond; `None` when nothing was recorded.
    pub fn max(&self) -> Option<Duration> {
        self.read(&[]).max
    }

    /// The duration below or at which a fraction `q` (clamped to 0..=1) of the recordings lie,
    /// within [`RELATIVE_ERROR`]; `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        self.quantiles(&[q])[0]
    }

    /// Several quantiles read from one pass over the buckets, so that they agree with each other
    /// while other threads record (each as [`LatencyHistogram::quantile`]).
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<Duration>> {
        self.read(qs).quantiles
    }

    /// The count, sum, maximum and the quantiles `qs`, from one pass over the buckets: they
    /// agree with each other while other threads record (module docs).
    pub fn read(&self, qs: &[f64]) -> HistogramRead {
        let counts: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Acquire))
            .collect();
        let total: u64 = counts.iter().sum();
        // After the buckets: at least the maximum of every recording they count.
        let max_us = self.max_us.load(Ordering::Relaxed);
        let sum = Duration::from_micros(self.sum_us.load(Ordering::Relaxed));
        let quantiles = qs
            .iter()
            .map(|&q| {
                if total == 0 {
                    return None;
                }
                let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
                // The rank of the value asked for, 1-based: the smallest value when q is 0.
                let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
                let mut seen = 0;
                let index = counts
                    .iter()
                    .position(|&c| {
                        seen += c;
                        seen >= rank
                    })
                    .unwrap_or(BUCKETS - 1);
                Some(Duration::from_micros(bucket_value(index).min(max_us)))
            })
            .collect();
        HistogramRead {
            count: total,
            sum,
            max: (total > 0).then_some(Duration::from_micros(max_us)),
            quantiles,
            counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(d: Option<Duration>) -> u64 {
        d.expect("the histogram is not empty").as_micros() as u64
    }

    fn assert_within(actual: u64, expected: u64) {
        let error = (actual as f64 - expected as f64).abs() / expected as f64;
        assert!(
            error <= RELATIVE_ERROR,
            "{actual} µs is {:.3} % from {expected} µs (allowed {:.3} %)",
            error * 100.0,
            RELATIVE_ERROR * 100.0
        );
    }

    #[test]
    fn buckets_tile_the_range_without_gaps() {
        let mut next = 0;
        for index in 0..BUCKETS {
            let (low, width) = bucket_bounds(index);
            assert_eq!(low, next, "bucket {index} starts where the previous ended");
            assert_eq!(bucket_of(low), index);
            assert_eq!(bucket_of(low + width - 1), index);
            assert!(width == 1 || (width as f64) / (low as f64) <= 1.0 / SUB_BUCKETS as f64);
            next = low + width;
        }
        assert_eq!(next, MAX_TRACKED_US + 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn empty_histogram_answers_none() {
        let h = LatencyHistogram::new();
        assert_eq!(h.count(), 0);
        assert_eq!(h.quantile(0.5), None);
        assert_eq!(h.quantile(0.99), None);
        assert_eq!(h.max(), None);
        assert_eq!(h.sum(), Duration::ZERO);
    }

    #[test]
    fn uniform_quantiles_are_within_the_bucket_error() {
        let h = LatencyHistogram::new();
        for v in 1..=10_000u64 {
            h.record(Duration::from_micros(v));
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.sum(), Duration::from_micros(10_000 * 10_001 / 2));
        assert_within(us(h.quantile(0.5)), 5_000);
        assert_within(us(h.quantile(0.99)), 9_900);
        assert_within(us(h.quantile(0.999)), 9_990);
        assert_eq!(us(h.quantile(0.0)), 1, "small values are exact");
        assert_eq!(
            us(h.quantile(1.0)),
            10_000,
            "the top quantile never passes the max"
        );
        assert_eq!(us(h.max()), 10_000);
    }

    #[test]
    fn geometric_spread_from_microseconds_to_a_minute() {
        // 1 µs × 1.01^k up to 60 s: every quantile lands within the error, over the whole range.
        let mut values = Vec::new();
        let mut v = 1.0f64;
        while v <= 60_000_000.0 {
            values.push(v as u64);
            v *= 1.01;
        }
        let h = LatencyHistogram::new();
        for &v in &values {
            h.record(Duration::from_micros(v));
        }
        for q in [0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            assert_within(us(h.quantile(q)), values[rank - 1]);
        }
        assert_eq!(us(h.max()), *values.last().expect("values"));
    }

    #[test]
    fn max_is_exact_and_overflow_is_bounded_by_it() {
        let h = LatencyHistogram::new();
        h.record(Duration::from_micros(12_345_677));
        assert_eq!(us(h.max()), 12_345_677);
        assert_within(us(h.quantile(0.5)), 12_345_677);
        let long = Duration::from_secs(3_600);
        h.record(long);
        assert_eq!(h.max(), Some(long), "past the buckets the max stays exact");
        let top = us(h.quantile(1.0));
        assert!((MAX_TRACKED_US / 2..=3_600_000_000).contains(&top));
        h.record(Duration::from_nanos(900));
        assert_eq!(
            us(h.quantile(0.0)),
            0,
            "sub-microsecond durations count as 0 µs"
        );
    }

    #[test]
    fn concurrent_recording_loses_nothing() {
        let h = LatencyHistogram::new();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let h = &h;
                s.spawn(move || {
                    for v in 0..5_000u64 {
                        h.record(Duration::from_micros(1 + t * 5_000 + v));
                    }
                });
            }
        });
        assert_eq!(h.count(), 20_000);
        assert_eq!(us(h.max()), 20_000);
        assert_within(us(h.quantile(0.5)), 10_000);
    }

    #[test]
    fn cumulative_buckets_count_each_recording_once_by_its_bucket() {
        let h = LatencyHistogram::new();
        // Exact below 64 µs. 999 µs lies in [992, 1000) (midpoint 995), 1,000 and 1,007 in
        // [1000, 1008) (1,003), 4,999 in [4992, 5056) (5,023), 60 s in a bucket whose midpoint
        // is past 60 s, and 90 s in the last (past MAX_TRACKED_US).
        for us in [10, 63, 999, 1_000, 1_007, 4_999, 60_000_000, 90_000_000] {
            h.record(Duration::from_micros(us));
        }
        let read = h.read(&[]);
        let bounds = [9, 10, 63, 996, 1_003, 5_000, 5_023, 60_000_000, u64::MAX];
        assert_eq!(read.at_most(&bounds), [0, 1, 2, 3, 5, 5, 6, 6, 8]);
        assert_eq!(read.at_most(&[u64::MAX])[0], read.count);
        assert_eq!(LatencyHistogram::new().read(&[]).at_most(&[1, 2]), [0, 0]);
    }
}
