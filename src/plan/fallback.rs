//! The planner's fallback (seed FR-29 §3): when tasks.md is missing or yields no tasks, one
//! micro-task per file the change touches, in path order, so the plan is still deterministic.

use serde::{Deserialize, Serialize};

use crate::tasks::{Status, Task};

/// Why and from what the plan was decomposed by file. Part of the plan hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fallback {
    /// e.g. `changes/CH-001/tasks.md not found`, `… has no tasks`.
    pub reason: String,
    /// `uncommitted changes` or `commits since <base>`.
    pub source: String,
}

/// One task per path (`F001`, `F002`, …), paths sorted byte-wise and deduplicated.
pub fn decompose_by_file(paths: &[String]) -> Vec<Task> {
    let mut paths: Vec<&String> = paths.iter().collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let id = format!("F{:03}", i + 1);
            let title = format!("Update {p}");
            Task {
                key: id.clone(),
                id,
                text: title.clone(),
                title,
                status: Status::Open,
                parallel: false,
                story: None,
                phase: vec!["Fallback: one task per changed file".into()],
                files: vec![p.clone()],
                depends_on: vec![],
                line_start: 0,
                line_end: 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_task_per_file_in_path_order() {
        let tasks = decompose_by_file(&["b.rs".into(), "a.rs".into(), "b.rs".into()]);
        let ids: Vec<_> = tasks
            .iter()
            .map(|t| (t.id.as_str(), t.files[0].as_str()))
            .collect();
        assert_eq!(ids, [("F001", "a.rs"), ("F002", "b.rs")]);
    }
}
