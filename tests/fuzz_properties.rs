//! The fuzz targets' guarantees in the normal test suite, so CI keeps them: the same entry
//! points and the same invariants (`tests/invariants/mod.rs`, shared with `fuzz/`) over random
//! input — arbitrary strings and bytes, soups of each format's tokens, and valid files (our
//! fixtures, the config template) mutated by inserting, deleting and repeating pieces.
//!
//! What holds for every input: no panic; tasks.md diagnostics and config errors name the file
//! and a line of it (YAML also a column) and print no control characters; plans are
//! deterministic topological orders or name a real cycle; ticking marks exactly the task ticked;
//! a commit message built from any task text reads back (libgit2, and `git interpret-trailers`)
//! to exactly our trailers; pre-push lines parse or name their line.

mod invariants;

use std::path::Path;
use std::process::Command;

use invariants::{ConfigKind, MessageInput};
use proptest::prelude::*;
use proptest::sample::Index;

// ---------------------------------------------------------------------------------------------
// Inputs

/// Our own valid tasks.md files: the parser fixtures and the fuzz seeds.
fn tasks_files() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = Vec::new();
    for dir in ["tests/fixtures/tasks", "fuzz/seeds/tasks_parser"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|e| e.expect("readable dir entry").path())
            .collect();
        paths.sort();
        for p in paths {
            texts.push(std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p:?}: {e}")));
        }
    }
    texts
}

const TEMPLATE: &str = include_str!("../templates/microloop.toml");

/// The template with its commented-out examples switched on.
fn template_uncommented() -> String {
    TEMPLATE
        .lines()
        .map(|l| match l.strip_prefix("# ") {
            Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Uncommenting the template's examples gives a valid config that sets what they show.
#[test]
fn template_examples_are_valid_when_uncommented() {
    let c = git_microloop::config::parse_config(&template_uncommented(), "template").unwrap();
    assert_eq!(c.qa.len(), 1);
    assert!(c.retention.is_some() && c.notify.is_some());
    assert!(c.executor.command.is_some());
}

/// Our own valid config files, by reader.
fn config_files() -> Vec<(ConfigKind, String)> {
    vec![
        (ConfigKind::Toml, TEMPLATE.to_string()),
        (ConfigKind::Toml, template_uncommented()),
        (
            ConfigKind::TestsYaml,
            "max_attempts: 3\ntests:\n  - name: unit\n    command: [pytest, -q]\n    timeout: 10m\n  \
             - name: lint\n    command:\n      - ruff\n      - check\n    required: false\n"
                .into(),
        ),
        (
            ConfigKind::RetentionYaml,
            "success_ttl: 7d\nfailed_review_after: 14d\nrequired_approvals: [PM, QA, GO]\n\
             finalizers:\n  - GO\n  - HR\nkeep_last: 1\nkeep_summary: true\n"
                .into(),
        ),
        (
            ConfigKind::PlannerJson,
            "{\n  \"seed\": 42,\n  \"strategy\": \"by-file\"\n}\n".into(),
        ),
    ]
}

const TASK_TOKENS: &[&str] = &[
    "- [ ] ",
    "- [x] ",
    "[X] ",
    "[~] ",
    "[#] ",
    "- [P] ",
    "T001",
    "T002",
    "T1.2",
    "T003a",
    "A001",
    "**",
    "[P] ",
    "[US1] ",
    " - ",
    ": ",
    "✅",
    "❌",
    "(depends on T001)",
    "(depends on T001–T009)",
    "_(Depends on: none)_",
    "**Dependencies**: T002",
    "`src/a.rs`",
    "src/b.rs",
    "## Phase 1\n",
    "## Dependencies\n",
    "### 1. Setup\n",
    "# ",
    "```\n",
    "~~~",
    "<!--",
    "-->",
    "\r\n",
    "\n",
    "\n\n",
    "\r",
    "  ",
    "    - ",
    "\t",
    "\u{feff}",
    "--- a/x\n+++ b/x\n",
    "@@ -1 +1 @@",
    "---\n",
    "T008 blocks T009",
    "Launch T001-T003 together",
    "は T001 に依存",
    " - COMPLETE",
    "TXXX",
    "(",
    ")",
    "[ ]",
    "\u{1b}[31m",
    "\u{0}",
    "é",
    "配置",
];

const CONFIG_TOKENS: &[&str] = &[
    "[planner]\n",
    "seed = 1\n",
    "seed = -1\n",
    "strategy = \"by-file\"\n",
    "strategy = \"x\"\n",
    "[executor]\n",
    "max_attempts = 0\n",
    "timeout = \"1d12h\"\n",
    "timeout = 5\n",
    "[[qa]]\n",
    "name = \"x\"\n",
    "command = [\"a\"]\n",
    "command = \"a b\"\n",
    "[retention]\n",
    "success_ttl = \"-3d\"\n",
    "[paths]\n",
    "tasks = \"../x\"\n",
    "tasks = \"{x}\"\n",
    "[change]\n",
    "pattern = \"(\"\n",
    "[implementers.A]\n",
    "\"\u{1b}[2J\" = 1\n",
    "tests:\n",
    "  - name: a\n",
    "    command: [x]\n",
    "    timout: 1\n",
    "max_attempts: ",
    "keep_last: ",
    "required_approvals: [PM, \"P M\"]\n",
    "&a ",
    "*a",
    "!!binary ",
    "{",
    "}",
    "[",
    "]",
    ": ",
    ", ",
    "= ",
    "\"",
    "'",
    "#",
    "---\n",
    "...\n",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "  ",
    "0",
    "7d",
    "-3d",
    "99999999999999999999d",
    "18446744073709551616",
    "{\"seed\": ",
    "\"strategy\": \"spec-like\"",
    "\u{0}",
    "é",
];

const MESSAGE_TOKENS: &[&str] = &[
    "Microloop-Task: T999",
    "Microloop-Change: CH-666",
    "Signed-off-by: A <a@b>",
    "Key: value",
    "(cherry picked from commit 1234567)",
    "---",
    "--- a/x",
    "diff --git a/x b/x",
    "Index: x",
    "# comment",
    "-- >8 --",
    "--8<--",
    "\n",
    "\n\n",
    "\n\n\n",
    "\r",
    "\r\n",
    " ",
    "\t",
    "  ",
    "\u{2028}",
    "\u{85}",
    "\u{a0}",
    "\u{feff}",
    "\u{1b}[2J",
    "\u{0}",
    "é",
    "…",
    ":",
    "x",
    "word ",
    "Microloop-Task:\n T999",
];

/// A string of `tokens`, some of them arbitrary text.
fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => prop::sample::select(tokens).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ];
    prop::collection::vec(piece, 0..max).prop_map(|v| v.concat())
}

/// One edit of a text at a position given as a fraction of its length.
#[derive(Debug, Clone)]
enum Edit {
    Insert(Index, String),
    Delete(Index, usize),
    RepeatLine(Index),
    DropLine(Index),
}

fn edits(tokens: &'static [&'static str]) -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (any::<Index>(), soup(tokens, 4)).prop_map(|(i, s)| Edit::Insert(i, s)),
        2 => (any::<Index>(), 1usize..40).prop_map(|(i, n)| Edit::Delete(i, n)),
        1 => any::<Index>().prop_map(Edit::RepeatLine),
        1 => any::<Index>().prop_map(Edit::DropLine),
    ];
    prop::collection::vec(edit, 1..6)
}

