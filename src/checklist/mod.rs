//! The checklist (seed FR-29 acceptance criterion 4): is the change's latest run metadata
//! present and true before the change goes out? A pure evaluation over facts that the caller
//! gathers from git (trailers, tasks.md at the run's base) and from local files (summary.json,
//! audit log); items that need local files say "not available here" in a fresh clone unless
//! they are required.

mod gather;
pub mod push;
mod speckit;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::git::short_oid;

pub use gather::{GatherError, gather};
pub use speckit::unchecked_items;

/// One item's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// The facts are local (artifacts, audit log) and absent here, and not required.
    NotAvailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable identifier for machines: `plan`, `run`, `commits`, `audit_events`, `audit_chain`,
    /// `speckit_checklists`, `approvals`.
    pub id: &'static str,
    pub title: &'static str,
    pub outcome: Outcome,
    /// Why it failed (or why it is not available).
    pub why: Option<String>,
    /// How to fix it.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checklist {
    pub change: String,
    pub run_id: Option<String>,
    pub ok: bool,
    pub items: Vec<Item>,
}

impl Checklist {
    /// The ids of the items that fail.
    pub fn failing(&self) -> Vec<&'static str> {
        self.items
            .iter()
            .filter(|i| i.outcome == Outcome::Fail)
            .map(|i| i.id)
            .collect()
    }
}

/// Local facts: present, missing (and so failing when required), or not looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local<T> {
    Present(T),
    Absent(String),
}

/// A micro-task commit reachable from the change branch, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskCommit {
    pub commit: String,
    pub task: String,
    pub run: Option<String>,
    pub seed: Option<String>,
    pub plan: Option<String>,
    pub qa: Option<String>,
}

/// How the recorded plan hash compares with the plan re-derived from tasks.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanCheck {
    /// tasks.md at the run's base, with the recorded seed, reproduces the recorded hash, and
    /// tasks.md at the branch tip differs from it only by the run's own ticks.
    Reproduced,
    /// No strategy reproduces the recorded hash from tasks.md at the run's base.
    NotReproduced { recorded: String, derived: String },
    /// tasks.md was edited after the run (beyond its ticks): these tasks differ.
    Changed(Vec<String>),
    /// tasks.md cannot be parsed (diagnostics as `file:line: message`).
    Broken(Vec<String>),
}

/// What a run's summary.json says (when it is here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryFacts {
    pub status: String,
    pub schema_errors: Vec<String>,
    pub plan_hash: String,
    pub seed: u64,
    /// (task id, commit) of done tasks.
    pub done: Vec<(String, Option<String>)>,
}

/// One `task_completed` audit event of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditTask {
    pub task_id: String,
    pub complete_fields: bool,
    pub qa_result: String,
}

/// The approvals the retention policy requires for the run, from the retention audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalCheck {
    /// No `[retention]` section: no approval is required.
    NoPolicy,
    /// Required roles, and those of them without an approval.
    Checked {
        required: Vec<String>,
        missing: Vec<String>,
    },
    /// The retention log cannot be trusted (it does not verify) or read.
    Broken(String),
}

/// Everything the evaluation needs, gathered by `gather`.
#[derive(Debug, Clone)]
pub struct Facts {
    pub change: String,
    pub run_id: Option<String>,
    pub plan: PlanCheck,
    /// The run's planned open tasks, in plan order.
    pub expected: Vec<String>,
    /// The run's recorded seed and plan hash (from its commits' trailers).
    pub seed: Option<String>,
    pub plan_hash: Option<String>,
    pub commits: Vec<TaskCommit>,
    pub summary: Local<SummaryFacts>,
    pub audit_tasks: Local<Vec<AuditTask>>,
    pub audit_chain: Local<Result<(), String>>,
    /// Unchecked items of the change's checklists/*.md: `file:line: text`.
    pub unchecked: Vec<String>,
    /// Gathered with `--for-approval` only.
    pub approvals: Local<ApprovalCheck>,
    pub for_approval: bool,
    pub require_local: bool,
}

