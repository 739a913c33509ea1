//! The bad-input catalogue (`docs/BAD_INPUT.md`): one test per row, each driving the built
//! binary against real git repositories. Every row checks three things:
//!
//! 1. a clear message: what was wrong, where (file:line when there is one), and what to do
//!    next (a `hint:` line);
//! 2. the documented exit code: 2 for bad usage, bad input or an environment we cannot work
//!    in, 1 for "the checked thing is not OK" — and never 101 (a panic);
//! 3. nothing changed or lost: refs, HEAD, linked worktrees, run state and every file of the
//!    working tree are compared before and after (the user's uncommitted edit and untracked
//!    file included), so a refused command provably wrote nothing.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Run, TestRepo, task_ids_in, task_ids_log};

const TASKS: &str = "\
# Tasks: bad input

## Phase 1: Setup

- [ ] T001 Create `a.txt`
- [ ] T002 [P] Create `b.txt`
";

/// An implementer that appends the task id to a file named after it.
const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

const USER_EDIT: &str = "sample\nmy uncommitted edit\n";
const USER_NOTE: &str = "mine, never added\n";

/// A change repository holding the user's own uncommitted work: an edited tracked file and an
/// untracked one. Returns the repository and the implementer script.
fn repo_with(tasks: &str) -> (TestRepo, String) {
    let repo = TestRepo::with_change(tasks);
    repo.write("README.md", USER_EDIT);
    repo.write("notes/untracked.txt", USER_NOTE);
    let imp = repo.script("impl.sh", IMPL);
    (repo, imp)
}

/// The user's work is still there, byte for byte.
fn assert_user_work_intact(repo: &TestRepo) {
    assert_eq!(repo.read("README.md"), USER_EDIT, "the user's edit changed");
    assert_eq!(
        repo.read("notes/untracked.txt"),
        USER_NOTE,
        "the user's untracked file changed"
    );
}

// ---------------------------------------------------------------------------------------------
// "Nothing changed": a snapshot of everything a command could touch.

#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    head: String,
    refs: String,
    worktrees: String,
    /// Every file below the working tree, `.git` excluded: its bytes (a signature for big ones).
    files: BTreeMap<String, String>,
    /// What lives under `.git/microloop/` (run state, plans, run worktrees), lock files aside:
    /// a lock file is created empty by any command that takes the lock and holds no state.
    run_data: Vec<String>,
}

fn snapshot(repo: &TestRepo) -> Snapshot {
    snapshot_at(repo, repo.path(), &repo.path().join(".git"))
}

