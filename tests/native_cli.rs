//! Feeling like a native git command: where it works (subdirectory, linked worktree,
//! GIT_DIR/GIT_WORK_TREE, submodules, non-UTF-8 names), terminal behaviour (colour, progress,
//! -q/-v), the man page and shell completions. Real git, real processes, real pseudo-terminals.

mod common;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Run, TestRepo, task_ids_in, task_ids_log};
use serde_json::Value;

const TASKS: &str =
    "# Tasks\n\n## Phase 1\n\n- [ ] T001 Create `a.txt`\n- [ ] T002 Create `b.txt`\n";
/// An implementer that writes a file named after the task.
const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

/// Where and how commands start: a working directory and extra environment.
struct At<'a> {
    repo: &'a TestRepo,
    dir: PathBuf,
    env: Vec<(&'static str, OsString)>,
}

impl<'a> At<'a> {
    fn new(repo: &'a TestRepo, dir: impl Into<PathBuf>) -> Self {
        At {
            repo,
            dir: dir.into(),
            env: Vec::new(),
        }
    }

    fn env(mut self, key: &'static str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((key, value.as_ref().to_os_string()));
        self
    }

    fn apply(&self, cmd: &mut Command) {
        cmd.current_dir(&self.dir);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
    }

    fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.repo.cmd(args);
        self.apply(&mut cmd);
        Run(cmd.output().expect("run git-microloop"))
    }

    /// git with the same directory and environment; panics unless it succeeds.
    fn git<S: AsRef<OsStr>>(&self, args: &[S]) -> Vec<u8> {
        let mut cmd = Command::new("git");
        self.repo.pin(&mut cmd);
        self.apply(&mut cmd);
        let out = cmd.args(args).output().expect("run git");
        assert!(
            out.status.success(),
            "git {:?} failed: {}",
            args.iter().map(|a| a.as_ref()).collect::<Vec<_>>(),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    fn git_str(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.git(args)).into_owned()
    }
}

/// Task ids of the micro-task commits of `range`, oldest first (read by git itself).
fn task_commits(at: &At<'_>, range: &str) -> Vec<String> {
    task_ids_in(&at.git_str(&task_ids_log(range)))
}

/// plan, run (script implementer), status and checklist, as a user would type them at `at`;
/// returns the run's `--json` outcome.
fn full_loop(at: &At<'_>, implementer: &str) -> Value {
    let plan = at.run(&["plan", "--json"]).expect(0).json();
    let keys: Vec<&str> = plan["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["T001", "T002"]);
    at.run(&["plan"]).expect(0);
    let outcome = at
        .run(&["run", "--json", "--implementer", "--", implementer])
        .expect(0)
        .json();
    assert_eq!(outcome["outcome"], "succeeded", "{outcome:#}");
    let status = at.run(&["status", "--json"]).expect(0).json();
    assert_eq!(status["runs"][0]["status"], "succeeded", "{status:#}");
    assert_eq!(status["runs"][0]["run_id"], outcome["run"]["run_id"]);
    at.run(&["status"]).expect(0);
    let checklist = at.run(&["checklist", "--json"]).expect(0).json();
    assert_eq!(checklist["checklist"]["ok"], true, "{checklist:#}");
    at.run(&["checklist"]).expect(0);
    assert_eq!(task_commits(at, "main..change/CH-001"), ["T001", "T002"]);
    outcome
}

#[test]
fn works_from_a_subdirectory() {
    let repo = TestRepo::with_change(TASKS);
    repo.write("src/deep/lib.txt", "code\n");
    repo.commit_all("a subdirectory");
    let imp = repo.script("impl.sh", IMPL);
    let at = At::new(&repo, repo.path().join("src/deep"));
    full_loop(&at, &imp);
    // The work landed at the repository's root, not in the subdirectory.
    assert!(repo.path().join("out-T001.txt").exists());
    assert!(!repo.path().join("src/deep/out-T001.txt").exists());
    assert!(repo.path().join("artifacts/work/CH-001").is_dir());
}

#[test]
fn works_in_a_linked_worktree() {
    let repo = TestRepo::with_change(TASKS);
    repo.git(&["checkout", "-q", "main"]);
    let wt = repo.outside().join("linked");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().expect("utf-8"),
        "change/CH-001",
    ]);
    let imp = repo.script("impl.sh", IMPL);
    let at = At::new(&repo, &wt);
    full_loop(&at, &imp);
    // The change branch moved in the linked worktree; the main worktree stayed on main.
    assert!(wt.join("out-T002.txt").exists());
    assert_eq!(repo.git(&["branch", "--show-current"]).trim(), "main");
    assert!(!repo.path().join("out-T002.txt").exists());
    // Local run data is shared by the worktrees: it lives in the main worktree.
    assert!(repo.path().join("artifacts/work/CH-001").is_dir());
    assert!(repo.path().join("audit/implementer_runs.jsonl").is_file());
    // From a subdirectory of the linked worktree too.
    std::fs::create_dir_all(wt.join("sub")).unwrap();
    let sub = At::new(&repo, wt.join("sub"));
    sub.run(&["checklist"]).expect(0);
    sub.run(&["status"]).expect(0);
}

