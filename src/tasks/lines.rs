//! Line scanner: splits a `tasks.md` into numbered lines, hides what must never be read as tasks
//! (fenced code blocks, HTML comments) and tracks the ATX heading path above every line.
//!
//! Decisions (part of the grammar, see `mod.rs`):
//! - A UTF-8 BOM at the start is dropped; lines end at `\n`, a trailing `\r` is dropped, so line
//!   numbers are 1-based and identical for LF and CRLF files.
//! - Fences open with three or more backticks or tildes at *any* indentation (fences nested in
//!   list items are common in task lists) and close with a line of the same character, at least
//!   as long, with nothing else on it. A backtick fence's info string may not contain a backtick
//!   (CommonMark), so inline code such as ``` ``x`` ``` never opens a fence. An unclosed fence runs
//!   to the end of the file, as in CommonMark, and is reported because it silently hides tasks.
//! - `<!-- … -->` comments are removed, inline or spanning lines; text outside them stays.
//! - Only ATX headings (`#` … `######`) are headings. Setext underlines (`---` under a paragraph)
//!   are treated as thematic breaks: tasks.md files use `---` between phases, and reading those
//!   as headings would rename phases after the fact.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::diag::Diagnostic;

/// What a line is, once fences and comments are accounted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Empty or whitespace only (after removing comments).
    Blank,
    /// Entirely inside an HTML comment.
    Comment,
    /// A fence delimiter or a line inside a fenced block.
    Code,
    /// An ATX heading; the heading's own section is the one it opens.
    Heading,
    /// Anything else.
    Text,
}

/// One line of the file.
#[derive(Debug, Clone)]
pub(crate) struct Line<'a> {
    /// 1-based line number.
    pub no: u32,
    /// The line without terminator; HTML comments removed (hence `Cow`).
    pub text: Cow<'a, str>,
    pub kind: Kind,
    /// Leading whitespace in columns (a tab advances to the next multiple of 4).
    pub indent: usize,
    /// Index into [`Scan::sections`]: the innermost heading above (or on) this line.
    pub section: usize,
}

/// A heading and everything under it up to the next heading.
#[derive(Debug, Clone, Default)]
pub(crate) struct Section {
    /// Heading texts from the outermost down to this one, markup stripped.
    pub path: Vec<String>,
    /// Heading level of the last element (0 for the preamble before any heading).
    pub level: usize,
    /// Raw heading text of the last element (markup kept), for heading tasks.
    pub raw_heading: String,
    /// Some heading on the path names a section that holds no tasks (see `mod.rs`).
    pub no_tasks: bool,
    /// Some heading on the path is a dependencies section (prose like `T008 blocks T009`).
    pub deps: bool,
    /// Some heading on the path carries `[P]`: its tasks may run in parallel.
    pub parallel: bool,
}

/// The scanned file.
#[derive(Debug, Clone)]
pub(crate) struct Scan<'a> {
    pub lines: Vec<Line<'a>>,
    pub sections: Vec<Section>,
}

static HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?[ \t]*$").expect("static regex is valid")
});
static FENCE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[ \t]*(`{3,}|~{3,})(.*)$").expect("static regex is valid"));
static CLOSING_HASHES: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[ \t]+#+$").expect("static regex is valid"));
/// Sections whose lines are never tasks: dependency prose, parallel examples, notes,
/// checklists of gates, strategies and the legacy "Execution Flow" pseudo-code.
static NO_TASK_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:task |user story |story |phase |cross-story )?dependenc(?:y|ies)\b|parallel\b|notes?\b|implementation strategy|execution flow)|validation checklist|\bdependenc(?:y|ies)\s+(?:&|and|graph|notes|order)|依存|依赖|並列",
    )
    .expect("static regex is valid")
});
static DEPS_SECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:(?:task |user story |story |phase |cross-story )?dependenc(?:y|ies)\b)|\bdependenc(?:y|ies)\s+(?:&|and|graph|notes|order)|依存|依赖",
    )
    .expect("static regex is valid")
});

/// Splits `text` into lines and sections. Pure; never panics.
pub(crate) fn scan<'a>(text: &'a str, file: &str, diags: &mut Vec<Diagnostic>) -> Scan<'a> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut sections = vec![Section::default()];
    // Open headings, innermost last: (level, index into `sections`).
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut fence: Option<(char, usize, u32)> = None;
    let mut in_comment = false;
    let mut pieces = text.split('\n').peekable();
    let mut no: u32 = 0;
    while let Some(piece) = pieces.next() {
        if piece.is_empty() && pieces.peek().is_none() {
            break; // the empty remainder after a final newline is not a line
        }
        no = no.saturating_add(1);
        let raw = piece.strip_suffix('\r').unwrap_or(piece);
        let indent = indent_of(raw);
        let section = sections.len() - 1;
        if let Some((ch, len, _)) = fence {
            if closes_fence(raw, ch, len) {
                fence = None;
            }
            lines.push(line(no, Cow::Borrowed(raw), Kind::Code, indent, section));
            continue;
        }
        let (visible, still_in_comment, had_comment) = strip_comments(raw, in_comment);
        in_comment = still_in_comment;
        if !had_comment && let Some(open) = opens_fence(raw) {
            fence = Some((open.0, open.1, no));
            lines.push(line(no, Cow::Borrowed(raw), Kind::Code, indent, section));
            continue;
        }
        let kind = if visible.trim().is_empty() {
            if had_comment {
                Kind::Comment
            } else {
                Kind::Blank
            }
        } else if let Some((level, title)) = heading(&visible) {
            while open.last().is_some_and(|&(l, _)| l >= level) {
                open.pop();
            }
            let parent = open.last().map_or(0, |&(_, i)| i);
            let child = child_section(&sections[parent], level, &title);
            sections.push(child);
            open.push((level, sections.len() - 1));
            Kind::Heading
        } else {
            Kind::Text
        };
        let section = sections.len() - 1;
        lines.push(line(no, visible, kind, indent, section));
    }
    if let Some((_, _, opened)) = fence {
        diags.push(
            Diagnostic::warning(
                file,
                opened,
                format!("code fence opened at line {opened} is never closed; every line after it was ignored"),
            )
            .with_hint("close the fence with a matching ``` (or ~~~) line"),
        );
    }
    Scan { lines, sections }
}

fn line(no: u32, text: Cow<'_, str>, kind: Kind, indent: usize, section: usize) -> Line<'_> {
    Line {
        no,
        text,
        kind,
        indent,
        section,
    }
}

/// Leading whitespace in columns; tabs advance to the next multiple of 4.
pub(crate) fn indent_of(s: &str) -> usize {
    let mut col = 0;
    for c in s.chars() {
        match c {
            ' ' => col += 1,
            '\t' => col += 4 - col % 4,
            _ => break,
        }
    }
    col
}

/// `Some((char, length))` when `raw` opens a fenced code block.
fn opens_fence(raw: &str) -> Option<(char, usize)> {
    let caps = FENCE.captures(raw)?;
    let run = caps.get(1)?.as_str();
    let info = caps.get(2).map_or("", |m| m.as_str());
    let ch = run.chars().next()?;
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, run.chars().count()))
}

fn closes_fence(raw: &str, ch: char, len: usize) -> bool {
    let t = raw.trim();
    !t.is_empty() && t.chars().all(|c| c == ch) && t.chars().count() >= len
}

/// Removes HTML comments. Returns the visible text, whether a comment is still open at the
/// end of the line, and whether the line had any comment at all.
fn strip_comments(raw: &str, mut in_comment: bool) -> (Cow<'_, str>, bool, bool) {
    if !in_comment && !raw.contains("<!--") {
        return (Cow::Borrowed(raw), false, false);
    }
    let mut out = String::new();
    let mut rest = raw;
    loop {
        if in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    in_comment = false;
                }
                None => break,
            }
        } else {
            match rest.find("<!--") {
                Some(start) => {
                    out.push_str(&rest[..start]);
                    rest = &rest[start + 4..];
                    in_comment = true;
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        }
    }
    (Cow::Owned(out), in_comment, true)
}

/// `Some((level, text))` for an ATX heading line.
fn heading(s: &str) -> Option<(usize, String)> {
    let caps = HEADING.captures(s)?;
    let level = caps.get(1)?.as_str().len();
    let text = caps.get(2).map_or("", |m| m.as_str());
    let text = CLOSING_HASHES.replace(text, "");
    Some((level, text.trim().to_string()))
}

