//! The planner: from parsed tasks, a strategy and a seed to an ordered, hashed plan.
//!
//! Pure: same inputs ⇒ byte-identical `Plan` (and JSON) on every machine. The plan hash covers
//! everything that decides the plan — planner version, strategy, seed, fallback, and the
//! normalized task list — and nothing else (no line numbers, paths, timestamps or map order).

mod fallback;
mod hash;
mod order;
mod rng;
mod strategy;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub use fallback::{Fallback, decompose_by_file};
pub use hash::plan_hash;
pub use strategy::Strategy;

use crate::ids::{PlanHash, Seed};
use crate::tasks::{Status, Task};

/// Bump whenever ordering, the RNG, task normalization or the hashed form changes: plans made
/// by different versions must not share a hash.
pub const PLANNER_VERSION: u32 = 1;

/// An ordered plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub planner_version: u32,
    pub strategy: Strategy,
    pub seed: Seed,
    pub plan_hash: PlanHash,
    /// Set when tasks.md gave no tasks and the plan was decomposed by file instead.
    pub fallback: Option<Fallback>,
    pub tasks: Vec<PlannedTask>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedTask {
    /// 1-based position in the plan.
    pub position: u32,
    /// False for done and skipped tasks: they stay in the plan, marked, and are not executed.
    pub execute: bool,
    #[serde(flatten)]
    pub task: Task,
}

