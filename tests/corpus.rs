//! The parser against real `tasks.md` files from public repositories (the shared corpus, read
//! in place from `../shared/corpus/speckit-tasks`; never copied into this repository).
//!
//! Expected counts and spot checks were derived by reading the files (grep and eyes), not by
//! pasting parser output. Also: no panics and only located diagnostics on every corpus file,
//! and property tests that `parse` never panics on arbitrary or mutated task text.

mod common;

use std::path::{Path, PathBuf};

use common::corpus_dir;
use git_microloop::diag::Severity;
use git_microloop::tasks::{Status, Task, TaskList, parse};
use proptest::prelude::*;

/// The corpus file whose name starts with `prefix` (e.g. `"13-"`).
fn load(dir: &Path, prefix: &str) -> TaskList {
    let path = std::fs::read_dir(dir)
        .expect("corpus dir readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix) && n.ends_with(".md"))
        })
        .unwrap_or_else(|| panic!("no corpus file {prefix}*"));
    let text = std::fs::read_to_string(&path).expect("corpus file readable");
    parse(
        &text,
        &path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    )
}

fn task<'a>(l: &'a TaskList, key: &str) -> &'a Task {
    l.tasks
        .iter()
        .find(|t| t.key == key)
        .unwrap_or_else(|| panic!("no task {key}"))
}

fn deps(l: &TaskList, key: &str) -> Vec<String> {
    task(l, key).depends_on.clone()
}

fn count(l: &TaskList, s: Status) -> usize {
    l.tasks.iter().filter(|t| t.status == s).count()
}

/// `T004`…`T007` style id lists.
fn ids(prefix: &str, from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|n| format!("{prefix}{n:03}")).collect()
}

/// Runs `check` when the corpus is present.
fn with_corpus(check: impl FnOnce(&Path)) {
    if let Some(dir) = corpus_dir() {
        check(&dir);
    }
}

#[test]
fn every_file_parses_with_located_diagnostics() {
    with_corpus(|dir| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .expect("corpus dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        files.sort();
        assert!(
            files.len() >= 26,
            "corpus incomplete: {} files",
            files.len()
        );
        for path in files {
            let text = std::fs::read_to_string(&path).expect("readable");
            let lines = u32::try_from(text.lines().count()).unwrap_or(u32::MAX);
            let name = path.display().to_string();
            let list = std::panic::catch_unwind(|| parse(&text, &name))
                .unwrap_or_else(|_| panic!("{name}: panicked"));
            for d in &list.diagnostics {
                assert!(d.line <= lines, "{name}: diagnostic past end: {d}");
                assert_eq!(d.file, name);
                assert!(!d.message.is_empty() && d.hint.is_some(), "{name}: {d}");
            }
            for t in &list.tasks {
                assert!(
                    t.line_start >= 1 && t.line_start <= t.line_end && t.line_end <= lines,
                    "{name}: {}",
                    t.key
                );
                assert!(
                    !t.title.trim().is_empty() && !t.text.is_empty(),
                    "{name}: {}",
                    t.key
                );
                assert!(
                    !t.depends_on.contains(&t.key),
                    "{name}: {} depends on itself",
                    t.key
                );
            }
        }
    });
}

/// (file prefix, tasks, done, skipped) for every corpus file.
const COUNTS: &[(&str, usize, usize, usize)] = &[
    ("00-github__spec-kit__tasks-template.md", 28, 0, 0),
    ("00-github__spec-kit__tasks-template-legacy", 23, 0, 0),
    ("01-", 215, 190, 0),
    ("02-", 83, 5, 0),
    ("03-", 46, 0, 0),
    ("04-", 27, 0, 0),
    ("05-", 55, 5, 0),
    ("06-", 137, 133, 0),
    ("07-", 124, 85, 0),
    ("08-", 37, 37, 0),
    ("09-", 34, 0, 0),
    ("10-", 64, 62, 0),
    ("11-", 35, 0, 0),
    ("12-", 125, 82, 0),
    ("13-", 31, 3, 0),
    ("14-", 20, 3, 0),
    ("15-", 118, 51, 0),
    ("16-", 219, 135, 0),
    ("17-", 100, 28, 0),
    ("18-", 33, 33, 0),
    ("19-", 57, 22, 0),
    ("20-", 129, 99, 0),
    ("21-", 54, 54, 0),
    ("22-", 0, 0, 0),
    ("23-", 0, 0, 0),
    ("24-", 63, 47, 16),
];