/// Evaluate every item.
pub fn evaluate(f: &Facts) -> Checklist {
    let items = vec![
        plan_item(f),
        run_item(f),
        commits_item(f),
        audit_events_item(f),
        audit_chain_item(f),
        speckit_item(f),
        approvals_item(f),
    ];
    let ok = items.iter().all(|i| i.outcome != Outcome::Fail);
    Checklist {
        change: f.change.clone(),
        run_id: f.run_id.clone(),
        ok,
        items,
    }
}

fn item(id: &'static str, title: &'static str) -> Item {
    Item {
        id,
        title,
        outcome: Outcome::Pass,
        why: None,
        fix: None,
    }
}

fn fail(mut i: Item, why: String, fix: &str) -> Item {
    i.outcome = Outcome::Fail;
    i.why = Some(why);
    i.fix = Some(fix.to_string());
    i
}

/// A local fact that is absent: fails when required, else "not available here".
fn absent(mut i: Item, why: &str, require_local: bool, fix: &str) -> Item {
    if require_local {
        return fail(i, why.to_string(), fix);
    }
    i.outcome = Outcome::NotAvailable;
    i.why = Some(format!("{why} (local data; not available here)"));
    i
}

const RERUN: &str = "run the change again: git microloop run";

fn plan_item(f: &Facts) -> Item {
    let i = item("plan", "tasks.md reproduces the run's plan hash");
    match (&f.run_id, &f.plan) {
        (None, _) => fail(
            i,
            "no micro-task commit of a run is on this branch".into(),
            RERUN,
        ),
        (_, PlanCheck::Reproduced) => i,
        (_, PlanCheck::NotReproduced { recorded, derived }) => fail(
            i,
            format!(
                "the recorded plan {recorded} is not reproduced (tasks.md at the run's base gives {derived})"
            ),
            RERUN,
        ),
        (_, PlanCheck::Changed(tasks)) => fail(
            i,
            format!("tasks.md changed since the run: {}", tasks.join(", ")),
            "run the change again so the new tasks are planned and committed: git microloop run",
        ),
        (_, PlanCheck::Broken(diags)) => fail(
            i,
            format!("tasks.md cannot be parsed: {}", diags.join("; ")),
            "fix tasks.md (git microloop plan shows the problems)",
        ),
    }
}

fn run_item(f: &Facts) -> Item {
    let i = item(
        "run",
        "the latest run's summary.json is present, valid and succeeded",
    );
    match &f.summary {
        Local::Absent(why) => absent(i, why, f.require_local, RERUN),
        Local::Present(s) if !s.schema_errors.is_empty() => fail(
            i,
            format!("summary.json is not valid: {}", s.schema_errors.join("; ")),
            RERUN,
        ),
        Local::Present(s) if s.status != "succeeded" => fail(
            i,
            format!("the run's status is {}", s.status),
            "finish it (git microloop continue) or run again",
        ),
        Local::Present(s) if Some(&s.plan_hash) != f.plan_hash.as_ref() => fail(
            i,
            format!(
                "summary.json names plan {} but the commits carry {}",
                s.plan_hash,
                f.plan_hash.as_deref().unwrap_or("none")
            ),
            RERUN,
        ),
        Local::Present(_) => i,
    }
}

