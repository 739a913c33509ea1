//! `git microloop init` in real repositories: the spec-kit layout, the default layout, re-runs
//! that never overwrite the user's files, and the whole path from `init` to a finished run.

mod common;

use common::TestRepo;
use common::agents::Agents;
use serde_json::Value;

const FOO_TASKS: &str = "\
# Tasks: foo

**Input**: Design documents from `/specs/001-foo/`

## Format: `[ID] [P?] [Story] Description`

## Phase 1: Setup

- [ ] T001 Create `src/foo.txt`

---

## Phase 2: User Story 1 - Foo (Priority: P1)

- [ ] T002 [P] [US1] Describe foo in `docs/foo.md`
- [ ] T003 [US1] Quote `$(touch pwned)` in `src/foo.txt` (depends on T001)
";

/// A spec-kit style repository: `.specify/`, `specs/001-foo/tasks.md`, on branch `001-foo`.
fn spec_kit_repo() -> TestRepo {
    let repo = TestRepo::new();
    repo.write(".specify/memory/constitution.md", "# Constitution\n");
    repo.write("specs/001-foo/spec.md", "# Feature: foo\n");
    repo.write("specs/001-foo/tasks.md", FOO_TASKS);
    repo.commit_all("spec-kit feature 001-foo");
    repo.git(&["checkout", "-qb", "001-foo"]);
    repo
}

fn actions(v: &Value) -> Vec<(String, String)> {
    v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn action_of(v: &Value, path: &str) -> String {
    actions(v)
        .into_iter()
        .find(|(p, _)| p == path)
        .unwrap_or_else(|| panic!("{path} not reported: {v}"))
        .1
}

fn task_trailers(repo: &TestRepo, range: &str) -> Vec<String> {
    repo.task_ids(range)
}

#[test]
fn init_then_run_in_a_spec_kit_repo_makes_one_commit_per_task() {
    let repo = spec_kit_repo();
    let v = repo.run(&["init", "--json"]).expect(0).json();
    assert_eq!(v["layout"], "spec-kit");
    assert_eq!(v["change"], "001-foo");
    assert_eq!(action_of(&v, ".microloop.toml"), "created");
    assert_eq!(action_of(&v, "specs/001-foo/tasks.md"), "left_alone");
    assert_eq!(action_of(&v, "specs/001-foo/impact.md"), "created");
    assert_eq!(v["hook"]["action"], "installed");
    assert!(!repo.path().join("changes").exists(), "invented changes/");
    assert_eq!(repo.read("specs/001-foo/tasks.md"), FOO_TASKS);

    // The user registers an agent preset, commits the scaffold and runs.
    let mut config = repo.read(".microloop.toml");
    config.push_str("\n[implementers.fake-agent]\ncommand = [\"fake-agent\", \"--from-preset\"]\n");
    repo.write(".microloop.toml", &config);
    repo.commit_all("Set up git-microloop");
    let base = repo.rev("HEAD");
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "fake-agent"])
        .expect(0);

    assert_eq!(
        task_trailers(&repo, &format!("{base}..HEAD")),
        ["T001", "T002", "T003"]
    );
    let commits = repo.git(&["rev-list", "--count", &format!("{base}..HEAD")]);
    // One commit per task, plus the run's record commit (impact.md, IMPLEMENTATION_PLAN.md).
    assert_eq!(commits.trim(), "4");
    for task in ["T001", "T002", "T003"] {
        let call = agents.call("fake-agent", task);
        assert_eq!(call.args(), ["--from-preset"]);
        assert_eq!(call.env("MICROLOOP_TASK_ID").as_deref(), Some(task));
        assert_eq!(call.env("MICROLOOP_CHANGE").as_deref(), Some("001-foo"));
        let prompt = std::fs::read_to_string(call.env("MICROLOOP_PROMPT_FILE").unwrap()).unwrap();
        assert!(
            prompt.starts_with(&format!("Implement task {task} of change 001-foo")),
            "{prompt}"
        );
        assert!(
            prompt.contains("Task list: specs/001-foo/tasks.md"),
            "{prompt}"
        );
        assert_eq!(
            repo.read(&format!("work/{task}.txt")),
            "done by fake-agent\n"
        );
    }
    let t3 = agents.call("fake-agent", "T003");
    assert!(
        t3.env("MICROLOOP_TASK_TITLE")
            .unwrap()
            .contains("Quote `$(touch pwned)`")
    );
    assert!(!repo.path().join("pwned").exists());
    // The run ticked the tasks in spec-kit's own file and wrote the impact section beside it.
    let tasks = repo.read("specs/001-foo/tasks.md");
    assert_eq!(tasks.matches("- [X] T00").count(), 3, "{tasks}");
    assert!(repo.read("specs/001-foo/impact.md").contains("T003"));
}

