//! The seed's YAML configs (`configs/tests.yaml`, `configs/retention.yaml`) merged with
//! `.microloop.toml`, the environment and the command line, one test per precedence rule:
//! CLI > environment > .microloop.toml > configs/*.yaml > defaults. Runs are real: the QA
//! commands that ran and the attempts the implementer got are counted, not assumed.

mod common;

use common::{Run, TestRepo};
use serde_json::Value;

const ONE_TASK: &str = "# Tasks\n\n- [ ] T001 Create `a.txt`\n";

/// A repository on `change/CH-001` with `files` committed, and an implementer that counts its
/// calls in `calls` outside the repository.
fn repo_with(files: &[(&str, &str)]) -> (TestRepo, String) {
    let repo = TestRepo::with_change(ONE_TASK);
    for (path, text) in files {
        repo.write(path, text);
    }
    if !files.is_empty() {
        repo.commit_all("config");
    }
    let calls = repo.outside().join("calls");
    let implementer = repo.script(
        "implement.sh",
        &format!("echo x >> '{}'\necho a > a.txt", calls.display()),
    );
    (repo, implementer)
}

fn calls(repo: &TestRepo) -> usize {
    std::fs::read_to_string(repo.outside().join("calls"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

/// A QA command that leaves a mark named `name` outside the repository and exits `code`.
fn qa(repo: &TestRepo, name: &str, code: i32) -> String {
    let mark = repo.outside().join(format!("ran-{name}"));
    repo.script(
        &format!("qa-{name}.sh"),
        &format!("touch '{}'\nexit {code}", mark.display()),
    )
}

fn ran(repo: &TestRepo, name: &str) -> bool {
    repo.outside().join(format!("ran-{name}")).exists()
}

fn config(repo: &TestRepo) -> Value {
    repo.run(&["config", "--json"]).expect(0).json()
}

fn run_with(repo: &TestRepo, implementer: &str, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut args = vec!["run"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--implementer", "--", implementer]);
    let mut cmd = repo.cmd(&args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run(cmd.output().unwrap())
}

#[test]
fn tests_yaml_supplies_the_qa_commands_when_the_toml_has_none() {
    let repo = TestRepo::with_change(ONE_TASK);
    let yaml_qa = qa(&repo, "yaml", 0);
    repo.write(
        "configs/tests.yaml",
        &format!("# the seed's layout\ntests:\n  - name: yaml-unit\n    command: [sh, '{yaml_qa}']\n    timeout: 2m\n"),
    );
    repo.write(".microloop.toml", "[planner]\nseed = 7\n");
    repo.commit_all("config");
    let implementer = repo.script("impl.sh", "echo a > a.txt");
    run_with(&repo, &implementer, &[], &[]).expect(0);
    assert!(ran(&repo, "yaml"), "the YAML QA command did not run");
    let c = config(&repo);
    assert_eq!(c["qa"]["source"], "yaml_config");
    assert_eq!(c["qa"]["file"], "configs/tests.yaml");
    assert_eq!(c["qa"]["commands"][0]["name"], "yaml-unit");
    assert_eq!(c["qa"]["commands"][0]["timeout"], "2m");
    assert_eq!(c["qa"]["commands"][0]["required"], true);
}

#[test]
fn toml_qa_wins_over_tests_yaml_as_a_whole() {
    let repo = TestRepo::with_change(ONE_TASK);
    let yaml_qa = qa(&repo, "yaml", 0);
    let toml_qa = qa(&repo, "toml", 0);
    repo.write(
        "configs/tests.yaml",
        &format!("tests:\n  - name: yaml-unit\n    command: [sh, '{yaml_qa}']\n"),
    );
    repo.write(
        ".microloop.toml",
        &format!("[[qa]]\nname = \"toml-unit\"\ncommand = [\"sh\", \"{toml_qa}\"]\n"),
    );
    repo.commit_all("config");
    let implementer = repo.script("impl.sh", "echo a > a.txt");
    run_with(&repo, &implementer, &[], &[]).expect(0);
    assert!(ran(&repo, "toml"));
    assert!(!ran(&repo, "yaml"), "the shadowed YAML QA command ran");
    let c = config(&repo);
    assert_eq!(c["qa"]["source"], "project_config");
    assert_eq!(c["qa"]["commands"].as_array().unwrap().len(), 1);
    let shadowed = c["shadowed"].to_string();
    assert!(
        shadowed.contains("configs/tests.yaml `tests`"),
        "{shadowed}"
    );
    // People see it too.
    let human = repo.run(&["config"]).expect(0).stdout();
    assert!(
        human.contains("ignored: configs/tests.yaml `tests`"),
        "{human}"
    );
}

/// Attempts: every failing attempt calls the implementer once more.
fn attempts_setup(toml: Option<&str>) -> (TestRepo, String) {
    let repo = TestRepo::with_change(ONE_TASK);
    let failing = qa(&repo, "fail", 1);
    repo.write(
        "configs/tests.yaml",
        &format!(
            "max_attempts: 3\ntests:\n  - name: always-fails\n    command: [sh, '{failing}']\n"
        ),
    );
    if let Some(t) = toml {
        repo.write(".microloop.toml", t);
    }
    repo.commit_all("config");
    let counter = repo.outside().join("calls");
    let implementer = repo.script(
        "impl.sh",
        &format!("echo x >> '{}'\necho a > a.txt", counter.display()),
    );
    (repo, implementer)
}

#[test]
fn tests_yaml_max_attempts_applies_over_the_default() {
    let (repo, implementer) = attempts_setup(None);
    run_with(&repo, &implementer, &[], &[]).expect(1);
    assert_eq!(calls(&repo), 3);
    assert_eq!(config(&repo)["max_attempts"]["source"], "yaml_config");
}

#[test]
fn toml_max_attempts_wins_over_tests_yaml() {
    let (repo, implementer) = attempts_setup(Some("[executor]\nmax_attempts = 1\n"));
    run_with(&repo, &implementer, &[], &[]).expect(1);
    assert_eq!(calls(&repo), 1);
    let c = config(&repo);
    assert_eq!(c["max_attempts"]["value"], 1);
    assert_eq!(c["max_attempts"]["source"], "project_config");
}

#[test]
fn environment_wins_over_toml_and_yaml() {
    let (repo, implementer) = attempts_setup(Some("[executor]\nmax_attempts = 1\n"));
    run_with(&repo, &implementer, &[], &[("MICROLOOP_MAX_ATTEMPTS", "2")]).expect(1);
    assert_eq!(calls(&repo), 2);
    let c = Run(repo
        .cmd(&["config", "--json"])
        .env("MICROLOOP_MAX_ATTEMPTS", "2")
        .output()
        .unwrap())
    .expect(0)
    .json();
    assert_eq!(c["max_attempts"]["source"], "env");
    // A bad value is refused, naming the variable.
    let bad = run_with(
        &repo,
        &implementer,
        &[],
        &[("MICROLOOP_MAX_ATTEMPTS", "11")],
    )
    .expect(2);
    assert!(
        bad.stderr().contains("MICROLOOP_MAX_ATTEMPTS"),
        "{}",
        bad.stderr()
    );
}

#[test]
fn command_line_wins_over_everything() {
    let (repo, implementer) = attempts_setup(Some("[executor]\nmax_attempts = 1\n"));
    run_with(
        &repo,
        &implementer,
        &["--max-attempts", "4"],
        &[("MICROLOOP_MAX_ATTEMPTS", "2")],
    )
    .expect(1);
    assert_eq!(calls(&repo), 4);
}

#[test]
fn retention_yaml_applies_unless_the_toml_has_a_retention_section() {
    let (repo, _) = repo_with(&[(
        "configs/retention.yaml",
        "# FR-27 retention\nsuccess_ttl: 3d\nrequired_approvals: [PM, QA]\nkeep_last: 2\n",
    )]);
    let c = config(&repo);
    assert_eq!(c["retention"]["source"], "yaml_config");
    assert_eq!(c["retention"]["file"], "configs/retention.yaml");
    let p = &c["retention"]["policy"];
    assert_eq!(p["success_ttl"], "3d");
    assert_eq!(p["keep_last"], 2);
    assert_eq!(p["required_approvals"], serde_json::json!(["PM", "QA"]));
    // Keys the YAML leaves out take the defaults.
    assert_eq!(p["failed_review_after"], "14d");

    repo.write(".microloop.toml", "[retention]\nsuccess_ttl = \"1d\"\n");
    let c = config(&repo);
    assert_eq!(c["retention"]["source"], "project_config");
    assert_eq!(c["retention"]["policy"]["success_ttl"], "1d");
    assert_eq!(
        c["retention"]["policy"]["keep_last"], 1,
        "a mix of both files"
    );
    assert!(c["shadowed"].to_string().contains("configs/retention.yaml"));
}

#[test]
fn no_yaml_and_no_toml_means_defaults() {
    let (repo, _) = repo_with(&[]);
    let c = config(&repo);
    assert_eq!(c["qa"]["source"], "default");
    assert_eq!(
        c["max_attempts"],
        serde_json::json!({"value": 2, "source": "default", "file": null})
    );
    assert_eq!(c["retention"]["source"], "default");
    assert!(c["retention"]["policy"].is_null());
}

#[test]
fn a_yaml_syntax_error_names_file_line_and_column() {
    let (repo, implementer) = repo_with(&[(
        "configs/tests.yaml",
        "tests:\n  - name: unit\n    command: [pytest, -q\n",
    )]);
    for out in [
        repo.run(&["config"]),
        repo.run(&["plan"]),
        run_with(&repo, &implementer, &[], &[]),
    ] {
        let err = out.expect(2).stderr();
        assert!(
            err.contains("error: invalid configuration: configs/tests.yaml:3:"),
            "{err}"
        );
        assert!(err.contains("hint: fix configs/tests.yaml"), "{err}");
    }
}

#[test]
fn unknown_and_invalid_yaml_keys_are_refused_with_their_place() {
    let (repo, _) = repo_with(&[("configs/retention.yaml", "success_ttl: 7d\nkeep_lsat: 2\n")]);
    let err = repo.run(&["config"]).expect(2).stderr();
    assert!(
        err.contains("configs/retention.yaml:2:1: `keep_lsat`: unknown field `keep_lsat`"),
        "{err}"
    );
    repo.write("configs/retention.yaml", "success_ttl: -7d\n");
    let err = repo.run(&["config"]).expect(2).stderr();
    assert!(err.contains("configs/retention.yaml:1:"), "{err}");
    assert!(err.contains("`success_ttl`"), "{err}");
    assert!(err.contains("negative"), "{err}");
    repo.write("configs/retention.yaml", "");
    repo.write(
        "configs/tests.yaml",
        "tests:\n  - name: unit\n    command: pytest -q\n",
    );
    let err = repo.run(&["config"]).expect(2).stderr();
    assert!(err.contains("configs/tests.yaml:3:"), "{err}");
    assert!(err.contains("`tests[0].command`"), "{err}");
    assert!(err.contains("list of arguments"), "{err}");
}
