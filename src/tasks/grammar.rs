//! Grammar of one task line: ids, the checkbox and marker area, status and the title.
//!
//! Task line forms (all found in real files):
//! - `- [ ] T001 …`, `* [x] …`, `+ [X] …`: list item with checkbox, then the id.
//! - `[X] T001 - Desc  [P]`: checkbox without list bullet, ` - ` separator, `[P]` at the end.
//! - ` T001 - [ ] (setup) Title`, `T002 - [P] (setup) …`: id before the checkbox; `[P]` in the
//!   checkbox slot means "parallel, still open". The separator (`-`, `–`, `—`, `:`) between id
//!   and checkbox is required: `T005 [P] Write …` is the no-checkbox form with a `[P]` marker.
//! - `T001 ✅ Install …  — completed`, `**T1.18** ✅ **Title** - COMPLETE`: no checkbox, no
//!   bullet (only used when a file has no checkbox tasks at all, see `mod.rs`).
//!
//! The id may be bold (`**T001**`, `**T001 [P]**`). After it comes the marker area: any mix of
//! `[P]`, a story label `[US1]`, `✅`/`❌` and a separator (`-`, `–`, `—`, `:`). Everything after
//! that is the title region.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use crate::tasks::Status;

/// Task ids: `T` + digits with optional dotted parts and one lowercase suffix (`T001`, `T1.18`,
/// `T003a`); `T` + up to three capitals + digits (`TCS5c`); or one capital + at least three digits
/// (`A001`, `Q006`). Deliberately not ids: `US1`, `P1` (too short, wrong prefix), `FR-29`,
/// `CH-002` (hyphenated requirement/change ids), `TXXX` (placeholder).
pub(crate) const ID_PATTERN: &str =
    r"(?:T\d+(?:\.\d+)*[a-z]?|T[A-Z]{1,3}\d+[a-z]?|[A-Z]\d{3,}[a-z]?)";

static ID_AT_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!("^{ID_PATTERN}")).expect("static regex is valid"));
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\*\*)?(T(?:X{2,}|#{2,}|N{2,}|\?{2,}))(?:\*\*)?(?:\s|$)")
        .expect("static regex is valid")
});
static LIST_ITEM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)").expect("static regex is valid")
});
/// A trailing word that marks a task without checkbox as done.
static DONE_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s*[-–—:]\s*(?:verified\s+)?(?:complete|completed|done)\s*[.!]?\s*$")
        .expect("static regex is valid")
});
static NOT_STARTED_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s*[-–—]\s*(?:NOT STARTED|IN PROGRESS|FUTURE)\s*$").expect("static regex is valid")
});
static THEMATIC_BREAK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^ {0,3}(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$")
        .expect("static regex is valid")
});

/// How the task line was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Form {
    /// `- [ ] T001 …`: a list item; continuation is decided by indentation.
    Bullet,
    /// `[X] T001 …`, `T001 - [ ] …`, `T001 ✅ …`: a paragraph; continuation runs to a blank line
    /// and then takes following list blocks.
    Paragraph,
}

/// One recognised task line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskLine {
    pub form: Form,
    pub id: String,
    pub status: Status,
    pub parallel: bool,
    pub story: Option<String>,
    pub title: String,
    /// Inside of the trailing dependency group, if any (`T009, T010`, `none`).
    pub deps: Option<String>,
    /// A checkbox mark other than ` `, `x`, `X`, `~`, `-`, `P` (treated as open, reported).
    pub odd_mark: Option<char>,
    /// Whether the line had a checkbox (or `[P]` in the checkbox slot).
    pub checkbox: bool,
}

/// What a line with a checkbox turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Checkbox {
    Task(TaskLine),
    /// `- [ ] TXXX …`: a template placeholder, not a task.
    Placeholder(String),
    /// A checkbox that is not a task: no id (acceptance criteria, checklists, progress items).
    Plain,
}