fn snapshot_at(repo: &TestRepo, workdir: &Path, git_dir: &Path) -> Snapshot {
    let git = |args: &[&str]| -> String {
        let mut cmd = Command::new("git");
        repo.pin(&mut cmd);
        let out = cmd.current_dir(workdir).args(args).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut files = BTreeMap::new();
    walk(workdir, workdir, &mut files, &|rel| rel == ".git");
    let mut run_data = BTreeMap::new();
    walk(
        &git_dir.join("microloop"),
        &git_dir.join("microloop"),
        &mut run_data,
        &|rel| rel.ends_with("/lock"),
    );
    Snapshot {
        head: std::fs::read_to_string(git_dir.join("HEAD")).unwrap_or_default(),
        refs: git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
        worktrees: git(&["worktree", "list", "--porcelain"]),
        files,
        // Folders aside too: taking the lock creates the change's folder.
        run_data: run_data.into_keys().filter(|k| !k.ends_with('/')).collect(),
    }
}

/// Record every file below `dir` (relative to `root`): small files by their bytes, big ones by
/// size, modification time and first bytes (hashing 100 MB in a debug build would be slow).
fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>, skip: &dyn Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if skip(&rel) {
            continue;
        }
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.file_type().is_symlink() {
            out.insert(rel, format!("-> {:?}", std::fs::read_link(&path).unwrap()));
        } else if meta.is_dir() {
            out.insert(format!("{rel}/"), String::new());
            walk(root, &path, out, skip);
        } else if meta.len() > 1 << 20 {
            use std::io::Read;
            let mut head = Vec::new();
            let _ = std::fs::File::open(&path).map(|f| f.take(4096).read_to_end(&mut head));
            out.insert(
                rel,
                format!(
                    "{} bytes, modified {:?}, {}",
                    meta.len(),
                    meta.modified().ok(),
                    String::from_utf8_lossy(&head)
                ),
            );
        } else {
            let bytes = std::fs::read(&path).unwrap_or_default();
            out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
}

/// Fail with what differs (not two pages of Debug output).
fn assert_unchanged(before: &Snapshot, after: &Snapshot, what: &str) {
    if before == after {
        return;
    }
    let mut diff = Vec::new();
    for (name, a, b) in [
        ("HEAD", &before.head, &after.head),
        ("refs", &before.refs, &after.refs),
        ("worktrees", &before.worktrees, &after.worktrees),
    ] {
        if a != b {
            diff.push(format!("{name}: {a:?} -> {b:?}"));
        }
    }
    for k in before.files.keys().chain(after.files.keys()) {
        if before.files.get(k) != after.files.get(k) && !diff.iter().any(|d| d.ends_with(k)) {
            diff.push(format!("file changed, added or removed: {k}"));
        }
    }
    if before.run_data != after.run_data {
        diff.push(format!(
            "run data: {:?} -> {:?}",
            before.run_data, after.run_data
        ));
    }
    panic!("{what} changed something:\n  {}", diff.join("\n  "));
}

// ---------------------------------------------------------------------------------------------
// Messages and exit codes.

/// Assert the exit code (never a panic's 101) and that stderr holds every part, an `error:`
/// line and a `hint:` line.
fn refused(r: Run, code: i32, parts: &[&str]) -> Run {
    assert_ne!(r.code(), 101, "panicked:\n{}", r.stderr());
    let r = r.expect(code);
    let err = r.stderr();
    for p in parts.iter().chain(&["error:", "hint:"]) {
        assert!(err.contains(p), "stderr lacks {p:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    r
}

fn run_cmd(imp: &str) -> Vec<&str> {
    vec!["run", "--implementer", "--", imp]
}

// ---------------------------------------------------------------------------------------------
// Making a write fail, for root too.
//
// These tests run as root on the project's machine, and root ignores permission bits: a folder
// with mode 0555 does not stop it. So a folder is made to refuse writes by the first of these
// that really works here (each is proven by a probe write before a test relies on it):
//
// 1. `chattr +i` — the immutable attribute, which refuses every write, root's included (needs
//    CAP_LINUX_IMMUTABLE and a filesystem that has the attribute: ext4, xfs, btrfs);
// 2. mode 0555 — when the tests do not run as root;
// 3. a regular file where the folder belongs — creating anything below it fails with ENOTDIR
//    for every user on every filesystem. A different errno, the same code path: a write that
//    fails where the run expected to write.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Immutable,
    ReadOnlyMode,
    FileInTheWay,
}

impl Block {
    /// The strongest way that works on this machine, checked on a scratch folder.
    /// `BAD_INPUT_BLOCK=file` forces the last one (to try on a machine where `chattr` works
    /// the path another machine takes).
    fn available(scratch: &Path) -> Block {
        if std::env::var("BAD_INPUT_BLOCK").as_deref() == Ok("file") {
            return Block::FileInTheWay;
        }
        let dir = scratch.join("block-probe");
        std::fs::create_dir_all(&dir).unwrap();
        for way in [Block::Immutable, Block::ReadOnlyMode] {
            if way.apply(&dir) {
                let refused = std::fs::write(dir.join("x"), b"x").is_err();
                way.lift(&dir);
                let _ = std::fs::remove_file(dir.join("x"));
                if refused {
                    return way;
                }
            }
        }
        Block::FileInTheWay
    }

    /// Make `dir` refuse writes; false if this way is not available.
    fn apply(self, dir: &Path) -> bool {
        match self {
            Block::Immutable => sh(&format!("chattr +i '{}' 2>/dev/null", dir.display())),
            Block::ReadOnlyMode => sh(&format!("chmod a-w '{}'", dir.display())),
            Block::FileInTheWay => {
                let aside = aside(dir);
                std::fs::rename(dir, &aside).is_ok() && std::fs::write(dir, b"in the way\n").is_ok()
            }
        }
    }

    /// The same as a shell command, for an implementer to run in the middle of a run. `dir`
    /// goes in double quotes, so a `$VARIABLE` in it is expanded (temporary paths hold no `"`,
    /// `$` or `\\` of their own).
    fn command(self, dir: &str) -> String {
        match self {
            Block::Immutable => format!("chattr +i \"{dir}\""),
            Block::ReadOnlyMode => format!("chmod a-w \"{dir}\""),
            Block::FileInTheWay => {
                format!("mv \"{dir}\" \"{dir}.aside\" && echo in the way > \"{dir}\"")
            }
        }
    }

    /// Undo `apply` (also when a test fails: see `Unblock`).
    fn lift(self, dir: &Path) {
        match self {
            Block::Immutable => {
                sh(&format!("chattr -i '{}' 2>/dev/null", dir.display()));
            }
            Block::ReadOnlyMode => {
                sh(&format!("chmod u+w '{}'", dir.display()));
            }
            Block::FileInTheWay => {
                let aside = aside(dir);
                if aside.exists() {
                    let _ = std::fs::remove_file(dir);
                    let _ = std::fs::rename(&aside, dir);
                }
            }
        }
    }
}

fn aside(dir: &Path) -> PathBuf {
    PathBuf::from(format!("{}.aside", dir.display()))
}

fn sh(script: &str) -> bool {
    Command::new("sh")
        .args(["-c", script])
        .status()
        .is_ok_and(|s| s.success())
}

/// Lifts a block when dropped, so an immutable folder never outlives a failing test (the temp
/// folder could not be removed otherwise).
struct Unblock(Block, PathBuf);

impl Drop for Unblock {
    fn drop(&mut self) {
        self.0.lift(&self.1);
    }
}

// ---------------------------------------------------------------------------------------------
// The rows.

#[test]
fn non_utf8_or_binary_tasks_md_is_refused_at_its_line() {
    let cases: [(&[u8], &str, &str); 3] = [
        (
            b"# Tasks\n\n- [ ] T001 ok\n- [ ] T002 bad \xff\xfe here\n",
            "changes/CH-001/tasks.md:4: error: not valid UTF-8",
            "save tasks.md as UTF-8",
        ),
        (
            b"# Tasks\n\n- [ ] T001 a\0b\n",
            "changes/CH-001/tasks.md:3: error: contains a NUL byte",
            "must be a text file",
        ),
        (
            // The start of a PNG: a binary file saved under the task list's name.
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10",
            "changes/CH-001/tasks.md:1: error: not valid UTF-8",
            "save tasks.md as UTF-8",
        ),
    ];
    for (bytes, message, hint) in cases {
        let (repo, imp) = repo_with(TASKS);
        std::fs::write(repo.path().join("changes/CH-001/tasks.md"), bytes).unwrap();
        let before = snapshot(&repo);
        refused(repo.run(&["plan"]), 2, &[message, hint]);
        refused(repo.run(&["plan", "--json"]), 2, &[message]);
        assert_unchanged(&before, &snapshot(&repo), "plan");

        // `run` plans from the commit: the same file committed is refused the same way.
        repo.git(&["add", "changes/CH-001/tasks.md"]);
        repo.git(&["commit", "-qm", "damaged tasks"]);
        let before = snapshot(&repo);
        refused(repo.run(&run_cmd(&imp)), 2, &[message, "cannot be planned"]);
        assert_unchanged(&before, &snapshot(&repo), "a refused run");
        assert_user_work_intact(&repo);
    }
}

#[test]
fn a_100_mb_tasks_md_is_refused_before_it_is_read() {
    let (repo, imp) = repo_with(TASKS);
    // 100 MiB of well-formed task lines, generated here rather than stored.
    let line = "- [ ] T000001 Implement the thing in `src/a.rs` (depends on T000000)\n";
    let body = line.repeat((100 << 20) / line.len() + 1);
    let tasks = repo.path().join("changes/CH-001/tasks.md");
    std::fs::write(&tasks, format!("# Tasks\n\n## Phase 1\n\n{body}")).unwrap();
    drop(body);
    let message = "changes/CH-001/tasks.md: error: the file is 100.0 MiB; a task list may be at \
                   most 16 MiB";

    // The memory bound is real: under a 600 MB address-space limit, reading and parsing the
    // file (about 1.5 GB) would abort the process instead of exiting 2.
    let limited = |args: &[&str]| -> Run {
        let mut cmd = Command::new("sh");
        repo.pin(&mut cmd);
        cmd.arg("-c")
            .arg("ulimit -v 600000; exec \"$0\" \"$@\"")
            .arg(common::BIN)
            .args(args);
        let t0 = Instant::now();
        let out = cmd.output().unwrap();
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "took {:?}",
            t0.elapsed()
        );
        Run(out)
    };
    let before = snapshot(&repo);
    refused(limited(&["plan"]), 2, &[message, "split a larger change"]);
    assert_unchanged(&before, &snapshot(&repo), "plan");

    // Committed, it is refused from the object's header, without loading the blob.
    repo.git(&["add", "changes/CH-001/tasks.md"]);
    repo.git(&["commit", "-qm", "huge tasks"]);
    let before = snapshot(&repo);
    refused(limited(&run_cmd(&imp)), 2, &[message]);
    assert_unchanged(&before, &snapshot(&repo), "a refused run");
    assert_user_work_intact(&repo);
}

#[test]
fn a_1_mb_single_line_is_planned_quickly_and_run() {
    // One task whose line is 1 MiB of words, code spans, paths and parentheses — the shapes
    // the grammar looks for — then an ordinary task.
    let words = "word `src/x.rs` (a) [P] T001 **b** ".repeat(40_000);
    let tasks = format!(
        "# Tasks\n\n## Phase 1\n\n- [ ] T001 {}\n- [ ] T002 next\n",
        &words[..1 << 20]
    );
    let (repo, imp) = repo_with(&tasks);
    let t0 = Instant::now();
    let plan = repo.run(&["plan", "--json"]).expect(0).json();
    assert!(
        t0.elapsed() < Duration::from_secs(15),
        "planning a 1 MiB line took {:?}",
        t0.elapsed()
    );
    let keys: Vec<&str> = plan["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["T001", "T002"]);

    let base = repo.rev("HEAD");
    repo.run(&run_cmd(&imp)).expect(0);
    assert_eq!(repo.task_ids(&format!("{base}..HEAD")), ["T001", "T002"]);
    let subject = repo.git(&["log", "-1", "--format=%s", "HEAD~2"]);
    assert!(
        subject.trim_end().chars().count() <= 100,
        "subject not cut: {} chars",
        subject.len()
    );
    repo.run(&["checklist"]).expect(0);
    assert_user_work_intact(&repo);
}

#[test]
fn a_dependency_cycle_is_refused_naming_its_tasks_and_lines() {
    let (repo, imp) = repo_with(
        "# Tasks\n\n## Phase 1\n\n\
         - [ ] T001 a (depends on T003)\n\
         - [ ] T002 b (depends on T001)\n\
         - [ ] T003 c (depends on T002)\n",
    );
    let message = "changes/CH-001/tasks.md:5: error: dependency cycle: T001 (line 5) → T003 \
                   (line 7) → T002 (line 6) → T001";
    let before = snapshot(&repo);
    refused(
        repo.run(&["plan"]),
        2,
        &[message, "remove one of the dependencies"],
    );
    refused(repo.run(&run_cmd(&imp)), 2, &[message]);
    assert_unchanged(&before, &snapshot(&repo), "a refused run");
}

#[test]
fn duplicate_task_ids_are_kept_apart_with_a_warning() {
    let (repo, imp) = repo_with(
        "# Tasks\n\n## Phase 1\n\n\
         - [ ] T001 first\n\
         - [ ] T001 second with the same id\n\
         - [ ] T002 after both (depends on T001)\n",
    );
    // Documented behaviour: a warning, not an error — both tasks are kept (never merged) and
    // the second is keyed T001#2.
    let r = repo.run(&["plan", "--json"]).expect(0);
    let err = r.stderr();
    assert!(
        err.contains(
            "warning: changes/CH-001/tasks.md:6: duplicate task id T001 (first at line 5, \
             again at line 6); both are kept, this one as T001#2"
        ) && err.contains("hint: renumber one of them"),
        "{err}"
    );
    let keys: Vec<String> = r.json()["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["key"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys, ["T001", "T001#2", "T002"]);

    let base = repo.rev("HEAD");
    repo.run(&run_cmd(&imp)).expect(0);
    assert_eq!(
        repo.task_ids(&format!("{base}..HEAD")),
        ["T001", "T001#2", "T002"],
        "each task exactly once, none merged or lost"
    );
    assert_user_work_intact(&repo);
}

#[test]
fn unsafe_change_ids_are_refused_before_any_path_is_built() {
    let (repo, imp) = repo_with(TASKS);
    let before = snapshot(&repo);
    // Through --change, in every command that takes one.
    let ids: [(&str, &str); 8] = [
        ("../x", "contains `..`, which could escape its folder"),
        ("CH-1/..", "contains `..`"),
        ("a/b", "contains a path separator"),
        ("CH-1\u{1}", r#""CH-1\u{1}" contains a control character"#),
        ("CH-1\nx", r#""CH-1\nx" contains a control character"#),
        (
            "CH-1\u{1b}[31m",
            r#""CH-1\u{1b}[31m" contains a control character"#,
        ),
        ("-CH-1", "a leading `-`"),
        (".CH-1", "a leading `.`"),
    ];
    for (id, says) in ids {
        let flag = format!("--change={id}");
        for cmd in [
            vec!["plan", flag.as_str()],
            vec!["run", flag.as_str(), "--implementer", "--", &imp],
            vec!["continue", flag.as_str()],
            vec!["abort", flag.as_str()],
            vec!["status", flag.as_str()],
            vec!["show", flag.as_str()],
            vec!["checklist", flag.as_str()],
        ] {
            refused(
                repo.run(&cmd),
                2,
                &["invalid change id", says, "hint: a change id is"],
            );
        }
    }
    refused(repo.run(&["plan", "--change="]), 2, &["change id is empty"]);
    assert_unchanged(&before, &snapshot(&repo), "refused change ids");

    // Through a branch name: git itself refuses `..` and control characters in ref names, so
    // what can reach us is a separator, with a pattern loose enough to match one.
    repo.write(".microloop.toml", "[change]\npattern = \".+\"\n");
    repo.git(&["checkout", "-qb", "feature/x"]);
    let before = snapshot(&repo);
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &[r#"change id "feature/x" contains a path separator"#],
    );
    refused(repo.run(&["plan"]), 2, &["contains a path separator"]);
    assert_unchanged(&before, &snapshot(&repo), "a change id from a branch name");

    // NUL cannot come through argv (execve takes C strings) or a ref name (git refuses it); it
    // can come through the pre-push hook's standard input. A ref carrying NUL or control
    // characters is checked as whatever change id can be found in it, and nothing is written.
    repo.git(&["checkout", "-q", "change/CH-001"]);
    std::fs::remove_file(repo.path().join(".microloop.toml")).unwrap();
    let head = repo.rev("HEAD");
    let zero = "0".repeat(40);
    let before = snapshot(&repo);
    let mut hook = repo
        .cmd(&["checklist", "--hook", "pre-push", "origin", "/nowhere"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = hook.stdin.take().unwrap();
        stdin
            .write_all(
                format!(
                    "refs/heads/CH-9\0/../x {head} refs/heads/..\u{1}/CH-9 {zero}\n\
                     refs/heads/\0\0 {head} refs/heads/\u{1b}[2J {zero}\n"
                )
                .as_bytes(),
            )
            .unwrap();
    }
    let out = hook.wait_with_output().unwrap();
    // A refused push: the checked thing (the change's run metadata) is not OK.
    let r = refused(Run(out), 1, &["push refused", "git push --no-verify"]);
    assert!(r.stderr().contains("Checklist for CH-9"), "{}", r.stderr());
    assert_unchanged(&before, &snapshot(&repo), "the pre-push hook");
}

#[test]
fn malformed_or_wrongly_typed_config_is_refused_with_file_line_and_key() {
    let cases: [(&str, &str, &[&str]); 10] = [
        (
            ".microloop.toml",
            "[planner\nseed = 1\n",
            &[".microloop.toml:1: `planner`: unclosed table"],
        ),
        (
            ".microloop.toml",
            "# mine\n[executor]\nmax_attempts = \"many\"\n",
            &[".microloop.toml:3: `executor.max_attempts`: invalid type: string \"many\""],
        ),
        (
            ".microloop.toml",
            "[[qa]]\nname = \"unit\"\ncommand = \"cargo test\"\n",
            &[".microloop.toml:3: `qa.command`", "not a string"],
        ),
        (
            ".microloop.toml",
            "[planner]\nstratgy = \"document\"\n",
            &[".microloop.toml:2: `planner.stratgy`: unknown field `stratgy`"],
        ),
        (
            ".microloop.toml",
            "[planner]\n\nseed = [1, 2]\n",
            &[".microloop.toml:3: `planner.seed`: invalid type: sequence"],
        ),
        (
            "configs/tests.yaml",
            "tests:\n  - name: unit\n    command: [pytest\n",
            &["configs/tests.yaml:3:14: `tests[0].command`: unclosed bracket"],
        ),
        (
            "configs/tests.yaml",
            "tests: 5\n",
            &["configs/tests.yaml:1:8: `tests`: expected a list"],
        ),
        (
            "configs/tests.yaml",
            "max_attempts: many\n",
            &["configs/tests.yaml:1:15: `max_attempts`: expected a whole number"],
        ),
        (
            "configs/retention.yaml",
            "keep_summary: maybe\n",
            &["configs/retention.yaml:1:15: `keep_summary`: expected true or false"],
        ),
        (
            "artifacts/work/CH-001/planner_config.json",
            "{\"seed\": 42,",
            &["artifacts/work/CH-001/planner_config.json:1: EOF while parsing"],
        ),
    ];
    for (file, text, says) in cases {
        let (repo, imp) = repo_with(TASKS);
        repo.write(file, text);
        let before = snapshot(&repo);
        let hint = format!("hint: fix {file}");
        let mut parts = says.to_vec();
        parts.extend(["error: invalid configuration", hint.as_str()]);
        refused(repo.run(&["plan"]), 2, &parts);
        refused(repo.run(&run_cmd(&imp)), 2, &parts);
        if !file.ends_with(".json") {
            // `config` shows the project's files; planner_config.json belongs to a change.
            refused(repo.run(&["config"]), 2, &parts);
        }
        assert_unchanged(&before, &snapshot(&repo), file);
    }
}

#[test]
fn a_negative_or_huge_ttl_is_refused() {
    let cases: [(&str, &str, &str); 5] = [
        (
            ".microloop.toml",
            "[retention]\nsuccess_ttl = \"-1d\"\n",
            ".microloop.toml:2: `retention.success_ttl`: negative duration `-1d`",
        ),
        (
            ".microloop.toml",
            "[retention]\nsuccess_ttl = -5\n",
            ".microloop.toml:2: `retention.success_ttl`: negative duration `-5`",
        ),
        (
            ".microloop.toml",
            "[retention]\nfailed_review_after = \"36600d\"\n",
            ".microloop.toml:2: `retention.failed_review_after`: duration `36600d` is too large \
             (at most 100 years)",
        ),
        (
            ".microloop.toml",
            "[retention]\nsuccess_ttl = \"99999999999999999999999d\"\n",
            "is too large (at most 100 years)",
        ),
        (
            "configs/retention.yaml",
            "success_ttl: 7d\nfailed_review_after: -3h\n",
            "configs/retention.yaml:2:22: `failed_review_after`: negative duration `-3h`",
        ),
    ];
    for (file, text, says) in cases {
        let (repo, imp) = repo_with(TASKS);
        repo.write(file, text);
        let before = snapshot(&repo);
        let hint = format!("hint: fix {file}");
        refused(repo.run(&["config"]), 2, &[says, &hint]);
        refused(repo.run(&run_cmd(&imp)), 2, &[says, &hint]);
        assert_unchanged(&before, &snapshot(&repo), file);
    }
}

#[test]
fn an_unknown_strategy_is_refused_wherever_it_is_set() {
    let (repo, imp) = repo_with(TASKS);
    let before = snapshot(&repo);
    let valid = "spec-like, document, by-file";
    let r = repo.run(&["plan", "--strategy", "random"]).expect(2);
    assert!(
        r.stderr()
            .contains("invalid value 'random' for '--strategy <S>'")
            && r.stderr().contains(valid),
        "{}",
        r.stderr()
    );
    repo.run(&["run", "--strategy", "random", "--implementer", "--", &imp])
        .expect(2);

    let env = repo
        .cmd(&run_cmd(&imp))
        .env("MICROLOOP_STRATEGY", "random")
        .output()
        .unwrap();
    refused(
        Run(env),
        2,
        &[
            "environment variable MICROLOOP_STRATEGY: unknown strategy \"random\"",
            valid,
            "hint: unset MICROLOOP_STRATEGY",
        ],
    );
    assert_unchanged(&before, &snapshot(&repo), "an unknown strategy");

    for (file, text, says) in [
        (
            ".microloop.toml",
            "[planner]\nstrategy = \"random\"\n",
            ".microloop.toml:2: `planner.strategy`: unknown variant `random`",
        ),
        (
            "artifacts/work/CH-001/planner_config.json",
            "{\"seed\": 1, \"strategy\": \"random\"}",
            "planner_config.json:1: `strategy`: unknown variant `random`",
        ),
    ] {
        let (repo, imp) = repo_with(TASKS);
        repo.write(file, text);
        let before = snapshot(&repo);
        refused(
            repo.run(&["plan"]),
            2,
            &[says, "`spec-like`, `document`, `by-file`"],
        );
        refused(repo.run(&run_cmd(&imp)), 2, &[says]);
        assert_unchanged(&before, &snapshot(&repo), file);
    }
}

#[test]
fn a_seed_that_is_not_a_number_is_refused_wherever_it_is_set() {
    let (repo, imp) = repo_with(TASKS);
    let before = snapshot(&repo);
    let whole = "not a whole number between 0 and 18446744073709551615";
    for bad in ["abc", "-1", "1.5", "1e3", "18446744073709551616", ""] {
        let r = repo.run(&["plan", "--seed", bad]).expect(2);
        assert!(
            r.stderr()
                .contains(&format!("invalid value '{bad}' for '--seed <N>': {whole}")),
            "{bad}: {}",
            r.stderr()
        );
        let r = repo
            .run(&["run", "--seed", bad, "--implementer", "--", &imp])
            .expect(2);
        assert!(r.stderr().contains(whole), "{}", r.stderr());

        let env = repo
            .cmd(&run_cmd(&imp))
            .env("MICROLOOP_SEED", bad)
            .output()
            .unwrap();
        refused(
            Run(env),
            2,
            &[
                &format!("environment variable MICROLOOP_SEED: {bad:?} is {whole}"),
                "hint: unset MICROLOOP_SEED",
            ],
        );
    }
    assert_unchanged(&before, &snapshot(&repo), "a bad seed");

    for (file, text, says) in [
        (
            ".microloop.toml",
            "[planner]\nseed = \"abc\"\n",
            ".microloop.toml:2: `planner.seed`: invalid type: string \"abc\"",
        ),
        (
            ".microloop.toml",
            "[planner]\nseed = -1\n",
            ".microloop.toml:2: `planner.seed`: invalid value: integer `-1`",
        ),
        (
            "artifacts/work/CH-001/planner_config.json",
            "{\"seed\": \"abc\"}",
            "planner_config.json:1: `seed`: invalid type: string \"abc\", expected a whole \
             number between 0 and 18446744073709551615",
        ),
        (
            "artifacts/work/CH-001/planner_config.json",
            "{\n  \"strategy\": \"document\",\n  \"seed\": 4.5\n}\n",
            "planner_config.json:3: `seed`: invalid type: floating point `4.5`",
        ),
    ] {
        let (repo, imp) = repo_with(TASKS);
        repo.write(file, text);
        let before = snapshot(&repo);
        refused(repo.run(&["plan"]), 2, &[says, "hint: fix"]);
        refused(repo.run(&run_cmd(&imp)), 2, &[says]);
        assert_unchanged(&before, &snapshot(&repo), file);
    }
}

#[test]
fn a_missing_git_identity_refuses_the_run_before_anything_is_written() {
    let (repo, imp) = repo_with(TASKS);
    repo.git(&["config", "user.useConfigOnly", "true"]);
    let before = snapshot(&repo);
    for args in [run_cmd(&imp), vec!["run", "--manual"]] {
        let out = repo.cmd_without_identity(&args).output().unwrap();
        let r = refused(
            Run(out),
            2,
            &[
                "git has no identity to commit with (fatal: no email was given and \
                 auto-detection is disabled)",
                "hint: set one: git config --global user.name",
            ],
        );
        // git's last line, not its whole advice and our command line.
        assert_eq!(r.stderr().lines().count(), 2, "{}", r.stderr());
    }
    assert_unchanged(&before, &snapshot(&repo), "a run without an identity");
}

#[test]
fn a_detached_head_refuses_the_run() {
    let (repo, imp) = repo_with(TASKS);
    repo.git(&["checkout", "-q", "--detach"]);
    let before = snapshot(&repo);
    for args in [run_cmd(&imp), vec!["run", "--manual"]] {
        refused(
            repo.run(&args),
            2,
            &[
                "HEAD is detached; a run works on a change branch",
                "hint: check out the change branch",
            ],
        );
    }
    // Reading still works there: the plan of the change named with --change.
    repo.run(&["plan", "--change", "CH-001"]).expect(0);
    assert_unchanged(&before, &snapshot(&repo), "a run on a detached HEAD");
}

#[test]
fn an_unborn_branch_is_refused_with_what_to_do() {
    let repo = TestRepo::empty();
    repo.write("changes/CH-001/tasks.md", TASKS);
    repo.write("notes/untracked.txt", USER_NOTE);
    let imp = repo.script("impl.sh", IMPL);
    let before = snapshot(&repo);
    let says = "branch `main` has no commits yet";
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &[says, "hint: commit the change's tasks.md"],
    );
    refused(repo.run(&["run", "--manual"]), 2, &[says]);
    refused(
        repo.run(&["checklist"]),
        2,
        &[says, "hint: commit the change"],
    );
    refused(
        repo.run(&["log"]),
        2,
        &[says, "hint: commit something first"],
    );
    refused(
        repo.run(&["continue"]),
        2,
        &["CH-001 has no run in progress", "hint: start one"],
    );
    // The uncommitted task list can be planned: that reads the working tree.
    repo.run(&["plan"]).expect(0);
    assert_unchanged(&before, &snapshot(&repo), "commands on an unborn branch");
}

#[test]
fn a_bare_repository_is_refused_by_every_command() {
    let (repo, _imp) = repo_with(TASKS);
    let bare = repo.outside().join("bare.git");
    repo.git(&[
        "clone",
        "-q",
        "--bare",
        repo.path().to_str().unwrap(),
        bare.to_str().unwrap(),
    ]);
    let refs_before = repo.git(&["--git-dir", bare.to_str().unwrap(), "for-each-ref"]);
    let files_before = {
        let mut m = BTreeMap::new();
        walk(&bare, &bare, &mut m, &|_| false);
        m
    };
    for args in [
        vec!["plan"],
        vec!["run", "--implementer", "--", "true"],
        vec!["continue"],
        vec!["status"],
        vec!["checklist"],
        vec!["log"],
        vec!["config"],
        vec!["init"],
        vec!["install-hook"],
    ] {
        let out = repo.cmd(&args).current_dir(&bare).output().unwrap();
        refused(
            Run(out),
            2,
            &[
                "is bare; git microloop needs a working tree",
                "hint: run it in a clone with a working tree",
            ],
        );
    }
    let mut files_after = BTreeMap::new();
    walk(&bare, &bare, &mut files_after, &|_| false);
    assert_eq!(
        files_before, files_after,
        "a bare repository was written to"
    );
    assert_eq!(
        refs_before,
        repo.git(&["--git-dir", bare.to_str().unwrap(), "for-each-ref"])
    );
}

#[test]
fn a_shallow_clone_runs_and_a_cut_history_is_explained() {
    let (repo, imp) = repo_with(TASKS);
    repo.git(&["checkout", "-q", "main"]);
    repo.write("main.txt", "on main\n");
    repo.git(&["add", "main.txt"]);
    repo.git(&["commit", "-qm", "main moves on"]);
    repo.git(&["checkout", "-q", "change/CH-001"]);
    let url = format!("file://{}", repo.path().display());
    let shallow = repo.outside().join("shallow");
    repo.git(&[
        "clone",
        "-q",
        "--depth",
        "1",
        "--no-single-branch",
        "--branch",
        "change/CH-001",
        &url,
        shallow.to_str().unwrap(),
    ]);
    let at = |args: &[&str]| Run(repo.cmd(args).current_dir(&shallow).output().unwrap());
    let git = |args: &[&str]| {
        let mut cmd = Command::new("git");
        repo.pin(&mut cmd);
        let out = cmd.current_dir(&shallow).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(shallow.join(".git/shallow").exists());
    git(&["branch", "-q", "main", "origin/main"]);

    // A run needs only the branch's tip: it works, one commit per task.
    let base = git(&["rev-parse", "HEAD"]).trim().to_string();
    at(&run_cmd(&imp)).expect(0);
    let tasks = task_ids_in(&git(&task_ids_log(&format!("{base}..HEAD"))));
    assert_eq!(tasks, ["T001", "T002"]);
    at(&["checklist"]).expect(0);

    // Without tasks.md the planner decomposes the change by file, which needs the history
    // back to where the branch left main — cut off in this clone. Said so, with the fix.
    git(&["rm", "-q", "changes/CH-001/tasks.md"]);
    git(&["commit", "-qm", "drop the task list"]);
    let before = snapshot_at(&repo, &shallow, &shallow.join(".git"));
    refused(
        at(&["plan"]),
        2,
        &[
            "cannot tell what `change/CH-001` changed since `main`: they have no common \
             history here, as this is a shallow clone",
            "hint: fetch the whole history (git fetch --unshallow)",
        ],
    );
    refused(at(&run_cmd(&imp)), 2, &["this is a shallow clone"]);
    assert_unchanged(
        &before,
        &snapshot_at(&repo, &shallow, &shallow.join(".git")),
        "a refused run in a shallow clone",
    );
}

#[test]
fn a_read_only_artifacts_folder_refuses_the_run_before_anything_is_written() {
    let (repo, imp) = repo_with(TASKS);
    let block = Block::available(repo.outside());
    eprintln!("making the artifacts folder refuse writes with: {block:?}");
    let folder = repo.path().join("artifacts/work/CH-001");
    std::fs::create_dir_all(&folder).unwrap();
    assert!(block.apply(&folder));
    let _unblock = Unblock(block, folder.clone());
    assert!(
        std::fs::write(folder.join("probe"), b"x").is_err(),
        "the folder still takes writes"
    );
    let before = snapshot(&repo);
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &[
            "error: cannot write in",
            "artifacts/work/CH-001/run-",
            "hint: make the folder writable (or free space on its disk)",
        ],
    );
    // No run state, no run branch, no worktree, no audit log, no artifacts.
    assert_unchanged(&before, &snapshot(&repo), "a refused run");
    assert!(!repo.path().join("audit").exists());

    // The folder was the only obstacle: writable again, the same command runs.
    block.lift(&folder);
    let base = repo.rev("HEAD");
    repo.run(&run_cmd(&imp)).expect(0);
    assert_eq!(repo.task_ids(&format!("{base}..HEAD")), ["T001", "T002"]);
    assert_user_work_intact(&repo);
}

#[test]
fn a_full_disk_mid_run_stops_cleanly_and_continue_loses_nothing() {
    // A full disk, simulated by the run's own artifacts folder refusing writes from the middle
    // of the run on: the implementer of T002 blocks it (see `Block` for how, as root too), so
    // the next write there — T002's evidence or summary.json, after T002's commit — fails.
    let tasks = "# Tasks\n\n## Phase 1\n\n- [ ] T001 a\n- [ ] T002 b\n- [ ] T003 c\n";
    let (repo, _) = repo_with(tasks);
    let block = Block::available(repo.outside());
    eprintln!("filling the disk with: {block:?}");
    let runs = repo.path().join("artifacts/work/CH-001");
    let imp = repo.script(
        "fill.sh",
        &format!(
            "{IMPL}\nif [ \"$MICROLOOP_TASK_ID\" = T002 ]; then {}; fi",
            block.command(&format!("{}/$MICROLOOP_RUN", runs.display()))
        ),
    );
    let base = repo.rev("HEAD");
    let r = repo.run(&run_cmd(&imp));
    let run_id = std::fs::read_dir(&runs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.starts_with("run-") && !n.ends_with(".aside"))
        .expect("the run's folder");
    let run_dir = runs.join(&run_id);
    let _unblock = Unblock(block, run_dir.clone());
    refused(
        r,
        2,
        &[
            "caused by:",
            &run_id,
            "`git microloop status` shows whether a run was saved, and `git microloop \
             continue` resumes it",
        ],
    );
    let status = repo.run(&["status", "--json"]).expect(0).json();
    assert_eq!(status["runs"][0]["status"], "running", "{status}");
    assert_eq!(
        repo.rev("change/CH-001"),
        base,
        "the change branch moved during a failed run"
    );
    assert_user_work_intact(&repo);

    // Space again: continue finishes, every task exactly once, the records intact.
    block.lift(&run_dir);
    repo.run(&["continue"]).expect(0);
    assert_eq!(
        repo.task_ids(&format!("{base}..HEAD")),
        ["T001", "T002", "T003"]
    );
    repo.run(&["audit", "verify"]).expect(0);
    repo.run(&["checklist"]).expect(0);
    for t in ["T001", "T002", "T003"] {
        assert!(run_dir.join(format!("evidence/{t}.json")).exists(), "{t}");
    }
    let fsck = repo.git(&["fsck", "--full"]);
    assert!(!fsck.contains("error"), "{fsck}");
    assert_user_work_intact(&repo);
}

#[test]
fn a_symlinked_artifacts_folder_is_followed_only_inside_the_repository() {
    let (repo, imp) = repo_with(TASKS);
    let outside = repo.outside().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    let link = repo.path().join("artifacts");

    // Out of the repository: refused, nothing written there or here.
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let before = snapshot(&repo);
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &[
            "artifacts is a symbolic link to",
            "outside the repository; git microloop never writes through a link that leads out \
             of it",
            "hint: make the link point inside the repository",
        ],
    );
    assert_unchanged(&before, &snapshot(&repo), "a refused run");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);

    // Into the git directory: refused too.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(".git", &link).unwrap();
    let before = snapshot(&repo);
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &["artifacts is a symbolic link into the git directory"],
    );
    assert_unchanged(&before, &snapshot(&repo), "a refused run");

    // A dangling link: refused (following it would create its target, wherever that is).
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(outside.join("gone"), &link).unwrap();
    refused(repo.run(&run_cmd(&imp)), 2, &["which does not exist"]);
    assert!(!outside.join("gone").exists());

    // The audit log's folder follows the same rule.
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(&outside, repo.path().join("audit")).unwrap();
    let before = snapshot(&repo);
    refused(
        repo.run(&run_cmd(&imp)),
        2,
        &["cannot use the audit log", "audit is a symbolic link to"],
    );
    assert_unchanged(&before, &snapshot(&repo), "a refused run");
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    std::fs::remove_file(repo.path().join("audit")).unwrap();

    // Inside the repository: followed.
    std::fs::create_dir(repo.path().join(".store")).unwrap();
    std::os::unix::fs::symlink(".store", &link).unwrap();
    let base = repo.rev("HEAD");
    repo.run(&run_cmd(&imp)).expect(0);
    assert_eq!(repo.task_ids(&format!("{base}..HEAD")), ["T001", "T002"]);
    assert!(repo.path().join(".store/work/CH-001").is_dir());
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
    assert_user_work_intact(&repo);
}

#[test]
fn a_concurrent_second_run_is_locked_out_and_changes_nothing() {
    let (repo, _) = repo_with(TASKS);
    let started = repo.outside().join("started");
    let release = repo.outside().join("release");
    // T001 waits (at most a minute) until the test has tried everything against the lock.
    let imp = repo.script(
        "held.sh",
        &format!(
            "if [ \"$MICROLOOP_TASK_ID\" = T001 ]; then touch '{s}'; i=0; \
             while [ ! -e '{r}' ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi\n{IMPL}",
            s = started.display(),
            r = release.display()
        ),
    );
    let base = repo.rev("HEAD");
    let mut first = repo
        .cmd(&run_cmd(&imp))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !started.exists() {
        assert!(Instant::now() < deadline, "the first run never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // The first run goes on writing its own state and logs meanwhile, so what is compared is
    // what the refused commands could have changed: refs, worktrees, the set of runs, the
    // user's files.
    let outline = |repo: &TestRepo| {
        let s = snapshot(repo);
        let runs: Vec<String> =
            std::fs::read_dir(repo.path().join(".git/microloop/changes/CH-001/runs"))
                .unwrap()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
        (
            s.head,
            s.refs,
            s.worktrees,
            runs,
            repo.read("README.md"),
            repo.read("notes/untracked.txt"),
        )
    };
    let before = outline(&repo);
    let holder = format!(
        "another git-microloop process (pid {}) is working on CH-001",
        first.id()
    );
    for args in [
        run_cmd(&imp),
        vec!["run", "--manual"],
        vec!["continue"],
        vec!["skip"],
        vec!["abort"],
    ] {
        refused(
            repo.run(&args),
            2,
            &[&holder, "hint: wait for it to finish"],
        );
    }
    assert_eq!(
        before,
        outline(&repo),
        "commands refused by the lock changed something"
    );
    std::fs::write(&release, b"").unwrap();
    assert!(first.wait().unwrap().success(), "the first run failed");

    assert_eq!(repo.task_ids(&format!("{base}..HEAD")), ["T001", "T002"]);
    let runs = repo.git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/heads/microloop/",
    ]);
    assert_eq!(runs.lines().count(), 1, "{runs}");
    repo.run(&["checklist"]).expect(0);
    assert_user_work_intact(&repo);
}

/// `docs/BAD_INPUT.md` names every row's test, and every test of this file is a row.
#[test]
fn the_catalogue_lists_every_test_of_this_file() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/BAD_INPUT.md")).unwrap();
    let src = std::fs::read_to_string(root.join("tests/bad_input.rs")).unwrap();
    let this = "the_catalogue_lists_every_test_of_this_file";
    let tests: Vec<&str> = src
        .split("#[test]\nfn ")
        .skip(1)
        .filter_map(|s| s.split('(').next())
        .filter(|name| *name != this)
        .collect();
    let link = "[`tests/bad_input.rs`](../tests/bad_input.rs) `";
    let rows: Vec<&str> = doc.lines().filter(|l| l.starts_with("| **")).collect();
    let listed: Vec<&str> = rows
        .iter()
        .map(|row| {
            let at = row
                .find(link)
                .unwrap_or_else(|| panic!("a row without a test: {row}"));
            let rest = &row[at + link.len()..];
            &rest[..rest.find('`').unwrap()]
        })
        .collect();
    assert_eq!(
        listed, tests,
        "rows and tests differ (or are in another order)"
    );
    assert_eq!(rows.len(), 19, "the issue's catalogue has 19 rows");
}
