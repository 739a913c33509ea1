//! Hash-chained JSONL audit logs (`audit/implementer_runs.jsonl`, `audit/retention.jsonl`):
//! the writer that appends one event per line, and `verify`, which checks a whole log. Which
//! events exist and which fields they carry is the caller's business; this module guarantees
//! that once a line is written, editing, deleting, reordering or inserting lines is detected.
//! It depends on nothing else in the crate.
//!
//! # Line format
//!
//! Every line is one compact JSON object (no spaces), UTF-8, ended by a single `\n`:
//!
//! ```text
//! {"seq":2,"prev":"sha256:<64 lowercase hex>","ts":"2026-11-24T10:15:00.123Z","event":"task_completed","attempts":1,...}
//! ```
//!
//! 1. `seq` — 1 on the first line, then +1 per line, no gaps.
//! 2. `prev` — `sha256:` and the lowercase hex SHA-256 of the **exact bytes of the previous
//!    line, its `\n` included**. On line 1 it is the SHA-256 of the ASCII bytes
//!    `git-microloop audit genesis <log name>` (no newline), the log name being the one the
//!    caller opens the log with (`implementer_runs`, `retention`): each log starts from its own
//!    value, so lines cannot be spliced from one log into the other.
//! 3. `ts` — RFC 3339 in UTC, `YYYY-MM-DDTHH:MM:SS[.1-9 digits]Z`, the caller's clock.
//! 4. `event` — the event name, `[a-z][a-z0-9_]*` (at most 64 bytes).
//! 5. The event's fields, keys sorted by byte order at every nesting level, values as
//!    `serde_json` writes them (strings JSON-escaped, non-ASCII kept as UTF-8, so a line never
//!    contains a raw newline). Fields may not be named `seq`, `prev`, `ts` or `event`.
//!
//! The envelope keys always come first and in that order, so `seq` and `prev` sit at fixed
//! places that a tool can read without a JSON parser. A line is at most `MAX_LINE_BYTES`.
//! The log's **head** is its last line's `seq` and the SHA-256 of that line's bytes (seq 0 and
//! the genesis hash for an empty log); the next line's `prev` is the head's hash. Callers
//! anchor the head (summary.json, a commit) so that cutting or rewriting the tail, which the
//! chain alone cannot reveal, is caught by `verify_with_anchors`.
//!
//! # Checking a log by hand
//!
//! `sed -n Np` prints line N with its `\n`, exactly the bytes that were hashed:
//!
//! ```text
//! printf '%s' 'git-microloop audit genesis implementer_runs' | sha256sum   # = line 1's prev
//! sed -n 7p audit/implementer_runs.jsonl | sha256sum                       # = line 8's prev
//! sed -n 8p audit/implementer_runs.jsonl | jq -r .prev
//! ```
//!
//! or the whole chain:
//!
//! ```text
//! prev=sha256:$(printf '%s' 'git-microloop audit genesis implementer_runs' | sha256sum | cut -c1-64)
//! n=0; while IFS= read -r line; do n=$((n+1))
//!   [ "$(printf '%s\n' "$line" | jq -r .prev)" = "$prev" ] || echo "chain breaks at line $n"
//!   prev=sha256:$(printf '%s\n' "$line" | sha256sum | cut -c1-64)
//! done < audit/implementer_runs.jsonl
//! ```
//!
//! # Writing and verifying
//!
//! `writer` explains locking (an exclusive `flock` on the log itself), durability (one write,
//! fsync, folder fsync on creation), torn-tail repair (moved to `<log>.torn-<n>`, then a
//! `log_repaired` event) and the refusal to append after a tampered tail. `verify` explains
//! exactly which line a failed verification names and what each `Tampering` class means.

mod line;
mod tail;
mod verify;
mod writer;

use std::io;
use std::path::PathBuf;

use thiserror::Error;

pub use line::{Head, LineHash, MAX_LINE_BYTES, ParseHashError, encode_line};
pub use verify::{
    AnchorResult, AnchorStatus, Failure, Tampering, VerifyReport, read_shared, verify,
    verify_anchor, verify_source, verify_with_anchors,
};
pub use writer::{AuditLog, LOG_REPAIRED, Repaired};

/// Everything that can go wrong writing or reading an audit log.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The end of the log does not chain: appending after it would bless the tampering.
    /// `offset` is the byte where the offending line starts and `seq` the seq it claims (when
    /// it parses); its line number would need a full read, which is `verify`'s job.
    #[error(
        "refusing to append to audit log {}: {reason} (line at byte {offset}); \
         run `git microloop audit verify {}` to find the first line that was changed",
        path.display(),
        path.display()
    )]
    Tampered {
        path: PathBuf,
        offset: u64,
        seq: Option<u64>,
        reason: String,
    },
    #[error("invalid audit log name {0:?}: use ASCII letters, digits, `_`, `-` or `.`")]
    BadLogName(String),
    #[error(
        "invalid audit event name {0:?}: a lowercase letter, then lowercase letters, digits or `_`"
    )]
    BadEventName(String),
    #[error("invalid audit timestamp {0:?}: expected RFC 3339 UTC like 2026-11-24T10:15:00.123Z")]
    BadTimestamp(String),
    #[error("invalid audit event fields: {0}")]
    BadFields(String),
    #[error("an audit line of {len} bytes is over the {max}-byte limit")]
    LineTooLong { len: usize, max: usize },
}

/// A log's name (which decides its genesis) is its file stem: `implementer_runs`, `retention`.
pub fn log_name_of(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
