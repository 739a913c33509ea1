//! The pre-push hook on real `git push` to a local bare remote: what it refuses, what it lets
//! through, and how `install-hook` treats hooks that were there before.

mod common;

use std::path::Path;
use std::process::Command;

use common::TestRepo;

const TASKS: &str = "## Phase 1\n\n- [ ] T001 Create `a.txt`\n- [ ] T002 Create `b.txt`\n";
const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

/// A change branch with its tasks, a bare `origin` holding `main`, and the hook installed.
fn setup() -> (TestRepo, std::path::PathBuf) {
    let repo = TestRepo::with_change(TASKS);
    repo.write(".gitignore", "artifacts/\naudit/\n");
    repo.commit_all("ignore local run data");
    let bare = repo.bare_remote();
    repo.run(&["install-hook"]).expect(0);
    (repo, bare)
}

/// The remote's commit for `branch`, if it has one.
fn remote_tip(bare: &Path, branch: &str) -> Option<String> {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ])
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn push(repo: &TestRepo, args: &[&str]) -> common::Run {
    let mut all = vec!["push", "origin"];
    all.extend_from_slice(args);
    repo.git_with_tool(&all)
}

fn run_all(repo: &TestRepo) {
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
}

#[test]
fn a_change_branch_without_run_metadata_is_refused_and_the_remote_unchanged() {
    let (repo, bare) = setup();
    let r = push(&repo, &["change/CH-001"]);
    assert_ne!(r.code(), 0, "{}", r.stderr());
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);
    let err = r.stderr();
    assert!(err.contains("push refused"), "{err}");
    assert!(
        err.contains("✗ every planned task has exactly one commit"),
        "{err}"
    );
    assert!(err.contains("git push --no-verify"), "{err}");
}

#[test]
fn a_complete_run_is_accepted() {
    let (repo, bare) = setup();
    run_all(&repo);
    push(&repo, &["change/CH-001"]).expect(0);
    assert_eq!(
        remote_tip(&bare, "change/CH-001"),
        Some(repo.rev("change/CH-001"))
    );
}

#[test]
fn a_task_commit_whose_trailers_were_amended_away_is_refused() {
    let (repo, bare) = setup();
    run_all(&repo);
    let t2 = repo
        .git(&[
            "log",
            "--format=%H",
            "--grep=^Microloop-Task: T002$",
            "change/CH-001",
        ])
        .trim()
        .to_string();
    assert_eq!(t2.len(), 40);
    // Drop whatever came after T002 (the record commit) and rewrite T002's message.
    repo.git(&["reset", "-q", "--hard", &t2]);
    repo.git(&["commit", "-q", "--amend", "-m", "T002: Create b.txt"]);
    let r = push(&repo, &["change/CH-001"]);
    assert_ne!(r.code(), 0, "{}", r.stderr());
    assert!(
        r.stderr()
            .contains("✗ every planned task has exactly one commit"),
        "{}",
        r.stderr()
    );
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);
}

#[test]
fn tasks_md_edited_after_the_run_is_refused() {
    let (repo, bare) = setup();
    run_all(&repo);
    let tasks = repo.read("changes/CH-001/tasks.md");
    repo.write(
        "changes/CH-001/tasks.md",
        &format!("{tasks}- [ ] T003 Sneaked in\n"),
    );
    repo.commit_all("edit tasks");
    let r = push(&repo, &["change/CH-001"]);
    assert_ne!(r.code(), 0, "{}", r.stderr());
    assert!(r.stderr().contains("T003"), "{}", r.stderr());
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);

    // The same commits under a name that is not a change are still checked: they carry
    // micro-task trailers.
    let r = push(&repo, &["change/CH-001:refs/heads/review"]);
    assert_ne!(r.code(), 0, "{}", r.stderr());
    assert_eq!(remote_tip(&bare, "review"), None);
}

#[test]
fn unrelated_branches_tags_and_deletions_push_freely() {
    let (repo, bare) = setup();
    repo.git(&["checkout", "-qb", "feature", "main"]);
    repo.write("f.txt", "f\n");
    repo.commit_all("feature work");
    push(&repo, &["feature"]).expect(0);
    assert_eq!(remote_tip(&bare, "feature"), Some(repo.rev("feature")));
    repo.git(&["tag", "v1"]);
    push(&repo, &["v1"]).expect(0);

    // The change branch goes out only with --no-verify (documented bypass), and its deletion
    // is never blocked.
    repo.git_with_tool(&["push", "--no-verify", "origin", "change/CH-001"])
        .expect(0);
    assert!(remote_tip(&bare, "change/CH-001").is_some());
    push(&repo, &["--delete", "change/CH-001"]).expect(0);
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);
}