#[test]
fn init_then_run_with_the_claude_preset_and_a_fake_claude() {
    let repo = spec_kit_repo();
    repo.run(&["init"]).expect(0);
    repo.commit_all("Set up git-microloop");
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "claude"])
        .expect(0);
    assert_eq!(task_trailers(&repo, "main..HEAD"), ["T001", "T002", "T003"]);
    let args = agents.call("claude", "T002").args();
    assert_eq!(args[0], "-p");
    assert!(
        args[1].contains("Describe foo in `docs/foo.md`"),
        "{}",
        args[1]
    );
}

#[test]
fn init_in_a_new_repository_scaffolds_a_first_change_that_plans() {
    let repo = TestRepo::new();
    let out = repo.run(&["init"]).expect(0);
    let text = out.stdout();
    assert!(text.contains("default layout, change CH-001"), "{text}");
    assert!(text.contains("git switch -c change/CH-001"), "{text}");
    for f in [
        ".microloop.toml",
        "changes/CH-001/tasks.md",
        "changes/CH-001/impact.md",
        "docs/IMPLEMENTATION_PLAN.md",
        ".gitignore",
    ] {
        assert!(repo.path().join(f).is_file(), "{f} missing");
    }
    assert_eq!(
        repo.read(".gitignore"),
        "# git-microloop: local run data (artifacts, planner configs, audit logs)\n\
         /artifacts/work/\n/audit/\n"
    );
    assert!(repo.path().join(".git/hooks/pre-push").is_file());
    let plan = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0)
        .json();
    let ids: Vec<&str> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T001", "T002", "T003"]);
}

#[test]
fn running_init_again_changes_nothing_and_says_so() {
    let repo = TestRepo::new();
    repo.run(&["init"]).expect(0);
    let before = repo.read(".microloop.toml");
    let v = repo.run(&["init", "--json"]).expect(0).json();
    for (path, action) in actions(&v) {
        assert_eq!(action, "already_present", "{path}");
    }
    assert_eq!(v["hook"]["action"], "unchanged");
    assert_eq!(repo.read(".microloop.toml"), before);
}

#[test]
fn init_never_overwrites_a_file_the_user_changed() {
    let repo = TestRepo::new();
    repo.run(&["init", "--no-hook"]).expect(0);
    let mine = "# my config\n[executor]\nmax_attempts = 3\n";
    repo.write(".microloop.toml", mine);
    let my_tasks = "# Tasks\n\n- [ ] T001 My own task\n";
    repo.write("changes/CH-001/tasks.md", my_tasks);
    repo.write(".gitignore", "target/\n/audit/");
    std::fs::remove_file(repo.path().join("changes/CH-001/impact.md")).unwrap();

    let out = repo.run(&["init", "--no-hook", "--json"]).expect(0);
    let v = out.json();
    assert_eq!(action_of(&v, ".microloop.toml"), "left_alone");
    assert_eq!(action_of(&v, "changes/CH-001/tasks.md"), "left_alone");
    assert_eq!(action_of(&v, "changes/CH-001/impact.md"), "created");
    assert_eq!(
        action_of(&v, "docs/IMPLEMENTATION_PLAN.md"),
        "already_present"
    );
    assert_eq!(action_of(&v, ".gitignore"), "updated");
    assert_eq!(repo.read(".microloop.toml"), mine);
    assert_eq!(repo.read("changes/CH-001/tasks.md"), my_tasks);
    let gi = repo.read(".gitignore");
    assert!(gi.starts_with("target/\n/audit/\n"), "{gi}");
    assert!(gi.ends_with("/artifacts/work/\n"), "{gi}");
    assert_eq!(gi.matches("/audit/").count(), 1, "{gi}");
    assert!(v["hook"].is_null());

    let human = repo.run(&["init", "--no-hook"]).expect(0).stdout();
    assert!(
        human.contains(
            "left alone      .microloop.toml  (exists with other content; yours is kept)"
        ),
        "{human}"
    );
}

