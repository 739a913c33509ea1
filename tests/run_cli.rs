//! `git microloop run` and the sequencer controls, with real git and real processes.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::TestRepo;
use serde_json::Value;

const FOUR: &str = "\
# Tasks: four

## Phase 1: Setup

- [ ] T001 Create `a.txt`
- [ ] T002 [P] Create `b.txt`
- [ ] T003 [P] Create `c.txt`

## Phase 2: Core

- [ ] T004 Create `d.txt` (depends on T002)
";

/// An implementer that appends the task id to a file named after it.
const WRITE_TASK_FILE: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

fn plan_keys(repo: &TestRepo) -> Vec<String> {
    let v = repo.run(&["plan", "--json"]).expect(0).json();
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["execute"] == true)
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect()
}

fn plan_hash(repo: &TestRepo) -> String {
    repo.run(&["plan", "--json"]).expect(0).json()["plan_hash"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Task ids of the commits of `range`, oldest first, read by `git log %(trailers)`.
fn logged_tasks_of(repo: &TestRepo, range: &str) -> Vec<String> {
    repo.task_ids(range)
}

/// Task ids of the commits since `base`, oldest first, read by `git log %(trailers)`.
fn logged_tasks(repo: &TestRepo, base: &str) -> Vec<String> {
    logged_tasks_of(repo, &format!("{base}..HEAD"))
}

fn run_state(repo: &TestRepo) -> Value {
    let v = repo.run(&["status", "--json"]).expect(0).json();
    v["runs"][0].clone()
}

#[test]
fn each_open_task_becomes_one_commit_in_plan_order_with_trailers() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let expected = plan_keys(&repo);
    let hash = plan_hash(&repo);
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let out = repo
        .run(&["run", "--json", "--implementer", "--", &imp])
        .expect(0);
    assert_eq!(out.json()["outcome"], "succeeded");
    assert_eq!(logged_tasks(&repo, &base), expected);

    // Each commit's message, read back by interpret-trailers, carries exactly our trailers.
    let commits = repo.git(&["rev-list", "--reverse", &format!("{base}..HEAD")]);
    for (commit, task) in commits.lines().zip(&expected) {
        let msg = repo.git(&["log", "-1", "--format=%B", commit]);
        let mut cmd = std::process::Command::new("git");
        repo.pin(&mut cmd);
        let mut child = cmd
            .args(["interpret-trailers", "--parse"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(msg.as_bytes())
            .unwrap();
        let parsed = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        let lines: Vec<&str> = parsed.lines().collect();
        assert_eq!(lines[0], "Microloop-Change: CH-001");
        assert!(lines[1].starts_with("Microloop-Run: run-"));
        assert_eq!(lines[2], format!("Microloop-Task: {task}"));
        assert_eq!(lines[3], "Microloop-Seed: 42");
        assert_eq!(lines[4], format!("Microloop-Plan: {hash}"));
        assert_eq!(lines[5], "Microloop-QA: skipped");
        assert_eq!(lines.len(), 6);
    }
    for (key, want) in [("Microloop-Seed", "42"), ("Microloop-Plan", hash.as_str())] {
        let values = repo.git(&[
            "log",
            &format!("--format=%(trailers:key={key},valueonly)"),
            &format!("{base}..HEAD"),
        ]);
        let values: Vec<&str> = values.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(values.len(), 5, "4 task commits and the record commit");
        assert!(values.iter().all(|v| *v == want), "{key}: {values:?}");
    }
    // The record commit closes the run: change, run, seed and plan, but no task.
    let record = repo.git(&["log", "-1", "--format=%(trailers:only,unfold)", "HEAD"]);
    assert!(record.contains("Microloop-Change: CH-001"), "{record}");
    assert!(
        record.contains(&format!("Microloop-Plan: {hash}")),
        "{record}"
    );
    assert!(!record.contains("Microloop-Task"), "{record}");
    let impact = repo.read("changes/CH-001/impact.md");
    assert!(impact.contains("| T004 |"), "{impact}");
    let progress = repo.read("docs/IMPLEMENTATION_PLAN.md");
    assert!(
        progress.contains("Progress: 4 / 4 micro-tasks settled"),
        "{progress}"
    );
    // Every checkbox was ticked, the work is there, and git is happy.
    let tasks = repo.read("changes/CH-001/tasks.md");
    assert_eq!(tasks.matches("[X]").count(), 4, "{tasks}");
    assert!(repo.path().join("out-T004.txt").exists());
    repo.git(&["fsck", "--full", "--strict"]);
    // The run worktree is gone; the run branch stays.
    assert!(!repo.git(&["worktree", "list"]).contains("microloop"));
    assert!(
        repo.git(&["branch", "--list", "microloop/*"])
            .contains("microloop/CH-001/run-")
    );
}

#[test]
fn users_uncommitted_work_is_untouched_and_carried_by_the_fast_forward() {
    let repo = TestRepo::with_change(FOUR);
    repo.write("README.md", "my local edit\n");
    repo.write("notes.txt", "untracked notes\n");
    repo.git(&["add", "notes.txt"]);
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert_eq!(repo.read("README.md"), "my local edit\n");
    assert_eq!(repo.read("notes.txt"), "untracked notes\n");
    let status = repo.git(&["status", "--porcelain"]);
    assert!(
        status.contains(" M README.md") && status.contains("A  notes.txt"),
        "{status}"
    );
}

#[test]
fn failing_required_qa_fails_the_run_and_touches_nothing_of_the_user() {
    let repo = TestRepo::with_change(FOUR);
    repo.write(
        ".microloop.toml",
        "[[qa]]\nname = \"tests\"\ncommand = [\"sh\", \"-c\", \"exit 3\"]\n",
    );
    repo.commit_all("config");
    let head = repo.rev("HEAD");
    repo.write("README.md", "uncommitted bytes \u{1F600}\n");
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let r = repo.run(&["run", "--implementer", "--", &imp]).expect(1);
    let err = r.stderr();
    assert!(err.contains("task T001 failed after 2 attempts"), "{err}");
    assert!(err.contains("required QA `tests` exit 3"), "{err}");
    assert!(err.contains("logs: "), "{err}");
    assert!(err.contains("git microloop continue"), "{err}");
    assert_eq!(repo.read("README.md"), "uncommitted bytes \u{1F600}\n");
    assert_eq!(repo.rev("change/CH-001"), head, "the change branch moved");
    let s = run_state(&repo);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["tasks"][0]["attempts"], 2);
    // Retained: its branch and worktree stay for inspection, and a new run is refused.
    assert!(
        repo.git(&["branch", "--list", "microloop/*"])
            .contains("run-")
    );
    let again = repo.run(&["run", "--implementer", "--", &imp]).expect(2);
    assert!(
        again.stderr().contains("still failed"),
        "{}",
        again.stderr()
    );
    // Abort puts everything back; the branch is kept and marked aborted.
    repo.run(&["abort"]).expect(0);
    assert_eq!(run_state(&repo)["status"], "aborted");
    assert!(!repo.git(&["worktree", "list"]).contains("microloop"));
    assert_eq!(repo.rev("change/CH-001"), head);
}

#[test]
fn killed_implementer_then_continue_gives_one_commit_per_task() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let marker = repo.outside().join("killed-once");
    let imp = repo.script(
        "impl.sh",
        &format!(
            "if [ \"$MICROLOOP_TASK_ID\" = T003 ] && [ ! -e '{m}' ]; then touch '{m}'; \
             echo half > half-done.txt; kill -9 $$; fi\n{WRITE_TASK_FILE}",
            m = marker.display()
        ),
    );
    let r = repo
        .run(&["run", "--max-attempts", "1", "--implementer", "--", &imp])
        .expect(1);
    assert!(r.stderr().contains("killed by signal 9"), "{}", r.stderr());
    repo.run(&["continue"]).expect(0);
    let mut tasks = logged_tasks(&repo, &base);
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    tasks.sort();
    assert_eq!(tasks, ["T001", "T002", "T003", "T004"]);
    assert!(
        !repo.path().join("half-done.txt").exists(),
        "a killed attempt's work was kept"
    );
    assert_eq!(repo.read("out-T003.txt"), "T003\n");
    repo.git(&["fsck", "--full"]);
}

#[test]
fn killing_git_microloop_itself_then_continue_completes_exactly_once() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let (imp, started) = slow_once_at_t003(&repo, "echo partial > partial.txt;");
    let mut child = run_until(&repo, &imp, &started, std::process::Stdio::null);
    // Kill once the implementer's process group is on record. (Between spawning it and saving
    // the state there is a window of a few milliseconds in which a crash leaves a process that
    // `continue` cannot find; the README's troubleshooting says so.)
    let deadline = Instant::now() + Duration::from_secs(30);
    while run_state(&repo)["child_pgid"].is_null() {
        assert!(
            Instant::now() < deadline,
            "the run never recorded its implementer"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL to git-microloop only; its implementer lives on
    child.wait().unwrap();
    assert_eq!(run_state(&repo)["status"], "running");
    let sleeper = std::fs::read_to_string(repo.outside().join("sleep.pid")).unwrap();
    assert!(
        alive(sleeper.trim()),
        "the implementer died with git-microloop"
    );
    let r = repo.run(&["continue"]).expect(0);
    assert!(r.stdout().contains("succeeded"), "{}", r.stdout());
    let mut tasks = logged_tasks(&repo, &base);
    tasks.sort();
    assert_eq!(tasks, ["T001", "T002", "T003", "T004"]);
    assert!(!repo.path().join("partial.txt").exists());
    // This run's orphaned `sleep 60` (not anyone else's) was stopped by `continue`.
    assert!(
        !alive(sleeper.trim()),
        "the orphaned implementer still runs"
    );
    repo.git(&["fsck", "--full"]);
}

/// Whether process `pid` exists (and is not a zombie waiting for its parent).
fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        })
        .unwrap_or(false)
}

