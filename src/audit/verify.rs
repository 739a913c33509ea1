//! `audit verify`: stream a whole log, check every line and the chain, and on the first break
//! say which line was tampered with and how.
//!
//! # What is checked
//!
//! Line by line, with a 1 MiB read buffer and one SHA-256 per line (nothing kept per line, so
//! memory stays flat on any size): the line ends in `\n`; it has the audit shape (see
//! `line::parse_line`: envelope keys first and in order, one JSON object); its `seq` is the
//! previous line's + 1 (1 for line 1); its `prev` is the SHA-256 of the previous line's bytes
//! (the log's genesis for line 1). Lines that pass form the *verified prefix*; the report's head
//! is its last line. Field values are not checked: the chain protects whatever they are.
//!
//! # Which line is named, and the classifications
//!
//! Verification stops at the first line `B` that fails a check ("detected at"). Then it looks at
//! line `B`, the line after it, the rest of the file, or the earlier line with the same seq, to
//! name the line that was actually tampered with (`line`) and classify the tampering, assuming
//! a single tampering (with several, the first is named and the class is a best reading).
//! `E` is the seq line `B` should have had, `H` the hash it should have named as `prev`.
//!
//! - `torn`: line `B` is the last and has no `\n` (a crash mid-append; the next `append`
//!   moves it aside). Named: `B`.
//! - `not_json`: line `B` does not have the audit shape (bad JSON, empty line, envelope keys
//!   missing, duplicated or out of order, longer than `MAX_LINE_BYTES`). Named: `B`.
//! - `wrong_genesis`: line 1 has seq 1 but its `prev` is not this log's genesis, and line 2
//!   still chains to it: the file is another log's (or was verified under the wrong name).
//! - `inserted`: a line that is not part of the chain sits in it. Either line `B` repeats an
//!   earlier seq (a replayed copy or a line spliced in from another log: named `B`; or, when
//!   `B` has the same seq and `prev` as the earlier line `S` and the line after `B` chains to
//!   `B`, the foreign lines are `S..B-1`: named `S`), or removing line `B` mends the chain (the
//!   line after it has seq `E` and `prev` `H`: named `B`).
//! - `deleted`: line `B`'s seq jumps past `E` and no later line carries seq `E`. Named: `B`,
//!   the line right after the gap (the deleted lines are gone; `detail` gives their seqs).
//! - `reordered`: line `B`'s seq is not `E`, seq `E` appears later, and line `B` is a genuine
//!   line out of place: its `prev` is the hash of a later line and no later line repeats its
//!   seq. Named: `B`, the first line not in its place.
//! - `edited`: a line's bytes changed in place. If line `B` has the right seq but a wrong
//!   `prev`: when the line after `B` does not chain to `B` either, `B` itself was changed (its
//!   `prev`) and is named; otherwise line `B-1` was changed (any byte of it) and is named. If
//!   line `B` chains to line `B-1` but has the wrong seq, its seq was changed: named `B`. When
//!   `B` is the last line there is no line after it to tell these apart, and `B-1` is named.
//!   An edit of the very last line changes no `prev` at all: only an anchor can catch it.
//! - `truncated` (anchors only): the log ends before an anchored seq: lines were cut from the
//!   end. Named: the first missing line (head seq + 1).
//! - `rewritten` (anchors only): the anchored line is present but has another hash although
//!   the chain holds: the log was rewritten and re-chained from that line or before. Named: the
//!   anchored seq.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use super::AuditError;
use super::line::{self, Head, LineHash, MAX_LINE_BYTES, parse_line};

const READ_BUFFER: usize = 1 << 20;

/// How a log was tampered with; see the module docs for the exact meaning of each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tampering {
    Edited,
    Deleted,
    Reordered,
    Inserted,
    Torn,
    NotJson,
    WrongGenesis,
    Truncated,
    Rewritten,
}

impl Tampering {
    pub fn as_str(self) -> &'static str {
        match self {
            Tampering::Edited => "edited",
            Tampering::Deleted => "deleted",
            Tampering::Reordered => "reordered",
            Tampering::Inserted => "inserted",
            Tampering::Torn => "torn",
            Tampering::NotJson => "not_json",
            Tampering::WrongGenesis => "wrong_genesis",
            Tampering::Truncated => "truncated",
            Tampering::Rewritten => "rewritten",
        }
    }
}

