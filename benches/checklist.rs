//! `git microloop checklist` on a change branch of 1,000 micro-task commits (made by a real
//! run, so summary.json and the audit log are there too) against
//! `git log --format='%(trailers)'` over the same range, in one run, as a ratio of medians.
//! A benchmark, not a timed test: it never fails on a number.
//!
//! The checklist does more than the baseline: it reads the trailers of the same commits, and
//! also re-derives the plan from tasks.md at the run's base, validates summary.json against
//! its schema and verifies the audit log's hash chain.
//!
//! Run: `cargo bench --bench checklist` (MICROLOOP_BENCH_TASKS=200 for a quicker look).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_git-microloop");

fn pinned(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
}

fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn git(dir: &Path, args: &[&str]) -> Output {
    let out = pinned(Command::new("git").arg("-C").arg(dir).args(args))
        .output()
        .expect("git runs");
    ok(out, &format!("git {args:?}"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn main() {
    let n: usize = std::env::var("MICROLOOP_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "gc.auto", "0"]);
    std::fs::write(dir.join(".gitignore"), "/artifacts/\n/audit/\n").expect("gitignore");
    std::fs::write(dir.join("README.md"), "bench\n").expect("readme");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
    git(dir, &["checkout", "-q", "-b", "change/CH-001"]);
    let mut tasks = String::from("# Tasks\n\n## Phase 1\n\n");
    for i in 1..=n {
        tasks.push_str(&format!("- [ ] T{i:04} Task number {i}\n"));
    }
    std::fs::create_dir_all(dir.join("changes/CH-001")).expect("mkdir");
    std::fs::write(dir.join("changes/CH-001/tasks.md"), tasks).expect("tasks");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tasks"]);

    eprintln!("building the fixture: a real run of {n} tasks …");
    let start = Instant::now();
    ok(
        pinned(Command::new(BIN).current_dir(dir).args([
            "-q",
            "run",
            "--implementer",
            "--",
            "true",
        ]))
        .output()
        .expect("git-microloop runs"),
        "run",
    );
    eprintln!("  done in {:.1} s", start.elapsed().as_secs_f64());
    let range = "main..change/CH-001";
    let commits = String::from_utf8_lossy(&git(dir, &["rev-list", "--count", range]).stdout)
        .trim()
        .to_string();

    // Alternate the two so that noise from the rest of the machine falls on both alike.
    let reps = 9;
    let (mut base_t, mut ours_t) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        base_t.push(timed(|| {
            git(dir, &["log", "--format=%(trailers)", range]);
        }));
        ours_t.push(timed(|| {
            ok(
                pinned(Command::new(BIN).current_dir(dir).args(["checklist"]))
                    .output()
                    .expect("checklist runs"),
                "checklist",
            );
        }));
    }
    let (baseline, ours) = (median(base_t), median(ours_t));
    println!("commits on the change branch:   {commits}");
    println!(
        "git log --format=%(trailers):   {:>8.1} ms (median of {reps})",
        baseline.as_secs_f64() * 1e3
    );
    println!(
        "git microloop checklist:        {:>8.1} ms (median of {reps})",
        ours.as_secs_f64() * 1e3
    );
    println!(
        "ratio:                          {:>8.2}×  (target ≤ 2.0×)",
        ours.as_secs_f64() / baseline.as_secs_f64()
    );
}