#[test]
fn works_with_git_dir_and_git_work_tree_from_outside() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    let elsewhere = repo.outside().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let at = At::new(&repo, &elsewhere)
        .env("GIT_DIR", repo.path().join(".git"))
        .env("GIT_WORK_TREE", repo.path());
    full_loop(&at, &imp);
    assert!(repo.path().join("out-T001.txt").exists());
    // Nothing was written where the command was started.
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn works_with_relative_git_dir_and_git_work_tree() {
    // git reads both relative to the current directory (libgit2 alone would read
    // GIT_WORK_TREE relative to the git dir).
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    let parent = repo.path().parent().expect("parent");
    let name = repo.path().file_name().expect("name");
    let at = At::new(&repo, parent)
        .env("GIT_DIR", Path::new(name).join(".git"))
        .env("GIT_WORK_TREE", name);
    full_loop(&at, &imp);
    assert!(repo.path().join("out-T002.txt").exists());
    // From inside the work tree, with GIT_DIR only.
    let inside = At::new(&repo, repo.path()).env("GIT_DIR", ".git");
    inside.run(&["status"]).expect(0);
    inside.run(&["checklist"]).expect(0);
}

#[test]
fn works_with_a_git_dir_kept_apart_from_its_work_tree() {
    // The "dotfiles" layout: the work tree has no `.git` at all; only GIT_DIR finds it.
    let repo = TestRepo::with_change(TASKS);
    let store = repo.outside().join("store.git");
    std::fs::rename(repo.path().join(".git"), &store).unwrap();
    let imp = repo.script("impl.sh", IMPL);
    let at = At::new(&repo, repo.path())
        .env("GIT_DIR", &store)
        .env("GIT_WORK_TREE", repo.path());
    full_loop(&at, &imp);
    assert!(repo.path().join("out-T002.txt").exists());
    assert!(!repo.path().join(".git").exists());
    // The implementer ran in the run's own worktree, not in the user's (nor with their GIT_DIR).
    let log = at.git_str(&["log", "-1", "--format=%s", "change/CH-001~1"]);
    assert!(log.starts_with("T002"), "{log}");
    // The user's work tree is clean afterwards: the fast-forward checked the work out.
    let status = at.git_str(&["status", "--porcelain", "--untracked-files=no"]);
    assert_eq!(status, "", "{status}");
}

#[test]
fn works_in_a_repository_with_submodules() {
    let lib = TestRepo::new();
    lib.write("lib.txt", "library\n");
    lib.commit_all("library");
    let repo = TestRepo::new();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        lib.path().to_str().expect("utf-8"),
        "vendor/lib",
    ]);
    repo.commit_all("add a submodule");
    repo.git(&["checkout", "-qb", "change/CH-001"]);
    repo.write("changes/CH-001/tasks.md", TASKS);
    repo.commit_all("tasks");
    let imp = repo.script("impl.sh", IMPL);
    full_loop(&At::new(&repo, repo.path()), &imp);
    // The submodule is untouched: same commit recorded, still checked out here.
    let tree = repo.git(&["ls-tree", "HEAD", "vendor/lib"]);
    assert!(tree.starts_with("160000 commit"), "{tree}");
    assert_eq!(repo.read("vendor/lib/lib.txt"), "library\n");
    // And from inside the submodule, the tool sees the submodule's own repository.
    let inside = At::new(&repo, repo.path().join("vendor/lib"));
    let r = inside.run(&["status"]).expect(0);
    assert!(r.stdout().contains("no runs yet"), "{}", r.stdout());
}

/// `caf<0xE9>` — Latin-1, not UTF-8.
fn latin1(prefix: &str, suffix: &str) -> OsString {
    let mut b = prefix.as_bytes().to_vec();
    b.extend_from_slice(b"caf\xe9");
    b.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(b)
}

