//! What a run tells the audit log: each `Event` as zero or more `(event name, fields)` records.
//! Pure; the sink that appends them (hash-chained, fsynced) sits at the edge. Every record
//! carries `change`, `run_id`, `seed` and `plan_hash`; task records carry `task_id`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::events::Event;
use super::state::RunState;

/// Where audit records go. Returns the log's new head (sequence number and line hash).
pub trait AuditSink {
    fn record(&mut self, event: &str, fields: Value) -> Result<AuditHead, String>;

    /// Make sure the log can take records (repair a torn tail, refuse tampering) before a
    /// command starts changing things.
    fn check(&mut self) -> Result<(), String>;

    /// The tasks of `run_id` that already have their `task_completed` record. Recovery asks,
    /// so that a crash between a task's commit, its state save and its record neither loses
    /// the record nor writes it twice.
    fn completed_tasks(&mut self, run_id: &str) -> Result<BTreeSet<String>, String>;
}

/// The real sink: the hash-chained log, appended and fsynced before the run goes on.
impl AuditSink for crate::audit::AuditLog {
    fn record(&mut self, event: &str, fields: Value) -> Result<AuditHead, String> {
        let head = self
            .append(event, fields, &crate::clock::now_rfc3339())
            .map_err(|e| e.to_string())?;
        Ok(AuditHead {
            log: self.log_name().to_string(),
            seq: head.seq,
            hash: head.hash.to_string(),
        })
    }

    fn check(&mut self) -> Result<(), String> {
        // A torn tail from a crash is moved aside and a `log_repaired` event appended; a
        // tampered tail is refused before the run changes anything.
        self.repair(&crate::clock::now_rfc3339())
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn completed_tasks(&mut self, run_id: &str) -> Result<BTreeSet<String>, String> {
        let text = match std::fs::read(self.path()) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
            Err(e) => return Err(format!("reading {}: {e}", self.path().display())),
        };
        Ok(task_completed_records(&text, run_id)
            .filter_map(|v| v["task_id"].as_str().map(str::to_string))
            .collect())
    }
}

const TASK_COMPLETED: &str = "task_completed";

/// The `task_completed` records of `run_id` in an implementer audit log's text. Only those
/// lines are parsed: the substring tests are a cheap pre-filter, the parsed fields decide.
pub fn task_completed_records<'a>(
    text: &'a str,
    run_id: &'a str,
) -> impl Iterator<Item = Value> + 'a {
    text.lines()
        .filter(move |l| l.contains(TASK_COMPLETED) && l.contains(run_id))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(move |v| v["event"] == TASK_COMPLETED && v["run_id"] == run_id)
}

/// A log's head after an append: anchored in summary.json and in the record commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    pub log: String,
    pub seq: u64,
    pub hash: String,
}

/// The audit records for `e`.
pub fn records(e: &Event<'_>) -> Vec<(&'static str, Value)> {
    match e {
        Event::RunStarted { state, fallback } => {
            let mut out = vec![(
                "run_started",
                with_run(
                    state,
                    json!({
                        "status": state.status.as_str(),
                        "strategy": state.strategy.as_str(),
                        "base_commit": state.base,
                        "run_branch": state.run_branch,
                        "tasks": state.tasks.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
                        "max_attempts": state.max_attempts,
                    }),
                ),
            )];
            if *fallback {
                out.push((
                    "planner_fallback",
                    with_run(state, json!({ "reason": state.planner_fallback })),
                ));
            }
            out
        }
        Event::TaskStarted {
            state,
            key,
            attempt,
            ..
        } => vec![(
            "task_started",
            with_run(state, json!({ "task_id": key, "attempt": attempt })),
        )],
        Event::TaskCompleted {
            state,
            key,
            commit,
            duration_ms,
            files_touched,
            qa_result,
            attempts,
        } => vec![(
            "task_completed",
            with_run(
                state,
                json!({
                    "task_id": key,
                    "duration_ms": duration_ms,
                    "files_touched": files_touched,
                    "qa_result": qa_result,
                    "attempts": attempts,
                    "commit": commit,
                }),
            ),
        )],
        Event::TaskFailed {
            state,
            key,
            attempt,
            reason,
            last,
            log,
        } => vec![(
            "task_failed",
            with_run(
                state,
                json!({
                    "task_id": key,
                    "attempt": attempt,
                    "reason": reason,
                    "final": last,
                    "log": crate::paths::BytePath::from(&**log),
                }),
            ),
        )],
        Event::TaskSkipped { state, key } => {
            vec![("task_skipped", with_run(state, json!({ "task_id": key })))]
        }
        Event::Paused { state, key, .. } => {
            vec![("run_paused", with_run(state, json!({ "task_id": key })))]
        }
        Event::RunSucceeded { state } => vec![("run_succeeded", finished(state))],
        Event::RunFailed { state } => vec![("run_failed", finished(state))],
        Event::RunAborted { state } => vec![("run_aborted", finished(state))],
        Event::NotificationFailed {
            state,
            event,
            reason,
            log,
        } => vec![(
            "notification_failed",
            with_run(
                state,
                json!({ "notified_event": event, "reason": reason, "log": crate::paths::BytePath::from(log.as_path()) }),
            ),
        )],
        Event::Note(_) => Vec::new(),
    }
}

fn finished(state: &RunState) -> Value {
    let (settled, total) = state.counts();
    with_run(
        state,
        json!({
            "status": state.status.as_str(),
            "tasks_settled": settled,
            "tasks_total": total,
            "failure": state.failure,
            "note": state.finish_note,
        }),
    )
}

/// `fields` plus the run's identity.
fn with_run(state: &RunState, fields: Value) -> Value {
    let mut map = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    map.insert("change".into(), json!(state.change));
    map.insert("run_id".into(), json!(state.run_id));
    map.insert("seed".into(), json!(state.seed));
    map.insert("plan_hash".into(), json!(state.plan_hash));
    Value::Object(map)
}