/// Status of a checkbox mark; `None` when the brackets do not hold a checkbox mark at all.
fn mark_status(mark: char) -> Option<(Status, bool, bool)> {
    // (status, parallel, odd)
    match mark {
        ' ' => Some((Status::Open, false, false)),
        'x' | 'X' => Some((Status::Done, false, false)),
        '~' | '-' => Some((Status::Skipped, false, false)),
        'P' => Some((Status::Open, true, false)),
        c if c.is_ascii_punctuation() => Some((Status::Open, false, true)),
        _ => None,
    }
}

/// Parses a line that may carry a checkbox. `None`: no checkbox on this line.
pub(crate) fn parse_checkbox_line(line: &str) -> Option<Checkbox> {
    // Hand-written rather than capturing regexes: this runs on every line of the file.
    let t = line.trim_start_matches([' ', '\t']);
    if let Some((id, rest)) = id_then_checkbox(t) {
        let (mark, body) = checkbox_at(rest)?;
        let (status, parallel, odd) = mark_status(mark)?;
        let mut task = task_from_body(id, body, Form::Paragraph);
        finish_checkbox(&mut task, status, parallel, odd.then_some(mark));
        return Some(Checkbox::Task(task));
    }
    let (form, rest) = match t.strip_prefix(['-', '*', '+']) {
        Some(r) if r.starts_with([' ', '\t']) => (Form::Bullet, r.trim_start_matches([' ', '\t'])),
        _ => (Form::Paragraph, t),
    };
    let (mark, body) = checkbox_at(rest)?;
    let (status, parallel, odd) = mark_status(mark)?;
    let maybe_placeholder = ["TX", "T#", "TN", "T?"]
        .iter()
        .any(|p| body.trim_start_matches('*').starts_with(p));
    if maybe_placeholder && let Some(p) = PLACEHOLDER.captures(body) {
        return Some(Checkbox::Placeholder(
            p.get(1).map_or("", |m| m.as_str()).to_string(),
        ));
    }
    let Some(id_len) = id_after_bold(body) else {
        return Some(Checkbox::Plain);
    };
    let bold = usize::from(body.starts_with("**") || body.starts_with("__")) * 2;
    let id = &body[bold..bold + id_len];
    let mut task = task_from_body(id, body, form);
    finish_checkbox(&mut task, status, parallel, odd.then_some(mark));
    Some(Checkbox::Task(task))
}

/// Byte offset of the `[ ]` of a line [`parse_checkbox_line`] reads as an open checkbox task
/// (`- [ ] T001 …`, `[ ] T001 - …`, `T001 - [ ] …`); `None` for any other line.
pub(crate) fn open_checkbox(line: &str) -> Option<usize> {
    let Some(Checkbox::Task(_)) = parse_checkbox_line(line) else {
        return None;
    };
    let t = line.trim_start_matches([' ', '\t']);
    let rest = match id_then_checkbox(t) {
        Some((_, rest)) => rest,
        None => match t.strip_prefix(['-', '*', '+']) {
            Some(r) if r.starts_with([' ', '\t']) => r.trim_start_matches([' ', '\t']),
            _ => t,
        },
    };
    let pos = line.len() - rest.len();
    line[pos..].starts_with("[ ]").then_some(pos)
}

/// A story label `[US1]` / `[US-Models]` at the start of `t`: `(label, text after it)`.
fn story_at(t: &str) -> Option<(&str, &str)> {
    let inner = t.strip_prefix("[US")?;
    let end = inner.find(']')?;
    let label = &t[1..3 + end];
    let ok = inner[..end]
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    ok.then(|| (label, &inner[end + 1..]))
}

/// `[c]` at the start of `s`, followed by whitespace or the end: `(c, text after it)`.
fn checkbox_at(s: &str) -> Option<(char, &str)> {
    let mut chars = s.strip_prefix('[')?.chars();
    let mark = chars.next()?;
    let rest = chars.as_str().strip_prefix(']')?;
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    Some((mark, rest.trim_start_matches([' ', '\t'])))
}