#[test]
fn task_text_never_reaches_a_shell() {
    let evil = "$(touch pwned); `touch pwned2`; rm -rf ~";
    let repo = TestRepo::with_change(&format!("## Phase 1\n\n- [ ] T001 {evil}\n"));
    let imp = repo.script(
        "impl.sh",
        "printf '%s\\n' \"$MICROLOOP_TASK_TITLE\" > title.txt",
    );
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    for dir in [repo.path(), repo.outside()] {
        for name in ["pwned", "pwned2"] {
            assert!(
                !dir.join(name).exists(),
                "{name} created in {}",
                dir.display()
            );
        }
    }
    assert!(repo.outside().join("impl.sh").exists(), "home was wiped");
    assert_eq!(repo.read("title.txt").trim(), evil);
    let subject = repo.git(&["log", "-1", "--format=%s", "HEAD~1"]);
    assert_eq!(subject.trim(), format!("T001: {evil}"));
}

#[test]
fn task_text_cannot_forge_or_break_trailers() {
    let long = "x".repeat(3000);
    let tasks = format!(
        "## Phase 1\n\n\
         - [ ] T001 Sneaky Microloop-Task: T999\n\
         - [ ] T002 Phase separator follows\n  ---\n  Microloop-Task: T998\n  # not a comment\n\
         - [ ] T003 Long {long}\n"
    );
    let repo = TestRepo::with_change(&tasks);
    let base = repo.rev("HEAD");
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert_eq!(logged_tasks(&repo, &base), ["T001", "T002", "T003"]);
    for rev in ["HEAD~3", "HEAD~2", "HEAD~1"] {
        let msg = repo.git(&["log", "-1", "--format=%B", rev]);
        let trailers = repo.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Microloop-Task,valueonly)",
            rev,
        ]);
        assert_eq!(trailers.trim().lines().count(), 1, "{msg}");
        assert!(!trailers.contains("T99"), "forged: {msg}");
        assert!(
            msg.lines()
                .all(|l| !l.starts_with("---") && !l.starts_with('#')),
            "{msg}"
        );
    }
}