/// The first tampering found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// 1-based line number of the line that was tampered with (see module docs).
    pub line: u64,
    pub kind: Tampering,
    /// 1-based line number where a check first failed (0 for anchor failures).
    pub detected_at: u64,
    /// One sentence for people.
    pub detail: String,
}

/// What became of an anchored head.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum AnchorStatus {
    /// Line `seq` is in the verified chain with exactly this hash.
    Matches,
    /// Line `seq` is in the verified chain with another hash.
    Differs { found: LineHash },
    /// The chain holds but ends before `seq`.
    Truncated,
    /// The chain broke before `seq`.
    NotReached,
    /// `verify_anchor` was asked about a seq that was not passed to `verify_with_anchors`.
    NotChecked,
}

impl AnchorStatus {
    pub fn is_ok(self) -> bool {
        self == AnchorStatus::Matches
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct AnchorResult {
    pub expected: Head,
    #[serde(flatten)]
    pub status: AnchorStatus,
}

/// The outcome of `verify`; serializes as the `--json` output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub log_name: String,
    /// The chain holds and every anchor matches.
    pub ok: bool,
    /// The chain holds (anchors aside).
    pub chain_ok: bool,
    /// Lines in the verified prefix: those before the line where a check first failed (all
    /// lines when `chain_ok`). An edited line passes its own checks — only its successor gives
    /// it away — so the named line can be the last of these.
    pub lines: u64,
    /// Bytes in the verified prefix.
    pub bytes: u64,
    /// The last line of the verified prefix (seq 0 and the genesis when it is empty).
    pub head: Head,
    pub failure: Option<Failure>,
    pub anchors: Vec<AnchorResult>,
}

/// Verify the log at `path` whose genesis comes from `log_name`. `Err` only when the log cannot
/// be opened or read; a broken chain is an `Ok` report with `ok == false`. Holds a shared lock
/// while reading so a concurrent append is not mistaken for a torn line.
pub fn verify(path: &Path, log_name: &str) -> Result<VerifyReport, AuditError> {
    verify_with_anchors(path, log_name, &[])
}

/// `verify`, also checking heads recorded elsewhere (summary.json, a commit): each must be
/// line `seq` of the log with that hash, which catches a cut or a re-chained rewrite of the
/// tail that the chain alone cannot see.
pub fn verify_with_anchors(
    path: &Path,
    log_name: &str,
    anchors: &[Head],
) -> Result<VerifyReport, AuditError> {
    line::check_log_name(log_name)?;
    let io = |action: &'static str| {
        move |source| AuditError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    };
    let file = open_shared(path).map_err(io("open"))?;
    verify_source(file, log_name, anchors).map_err(io("read"))
}

/// `path` opened for reading under a shared lock, so no append is half-seen (where the file
/// system has no locks, unlocked).
fn open_shared(path: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    match file.lock_shared() {
        Err(e) if e.kind() != io::ErrorKind::Unsupported => Err(e),
        _ => Ok(file),
    }
}

