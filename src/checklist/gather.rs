//! Gathering the checklist's facts: from git (trailers, tasks.md at the run's base and at the
//! tip, the change's checklists) and, when they are here, from local files (summary.json and
//! the audit log).

use std::collections::BTreeMap;

use serde_json::Value;
use thiserror::Error;

use super::{
    ApprovalCheck, AuditTask, Facts, Local, PlanCheck, SummaryFacts, TaskCommit, unchecked_items,
};
use crate::audit::{log_name_of, read_shared, verify_source};
use crate::config::{Config, PlannerConfigFile};
use crate::git::{GitError, Repo, TrailerCommit};
use crate::ids::ChangeId;
use crate::plan::{Plan, Strategy};
use crate::planning::{TasksSource, plan_change};
use crate::run::Layout;
use crate::run::audit_events::task_completed_records;
use crate::run::locate::artifacts_dir;
use crate::tasks::{self, Task};

#[derive(Debug, Error)]
pub enum GatherError {
    #[error(transparent)]
    Git(#[from] GitError),
}

const SUMMARY_SCHEMA: &str = include_str!("../../docs/summary.schema.json");

/// The facts about `change` as of commit `tip`.
pub fn gather(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    tip: git2::Oid,
    run: Option<&str>,
    for_approval: bool,
    require_local: bool,
) -> Result<Facts, GatherError> {
    let commits = task_commits(repo, config, change, tip)?;
    let run_id = match run {
        Some(r) if r != "latest" => Some(r.to_string()),
        _ => commits.last().and_then(|c| c.run.clone()),
    };
    let ours: Vec<&TaskCommit> = commits
        .iter()
        .filter(|c| c.run.is_some() && c.run == run_id)
        .collect();
    let seed = ours.first().and_then(|c| c.seed.clone());
    let plan_hash = ours.first().and_then(|c| c.plan.clone());
    let mut facts = Facts {
        change: change.to_string(),
        run_id: run_id.clone(),
        plan: PlanCheck::Broken(vec!["no run to check".into()]),
        expected: Vec::new(),
        seed: seed.clone(),
        plan_hash: plan_hash.clone(),
        commits: commits.clone(),
        summary: Local::Absent("no run".into()),
        audit_tasks: Local::Absent("no run".into()),
        audit_chain: Local::Absent("no audit log".into()),
        unchecked: speckit_unchecked(repo, config, change, tip)?,
        approvals: Local::Absent("no run".into()),
        for_approval,
        require_local,
    };
    let (Some(run_id), Some(first)) = (run_id, ours.first()) else {
        return Ok(facts);
    };
    let base = repo
        .trailer_commit(&first.commit)
        .and_then(|c| c.parent)
        .unwrap_or(tip);
    let run_tasks: Vec<String> = ours.iter().map(|c| c.task.clone()).collect();
    let (plan, expected) = check_plan(
        repo, config, change, base, tip, &seed, &plan_hash, &run_tasks,
    );
    facts.plan = plan;
    facts.expected = expected;
    facts.summary = summary_facts(repo, config, change, &run_id);
    if for_approval {
        facts.approvals = match &facts.summary {
            // Approvals are local records, like the summary: where it is, they are too.
            Local::Present(_) => Local::Present(approval_check(repo, config, change, &run_id)),
            Local::Absent(why) => Local::Absent(why.clone()),
        };
    }
    let (events, chain) = audit_facts(repo, config, &run_id);
    facts.audit_tasks = events;
    facts.audit_chain = chain;
    Ok(facts)
}

/// Micro-task commits between the change's base branch and `tip`, oldest first.
fn task_commits(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    tip: git2::Oid,
) -> Result<Vec<TaskCommit>, GatherError> {
    let candidates: Vec<&str> = match config.change.base.as_deref() {
        Some(b) => vec![b],
        None => vec!["main", "master", "trunk"],
    };
    let base = candidates
        .iter()
        .find_map(|b| repo.branch_or_remote(b))
        .filter(|b| *b != tip);
    let range = match base {
        Some(b) => format!("{b}..{tip}"),
        None => tip.to_string(),
    };
    let mut log: Vec<TrailerCommit> = repo.log(&range, None)?;
    log.reverse();
    Ok(log
        .into_iter()
        .filter(|c| {
            c.trailer("Microloop-Change")
                .is_none_or(|ch| ch == change.as_str())
        })
        .filter_map(|c| {
            Some(TaskCommit {
                task: c.trailer("Microloop-Task")?.to_string(),
                run: c.trailer("Microloop-Run").map(str::to_string),
                seed: c.trailer("Microloop-Seed").map(str::to_string),
                plan: c.trailer("Microloop-Plan").map(str::to_string),
                qa: c.trailer("Microloop-QA").map(str::to_string),
                commit: c.oid.to_string(),
            })
        })
        .collect())
}

/// Re-derive the plan at the run's base with its seed (trying each strategy, since trailers do
/// not name it), then compare tasks.md at the tip with the base beyond the run's own ticks.
#[allow(clippy::too_many_arguments)]
fn check_plan(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    base: git2::Oid,
    tip: git2::Oid,
    seed: &Option<String>,
    recorded: &Option<String>,
    run_tasks: &[String],
) -> (PlanCheck, Vec<String>) {
    let Some(seed) = seed.as_deref().and_then(|s| s.parse::<u64>().ok()) else {
        return (
            PlanCheck::Broken(vec!["the run's commits carry no seed".into()]),
            Vec::new(),
        );
    };
    let mut first: Option<Plan> = None;
    for strategy in Strategy::ALL {
        let cli = PlannerConfigFile {
            seed: Some(seed),
            strategy: Some(strategy),
        };
        match plan_change(repo, config, change, cli, TasksSource::Commit(base)) {
            Ok(p) => {
                if Some(p.plan.plan_hash.as_str()) == recorded.as_deref() {
                    let expected = p.plan.to_execute().map(|t| t.task.key.clone()).collect();
                    // The plan holds tasks.md at the base, parsed (unless it fell back to
                    // one task per file): no need to parse it again.
                    let before = p
                        .plan
                        .fallback
                        .is_none()
                        .then(|| p.plan.tasks.into_iter().map(|t| t.task).collect());
                    return (
                        tip_changes(repo, config, change, (base, before), tip, run_tasks),
                        expected,
                    );
                }
                first.get_or_insert(p.plan);
            }
            Err(e) => return (PlanCheck::Broken(vec![e.to_string()]), Vec::new()),
        }
    }
    let derived = first
        .as_ref()
        .map_or(String::new(), |p| p.plan_hash.to_string());
    let expected = first
        .map(|p| p.to_execute().map(|t| t.task.key.clone()).collect())
        .unwrap_or_default();
    (
        PlanCheck::NotReproduced {
            recorded: recorded.clone().unwrap_or_default(),
            derived,
        },
        expected,
    )
}

/// Tasks of tasks.md at `tip` that differ from `base` other than by the run's ticks (`parsed`:
/// tasks.md at `base` when the caller already has it).
fn tip_changes(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    (base, parsed): (git2::Oid, Option<Vec<Task>>),
    tip: git2::Oid,
    run_tasks: &[String],
) -> PlanCheck {
    let path = config.paths.tasks.for_change(change);
    let parse = |commit| -> Vec<Task> {
        repo.blob_at(commit, &path)
            .ok()
            .flatten()
            .map(|b| tasks::parse(&String::from_utf8_lossy(&b), &path).tasks)
            .unwrap_or_default()
    };
    let before = parsed.unwrap_or_else(|| parse(base));
    let after = parse(tip);
    let index = |v: Vec<Task>| -> BTreeMap<String, Task> {
        v.into_iter().map(|t| (t.key.clone(), t)).collect()
    };
    let (before, after) = (index(before), index(after));
    let ticked_by_run: std::collections::BTreeSet<&str> =
        run_tasks.iter().map(String::as_str).collect();
    let mut changed = Vec::new();
    for (key, b) in &before {
        match after.get(key) {
            None => changed.push(format!("{key} (removed)")),
            Some(a) => {
                let ticked = ticked_by_run.contains(key.as_str());
                let same = a.title == b.title
                    && a.text == b.text
                    && a.depends_on == b.depends_on
                    && a.parallel == b.parallel
                    && a.phase == b.phase
                    && (a.status == b.status || ticked);
                if !same {
                    changed.push(format!("{key} (changed)"));
                }
            }
        }
    }
    changed.extend(
        after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .map(|k| format!("{k} (added)")),
    );
    if changed.is_empty() {
        PlanCheck::Reproduced
    } else {
        PlanCheck::Changed(changed)
    }
}

fn summary_facts(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    run_id: &str,
) -> Local<SummaryFacts> {
    let Some(run) = crate::ids::RunId::parse(run_id) else {
        return Local::Absent(format!("{run_id:?} is not a run id"));
    };
    // Where the configuration puts it; the run's state (a larger file) only when the
    // configuration has moved the artifacts folder since the run.
    let mut path = artifacts_dir(repo, config, change, run.as_str()).join("summary.json");
    if !path.exists() {
        let Ok(state) = Layout::new(repo.common_dir()).load(change, &run) else {
            return Local::Absent(format!("no local record of {run_id}"));
        };
        path = state.artifacts.join("summary.json");
    }
    let Ok(bytes) = std::fs::read(&path) else {
        return Local::Absent(format!("{} not found", path.display()));
    };
    let value: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return Local::Present(SummaryFacts {
                status: String::new(),
                schema_errors: vec![format!("not JSON: {e}")],
                plan_hash: String::new(),
                seed: 0,
                done: Vec::new(),
            });
        }
    };
    let schema_errors = match serde_json::from_str::<Value>(SUMMARY_SCHEMA)
        .ok()
        .and_then(|s| jsonschema::validator_for(&s).ok())
    {
        Some(v) => v.iter_errors(&value).map(|e| e.to_string()).collect(),
        None => vec!["the summary schema could not be loaded".into()],
    };
    let s = |k: &str| value[k].as_str().unwrap_or_default().to_string();
    let done = value["tasks"]
        .as_array()
        .map(|tasks| {
            tasks
                .iter()
                .filter(|t| t["status"] == "done")
                .map(|t| {
                    (
                        t["task_id"].as_str().unwrap_or_default().to_string(),
                        t["commit"].as_str().map(str::to_string),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    Local::Present(SummaryFacts {
        status: s("status"),
        schema_errors,
        plan_hash: s("plan_hash"),
        seed: value["seed"].as_u64().unwrap_or_default(),
        done,
    })
}

fn approval_check(repo: &Repo, config: &Config, change: &ChangeId, run_id: &str) -> ApprovalCheck {
    let Some(retention) = &config.retention else {
        return ApprovalCheck::NoPolicy;
    };
    let policy = crate::retention::Policy::from_config(retention);
    match crate::retention::load_ledger(repo, config) {
        Ok(mut ledger) => {
            let run = ledger
                .remove(&(change.to_string(), run_id.to_string()))
                .unwrap_or_default();
            ApprovalCheck::Checked {
                required: policy.required.clone(),
                missing: crate::retention::record::missing(&policy, &run),
            }
        }
        Err(e) => ApprovalCheck::Broken(e.to_string()),
    }
}

type AuditFacts = (Local<Vec<AuditTask>>, Local<Result<(), String>>);

fn audit_facts(repo: &Repo, config: &Config, run_id: &str) -> AuditFacts {
    let path = repo
        .main_root()
        .join(config.paths.implementer_audit.as_str());
    // One snapshot, read once: the records come from the same bytes whose chain is verified.
    let bytes = read_shared(&path).ok();
    let Some(text) = bytes.as_deref().and_then(|b| std::str::from_utf8(b).ok()) else {
        let why = format!("{} not found", path.display());
        return (Local::Absent(why.clone()), Local::Absent(why));
    };
    let events = task_completed_records(text, run_id)
        .map(|v| AuditTask {
            task_id: v["task_id"].as_str().unwrap_or_default().to_string(),
            complete_fields: ["task_id", "duration_ms", "files_touched", "qa_result"]
                .iter()
                .all(|k| v.get(*k).is_some()),
            qa_result: v["qa_result"].as_str().unwrap_or_default().to_string(),
        })
        .collect();
    let name = log_name_of(&path);
    let chain = match verify_source(std::io::Cursor::new(text), &name, &[]) {
        Ok(r) if r.ok => Ok(()),
        Ok(r) => Err(r.failure.map_or("the chain does not hold".into(), |f| {
            format!("line {}: {} ({})", f.line, f.kind.as_str(), f.detail)
        })),
        Err(e) => Err(e.to_string()),
    };
    (Local::Present(events), Local::Present(chain))
}

/// Unchecked items of the change's `checklists/*.md` at `tip` (from git, so it works anywhere).
fn speckit_unchecked(
    repo: &Repo,
    config: &Config,
    change: &ChangeId,
    tip: git2::Oid,
) -> Result<Vec<String>, GatherError> {
    let tasks_path = config.paths.tasks.for_change(change);
    let dir = match tasks_path.rsplit_once('/') {
        Some((d, _)) => format!("{d}/checklists"),
        None => "checklists".to_string(),
    };
    let mut out = Vec::new();
    for (name, bytes) in repo.files_in(tip, &dir)? {
        if !name.ends_with(".md") {
            continue;
        }
        for (line, text) in unchecked_items(&String::from_utf8_lossy(&bytes)) {
            out.push(format!("{dir}/{name}:{line}: {text}"));
        }
    }
    Ok(out)
}
