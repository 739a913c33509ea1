//! Exact parser results on our own small fixture files (`tests/fixtures/tasks/`), one per
//! variation found in real task lists: current template, legacy dependency prose, no
//! checkboxes, id before checkbox, bare checkbox, bold ids, CJK, duplicates and nested progress
//! items, heading tasks, Kiro contrast, a unified diff, CRLF with BOM.

use std::path::{Path, PathBuf};

use git_microloop::diag::Severity;
use git_microloop::tasks::{Status, Task, TaskList, parse};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tasks")
}

fn load(name: &str) -> TaskList {
    let path = fixture_dir().join(name);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse(&text, name)
}

fn keys(list: &TaskList) -> Vec<&str> {
    list.tasks.iter().map(|t| t.key.as_str()).collect()
}

fn task<'a>(list: &'a TaskList, key: &str) -> &'a Task {
    list.tasks
        .iter()
        .find(|t| t.key == key)
        .unwrap_or_else(|| panic!("no task {key}"))
}

fn deps(list: &TaskList, key: &str) -> Vec<String> {
    task(list, key).depends_on.clone()
}

fn warnings_at(list: &TaskList) -> Vec<u32> {
    list.diagnostics.iter().map(|d| d.line).collect()
}

#[test]
fn current_template_style() {
    let l = load("current-template.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003", "T004", "T005"]);
    let t3 = task(&l, "T003");
    assert_eq!(
        (t3.parallel, t3.story.as_deref(), t3.status),
        (true, Some("US1"), Status::Open)
    );
    assert_eq!(
        t3.phase,
        [
            "Tasks: Login",
            "Phase 2: User Story 1 - Sign in (Priority: P1) 🎯 MVP",
            "Tests for User Story 1"
        ]
    );
    assert_eq!(t3.files, ["tests/contract/login.rs"]);
    assert_eq!(task(&l, "T002").status, Status::Done);
    assert_eq!(task(&l, "T002").files, ["clippy.toml", "rustfmt.toml"]);
    assert_eq!(task(&l, "T004").status, Status::Done);
    assert_eq!(
        task(&l, "T004").title,
        "Add `LoginRequest` in src/api/login.rs"
    );
    assert_eq!(deps(&l, "T004"), ["T001"]);
    assert_eq!(deps(&l, "T005"), ["T003", "T004"]);
    assert_eq!(deps(&l, "T003"), ["T002"]); // "T002 should run before T003"
    assert_eq!(
        (task(&l, "T005").line_start, task(&l, "T005").line_end),
        (26, 26)
    );
    // TXXX placeholder (line 32) and the two unknown ids of "T005 blocks T006, T007" (line 36).
    assert_eq!(warnings_at(&l), [32, 36, 36]);
    assert!(
        l.diagnostics
            .iter()
            .all(|d| d.severity == Severity::Warning && d.hint.is_some())
    );
}

#[test]
fn legacy_dependencies_prose() {
    let l = load("legacy-dependencies.md");
    assert_eq!(
        keys(&l),
        ["T001", "T002", "T003", "T004", "T005", "T006", "T007"]
    );
    assert_eq!(deps(&l, "T002"), ["T001"]);
    assert_eq!(deps(&l, "T005"), ["T001", "T003", "T004"]);
    assert_eq!(deps(&l, "T006"), ["T003", "T004"]);
    assert_eq!(deps(&l, "T007"), ["T005", "T006"]);
    assert!(deps(&l, "T001").is_empty());
    assert_eq!(
        task(&l, "T001").phase,
        ["Tasks: Report Export", "Phase 3.1: Setup"]
    );
    assert_eq!(warnings_at(&l), [27]); // T008 does not exist
    assert!(l.diagnostics[0].message.contains("T008"));
}

#[test]
fn no_checkbox_paragraph_tasks() {
    let l = load("no-checkbox.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003", "T004", "T1.1", "T1.2"]);
    let status: Vec<Status> = l.tasks.iter().map(|t| t.status).collect();
    use Status::{Done, Open};
    assert_eq!(status, [Done, Open, Done, Open, Done, Open]);
    assert_eq!(task(&l, "T001").title, "Install storage crate (sled)");
    assert_eq!(task(&l, "T1.1").title, "Sync engine");
    assert_eq!(task(&l, "T1.2").title, "Conflict resolution");
    // `[P]` on the section heading.
    assert!(task(&l, "T003").parallel && task(&l, "T004").parallel && !task(&l, "T002").parallel);
    assert_eq!(
        (task(&l, "T1.1").line_start, task(&l, "T1.1").line_end),
        (17, 20)
    );
    assert_eq!(
        (task(&l, "T1.2").line_start, task(&l, "T1.2").line_end),
        (22, 25)
    );
    assert_eq!(deps(&l, "T1.1"), ["T002", "T003", "T004"]);
    assert_eq!(deps(&l, "T1.2"), ["T004", "T1.1"]);
    assert_eq!(deps(&l, "T004"), ["T003"]);
    assert!(l.diagnostics.is_empty());
}

