//! Appending to a log: lock, look at the tail, repair a torn write, refuse a tampered tail,
//! write one line, fsync.
//!
//! - **Lock**: an exclusive `flock` (`File::lock`) on the log file itself, held from reading the
//!   tail until the new line is fsynced, so concurrent appenders (threads with their own
//!   `AuditLog`, or processes) serialize and never both take the same `seq`. The kernel drops
//!   the lock when the process dies, so it cannot go stale. No sidecar file: there is nothing to
//!   clean up and nothing to get out of step with the log. (Replacing the log by rename while an
//!   appender waits would leave it appending to the old inode; nothing in git-microloop does.)
//! - **Tail only**: see `tail`; the last two complete lines are checked, never the whole log —
//!   that is `verify`'s job.
//! - **Durability**: one `write_all` of the whole line on an `O_APPEND` descriptor, then
//!   `sync_all`; when the line is the log's first, the log's folder (and its parent, in case the
//!   folder was just created) is fsynced too, so the file's name survives a crash.
//! - **Torn tail**: bytes after the last `\n` are copied into a new `<log>.torn-<n>` (fsynced,
//!   folder fsynced), the log is truncated after its last `\n` and fsynced, and a `log_repaired`
//!   event (`torn_file`: that file's name, `torn_bytes`) is appended before anything else.
//! - **Tampered tail**: if the last complete line does not parse, or does not follow the line
//!   before it (seq + 1 and `prev` = that line's hash; seq 1 and the genesis for a lone line),
//!   nothing is written and `AuditError::Tampered` points to `git microloop audit verify`.
//!   Damage further back (or another log's genesis under a longer log) is `verify`'s to find:
//!   this check costs the same on any size of log.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::AuditError;
use super::line::{self, Head, LineHash, parse_line};
use super::tail::{Counted, Tail, TailError, TailLine, read_tail};

/// Event appended when a torn tail was moved aside.
pub const LOG_REPAIRED: &str = "log_repaired";

/// How many `<log>.torn-<n>` names to try before giving up (each is a past crash).
const MAX_TORN_FILES: u32 = 10_000;

/// A handle on one audit log. It holds no file open and caches nothing between calls: every
/// call locks and reads the tail afresh, so handles in several threads or processes agree.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    log_name: String,
    tail_bytes_read: u64,
}

/// What a repair did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired {
    /// Where the torn bytes were moved (next to the log).
    pub torn_file: PathBuf,
    pub torn_bytes: u64,
    /// The head after the `log_repaired` line.
    pub head: Head,
}

impl AuditLog {
    /// A handle on the log at `path` whose genesis is derived from `log_name`
    /// (`implementer_runs`, `retention`). Touches nothing on disk: the file and its folder are
    /// created by the first `append`.
    pub fn open(path: impl Into<PathBuf>, log_name: &str) -> Result<Self, AuditError> {
        line::check_log_name(log_name)?;
        Ok(AuditLog {
            path: path.into(),
            log_name: log_name.to_owned(),
            tail_bytes_read: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn log_name(&self) -> &str {
        &self.log_name
    }

    /// Bytes of the log read by the last `append`, `repair` or `head` call — evidence that
    /// appending reads only the tail.
    pub fn tail_bytes_read(&self) -> u64 {
        self.tail_bytes_read
    }

    /// Append one event (`fields` must be a JSON object or null) stamped `ts` (RFC 3339 UTC)
    /// and return the new head. A torn tail is repaired first (see the module docs); a
    /// tampered tail is refused with nothing written. Arguments are checked before the log is
    /// touched.
    pub fn append(&mut self, event: &str, fields: Value, ts: &str) -> Result<Head, AuditError> {
        let body = line::encode_body(event, &fields, ts)?;
        let mut file = self.open_locked()?;
        let (head, _) = self.prepare(&mut file, ts)?;
        crate::fault::step("audit-append");
        let appended = self.write_line(&mut file, head, &body)?;
        crate::fault::step("audit-appended");
        Ok(appended)
    }

    /// Append several events, all stamped `ts`, as one write and one fsync under one lock,
    /// and return the new head. Either every line is written or (on an error before the write)
    /// none; a crash during the write leaves a torn tail that the next append repairs, so the
    /// lines that made it stay a valid prefix. Cleanup logs thousands of decisions this way:
    /// one fsync per line would cost more than the deletions themselves.
    pub fn append_many(&mut self, events: &[(&str, Value)], ts: &str) -> Result<Head, AuditError> {
        let bodies = events
            .iter()
            .map(|(event, fields)| line::encode_body(event, fields, ts))
            .collect::<Result<Vec<_>, _>>()?;
        let mut file = self.open_locked()?;
        let (head, _) = self.prepare(&mut file, ts)?;
        self.write_lines(&mut file, head, &bodies)
    }

    /// Repair a torn tail without appending anything else; `None` when there was nothing to
    /// repair. `ts` stamps the `log_repaired` event.
    pub fn repair(&mut self, ts: &str) -> Result<Option<Repaired>, AuditError> {
        line::encode_body(LOG_REPAIRED, &Value::Null, ts)?;
        let mut file = self.open_locked()?;
        Ok(self.prepare(&mut file, ts)?.1)
    }

    /// The head of the log's complete lines, checked like `append` checks it, without writing
    /// (a torn tail is ignored, not repaired). Holds a shared lock while reading.
    pub fn head(&mut self) -> Result<Head, AuditError> {
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Head::empty(&self.log_name));
            }
            Err(e) => return Err(self.io("open", e)),
        };
        file.lock_shared().map_err(|e| self.io("lock", e))?;
        let tail = self.read_tail(&mut file)?;
        self.check_tail(&tail)
    }