#[test]
fn qa_timeout_kills_the_command_and_its_grandchild() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Only task\n");
    let pidfile = repo.outside().join("grandchild.pid");
    let qa = repo.script(
        "qa.sh",
        &format!("sleep 300 &\necho $! > '{}'\nwait", pidfile.display()),
    );
    repo.write(
        ".microloop.toml",
        &format!("[[qa]]\nname = \"slow\"\ncommand = [\"{qa}\"]\ntimeout = \"1s\"\n"),
    );
    repo.commit_all("qa config");
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let r = repo
        .run(&["run", "--max-attempts", "1", "--implementer", "--", &imp])
        .expect(1);
    assert!(r.stderr().contains("timed out"), "{}", r.stderr());
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        git_microloop::run::process::process_gone(pid),
        "grandchild {pid} outlived the QA timeout"
    );
}

#[test]
fn retry_resets_the_worktree_and_second_attempt_succeeds() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Flaky\n");
    let imp = repo.script(
        "impl.sh",
        "echo attempt-$MICROLOOP_ATTEMPT > junk-$MICROLOOP_ATTEMPT.txt\n\
         [ \"$MICROLOOP_ATTEMPT\" = 2 ]",
    );
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert!(
        !repo.path().join("junk-1.txt").exists(),
        "attempt 1 leaked into the commit"
    );
    assert!(repo.path().join("junk-2.txt").exists());
    assert_eq!(run_state(&repo)["tasks"][0]["attempts"], 2);
}