/// The whole of `path`, read under a shared lock (see `open_shared`): one snapshot to verify
/// and to read from.
pub fn read_shared(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_shared(path)?.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The verifier over any seekable bytes (seeking happens only to classify a failure).
pub fn verify_source<R: Read + Seek>(
    source: R,
    log_name: &str,
    anchors: &[Head],
) -> io::Result<VerifyReport> {
    let mut lines = Lines::new(source);
    let mut anchored = Anchors::new(anchors);
    let mut head = Head::empty(log_name);
    let mut bytes = 0;
    anchored.observe(head);
    let mut failure = None;
    while lines.advance()? {
        match check(&lines, head) {
            Ok(seen) => {
                head = Head {
                    seq: seen.seq,
                    hash: seen.hash,
                };
                bytes += lines.buf.len() as u64;
                anchored.observe(head);
            }
            Err(broken) => {
                failure = Some(classify(&mut lines, head, log_name, broken)?);
                break;
            }
        }
    }
    let chain_ok = failure.is_none();
    let anchors = anchored.finish(head, chain_ok);
    if chain_ok {
        failure = anchor_failure(&anchors, head);
    }
    Ok(VerifyReport {
        log_name: log_name.to_owned(),
        ok: failure.is_none(),
        chain_ok,
        lines: head.seq,
        bytes,
        head,
        failure,
        anchors,
    })
}

/// Whether `expected` holds according to `report`. Exact for anchors passed to
/// `verify_with_anchors`, for seq 0 and the head itself, and for seqs past the end of an
/// intact chain (`Truncated`); `NotChecked` for other seqs inside the log, whose hashes a
/// streaming verify does not keep.
pub fn verify_anchor(report: &VerifyReport, expected: &Head) -> AnchorStatus {
    if let Some(a) = report.anchors.iter().find(|a| a.expected == *expected) {
        return a.status;
    }
    let known = if expected.seq == report.head.seq {
        Some(report.head.hash)
    } else if expected.seq == 0 {
        Some(LineHash::genesis(&report.log_name))
    } else {
        None
    };
    match known {
        Some(hash) if hash == expected.hash => AnchorStatus::Matches,
        Some(found) => AnchorStatus::Differs { found },
        None if expected.seq > report.head.seq && report.chain_ok => AnchorStatus::Truncated,
        None if expected.seq > report.head.seq => AnchorStatus::NotReached,
        None => AnchorStatus::NotChecked,
    }
}

/// Lines of the source, one at a time into a reused buffer.
struct Lines<R> {
    reader: BufReader<R>,
    /// The current line's bytes, with its `\n` when it has one.
    buf: Vec<u8>,
    /// 1-based number of the current line.
    number: u64,
    /// The current line was longer than `MAX_LINE_BYTES`; `buf` holds only its start.
    too_long: bool,
}

impl<R: Read + Seek> Lines<R> {
    fn new(source: R) -> Self {
        Lines {
            reader: BufReader::with_capacity(READ_BUFFER, source),
            buf: Vec::with_capacity(4096),
            number: 0,
            too_long: false,
        }
    }

    fn advance(&mut self) -> io::Result<bool> {
        self.buf.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(false);
        }
        self.number += 1;
        self.too_long = self.buf.len() > MAX_LINE_BYTES;
        if self.too_long && self.buf.last() != Some(&b'\n') {
            // Skip the rest so the next `advance` starts at the next line.
            self.reader.skip_until(b'\n')?;
        }
        Ok(true)
    }

    fn complete(&self) -> bool {
        self.buf.last() == Some(&b'\n')
    }

    /// The current line's chain fields and hash.
    fn seen(&self) -> Result<Seen, String> {
        if self.too_long {
            return Err(format!("longer than {MAX_LINE_BYTES} bytes"));
        }
        let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        let env = parse_line(text)?;
        Ok(Seen {
            seq: env.seq,
            prev: env.prev,
            hash: LineHash::of(&self.buf),
        })
    }

    fn rewind(&mut self) -> io::Result<()> {
        self.reader.seek(SeekFrom::Start(0))?;
        self.number = 0;
        Ok(())
    }
}

/// A parsed line: its chain fields and the hash of its bytes.
#[derive(Clone, Copy, Debug)]
struct Seen {
    seq: u64,
    prev: LineHash,
    hash: LineHash,
}

/// Why the current line failed.
enum Broken {
    Torn,
    NotJson(String),
    /// Parses, but its seq or prev is not what the chain expects.
    Chain(Seen),
}

fn check<R: Read + Seek>(lines: &Lines<R>, head: Head) -> Result<Seen, Broken> {
    // Length first: an overlong line's `\n`, if any, lies beyond the part that was kept.
    if !lines.too_long && !lines.complete() {
        return Err(Broken::Torn);
    }
    let seen = lines.seen().map_err(Broken::NotJson)?;
    if Some(seen.seq) == head.seq.checked_add(1) && seen.prev == head.hash {
        Ok(seen)
    } else {
        Err(Broken::Chain(seen))
    }
}