/// A repository like `TestRepo::with_change(tasks)`, at `root`.
fn repo_at<'a>(repo: &'a TestRepo, root: &Path, tasks: &str) -> At<'a> {
    std::fs::create_dir_all(root.join("changes/CH-001")).unwrap();
    let at = At::new(repo, root);
    at.git(&["init", "-q", "-b", "main"]);
    std::fs::write(root.join("README.md"), "sample\n").unwrap();
    at.git(&["add", "-A"]);
    at.git(&["commit", "-qm", "initial"]);
    at.git(&["checkout", "-qb", "change/CH-001"]);
    std::fs::write(root.join("changes/CH-001/tasks.md"), tasks).unwrap();
    at.git(&["add", "-A"]);
    at.git(&["commit", "-qm", "tasks"]);
    at
}

/// A JSON path value as bytes: a string, or `{"lossy": …, "bytes": [...]}` when not UTF-8.
fn path_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::String(s) => s.as_bytes().to_vec(),
        Value::Object(o) => o["bytes"]
            .as_array()
            .expect("bytes")
            .iter()
            .map(|b| b.as_u64().expect("byte") as u8)
            .collect(),
        other => panic!("not a path: {other}"),
    }
}

#[test]
fn works_with_non_utf8_file_names_and_keeps_them_lossless_in_json() {
    let repo = TestRepo::new();
    // The repository itself lives under a non-UTF-8 folder name, and the implementer creates a
    // file whose name is not UTF-8 either.
    let root = repo.outside().join(latin1("repo-", ""));
    let at = repo_at(&repo, &root, TASKS);
    let imp = repo.script(
        "impl.sh",
        "printf '%s\\n' \"$MICROLOOP_TASK_ID\" > \"$(printf 'caf\\351-%s.txt' \"$MICROLOOP_TASK_ID\")\"",
    );
    let outcome = full_loop(&at, &imp);
    let name = latin1("", "-T001.txt");
    assert!(root.join(&name).is_file());
    // git recorded the exact bytes.
    let files = at.git(&["show", "--name-only", "-z", "--format=", "change/CH-001~1"]);
    assert!(
        files
            .split(|&b| b == 0)
            .any(|f| f == latin1("", "-T002.txt").as_bytes()),
        "{}",
        String::from_utf8_lossy(&files)
    );
    // --json keeps them exact: the run's worktree and artifacts (under the Latin-1 root) and
    // the files each task touched.
    let run = &outcome["run"];
    assert_eq!(
        path_bytes(&run["artifacts"])[..root.as_os_str().len()],
        *root.as_os_str().as_bytes()
    );
    let touched: Vec<Vec<u8>> = run["tasks"][0]["files_touched"]
        .as_array()
        .expect("files_touched")
        .iter()
        .map(path_bytes)
        .collect();
    assert!(touched.contains(&name.as_bytes().to_vec()), "{run:#}");
    let status = at.run(&["status", "--json"]).expect(0).json();
    let touched: Vec<Vec<u8>> = status["runs"][0]["tasks"][1]["files_touched"]
        .as_array()
        .expect("files_touched")
        .iter()
        .map(path_bytes)
        .collect();
    assert!(touched.contains(&latin1("", "-T002.txt").into_vec()));
    // The evidence too: summary.json (schema-valid, checked by checklist above), show, log.
    let show = at.run(&["show", "--json"]).expect(0).json();
    assert_eq!(show["commits_verified"], true);
    let touched = &show["summary"]["tasks"][0]["files_touched"];
    assert!(
        touched
            .as_array()
            .expect("files_touched")
            .iter()
            .any(|f| path_bytes(f) == name.as_bytes()),
        "{touched}"
    );
    let log = at.run(&["log", "--json"]).expect(0).json();
    let files: Vec<Vec<u8>> = log["commits"]
        .as_array()
        .expect("commits")
        .iter()
        .flat_map(|c| c["files"].as_array().expect("files").iter().map(path_bytes))
        .collect();
    assert!(files.contains(&name.into_vec()), "{log:#}");
    // Human output shows the names (lossily) without failing.
    at.run(&["show"]).expect(0);
    at.run(&["log"]).expect(0);
    at.run(&["audit", "verify", "--json"]).expect(0);
}

#[test]
fn a_task_naming_a_non_ascii_file_reaches_the_implementer_intact() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 Create `données/été.txt`\n");
    let imp = repo.script(
        "impl.sh",
        "mkdir -p données && printf '%s\\n' \"$MICROLOOP_TASK_TITLE\" > données/été.txt",
    );
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    assert_eq!(repo.read("données/été.txt"), "Create `données/été.txt`\n");
    let v = repo.run(&["status", "--json"]).expect(0).json();
    let touched = &v["runs"][0]["tasks"][0]["files_touched"];
    assert!(
        touched
            .as_array()
            .expect("files_touched")
            .contains(&Value::from("données/été.txt")),
        "{touched}"
    );
}

// ---------------------------------------------------------------------------------------------
// Man page and completions