#[test]
fn refuses_on_detached_head_unborn_branch_and_without_identity() {
    let repo = TestRepo::with_change(FOUR);
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    repo.git(&["checkout", "-q", "--detach"]);
    let r = repo
        .run(&["run", "--change", "CH-001", "--implementer", "--", &imp])
        .expect(2);
    assert!(r.stderr().contains("HEAD is detached"), "{}", r.stderr());

    let empty = TestRepo::empty();
    empty.write("changes/CH-001/tasks.md", FOUR);
    let r = empty
        .run(&["run", "--change", "CH-001", "--implementer", "--", &imp])
        .expect(2);
    assert!(r.stderr().contains("has no commits yet"), "{}", r.stderr());

    let anon = TestRepo::with_change(FOUR);
    anon.git(&["config", "user.useConfigOnly", "true"]);
    let out = anon
        .cmd_without_identity(&["run", "--implementer", "--", &imp])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no identity"));
    assert!(
        anon.git(&["branch", "--list", "microloop/*"]).is_empty(),
        "a refused run left a branch"
    );
}

#[test]
fn refuses_when_the_plan_has_errors_or_no_implementer() {
    let repo = TestRepo::with_change(
        "## P\n\n- [ ] T001 a (depends on T002)\n- [ ] T002 b (depends on T001)\n",
    );
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let r = repo.run(&["run", "--implementer", "--", &imp]).expect(2);
    assert!(r.stderr().contains("dependency cycle"), "{}", r.stderr());
    let ok = TestRepo::with_change(FOUR);
    let r = ok.run(&["run"]).expect(2);
    assert!(
        r.stderr().contains("no implementer configured"),
        "{}",
        r.stderr()
    );
}

#[test]
fn a_second_run_of_the_same_change_is_locked_out() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 slow\n");
    let (mut first, imp) = repo.spawn_run_started("sleep 5");
    let r = repo.run(&["run", "--implementer", "--", &imp]).expect(2);
    assert!(
        r.stderr().contains("another git-microloop process"),
        "{}",
        r.stderr()
    );
    assert!(first.wait().unwrap().success());
}

#[test]
fn only_runs_the_named_tasks_and_done_tasks_are_not_rerun() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    repo.run(&["run", "--only", "T001,T003", "--implementer", "--", &imp])
        .expect(0);
    assert_eq!(logged_tasks(&repo, &base), ["T001", "T003"]);
    let next = repo.rev("HEAD");
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let rest = logged_tasks(&repo, &next);
    assert_eq!(rest.len(), 2, "{rest:?}");
    let again = repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert!(
        again.stderr().contains("nothing to run"),
        "{}",
        again.stderr()
    );
    let bad = repo
        .run(&["run", "--only", "T404", "--implementer", "--", &imp])
        .expect(2);
    assert!(bad.stderr().contains("T404"));
}