#[test]
fn someone_elses_pre_push_hook_is_left_alone() {
    let repo = TestRepo::new();
    let hook = repo.path().join(".git/hooks/pre-push");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(&hook, "#!/bin/sh\nnpm test\n").unwrap();
    let out = repo.run(&["init", "--json"]).expect(0);
    assert_eq!(out.json()["hook"]["action"], "refused");
    assert!(
        out.stderr().contains("install-hook --chain"),
        "{}",
        out.stderr()
    );
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        "#!/bin/sh\nnpm test\n"
    );
}

#[test]
fn spec_kit_without_a_feature_on_the_branch_scaffolds_no_change_unless_asked() {
    let repo = TestRepo::new();
    repo.write("specs/001-foo/tasks.md", FOO_TASKS);
    repo.write("specs/002-bar/spec.md", "# bar\n");
    repo.commit_all("two features");
    let out = repo.run(&["init", "--no-hook", "--json"]).expect(0);
    let v = out.json();
    assert_eq!(v["layout"], "spec-kit");
    assert!(v["change"].is_null());
    assert!(
        out.stderr().contains("pass --change NNN-slug"),
        "{}",
        out.stderr()
    );
    assert_eq!(actions(&v).len(), 2, "{v}");

    let v = repo
        .run(&["init", "--no-hook", "--change", "002-bar", "--json"])
        .expect(0)
        .json();
    assert_eq!(action_of(&v, "specs/002-bar/tasks.md"), "created");
    assert!(
        repo.read("specs/002-bar/tasks.md")
            .contains("# Tasks: 002-bar")
    );

    let bad = repo
        .run(&["init", "--no-hook", "--change", "CH-001"])
        .expect(2);
    assert!(bad.stderr().contains("001-user-auth"), "{}", bad.stderr());
}

#[test]
fn wrappers_are_copied_on_request_and_then_used() {
    let repo = TestRepo::new();
    let v = repo
        .run(&["init", "--no-hook", "--wrappers", "--json"])
        .expect(0)
        .json();
    for name in ["claude", "codex", "aider", "script"] {
        let path = format!(".microloop/implementers/{name}.sh");
        assert_eq!(action_of(&v, &path), "created");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(repo.path().join(&path))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o755, 0o755, "{path}");
    }
    // An adapted wrapper is what `--implementer claude` runs from now on.
    let wrapper = repo.read(".microloop/implementers/claude.sh").replace(
        "--permission-mode acceptEdits",
        "--permission-mode acceptEdits --model adapted",
    );
    repo.write(".microloop/implementers/claude.sh", &wrapper);
    repo.git(&["checkout", "-qb", "change/CH-001"]);
    repo.commit_all("scaffold");
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "claude", "--only", "T001"])
        .expect(0);
    let args = agents.call("claude", "T001").args();
    assert_eq!(
        &args[2..],
        ["--permission-mode", "acceptEdits", "--model", "adapted"]
    );
}

#[test]
fn init_outside_a_repository_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .arg("init")
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("git init"));
}
