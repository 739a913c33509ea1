//! Per-task overhead of `git microloop run` (implementer `true`, no QA) against plain
//! `git add -A && git commit` in the same 100,000-file repository, measured in one run and
//! printed as a ratio. A benchmark, not a timed test: it never fails on a number.
//!
//! git-microloop's per-task cost is its steady-state loop: the time between consecutive task
//! completions recorded in the run state (`finished_at`), which covers everything a task costs
//! — state saves, the implementer, tick, `git add -A`, `git commit`, diff capture, evidence —
//! and leaves out the per-run costs (the worktree checkout, whose kernel time on a shared VM
//! varies by seconds, and the final fast-forward). The baseline commits a one-line change (like
//! the checkbox tick) with `git add -A && git commit`.
//!
//! Run: `cargo bench --bench run_overhead` (MICROLOOP_BENCH_FILES=20000 for a quicker look).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_git-microloop");

fn git(dir: &Path, args: &[&str]) {
    let out = pinned(Command::new("git").arg("-C").arg(dir).args(args))
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn pinned(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

fn tasks_md(n: usize) -> String {
    let mut s = String::from("# Tasks\n\n## Phase 1\n\n");
    for i in 1..=n {
        s.push_str(&format!("- [ ] T{i:03} Task number {i}\n"));
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Run a fresh change of `n` tasks and return the time between consecutive task completions.
fn per_task_times(dir: &Path, change: &str, n: usize) -> Vec<Duration> {
    git(
        dir,
        &["checkout", "-q", "-b", &format!("change/{change}"), "main"],
    );
    let tasks = dir.join("changes").join(change).join("tasks.md");
    std::fs::create_dir_all(tasks.parent().expect("parent")).expect("mkdir");
    std::fs::write(&tasks, tasks_md(n)).expect("write tasks");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tasks"]);
    let out = pinned(Command::new(BIN).current_dir(dir).args([
        "-q",
        "run",
        "--json",
        "--implementer",
        "--",
        "true",
    ]))
    .output()
    .expect("git-microloop runs");
    assert!(
        out.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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

fn main() {
    let files: usize = std::env::var("MICROLOOP_BENCH_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let m = 10;
    let repeats = 3;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    eprintln!(
        "building a repository of {files} files in {} …",
        dir.display()
    );
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "gc.auto", "0"]);
    for i in 0..files {
        let sub = dir.join(format!("d{:03}", i / 1000));
        if i % 1000 == 0 {
            std::fs::create_dir_all(&sub).expect("mkdir");
        }
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n")).expect("write");
    }
    std::fs::write(dir.join(".gitignore"), "/artifacts/\n/audit/\n").expect("gitignore");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "many files"]);
    // A real repository of this size is packed; and a background `gc --auto` starting in the
    // middle of either measurement would only add noise.
    git(dir, &["gc", "-q"]);

    eprintln!("baseline: git add -A && git commit, {m}× …");
    let mut baseline = Vec::new();
    git(dir, &["checkout", "-q", "-b", "baseline"]);
    for i in 0..(m * repeats) {
        std::fs::write(dir.join("d000/f0.txt"), format!("edit {i}\n")).expect("edit");
        let start = Instant::now();
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", "x"]);
        baseline.push(start.elapsed());
    }
    git(dir, &["checkout", "-q", "main"]);
    let base = median(baseline);

    eprintln!("git-microloop: {repeats} runs of {} tasks …", m + 1);
    let mut per_task = Vec::new();
    for r in 0..repeats {
        per_task.extend(per_task_times(dir, &format!("CH-{}", 100 + r), m + 1));
    }
    let samples = per_task.len();
    let ours = median(per_task);
    println!("files in repository:            {files}");
    println!(
        "git add -A && git commit:        {:>8.1} ms per task (median of {})",
        base.as_secs_f64() * 1e3,
        m * repeats
    );
    println!(
        "git-microloop run, per task:     {:>8.1} ms per task (median of {samples})",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "ratio:                           {:>8.2}×  (target ≤ 1.0×)",
        ours.as_secs_f64() / base.as_secs_f64()
    );
}
