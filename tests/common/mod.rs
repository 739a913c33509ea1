//! Test harness: temporary repositories driven by the real `git` and the built binary, in a
//! cleared and pinned environment so output is byte-stable (after git-branchless's testing.rs).
#![allow(dead_code)] // each test binary uses a different part of the harness

pub mod agents;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-microloop");

/// The corpus of real tasks.md files beside the repository, if present.
pub fn corpus_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/speckit-tasks");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping corpus-based checks: ../shared/corpus/speckit-tasks not found");
        None
    }
}

/// Our own fixture files.
pub fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tasks")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

pub struct TestRepo {
    pub dir: TempDir,
    home: TempDir,
}

impl TestRepo {
    /// A fresh repository on branch `main` with one commit.
    pub fn new() -> Self {
        let repo = Self::empty();
        repo.write("README.md", "sample\n");
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-qm", "initial"]);
        repo
    }

    /// `git init` only: unborn `main`.
    pub fn empty() -> Self {
        let repo = TestRepo {
            dir: tempfile::tempdir().expect("temp dir"),
            home: tempfile::tempdir().expect("temp home"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A folder outside the repository for scripts and markers.
    pub fn outside(&self) -> &Path {
        self.home.path()
    }

    /// Write an executable shell script outside the repository and return its path.
    pub fn script(&self, name: &str, body: &str) -> String {
        use std::os::unix::fs::PermissionsExt;
        let p = self.home.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p.to_string_lossy().into_owned()
    }

    /// Commit everything on the current branch.
    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-qm", message]);
    }

    /// A repository on `change/CH-001` whose committed tasks.md is `tasks`.
    pub fn with_change(tasks: &str) -> Self {
        let repo = TestRepo::new();
        repo.git(&["checkout", "-qb", "change/CH-001"]);
        repo.write("changes/CH-001/tasks.md", tasks);
        repo.commit_all("tasks");
        repo
    }

    /// A fresh clone of `branch` beside the repository (no local artifacts or run state).
    pub fn fresh_clone(&self, branch: &str) -> PathBuf {
        let clone = self.outside().join("clone");
        self.git(&[
            "clone",
            "-q",
            "--branch",
            branch,
            self.path().to_str().expect("utf-8 temp path"),
            clone.to_str().expect("utf-8 temp path"),
        ]);
        clone
    }

    /// A bare repository outside this one, added as remote `origin`, with `main` pushed.
    pub fn bare_remote(&self) -> PathBuf {
        let bare = self.outside().join("remote.git");
        let path = bare.to_str().expect("utf-8 temp path");
        self.git(&["init", "-q", "--bare", path]);
        self.git(&["remote", "add", "origin", path]);
        self.git(&["push", "-q", "origin", "main"]);
        bare
    }

    /// `git` with the built `git-microloop` first on PATH, as an installed hook would find it.
    pub fn git_with_tool(&self, args: &[&str]) -> Run {
        let bin_dir = Path::new(BIN).parent().expect("binary has a folder");
        let path = std::env::join_paths(std::iter::once(bin_dir.to_path_buf()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .expect("PATH");
        let mut cmd = Command::new("git");
        self.pin(&mut cmd);
        cmd.env("PATH", path).args(args);
        Run(cmd.output().expect("run git"))
    }

    /// Task ids of the micro-task commits of `range`, oldest first, read by git itself
    /// (`%(trailers)`).
    pub fn task_ids(&self, range: &str) -> Vec<String> {
        task_ids_in(&self.git(&task_ids_log(range)))
    }

    /// `git rev-parse <rev>`.
    pub fn rev(&self, rev: &str) -> String {
        self.git(&["rev-parse", rev]).trim().to_string()
    }

    pub fn write(&self, rel: &str, content: &str) {
        let p = self.path().join(rel);
        std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read")
    }

    /// The pinned environment every process in a test gets.
    pub fn pin(&self, cmd: &mut Command) {
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Committer")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env("GIT_AUTHOR_DATE", "2026-11-24T10:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-11-24T10:00:00Z")
            .env("GIT_EDITOR", ":")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .current_dir(self.path());
    }

    /// Run git; panics (with its stderr) unless it succeeds.
    pub fn git(&self, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        self.pin(&mut cmd);
        let out = cmd.args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A `git-microloop` command, pinned, not yet run.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        self.pin(&mut cmd);
        cmd.args(args);
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.cmd(args).output().expect("run git-microloop"))
    }

    /// `git-microloop <args>` with no git identity anywhere (set `user.useConfigOnly` too).
    pub fn cmd_without_identity(&self, args: &[&str]) -> Command {
        let mut cmd = self.cmd(args);
        for var in [
            "GIT_AUTHOR_NAME",
            "GIT_AUTHOR_EMAIL",
            "GIT_COMMITTER_NAME",
            "GIT_COMMITTER_EMAIL",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("EMAIL", "");
        cmd
    }

    /// Start `run` with an implementer script that touches a file, then runs `then` (a
    /// `sleep`, say), and return (the process, the script) once the implementer has started:
    /// the run holds its lock.
    pub fn spawn_run_started(&self, then: &str) -> (std::process::Child, String) {
        let started = self.outside().join("started");
        let _ = std::fs::remove_file(&started);
        let imp = self.script("slow.sh", &format!("touch '{}'; {then}", started.display()));
        let child = self
            .cmd(&["run", "--implementer", "--", &imp])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn git-microloop run");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !started.exists() {
            assert!(
                std::time::Instant::now() < deadline,
                "the implementer never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        (child, imp)
    }
}

/// The `git log` arguments that print the task ids of `range`'s micro-task commits, oldest
/// first, one per line — git's own trailer parsing, for a repository a `TestRepo` is not.
pub fn task_ids_log(range: &str) -> [&str; 4] {
    [
        "log",
        "--reverse",
        "--format=%(trailers:key=Microloop-Task,valueonly)",
        range,
    ]
}

/// The task ids in the output of `git` with `task_ids_log`.
pub fn task_ids_in(log: &str) -> Vec<String> {
    log.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every entry under `dir` (paths relative to it; a folder with a trailing `/` and no bytes,
/// a link as its target) and its bytes.
pub fn file_tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let ft = e.file_type().expect("file type");
            let rel = p.strip_prefix(dir).expect("under dir").to_path_buf();
            if ft.is_symlink() {
                let target = std::fs::read_link(&p).expect("read link");
                out.insert(rel, target.into_os_string().into_encoded_bytes());
            } else if ft.is_dir() {
                out.insert(rel.join(""), Vec::new());
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).expect("read file"));
            }
        }
    }
    out
}

/// What cleanup must leave alone in a dry run, byte for byte: the refs (loose and packed) and
/// the artifacts folder.
pub fn cleanup_protected(repo: &TestRepo) -> Vec<std::collections::BTreeMap<PathBuf, Vec<u8>>> {
    let git = repo.path().join(".git");
    let mut packed = std::collections::BTreeMap::new();
    if let Ok(b) = std::fs::read(git.join("packed-refs")) {
        packed.insert(PathBuf::from("packed-refs"), b);
    }
    vec![
        file_tree(&git.join("refs")),
        packed,
        file_tree(&repo.path().join("artifacts")),
    ]
}

/// Assert that `summary` is valid against `docs/summary.schema.json`.
pub fn assert_valid_summary(summary: &serde_json::Value) {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/summary.schema.json"),
    )
    .expect("read the schema");
    let schema = jsonschema::validator_for(&serde_json::from_str(&text).expect("schema JSON"))
        .expect("a valid schema");
    let errors: Vec<String> = schema.iter_errors(summary).map(|e| e.to_string()).collect();
    assert!(
        errors.is_empty(),
        "summary.json invalid: {errors:#?}\n{summary:#}"
    );
}

/// `cleanup --json`'s decisions by run id: (state, reason, purge).
pub fn decisions_by_run(
    v: &serde_json::Value,
) -> std::collections::BTreeMap<String, (String, String, bool)> {
    v["decisions"]
        .as_array()
        .expect("decisions")
        .iter()
        .map(|d| {
            let s = |k: &str| d[k].as_str().expect(k).to_string();
            (
                s("run_id"),
                (
                    s("state"),
                    s("reason"),
                    d["purge"].as_bool().expect("purge"),
                ),
            )
        })
        .collect()
}

/// A finished process with helpers for asserting on it.
pub struct Run(pub Output);

impl Run {
    pub fn code(&self) -> i32 {
        self.0.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.0.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.0.stderr).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.0.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout()))
    }

    /// Assert the exit code, showing both streams when it differs.
    pub fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code(),
            code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
