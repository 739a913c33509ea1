//! What every workload needs: pinned git and git-microloop processes, timing, medians, and the
//! table row.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_git-microloop");

/// One line of the table. `ratio` is git-microloop's time over the baseline's (lower is
/// better), both medians measured in this run.
pub struct Row {
    pub workload: String,
    pub ours: Duration,
    pub baseline_name: String,
    pub baseline: Duration,
    pub target: String,
    pub samples: usize,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.ours.as_secs_f64() / self.baseline.as_secs_f64()
    }
}

/// A process environment that does not depend on the user's git configuration.
pub fn pinned(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_AUTHOR_NAME", "Bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "Bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .env("GIT_AUTHOR_DATE", "2026-11-24T10:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-11-24T10:00:00Z")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("MICROLOOP_SEED")
        .env_remove("MICROLOOP_STRATEGY")
}

pub fn ok(out: Output, what: &str) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `git -C dir args…`, which must succeed.
pub fn git(dir: &Path, args: &[&str]) -> Output {
    let out = pinned(Command::new("git").arg("-C").arg(dir).args(args))
        .output()
        .expect("git runs");
    ok(out, &format!("git {args:?}"))
}

/// `git microloop args…` in `dir`, which must succeed.
pub fn microloop(dir: &Path, args: &[&str]) -> Output {
    let out = pinned(Command::new(BIN).current_dir(dir).args(args))
        .output()
        .expect("git-microloop runs");
    ok(out, &format!("git microloop {args:?}"))
}

pub fn timed(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Time `ours` and `baseline` alternately `reps` times each (so that noise from the rest of
/// the machine falls on both alike) and return their medians.
pub fn alternate(
    reps: usize,
    mut ours: impl FnMut(),
    mut baseline: impl FnMut(),
) -> (Duration, Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        b.push(timed(&mut baseline));
        a.push(timed(&mut ours));
    }
    (median(a), median(b))
}

/// A new repository on `main` with one commit of `files` (a path and its content each).
pub fn new_repo(dir: &Path, files: &[(&str, &str)]) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["config", "gc.auto", "0"]);
    std::fs::write(dir.join(".gitignore"), "/artifacts/\n/audit/\n").expect("gitignore");
    for (path, content) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "initial"]);
}

/// `tasks.md` with `n` simple sequential tasks (`T0001 Task number 1`, …).
pub fn simple_tasks(n: usize) -> String {
    let mut s = String::from("# Tasks\n\n## Phase 1\n\n");
    for i in 1..=n {
        s.push_str(&format!("- [ ] T{i:04} Task number {i}\n"));
    }
    s
}

/// Start `change/<change>` from `main` with `tasks` committed as its tasks.md.
pub fn start_change(dir: &Path, change: &str, tasks: &str) {
    git(
        dir,
        &["checkout", "-q", "-b", &format!("change/{change}"), "main"],
    );
    let path = dir.join("changes").join(change).join("tasks.md");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(&path, tasks).expect("tasks");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "tasks"]);
}