/// Name and classify the tampering behind the failure at the current line.
fn classify<R: Read + Seek>(
    lines: &mut Lines<R>,
    head: Head,
    log_name: &str,
    broken: Broken,
) -> io::Result<Failure> {
    let b = lines.number;
    let fail = |line: u64, kind: Tampering, detail: String| Failure {
        line,
        kind,
        detected_at: b,
        detail,
    };
    let seen = match broken {
        Broken::Torn => {
            return Ok(fail(
                b,
                Tampering::Torn,
                format!(
                    "line {b} has no trailing newline: a torn write (the next append moves it aside)"
                ),
            ));
        }
        Broken::NotJson(why) => {
            return Ok(fail(
                b,
                Tampering::NotJson,
                format!("line {b} is not an audit line: {why}"),
            ));
        }
        Broken::Chain(seen) => seen,
    };
    let at = Break {
        b,
        expected_seq: head.seq.saturating_add(1),
        expected_prev: head.hash,
        line: seen,
        next: next_seen(lines)?,
    };
    let (line, kind, detail) = if seen.seq == at.expected_seq {
        right_seq(&at, log_name)
    } else if seen.seq > at.expected_seq {
        seq_ahead(&at, lines)?
    } else {
        seq_behind(&at, lines)?
    };
    Ok(fail(line, kind, detail))
}

/// The failing line `b` and what surrounds it.
struct Break {
    b: u64,
    expected_seq: u64,
    expected_prev: LineHash,
    line: Seen,
    /// The line after `b`, when there is one and it parses.
    next: Option<Seen>,
}

impl Break {
    fn chains(&self) -> bool {
        self.line.prev == self.expected_prev
    }

    /// Without line `b` the chain would go on: the next line is the one `b` displaced.
    fn next_mends_chain(&self) -> bool {
        self.next
            .is_some_and(|n| n.seq == self.expected_seq && n.prev == self.expected_prev)
    }

    /// The next line exists and does not name line `b` as its predecessor.
    fn next_disowns_b(&self) -> bool {
        self.next.is_some_and(|n| n.prev != self.line.hash)
    }
}

type Verdict = (u64, Tampering, String);

fn next_seen<R: Read + Seek>(lines: &mut Lines<R>) -> io::Result<Option<Seen>> {
    Ok(if lines.advance()? {
        lines.seen().ok()
    } else {
        None
    })
}

/// Removing line `b` mends the chain: it was inserted.
fn mended_without(at: &Break) -> Verdict {
    let b = at.b;
    let detail = format!(
        "line {b} was inserted: without it line {} continues the chain",
        b + 1
    );
    (b, Tampering::Inserted, detail)
}

/// Line `b` follows its predecessor but has another seq: its seq was changed.
fn seq_edited(at: &Break) -> Verdict {
    let (b, e, s) = (at.b, at.expected_seq, at.line.seq);
    let detail = format!(
        "line {b} was edited: it follows line {} but its seq is {s}, not {e}",
        b - 1
    );
    (b, Tampering::Edited, detail)
}

/// Line `b` has the expected seq but names another predecessor.
fn right_seq(at: &Break, log_name: &str) -> Verdict {
    let b = at.b;
    if at.next_mends_chain() {
        mended_without(at)
    } else if at.next_disowns_b() {
        (
            b,
            Tampering::Edited,
            format!(
                "line {b} was edited: neither does its prev name line {} nor does line {} name it",
                b.saturating_sub(1),
                b + 1
            ),
        )
    } else if b == 1 {
        (
            1,
            Tampering::WrongGenesis,
            format!(
                "line 1 does not start the `{log_name}` log: its prev is {}, not this log's genesis {}",
                at.line.prev, at.expected_prev
            ),
        )
    } else {
        let e = b - 1;
        (
            e,
            Tampering::Edited,
            format!(
                "line {e} was edited: line {b} records {} as its predecessor, but line {e} hashes to {}",
                at.line.prev, at.expected_prev
            ),
        )
    }
}

/// Line `b`'s seq is ahead of the expected one.
fn seq_ahead<R: Read + Seek>(at: &Break, lines: &mut Lines<R>) -> io::Result<Verdict> {
    let (b, e, s) = (at.b, at.expected_seq, at.line.seq);
    if at.chains() {
        return Ok(if at.next_mends_chain() {
            mended_without(at)
        } else {
            seq_edited(at)
        });
    }
    let later = Later::scan(lines, at)?;
    Ok(if later.seq_expected_at.is_none() {
        let gap = if s - 1 == e {
            format!("seq {e}")
        } else {
            format!("seqs {e}..{}", s - 1)
        };
        (
            b,
            Tampering::Deleted,
            format!("line(s) deleted before line {b}: it has seq {s}, so {gap} are missing"),
        )
    } else if later.predecessor_follows && !later.seq_repeated {
        let x = later.seq_expected_at.unwrap_or_default();
        (
            b,
            Tampering::Reordered,
            format!(
                "line {b} is out of order: it has seq {s}, its predecessor comes later, and seq {e} is at line {x}"
            ),
        )
    } else {
        (
            b,
            Tampering::Inserted,
            format!(
                "line {b} was inserted: it has seq {s} where seq {e} belongs, and is not a displaced line of this chain"
            ),
        )
    })
}

