//! Append-only logs of per-slot records, kept in segments beside the store: what the VED log
//! ([`super::ved_log`]) and the vote log ([`super::vote_log`]) share.
//!
//! A log of one [`LogKind`] is a series of segment files `<prefix><first slot>.log`, a new one
//! every [`LogKind::per_segment`] records (and at every [`Appender`]'s first record). A segment:
//! an 8-byte magic, then records, each `length (u64) ‖ body ‖ xxh3-64 of body`, every body
//! starting with its slot (u64). Each record is fsynced when appended. A crash can cut the last
//! record of the last segment short, or leave it holding only its magic; that tail was never
//! synced and is not part of the log ([`LogKind::read`] reports it, [`LogKind::cut`] removes it). A damaged record anywhere else
//! is an error naming the file and the slot after which it sits. Whole segments older than a
//! slot are deleted with [`LogKind::prune`].

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::xxh3_64;

use super::state::numbered_files;

/// Why a log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A file could not be read, written or synced.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// A segment of another tandem's format (a newer build's): not damage
    /// ([`crate::files::another_format`]).
    #[error("{path}: {reason}")]
    OtherFormat {
        /// The segment.
        path: PathBuf,
        /// Its format, and the formats this build reads.
        reason: String,
    },
    /// A segment is damaged where a crash cannot have left it.
    #[error("{path}: damaged {log}: {reason}")]
    Corrupt {
        /// The segment (or the directory, for damage across segments).
        path: PathBuf,
        /// Which log.
        log: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// One kind of log: its name in errors, its files and its formats.
#[derive(Debug)]
pub struct LogKind {
    /// What errors call it ("VED log").
    pub name: &'static str,
    /// The segment files' prefix (`ved-`).
    pub prefix: &'static str,
    /// The magic this build writes, then older ones it still reads.
    pub magics: &'static [&'static [u8; 8]],
    /// Records per segment.
    pub per_segment: u64,
    /// The fewest bytes a record's body of any format has: the fields every record holds.
    /// Bytes after a torn record that read as whole records to the end of the segment are
    /// taken for synced records (damage, not a crash) only where each body has at least this
    /// many — record bodies carry bytes others choose (a vote's hashes), enough for a short
    /// record of their own, but not for one this long.
    pub min_body: usize,
}

/// A record as read: its slot, its body, the format of its segment (an index into
/// [`LogKind::magics`]) and where it starts.
pub struct Record {
    /// The slot the body starts with.
    pub slot: u64,
    /// The whole body, slot included.
    pub body: Vec<u8>,
    /// The index of its segment's magic in [`LogKind::magics`].
    pub format: usize,
    /// Its segment.
    pub path: PathBuf,
    /// Its offset in the segment.
    pub offset: u64,
}

/// A segment a crash cut short, and the length of its whole records.
pub type Torn = (PathBuf, u64);

/// When to look for whole segments to prune: at the first commit after a log is opened (what
/// earlier processes left), then once `every` slots — counted in slots, not in this process's
/// commits, so a store reopened every few slots is pruned as well as one that runs for days.
#[derive(Debug, Default)]
pub struct PruneSchedule {
    last: Option<u64>,
}

impl PruneSchedule {
    /// Whether to prune after committing `slot` (and, if so, it is counted as done).
    pub fn due(&mut self, slot: u64, every: u64) -> bool {
        let due = self
            .last
            .is_none_or(|last| slot.saturating_sub(last) >= every);
        if due {
            self.last = Some(slot);
        }
        due
    }
}

/// The record at `at` in `bytes` if it reads whole — its length, a body starting with its
/// slot, the body's checksum: its slot, its body and its size.
fn whole_record(bytes: &[u8], at: usize) -> Option<(u64, &[u8], usize)> {
    let len = u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?);
    let len = usize::try_from(len).ok()?;
    let body_at = at + 8;
    let body = bytes.get(body_at..body_at.checked_add(len)?)?;
    let sum = bytes.get(body_at + len..(body_at + len).checked_add(8)?)?;
    let slot = u64::from_le_bytes(body.get(..8)?.try_into().ok()?);
    (xxh3_64(body).to_le_bytes() == sum).then_some((slot, body, 16 + len))
}