#[test]
fn manual_mode_pauses_and_continue_commits_the_users_work() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 First\n- [ ] T002 Second\n");
    let base = repo.rev("HEAD");
    repo.write("dirty.txt", "x");
    let r = repo.run(&["run", "--manual"]).expect(2);
    assert!(r.stderr().contains("clean worktree"), "{}", r.stderr());
    std::fs::remove_file(repo.path().join("dirty.txt")).unwrap();

    let r = repo.run(&["run", "--manual"]).expect(0);
    assert!(r.stdout().contains("Stopped at T001"), "{}", r.stdout());
    repo.write("first.txt", "done by hand\n");
    let r = repo.run(&["continue"]).expect(0);
    assert!(r.stdout().contains("Stopped at T002"), "{}", r.stdout());
    repo.write("leftover.txt", "mine\n");
    let r = repo.run(&["skip"]).expect(2);
    assert!(r.stderr().contains("would lose them"), "{}", r.stderr());
    std::fs::remove_file(repo.path().join("leftover.txt")).unwrap();
    repo.run(&["skip"]).expect(0);
    assert_eq!(logged_tasks(&repo, &base), ["T001"]);
    let s = run_state(&repo);
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["tasks"][1]["status"], "skipped");
    assert_eq!(repo.read("first.txt"), "done by hand\n");
}

#[test]
fn manual_mode_works_when_the_local_data_is_gitignored() {
    // What `init` sets up: artifacts and audit logs ignored by .gitignore. Excluding ignored
    // paths from `git add` used to make it fail.
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 First\n");
    repo.write(".gitignore", "/artifacts/work/\n/audit/\n");
    repo.commit_all("ignore local data");
    let base = repo.rev("HEAD");
    repo.run(&["run", "--manual"]).expect(0);
    repo.write("first.txt", "done by hand\n");
    repo.run(&["continue"]).expect(0);
    assert_eq!(logged_tasks(&repo, &base), ["T001"]);
    let files = repo.git(&["show", "--name-only", "--format=", "HEAD~1"]);
    assert!(files.contains("first.txt"), "{files}");
    assert!(
        !files.contains("artifacts") && !files.contains("audit"),
        "{files}"
    );
}

#[test]
fn manual_mode_qa_failure_keeps_the_run_paused() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Needs ok.txt\n");
    repo.write(
        ".microloop.toml",
        "[executor]\nmax_attempts = 3\n[[qa]]\nname = \"has-ok\"\ncommand = [\"test\", \"-f\", \"ok.txt\"]\n",
    );
    repo.commit_all("qa");
    repo.run(&["run", "--manual"]).expect(0);
    let r = repo.run(&["continue"]).expect(1);
    assert!(r.stderr().contains("did not pass QA"), "{}", r.stderr());
    repo.write("ok.txt", "ok\n");
    repo.run(&["continue"]).expect(0);
    assert_eq!(run_state(&repo)["status"], "succeeded");
    let qa = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Microloop-QA,valueonly)",
        "HEAD~1",
    ]);
    assert_eq!(qa.trim(), "pass");
}

#[test]
fn failed_run_can_be_continued_after_a_fix_or_skipped() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let gate = repo.outside().join("allow");
    let imp = repo.script(
        "impl.sh",
        &format!(
            "if [ \"$MICROLOOP_TASK_ID\" = T002 ] && [ ! -e '{}' ]; then exit 1; fi\n{WRITE_TASK_FILE}",
            gate.display()
        ),
    );
    repo.run(&["run", "--implementer", "--", &imp]).expect(1);
    std::fs::write(&gate, "").unwrap();
    repo.run(&["continue"]).expect(0);
    assert_eq!(logged_tasks(&repo, &base).len(), 4);

    let other = TestRepo::with_change(FOUR);
    let base = other.rev("HEAD");
    let imp = other.script(
        "impl.sh",
        &format!("if [ \"$MICROLOOP_TASK_ID\" = T002 ]; then exit 1; fi\n{WRITE_TASK_FILE}"),
    );
    other.run(&["run", "--implementer", "--", &imp]).expect(1);
    other.run(&["skip"]).expect(0);
    let done = logged_tasks(&other, &base);
    assert!(
        !done.contains(&"T002".to_string()) && done.len() == 3,
        "{done:?}"
    );
}

#[test]
fn fast_forward_is_refused_when_local_edits_would_be_overwritten() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Write shared.txt\n");
    repo.write("shared.txt", "my uncommitted version\n");
    let head = repo.rev("HEAD");
    let imp = repo.script("impl.sh", "echo from-task > shared.txt");
    let r = repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert!(
        r.stdout().contains("could not fast-forward"),
        "{}",
        r.stdout()
    );
    assert!(r.stdout().contains("merge --ff-only"), "{}", r.stdout());
    assert_eq!(repo.read("shared.txt"), "my uncommitted version\n");
    assert_eq!(repo.rev("HEAD"), head);
}