/// `program args` as a man reader would run it (pager `cat`, 100 columns, no MANPATH unless
/// `env` gives one), `env` added.
fn man_reader(
    repo: &TestRepo,
    program: &str,
    args: &[&str],
    env: &[(&str, &OsStr)],
) -> std::process::Output {
    let mut cmd = Command::new(program);
    repo.pin(&mut cmd);
    cmd.args(args)
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env_remove("MANPATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("{program} (needs `man`: install man-db, as .ci/run does): {e}"))
}

/// A rendered page as plain text whatever man's formatting: no overstrikes ("N\bN") or SGR,
/// and single spaces (justified lines have runs of them).
fn plain_page(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = regex::Regex::new(r".\x08|\x1b\[[0-9;]*m")
        .expect("regex")
        .replace_all(&text, "")
        .into_owned();
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `git help microloop` (git runs `man git-microloop`): the page, as plain text.
fn git_help(repo: &TestRepo, env: &[(&str, &OsStr)]) -> String {
    let out = man_reader(repo, "git", &["help", "microloop"], env);
    assert!(
        out.status.success(),
        "git help microloop failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    plain_page(&out.stdout)
}

/// A folder holding `git-microloop` (a link to the built binary), first on PATH, as
/// `cargo install` leaves it.
fn installed_bin(prefix: &Path) -> OsString {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(common::BIN, bin.join("git-microloop")).unwrap();
    let mut path = bin.into_os_string();
    path.push(":");
    path.push(std::env::var_os("PATH").unwrap_or_default());
    path
}

fn assert_is_the_main_page(text: &str) {
    for want in [
        "GIT-MICROLOOP(1)",
        "NAME",
        "git-microloop - plan a Spec-Kit tasks.md",
        "SYNOPSIS",
        "git microloop [-v|--verbose]",
        "DESCRIPTION",
        "OPTIONS",
        "--color <WHEN>",
        "SUBCOMMANDS",
        "git-microloop-run(1)",
        "git-microloop-checklist(1)",
        "EXAMPLES",
        "EXIT STATUS",
        "ENVIRONMENT",
        "NO_COLOR",
        "FILES",
        "SEE ALSO",
    ] {
        assert!(text.contains(want), "{want:?} missing from:\n{text}");
    }
}

#[test]
fn git_help_shows_the_man_page_from_manpath() {
    let repo = TestRepo::new();
    let prefix = repo.outside().join("prefix");
    let path = installed_bin(&prefix);
    let man = repo.outside().join("man");
    // The documented step, with the folder on MANPATH.
    let r = repo
        .run(&["man", "--out", man.join("man1").to_str().unwrap()])
        .expect(0);
    assert!(r.stderr().contains("manual pages to"), "{}", r.stderr());
    assert!(man.join("man1/git-microloop.1").is_file());
    assert!(man.join("man1/git-microloop-audit-verify.1").is_file());
    let text = git_help(&repo, &[("PATH", &path), ("MANPATH", man.as_os_str())]);
    assert_is_the_main_page(&text);
    // Before the step there is no page: the test can fail.
    let empty = repo.outside().join("empty-man");
    std::fs::create_dir_all(empty.join("man1")).unwrap();
    let out = man_reader(
        &repo,
        "git",
        &["help", "microloop"],
        &[("PATH", &path), ("MANPATH", empty.as_os_str())],
    );
    assert!(!out.status.success() || !plain_page(&out.stdout).contains("SYNOPSIS"));
}

#[test]
fn man_pages_installed_beside_the_binary_are_found_through_path() {
    // `cargo install` puts the binary in ~/.cargo/bin; man finds ~/.cargo/share/man from PATH.
    let repo = TestRepo::new();
    let prefix = repo.outside().join("cargo");
    let path = installed_bin(&prefix);
    let mut cmd = repo.cmd(&["man", "--out"]);
    cmd.arg(prefix.join("share/man/man1")).env("PATH", &path);
    Run(cmd.output().unwrap()).expect(0);
    let text = git_help(&repo, &[("PATH", &path)]);
    assert_is_the_main_page(&text);
    // A subcommand's own page.
    let out = man_reader(&repo, "man", &["git-microloop-run"], &[("PATH", &path)]);
    let page = plain_page(&out.stdout);
    assert!(page.contains("GIT-MICROLOOP-RUN(1)"), "{page}");
    assert!(page.contains("--max-attempts"), "{page}");
}

#[test]
fn man_without_out_prints_the_main_page() {
    let repo = TestRepo::new();
    let r = repo.run(&["man"]).expect(0);
    assert!(r.stdout().starts_with(".ie") || r.stdout().contains(".TH GIT-MICROLOOP 1"));
    assert!(r.stdout().contains(".SH SYNOPSIS"));
    // A folder that cannot be created is a clear error.
    let file = repo.outside().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let r = repo
        .run(&["man", "--out", file.join("man1").to_str().unwrap()])
        .expect(2);
    assert!(
        r.stderr().contains("error: cannot create"),
        "{}",
        r.stderr()
    );
}

#[test]
fn completions_for_every_shell_name_the_subcommands() {
    let repo = TestRepo::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = repo.run(&["completions", shell]).expect(0);
        let s = r.stdout();
        assert!(s.len() > 1000, "{shell}: {s}");
        for sub in ["plan", "run", "status", "checklist", "completions"] {
            assert!(s.contains(sub), "{shell}: no {sub}");
        }
    }
    let zsh = repo.run(&["completions", "zsh"]).stdout();
    assert!(zsh.starts_with("#compdef git-microloop"), "{zsh}");
    let r = repo.run(&["completions", "tcsh"]).expect(2);
    assert!(r.stderr().contains("invalid value"), "{}", r.stderr());
}

/// Source the bash script (and git's completion when given), complete `words`, return the
/// candidates.
fn bash_complete(
    script: &Path,
    git_completion: Option<&Path>,
    func: &str,
    words: &[&str],
) -> Vec<String> {
    let mut prog = String::new();
    if let Some(g) = git_completion {
        prog.push_str(&format!("source '{}'\n", g.display()));
    }
    prog.push_str(&format!("source '{}' || exit 3\n", script.display()));
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    prog.push_str(&format!(
        "COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n\
         COMPREPLY=()\n{func}\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        quoted.join(" "),
        words.len() - 1
    ));
    let out = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &prog])
        .env("LC_ALL", "C")
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_completion_parses_and_completes_git_microloop_and_git_dash_microloop() {
    let repo = TestRepo::new();
    let script = repo.outside().join("git-microloop.bash");
    std::fs::write(
        &script,
        repo.run(&["completions", "bash"]).expect(0).0.stdout,
    )
    .unwrap();
    let syntax = Command::new("bash")
        .arg("-n")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        syntax.status.success(),
        "{}",
        String::from_utf8_lossy(&syntax.stderr)
    );

    // `git-microloop …` through the function bash itself would call.
    let direct = "_git_microloop_clap git-microloop \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"";
    assert_eq!(
        bash_complete(&script, None, direct, &["git-microloop", "chec"]),
        ["checklist"]
    );
    assert!(
        bash_complete(&script, None, direct, &["git-microloop", "run", "--max"])
            .contains(&"--max-attempts".to_string())
    );
    assert_eq!(
        bash_complete(&script, None, direct, &["git-microloop", "audit", "ver"]),
        ["verify"]
    );

    // `git microloop …` through the hook git's completion calls.
    let hook = "_git_microloop";
    assert_eq!(
        bash_complete(&script, None, hook, &["git", "microloop", "pl"]),
        ["plan"]
    );
    assert!(
        bash_complete(&script, None, hook, &["git", "microloop", "run", "--ch"])
            .contains(&"--change".to_string())
    );
    assert_eq!(
        bash_complete(&script, None, hook, &["git", "microloop", "--color", ""]),
        ["auto", "always", "never"]
    );

    // And through git's real completion script, when this machine has it.
    let git_completion = [
        "/usr/share/bash-completion/completions/git",
        "/etc/bash_completion.d/git",
    ]
    .iter()
    .map(Path::new)
    .find(|p| p.is_file());
    match git_completion {
        Some(g) => {
            let main = "__git_wrap__git_main";
            assert_eq!(
                bash_complete(&script, Some(g), main, &["git", "microloop", "sta"]),
                ["status"]
            );
            assert!(
                bash_complete(
                    &script,
                    Some(g),
                    main,
                    &["git", "-C", "/tmp", "microloop", "checklist", "--req"]
                )
                .contains(&"--require-local".to_string())
            );
        }
        None => eprintln!("skipping git-completion.bash checks: not installed here"),
    }
}

