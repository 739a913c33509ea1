//! Spec-Kit `tasks.md` parser: text in, [`TaskList`] (tasks plus diagnostics) out.
//!
//! Pure: no I/O, no panics on any input, linear time (every line is looked at a bounded number
//! of times; ranges are resolved through a sorted index). The comments in this module and its
//! submodules are the grammar's specification; tests in each module pin it down.
//!
//! How a file is read:
//! 1. [`lines`] numbers the lines (BOM and CRLF tolerated), hides fenced code and HTML comments,
//!    and gives every line its heading path.
//! 2. A file that is really a unified diff is rejected with an error at line 1 ([`formats`]).
//! 3. **Per-file mode.** If any line is a checkbox task (`- [ ] T001 …`, `[X] T001 - …`,
//!    `T001 - [ ] …`), only such lines are tasks: in those files lines that merely start with an
//!    id are prose (`T008 blocks T009`, `Launch T005–T008 together`). Only a file without any
//!    checkbox task is read in *paragraph mode*, where a line that is not a list item and starts
//!    with an id (`T001 ✅ …`, `**T1.18** ❌ …`) is a task. A plain list item starting with an id
//!    is never a task (in every real file it is dependency or parallel prose).
//! 4. **Sections that hold no paragraph tasks**: in paragraph mode, lines under Dependencies (any
//!    heading such as "Dependencies & Execution Order", "User Story Dependencies", "Dependency
//!    Notes", 依存関係), Parallel … (examples, opportunities, guidance), Notes, Validation
//!    Checklist, Implementation Strategy and Execution Flow — including their subsections — are
//!    never tasks, whatever they look like. Headings are matched after leading emoji and
//!    numbering. Checkbox task lines are tasks in any section: a checkbox followed by an id is
//!    unambiguous, while heading nesting is not (real files put a task section under a
//!    "Validation Checklist" heading).
//! 5. A file with no id'd task line at all is checked for the Kiro format (zero tasks and a
//!    warning), then for numbered heading tasks (`### 1. Title`); otherwise it has no tasks and
//!    gets a warning.
//! 6. **Continuation.** A list-item task owns the following lines indented deeper than its
//!    bullet (blank lines included when more indented text follows): wrapped text, `Ref:` lines,
//!    field sub-bullets, nested ID-less checkboxes. A task written as a paragraph (no bullet)
//!    owns the lines that follow it up to a blank line, and after a blank line any further list
//!    blocks or indented lines, up to a heading, a thematic break (`---`) or a non-indented
//!    paragraph. The next task or a heading always ends a task. `line_end` is the last owned
//!    non-blank line.
//! 7. **Dependencies** (resolved to keys, sorted by file order, no self-edges): the trailing
//!    group of the task line or of a continuation line (`(depends on T009, T010)`,
//!    `_(Depends on: T002)_`, `(depends on T009–T015)`; only the last parenthesised group of a
//!    line counts), `Dependencies:` fields in the task's text (`**Dependencies**: T001, T002`,
//!    `- Dependencies: none`; a value starting with "none" has no dependencies), and prose in
//!    dependency sections (see [`deps`]). Unknown ids and empty ranges are warned about at their
//!    line and ignored.
//! 8. **Duplicate ids** are never merged: the first keeps `key == id`, later ones get `id#2`,
//!    `id#3`, … and a warning naming both lines.
//! 9. `parallel` is `[P]` in the marker area, inside the bold id, at the end of the line, in the
//!    checkbox slot, or on any heading above the task. `phase` is the heading path.
//! 10. **Status**: a checkbox decides (`[ ]` open, `[x]`/`[X]` done, `[~]`/`[-]` skipped, other
//!     punctuation open with a warning); ✅ after a ticked or unticked box changes nothing,
//!     because tools tick boxes. Without a checkbox: ❌ in the marker area means open, otherwise
//!     ✅ anywhere on the line or a trailing `- COMPLETE` / `— completed` / `- DONE` means done.

