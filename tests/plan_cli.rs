//! `git microloop plan` through the built binary, in temporary repositories.

mod common;

use common::{TestRepo, corpus_dir, fixture};
use serde_json::Value;

const TASKS: &str = "\
# Tasks: sample

## Phase 1: Setup

- [ ] T001 Create project structure
- [ ] T002 [P] Add lint config in `lint.toml`
- [ ] T003 [P] Add format config in `fmt.toml`
- [ ] T004 [P] Add editor config in `.editorconfig`
- [ ] T005 [P] Add CI config in `ci.yml`
- [X] T006 Write the README

## Phase 2: Core

- [ ] T007 [P] [US1] Model in `src/model.rs`
- [ ] T008 [P] [US1] View in `src/view.rs`
- [ ] T009 [P] [US1] Store in `src/store.rs`
- [ ] T010 [US1] Wire it together in `src/app.rs` (depends on T007, T008)
";

fn repo_with(tasks: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write("changes/CH-001/tasks.md", tasks);
    repo
}

fn keys(v: &Value) -> Vec<String> {
    v["tasks"]
        .as_array()
        .expect("tasks array")
        .iter()
        .map(|t| t["key"].as_str().expect("key").to_string())
        .collect()
}

#[test]
fn plan_json_is_byte_identical_across_runs() {
    let repo = repo_with(TASKS);
    let a = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0);
    let b = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0);
    assert_eq!(a.0.stdout, b.0.stdout);
    let v = a.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["change"], "CH-001");
    assert_eq!(v["strategy"], "spec-like");
    assert_eq!(v["seed"], 42);
    assert!(v["plan_hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(keys(&v).len(), 10);
}

#[test]
fn plan_hash_is_the_same_in_another_clone_at_another_path() {
    let repo = repo_with(TASKS);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "tasks"]);
    let other = TestRepo::new();
    other.write("changes/CH-001/tasks.md", &TASKS.replace('\n', "\r\n"));
    let a = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0)
        .json();
    let b = other
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0)
        .json();
    assert_eq!(
        a["plan_hash"], b["plan_hash"],
        "CRLF or location changed the hash"
    );
}

#[test]
fn seeds_only_permute_parallel_groups() {
    let repo = repo_with(TASKS);
    let plans: Vec<Value> = (1..=6)
        .map(|s| {
            repo.run(&[
                "plan",
                "--change",
                "CH-001",
                "--json",
                "--seed",
                &s.to_string(),
            ])
            .expect(0)
            .json()
        })
        .collect();
    let base = keys(&plans[0]);
    let mut differed = false;
    for p in &plans[1..] {
        let k = keys(p);
        differed |= k != base;
        for (pos, (a, b)) in base.iter().zip(&k).enumerate() {
            let parallel = plans[0]["tasks"][pos]["parallel"].as_bool().unwrap();
            if !parallel {
                assert_eq!(a, b, "a non-[P] task moved at position {}", pos + 1);
            }
        }
        // T010 depends on T007 and T008 whatever the seed.
        let at = |id: &str| k.iter().position(|x| x == id).unwrap();
        assert!(at("T010") > at("T007") && at("T010") > at("T008"));
        let mut sorted = k.clone();
        sorted.sort();
        let mut sorted_base = base.clone();
        sorted_base.sort();
        assert_eq!(sorted, sorted_base);
    }
    assert!(differed, "six seeds gave the same order of four [P] tasks");
    assert_ne!(plans[0]["plan_hash"], plans[1]["plan_hash"]);
}

#[test]
fn corpus_file_plans_deterministically() {
    let Some(dir) = corpus_dir() else { return };
    let text = std::fs::read_to_string(dir.join("00-github__spec-kit__tasks-template.md"))
        .expect("corpus file");
    let repo = repo_with(&text);
    let a = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0);
    let b = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0);
    assert_eq!(a.0.stdout, b.0.stdout);
    assert!(keys(&a.json()).iter().any(|k| k == "T001"));
}

#[test]
fn done_tasks_are_listed_but_not_executed() {
    let repo = repo_with(TASKS);
    let v = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0)
        .json();
    let t6 = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["key"] == "T006")
        .unwrap();
    assert_eq!(t6["status"], "done");
    assert_eq!(t6["execute"], false);
}

#[test]
fn human_output_lists_positions_markers_and_hash() {
    let repo = repo_with(TASKS);
    let out = repo.run(&["plan", "--change", "CH-001"]).expect(0).stdout();
    assert!(
        out.starts_with("Plan for CH-001 — 10 tasks, 9 to run"),
        "{out}"
    );
    assert!(out.contains("[P] [US1]"), "{out}");
    assert!(out.contains("after T007, T008"), "{out}");
    assert!(out.contains("(done)"), "{out}");
    assert!(out.lines().last().unwrap().starts_with("plan hash sha256:"));
    assert!(!out.contains('\u{1b}'), "colour escapes in piped output");
}

#[test]
fn change_is_taken_from_the_branch_name() {
    let repo = repo_with(TASKS);
    repo.write("changes/CH-002/tasks.md", "- [ ] T001 Other change\n");
    repo.git(&["checkout", "-qb", "change/CH-001-login"]);
    let v = repo.run(&["plan", "--json"]).expect(0).json();
    assert_eq!(v["change"], "CH-001");
}