/// Line `b`'s seq repeats one already in the verified prefix (where line `n` has seq `n`).
fn seq_behind<R: Read + Seek>(at: &Break, lines: &mut Lines<R>) -> io::Result<Verdict> {
    let (b, s) = (at.b, at.line.seq);
    if at.chains() {
        return Ok(seq_edited(at));
    }
    let earlier = if s >= 1 { line_at(lines, s)? } else { None };
    Ok(match earlier {
        Some(x) if x.hash == at.line.hash => (
            b,
            Tampering::Inserted,
            format!("line {b} was inserted: it is a copy of line {s}"),
        ),
        Some(x) if x.prev == at.line.prev && at.next.is_some_and(|n| n.prev == at.line.hash) => (
            s,
            Tampering::Inserted,
            format!(
                "line {s} was inserted: line {b} has the same seq and predecessor, and the chain continues from line {b}"
            ),
        ),
        _ => (
            b,
            Tampering::Inserted,
            format!("line {b} was inserted: it repeats seq {s} of an earlier line"),
        ),
    })
}

/// Facts about the lines after `b` (the next line included), gathered in one pass.
struct Later {
    /// Line number of the first later line carrying the expected seq.
    seq_expected_at: Option<u64>,
    /// A later line hashes to line `b`'s `prev`.
    predecessor_follows: bool,
    /// A later line has the same seq as line `b`.
    seq_repeated: bool,
}

impl Later {
    fn scan<R: Read + Seek>(lines: &mut Lines<R>, at: &Break) -> io::Result<Self> {
        let mut later = Later {
            seq_expected_at: None,
            predecessor_follows: false,
            seq_repeated: false,
        };
        let mut current = at.next;
        let mut number = at.b + 1;
        loop {
            if let Some(l) = current {
                if l.seq == at.expected_seq && later.seq_expected_at.is_none() {
                    later.seq_expected_at = Some(number);
                }
                later.predecessor_follows |= l.hash == at.line.prev;
                later.seq_repeated |= l.seq == at.line.seq;
            }
            if !lines.advance()? {
                return Ok(later);
            }
            number = lines.number;
            current = lines.seen().ok();
        }
    }
}

/// Line `n` of the source, re-read from the start (only on the failure path).
fn line_at<R: Read + Seek>(lines: &mut Lines<R>, n: u64) -> io::Result<Option<Seen>> {
    lines.rewind()?;
    while lines.advance()? {
        if lines.number == n {
            return Ok(lines.seen().ok());
        }
    }
    Ok(None)
}

/// Anchors in seq order, checked as the verified prefix goes by.
struct Anchors {
    results: Vec<AnchorResult>,
    /// Indexes into `results`, by seq.
    order: Vec<usize>,
    cursor: usize,
}

impl Anchors {
    fn new(expected: &[Head]) -> Self {
        let results: Vec<_> = expected
            .iter()
            .map(|&expected| AnchorResult {
                expected,
                status: AnchorStatus::NotReached,
            })
            .collect();
        let mut order: Vec<usize> = (0..results.len()).collect();
        order.sort_by_key(|&i| results[i].expected.seq);
        Anchors {
            results,
            order,
            cursor: 0,
        }
    }

    fn observe(&mut self, head: Head) {
        while let Some(&i) = self.order.get(self.cursor) {
            let anchor = &mut self.results[i];
            if anchor.expected.seq != head.seq {
                break;
            }
            anchor.status = if anchor.expected.hash == head.hash {
                AnchorStatus::Matches
            } else {
                AnchorStatus::Differs { found: head.hash }
            };
            self.cursor += 1;
        }
    }

    fn finish(mut self, head: Head, chain_ok: bool) -> Vec<AnchorResult> {
        for a in &mut self.results {
            if a.expected.seq > head.seq {
                a.status = if chain_ok {
                    AnchorStatus::Truncated
                } else {
                    AnchorStatus::NotReached
                };
            }
        }
        self.results
    }
}

