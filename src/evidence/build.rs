//! Building a run's `Summary` from its saved state and plan. Pure: the caller reads the state
//! and writes the file.

use super::summary::{
    AuditAnchor, Progress, QaSummary, Retention, SUMMARY_SCHEMA, Summary, TaskSummary, Totals,
};
use crate::run::{RunState, RunStatus, TaskStatus};

/// The summary of `state`, its run branch at `head`.
pub fn summarize(
    state: &RunState,
    head: Option<String>,
    anchor: Option<AuditAnchor>,
    retention: Retention,
    approvals: Vec<super::summary::Approval>,
) -> Summary {
    let tasks: Vec<TaskSummary> = state
        .tasks
        .iter()
        .map(|t| TaskSummary {
            task_id: t.key.clone(),
            title: t.title.clone(),
            status: task_status(t.status).to_string(),
            commit: t.commit.clone(),
            duration_ms: t.duration_ms,
            files_touched: t.files_touched.clone(),
            lines_added: t.lines_added,
            lines_removed: t.lines_removed,
            qa_result: t.qa_result.clone(),
            qa: t
                .qa
                .iter()
                .map(|q| QaSummary {
                    name: q.name.clone(),
                    result: q.result.clone(),
                    duration_ms: q.duration_ms,
                    log: q.log.as_path().into(),
                })
                .collect(),
            attempts: t.attempts,
        })
        .collect();
    let count = |s: TaskStatus| state.tasks.iter().filter(|t| t.status == s).count() as u32;
    let mut files: Vec<&crate::paths::BytePath> =
        state.tasks.iter().flat_map(|t| &t.files_touched).collect();
    files.sort();
    files.dedup();
    let totals = Totals {
        tasks: state.tasks.len() as u32,
        done: count(TaskStatus::Done),
        skipped: count(TaskStatus::Skipped),
        failed: count(TaskStatus::Failed),
        files_touched: files.len() as u32,
        lines_added: state.tasks.iter().map(|t| t.lines_added).sum(),
        lines_removed: state.tasks.iter().map(|t| t.lines_removed).sum(),
        duration_ms: state.tasks.iter().filter_map(|t| t.duration_ms).sum(),
    };
    Summary {
        schema_version: SUMMARY_SCHEMA,
        change: state.change.to_string(),
        run_id: state.run_id.to_string(),
        status: state.status.as_str().to_string(),
        seed: state.seed,
        strategy: state.strategy.to_string(),
        planner_version: state.planner_version,
        plan_hash: state.plan_hash.to_string(),
        planner_fallback: state.planner_fallback.clone(),
        base_commit: state.base.clone(),
        head_commit: head,
        run_branch: state.run_branch.clone(),
        started_at: state.started_at.clone(),
        finished_at: state.finished_at.clone(),
        plan_progress: Progress {
            settled: state.plan_settled_before + totals.done + totals.skipped,
            total: state.plan_total.max(totals.tasks),
        },
        tasks,
        totals,
        retention: if retention.state.is_empty() {
            default_retention(state.status)
        } else {
            retention
        },
        approvals,
        audit_anchor: anchor,
    }
}

/// Until approvals and cleanup say otherwise: open runs are active, finished ones retained
/// (failed and aborted runs are kept for review; succeeded ones wait for their approvals).
fn default_retention(status: RunStatus) -> Retention {
    let (state, reason) = match status {
        RunStatus::Running | RunStatus::Paused => ("active", None),
        RunStatus::Failed => ("retained", Some("retained_failed")),
        RunStatus::Aborted => ("retained", Some("retained_aborted")),
        RunStatus::Succeeded => ("retained", Some("retained_pending_approval")),
    };
    Retention {
        state: state.to_string(),
        reason: reason.map(str::to_string),
        ..Retention::default()
    }
}

fn task_status(s: TaskStatus) -> &'static str {
    match s {
        TaskStatus::Pending => "pending",
        TaskStatus::Done => "done",
        TaskStatus::Skipped => "skipped",
        TaskStatus::Failed => "failed",
    }
}