/// `T001 - [ ] …` / `**T001** – [P] …`: the id and the text from the checkbox on. The separator
/// between id and checkbox is required (see the module doc).
fn id_then_checkbox(t: &str) -> Option<(&str, &str)> {
    if !t.starts_with(|c: char| c.is_ascii_uppercase() || c == '*' || c == '_') {
        return None;
    }
    let len = id_after_bold(t)?;
    let bold = usize::from(t.starts_with("**") || t.starts_with("__")) * 2;
    let id = &t[bold..bold + len];
    let mut rest = &t[bold + len..];
    rest = rest
        .strip_prefix("**")
        .or_else(|| rest.strip_prefix("__"))
        .unwrap_or(rest);
    rest = rest.trim_start_matches([' ', '\t']);
    rest = rest.strip_prefix(['-', '–', '—', ':'])?;
    rest = rest.trim_start_matches([' ', '\t']);
    rest.starts_with('[').then_some((id, rest))
}

fn finish_checkbox(task: &mut TaskLine, status: Status, parallel: bool, odd: Option<char>) {
    task.status = status;
    task.parallel |= parallel;
    task.odd_mark = odd;
    task.checkbox = true;
}

/// Parses a line without checkbox and without list bullet that starts with an id
/// (`T001 ✅ …`, `**T1.18** ❌ …`, `TCS5 (Sessions) ✅ …`).
pub(crate) fn parse_paragraph_line(line: &str) -> Option<TaskLine> {
    if is_list_item(line) || line.trim_start().starts_with('#') {
        return None;
    }
    let body = line.trim_start();
    id_after_bold(body)?;
    let bold = usize::from(body.starts_with("**") || body.starts_with("__")) * 2;
    let id_len = id_after_bold(body)?;
    let id = &body[bold..bold + id_len];
    Some(task_from_body(id, body, Form::Paragraph))
}

/// Length of the id at the start of `s` (after an optional `**`/`__`), checking that the id
/// ends at a word boundary (`T001a` is an id, `T001abc` is not; `T001创建` is, for CJK text).
fn id_after_bold(s: &str) -> Option<usize> {
    let s = s
        .strip_prefix("**")
        .or_else(|| s.strip_prefix("__"))
        .unwrap_or(s);
    let m = ID_AT_START.find(s)?;
    let next = s[m.end()..].chars().next();
    match next {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => None,
        _ => Some(m.end()),
    }
}

/// Whether `s` is exactly one id.
#[cfg(test)]
pub(crate) fn is_id(s: &str) -> bool {
    id_after_bold(s).is_some_and(|n| n == s.len()) && !s.starts_with('*') && !s.starts_with('_')
}

/// Builds a task from the text that starts at its id (bold allowed). Status comes from ✅/❌ and
/// trailing words; the checkbox forms overwrite it.
fn task_from_body(id: &str, body: &str, form: Form) -> TaskLine {
    let mut rest = body.trim_start();
    rest = rest
        .strip_prefix("**")
        .or_else(|| rest.strip_prefix("__"))
        .unwrap_or(rest);
    // `id` was matched inside `body` (possibly after the id-first checkbox); skip past it.
    if let Some(r) = rest.strip_prefix(id) {
        rest = r;
    }
    let mut parallel = false;
    let mut story = None;
    let mut done_mark = false;
    let mut open_mark = false;
    loop {
        let t = rest.trim_start();
        if let Some(r) = t.strip_prefix("[P]") {
            parallel = true;
            rest = r;
        } else if let Some((label, r)) = story_at(t) {
            story = Some(label.to_string());
            rest = r;
        } else if let Some(r) = t.strip_prefix("**").or_else(|| t.strip_prefix("__")) {
            rest = r;
        } else if let Some(r) = t.strip_prefix('✅') {
            done_mark = true;
            rest = r;
        } else if let Some(r) = t.strip_prefix('❌') {
            open_mark = true;
            rest = r;
        } else if let Some(r) = strip_separator(t) {
            rest = r;
        } else {
            rest = t;
            break;
        }
    }
    let (mut title_src, deps) = split_dep_group(rest);
    if let Some(t) = title_src.trim_end().strip_suffix("[P]") {
        parallel = true;
        title_src = t;
    }
    // A trailing ✅ is status, not words.
    let title_src = title_src.trim_end().trim_end_matches('✅');
    let (title_src, done_word) = strip_status_suffix(title_src);
    let status = if open_mark {
        Status::Open
    } else if done_mark || done_word || (body.contains('✅') && outside_code(body).contains('✅'))
    {
        Status::Done
    } else {
        Status::Open
    };
    let mut title = clean_title(title_src);
    if title.is_empty() {
        title = id.to_string();
    }
    TaskLine {
        form,
        id: id.to_string(),
        status,
        parallel,
        story,
        title,
        deps,
        odd_mark: None,
        checkbox: false,
    }
}