#[test]
fn branch_not_checked_out_is_moved_by_compare_and_swap() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 one\n");
    // Run from a linked worktree of the change branch; the main worktree stays on main.
    let wt = repo.outside().join("wt");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        "change/CH-001",
    ]);
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let mut cmd = repo.cmd(&["run", "--implementer", "--", &imp]);
    cmd.current_dir(&wt);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(Path::new(&wt).join("out-T001.txt").exists());
    // The change branch (checked out only in the linked worktree) now holds the task's commit.
    assert_eq!(logged_tasks_of(&repo, "main..change/CH-001"), ["T001"]);
}

#[test]
fn ctrl_c_stops_gracefully_and_continue_finishes() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let (imp, started) = slow_once_at_t003(&repo, "");
    let child = run_until(&repo, &imp, &started, std::process::Stdio::piped);
    let t0 = Instant::now();
    nix_kill(child.id(), "INT");
    let out = child.wait_with_output().unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(20),
        "Ctrl-C did not stop the sleeping task"
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    assert_eq!(run_state(&repo)["status"], "running");
    repo.run(&["continue"]).expect(0);
    let mut tasks = logged_tasks(&repo, &base);
    tasks.sort();
    assert_eq!(tasks, ["T001", "T002", "T003", "T004"]);
}

/// An implementer that, the first time it meets T003, runs `before` then sleeps for a minute
/// (touching the returned marker first); every other time it just does its task.
fn slow_once_at_t003(repo: &TestRepo, before: &str) -> (String, std::path::PathBuf) {
    let started = repo.outside().join("started");
    let marker = repo.outside().join("slow-once");
    let imp = repo.script(
        "impl.sh",
        &format!(
            "if [ \"$MICROLOOP_TASK_ID\" = T003 ] && [ ! -e '{m}' ]; then touch '{m}'; \
             {before} sleep 60 & echo $! > '{p}'; touch '{s}'; wait; fi\n{WRITE_TASK_FILE}",
            m = marker.display(),
            s = started.display(),
            p = repo.outside().join("sleep.pid").display()
        ),
    );
    (imp, started)
}

/// Start `git microloop run` with `imp` and wait until the implementer touches `started`.
fn run_until(
    repo: &TestRepo,
    imp: &str,
    started: &Path,
    output: fn() -> std::process::Stdio,
) -> std::process::Child {
    let child = repo
        .cmd(&["run", "--implementer", "--", imp])
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the implementer never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// Send a signal with the system's `kill` (the tests avoid unsafe code).
fn nix_kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn evidence_records_files_lines_and_the_diff() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Reshape the tree\n");
    repo.write("keep/old.txt", "one\ntwo\nthree\n");
    repo.write("gone.txt", "bye\n");
    repo.write("becomes-dir", "file\n");
    repo.commit_all("files");
    let imp = repo.script(
        "impl.sh",
        "printf 'one\\n2\\nthree\\nfour\\n' > keep/old.txt\n\
         mkdir -p deep/er && printf 'a\\nb\\n' > deep/er/new.txt\n\
         rm gone.txt\n\
         printf '\\000\\001' > blob.bin\n\
         rm becomes-dir && mkdir becomes-dir && echo x > becomes-dir/inner.txt",
    );
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let s = run_state(&repo);
    let artifacts = s["artifacts"].as_str().unwrap();
    let ev: Value = serde_json::from_slice(
        &std::fs::read(Path::new(artifacts).join("evidence/T001.json")).unwrap(),
    )
    .unwrap();
    let files: Vec<(&str, &str, u64, u64, bool)> = ev["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap(),
                f["status"].as_str().unwrap(),
                f["added"].as_u64().unwrap(),
                f["removed"].as_u64().unwrap(),
                f["binary"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("becomes-dir/inner.txt", "added", 1, 0, false),
            ("becomes-dir", "deleted", 0, 1, false),
            ("blob.bin", "added", 0, 0, true),
            ("changes/CH-001/tasks.md", "modified", 1, 1, false),
            ("deep/er/new.txt", "added", 2, 0, false),
            ("gone.txt", "deleted", 0, 1, false),
            ("keep/old.txt", "modified", 2, 1, false),
        ]
    );
    assert_eq!(ev["lines_added"], 6);
    assert_eq!(ev["lines_removed"], 4);
    assert_eq!(ev["attempts"], 1);
    assert!(ev["duration_ms"].as_u64().is_some());
    let diff = std::fs::read_to_string(Path::new(artifacts).join("evidence/T001.diff")).unwrap();
    assert!(diff.contains("+four"), "{diff}");
    assert!(diff.contains("-two"), "{diff}");
    // The recorded commit is the task's commit, with the same files as git reports.
    let commit = ev["commit"].as_str().unwrap();
    let git_files = repo.git(&["diff-tree", "--no-commit-id", "--name-only", "-r", commit]);
    assert_eq!(git_files.lines().count(), files.len());
}