// ---------------------------------------------------------------------------------------------
// Terminal behaviour: colour, progress, -q / -v

const ESC: u8 = 0x1b;

fn has_escape(bytes: &[u8]) -> bool {
    bytes.contains(&ESC)
}

/// Run `cmd` with stdin, stdout and stderr on a fresh pseudo-terminal (100 columns); returns the
/// exit code and everything the terminal received.
fn run_on_pty(mut cmd: Command) -> (i32, Vec<u8>) {
    use std::io::Read;
    use std::process::Stdio;
    let size = nix::pty::Winsize {
        ws_row: 40,
        ws_col: 100,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&size, None).expect("openpty");
    let slave = pty.slave;
    cmd.stdin(Stdio::from(slave.try_clone().expect("dup")))
        .stdout(Stdio::from(slave.try_clone().expect("dup")))
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("spawn on a pty");
    // The Command holds copies of the terminal's slave side: close them, or reading never ends.
    drop(cmd);
    let mut master = std::fs::File::from(pty.master);
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // EIO: every process holding the slave side has gone.
            Err(_) => break,
        }
    }
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), out)
}

/// A repository with a change whose two tasks have run, and a fresh `git-microloop` command
/// builder for it with a colour-capable TERM (so only the stream and NO_COLOR decide).
fn ran_repo() -> (TestRepo, String) {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    (repo, imp)
}