mod deps;
mod files;
mod formats;
mod grammar;
mod lines;
pub mod model;

pub use model::*;

use crate::diag::Diagnostic;
use deps::{Index, Ref, Unresolved};
use grammar::{Checkbox, Form, TaskLine};
use lines::{Kind, Line, Scan};

/// Parses one task list. `file` is the display path used in every diagnostic.
pub fn parse(text: &str, file: &str) -> TaskList {
    let mut diags = Vec::new();
    let scan = lines::scan(text, file, &mut diags);
    if let Some(d) = formats::unified_diff(&scan.lines, file) {
        return TaskList {
            tasks: Vec::new(),
            diagnostics: vec![d],
        };
    }
    let mut starts = find_task_lines(&scan, file, &mut diags);
    let mut heading_mode = false;
    if starts.is_empty() {
        if let Some(d) = formats::kiro(&scan.lines, file) {
            diags.push(d);
            return finish(Vec::new(), diags);
        }
        starts = formats::heading_tasks(&scan);
        heading_mode = true;
        if starts.is_empty() {
            diags.push(
                Diagnostic::warning(file, 0, "no tasks found").with_hint(
                    "write tasks as `- [ ] T001 Description` (Spec-Kit tasks.md format)",
                ),
            );
            return finish(Vec::new(), diags);
        }
    }
    let tasks = build(&scan, &starts, heading_mode, file, &mut diags);
    finish(tasks, diags)
}

/// Byte offset of the `[ ]` on `line` (one line, without its newline) when the parser reads it
/// as an open checkbox task (`- [ ] T001 …`, `[ ] T001 - …`, `T001 - [ ] …`); `None` for any
/// other line, including checkboxes that are not tasks (acceptance criteria) and `[ ]` in text.
pub fn open_checkbox(line: &str) -> Option<usize> {
    grammar::open_checkbox(line)
}

fn finish(tasks: Vec<Task>, mut diagnostics: Vec<Diagnostic>) -> TaskList {
    // Stable: findings on the same line keep the order in which they were made.
    diagnostics.sort_by_key(|d| d.line);
    TaskList { tasks, diagnostics }
}

/// Task lines in file order, as `(line index, parsed line)`; see the module doc, steps 3–4.
fn find_task_lines(
    scan: &Scan<'_>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(usize, TaskLine)> {
    let mut found = Vec::new();
    for (i, line) in scan.lines.iter().enumerate() {
        if line.kind == Kind::Heading {
            warn_spliced_heading(line, file, diags);
            continue;
        }
        if line.kind != Kind::Text {
            continue;
        }
        match grammar::parse_checkbox_line(&line.text) {
            Some(Checkbox::Task(t)) => {
                if let Some(mark) = t.odd_mark {
                    diags.push(
                        Diagnostic::warning(
                            file,
                            line.no,
                            format!("task {} has an unrecognised checkbox mark `[{mark}]`; it is treated as open", t.id),
                        )
                        .with_hint("use `[ ]` (open), `[x]` (done) or `[~]` (skipped)"),
                    );
                }
                found.push((i, t));
            }
            Some(Checkbox::Placeholder(p)) => diags.push(
                Diagnostic::warning(
                    file,
                    line.no,
                    format!("`{p}` is a template placeholder, not a task id; the line is skipped"),
                )
                .with_hint("number the task (e.g. `T029`) or delete the template line"),
            ),
            Some(Checkbox::Plain) | None => {}
        }
    }
    if !found.is_empty() {
        return found;
    }
    scan.lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.kind == Kind::Text && !section_of(scan, l).no_tasks)
        .filter_map(|(i, l)| grammar::parse_paragraph_line(&l.text).map(|t| (i, t)))
        .collect()
}