/// Processes (other than zombies) whose working directory is `dir`.
fn processes_in(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if alive(&pid) && std::fs::read_link(entry.path().join("cwd")).is_ok_and(|c| c == dir) {
            found.push(pid);
        }
    }
    found
}

/// The start gate: git-microloop killed after an implementer was spawned but before its process
/// group was recorded leaves nothing running — the implementer never starts — and `continue`
/// runs the task once.
#[test]
fn a_crash_at_an_implementers_start_leaves_nothing_running() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let started = repo.outside().join("started.log");
    let imp = repo.script(
        "impl.sh",
        &format!(
            "echo \"$MICROLOOP_TASK_ID\" >> '{}'\n{WRITE_TASK_FILE}",
            started.display()
        ),
    );
    let out = repo
        .cmd(&["run", "--implementer", "--", &imp])
        .env("MICROLOOP_FAULT", "spawned:T002")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "the fault point did not fire");
    let state = run_state(&repo);
    let worktree = PathBuf::from(state["worktree"].as_str().unwrap());
    // The child waiting at the gate sees the end of the pipe and exits without running.
    let mut left = processes_in(&worktree);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        left = processes_in(&worktree);
    }
    assert!(left.is_empty(), "still running in the worktree: {left:?}");
    let ran = std::fs::read_to_string(&started).unwrap_or_default();
    assert!(!ran.contains("T002"), "the implementer started: {ran}");

    repo.run(&["continue"]).expect(0);
    let ran = std::fs::read_to_string(&started).unwrap();
    assert_eq!(ran.lines().filter(|l| *l == "T002").count(), 1, "{ran}");
    let mut tasks = logged_tasks(&repo, &base);
    tasks.sort();
    assert_eq!(tasks, ["T001", "T002", "T003", "T004"]);
    repo.run(&["audit", "verify"]).expect(0);
}

#[test]
fn crash_between_commit_and_state_save_is_recovered_exactly_once() {
    let repo = TestRepo::with_change(FOUR);
    let base = repo.rev("HEAD");
    let imp = repo.script("impl.sh", WRITE_TASK_FILE);
    let out = repo
        .cmd(&["run", "--implementer", "--", &imp])
        .env("MICROLOOP_FAULT", "after-commit:T002")
        .output()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(9), "the fault point did not fire");
    let state = run_state(&repo);
    let t2 = state["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "T002")
        .unwrap();
    assert_ne!(t2["status"], "done", "the state was saved after the commit");
    let r = repo.run(&["continue"]).expect(0);
    assert!(
        r.stderr().contains("T002 was already committed"),
        "{}",
        r.stderr()
    );
    let mut tasks = logged_tasks(&repo, &base);
    tasks.sort();
    assert_eq!(tasks, ["T001", "T002", "T003", "T004"]);
    let audit = repo.read("audit/implementer_runs.jsonl");
    let completed_t2 = audit
        .lines()
        .filter(|l| {
            l.contains("\"event\":\"task_completed\"") && l.contains("\"task_id\":\"T002\"")
        })
        .count();
    assert_eq!(completed_t2, 1, "{audit}");
    repo.run(&["audit", "verify"]).expect(0);
    repo.git(&["fsck", "--full"]);
}