#[test]
fn task_and_status_counts() {
    with_corpus(|dir| {
        for &(prefix, tasks, done, skipped) in COUNTS {
            let l = load(dir, prefix);
            assert_eq!(l.tasks.len(), tasks, "{prefix}: task count");
            assert_eq!(count(&l, Status::Done), done, "{prefix}: done");
            assert_eq!(count(&l, Status::Skipped), skipped, "{prefix}: skipped");
        }
    });
}

#[test]
fn spec_kit_templates() {
    with_corpus(|dir| {
        let l = load(dir, "00-github__spec-kit__tasks-template.md");
        assert!(task(&l, "T003").parallel && !task(&l, "T001").parallel);
        assert_eq!(task(&l, "T010").story.as_deref(), Some("US1"));
        assert_eq!(deps(&l, "T014"), ["T012", "T013"]);
        assert_eq!(
            l.diagnostics
                .iter()
                .filter(|d| d.message.contains("TXXX"))
                .count(),
            6
        );

        let l = load(dir, "00-github__spec-kit__tasks-template-legacy");
        assert_eq!(deps(&l, "T008"), ids("T", 4, 7));
        assert_eq!(deps(&l, "T009"), ids("T", 4, 8));
        assert_eq!(deps(&l, "T015"), ["T008"]);
        assert_eq!(deps(&l, "T018"), ["T016"]);
        assert!(deps(&l, "T019").is_empty()); // "Implementation before polish (T019-T023)"
        assert_eq!(
            task(&l, "T001").phase.last().map(String::as_str),
            Some("Phase 3.1: Setup")
        );
        assert!(l.diagnostics.is_empty());
    });
}

#[test]
fn bold_ids_and_other_prefixes() {
    with_corpus(|dir| {
        let l = load(dir, "01-");
        assert_eq!(task(&l, "A001").status, Status::Done);
        assert_eq!(task(&l, "T173").status, Status::Open);
        assert_eq!(task(&l, "T055").status, Status::Open);
        assert_eq!(task(&l, "R001").status, Status::Done);
        assert_eq!(task(&l, "Q002").status, Status::Open);
        assert_eq!(task(&l, "T001").files, ["src/a-d/Adl/Adl.BufferList.cs"]);
        assert_eq!(
            task(&l, "T001").title,
            "Implement Adl BufferList in `src/a-d/Adl/Adl.BufferList.cs`"
        );

        let l = load(dir, "05-");
        assert!(task(&l, "T001").parallel);
        assert!(task(&l, "T010").title.contains("VERIFY"));
        assert_eq!(task(&l, "T010").status, Status::Open);
        assert_eq!(deps(&l, "T005"), ["T001", "T003"]);
        assert!(deps(&l, "T002").is_empty()); // "None (can run parallel with T001)"
        assert_eq!(
            task(&l, "T001").files[0],
            "/workspaces/cmdai/src/models/enums.rs"
        );
    });
}

#[test]
fn no_checkbox_files() {
    with_corpus(|dir| {
        let l = load(dir, "02-");
        assert_eq!(task(&l, "T1.18").status, Status::Done);
        assert_eq!(task(&l, "T1.19").status, Status::Open);
        assert_eq!(task(&l, "T2.7").status, Status::Done);
        assert_eq!(task(&l, "T4.1").status, Status::Open);
        assert_eq!(deps(&l, "T2.2"), ["T2.1"]);
        assert_eq!(deps(&l, "T2.5"), ["T2.1", "T2.3"]);
        assert_eq!(deps(&l, "T3.7"), ["T2.1", "T2.2", "T2.3", "T2.4", "T2.5"]);
        // "T1.1-T1.16 completion" names no task of this file.
        assert_eq!(
            l.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
            [834]
        );

        let l = load(dir, "19-");
        assert_eq!(task(&l, "T001").status, Status::Done);
        assert_eq!(task(&l, "T013").status, Status::Done); // "— completed" without ✅
        assert_eq!(task(&l, "TCS5c").status, Status::Done);
        assert_eq!(task(&l, "TCS6").status, Status::Open);
        assert!(task(&l, "T005").parallel); // "## Contract Test Tasks [P]"
        assert!(!task(&l, "T015").parallel);
        assert_eq!(deps(&l, "T017"), ids("T", 5, 9));
    });
}

