//! Whole-file shapes that are not ordinary Spec-Kit task lists: a unified diff saved as
//! tasks.md, a Kiro task list, and old-style numbered heading tasks.
//!
//! Decisions:
//! - Unified diff: among the first five non-blank lines there is `--- x` directly followed by
//!   `+++ y`, a hunk header `@@ -a,b +c,d @@`, or `diff --git`. Such a file yields an error at
//!   line 1 and no tasks: half-applied `+ [ ] T059` lines must never be planned.
//! - Kiro (`- [x] 1. Title`, nested `- [x] 1.1 …`): recognised only when the file has no
//!   Spec-Kit task at all; yields zero tasks and one warning so the planner can fall back.
//! - Heading tasks (`### 1. Initialize …`, `### 2. … [P]`): recognised only when the file has no
//!   id'd task line at all. The id is the number as written (`"1"`), the body runs to the next
//!   heading or thematic break, and `**Dependencies**: Task 1, Tasks 6-8` / `None` give the
//!   dependencies. Checkboxes in the body are acceptance criteria, not tasks.

use std::sync::LazyLock;

use regex::Regex;

use crate::diag::Diagnostic;
use crate::tasks::Status;
use crate::tasks::deps::Ref;
use crate::tasks::grammar::{Form, TaskLine, clean_title, has_parallel_marker, is_thematic_break};
use crate::tasks::lines::{Kind, Line, Scan};

static HUNK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^@@ -\d+(?:,\d+)? \+\d+(?:,\d+)? @@").expect("static regex is valid")
});
static KIRO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*[-*+][ \t]+\[.\][ \t]+\d+(?:\.\d+)*\.?[ \t]")
        .expect("static regex is valid")
});
static NUMBERED_HEADING: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\d{1,9})[.)][ \t]+(.+)$").expect("static regex is valid"));
static NUMBER_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\d+)(?:\s*[-–—]\s*(\d+))?").expect("static regex is valid"));
static CHECKBOX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*[-*+][ \t]+\[([ xX])\]").expect("static regex is valid"));

/// An error diagnostic when the file is really a unified diff.
pub(crate) fn unified_diff(lines: &[Line<'_>], file: &str) -> Option<Diagnostic> {
    let head: Vec<&str> = lines
        .iter()
        .map(|l| l.text.as_ref())
        .filter(|t| !t.trim().is_empty())
        .take(5)
        .collect();
    let header_pair = head
        .windows(2)
        .any(|w| w[0].starts_with("--- ") && w[1].starts_with("+++ "));
    let hunk = head
        .iter()
        .any(|l| HUNK.is_match(l) || l.starts_with("diff --git "));
    (header_pair || hunk).then(|| {
        Diagnostic::error(
            file,
            1,
            "this looks like a unified diff, not a task list: it starts with diff headers (`--- a/…`, `+++ b/…`, `@@ … @@`)",
        )
        .with_hint("restore the task list from history (`git log -p -- <file>`) or apply the diff, then run again")
    })
}

/// A warning when the file is a Kiro task list.
pub(crate) fn kiro(lines: &[Line<'_>], file: &str) -> Option<Diagnostic> {
    let first = lines
        .iter()
        .find(|l| l.kind == Kind::Text && KIRO.is_match(&l.text))?;
    Some(
        Diagnostic::warning(
            file,
            first.no,
            "this looks like a Kiro task list (`- [ ] 1. Title` with nested `1.1` items), not a Spec-Kit tasks.md; no tasks were read",
        )
        .with_hint("convert it to Spec-Kit form (`- [ ] T001 Title`), or use a planner strategy that does not need tasks.md"),
    )
}

/// Numbered heading tasks: `(line index, task)`.
pub(crate) fn heading_tasks(scan: &Scan<'_>) -> Vec<(usize, TaskLine)> {
    let mut out = Vec::new();
    for (i, line) in scan.lines.iter().enumerate() {
        if line.kind != Kind::Heading {
            continue;
        }
        let Some(section) = scan.sections.get(line.section) else {
            continue;
        };
        if section.level < 2 || section.no_tasks {
            continue;
        }
        let Some(c) = NUMBERED_HEADING.captures(section.raw_heading.trim()) else {
            continue;
        };
        let (Some(num), Some(rest)) = (c.get(1), c.get(2)) else {
            continue;
        };
        let mut rest = rest.as_str().trim_end();
        let parallel = has_parallel_marker(rest);
        if let Some(r) = rest.strip_suffix("[P]") {
            rest = r;
        }
        let id = num.as_str().to_string();
        let mut title = clean_title(rest);
        if title.is_empty() {
            title = id.clone();
        }
        let status = if rest.contains('✅') {
            Status::Done
        } else {
            Status::Open
        };
        out.push((
            i,
            TaskLine {
                form: Form::Paragraph,
                id,
                status,
                parallel,
                story: None,
                title,
                deps: None,
                odd_mark: None,
                checkbox: false,
            },
        ));
    }
    out
}

/// Last line index of a heading task's body (next heading or thematic break ends it).
pub(crate) fn heading_extent(lines: &[Line<'_>], start: usize) -> usize {
    let mut last = start;
    for (j, l) in lines.iter().enumerate().skip(start + 1) {
        match l.kind {
            Kind::Heading => break,
            Kind::Text if is_thematic_break(&l.text) => break,
            Kind::Blank | Kind::Comment => {}
            _ => last = j,
        }
    }
    last
}

/// Heading task done when every acceptance checkbox in its body is ticked (and there is one).
pub(crate) fn all_boxes_ticked(lines: &[Line<'_>]) -> bool {
    let marks: Vec<bool> = lines
        .iter()
        .filter(|l| l.kind == Kind::Text)
        .filter_map(|l| {
            CHECKBOX
                .captures(&l.text)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str() != " ")
        })
        .collect();
    !marks.is_empty() && marks.iter().all(|&d| d)
}

/// `Task 1`, `Tasks 6-8`, `Tasks 10-12, 13-20` as references to numeric ids.
pub(crate) fn number_refs(value: &str) -> Vec<Ref> {
    NUMBER_REF
        .captures_iter(value)
        .filter_map(|c| {
            let a = c.get(1)?.as_str().to_string();
            Some(match c.get(2) {
                Some(b) => Ref::Range(a, b.as_str().to_string()),
                None => Ref::One(a),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::lines::scan;

    #[test]
    fn detects_unified_diff() {
        let mut d = Vec::new();
        let s = scan(
            "--- a/tasks.md\n+++ b/tasks.md\n@@ -1,2 +1,2 @@\n+ [ ] T001 x\n",
            "f",
            &mut d,
        );
        assert!(unified_diff(&s.lines, "f").is_some_and(|d| d.is_error() && d.line == 1));
        let s = scan("---\ndescription: x\n---\n# Tasks\n", "f", &mut d);
        assert!(unified_diff(&s.lines, "f").is_none());
    }

    #[test]
    fn numeric_refs() {
        assert_eq!(
            number_refs("Tasks 10-12, 13"),
            vec![Ref::Range("10".into(), "12".into()), Ref::One("13".into())]
        );
    }

    #[test]
    fn heading_tasks_found() {
        let mut d = Vec::new();
        let s = scan(
            "## Phase 1\n### 1. Init\nx\n### 2. Tools [P]\n",
            "f",
            &mut d,
        );
        let h = heading_tasks(&s);
        assert_eq!(h.len(), 2);
        assert_eq!(h[1].1.id, "2");
        assert_eq!(h[1].1.title, "Tools");
        assert!(h[1].1.parallel);
        assert_eq!(heading_extent(&s.lines, 1), 2);
    }
}