/// The earliest anchor failure of an intact chain, as a `Failure`.
fn anchor_failure(anchors: &[AnchorResult], head: Head) -> Option<Failure> {
    let worst = anchors
        .iter()
        .filter(|a| !a.status.is_ok())
        .min_by_key(|a| a.expected.seq)?;
    let seq = worst.expected.seq;
    Some(match worst.status {
        AnchorStatus::Differs { found } => Failure {
            line: seq,
            kind: Tampering::Rewritten,
            detected_at: 0,
            detail: format!(
                "line {seq} hashes to {found}, but {} was anchored: the log was rewritten at or before line {seq}",
                worst.expected.hash
            ),
        },
        _ => Failure {
            line: head.seq + 1,
            kind: Tampering::Truncated,
            detected_at: 0,
            detail: format!(
                "the log ends at seq {} but seq {seq} was anchored: lines {}..{seq} were cut from the end",
                head.seq,
                head.seq + 1
            ),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::encode_line;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::io::Cursor;

    const NAME: &str = "implementer_runs";
    const TS: &str = "2026-11-24T10:15:00.123Z";

    /// `n` chained lines of the log `name`, each with its own bytes.
    fn chain_of(name: &str, n: u64) -> Vec<Vec<u8>> {
        let mut prev = LineHash::genesis(name);
        (1..=n)
            .map(|seq| {
                let fields = json!({"task_id": format!("T{seq:03}"), "files_touched": ["a.rs"]});
                let line = encode_line(seq, &prev, "task_completed", &fields, TS).unwrap();
                prev = LineHash::of(&line);
                line
            })
            .collect()
    }

    fn run(lines: &[Vec<u8>], anchors: &[Head]) -> VerifyReport {
        verify_source(Cursor::new(lines.concat()), NAME, anchors).unwrap()
    }

    /// The named line and class of a failed verification.
    fn named(lines: &[Vec<u8>]) -> (u64, Tampering) {
        let report = run(lines, &[]);
        let f = report.failure.expect("verification should fail");
        assert!(!report.ok && !report.chain_ok);
        (f.line, f.kind)
    }

    fn head_of(lines: &[Vec<u8>]) -> Head {
        Head {
            seq: lines.len() as u64,
            hash: LineHash::of(lines.last().unwrap()),
        }
    }

    #[test]
    fn intact_and_empty_logs_verify() {
        let lines = chain_of(NAME, 20);
        let report = run(&lines, &[]);
        assert!(report.ok && report.chain_ok, "{report:?}");
        assert_eq!(report.lines, 20);
        assert_eq!(report.bytes, lines.concat().len() as u64);
        assert_eq!(report.head, head_of(&lines));
        let empty = run(&[], &[]);
        assert!(empty.ok);
        assert_eq!(empty.head, Head::empty(NAME));
    }

    #[test]
    fn edited_content_names_the_edited_line() {
        for n in 1..10u64 {
            let mut lines = chain_of(NAME, 10);
            let i = (n - 1) as usize;
            let text = String::from_utf8(lines[i].clone()).unwrap();
            lines[i] = text.replace("a.rs", "b.rs").into_bytes();
            assert_eq!(named(&lines), (n, Tampering::Edited), "line {n}");
        }
    }

    #[test]
    fn edited_prev_or_seq_names_that_line() {
        let mut lines = chain_of(NAME, 10);
        let text = String::from_utf8(lines[4].clone()).unwrap();
        let prev = LineHash::of(&lines[3]).to_string();
        lines[4] = text
            .replace(&prev, &LineHash::of(b"x").to_string())
            .into_bytes();
        assert_eq!(named(&lines), (5, Tampering::Edited));
        for seq in ["\"seq\":50,", "\"seq\":4,", "\"seq\":0,"] {
            let mut lines = chain_of(NAME, 10);
            lines[4] = String::from_utf8(lines[4].clone())
                .unwrap()
                .replace("\"seq\":5,", seq)
                .into_bytes();
            assert_eq!(named(&lines), (5, Tampering::Edited), "{seq}");
        }
    }

    #[test]
    fn every_single_deletion_is_named() {
        for i in 0..9 {
            let mut lines = chain_of(NAME, 10);
            lines.remove(i);
            assert_eq!(
                named(&lines),
                (i as u64 + 1, Tampering::Deleted),
                "delete {i}"
            );
        }
        let mut lines = chain_of(NAME, 10);
        lines.drain(4..7);
        let report = run(&lines, &[]);
        let f = report.failure.unwrap();
        assert_eq!((f.line, f.kind), (5, Tampering::Deleted));
        assert!(f.detail.contains("seqs 5..7"), "{}", f.detail);
    }

    #[test]
    fn every_swap_and_move_is_named_at_the_first_line_out_of_place() {
        for i in 0..10 {
            for j in i + 1..10 {
                let mut lines = chain_of(NAME, 10);
                lines.swap(i, j);
                assert_eq!(
                    named(&lines),
                    (i as u64 + 1, Tampering::Reordered),
                    "swap {i} {j}"
                );
                let mut lines = chain_of(NAME, 10);
                let moved = lines.remove(i);
                lines.insert(j, moved);
                assert_eq!(
                    named(&lines),
                    (i as u64 + 1, Tampering::Reordered),
                    "down {i} {j}"
                );
                let mut lines = chain_of(NAME, 10);
                let moved = lines.remove(j);
                lines.insert(i, moved);
                assert_eq!(
                    named(&lines),
                    (i as u64 + 1, Tampering::Reordered),
                    "up {j} {i}"
                );
            }
        }
    }

    #[test]
    fn every_inserted_copy_is_named() {
        for k in 0..10 {
            for p in 0..=10 {
                let mut lines = chain_of(NAME, 10);
                let copy = lines[k].clone();
                lines.insert(p, copy);
                // A copy put right before its original is indistinguishable from it: the
                // second of the two identical lines is the one named.
                let expected = if p == k { p + 2 } else { p + 1 };
                assert_eq!(
                    named(&lines),
                    (expected as u64, Tampering::Inserted),
                    "copy {k} at {p}"
                );
            }
        }
    }

    #[test]
    fn forged_lines_are_named_inserted() {
        let lines = chain_of(NAME, 10);
        let forge = |seq: u64, prev: &LineHash| {
            encode_line(seq, prev, "task_skipped", &json!({"task_id": "T999"}), TS).unwrap()
        };
        // Right seq and prev for its place: the chain forks there.
        let mut forged = lines.clone();
        forged.insert(5, forge(6, &LineHash::of(&lines[4])));
        assert_eq!(named(&forged), (6, Tampering::Inserted));
        // Right seq, made-up prev.
        let mut forged = lines.clone();
        forged.insert(5, forge(6, &LineHash::of(b"made up")));
        assert_eq!(named(&forged), (6, Tampering::Inserted));
        // A seq far ahead and a made-up prev.
        let mut forged = lines.clone();
        forged.insert(5, forge(999, &LineHash::of(b"made up")));
        assert_eq!(named(&forged), (6, Tampering::Inserted));
        // Lines of another log spliced in.
        let other = chain_of("retention", 3);
        let mut spliced = lines.clone();
        spliced.splice(4..4, other.iter().cloned());
        assert_eq!(named(&spliced), (5, Tampering::Inserted));
        let mut appended = lines.clone();
        appended.extend(other.iter().cloned());
        assert_eq!(named(&appended), (11, Tampering::Inserted));
    }

    #[test]
    fn another_logs_file_has_the_wrong_genesis() {
        let other = chain_of("retention", 5);
        assert_eq!(named(&other), (1, Tampering::WrongGenesis));
        let report = verify_source(Cursor::new(other.concat()), "retention", &[]).unwrap();
        assert!(report.ok);
    }

    #[test]
    fn torn_and_malformed_lines() {
        let mut lines = chain_of(NAME, 5);
        lines.push(b"{\"seq\":6,\"pr".to_vec());
        assert_eq!(named(&lines), (6, Tampering::Torn));
        lines[5] = vec![0; 300];
        assert_eq!(named(&lines), (6, Tampering::Torn));
        // A complete line whose newline was cut is torn too: the writer always ends lines.
        let mut lines = chain_of(NAME, 5);
        lines[4].pop();
        assert_eq!(named(&lines), (5, Tampering::Torn));
        let mut lines = chain_of(NAME, 5);
        lines.insert(2, b"\n".to_vec());
        assert_eq!(named(&lines), (3, Tampering::NotJson));
        let mut lines = chain_of(NAME, 5);
        lines.insert(2, vec![0; 100]);
        lines[2].push(b'\n');
        assert_eq!(named(&lines), (3, Tampering::NotJson));
        let mut long = vec![b'x'; MAX_LINE_BYTES + 5];
        long.push(b'\n');
        let mut lines = chain_of(NAME, 3);
        lines.insert(1, long);
        let report = run(&lines, &[]);
        let f = report.failure.unwrap();
        assert_eq!((f.line, f.kind), (2, Tampering::NotJson));
        assert!(f.detail.contains("longer than"));
    }

    #[test]
    fn anchors_catch_truncation_and_rewrites() {
        let lines = chain_of(NAME, 10);
        let head = head_of(&lines);
        let mid = head_of(&lines[..4]);
        let report = run(&lines, &[head, mid, Head::empty(NAME)]);
        assert!(report.ok);
        assert!(report.anchors.iter().all(|a| a.status.is_ok()));
        assert_eq!(verify_anchor(&report, &mid), AnchorStatus::Matches);
        assert_eq!(
            verify_anchor(&report, &head_of(&lines[..5])),
            AnchorStatus::NotChecked
        );

        // Tail cut: the chain holds, the anchor does not.
        let cut = &lines[..8];
        let report = run(cut, &[head]);
        assert!(report.chain_ok && !report.ok);
        let f = report.failure.clone().unwrap();
        assert_eq!((f.line, f.kind), (9, Tampering::Truncated));
        assert_eq!(verify_anchor(&report, &head), AnchorStatus::Truncated);
        assert_eq!(
            verify_anchor(&run(cut, &[]), &head),
            AnchorStatus::Truncated
        );

        // Last line rewritten and re-chained: only the anchor can tell.
        let mut rewritten = lines.clone();
        let prev = LineHash::of(&lines[8]);
        rewritten[9] = encode_line(10, &prev, "run_succeeded", &json!({}), TS).unwrap();
        let report = run(&rewritten, &[head]);
        let f = report.failure.clone().unwrap();
        assert_eq!((f.line, f.kind), (10, Tampering::Rewritten));
        assert!(matches!(
            verify_anchor(&report, &head),
            AnchorStatus::Differs { .. }
        ));

        // Chain broken before the anchor: not reached.
        let mut broken = lines.clone();
        broken.remove(2);
        let report = run(&broken, &[head]);
        assert_eq!(report.anchors[0].status, AnchorStatus::NotReached);
    }

    #[test]
    fn report_serializes_for_json_output() {
        let mut lines = chain_of(NAME, 3);
        lines.remove(1);
        let report = run(&lines, &[head_of(&lines)]);
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["ok"], json!(false));
        assert_eq!(v["failure"]["kind"], json!("deleted"));
        assert_eq!(v["failure"]["line"], json!(2));
        assert_eq!(v["anchors"][0]["status"], json!("not_reached"));
        assert!(v["head"]["hash"].as_str().unwrap().starts_with("sha256:"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let report = verify_source(Cursor::new(bytes), NAME, &[]).unwrap();
            prop_assert_eq!(report.ok, report.failure.is_none());
        }

        #[test]
        fn never_panics_on_damaged_logs(
            cut in 0usize..4000,
            junk in proptest::collection::vec(any::<u8>(), 0..300),
            at in 0usize..4000,
        ) {
            let mut bytes = chain_of(NAME, 12).concat();
            bytes.truncate(cut.max(1));
            let at = at.min(bytes.len());
            bytes.splice(at..at, junk);
            let _ = verify_source(Cursor::new(bytes), NAME, &[]).unwrap();
        }

        #[test]
        fn any_one_byte_edit_names_the_edited_line(line in 0usize..11, pos in 0usize..400, byte in any::<u8>()) {
            let mut lines = chain_of(NAME, 12);
            let pos = pos % lines[line].len();
            prop_assume!(lines[line][pos] != byte);
            lines[line][pos] = byte;
            let (named, kind) = named(&lines);
            prop_assert_eq!(named, line as u64 + 1);
            prop_assert!(matches!(kind, Tampering::Edited | Tampering::NotJson), "{:?}", kind);
        }
    }
}