#[test]
fn legacy_dependency_prose_and_continuations() {
    with_corpus(|dir| {
        let l = load(dir, "03-");
        assert_eq!(deps(&l, "T002"), ["T001"]);
        assert_eq!(deps(&l, "T015"), ["T009", "T010"]);
        assert_eq!(deps(&l, "T045"), ids("T", 40, 44));
        assert_eq!(deps(&l, "T035"), ids("T", 9, 34));
        assert_eq!(
            (task(&l, "T005").line_start, task(&l, "T005").line_end),
            (29, 35)
        );

        let l = load(dir, "04-");
        assert_eq!(
            (task(&l, "T001").line_start, task(&l, "T001").line_end),
            (36, 37)
        );
        assert_eq!(
            (task(&l, "T020").line_start, task(&l, "T020").line_end),
            (80, 84)
        );
        assert_eq!(deps(&l, "T005"), ["T004"]);
        assert_eq!(deps(&l, "T023"), ids("T", 6, 17));
        assert_eq!(deps(&l, "T019"), ["T003"]);

        let l = load(dir, "11-");
        assert_eq!(
            deps(&l, "T014"),
            [
                "T005", "T006", "T007", "T008", "T009", "T010", "T011", "T013"
            ]
        );
        assert!(deps(&l, "T019#2").is_empty());
        assert_eq!(task(&l, "T019#2").id, "T019");
        assert_eq!(
            l.diagnostics
                .iter()
                .filter(|d| d.message.contains("duplicate"))
                .count(),
            3
        );
    });
}

#[test]
fn odd_forms() {
    with_corpus(|dir| {
        let l = load(dir, "09-");
        assert_eq!(task(&l, "1").title, "Initialize Tauri Project Structure");
        assert!(task(&l, "2").parallel && task(&l, "20").parallel && !task(&l, "3").parallel);
        assert!(deps(&l, "1").is_empty());
        assert_eq!(deps(&l, "9"), ["6", "7", "8"]);
        let expected: Vec<String> = (10..=20).map(|n| n.to_string()).collect();
        assert_eq!(deps(&l, "30"), expected);

        let l = load(dir, "10-");
        assert!(task(&l, "T003").parallel && !task(&l, "T001").parallel);
        assert_eq!(task(&l, "T020").status, Status::Open); // `[#]`
        assert_eq!(
            l.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
            [56, 58]
        );

        let l = load(dir, "13-");
        let t = task(&l, "T002");
        assert!(t.parallel && t.status == Status::Open);
        assert_eq!(task(&l, "T012").status, Status::Done);
        assert_eq!(deps(&l, "T012"), ids("T", 5, 11));
        assert_eq!(deps(&l, "T016"), ["T001", "T002", "T012"]);
        assert_eq!(deps(&l, "T019"), ["T010", "T012", "T016"]);
        assert_eq!(deps(&l, "T020"), ["T019", "T027"]);
        assert!(l.tasks.iter().any(|t| t.key == "T031")); // under the "Validation Checklist" heading

        let l = load(dir, "18-");
        assert_eq!(deps(&l, "T016"), ids("T", 4, 15));
        assert_eq!(deps(&l, "T021"), ["T008", "T020"]);
        assert!(deps(&l, "T001").is_empty());
        assert!(!l.tasks.iter().any(|t| t.line_start == 1));
        assert_eq!(
            l.diagnostics.iter().map(|d| d.line).collect::<Vec<_>>(),
            [1]
        );
    });
}

