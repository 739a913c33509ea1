//! Per-task overhead of `git microloop run` (implementer `true`, no QA) against plain
//! `git add -A && git commit` of a one-line change in the same 100,000-file repository.
//!
//! git-microloop's per-task cost is its steady-state loop: the time between consecutive task
//! completions recorded in the run (`finished_at`), which covers everything a task costs —
//! state saves, the implementer, the tick, `git add -A`, `git commit`, diff capture, evidence,
//! audit — and leaves out the per-run costs (the worktree checkout, whose kernel time on a
//! shared VM varies by seconds, and the final fast-forward).

use std::path::Path;
use std::time::Duration;

use crate::support::{Row, git, median, microloop, simple_tasks, start_change, timed};

/// Run a fresh change of `n` tasks and return the times between consecutive completions.
fn per_task_times(dir: &Path, change: &str, n: usize) -> Vec<Duration> {
    start_change(dir, change, &simple_tasks(n));
    let out = microloop(dir, &["-q", "run", "--json", "--implementer", "--", "true"]);
    git(dir, &["checkout", "-q", "main"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json outcome");
    let finished: Vec<jiff::Timestamp> = v["run"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| {
            t["finished_at"]
                .as_str()
                .expect("finished_at")
                .parse()
                .expect("RFC 3339")
        })
        .collect();
    finished
        .windows(2)
        .map(|w| {
            let span = w[1].duration_since(w[0]);
            Duration::from_nanos(u64::try_from(span.as_nanos()).unwrap_or(0))
        })
        .collect()
}

pub fn measure(root: &Path, files: usize) -> Vec<Row> {
    let dir = root.join("run");
    std::fs::create_dir_all(&dir).expect("mkdir");
    eprintln!("  building a repository of {files} files …");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["config", "gc.auto", "0"]);
    for i in 0..files {
        let sub = dir.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).expect("mkdir");
        }
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n")).expect("write");
    }
    std::fs::write(dir.join(".gitignore"), "/artifacts/\n/audit/\n").expect("gitignore");
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-q", "-m", "many files"]);
    // A real repository of this size is packed; and a background `gc --auto` starting in the
    // middle of either measurement would only add noise.
    git(&dir, &["gc", "-q"]);

    let (per_run, repeats) = (10, 3);
    let mut ours = Vec::new();
    let mut baseline = Vec::new();
    git(&dir, &["branch", "baseline"]);
    for r in 0..repeats {
        // Alternate: a run of git-microloop, then as many plain commits.
        ours.extend(per_task_times(
            &dir,
            &format!("CH-{}", 100 + r),
            per_run + 1,
        ));
        git(&dir, &["checkout", "-q", "baseline"]);
        for i in 0..per_run {
            std::fs::write(dir.join("d000/f0.txt"), format!("edit {r} {i}\n")).expect("edit");
            baseline.push(timed(|| {
                git(&dir, &["add", "-A"]);
                git(&dir, &["commit", "-q", "-m", "x"]);
            }));
        }
        git(&dir, &["checkout", "-q", "main"]);
    }
    let samples = ours.len();
    vec![Row {
        workload: format!("run: per-task overhead, {files} files"),
        ours: median(ours),
        baseline_name: "`git add -A && git commit`".into(),
        baseline: median(baseline),
        target: "≤ 1.0×".into(),
        samples,
    }]
}