impl Plan {
    /// The tasks a run executes, in order.
    pub fn to_execute(&self) -> impl Iterator<Item = &PlannedTask> {
        self.tasks.iter().filter(|t| t.execute)
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum PlanError {
    /// Dependencies that loop. Each entry is a task key and the line it is declared on.
    #[error("dependency cycle: {}", render_cycle(.0))]
    Cycle(Vec<(String, u32)>),
}

fn render_cycle(cycle: &[(String, u32)]) -> String {
    let mut parts: Vec<String> = cycle
        .iter()
        .map(|(k, line)| format!("{k} (line {line})"))
        .collect();
    if let Some((first, _)) = cycle.first() {
        parts.push(first.clone());
    }
    parts.join(" → ")
}

/// Order `tasks` (in file order, as parsed) with `strategy` and `seed`.
pub fn build_plan(
    tasks: Vec<Task>,
    strategy: Strategy,
    seed: Seed,
    fallback: Option<Fallback>,
) -> Result<Plan, PlanError> {
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(tasks.len());
    index.extend(tasks.iter().enumerate().map(|(i, t)| (t.key.as_str(), i)));
    // Dependencies on keys that are not in the list were already reported by the parser.
    let deps: Vec<Vec<usize>> = tasks
        .iter()
        .map(|t| {
            t.depends_on
                .iter()
                .filter_map(|k| index.get(k.as_str()).copied())
                .collect()
        })
        .collect();
    let priority = priorities(&tasks, strategy);
    let mut order = order::skeleton(&deps, &priority).map_err(|cycle| {
        PlanError::Cycle(
            cycle
                .into_iter()
                .map(|i| (tasks[i].key.clone(), tasks[i].line_start))
                .collect(),
        )
    })?;
    if strategy == Strategy::SpecLike {
        order::shuffle_parallel_runs(&mut order, &parallel_groups(&tasks), &deps, seed);
    }
    let plan_hash = plan_hash(PLANNER_VERSION, strategy, seed, fallback.as_ref(), &tasks);
    let mut slots: Vec<Option<Task>> = tasks.into_iter().map(Some).collect();
    let planned = order
        .into_iter()
        .enumerate()
        .filter_map(|(pos, i)| {
            let task = slots[i].take()?;
            Some(PlannedTask {
                position: u32::try_from(pos + 1).unwrap_or(u32::MAX),
                execute: task.status == Status::Open,
                task,
            })
        })
        .collect();
    Ok(Plan {
        planner_version: PLANNER_VERSION,
        strategy,
        seed,
        plan_hash,
        fallback,
        tasks: planned,
    })
}

/// The seed-independent priority of each task among ready tasks (ties go to file order).
fn priorities(tasks: &[Task], strategy: Strategy) -> Vec<u64> {
    match strategy {
        Strategy::Document => vec![0; tasks.len()],
        Strategy::SpecLike => first_appearance(tasks.iter().map(|t| t.phase.as_slice())),
        Strategy::ByFile => first_appearance(
            tasks
                .iter()
                .map(|t| t.files.first().map_or("", String::as_str)),
        ),
    }
}

/// For each item, the index of its value's first appearance (phases and file groups keep the
/// order in which the document introduces them).
fn first_appearance<K: std::hash::Hash + Eq + Clone>(items: impl Iterator<Item = K>) -> Vec<u64> {
    let mut seen: HashMap<K, u64> = HashMap::new();
    let mut previous: Option<(K, u64)> = None;
    items
        .map(|k| {
            // Neighbours nearly always share a phase or file: skip the hash then.
            if let Some((pk, pv)) = &previous
                && *pk == k
            {
                return *pv;
            }
            let next = seen.len() as u64;
            let v = *seen.entry(k.clone()).or_insert(next);
            previous = Some((k, v));
            v
        })
        .collect()
}

/// `[P]` groups: maximal runs of consecutive `[P]` tasks (in file order) within one phase.
fn parallel_groups(tasks: &[Task]) -> Vec<Option<usize>> {
    let mut groups = Vec::with_capacity(tasks.len());
    let mut current: Option<usize> = None;
    let mut next_id = 0;
    for (i, t) in tasks.iter().enumerate() {
        let continues = i > 0 && tasks[i - 1].parallel && tasks[i - 1].phase == t.phase;
        if !t.parallel {
            current = None;
        } else if !(continues && current.is_some()) {
            current = Some(next_id);
            next_id += 1;
        }
        groups.push(current);
    }
    groups
}

#[cfg(test)]
pub(crate) mod testing {
    //! Building tasks by hand for planner tests.
    use crate::tasks::{Status, Task};

    pub fn task(key: &str, phase: &str, parallel: bool, deps: &[&str]) -> Task {
        Task {
            key: key.into(),
            id: key.into(),
            title: format!("do {key}"),
            text: format!("do {key}"),
            status: Status::Open,
            parallel,
            story: None,
            phase: vec![phase.into()],
            files: vec![],
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            line_start: 1,
            line_end: 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::task;
    use super::*;

    fn keys(p: &Plan) -> Vec<&str> {
        p.tasks.iter().map(|t| t.task.key.as_str()).collect()
    }

    #[test]
    fn phases_keep_file_order_and_deps_win() {
        let tasks = vec![
            task("T1", "A", false, &["T3"]),
            task("T2", "A", false, &[]),
            task("T3", "B", false, &[]),
            task("T4", "B", false, &[]),
        ];
        let p = build_plan(tasks, Strategy::SpecLike, 1, None).unwrap();
        assert_eq!(keys(&p), ["T2", "T3", "T1", "T4"]);
    }

    #[test]
    fn done_tasks_stay_but_are_not_executed() {
        let mut t = task("T1", "A", false, &[]);
        t.status = Status::Done;
        let p = build_plan(
            vec![t, task("T2", "A", false, &[])],
            Strategy::SpecLike,
            1,
            None,
        )
        .unwrap();
        assert_eq!(p.tasks.len(), 2);
        assert_eq!(p.to_execute().count(), 1);
    }

    #[test]
    fn cycle_is_an_error_naming_it() {
        let tasks = vec![
            task("T1", "A", false, &["T2"]),
            task("T2", "A", false, &["T1"]),
        ];
        let err = build_plan(tasks, Strategy::SpecLike, 1, None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("T1") && msg.contains("T2"), "{msg}");
    }

    #[test]
    fn seeds_reorder_parallel_groups_only() {
        let mk = || {
            let mut v = vec![task("T0", "A", false, &[])];
            v.extend((1..=8).map(|i| task(&format!("P{i}"), "A", true, &[])));
            v.push(task("T9", "A", false, &[]));
            v
        };
        let orders: Vec<Vec<String>> = (0..20)
            .map(|s| {
                let p = build_plan(mk(), Strategy::SpecLike, s, None).unwrap();
                keys(&p).into_iter().map(String::from).collect()
            })
            .collect();
        assert!(orders.iter().all(|o| o[0] == "T0" && o[9] == "T9"));
        assert!(
            orders.iter().any(|o| o != &orders[0]),
            "seeds never changed the order"
        );
    }

    #[test]
    fn hash_depends_on_seed_strategy_and_tasks_only() {
        let a = build_plan(
            vec![task("T1", "A", false, &[])],
            Strategy::SpecLike,
            1,
            None,
        )
        .unwrap();
        let b = build_plan(
            vec![task("T1", "A", false, &[])],
            Strategy::SpecLike,
            1,
            None,
        )
        .unwrap();
        assert_eq!(a.plan_hash, b.plan_hash);
        let mut moved = task("T1", "A", false, &[]);
        moved.line_start = 99;
        let c = build_plan(vec![moved], Strategy::SpecLike, 1, None).unwrap();
        assert_eq!(a.plan_hash, c.plan_hash, "line numbers are not plan inputs");
        let d = build_plan(
            vec![task("T1", "A", false, &[])],
            Strategy::SpecLike,
            2,
            None,
        )
        .unwrap();
        assert_ne!(a.plan_hash, d.plan_hash);
        let e = build_plan(
            vec![task("T1", "A", false, &[])],
            Strategy::Document,
            1,
            None,
        )
        .unwrap();
        assert_ne!(a.plan_hash, e.plan_hash);
    }

    #[test]
    fn by_file_groups_by_first_file() {
        let mut t1 = task("T1", "A", false, &[]);
        t1.files = vec!["a.rs".into()];
        let mut t2 = task("T2", "A", false, &[]);
        t2.files = vec!["b.rs".into()];
        let mut t3 = task("T3", "A", false, &[]);
        t3.files = vec!["a.rs".into()];
        let p = build_plan(vec![t1, t2, t3], Strategy::ByFile, 1, None).unwrap();
        assert_eq!(keys(&p), ["T1", "T3", "T2"]);
    }
}