#[test]
fn languages_ranges_and_duplicates() {
    with_corpus(|dir| {
        let l = load(dir, "07-");
        assert_eq!(
            task(&l, "T003").files,
            ["tsconfig.json", "tsconfig.node.json"]
        );
        assert_eq!(
            task(&l, "T001").title,
            "创建项目目录结构 (src/, tests/, public/)"
        );
        assert_eq!(task(&l, "T046").status, Status::Open);

        let l = load(dir, "14-");
        assert_eq!(
            (task(&l, "T001").line_start, task(&l, "T001").line_end),
            (16, 21)
        );
        assert_eq!(deps(&l, "T002"), ["T001"]);
        assert_eq!(deps(&l, "T007"), ["T004"]);
        assert_eq!(
            task(&l, "T018").story.as_deref(),
            Some("US-Models-Completeness")
        );

        let l = load(dir, "12-");
        assert!(task(&l, "T003a").parallel && task(&l, "T003a").status == Status::Done);
        assert_eq!(task(&l, "T092j").status, Status::Open);

        let l = load(dir, "16-");
        assert!(task(&l, "T011b").title.starts_with("[CRITICAL]"));
        assert_eq!(task(&l, "T011a").status, Status::Done);

        let l = load(dir, "17-");
        assert_eq!(deps(&l, "T031"), ["T029", "T030"]);
        assert_eq!(deps(&l, "T035"), ids("T", 31, 34));

        let l = load(dir, "20-");
        assert_eq!(task(&l, "T083#2").status, Status::Open);
        assert_eq!(task(&l, "T083").status, Status::Done);
        assert_eq!(
            (task(&l, "T053").line_start, task(&l, "T053").line_end),
            (143, 159)
        );
        assert_eq!(
            l.diagnostics
                .iter()
                .filter(|d| d.message.contains("duplicate"))
                .count(),
            17
        );

        let l = load(dir, "21-");
        assert_eq!(deps(&l, "T016"), ids("T", 9, 15));
        assert_eq!(deps(&l, "T012"), ["T011"]);
        assert!(task(&l, "T015").title.contains("pipe(Effect.tryPromise"));

        let l = load(dir, "24-");
        assert_eq!(task(&l, "T007").status, Status::Skipped);
        assert_eq!(task(&l, "T013a").status, Status::Done);
        assert_eq!(deps(&l, "T040"), ["T004"]);
        assert_eq!(deps(&l, "T010"), ids("T", 6, 9));
    });
}

#[test]
fn degenerate_and_foreign_files() {
    with_corpus(|dir| {
        let l = load(dir, "22-");
        assert!(l.tasks.is_empty());
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(
            (l.diagnostics[0].severity, l.diagnostics[0].line),
            (Severity::Error, 1)
        );

        let l = load(dir, "23-");
        assert!(l.tasks.is_empty());
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].severity, Severity::Warning);
    });
}

/// Lines built from task syntax, then mutated.
fn task_syntax() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "- [ ] ",
        "- [x] ",
        "[X] ",
        "[~] ",
        "T001",
        "T1.2",
        "T003a",
        "**",
        "[P] ",
        "[US1] ",
        " - ",
        "✅",
        "❌",
        "(depends on T001–T009)",
        "_(Depends on: none)_",
        "`src/a.rs`",
        "# ",
        "```",
        "~~~",
        "<!--",
        "-->",
        "\r\n",
        "\n",
        "  ",
        "\t",
        "T001-",
        "-e",
        "配置",
        "\u{feff}",
        "**Dependencies**: ",
        "### 1. ",
        "--- a/x",
        "@@ -1 +1 @@",
        "T008 blocks T009",
        " after ",
        " before ",
        "は T001 に依存",
        "(",
        ")",
        "`",
        "\\",
    ]);
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn never_panics_on_arbitrary_text(s in any::<String>()) {
        let l = parse(&s, "p.md");
        for t in &l.tasks {
            prop_assert!(t.line_start >= 1 && t.line_start <= t.line_end);
        }
    }

    #[test]
    fn never_panics_on_task_syntax(s in task_syntax(), cut in any::<prop::sample::Index>()) {
        let l = parse(&s, "p.md");
        let keys: std::collections::HashSet<&str> = l.tasks.iter().map(|t| t.key.as_str()).collect();
        prop_assert_eq!(keys.len(), l.tasks.len(), "keys must be distinct");
        for t in &l.tasks {
            prop_assert!(!t.title.is_empty());
            prop_assert!(t.depends_on.iter().all(|k| keys.contains(k.as_str()) && k != &t.key));
        }
        // Any prefix (cut at a char boundary) parses too.
        let chars: Vec<char> = s.chars().collect();
        let n = if chars.is_empty() { 0 } else { cut.index(chars.len() + 1) };
        let prefix: String = chars[..n].iter().collect();
        let _ = parse(&prefix, "p.md");
    }
}