/// Whether `tail`, from a record that does not read whole to the end of the last segment, is what
/// a crash in an append leaves: part of one record — whatever part of it reached the disk, its
/// length included or not (a power cut can leave a hole where the length was and later bytes
/// written) — or zeros a file system extended the file with, and nothing after it. What it is
/// not: a record synced and damaged since, with the records synced after it still there. So the
/// tail is torn unless whole records, one after another, run from some place inside it to its
/// very end (cutting there would delete synced records). A whole record inside a torn one that
/// does not chain to the end is not evidence of damage: record bodies carry bytes others choose
/// (a vote's hash), enough to hold a record of their own (`len ‖ slot ‖ xxh3(slot)`, 24 bytes),
/// and such a record cut after it refused the log at open until 2026-12-06. Damage and a crash
/// at once (a damaged record, synced ones after it, a torn one last) reads as torn from the
/// damage on: the one case this rule cuts synced records in, where the other refused a clean
/// crash.
///
/// Only records of at least `min_body` bytes of body count ([`LogKind::min_body`]): a crash
/// that cut the last record exactly where a short record hidden in its body ends left whole
/// records "to the end", and refused the log at open.
fn torn_tail(tail: &[u8], min_body: usize) -> bool {
    !(1..tail.len()).any(|at| whole_records_to_the_end(tail, at, min_body))
}

/// Whether whole records of at least `min_body` bytes of body, one after another, run from
/// `at` to the end of `bytes`.
fn whole_records_to_the_end(bytes: &[u8], mut at: usize, min_body: usize) -> bool {
    while let Some((_, _, size)) =
        whole_record(bytes, at).filter(|(_, body, _)| body.len() >= min_body)
    {
        at += size;
        if at == bytes.len() {
            return true;
        }
    }
    false
}

impl LogKind {
    pub(super) fn segment_path(&self, dir: &Path, first_slot: u64) -> PathBuf {
        dir.join(format!("{}{first_slot}.log", self.prefix))
    }

    /// The segments in `dir`, by first slot.
    pub(super) fn segments(&self, dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogError> {
        numbered_files(dir, self.prefix, ".log").map_err(|source| LogError::Io {
            path: dir.to_owned(),
            source,
        })
    }

    /// The error for damage in `path`.
    pub fn corrupt(&self, path: &Path, reason: String) -> LogError {
        LogError::Corrupt {
            path: path.to_owned(),
            log: self.name,
            reason,
        }
    }

    /// Every whole record in `dir`, in order, and where the last segment's whole records end
    /// when a crash left a short tail after them. `before`, when given, is the slot errors name
    /// for a damaged first record ("after slot N").
    pub fn read(
        &self,
        dir: &Path,
        before: Option<u64>,
    ) -> Result<(Vec<Record>, Option<Torn>), LogError> {
        let segments = self.segments(dir)?;
        let mut records: Vec<Record> = Vec::new();
        let last = segments.len().saturating_sub(1);
        for (k, (_, path)) in segments.iter().enumerate() {
            let bytes = std::fs::read(path).map_err(|source| LogError::Io {
                path: path.clone(),
                source,
            })?;
            if bytes.len() < 8 {
                if k == last {
                    // Created, cut short before its magic.
                    return Ok((records, Some((path.clone(), 0))));
                }
                return Err(self.corrupt(path, "shorter than its magic".into()));
            }
            let Some(format) = self.magics.iter().position(|m| bytes[..8] == m[..]) else {
                // Created, and a crash came before its magic was synced (the append syncs it
                // before any record): where the file system extended the file with zeros, a
                // magic of zeros and no whole records after it — the torn tail of a create.
                // (`torn_tail` looks for whole records past its first byte: one at the very
                // start of the records is looked for here.)
                let records_at_the_start = whole_records_to_the_end(&bytes[8..], 0, self.min_body);
                let unsynced = bytes[..8] == [0; 8]
                    && !records_at_the_start
                    && torn_tail(&bytes[8..], self.min_body);
                if k == last && unsynced {
                    return Ok((records, Some((path.clone(), 0))));
                }
                let what = format!("{} segment", self.name);
                let reason = crate::files::unknown_format(&bytes, self.magics, &what);
                if crate::files::another_format(&bytes, self.magics) {
                    let path = path.clone();
                    return Err(LogError::OtherFormat { path, reason });
                }
                return Err(self.corrupt(path, reason));
            };
            if bytes.len() == 8 && k == last {
                // Created, and a crash came before its first record: it holds no slot, and left
                // in place it would end the segment before it at its name's slot for `prune`.
                return Ok((records, Some((path.clone(), 8))));
            }
            let mut at = 8;
            while at < bytes.len() {
                let Some((slot, body, size)) = whole_record(&bytes, at) else {
                    if k == last && torn_tail(&bytes[at..], self.min_body) {
                        // The tail a crash cut short: never synced.
                        return Ok((records, Some((path.clone(), at as u64))));
                    }
                    let place = match records.last().map(|r| r.slot).or(before) {
                        Some(previous) => format!("after slot {previous}"),
                        None => "at its start".into(),
                    };
                    return Err(self.corrupt(
                        path,
                        format!("a damaged record {place}, with more log after it"),
                    ));
                };
                records.push(Record {
                    slot,
                    body: body.to_vec(),
                    format,
                    path: path.clone(),
                    offset: at as u64,
                });
                at += size;
            }
        }
        Ok((records, None))
    }

    /// Cuts the log at `cut` (a segment and the length to keep of it), deleting that segment
    /// when nothing but its magic would remain, and every later segment.
    pub fn cut(&self, dir: &Path, (path, keep): Torn) -> Result<(), LogError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| LogError::Io { path, source }
        };
        let later: Vec<PathBuf> = self
            .segments(dir)?
            .into_iter()
            .map(|(_, p)| p)
            .skip_while(|p| *p != path)
            .skip(1)
            .collect();
        for p in later.iter().rev() {
            std::fs::remove_file(p).map_err(io(p))?;
        }
        if keep <= 8 {
            std::fs::remove_file(&path).map_err(io(&path))?;
        } else {
            let file = OpenOptions::new()
                .write(true)
                .open(&path)
                .map_err(io(&path))?;
            file.set_len(keep).map_err(io(&path))?;
            file.sync_all().map_err(io(&path))?;
        }
        File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
    }

    /// Deletes every segment, newest first, and makes that durable; how many there were.
    pub fn remove_all(&self, dir: &Path) -> Result<usize, LogError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| LogError::Io { path, source }
        };
        let segments = self.segments(dir)?;
        for (_, path) in segments.iter().rev() {
            std::fs::remove_file(path).map_err(io(path))?;
        }
        if !segments.is_empty() {
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io(dir))?;
        }
        Ok(segments.len())
    }

    /// Deletes the segments whose every slot is before `keep_from`.
    pub fn prune(&self, dir: &Path, keep_from: u64) -> Result<(), LogError> {
        let segments = self.segments(dir)?;
        for pair in segments.windows(2) {
            let ((_, path), (next_first, _)) = (&pair[0], &pair[1]);
            if *next_first <= keep_from {
                std::fs::remove_file(path).map_err(|source| LogError::Io {
                    path: path.clone(),
                    source,
                })?;
            }
        }
        Ok(())
    }
}