/// A heading with a task line spliced into it (an agent edit gone wrong) stays a heading.
fn warn_spliced_heading(line: &Line<'_>, file: &str, diags: &mut Vec<Diagnostic>) {
    let text: &str = &line.text;
    let spliced = text.match_indices("- [").any(|(pos, _)| {
        matches!(
            grammar::parse_checkbox_line(&text[pos..]),
            Some(Checkbox::Task(_))
        )
    });
    if spliced {
        diags.push(
            Diagnostic::warning(file, line.no, "this heading has a task line spliced into it; it is read as a heading, not as a task")
                .with_hint("move the task text out of the heading onto its own line"),
        );
    }
}

fn section_of<'s>(scan: &'s Scan<'_>, line: &Line<'_>) -> &'s lines::Section {
    // `section` always indexes `sections` (the scanner pushes before pointing at it); fall back
    // to the preamble rather than panic if that ever changed.
    scan.sections.get(line.section).unwrap_or(&scan.sections[0])
}

/// Turns task lines into tasks: extents, text, files, keys, then dependencies.
fn build(
    scan: &Scan<'_>,
    starts: &[(usize, TaskLine)],
    heading_mode: bool,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Task> {
    let lines = &scan.lines;
    let mut tasks = Vec::with_capacity(starts.len());
    let mut own_refs: Vec<Vec<(Ref, u32)>> = Vec::with_capacity(starts.len());
    let mut owned = vec![false; lines.len()];
    for (k, (start, tl)) in starts.iter().enumerate() {
        let limit = starts.get(k + 1).map_or(lines.len(), |s| s.0);
        let end = if heading_mode {
            formats::heading_extent(lines, *start).min(limit.saturating_sub(1).max(*start))
        } else {
            extent(lines, *start, limit, tl.form)
        };
        let body = &lines[*start..=end];
        for flag in &mut owned[*start..=end] {
            *flag = true;
        }
        let section = section_of(scan, &lines[*start]);
        let mut phase = section.path.clone();
        if heading_mode {
            phase.pop(); // the task's own heading is not its phase
        }
        let status = if heading_mode && tl.status == Status::Open && formats::all_boxes_ticked(body)
        {
            Status::Done
        } else {
            tl.status
        };
        own_refs.push(task_refs(tl, body, heading_mode));
        tasks.push(Task {
            key: tl.id.clone(), // duplicates are renamed below
            id: tl.id.clone(),
            title: tl.title.clone(),
            text: body_text(&tl.title, body),
            status,
            parallel: tl.parallel || (!heading_mode && section.parallel),
            story: tl.story.clone(),
            phase,
            files: files::extract(
                body.iter()
                    .filter(|l| l.kind != Kind::Code)
                    .map(|l| l.text.as_ref()),
            ),
            depends_on: Vec::new(),
            line_start: lines[*start].no,
            line_end: lines[end].no,
        });
    }
    assign_keys(&mut tasks, file, diags);
    let prose = prose_relations(scan, &owned);
    resolve(&mut tasks, own_refs, prose, file, diags);
    tasks
}

/// Gives the second and later tasks of a duplicated id the keys `id#2`, `id#3`, … (file order)
/// and reports each with both line numbers. Sorting instead of hashing keeps this cheap for
/// very large files.
fn assign_keys(tasks: &mut [Task], file: &str, diags: &mut Vec<Diagnostic>) {
    let mut order: Vec<usize> = (0..tasks.len()).collect();
    order.sort_by(|&a, &b| tasks[a].id.cmp(&tasks[b].id).then(a.cmp(&b)));
    let mut run_start = 0;
    for pos in 1..=order.len() {
        let same = pos < order.len() && tasks[order[pos]].id == tasks[order[run_start]].id;
        if same {
            continue;
        }
        let first = order[run_start];
        let first_line = tasks[first].line_start;
        for (n, &i) in order[run_start..pos].iter().enumerate().skip(1) {
            let t = &mut tasks[i];
            t.key = format!("{}#{}", t.id, n + 1);
            diags.push(
                Diagnostic::warning(
                    file,
                    t.line_start,
                    format!(
                        "duplicate task id {} (first at line {first_line}, again at line {}); both are kept, this one as {}",
                        t.id, t.line_start, t.key
                    ),
                )
                .with_hint(format!("renumber one of them so references to {} are unambiguous", t.id)),
            );
        }
        run_start = pos;
    }
}

/// Last line index owned by the task starting at `start` (module doc, step 6).
fn extent(lines: &[Line<'_>], start: usize, limit: usize, form: Form) -> usize {
    let indent = lines[start].indent;
    let mut last = start;
    let mut after_blank = false;
    for (j, l) in lines.iter().enumerate().take(limit).skip(start + 1) {
        let deeper = l.indent > indent;
        let take = match (l.kind, form) {
            (Kind::Heading, _) => break,
            (Kind::Blank | Kind::Comment, _) => {
                after_blank = true;
                continue;
            }
            (Kind::Code, _) | (Kind::Text, Form::Bullet) => deeper,
            (Kind::Text, Form::Paragraph) => {
                !grammar::is_thematic_break(&l.text)
                    && (!after_blank || deeper || grammar::is_list_item(&l.text))
            }
        };
        if !take {
            break;
        }
        last = j;
        after_blank = false;
    }
    last
}

/// The task's text: its title, then its continuation lines with their common indentation
/// removed and trailing white space trimmed (CRLF already gone). No checkbox or id markup, so a
/// tick changes the task's status and nothing else, and commit bodies read as prose.
fn body_text(title: &str, body: &[Line<'_>]) -> String {
    let rest = body.get(1..).unwrap_or_default();
    let indent = rest
        .iter()
        .filter(|l| !l.text.trim().is_empty())
        .map(|l| l.text.len() - l.text.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::from(title);
    for l in rest {
        out.push('\n');
        let line = l.text.trim_end();
        // `indent` counts leading white space, which is ASCII, so this is a char boundary.
        out.push_str(line.get(indent.min(line.len())..).unwrap_or(line));
    }
    out
}

/// References written in the task's own lines: trailing groups and `Dependencies:` fields.
fn task_refs(tl: &TaskLine, body: &[Line<'_>], heading_mode: bool) -> Vec<(Ref, u32)> {
    let mut out = Vec::new();
    let first = body.first().map_or(0, |l| l.no);
    if let Some(group) = &tl.deps
        && !deps::is_none_value(group)
    {
        out.extend(deps::refs(group).into_iter().map(|r| (r, first)));
    }
    for line in body.iter().skip(1).filter(|l| l.kind == Kind::Text) {
        let refs = if let Some(value) = deps::field_value(&line.text) {
            if deps::is_none_value(value) {
                continue;
            }
            if heading_mode {
                formats::number_refs(value)
            } else {
                deps::refs(value)
            }
        } else if let (_, Some(group)) = grammar::split_dep_group(&line.text) {
            if deps::is_none_value(&group) {
                continue;
            }
            deps::refs(&group)
        } else {
            continue;
        };
        out.extend(refs.into_iter().map(|r| (r, line.no)));
    }
    out
}

type Relation = (Vec<Ref>, Vec<Ref>, u32);

/// Relations stated in dependency sections, outside any task's own lines.
fn prose_relations(scan: &Scan<'_>, owned: &[bool]) -> Vec<Relation> {
    scan.lines
        .iter()
        .zip(owned)
        .filter(|(l, own)| !**own && l.kind == Kind::Text && section_of(scan, l).deps)
        .flat_map(|(l, _)| {
            deps::relations(&l.text)
                .into_iter()
                .map(move |(a, b)| (a, b, l.no))
        })
        .collect()
}

/// Fills `depends_on` from the collected references.
fn resolve(
    tasks: &mut [Task],
    own_refs: Vec<Vec<(Ref, u32)>>,
    prose: Vec<Relation>,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) {
    let index = Index::new(tasks.iter().map(|t| t.id.as_str()));
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    let lookup = |r: &Ref, line: u32, out: &mut Vec<usize>, diags: &mut Vec<Diagnostic>| {
        if let Err(why) = index.resolve_into(r, out) {
            diags.push(unresolved(file, line, r, &why));
        }
    };
    for (i, refs) in own_refs.iter().enumerate() {
        for (r, line) in refs {
            lookup(r, *line, &mut edges[i], diags);
        }
    }
    let mut before = Vec::new();
    let mut targets = Vec::new();
    for (dependents, prerequisites, line) in &prose {
        before.clear();
        targets.clear();
        for r in prerequisites {
            lookup(r, *line, &mut before, diags);
        }
        for r in dependents {
            lookup(r, *line, &mut targets, diags);
        }
        for &d in &targets {
            edges[d].extend(before.iter().copied());
        }
    }
    for (i, mut e) in edges.into_iter().enumerate() {
        e.retain(|&j| j != i);
        e.sort_unstable();
        e.dedup();
        let keys = e
            .iter()
            .filter_map(|&j| tasks.get(j).map(|t| t.key.clone()))
            .collect();
        if let Some(t) = tasks.get_mut(i) {
            t.depends_on = keys;
        }
    }
}

fn unresolved(file: &str, line: u32, r: &Ref, why: &Unresolved) -> Diagnostic {
    let what = r.display();
    let message = match why {
        Unresolved::UnknownId => {
            format!("dependency on {what}, but no task has that id; the reference is ignored")
        }
        Unresolved::EmptyRange => {
            format!("dependency range {what} matches no task in this file; it is ignored")
        }
        Unresolved::MixedRange => {
            format!("dependency range {what} mixes id prefixes; it is ignored")
        }
    };
    Diagnostic::warning(file, line, message).with_hint("fix the reference, or add the missing task")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &TaskList) -> Vec<&str> {
        list.tasks.iter().map(|t| t.key.as_str()).collect()
    }

    #[test]
    fn checkbox_mode_ignores_prose_ids() {
        let l = parse(
            "# T\n## Phase 1\n- [ ] T001 A\n- [x] T002 [P] B\nT003 looks like a task\n## Dependencies\n- T001 blocks T002\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["T001", "T002"]);
        assert_eq!(l.tasks[1].depends_on, vec!["T001"]);
        assert_eq!(l.tasks[0].phase, vec!["T", "Phase 1"]);
    }

    #[test]
    fn paragraph_mode_when_no_checkboxes() {
        let l = parse(
            "## Setup Tasks [P]\n\nT001 ✅ Install — completed\nT002 Write\n\n## Dependency Notes\nT002 after T001\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["T001", "T002"]);
        assert_eq!(l.tasks[0].status, Status::Done);
        assert!(l.tasks[1].parallel);
        assert_eq!(l.tasks[1].depends_on, vec!["T001"]);
    }

    #[test]
    fn continuation_rules() {
        let text = "- [ ] T001 First  \n      Ref: `a/b.rs`\n  - [x] nested progress\n\n  more\n\nnot part\n- [ ] T002 x\n";
        let l = parse(text, "t.md");
        assert_eq!((l.tasks[0].line_start, l.tasks[0].line_end), (1, 5));
        assert_eq!(l.tasks[0].files, vec!["a/b.rs"]);
        assert_eq!(
            l.tasks[0].text,
            "First\n    Ref: `a/b.rs`\n- [x] nested progress\n\nmore"
        );
        let l = parse(
            "T001 - [ ] A\n- Path: `x/y.cs`\n- Dependencies: none\n\nT002 - [P] B\n- Dependencies: T001\n\n---\nT009 x\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["T001", "T002"]);
        assert_eq!(l.tasks[0].line_end, 3);
        assert_eq!(l.tasks[1].line_end, 6);
        assert_eq!(l.tasks[1].depends_on, vec!["T001"]);
    }

    #[test]
    fn duplicates_get_keys_and_warnings() {
        let l = parse(
            "- [ ] T001 a\n- [ ] T002 b\n- [ ] T001 c\n- [ ] T003 d (depends on T001)\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["T001", "T002", "T001#2", "T003"]);
        assert_eq!(l.tasks[3].depends_on, vec!["T001", "T001#2"]);
        let d = &l.diagnostics[0];
        assert_eq!(d.line, 3);
        assert!(d.message.contains("line 1") && d.message.contains("line 3"));
    }

    #[test]
    fn unknown_and_self_references() {
        let l = parse("- [ ] T001 a (depends on T001, T099)\n", "t.md");
        assert!(l.tasks[0].depends_on.is_empty());
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].line, 1);
        assert!(l.diagnostics[0].message.contains("T099"));
    }

    #[test]
    fn ranges_expand_over_present_ids() {
        let l = parse(
            "- [ ] T011 a\n- [ ] T011d b\n- [ ] T011e c\n- [ ] T020 d\n- [ ] T021 e (depends on T011–T019)\n- [ ] T022 (depends on T011d-e)\n",
            "t.md",
        );
        assert_eq!(l.tasks[4].depends_on, vec!["T011", "T011d", "T011e"]);
        assert_eq!(l.tasks[5].depends_on, vec!["T011d", "T011e"]);
    }

    #[test]
    fn fences_and_comments_hide_tasks() {
        let l = parse(
            "<!--\n- [ ] T001 no\n-->\n```\n- [ ] T002 no\n```\n- [ ] T003 yes\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["T003"]);
        assert_eq!(l.tasks[0].line_start, 7);
    }

    #[test]
    fn crlf_bom_line_numbers() {
        let l = parse(
            "\u{feff}# T\r\n\r\n- [ ] T001 a\r\n  more\r\n- [x] T002 b\r\n",
            "t.md",
        );
        assert_eq!((l.tasks[0].line_start, l.tasks[0].line_end), (3, 4));
        assert_eq!(l.tasks[0].text, "a\nmore");
        assert_eq!(l.tasks[1].line_start, 5);
    }

    #[test]
    fn special_files() {
        let l = parse(
            "--- a/tasks.md\n+++ b/tasks.md\n@@ -1 +1 @@\n+ [ ] T001 x\n",
            "t.md",
        );
        assert!(l.tasks.is_empty() && l.has_errors());
        let l = parse("## Tasks\n- [x] 1. Create\n  - [x] 1.1 Sub\n", "t.md");
        assert!(l.tasks.is_empty());
        assert_eq!(l.diagnostics.len(), 1);
        assert!(!l.has_errors());
        let l = parse(
            "## Phase 1\n### 1. Init\n**Dependencies**: None\n- [ ] crit\n### 2. Tools [P]\n**Priority**: High | **Dependencies**: Task 1 | x\n",
            "t.md",
        );
        assert_eq!(ids(&l), vec!["1", "2"]);
        assert_eq!(l.tasks[1].depends_on, vec!["1"]);
        assert_eq!(l.tasks[1].phase, vec!["Phase 1"]);
        let l = parse("just prose\n", "t.md");
        assert!(l.tasks.is_empty() && l.diagnostics[0].line == 0);
    }

    #[test]
    fn garbage_does_not_panic() {
        for s in [
            "",
            "\n",
            "\r",
            "- [",
            "- [x]",
            "[x]",
            "T001 - [",
            "```",
            "<!--",
            "# ",
            "- [ ] T1 (depends on T1-",
            "\u{feff}",
            "- [é] T001 x",
            "T001 - [ ]",
        ] {
            let _ = parse(s, "t.md");
        }
    }
}