/// Strips a trailing status word: `- COMPLETE`, `— completed`, `- DONE` (returns `true`) or
/// `- NOT STARTED`, `- IN PROGRESS`, `- FUTURE` (returns `false`). The regexes only run when the
/// tail of the line can hold such a word, which keeps long lines cheap.
fn strip_status_suffix(s: &str) -> (&str, bool) {
    let tail_start = s.char_indices().rev().nth(24).map_or(0, |(i, _)| i);
    let tail = s[tail_start..].to_ascii_lowercase();
    if (tail.contains("complete") || tail.contains("done"))
        && let Some(m) = DONE_SUFFIX.find(s)
    {
        return (&s[..m.start()], true);
    }
    if (tail.contains("started") || tail.contains("progress") || tail.contains("future"))
        && let Some(m) = NOT_STARTED_SUFFIX.find(s)
    {
        return (&s[..m.start()], false);
    }
    (s, false)
}

/// Strips one leading separator (`-`, `–`, `—`, `:`) followed by whitespace or the end.
fn strip_separator(t: &str) -> Option<&str> {
    let mut chars = t.chars();
    let first = chars.next()?;
    if !matches!(first, '-' | '–' | '—' | ':') {
        return None;
    }
    let rest = chars.as_str();
    (rest.is_empty() || rest.starts_with(char::is_whitespace)).then_some(rest)
}

/// Splits off the trailing dependency group. Returns the text before it and the group's
/// content. `after`/`requires` groups only count when they name an id, so `(after deploy)`
/// stays part of the title.
pub(crate) fn split_dep_group(s: &str) -> (&str, Option<String>) {
    // Hand-written (this runs on every task line): the line must end in `)`, possibly wrapped in
    // `_`/`*` and followed by `.` or ✅; the group is the last `(…)` and holds no parentheses.
    let end = s.trim_end_matches(|c: char| {
        c.is_whitespace() || matches!(c, '_' | '*' | '\\' | '.' | '✅')
    });
    let Some(inner_end) = end.strip_suffix(')') else {
        return (s, None);
    };
    let Some(open) = inner_end.rfind(['(', ')']) else {
        return (s, None);
    };
    if !inner_end[open..].starts_with('(') {
        return (s, None);
    }
    let content = inner_end[open + 1..].trim_start();
    let Some((strong, rest)) = DEP_KEYWORDS.iter().find_map(|&(kw, strong)| {
        let head = content.get(..kw.len())?;
        let rest = &content[kw.len()..];
        let boundary = rest.is_empty() || rest.starts_with(|c: char| c == ':' || c.is_whitespace());
        (head.eq_ignore_ascii_case(kw) && boundary).then_some((strong, rest))
    }) else {
        return (s, None);
    };
    let value = rest.trim_start().strip_prefix(':').unwrap_or(rest).trim();
    if !strong && !crate::tasks::deps::mentions_id(value) {
        return (s, None);
    }
    let before = s[..open].trim_end_matches(['_', '*', '\\']);
    (before, Some(value.to_string()))
}

/// Words that open a trailing dependency group; `true` when they always mean dependencies.
const DEP_KEYWORDS: &[(&str, bool)] = &[
    ("depends on", true),
    ("depends upon", true),
    ("dependencies", true),
    ("deps", true),
    ("requires", false),
    ("blocked by", false),
    ("after", false),
];