#[test]
fn id_before_checkbox() {
    let l = load("id-before-checkbox.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003"]);
    let t1 = task(&l, "T001");
    assert_eq!(
        (t1.status, t1.parallel, t1.line_start, t1.line_end),
        (Status::Open, false, 5, 8)
    );
    assert_eq!(
        t1.title,
        "(setup) Pin the compiler version in `build/versions.props`"
    );
    assert_eq!(
        t1.files,
        ["build/versions.props", "/srv/app/build/versions.props"]
    );
    let t2 = task(&l, "T002");
    assert_eq!(
        (t2.status, t2.parallel, t2.line_end),
        (Status::Open, true, 14)
    );
    assert_eq!(task(&l, "T003").status, Status::Done);
    assert!(deps(&l, "T001").is_empty());
    assert_eq!(deps(&l, "T002"), ["T001"]);
    assert_eq!(deps(&l, "T003"), ["T001", "T002"]);
    assert!(l.diagnostics.is_empty());
}

#[test]
fn bare_checkbox_without_bullet() {
    let l = load("bare-checkbox.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003", "T004", "T005"]);
    let par: Vec<bool> = l.tasks.iter().map(|t| t.parallel).collect();
    assert_eq!(par, [false, false, true, false, true]);
    assert_eq!(
        task(&l, "T003").title,
        "Add test folders `tests/unit` and `tests/contract`."
    );
    assert_eq!(task(&l, "T003").files, ["tests/unit", "tests/contract"]);
    assert_eq!(task(&l, "T004").status, Status::Open); // `[#]`
    assert_eq!(deps(&l, "T005"), ["T004"]); // "Mapper (T005) requires … (T004)"
    assert_eq!(warnings_at(&l), [10]);
}

#[test]
fn bold_ids_and_inline_dependencies() {
    let l = load("bold-ids.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003", "T004"]);
    assert_eq!(task(&l, "T001").status, Status::Done);
    assert!(task(&l, "T002").parallel);
    assert_eq!(
        task(&l, "T002").title,
        "Create `vite.config.js` and `src/{components/{calculator,history},stores}` folders"
    );
    assert_eq!(
        task(&l, "T002").files,
        [
            "vite.config.js",
            "src/{components/{calculator,history},stores}"
        ]
    );
    let t3 = task(&l, "T003");
    assert_eq!(t3.story.as_deref(), Some("US1"));
    assert_eq!(
        t3.title,
        "[CRITICAL] Compute `flow(a, (b) => c)` in src/calc.js"
    );
    assert_eq!((t3.line_start, t3.line_end), (7, 9));
    assert_eq!(t3.depends_on, ["T001", "T002"]);
    assert!(deps(&l, "T001").is_empty());
    assert_eq!(deps(&l, "T002"), ["T001"]);
    assert_eq!(
        task(&l, "T004").title,
        "✓ VERIFY Milestone: build passes with Node.js and Vue.js"
    );
    assert!(task(&l, "T004").files.is_empty());
}

#[test]
fn cjk_text_and_wrapped_continuation() {
    let l = load("cjk.md");
    assert_eq!(keys(&l), ["T001", "T002", "T003"]);
    assert_eq!(
        task(&l, "T002").title,
        "配置 TypeScript (tsconfig.json, tsconfig.node.json)"
    );
    assert_eq!(
        task(&l, "T002").files,
        ["tsconfig.json", "tsconfig.node.json"]
    );
    assert_eq!(task(&l, "T001").files, ["src/", "tests/"]);
    let t3 = task(&l, "T003");
    assert_eq!((t3.line_start, t3.line_end), (7, 10));
    assert_eq!(t3.title, "`web/src/lib/api.ts` に");
    assert!(
        t3.text.ends_with("\n(2) フィールドを定義する"),
        "{}",
        t3.text
    );
    assert_eq!(
        t3.phase.last().map(String::as_str),
        Some("Phase 1: Setup (项目初始化)")
    );
    assert_eq!(t3.depends_on, ["T001"]); // "T003 は T001 の型定義に依存"
}

