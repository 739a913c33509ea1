//! Evidence per task, written into the run's artifact folder for review (and for the evidence
//! and audit features to build on): files touched, per-file line counts, the unified diff,
//! duration, QA results, attempts and the commit.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::git::{CommitDiff, FileChange};
use crate::paths::BytePath;
use crate::store::{write_atomic, write_json};

/// One QA command's result for a task.
#[derive(Debug, Clone, Serialize)]
pub struct QaRecord {
    pub name: String,
    /// `pass`, `fail` or `skipped` (not run because an earlier required command failed).
    pub result: &'static str,
    pub required: bool,
    pub duration_ms: u64,
    pub outcome: String,
    #[serde(with = "crate::paths::json")]
    pub log: PathBuf,
}

/// What a completed task left behind: its facts, plus what its commit changed.
#[derive(Debug, Clone, Serialize)]
pub struct TaskEvidence<'a> {
    #[serde(flatten)]
    pub done: Completed<'a>,
    pub files_touched: Vec<BytePath>,
    pub lines_added: usize,
    pub lines_removed: usize,
    pub files: &'a [FileChange],
    #[serde(with = "crate::paths::json")]
    pub diff: PathBuf,
}

/// Folder names derived from task keys: keys are parser output, but a path is a path.
pub fn safe_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '#') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

pub fn evidence_dir(artifacts: &Path) -> PathBuf {
    artifacts.join("evidence")
}

/// A task's facts other than its diff.
#[derive(Debug, Clone, Serialize)]
pub struct Completed<'a> {
    #[serde(rename = "task_id")]
    pub key: &'a str,
    pub title: &'a str,
    pub commit: String,
    pub parent: String,
    pub duration_ms: Option<u64>,
    pub attempts: u32,
    pub qa_result: &'a str,
    pub qa: &'a [QaRecord],
}

/// Write `<artifacts>/evidence/<task>.json` and `<task>.diff`.
pub fn write_task_evidence(
    artifacts: &Path,
    done: Completed<'_>,
    diff: &CommitDiff,
) -> io::Result<PathBuf> {
    let dir = evidence_dir(artifacts);
    let name = safe_name(done.key);
    let diff_path = dir.join(format!("{name}.diff"));
    write_atomic(&diff_path, &diff.patch)?;
    let evidence = TaskEvidence {
        done,
        files_touched: diff.files.iter().map(FileChange::exact_path).collect(),
        lines_added: diff.files.iter().map(|f| f.added).sum(),
        lines_removed: diff.files.iter().map(|f| f.removed).sum(),
        files: &diff.files,
        diff: diff_path,
    };
    let path = dir.join(format!("{name}.json"));
    write_json(&path, &evidence)?;
    Ok(path)
}