    /// Open for append (creating the file and its folder), then wait for the exclusive lock.
    fn open_locked(&self) -> Result<File, AuditError> {
        if let Some(dir) = parent(&self.path) {
            fs::create_dir_all(dir).map_err(|e| self.io("create the folder of", e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&self.path)
            .map_err(|e| self.io("open", e))?;
        file.lock().map_err(|e| self.io("lock", e))?;
        Ok(file)
    }

    /// Check the tail, then repair a torn write; returns the head to append after.
    fn prepare(
        &mut self,
        file: &mut File,
        ts: &str,
    ) -> Result<(Head, Option<Repaired>), AuditError> {
        let len = file.metadata().map_err(|e| self.io("stat", e))?.len();
        let tail = self.read_tail(file)?;
        // Refuse before changing anything: a tampered log is left exactly as found.
        let head = self.check_tail(&tail)?;
        if tail.complete_len == len {
            return Ok((head, None));
        }
        let torn_file = self.move_aside(file, tail.complete_len, len)?;
        let name = torn_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let torn_bytes = len - tail.complete_len;
        let body = line::encode_body(
            LOG_REPAIRED,
            &json!({ "torn_file": name, "torn_bytes": torn_bytes }),
            ts,
        )?;
        let head = self.write_line(file, head, &body)?;
        Ok((
            head,
            Some(Repaired {
                torn_file,
                torn_bytes,
                head,
            }),
        ))
    }

    fn read_tail(&mut self, file: &mut File) -> Result<Tail, AuditError> {
        let len = file.metadata().map_err(|e| self.io("stat", e))?.len();
        let mut counted = Counted::new(file);
        let tail = read_tail(&mut counted, len);
        self.tail_bytes_read = counted.bytes_read;
        tail.map_err(|e| match e {
            TailError::Io(e) => self.io("read", e),
            TailError::TooLong { offset } => self.tampered(
                offset,
                None,
                format!("a line is longer than {} bytes", line::MAX_LINE_BYTES),
            ),
        })
    }

    /// The head after the last complete line, if that line chains to the one before it.
    fn check_tail(&self, tail: &Tail) -> Result<Head, AuditError> {
        let Some(last) = &tail.last else {
            return Ok(Head::empty(&self.log_name));
        };
        let env = self.parse(last)?;
        let (want_seq, want_prev) = match &tail.before_last {
            Some(before) => {
                let prior = self.parse(before)?;
                (prior.seq.checked_add(1), LineHash::of(&before.bytes))
            }
            None => (Some(1), LineHash::genesis(&self.log_name)),
        };
        if Some(env.seq) != want_seq {
            return Err(self.tampered(
                last.offset,
                Some(env.seq),
                format!(
                    "the last line has seq {} but the line before it has seq {}",
                    env.seq,
                    want_seq.map_or(u64::MAX, |s| s.wrapping_sub(1))
                ),
            ));
        }
        if env.prev != want_prev {
            let what = if tail.before_last.is_some() {
                "the hash of the line before it"
            } else {
                "this log's genesis"
            };
            return Err(self.tampered(
                last.offset,
                Some(env.seq),
                format!("the last line's prev is not {what}"),
            ));
        }
        Ok(Head {
            seq: env.seq,
            hash: LineHash::of(&last.bytes),
        })
    }

    fn parse(&self, line: &TailLine) -> Result<line::Envelope, AuditError> {
        let without_nl = line.bytes.strip_suffix(b"\n").unwrap_or(&line.bytes);
        parse_line(without_nl).map_err(|why| {
            self.tampered(
                line.offset,
                None,
                format!("a line is not an audit line: {why}"),
            )
        })
    }

    /// Copy `[from, len)` into a fresh `<log>.torn-<n>`, make it durable, then cut the log.
    fn move_aside(&self, file: &mut File, from: u64, len: u64) -> Result<PathBuf, AuditError> {
        let (torn_path, mut torn) = self.create_torn_file()?;
        let copy = (|| {
            file.seek(SeekFrom::Start(from))?;
            let copied = io::copy(&mut io::Read::take(&mut *file, len - from), &mut torn)?;
            if copied != len - from {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the log shrank while locked",
                ));
            }
            torn.sync_all()
        })();
        copy.map_err(|e| AuditError::Io {
            action: "save the torn tail into",
            path: torn_path.clone(),
            source: e,
        })?;
        sync_dir(parent(&self.path)).map_err(|e| self.io("sync the folder of", e))?;
        // Only now that the bytes are safe elsewhere may they leave the log.
        file.set_len(from).map_err(|e| self.io("truncate", e))?;
        file.sync_all().map_err(|e| self.io("sync", e))?;
        Ok(torn_path)
    }

