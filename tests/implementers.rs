//! The shipped implementer wrappers (Claude Code, Codex, aider, a plain script) and named
//! presets, checked against fake agents placed first on PATH: each fake records the arguments,
//! environment, working directory and prompt it was given, then makes a small change, so the
//! contract is proved without the real agents — including that task text is never executed.

mod common;

use std::path::{Path, PathBuf};

use common::agents::Agents;
use common::{Run, TestRepo};

/// Task text that a shell would execute if it ever got hold of it.
const HOSTILE: &str = "\
# Tasks: hostile

## Phase 1

- [ ] T001 Create `greeting.txt`
- [ ] T002 Quote `$(touch pwned)` and `touch pwned2`; rm -rf \"$HOME/victim\" || touch pwned3
  - Also: $(touch pwned4) && echo $((1+1)) > pwned5 'quoted' \"double\"
";

/// No `pwned*` file anywhere a shell could have created one, and the victim still there.
fn assert_nothing_executed(repo: &TestRepo, agents: &Agents) {
    let tree = repo.git(&["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(
        !tree.contains("pwned"),
        "a pwned file was committed:\n{tree}"
    );
    for dir in [repo.path(), repo.outside(), agents.bin.as_path()] {
        for entry in walk(dir) {
            let name = entry.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with("pwned"), "{} exists", entry.display());
        }
    }
    assert!(
        repo.outside().join("victim/keep").exists(),
        "victim deleted"
    );
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

fn hostile_repo() -> TestRepo {
    let repo = TestRepo::with_change(HOSTILE);
    std::fs::create_dir_all(repo.outside().join("victim")).unwrap();
    std::fs::write(repo.outside().join("victim/keep"), "keep me\n").unwrap();
    repo
}

#[test]
fn claude_gets_the_prompt_as_one_argument_and_the_task_in_its_environment() {
    let repo = hostile_repo();
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "claude"])
        .expect(0);
    assert_eq!(repo.task_ids("main..HEAD"), ["T001", "T002"]);

    let call = agents.call("claude", "T002");
    let args = call.args();
    assert_eq!(args[0], "-p");
    assert_eq!(&args[2..], ["--permission-mode", "acceptEdits"]);
    let prompt = &args[1];
    assert!(
        prompt.starts_with("Implement task T002 of change CH-001"),
        "{prompt}"
    );
    assert!(
        prompt.contains(
            "Quote `$(touch pwned)` and `touch pwned2`; rm -rf \"$HOME/victim\" || touch pwned3"
        ),
        "{prompt}"
    );
    assert!(
        prompt.contains("$(touch pwned4) && echo $((1+1)) > pwned5 'quoted' \"double\""),
        "{prompt}"
    );
    // The prompt file holds the same words.
    let prompt_file = call.env("MICROLOOP_PROMPT_FILE").unwrap();
    assert_eq!(
        std::fs::read_to_string(&prompt_file).unwrap().trim_end(),
        prompt.trim_end()
    );
    // The environment carries the task; the task file has all of it.
    assert_eq!(call.env("MICROLOOP_TASK_ID").as_deref(), Some("T002"));
    assert_eq!(call.env("MICROLOOP_CHANGE").as_deref(), Some("CH-001"));
    assert_eq!(call.env("MICROLOOP_ATTEMPT").as_deref(), Some("1"));
    assert!(
        call.env("MICROLOOP_TASK_TITLE")
            .unwrap()
            .contains("$(touch pwned)")
    );
    let task_file = call.env("MICROLOOP_TASK_FILE").unwrap();
    let task: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task_file).unwrap()).unwrap();
    assert!(
        task["task"]["text"]
            .as_str()
            .unwrap()
            .contains("$(touch pwned4)")
    );
    // It ran in the run's worktree, not in the user's.
    assert_ne!(Path::new(&call.cwd()), repo.path());
    assert_eq!(call.env("MICROLOOP_WORKTREE").unwrap(), call.cwd());
    assert_eq!(repo.read("work/T002.txt"), "done by claude\n");
    assert_nothing_executed(&repo, &agents);
}

#[test]
fn codex_gets_exec_a_writable_sandbox_extra_arguments_and_the_prompt_last() {
    let repo = hostile_repo();
    let agents = Agents::install(&repo);
    agents
        .run(
            &repo,
            &["run", "--implementer", "codex", "--", "--model", "o4-mini"],
        )
        .expect(0);
    assert_eq!(repo.task_ids("main..HEAD"), ["T001", "T002"]);
    let args = agents.call("codex", "T002").args();
    assert_eq!(
        &args[..6],
        [
            "exec",
            "--sandbox",
            "workspace-write",
            "--color",
            "never",
            "--model"
        ]
    );
    assert_eq!(args[6], "o4-mini");
    assert_eq!(args.len(), 8);
    assert!(args[7].contains("`$(touch pwned)`"), "{}", args[7]);
    assert_nothing_executed(&repo, &agents);
}