#[test]
fn the_hook_reports_as_json_and_runs_for_pre_commit_framework() {
    let (repo, _bare) = setup();
    let tip = repo.rev("change/CH-001");
    let zero = "0".repeat(40);
    // Exactly what git feeds the hook, given by hand.
    let mut cmd = repo.cmd(&["checklist", "--hook", "pre-push", "--json", "origin", "url"]);
    cmd.stdin(std::process::Stdio::piped());
    cmd.stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    writeln!(
        child.stdin.take().unwrap(),
        "refs/heads/change/CH-001 {tip} refs/heads/change/CH-001 {zero}\n(delete) {zero} refs/heads/old {tip}"
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["refs"][0]["checklists"][0]["change"], "CH-001");
    assert_eq!(v["refs"][1]["passed_because"], "a deletion");

    // The command the pre-commit framework runs is the `entry:` of .pre-commit-hooks.yaml.
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    assert!(manifest.contains("stages: [pre-push]"));
    let entry: Vec<String> = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("entry: "))
        .unwrap()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    assert_eq!(entry[0], "git-microloop");
    let pre_commit = |repo: &TestRepo| {
        let args: Vec<&str> = entry[1..].iter().map(String::as_str).collect();
        let mut cmd = repo.cmd(&args);
        cmd.env("PRE_COMMIT_TO_REF", repo.rev("HEAD"))
            .env("PRE_COMMIT_FROM_REF", repo.rev("main"))
            .env("PRE_COMMIT_LOCAL_BRANCH", "refs/heads/change/CH-001")
            .env("PRE_COMMIT_REMOTE_BRANCH", "refs/heads/change/CH-001")
            .env("PRE_COMMIT_REMOTE_NAME", "origin");
        cmd.output().unwrap().status.code()
    };
    assert_eq!(pre_commit(&repo), Some(1));
    run_all(&repo);
    assert_eq!(pre_commit(&repo), Some(0));
    // Garbage on standard input is bad usage, named by line.
    let mut cmd = repo.cmd(&["checklist", "--hook", "pre-push"]);
    cmd.stdin(std::process::Stdio::piped());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "not a push line").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("standard input line 1"));
}

#[test]
fn install_hook_honours_core_hooks_path_and_never_overwrites_silently() {
    let repo = TestRepo::with_change(TASKS);
    let bare = repo.bare_remote();
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    let theirs = "#!/bin/sh\ncat > \"$(git rev-parse --git-dir)/theirs-saw\"\nexit 0\n";
    repo.write(".githooks/pre-push", theirs);
    use std::os::unix::fs::PermissionsExt;
    let hook = repo.path().join(".githooks/pre-push");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();

    let r = repo.run(&["install-hook"]).expect(1);
    assert!(r.stderr().contains("--chain"), "{}", r.stderr());
    assert_eq!(std::fs::read_to_string(&hook).unwrap(), theirs);

    let r = repo.run(&["install-hook", "--chain", "--json"]).expect(0);
    assert_eq!(r.json()["hook"]["action"], "chained");
    assert!(!repo.path().join(".git/hooks/pre-push").exists());
    repo.run(&["install-hook"]).expect(0);

    // Both hooks run: theirs saw git's update line, ours refused the change.
    let r = push(&repo, &["change/CH-001"]);
    assert_ne!(r.code(), 0);
    let saw = std::fs::read_to_string(repo.path().join(".git/theirs-saw")).unwrap();
    assert!(saw.starts_with("refs/heads/change/CH-001 "), "{saw:?}");
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);

    // Their hook refusing refuses the push, whatever ours thinks.
    run_all(&repo);
    std::fs::write(
        repo.path().join(".githooks/pre-push.before-microloop"),
        "#!/bin/sh\necho theirs says no >&2\nexit 3\n",
    )
    .unwrap();
    let r = push(&repo, &["change/CH-001"]);
    assert_ne!(r.code(), 0);
    assert!(r.stderr().contains("theirs says no"));
    repo.run(&["install-hook", "--force"]).expect(0);
}

#[test]
fn without_git_microloop_on_path_the_hook_refuses_and_says_why() {
    let (repo, bare) = setup();
    // `repo.git` runs with the test's own PATH, which does not hold the built binary.
    let mut cmd = Command::new("git");
    repo.pin(&mut cmd);
    let out = cmd
        .args(["push", "origin", "change/CH-001"])
        .output()
        .unwrap();
    if which("git-microloop") {
        eprintln!("skipping: a git-microloop is installed on this machine's PATH");
        return;
    }
    assert_ne!(out.status.code(), Some(0));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("git-microloop is not installed"), "{err}");
    assert!(err.contains("--no-verify"), "{err}");
    assert_eq!(remote_tip(&bare, "change/CH-001"), None);
}

fn which(program: &str) -> bool {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .any(|d| d.join(program).is_file())
}