    fn create_torn_file(&self) -> Result<(PathBuf, File), AuditError> {
        let base = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "audit.jsonl".into());
        for n in 1..=MAX_TORN_FILES {
            let candidate = self.path.with_file_name(format!("{base}.torn-{n}"));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&candidate)
            {
                Ok(f) => return Ok((candidate, f)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(AuditError::Io {
                        action: "create",
                        path: candidate,
                        source: e,
                    });
                }
            }
        }
        Err(self.io(
            "find a free .torn-<n> name next to",
            io::Error::other(format!("{MAX_TORN_FILES} torn files already exist")),
        ))
    }

    /// Write the line after `head` in one `write_all`, fsync, and return the new head.
    fn write_line(&self, file: &mut File, head: Head, body: &[u8]) -> Result<Head, AuditError> {
        self.write_lines(file, head, &[body])
    }

    /// Chain `bodies` onto `head` and append them with one write and one fsync (and, for the
    /// log's first line, an fsync of its folder and the folder's parent, so the new file's
    /// name survives a crash too). Nothing is written for no bodies.
    fn write_lines(
        &self,
        file: &mut File,
        mut head: Head,
        bodies: &[impl AsRef<[u8]>],
    ) -> Result<Head, AuditError> {
        if bodies.is_empty() {
            return Ok(head);
        }
        let first_seq = head.seq;
        let mut bytes = Vec::with_capacity(bodies.iter().map(|b| b.as_ref().len() + 96).sum());
        for body in bodies {
            let seq = head.seq.checked_add(1).ok_or_else(|| {
                self.tampered(0, Some(head.seq), "seq cannot grow past u64::MAX".into())
            })?;
            let line = line::assemble(seq, &head.hash, body.as_ref())?;
            head = Head {
                seq,
                hash: LineHash::of(&line),
            };
            bytes.extend_from_slice(&line);
        }
        file.write_all(&bytes)
            .map_err(|e| self.io("append to", e))?;
        file.sync_all().map_err(|e| self.io("sync", e))?;
        if first_seq == 0 {
            let dir = parent(&self.path);
            sync_dir(dir).map_err(|e| self.io("sync the folder of", e))?;
            sync_dir(dir.and_then(parent)).map_err(|e| self.io("sync the folder of", e))?;
        }
        Ok(head)
    }

    fn io(&self, action: &'static str, source: io::Error) -> AuditError {
        AuditError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }

    fn tampered(&self, offset: u64, seq: Option<u64>, reason: String) -> AuditError {
        AuditError::Tampered {
            path: self.path.clone(),
            offset,
            seq,
            reason,
        }
    }
}

/// The folder holding `path`; `None` for a bare file name (the current folder).
fn parent(path: &Path) -> Option<&Path> {
    path.parent().filter(|p| !p.as_os_str().is_empty())
}