#[test]
fn change_id_with_dot_dot_is_refused() {
    let repo = repo_with(TASKS);
    for bad in ["../x", "CH-1/../../etc", "a/b"] {
        let r = repo.run(&["plan", "--change", bad]).expect(2);
        assert!(r.stderr().contains("invalid change id"), "{}", r.stderr());
        assert!(r.stdout().is_empty());
    }
}

#[test]
fn malformed_config_exits_2_naming_file_line_and_key() {
    let repo = repo_with(TASKS);
    repo.write(
        ".microloop.toml",
        "[planner]\nseed = 7\nstratgy = \"document\"\n",
    );
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(r.stderr().contains(".microloop.toml:3"), "{}", r.stderr());
    assert!(r.stderr().contains("planner.stratgy"), "{}", r.stderr());
    repo.write(".microloop.toml", "[planner\n");
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(r.stderr().contains(".microloop.toml:1"), "{}", r.stderr());
    repo.write(".microloop.toml", "[retention]\nsuccess_ttl = \"-1d\"\n");
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(
        r.stderr().contains("retention.success_ttl"),
        "{}",
        r.stderr()
    );
}

#[test]
fn precedence_cli_over_env_over_planner_config_over_toml() {
    let repo = repo_with(TASKS);
    let seed = |extra: &[&str], env: Option<&str>| -> u64 {
        let mut args = vec!["plan", "--change", "CH-001", "--json"];
        args.extend_from_slice(extra);
        let mut cmd = repo.cmd(&args);
        if let Some(e) = env {
            cmd.env("MICROLOOP_SEED", e);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["seed"].as_u64().unwrap()
    };
    assert_eq!(seed(&[], None), 42);
    repo.write(".microloop.toml", "[planner]\nseed = 4\n");
    assert_eq!(seed(&[], None), 4);
    repo.write(
        "artifacts/work/CH-001/planner_config.json",
        "{\"seed\":3,\"strategy\":\"spec-like\"}",
    );
    assert_eq!(seed(&[], None), 3);
    assert_eq!(seed(&[], Some("2")), 2);
    assert_eq!(seed(&["--seed", "1"], Some("2")), 1);
}

#[test]
fn bad_seed_strategy_and_env_are_usage_errors() {
    let repo = repo_with(TASKS);
    repo.run(&["plan", "--change", "CH-001", "--seed", "abc"])
        .expect(2);
    repo.run(&["plan", "--change", "CH-001", "--strategy", "random"])
        .expect(2);
    let out = repo
        .cmd(&["plan", "--change", "CH-001"])
        .env("MICROLOOP_SEED", "-5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("MICROLOOP_SEED"));
}

#[test]
fn outside_a_repository_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::BIN)
        .args(["plan", "--change", "CH-001"])
        .current_dir(dir.path())
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not inside a git repository"));
}

#[test]
fn dependency_cycle_is_an_error_that_names_it() {
    let repo = repo_with(
        "## Phase 1\n\n- [ ] T001 First (depends on T002)\n- [ ] T002 Second (depends on T001)\n",
    );
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(r.stderr().contains("dependency cycle"), "{}", r.stderr());
    assert!(r.stderr().contains("T001") && r.stderr().contains("T002"));
}

#[test]
fn damaged_tasks_file_gives_diagnostics_with_lines() {
    let repo = repo_with(&fixture("unified-diff.md"));
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(
        r.stderr().contains("changes/CH-001/tasks.md:1"),
        "{}",
        r.stderr()
    );
}

#[test]
fn non_utf8_tasks_file_is_refused_with_its_line() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.path().join("changes/CH-001")).unwrap();
    std::fs::write(
        repo.path().join("changes/CH-001/tasks.md"),
        b"# Tasks\n- [ ] T001 ok\n- [ ] T002 bad \xff\xfe\n",
    )
    .unwrap();
    let r = repo.run(&["plan", "--change", "CH-001"]).expect(2);
    assert!(r.stderr().contains("tasks.md:3"), "{}", r.stderr());
    assert!(r.stderr().contains("UTF-8"));
}

#[test]
fn missing_tasks_file_falls_back_to_one_task_per_changed_file() {
    let repo = TestRepo::new();
    std::fs::create_dir_all(repo.path().join("changes/CH-001")).unwrap();
    repo.write("src/b.rs", "b\n");
    repo.write("src/a.rs", "a\n");
    let r = repo
        .run(&["plan", "--change", "CH-001", "--json"])
        .expect(0);
    assert!(
        r.stderr().contains("planning one task per changed file"),
        "{}",
        r.stderr()
    );
    let v = r.json();
    assert_eq!(v["fallback"]["reason"], "changes/CH-001/tasks.md not found");
    assert_eq!(v["fallback"]["source"], "uncommitted changes");
    let files: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["files"][0].as_str().unwrap())
        .collect();
    assert_eq!(files, ["src/a.rs", "src/b.rs"]);
}

#[test]
fn fallback_uses_commits_since_base_when_the_tree_is_clean() {
    let repo = TestRepo::new();
    repo.git(&["checkout", "-qb", "change/CH-001"]);
    repo.write("lib/x.rs", "x\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-qm", "x"]);
    let v = repo.run(&["plan", "--json"]).expect(0).json();
    assert_eq!(v["fallback"]["source"], "commits since main");
    assert_eq!(v["tasks"][0]["files"][0], "lib/x.rs");
}

#[test]
fn closed_stdout_ends_quietly() {
    let repo = repo_with(TASKS);
    let mut child = repo
        .cmd(&["plan", "--change", "CH-001", "--json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