fn colour_cmd(repo: &TestRepo, args: &[&str]) -> Command {
    let mut cmd = repo.cmd(args);
    cmd.env("TERM", "xterm-256color");
    cmd
}

/// Every command that prints, as (args, expected exit code).
fn printing_commands(repo: &TestRepo) -> Vec<(Vec<String>, i32)> {
    let demo = repo.outside().join("demo");
    let man = repo.outside().join("man1");
    let mut list: Vec<(Vec<&str>, i32)> = vec![
        (vec!["plan"], 0),
        (vec!["plan", "--json"], 0),
        (vec!["status"], 0),
        (vec!["status", "--json"], 0),
        (vec!["show"], 0),
        (vec!["log"], 0),
        (vec!["checklist"], 0),
        (vec!["audit", "verify"], 0),
        (vec!["-v", "status"], 0),
        (vec!["-vv", "plan"], 0),
        (vec!["--help"], 0),
        (vec!["run", "--help"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["man"], 0),
        (vec!["status", "--change", "../x"], 2),
        (vec!["nonsense"], 2),
        // Already done: nothing to run.
        (vec!["run"], 0),
        // A failing run (its implementer exits 1) prints its error and hints.
        (
            vec!["run", "--change", "CH-001", "--implementer", "false"],
            0,
        ),
    ];
    let demo_dir = demo.to_str().expect("utf-8").to_string();
    let man_dir = man.to_str().expect("utf-8").to_string();
    list.push((vec!["demo", "--dir", &demo_dir], 0));
    list.push((vec!["man", "--out", &man_dir], 0));
    list.into_iter()
        .map(|(a, c)| (a.into_iter().map(String::from).collect(), c))
        .collect()
}

#[test]
fn output_through_a_pipe_has_no_ansi_escapes_for_any_command() {
    let (repo, imp) = ran_repo();
    // A second change with a failing implementer, for the error output of a failed run.
    repo.write("changes/CH-002/tasks.md", "## P\n\n- [ ] T001 fails\n");
    repo.commit_all("CH-002");
    let fail = repo.script("fail.sh", "echo oops >&2; exit 1");
    let mut commands = printing_commands(&repo);
    commands.retain(|(a, _)| !a.contains(&"false".to_string()));
    commands.push((
        [
            "run",
            "--change",
            "CH-002",
            "--implementer",
            "--",
            fail.as_str(),
        ]
        .map(String::from)
        .to_vec(),
        1,
    ));
    commands.push((
        ["run", "--implementer", "--", imp.as_str()]
            .map(String::from)
            .to_vec(),
        0,
    ));
    for (args, code) in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = Run(colour_cmd(&repo, &args).output().unwrap()).expect(*code);
        assert!(
            !has_escape(&out.0.stdout),
            "{args:?} stdout: {:?}",
            out.stdout()
        );
        assert!(
            !has_escape(&out.0.stderr),
            "{args:?} stderr: {:?}",
            out.stderr()
        );
        // And no status-line carriage returns in a log.
        assert!(
            !out.0.stderr.contains(&b'\r'),
            "{args:?}: {:?}",
            out.stderr()
        );
    }
    // The control: the same output does carry colour when asked, so the checks above can fail.
    let forced = Run(colour_cmd(&repo, &["--color", "always", "plan"])
        .output()
        .unwrap())
    .expect(0);
    assert!(has_escape(&forced.0.stdout));
    let forced = Run(colour_cmd(&repo, &["plan"])
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap());
    assert!(has_escape(&forced.0.stdout));
}

