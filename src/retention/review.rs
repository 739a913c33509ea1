//! The review queue (seed FR-27: a marker, a failed run or a pending approval is not purged but
//! reviewed): `audit/retention_reviews.jsonl` beside the retention log, hash-chained like it
//! (log name `retention_reviews`), one `review_scheduled` line per (run, reason) — never twice —
//! with the date the review is due. People and tools read it; `git microloop audit verify`
//! checks it.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::decide::{Decision, Review};
use super::ledger::{REVIEW, with_run};
use super::policy::fmt_ts;

/// The queue's log name (its genesis).
pub const QUEUE_LOG: &str = "retention_reviews";

/// The queue sits beside the retention log: `<folder>/<stem>_reviews.jsonl`
/// (`audit/retention_reviews.jsonl` by default).
pub fn queue_path(retention_log: &Path) -> PathBuf {
    let stem = retention_log
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "retention".into());
    retention_log.with_file_name(format!("{stem}_reviews.jsonl"))
}

/// The queue entry for `review` of the run decided in `d`.
pub fn entry(
    d: &Decision,
    review: &Review,
    seed: Option<u64>,
    plan: Option<&str>,
) -> (&'static str, Value) {
    (
        REVIEW,
        with_run(
            &d.change,
            &d.run_id,
            seed,
            plan,
            json!({
                "reason": review.reason.as_str(),
                "due": fmt_ts(review.due),
                "state": d.state.as_str(),
                "detail": d.detail,
            }),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_sits_beside_the_retention_log() {
        assert_eq!(
            queue_path(Path::new("audit/retention.jsonl")),
            Path::new("audit/retention_reviews.jsonl")
        );
        assert_eq!(
            queue_path(Path::new("logs/keep.jsonl")),
            Path::new("logs/keep_reviews.jsonl")
        );
    }
}