fn commits_item(f: &Facts) -> Item {
    let i = item(
        "commits",
        "every planned task has exactly one commit with matching trailers, in plan order",
    );
    let Some(run) = &f.run_id else {
        return fail(i, "no run's commits on this branch".into(), RERUN);
    };
    let ours: Vec<&TaskCommit> = f
        .commits
        .iter()
        .filter(|c| c.run.as_deref() == Some(run.as_str()))
        .collect();
    let mut problems = Vec::new();
    // Maps and sets keep this linear: a change of thousands of tasks is checked on every push.
    let mut per_task: BTreeMap<&str, usize> = BTreeMap::new();
    for c in &f.commits {
        *per_task.entry(c.task.as_str()).or_default() += 1;
    }
    for task in &f.expected {
        let n = per_task.get(task.as_str()).copied().unwrap_or(0);
        match n {
            0 => problems.push(format!("{task} has no commit")),
            1 => {}
            n => problems.push(format!("{task} has {n} commits")),
        }
    }
    for c in &ours {
        if c.seed != f.seed || c.plan != f.plan_hash {
            problems.push(format!(
                "{} ({}) carries another seed or plan hash than the run",
                c.task,
                short_oid(&c.commit)
            ));
        }
    }
    // Commits without our trailers in the middle of the run (an amend that dropped them) show
    // up as a task without its commit above; order is checked on the run's own commits.
    let order: Vec<&str> = ours.iter().map(|c| c.task.as_str()).collect();
    let committed: BTreeSet<&str> = order.iter().copied().collect();
    let planned: Vec<&str> = f
        .expected
        .iter()
        .map(String::as_str)
        .filter(|t| committed.contains(t))
        .collect();
    if problems.is_empty() && order != planned {
        problems.push(format!(
            "commits are in the order {} but the plan says {}",
            order.join(", "),
            planned.join(", ")
        ));
    }
    if let Local::Present(s) = &f.summary {
        let ours_by_commit: BTreeSet<(&str, &str)> = ours
            .iter()
            .map(|o| (o.commit.as_str(), o.task.as_str()))
            .collect();
        for (task, commit) in &s.done {
            if let Some(c) = commit
                && !ours_by_commit.contains(&(c.as_str(), task.as_str()))
            {
                problems.push(format!(
                    "summary.json says {task} is {} but this branch has no such commit",
                    short_oid(c)
                ));
            }
        }
    }
    if problems.is_empty() {
        i
    } else {
        fail(i, problems.join("; "), RERUN)
    }
}

fn audit_events_item(f: &Facts) -> Item {
    let i = item(
        "audit_events",
        "every task has its task_completed audit event, with QA passed",
    );
    match &f.audit_tasks {
        Local::Absent(why) => absent(i, why, f.require_local, RERUN),
        Local::Present(events) => {
            let mut problems = Vec::new();
            for task in &f.expected {
                match events.iter().find(|e| &e.task_id == task) {
                    None => problems.push(format!("{task} has no task_completed event")),
                    Some(e) if !e.complete_fields => problems.push(format!(
                        "{task}'s event lacks duration_ms, files_touched or qa_result"
                    )),
                    Some(e) if e.qa_result == "fail" => {
                        problems.push(format!("{task}'s QA failed"))
                    }
                    Some(_) => {}
                }
            }
            if problems.is_empty() {
                i
            } else {
                fail(i, problems.join("; "), RERUN)
            }
        }
    }
}

fn audit_chain_item(f: &Facts) -> Item {
    let i = item("audit_chain", "the audit log's hash chain verifies");
    match &f.audit_chain {
        Local::Absent(why) => absent(i, why, f.require_local, RERUN),
        Local::Present(Ok(())) => i,
        Local::Present(Err(why)) => fail(
            i,
            why.clone(),
            "see git microloop audit verify; restore the log from a backup",
        ),
    }
}

fn speckit_item(f: &Facts) -> Item {
    let i = item(
        "speckit_checklists",
        "no unchecked items in the change's checklists/*.md",
    );
    if f.unchecked.is_empty() {
        i
    } else {
        fail(
            i,
            format!(
                "{} unchecked: {}",
                f.unchecked.len(),
                f.unchecked
                    .iter()
                    .take(5)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            "check the items off (or remove them) in the change's checklists",
        )
    }
}

fn approvals_item(f: &Facts) -> Item {
    let mut i = item("approvals", "the approvals the retention policy requires");
    if !f.for_approval {
        i.outcome = Outcome::NotAvailable;
        i.why = Some("only checked with --for-approval".into());
        return i;
    }
    let run = f.run_id.as_deref().unwrap_or("RUN");
    match &f.approvals {
        Local::Absent(why) => absent(i, why, f.require_local, RERUN),
        Local::Present(ApprovalCheck::NoPolicy) => i,
        Local::Present(ApprovalCheck::Checked { missing, .. }) if missing.is_empty() => i,
        Local::Present(ApprovalCheck::Checked { missing, .. }) => fail(
            i,
            format!("not approved yet by: {}", missing.join(", ")),
            &format!(
                "each role approves the run: git microloop approve {run} --role {}",
                missing[0]
            ),
        ),
        Local::Present(ApprovalCheck::Broken(why)) => fail(
            i,
            why.clone(),
            "see git microloop audit verify; restore the log from a backup",
        ),
    }
}

#[cfg(test)]
mod tests;