#[test]
fn no_color_on_a_pseudo_terminal_means_no_ansi_escapes() {
    let (repo, imp) = ran_repo();
    let mut commands = printing_commands(&repo);
    commands.retain(|(a, _)| !a.contains(&"false".to_string()));
    // A run with two tasks on the terminal (its status line included).
    let done = repo.read("changes/CH-001/tasks.md");
    repo.write(
        "changes/CH-001/tasks.md",
        &format!("{done}- [ ] T003 Create `c.txt`\n- [ ] T004 Create `d.txt`\n"),
    );
    repo.commit_all("more tasks");
    commands.insert(
        0,
        (
            ["run", "--implementer", "--", imp.as_str()]
                .map(String::from)
                .to_vec(),
            0,
        ),
    );
    for (args, code) in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut cmd = colour_cmd(&repo, &args);
        cmd.env("NO_COLOR", "1");
        let (got, out) = run_on_pty(cmd);
        assert_eq!(got, *code, "{args:?}: {}", String::from_utf8_lossy(&out));
        assert!(
            !has_escape(&out),
            "{args:?} on a pty with NO_COLOR: {:?}",
            String::from_utf8_lossy(&out)
        );
    }
}

#[test]
fn colour_on_a_pseudo_terminal_unless_turned_off() {
    let (repo, _) = ran_repo();
    let on_pty = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = colour_cmd(&repo, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let (code, out) = run_on_pty(cmd);
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
        out
    };
    // Without NO_COLOR a terminal gets colour: the NO_COLOR test above can fail.
    for args in [
        &["plan"][..],
        &["status"],
        &["checklist"],
        &["log"],
        &["show"],
    ] {
        assert!(
            has_escape(&on_pty(args, &[])),
            "{args:?} has no colour on a pty"
        );
    }
    // Tracing is coloured on a terminal too, and not with NO_COLOR.
    assert!(has_escape(&on_pty(&["-v", "status"], &[])));
    assert!(!has_escape(&on_pty(
        &["-v", "status"],
        &[("NO_COLOR", "1")]
    )));
    // --color never and TERM=dumb turn it off; --color always wins over NO_COLOR.
    assert!(!has_escape(&on_pty(&["--color", "never", "plan"], &[])));
    // clap's own help follows --color as well.
    assert!(has_escape(&on_pty(&["--help"], &[])));
    assert!(!has_escape(&on_pty(&["--color", "never", "--help"], &[])));
    assert!(!has_escape(&on_pty(
        &["run", "--help", "--color=never"],
        &[]
    )));
    assert!(!has_escape(&on_pty(&["plan"], &[("TERM", "dumb")])));
    assert!(has_escape(&on_pty(
        &["--color", "always", "plan"],
        &[("NO_COLOR", "1")]
    )));
}

/// An implementer that takes `secs` per task.
fn slow_impl(repo: &TestRepo, secs: &str) -> String {
    repo.script(
        "slow.sh",
        &format!("sleep {secs}; echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\""),
    )
}

#[test]
fn a_run_on_a_terminal_shows_a_status_line_with_task_count_and_elapsed_time() {
    let repo = TestRepo::with_change(TASKS);
    let imp = slow_impl(&repo, "2.2");
    let (code, out) = run_on_pty(colour_cmd(&repo, &["run", "--implementer", "--", &imp]));
    let text = String::from_utf8_lossy(&out).into_owned();
    assert_eq!(code, 0, "{text}");
    // The status line is redrawn in place (carriage return, no newline) with the current
    // task, n/N and the elapsed time ticking every second.
    let status = |n: u32, secs: u32, task: &str| {
        regex::Regex::new(&format!(
            r"\rrun {n}/2 · 0:0{secs}( \(0:0\d total\))? · {}",
            regex::escape(task)
        ))
        .expect("regex")
    };
    for (n, task) in [(1, "T001 Create `a.txt`"), (2, "T002 Create `b.txt`")] {
        for secs in [0, 1] {
            assert!(
                status(n, secs, task).is_match(&text),
                "{n} {secs}: {text:?}"
            );
        }
    }
    assert!(
        text.contains("total) · T002"),
        "the run's own clock: {text:?}"
    );
    // The permanent lines are there as in a log, and the status line is gone at the end: the
    // last thing on the terminal is the outcome.
    assert!(text.contains("[1/2] T001 Create `a.txt`"), "{text:?}");
    assert!(text.contains("[2/2] T002 Create `b.txt`"), "{text:?}");
    let last_cr = text.rfind("\rrun ").expect("a status line");
    let after = &text[last_cr..];
    assert!(after.contains("\r\u{20}"), "status line cleared: {after:?}");
    assert!(
        text.trim_end()
            .lines()
            .last()
            .unwrap()
            .contains("evidence:"),
        "{text:?}"
    );
}