#[test]
fn duplicates_skipped_and_nested_progress() {
    let l = load("duplicates.md");
    assert_eq!(
        keys(&l),
        ["T001", "T002", "T003", "T004", "T003#2", "T004#2", "T005"]
    );
    assert_eq!(task(&l, "T001").title, "Define AST types");
    let t2 = task(&l, "T002");
    assert_eq!((t2.line_start, t2.line_end), (6, 8)); // nested ID-less checkboxes are text
    assert_eq!(task(&l, "T003").status, Status::Skipped);
    assert_eq!(task(&l, "T003#2").status, Status::Open);
    assert_eq!(task(&l, "T003#2").id, "T003");
    assert_eq!(deps(&l, "T004#2"), ["T003", "T003#2"]);
    assert_eq!(
        deps(&l, "T005"),
        ["T001", "T002", "T003", "T004", "T003#2", "T004#2"]
    );
    assert_eq!(warnings_at(&l), [14, 15]);
    assert!(
        l.diagnostics[0].message.contains("line 9") && l.diagnostics[0].message.contains("line 14")
    );
}

#[test]
fn heading_tasks_without_ids() {
    let l = load("heading-tasks.md");
    assert_eq!(keys(&l), ["1", "2", "3"]);
    assert_eq!(task(&l, "1").title, "Initialize Project Structure");
    assert_eq!(task(&l, "1").status, Status::Done); // every acceptance box ticked
    assert_eq!(task(&l, "2").status, Status::Open);
    assert!(task(&l, "2").parallel && !task(&l, "1").parallel);
    assert_eq!((task(&l, "1").line_start, task(&l, "1").line_end), (5, 10));
    assert_eq!(
        task(&l, "2").phase,
        [
            "Implementation Tasks: Menu Bar App",
            "Phase 1: Setup (Tasks 1-3)"
        ]
    );
    assert!(deps(&l, "1").is_empty());
    assert_eq!(deps(&l, "2"), ["1"]);
    assert_eq!(deps(&l, "3"), ["1", "2"]);
    assert!(l.diagnostics.is_empty());
}

#[test]
fn kiro_contrast_gives_no_tasks_and_one_warning() {
    let l = load("kiro.md");
    assert!(l.tasks.is_empty());
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(
        (l.diagnostics[0].severity, l.diagnostics[0].line),
        (Severity::Warning, 5)
    );
    assert!(l.diagnostics[0].message.contains("Kiro"));
}

#[test]
fn unified_diff_is_an_error() {
    let l = load("unified-diff.md");
    assert!(l.tasks.is_empty());
    assert_eq!(l.diagnostics.len(), 1);
    assert_eq!(
        (l.diagnostics[0].severity, l.diagnostics[0].line),
        (Severity::Error, 1)
    );
    assert!(l.diagnostics[0].message.contains("unified diff"));
    assert!(l.has_errors());
}

#[test]
fn crlf_with_bom() {
    let path = fixture_dir().join("crlf-bom.md");
    let text = std::fs::read_to_string(&path).expect("fixture readable");
    let l = parse(&text, "crlf-bom.md");
    assert_eq!(keys(&l), ["T001", "T002"]);
    let t1 = task(&l, "T001");
    assert_eq!((t1.line_start, t1.line_end), (5, 6));
    assert_eq!(t1.text, "First line\nRef: `src/a.rs`");
    assert_eq!(t1.files, ["src/a.rs"]);
    assert_eq!(t1.phase, ["Tasks: CRLF", "Phase 1"]);
    assert_eq!(deps(&l, "T002"), ["T001"]);
    // The same file with LF endings and no BOM parses identically, whatever git did to it.
    let lf = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    assert_eq!(parse(&lf, "crlf-bom.md"), l);
    let crlf = format!("\u{feff}{}", lf.replace('\n', "\r\n"));
    assert_eq!(parse(&crlf, "crlf-bom.md"), l);
}

#[test]
fn every_fixture_is_deterministic_and_located() {
    let mut names: Vec<_> = std::fs::read_dir(fixture_dir())
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "fixtures missing: {names:?}");
    for name in names {
        let a = load(&name);
        assert_eq!(a, load(&name), "{name}: parse is not deterministic");
        for d in &a.diagnostics {
            assert_eq!(d.file, name);
        }
        for t in &a.tasks {
            assert!(
                t.line_start >= 1 && t.line_start <= t.line_end,
                "{name}: {}",
                t.key
            );
            assert!(!t.title.is_empty());
        }
    }
}