/// Whether a line is a list item (`-`, `*`, `+`, `1.`, `1)`).
pub(crate) fn is_list_item(s: &str) -> bool {
    LIST_ITEM.is_match(s)
}

/// Whether a line is a thematic break (`---`, `***`, `___`).
pub(crate) fn is_thematic_break(s: &str) -> bool {
    THEMATIC_BREAK.is_match(s)
}

/// Whether a heading carries the parallel marker `[P]` (outside inline code).
pub(crate) fn has_parallel_marker(s: &str) -> bool {
    outside_code(s).contains("[P]")
}

/// The text with inline code spans removed (used where code must not count).
pub(crate) fn outside_code(s: &str) -> Cow<'_, str> {
    if !s.contains('`') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, part) in code_split(s).into_iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(part);
        } else {
            out.push(' ');
        }
    }
    Cow::Owned(out)
}

/// Splits `s` at inline code spans: even indices are prose, odd indices are code (with their
/// backticks). A backtick run without a matching closing run is prose.
pub(crate) fn code_split(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut prose_start = 0;
    let mut i = 0;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        if bytes[i] != b'`' {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < bytes.len() && bytes[i] == b'`' {
            i += 1;
        }
        let run = &s[run_start..i];
        // Find the matching closing run of the same length.
        let mut j = i;
        let mut close = None;
        while j < bytes.len() {
            if bytes[j] == b'`' {
                let k0 = j;
                while j < bytes.len() && bytes[j] == b'`' {
                    j += 1;
                }
                if j - k0 == run.len() {
                    close = Some(j);
                    break;
                }
            } else {
                j += 1;
            }
        }
        if let Some(end) = close {
            parts.push(&s[prose_start..run_start]);
            parts.push(&s[run_start..end]);
            prose_start = end;
            i = end;
        }
    }
    parts.push(&s[prose_start..]);
    parts
}

/// A title: bold/italic/strike markers and backslash escapes removed outside inline code,
/// inline code kept with its backticks, whitespace collapsed.
pub(crate) fn clean_title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in code_split(s).into_iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&strip_emphasis(part));
        } else {
            out.push_str(part);
        }
    }
    collapse_ws(&out)
}

/// A heading for the phase path: like a title, and inline code loses its backticks too.
pub(crate) fn clean_heading(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for (i, part) in code_split(s).into_iter().enumerate() {
        if i % 2 == 0 {
            out.push_str(&strip_emphasis(part));
        } else {
            out.push_str(part.trim_matches('`').trim());
        }
    }
    collapse_ws(&out)
}

