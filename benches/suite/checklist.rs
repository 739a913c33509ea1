//! `git microloop checklist` on a change branch of 1,000 micro-task commits made by a real run
//! (so summary.json and the audit log are there and checked too) beside
//! `git log --format='%(trailers)'` over the same range.

use std::path::Path;

use crate::support::{Row, alternate, git, microloop, new_repo, simple_tasks, start_change};

pub fn measure(root: &Path, tasks: usize) -> Vec<Row> {
    let dir = root.join("checklist");
    std::fs::create_dir_all(&dir).expect("mkdir");
    new_repo(&dir, &[("README.md", "bench\n")]);
    start_change(&dir, "CH-001", &simple_tasks(tasks));
    eprintln!("  a real run of {tasks} tasks for the fixture …");
    microloop(&dir, &["-q", "run", "--implementer", "--", "true"]);
    let range = "main..change/CH-001";
    let commits = String::from_utf8_lossy(&git(&dir, &["rev-list", "--count", range]).stdout)
        .trim()
        .to_string();
    let reps = 9;
    let (ours, baseline) = alternate(
        reps,
        || {
            microloop(&dir, &["checklist"]);
        },
        || {
            git(&dir, &["log", "--format=%(trailers)", range]);
        },
    );
    vec![Row {
        workload: format!("checklist, {commits} commits"),
        ours,
        baseline_name: "`git log --format=%(trailers)`".into(),
        baseline,
        target: "≤ 2.0×".into(),
        samples: reps,
    }]
}
