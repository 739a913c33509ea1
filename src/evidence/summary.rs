//! `summary.json`: the reviewable record of one run, written atomically at the end of every run
//! (success, failure, abort) and while it runs. Its JSON Schema is `docs/summary.schema.json`.

use serde::{Deserialize, Serialize};

use crate::paths::BytePath;

/// Bump when a field changes meaning or is removed; adding optional fields keeps the version.
pub const SUMMARY_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub schema_version: u32,
    pub change: String,
    pub run_id: String,
    /// `running`, `paused`, `failed`, `succeeded` or `aborted`.
    pub status: String,
    pub seed: u64,
    pub strategy: String,
    pub planner_version: u32,
    pub plan_hash: String,
    /// Set when the plan was decomposed by file (tasks.md missing or without tasks).
    pub planner_fallback: Option<String>,
    /// The change branch's commit the run started from, and the run branch's last commit.
    pub base_commit: String,
    pub head_commit: Option<String>,
    pub run_branch: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub tasks: Vec<TaskSummary>,
    pub totals: Totals,
    /// The change's whole plan: tasks settled (done or skipped, before or during this run).
    pub plan_progress: Progress,
    pub retention: Retention,
    pub approvals: Vec<Approval>,
    /// The implementer audit log's head when this summary was written (tail-cut detection).
    pub audit_anchor: Option<AuditAnchor>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSummary {
    pub task_id: String,
    pub title: String,
    /// `pending`, `done`, `skipped` or `failed`.
    pub status: String,
    pub commit: Option<String>,
    pub duration_ms: Option<u64>,
    pub files_touched: Vec<BytePath>,
    pub lines_added: u64,
    pub lines_removed: u64,
    /// `pass`, `fail`, `skipped` (no QA commands), or null when not run.
    pub qa_result: Option<String>,
    pub qa: Vec<QaSummary>,
    pub attempts: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaSummary {
    pub name: String,
    pub result: String,
    pub duration_ms: u64,
    pub log: BytePath,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    pub tasks: u32,
    pub done: u32,
    pub skipped: u32,
    pub failed: u32,
    pub files_touched: u32,
    pub lines_added: u64,
    pub lines_removed: u64,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    pub settled: u32,
    pub total: u32,
}

/// Retention state (filled in by approvals, markers and cleanup; a copy of what
/// `audit/retention.jsonl` records, which is the truth).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// `active`, `retained`, `eligible`, `purged`.
    pub state: String,
    /// The named reason (`retained_pending_approval`, `auto_success_ttl`, …).
    pub reason: Option<String>,
    /// The reason given with `git microloop retain`, while a marker is in force.
    pub marker: Option<String>,
    /// When the marker expires (RFC 3339), if it was set with `--until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marker_until: Option<String>,
    /// When the run became eligible (its last required approval, or its close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eligible_at: Option<String>,
    /// When an eligible run may be purged (`eligible_at` + `success_ttl`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purge_after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub role: String,
    pub by: String,
    pub at: String,
    pub note: Option<String>,
    pub decision: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    pub log: String,
    pub seq: u64,
    pub hash: String,
}