fn child_section(parent: &Section, level: usize, raw: &str) -> Section {
    let clean = crate::tasks::grammar::clean_heading(raw);
    let key = strip_leading_symbols(&clean);
    let mut path = parent.path.clone();
    path.push(clean.clone());
    Section {
        path,
        level,
        raw_heading: raw.to_string(),
        no_tasks: parent.no_tasks || NO_TASK_SECTION.is_match(key),
        deps: parent.deps || DEPS_SECTION.is_match(key),
        parallel: parent.parallel || crate::tasks::grammar::has_parallel_marker(raw),
    }
}

/// Drops leading emoji, numbering and punctuation so `## 📋 Notes` and `## 3. Notes` match.
fn strip_leading_symbols(s: &str) -> &str {
    s.trim_start_matches(|c: char| !c.is_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        let mut d = Vec::new();
        scan(text, "f", &mut d)
            .lines
            .iter()
            .map(|l| l.kind)
            .collect()
    }

    #[test]
    fn crlf_and_bom_keep_line_numbers() {
        let mut d = Vec::new();
        let s = scan("\u{feff}# A\r\n\r\n- x\r\n", "f", &mut d);
        assert_eq!(s.lines.len(), 3);
        assert_eq!(s.lines[2].no, 3);
        assert_eq!(s.lines[2].text, "- x");
        assert_eq!(s.lines[0].kind, Kind::Heading);
    }

    #[test]
    fn fences_hide_lines_with_any_info_string_and_indent() {
        let k =
            kinds("a\n```bash\nT001 x\n```\n  ~~~~ text\n- [ ] T002\n~~~~\nb\n``x`` not a fence\n");
        assert_eq!(
            k,
            vec![
                Kind::Text,
                Kind::Code,
                Kind::Code,
                Kind::Code,
                Kind::Code,
                Kind::Code,
                Kind::Code,
                Kind::Text,
                Kind::Text
            ]
        );
    }

    #[test]
    fn unclosed_fence_is_reported() {
        let mut d = Vec::new();
        scan("a\n```\nb\n", "f", &mut d);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].line, 2);
    }

    #[test]
    fn comments_inline_and_multiline() {
        let mut d = Vec::new();
        let s = scan(
            "a <!-- x --> b\n<!--\n- [ ] T001\n-->\nc<!-- y\nz -->d\n",
            "f",
            &mut d,
        );
        assert_eq!(s.lines[0].text, "a  b");
        assert_eq!(s.lines[1].kind, Kind::Comment);
        assert_eq!(s.lines[2].kind, Kind::Comment);
        assert_eq!(s.lines[3].kind, Kind::Comment);
        assert_eq!(s.lines[4].text, "c");
        assert_eq!(s.lines[5].text, "d");
    }

    #[test]
    fn heading_paths_and_section_flags() {
        let mut d = Vec::new();
        let s = scan(
            "# T\n## Phase 1 **Setup** ##\n### Sub [P]\n## Dependencies & Execution Order\n### Within\n## 📋 Notes\n## Phase 2\n",
            "f",
            &mut d,
        );
        let path = |i: usize| s.sections[s.lines[i].section].path.clone();
        assert_eq!(path(2), vec!["T", "Phase 1 Setup", "Sub [P]"]);
        assert!(s.sections[s.lines[2].section].parallel);
        assert_eq!(
            path(4),
            vec!["T", "Dependencies & Execution Order", "Within"]
        );
        assert!(s.sections[s.lines[4].section].deps);
        assert!(s.sections[s.lines[4].section].no_tasks);
        assert!(s.sections[s.lines[5].section].no_tasks);
        assert!(!s.sections[s.lines[6].section].no_tasks);
        assert_eq!(path(6), vec!["T", "Phase 2"]);
    }

    #[test]
    fn phase_headings_mentioning_dependencies_still_hold_tasks() {
        let mut d = Vec::new();
        let s = scan("## Phase 1: Install dependencies\n", "f", &mut d);
        assert!(!s.sections[1].no_tasks);
    }
}