fn collapse_ws(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Removes emphasis delimiters (`*`, `_`, `~` runs) and backslash escapes from prose. A run is
/// kept when it touches `/` or `.` (globs like `src/**/*.rs`), and single `_`/`*`/`~` inside a
/// word are kept (`snake_case`, `a*b`, `~5ms`).
fn strip_emphasis(s: &str) -> String {
    if !s.contains(['*', '_', '~', '\\']) {
        return s.to_string();
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) {
            out.push(chars[i + 1]);
            i += 2;
            continue;
        }
        if !matches!(c, '*' | '_' | '~') {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i] == c {
            i += 1;
        }
        let len = i - start;
        let prev = start.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i).copied();
        let pathy = |x: Option<char>| matches!(x, Some('/' | '.'));
        let wordy = |x: Option<char>| x.is_some_and(char::is_alphanumeric);
        let keep = pathy(prev)
            || pathy(next)
            || (len == 1 && (c == '~' || (wordy(prev) && wordy(next))))
            || (c == '_' && wordy(prev) && wordy(next));
        if keep {
            out.extend(std::iter::repeat_n(c, len));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(line: &str) -> TaskLine {
        match parse_checkbox_line(line) {
            Some(Checkbox::Task(t)) => t,
            other => panic!("not a task: {line:?} -> {other:?}"),
        }
    }

    #[test]
    fn ids() {
        for id in [
            "T001", "T003a", "T011h", "T1.18", "A001", "Q006", "TCS5c", "T1",
        ] {
            assert!(is_id(id), "{id}");
        }
        for not in [
            "US1", "P1", "FR-29", "CH-002", "TXXX", "T001abc", "A01", "t001", "**T001",
        ] {
            assert!(!is_id(not), "{not}");
        }
    }

    #[test]
    fn current_template_form() {
        let t = task("- [ ] T012 [P] [US1] Create [Entity1] model in src/models/[entity1].py");
        assert_eq!(t.id, "T012");
        assert_eq!(t.status, Status::Open);
        assert!(t.parallel);
        assert_eq!(t.story.as_deref(), Some("US1"));
        assert_eq!(t.title, "Create [Entity1] model in src/models/[entity1].py");
        assert_eq!(t.form, Form::Bullet);
    }

    #[test]
    fn statuses() {
        assert_eq!(task("- [x] T001 a").status, Status::Done);
        assert_eq!(task("* [X] T001 a").status, Status::Done);
        assert_eq!(task("+ [~] T001 a").status, Status::Skipped);
        let odd = task("[#] T020 - Add tables.  ");
        assert_eq!(odd.status, Status::Open);
        assert_eq!(odd.odd_mark, Some('#'));
        // The checkbox decides; a ✓ label is not a done marker.
        assert_eq!(
            task("- [ ] **T010 ✓ VERIFY** Milestone").status,
            Status::Open
        );
    }

    #[test]
    fn bold_ids() {
        let t = task("- [x] **T001** Implement Adl in `src/a-d/Adl/Adl.BufferList.cs` ✅");
        assert_eq!(t.id, "T001");
        assert_eq!(t.title, "Implement Adl in `src/a-d/Adl/Adl.BufferList.cs`");
        let t = task("- [ ] **T001 [P]** Define ShellType enum");
        assert!(t.parallel);
        assert_eq!(t.title, "Define ShellType enum");
        let t = task("- [ ] **T010 ✓ VERIFY** Milestone: Models compile");
        assert_eq!(t.title, "✓ VERIFY Milestone: Models compile");
        let t = task("- [x] T011b **[CRITICAL]** Fix production unwrap() usage");
        assert_eq!(t.title, "[CRITICAL] Fix production unwrap() usage");
    }

    #[test]
    fn bare_checkbox_with_trailing_parallel() {
        let t = task("[X] T003 - Add Directory structure for tests: `tests/contract`. [P]  ");
        assert_eq!(t.id, "T003");
        assert!(t.parallel);
        assert_eq!(t.status, Status::Done);
        assert_eq!(
            t.title,
            "Add Directory structure for tests: `tests/contract`."
        );
        assert_eq!(t.form, Form::Paragraph);
    }

    #[test]
    fn id_before_checkbox() {
        let t = task(" T001 - [ ] (setup) Add Roslyn pin to `Directory.Build.props`");
        assert_eq!(t.id, "T001");
        assert_eq!(t.status, Status::Open);
        assert!(!t.parallel);
        assert_eq!(t.title, "(setup) Add Roslyn pin to `Directory.Build.props`");
        let t = task("T002 - [P] (setup) Add deps");
        assert!(t.parallel);
        assert_eq!(t.status, Status::Open);
        assert_eq!(task("T012 - [x] (core) Implement").status, Status::Done);
        assert_eq!(parse_checkbox_line("T005 [P] Write contract test"), None);
    }

    #[test]
    fn no_checkbox_forms() {
        let t = parse_paragraph_line("T001 ✅ Install dependencies (pnpm, Expo) — completed")
            .expect("task");
        assert_eq!(t.status, Status::Done);
        assert_eq!(t.title, "Install dependencies (pnpm, Expo)");
        let t = parse_paragraph_line(
            "T013 [P] Implement Goal model (`src/models/Goal.ts`) — completed",
        )
        .expect("task");
        assert_eq!(t.status, Status::Done);
        assert!(t.parallel);
        let t = parse_paragraph_line("T005 [P] Write contract test").expect("task");
        assert_eq!(t.status, Status::Open);
        let t = parse_paragraph_line("**T1.18** ✅ **CCI Streaming** - COMPLETE").expect("task");
        assert_eq!(
            (t.id.as_str(), t.status, t.title.as_str()),
            ("T1.18", Status::Done, "CCI Streaming")
        );
        let t = parse_paragraph_line("**T1.19** ❌ **CMO Streaming** - NOT STARTED").expect("task");
        assert_eq!(
            (t.status, t.title.as_str()),
            (Status::Open, "CMO Streaming")
        );
        let t = parse_paragraph_line("TCS5 (Sessions) ✅ Refactor session storage.").expect("task");
        assert_eq!((t.id.as_str(), t.status), ("TCS5", Status::Done));
        assert!(parse_paragraph_line("- T008 blocks T009").is_none());
        assert!(parse_paragraph_line("## T001 heading").is_none());
        assert!(parse_paragraph_line("US1 is a story").is_none());
    }

    #[test]
    fn not_tasks() {
        assert_eq!(
            parse_checkbox_line("- [ ] All contracts have tests"),
            Some(Checkbox::Plain)
        );
        assert_eq!(
            parse_checkbox_line("- [x] 1. Create solution"),
            Some(Checkbox::Plain)
        );
        assert_eq!(
            parse_checkbox_line("- [ ] TXXX [P] Documentation updates"),
            Some(Checkbox::Placeholder("TXXX".into()))
        );
        assert_eq!(
            parse_checkbox_line("- [P] tasks = different files"),
            Some(Checkbox::Plain)
        );
        assert_eq!(parse_checkbox_line("- [link](x) T001"), None);
        assert_eq!(parse_checkbox_line("plain text"), None);
    }

    #[test]
    fn dependency_groups() {
        let t =
            task("- [X] T011 [US1] Implement `pipe(a, (b) => c)` in x.ts (depends on T009, T010)");
        assert_eq!(t.deps.as_deref(), Some("T009, T010"));
        assert_eq!(t.title, "Implement `pipe(a, (b) => c)` in x.ts");
        let t = task("- [x] T002 Init prisma. _(Depends on: T001)_");
        assert_eq!(t.deps.as_deref(), Some("T001"));
        assert_eq!(t.title, "Init prisma.");
        let t = task("- [x] T001 Update. _(Depends on: none)_");
        assert_eq!(t.deps.as_deref(), Some("none"));
        let t = task("- [ ] T012 Run migration (after deploy)");
        assert_eq!(t.deps, None);
        assert_eq!(t.title, "Run migration (after deploy)");
        let t = task("- [ ] T003c Verify tests fail (commit 5966414)");
        assert_eq!(t.deps, None);
    }

    #[test]
    fn titles_keep_code_and_cjk() {
        let t = task("- [x] T003 [P] 配置 TypeScript (tsconfig.json, tsconfig.node.json)");
        assert_eq!(
            t.title,
            "配置 TypeScript (tsconfig.json, tsconfig.node.json)"
        );
        let t = task("- [ ] T005 ~~Old~~ **NOT IMPLEMENTED** — `a**b` snake_case src/**/*.rs \\_x");
        assert_eq!(
            t.title,
            "Old NOT IMPLEMENTED — `a**b` snake_case src/**/*.rs _x"
        );
        assert_eq!(task("- [ ] T009 **").title, "T009");
        assert_eq!(task("- [ ] T009").title, "T009");
    }

    #[test]
    fn code_split_handles_unbalanced_backticks() {
        assert_eq!(code_split("a `b` c"), vec!["a ", "`b`", " c"]);
        assert_eq!(code_split("a `b c"), vec!["a `b c"]);
        assert_eq!(code_split("``a`b`` c"), vec!["", "``a`b``", " c"]);
    }

    #[test]
    fn thematic_breaks_and_list_items() {
        assert!(is_thematic_break("---"));
        assert!(is_thematic_break("* * *"));
        assert!(!is_thematic_break("--- a/tasks.md"));
        assert!(is_list_item("  - x"));
        assert!(is_list_item("1. x"));
        assert!(!is_list_item("**T1** x"));
    }
}