/// Appends records to a log of one kind, each synced before `append` returns.
pub struct Appender {
    kind: &'static LogKind,
    dir: PathBuf,
    file: Option<(File, PathBuf)>,
    in_segment: u64,
}

impl Appender {
    /// An appender for the log of `kind` in `dir`; its first record starts a new segment.
    pub fn new(kind: &'static LogKind, dir: impl Into<PathBuf>) -> Appender {
        Appender {
            kind,
            dir: dir.into(),
            file: None,
            in_segment: 0,
        }
    }

    /// Appends `body` (which starts with its slot) and makes it durable.
    pub fn append(&mut self, body: &[u8]) -> Result<(), LogError> {
        let slot = body
            .get(..8)
            .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
            .expect("a record starts with its slot");
        if self.file.is_none() || self.in_segment >= self.kind.per_segment {
            let path = self.kind.segment_path(&self.dir, slot);
            let io = |source| LogError::Io {
                path: path.clone(),
                source,
            };
            let mut file = OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(true)
                .open(&path)
                .map_err(io)?;
            file.write_all(self.kind.magics[0]).map_err(io)?;
            file.sync_all().map_err(io)?;
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|source| LogError::Io {
                    path: self.dir.clone(),
                    source,
                })?;
            self.file = Some((file, path));
            self.in_segment = 0;
        }
        let (file, path) = self.file.as_mut().expect("a segment is open");
        let mut record = Vec::with_capacity(body.len() + 16);
        record.extend_from_slice(&(body.len() as u64).to_le_bytes());
        record.extend_from_slice(body);
        record.extend_from_slice(&xxh3_64(body).to_le_bytes());
        let io = |source| LogError::Io {
            path: path.clone(),
            source,
        };
        crate::files::write_pieces(file, &record).map_err(io)?;
        file.sync_data().map_err(io)?;
        self.in_segment += 1;
        Ok(())
    }
}