#[test]
fn aider_gets_the_prompt_file_and_makes_no_commits_of_its_own() {
    let repo = hostile_repo();
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "aider"])
        .expect(0);
    assert_eq!(repo.task_ids("main..HEAD"), ["T001", "T002"]);
    let call = agents.call("aider", "T002");
    let args = call.args();
    assert_eq!(args[0], "--message-file");
    assert_eq!(args[1], call.env("MICROLOOP_PROMPT_FILE").unwrap());
    assert!(
        std::fs::read_to_string(&args[1])
            .unwrap()
            .contains("rm -rf \"$HOME/victim\"")
    );
    for flag in [
        "--yes-always",
        "--no-auto-commits",
        "--no-dirty-commits",
        "--no-gitignore",
    ] {
        assert!(args.contains(&flag.to_string()), "{flag} missing: {args:?}");
    }
    // aider's history files are kept out of the worktree (they would be committed).
    for flag in ["--chat-history-file", "--input-history-file"] {
        let i = args.iter().position(|a| a == flag).unwrap();
        assert!(
            !Path::new(&args[i + 1]).starts_with(call.cwd()),
            "{flag} {} is inside the worktree",
            args[i + 1]
        );
    }
    assert_nothing_executed(&repo, &agents);
}

#[test]
fn a_configured_preset_runs_its_command_with_the_task_in_its_environment() {
    let repo = TestRepo::with_change(HOSTILE);
    std::fs::create_dir_all(repo.outside().join("victim")).unwrap();
    std::fs::write(repo.outside().join("victim/keep"), "keep me\n").unwrap();
    repo.write(
        ".microloop.toml",
        "[implementers.fake-agent]\ncommand = [\"fake-agent\", \"--flag\", \"two words\"]\n",
    );
    repo.commit_all("config");
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "fake-agent"])
        .expect(0);
    let call = agents.call("fake-agent", "T001");
    assert_eq!(call.args(), ["--flag", "two words"]);
    assert_eq!(call.env("MICROLOOP_TASK_ID").as_deref(), Some("T001"));
    assert_eq!(repo.task_ids("main..HEAD"), ["T001", "T002"]);
    assert_nothing_executed(&repo, &agents);
}

#[test]
fn a_wrapper_in_the_repository_replaces_the_built_in_one() {
    let repo = TestRepo::with_change(HOSTILE);
    repo.write(
        ".microloop/implementers/claude.sh",
        "#!/bin/sh\nset -eu\nexec claude --custom \"$(cat \"$MICROLOOP_PROMPT_FILE\")\" \"$@\"\n",
    );
    repo.commit_all("our own claude wrapper");
    let agents = Agents::install(&repo);
    agents
        .run(&repo, &["run", "--implementer", "claude", "--", "--extra"])
        .expect(0);
    let args = agents.call("claude", "T001").args();
    assert_eq!(args[0], "--custom");
    assert!(args[1].contains("Create `greeting.txt`"), "{}", args[1]);
    assert_eq!(args[2], "--extra");
}

#[test]
fn a_missing_agent_fails_the_task_with_a_message_saying_what_to_install() {
    let repo = TestRepo::with_change(HOSTILE);
    // No fakes on PATH (and no real claude in the test environment's PATH).
    let out = repo
        .cmd(&[
            "run",
            "--implementer",
            "claude",
            "--max-attempts",
            "1",
            "--json",
        ])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let run = Run(out).expect(1);
    let v = run.json();
    let artifacts = repo.path().join("artifacts/work/CH-001");
    let err = walk(&artifacts)
        .into_iter()
        .find(|p| p.ends_with("T001/attempt-1/implement.err"))
        .unwrap_or_else(|| panic!("no implementer log: {v}"));
    let text = std::fs::read_to_string(err).unwrap();
    assert!(
        text.contains("claude (Claude Code) is not on PATH"),
        "{text}"
    );
}

#[test]
fn the_script_example_applies_a_prepared_patch_per_task() {
    let repo =
        TestRepo::with_change("# Tasks\n\n- [ ] T001 Add `hello.txt`\n- [ ] T002 Add `bye.txt`\n");
    // A person prepares T001's patch; T002 has none.
    repo.write("hello.txt", "hello\n");
    repo.git(&["add", "-N", "hello.txt"]);
    let patch = repo.git(&["diff", "--", "hello.txt"]);
    repo.git(&["rm", "-q", "--cached", "hello.txt"]);
    std::fs::remove_file(repo.path().join("hello.txt")).unwrap();
    repo.write("patches/T001.patch", &patch);
    repo.commit_all("patches");

    let out = repo
        .run(&["run", "--implementer", "script", "--max-attempts", "1"])
        .expect(1);
    assert_eq!(
        repo.task_ids("main..HEAD"),
        Vec::<String>::new(),
        "{}",
        out.stderr()
    );
    // T001 was committed on the run branch; T002 failed for want of a patch.
    let runs = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/heads/microloop/",
    ]);
    let run_branch = runs.lines().next().unwrap();
    let files = repo.git(&["ls-tree", "-r", "--name-only", run_branch]);
    assert!(files.lines().any(|l| l == "hello.txt"), "{files}");
    let err = walk(&repo.path().join("artifacts"))
        .into_iter()
        .find(|p| p.ends_with("T002/attempt-1/implement.err"))
        .unwrap();
    assert!(
        std::fs::read_to_string(err)
            .unwrap()
            .contains("no patch for T002"),
    );
}

#[test]
fn implementer_without_a_name_lists_the_presets() {
    let repo = TestRepo::with_change(HOSTILE);
    let out = repo.run(&["run", "--implementer"]).expect(2);
    let err = out.stderr();
    assert!(err.contains("aider, claude, codex, script"), "{err}");
}