/// Apply `edits` to `text`, at character boundaries.
fn mutate(text: &str, edits: &[Edit]) -> String {
    let mut s = text.to_string();
    for e in edits {
        let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
        let at = |i: &Index| bounds[i.index(bounds.len())];
        match e {
            Edit::Insert(i, piece) => s.insert_str(at(i), piece),
            Edit::Delete(i, n) => {
                let k = i.index(bounds.len());
                let end = bounds[(k + n).min(bounds.len() - 1)];
                s.replace_range(bounds[k]..end, "");
            }
            Edit::RepeatLine(i) | Edit::DropLine(i) => {
                let mut lines: Vec<&str> = s.split_inclusive('\n').collect();
                if lines.is_empty() {
                    continue;
                }
                let k = i.index(lines.len());
                if matches!(e, Edit::RepeatLine(_)) {
                    lines.insert(k, lines[k]);
                } else {
                    lines.remove(k);
                }
                s = lines.concat();
            }
        }
    }
    s
}

fn config_kind() -> impl Strategy<Value = ConfigKind> {
    prop::sample::select(ConfigKind::ALL.to_vec())
}

// ---------------------------------------------------------------------------------------------
// tasks.md and the planner

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn tasks_md_any_text_parses_plans_and_ticks_consistently(s in any::<String>()) {
        invariants::tasks_md(&s);
    }

    #[test]
    fn tasks_md_any_bytes_read_lossily_hold_too(b in prop::collection::vec(any::<u8>(), 0..512)) {
        invariants::tasks_md(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn tasks_md_token_soup_holds(s in soup(TASK_TOKENS, 60)) {
        invariants::tasks_md(&s);
        invariants::fallback(&s);
    }

    #[test]
    fn tasks_md_mutated_fixtures_hold(file in any::<Index>(), e in edits(TASK_TOKENS)) {
        let files = tasks_files();
        let text = mutate(&files[file.index(files.len())], &e);
        invariants::tasks_md(&text);
    }
}

// ---------------------------------------------------------------------------------------------
// configuration files

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn config_any_text_reads_or_fails_with_a_place(kind in config_kind(), s in any::<String>()) {
        invariants::config(kind, &s);
    }

    #[test]
    fn config_token_soup_reads_or_fails_with_a_place(kind in config_kind(), s in soup(CONFIG_TOKENS, 30)) {
        invariants::config(kind, &s);
    }

    #[test]
    fn config_mutated_valid_files_read_or_fail_with_a_place(
        file in any::<Index>(),
        e in edits(CONFIG_TOKENS),
    ) {
        let files = config_files();
        let (kind, text) = &files[file.index(files.len())];
        invariants::config(*kind, &mutate(text, &e));
    }
}

