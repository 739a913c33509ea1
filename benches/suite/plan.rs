//! Planning: `git microloop plan --json` on generated spec-kit task lists (40 % `[P]`, story
//! labels, dependencies) of 10,000 and 100,000 tasks. The baseline, `git hash-object` of the
//! same tasks.md, is git reading and hashing the same input in a process of its own; the
//! target is absolute (issue 2: 10,000 tasks in under 50 ms).

use std::fmt::Write as _;
use std::path::Path;

use crate::support::{Row, alternate, git, microloop, new_repo, start_change};

/// A tasks.md in the current spec-kit shape: phases of 50 tasks, 40 % `[P]`, story labels,
/// backticked paths and `(depends on …)` groups pointing a few tasks back.
pub fn generate(n: usize) -> String {
    let mut s = String::from("# Tasks: generated\n\n");
    for i in 1..=n {
        if i % 50 == 1 {
            let _ = write!(s, "\n## Phase {}: Generated\n\n", i / 50 + 1);
        }
        let done = if i % 7 == 0 { "X" } else { " " };
        let p = if i % 5 < 2 { " [P]" } else { "" };
        let story = format!(" [US{}]", i / 200 + 1);
        let deps = if i > 3 && i % 3 == 0 {
            format!(" (depends on T{:06}, T{:06})", i - 3, i - 2)
        } else {
            String::new()
        };
        let _ = writeln!(
            s,
            "- [{done}] T{i:06}{p}{story} Implement part {i} in `src/mod{}/part{i}.rs`{deps}",
            i % 97
        );
    }
    s
}

pub fn measure(root: &Path, sizes: &[usize]) -> Vec<Row> {
    let dir = root.join("plan");
    std::fs::create_dir_all(&dir).expect("mkdir");
    new_repo(&dir, &[("README.md", "bench\n")]);
    let mut rows = Vec::new();
    for (i, &n) in sizes.iter().enumerate() {
        let change = format!("CH-{:03}", i + 1);
        start_change(&dir, &change, &generate(n));
        let tasks = format!("changes/{change}/tasks.md");
        let reps = if n >= 100_000 { 5 } else { 11 };
        let (ours, baseline) = alternate(
            reps,
            || {
                microloop(&dir, &["plan", "--json"]);
            },
            || {
                git(&dir, &["hash-object", &tasks]);
            },
        );
        rows.push(Row {
            workload: format!("plan {n} tasks (parse, plan, JSON)"),
            ours,
            baseline_name: "`git hash-object tasks.md`".into(),
            baseline,
            target: if n == 10_000 {
                "< 50 ms (absolute)".into()
            } else {
                "linear in tasks".into()
            },
            samples: reps,
        });
    }
    rows
}