/// fsync a folder so a file created or renamed in it survives a crash.
fn sync_dir(dir: Option<&Path>) -> io::Result<()> {
    File::open(dir.unwrap_or(Path::new(".")))?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::super::verify;
    use super::*;

    const TS: &str = "2026-11-24T10:15:00Z";

    fn log_in(dir: &tempfile::TempDir) -> AuditLog {
        AuditLog::open(dir.path().join("audit/runs.jsonl"), "implementer_runs").unwrap()
    }

    #[test]
    fn first_append_creates_folder_and_chains_from_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_in(&dir);
        assert_eq!(log.head().unwrap(), Head::empty("implementer_runs"));
        let h1 = log
            .append("run_started", json!({"run_id": "r1"}), TS)
            .unwrap();
        let bytes = fs::read(log.path()).unwrap();
        assert_eq!(
            h1,
            Head {
                seq: 1,
                hash: LineHash::of(&bytes)
            }
        );
        let h2 = log.append("run_succeeded", Value::Null, TS).unwrap();
        assert_eq!(h2.seq, 2);
        assert_eq!(log.head().unwrap(), h2);
        let text = fs::read_to_string(log.path()).unwrap();
        assert!(text.lines().nth(1).unwrap().contains(&h1.hash.to_string()));
    }

    #[test]
    fn bad_arguments_leave_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_in(&dir);
        assert!(log.append("x", json!({"ts": 1}), TS).is_err());
        assert!(log.append("x", json!({}), "yesterday").is_err());
        assert!(!log.path().exists());
        assert!(AuditLog::open("x", "bad name").is_err());
    }

    #[test]
    fn repair_moves_torn_bytes_aside_and_logs_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_in(&dir);
        log.append("a", Value::Null, TS).unwrap();
        assert_eq!(log.repair(TS).unwrap(), None);
        let mut f = OpenOptions::new().append(true).open(log.path()).unwrap();
        f.write_all(b"{\"seq\":2,\"pr").unwrap();
        let r = log.repair(TS).unwrap().unwrap();
        assert_eq!(r.torn_bytes, 12);
        assert_eq!(fs::read(&r.torn_file).unwrap(), b"{\"seq\":2,\"pr");
        assert!(r.torn_file.ends_with("runs.jsonl.torn-1"));
        assert_eq!(r.head.seq, 2);
        let report = verify::verify(log.path(), "implementer_runs").unwrap();
        assert!(report.ok, "{report:?}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Whatever the file holds, append either refuses (leaving it as it was) or leaves a
        /// tail that chains.
        #[test]
        fn append_never_panics_on_arbitrary_files(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let mut log = log_in(&dir);
            fs::create_dir_all(log.path().parent().unwrap()).unwrap();
            fs::write(log.path(), &bytes).unwrap();
            match log.append("a", Value::Null, TS) {
                Ok(head) => proptest::prop_assert_eq!(log.head().unwrap(), head),
                Err(AuditError::Tampered { .. }) => {
                    proptest::prop_assert_eq!(fs::read(log.path()).unwrap(), bytes);
                }
                Err(e) => proptest::prop_assert!(false, "{e}"),
            }
        }
    }

    #[test]
    fn append_many_chains_like_single_appends() {
        let dir = tempfile::tempdir().unwrap();
        let mut one = log_in(&dir);
        let other = tempfile::tempdir().unwrap();
        let mut many = log_in(&other);
        let events: Vec<(&str, Value)> = (0..5).map(|i| ("e", json!({ "i": i }))).collect();
        for (e, f) in &events {
            one.append(e, f.clone(), TS).unwrap();
        }
        let head = many.append_many(&events, TS).unwrap();
        assert_eq!(head.seq, 5);
        assert_eq!(
            fs::read(one.path()).unwrap(),
            fs::read(many.path()).unwrap()
        );
        assert_eq!(many.append_many(&[], TS).unwrap(), head);
        assert!(many.append_many(&[("Bad", Value::Null)], TS).is_err());
        assert_eq!(many.head().unwrap(), head);
    }

    #[test]
    fn tampered_tail_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = log_in(&dir);
        log.append("a", Value::Null, TS).unwrap();
        log.append("b", Value::Null, TS).unwrap();
        let mut text = fs::read_to_string(log.path()).unwrap();
        text = text.replacen("\"event\":\"b\"", "\"event\":\"c\"", 1);
        text = text.replacen("\"seq\":2", "\"seq\":3", 1);
        fs::write(log.path(), &text).unwrap();
        let err = log.append("d", Value::Null, TS).unwrap_err();
        assert!(
            matches!(err, AuditError::Tampered { seq: Some(3), .. }),
            "{err}"
        );
        assert!(err.to_string().contains("git microloop audit verify"));
        assert_eq!(fs::read_to_string(log.path()).unwrap(), text);
    }
}