#[test]
fn a_run_not_on_a_terminal_prints_plain_lines() {
    let repo = TestRepo::with_change(TASKS);
    let imp = slow_impl(&repo, "1.1");
    let out = Run(colour_cmd(&repo, &["run", "--implementer", "--", &imp])
        .output()
        .unwrap())
    .expect(0);
    let err = out.stderr();
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines[0].starts_with("Run run-"), "{err}");
    assert_eq!(lines[1], "[1/2] T001 Create `a.txt`", "{err}");
    assert!(lines[2].trim_start().starts_with("✓ T001 → "), "{err}");
    assert_eq!(lines[3], "[2/2] T002 Create `b.txt`", "{err}");
    assert!(lines[4].trim_start().starts_with("✓ T002 → "), "{err}");
    assert!(!err.contains('\r'), "{err:?}");
    // Elapsed time is in the plain lines too (the task's duration).
    assert!(
        lines[2].contains(" · 1.") || lines[2].contains(" · 2."),
        "{err}"
    );
}

#[test]
fn quiet_prints_only_errors() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    // On a terminal as well as through a pipe: nothing at all for a successful run.
    let out = Run(
        colour_cmd(&repo, &["-q", "run", "--implementer", "--", &imp])
            .output()
            .unwrap(),
    )
    .expect(0);
    assert_eq!(out.stdout(), "");
    assert_eq!(out.stderr(), "");
    assert_eq!(
        task_commits(&At::new(&repo, repo.path()), "main..HEAD"),
        ["T001", "T002"]
    );
    // Data asked for is still data.
    let plan = repo.run(&["-q", "plan"]).expect(0);
    assert!(plan.stdout().contains("plan hash"), "{}", plan.stdout());
    assert_eq!(plan.stderr(), "");
    // A warning (a task line the parser had to guess about) is silenced; an error is not.
    let done = repo.read("changes/CH-001/tasks.md");
    repo.write(
        "changes/CH-001/tasks.md",
        &format!("{done}- [ ] T003 Create `c.txt` (depends on T999)\n"),
    );
    let loud = repo.run(&["plan"]).expect(0);
    assert!(loud.stderr().contains("warning: "), "{}", loud.stderr());
    let r = repo.run(&["-q", "plan"]).expect(0);
    assert_eq!(r.stderr(), "");
    repo.commit_all("T003");
    let fail = repo.script("fail.sh", "exit 1");
    let r = repo
        .run(&["-q", "run", "--implementer", "--", &fail])
        .expect(1);
    assert_eq!(r.stdout(), "");
    assert!(
        r.stderr().starts_with("error: task T003 failed"),
        "{}",
        r.stderr()
    );
    repo.run(&["-q", "abort"]).expect(0);
    // On a pseudo-terminal too: no status line with -q.
    let (code, out) = run_on_pty(colour_cmd(&repo, &["-q", "status"]));
    assert_eq!(code, 0);
    assert!(String::from_utf8_lossy(&out).contains("CH-001"));
    let slow = slow_impl(&repo, "1.2");
    let (code, out) = run_on_pty(colour_cmd(
        &repo,
        &["-q", "run", "--only", "T003", "--implementer", "--", &slow],
    ));
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&out));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "",
        "nothing on the terminal with -q"
    );
    // -q and -v together make no sense.
    repo.run(&["-q", "-v", "status"]).expect(2);
}

#[test]
fn verbose_and_rust_log_add_tracing_on_stderr_only() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    let quiet = repo.run(&["status"]).expect(0);
    assert_eq!(quiet.stderr(), "");
    let v = repo.run(&["-v", "status"]).expect(0);
    assert!(v.stderr().contains("DEBUG"), "{}", v.stderr());
    assert!(v.stderr().contains("repository"), "{}", v.stderr());
    assert!(!v.stderr().contains("TRACE"), "{}", v.stderr());
    assert_eq!(v.stdout(), quiet.stdout(), "tracing never goes to stdout");
    // -vv: trace level (each git command's exit); spans name the run and the task.
    let vv = repo
        .run(&["-vv", "run", "--implementer", "--", &imp])
        .expect(0);
    assert!(vv.stderr().contains("TRACE"), "{}", vv.stderr());
    assert!(vv.stderr().contains("git finished"), "{}", vv.stderr());
    assert!(vv.stderr().contains("run{change=CH-001"), "{}", vv.stderr());
    assert!(vv.stderr().contains("task{key=T001}"), "{}", vv.stderr());
    // RUST_LOG instead of -v; -q beats it; a bad filter is reported, not fatal.
    let env = repo
        .cmd(&["status"])
        .env("RUST_LOG", "git_microloop=debug")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&env.stderr).contains("DEBUG"));
    let env = repo
        .cmd(&["-q", "status"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&env.stderr), "");
    let bad = Run(repo
        .cmd(&["status"])
        .env("RUST_LOG", "git_microloop=[")
        .output()
        .unwrap())
    .expect(0);
    assert!(
        bad.stderr().starts_with("warning: RUST_LOG="),
        "{}",
        bad.stderr()
    );
}