#[test]
fn config_valid_files_read() {
    for (kind, text) in config_files() {
        invariants::config(kind, &text);
        assert!(
            format!("{:?}", kind_reads(kind, &text)).starts_with("Ok"),
            "{kind:?} example does not read"
        );
    }
}

fn kind_reads(kind: ConfigKind, text: &str) -> Result<(), String> {
    use git_microloop::config;
    let file = kind.file();
    let r = match kind {
        ConfigKind::Toml => config::parse_config(text, file).map(drop),
        ConfigKind::TestsYaml => config::parse_tests(text, file).map(drop),
        ConfigKind::RetentionYaml => config::parse_retention(text, file).map(drop),
        ConfigKind::PlannerJson => config::parse_planner_config(text, file).map(drop),
    };
    r.map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// commit messages, trailers, pre-push lines

fn message_input<'a>(
    key: &'a str,
    title: &'a str,
    text: &'a str,
    change: &'a str,
    bits: u8,
) -> MessageInput<'a> {
    MessageInput {
        key,
        title,
        text,
        change,
        seed: u64::from(bits).wrapping_mul(0x9e37_79b9_7f4a_7c15),
        qa: [Some("pass"), Some("fail"), None, Some("skipped")][usize::from(bits & 3)],
        audit: (bits & 4 != 0).then_some(u64::from(bits)),
    }
}

const KEYS: &[&str] = &["T001", "T003a", "T1.18", "T001#2", "A001", "F001"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn messages_from_any_text_read_back_exactly_our_trailers(
        key in prop::sample::select(KEYS),
        title in any::<String>(),
        text in any::<String>(),
        change in "\\PC{0,12}",
        bits: u8,
    ) {
        invariants::task_message(&message_input(key, &title, &text, &change, bits));
    }

    #[test]
    fn messages_from_forging_text_read_back_exactly_our_trailers(
        key in prop::sample::select(KEYS),
        title in soup(MESSAGE_TOKENS, 8),
        text in soup(MESSAGE_TOKENS, 40),
        bits: u8,
    ) {
        let m = invariants::task_message(&message_input(key, &title, &text, "CH-002", bits));
        invariants::any_message(&m);
    }

    #[test]
    fn messages_from_parsed_tasks_read_back_exactly_our_trailers(
        file in any::<Index>(),
        e in edits(TASK_TOKENS),
        seed: u64,
    ) {
        let files = tasks_files();
        invariants::messages_of_tasks_md(&mutate(&files[file.index(files.len())], &e), seed);
    }

    #[test]
    fn any_message_trailers_read_without_panic(m in soup(MESSAGE_TOKENS, 40)) {
        invariants::any_message(&m);
    }

    #[test]
    fn pre_push_lines_parse_or_name_their_line(s in soup(PUSH_TOKENS, 24)) {
        invariants::push_lines(&s);
    }
}

const PUSH_TOKENS: &[&str] = &[
    "refs/heads/a",
    "refs/heads/microloop/CH-1/run-1",
    "refs/tags/v1",
    "(delete)",
    "HEAD",
    "1111111111111111111111111111111111111111",
    "0000000000000000000000000000000000000000",
    "abababababababababababababababababababababababababababababababab",
    "xyz",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\r",
];

/// `git interpret-trailers --parse` (what hooks and `git log %(trailers)` see) reads back exactly
/// our trailers too, for messages built from forging text. A few dozen cases: each runs git.
#[test]
fn git_reads_back_exactly_our_trailers() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(24));
    let strategy = (
        prop::sample::select(KEYS),
        soup(MESSAGE_TOKENS, 8),
        soup(MESSAGE_TOKENS, 40),
        any::<u8>(),
    );
    let dir = tempfile::tempdir().expect("temp dir");
    runner
        .run(&strategy, |(key, title, text, bits)| {
            let message =
                invariants::task_message(&message_input(key, &title, &text, "CH-002", bits));
            let ours = git_microloop::git::message_trailers(&message);
            let theirs = git_trailers(dir.path(), &message);
            prop_assert_eq!(ours, theirs, "git disagrees on:\n{}", message);
            Ok(())
        })
        .unwrap();
}

fn git_trailers(cwd: &Path, message: &str) -> Vec<(String, String)> {
    use std::io::Write as _;
    let mut child = Command::new("git")
        .args(["interpret-trailers", "--parse"])
        .current_dir(cwd)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(message.as_bytes())
        .expect("write message");
    let out = child.wait_with_output().expect("git finishes");
    assert!(out.status.success(), "git interpret-trailers failed");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
