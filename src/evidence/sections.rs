//! Managed sections: the parts of `changes/<CH>/impact.md` and `docs/IMPLEMENTATION_PLAN.md`
//! that git-microloop owns, and the text it writes into them. Everything outside a section is
//! the user's and stays byte-identical. Pure functions: no I/O, no clock, no panics.
//!
//! # Marker format
//!
//! A section is delimited by two HTML comments, which render invisibly in Markdown, each on a
//! line of its own:
//!
//! ```text
//! <!-- git-microloop:begin <kind> <change> -->
//! …managed body…
//! <!-- git-microloop:end <kind> <change> -->
//! ```
//!
//! - `<kind>` is [`IMPACT`] (`impact`) or [`PLAN`] (`plan`); `<change>` is the change id, e.g.
//!   `<!-- git-microloop:begin plan CH-001 -->`. One file may hold many sections, one per
//!   (kind, change): IMPLEMENTATION_PLAN.md has one per change.
//! - Kind and change are non-empty and contain no whitespace, control characters, `<` or `>`
//!   (so a marker is always one well-formed comment, parsed back unambiguously).
//! - A marker line is matched exactly, single spaces included. Up to three leading spaces and
//!   any trailing spaces, tabs or `\r` are allowed; a line indented by four spaces or a tab is
//!   an indented code block in Markdown, so it is text, not a marker.
//! - Lines inside fenced code blocks (```` ``` ```` or `~~~`, CommonMark rules: up to three
//!   spaces of indent, a closing fence of the same character at least as long) are text, not
//!   markers: a user documenting the format must not be clobbered.
//! - Lines end with `\n` or `\r\n`. The body is written with the file's line ending (that of
//!   its first line; `\n` for a file without one); in a body, a lone `\r` ends a line too. A
//!   leading BOM is kept.
//! - A missing section is appended at the end of the file: a final newline is added if the file
//!   lacks one, then a blank line unless the last line is already blank, then the section.
//!
//! Damaged markers of the section being written — a begin without its end, an end before its
//! begin, a marker twice, another section's marker overlapping it — are errors naming the
//! 1-based lines; they are never "repaired" by guessing. So are a code fence left open at the
//! end of a file the section would be appended to (it would land inside the code block), and a
//! body that holds a marker line or an unclosed fence (the next run could not find its end).
//! Other sections, even damaged ones, are neither checked nor touched.

use std::collections::HashMap;

use thiserror::Error;

use super::summary::{Summary, TaskSummary, Totals};

/// The section kind of `changes/<CH>/impact.md`.
pub const IMPACT: &str = "impact";
/// The section kind of `docs/IMPLEMENTATION_PLAN.md`.
pub const PLAN: &str = "plan";

const MARKER_PREFIX: &str = "<!-- git-microloop:";
const MARKER_SUFFIX: &str = " -->";

/// Why a section could not be written. The caller leaves the file as it is and reports this
/// (every variant names 1-based lines where there are any).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SectionError {
    #[error(
        "invalid section {what} {value:?}: it must be non-empty, without whitespace, control characters, `<` or `>`"
    )]
    InvalidName { what: &'static str, value: String },
    #[error("line {line}: `{marker}` has no end marker after it{}", fence_hint(.open_fence))]
    Unclosed {
        line: usize,
        marker: String,
        /// A code fence opened after the begin marker and never closed (it hides the end).
        open_fence: Option<usize>,
    },
    #[error("line {line}: `{marker}` comes before its begin marker")]
    EndBeforeBegin { line: usize, marker: String },
    #[error("lines {first} and {second}: `{marker}` appears twice")]
    Duplicate {
        first: usize,
        second: usize,
        marker: String,
    },
    #[error(
        "line {line}: `{marker}` belongs to another section that overlaps this one (lines {begin}–{end})"
    )]
    Overlap {
        line: usize,
        marker: String,
        begin: usize,
        end: usize,
    },
    #[error(
        "line {line}: a code fence opened here is never closed; a section appended after it would be code, not a section"
    )]
    OpenFence { line: usize },
    #[error("line {line} of the section body {problem}")]
    Body { line: usize, problem: &'static str },
}

fn fence_hint(open_fence: &Option<usize>) -> String {
    open_fence.map_or(String::new(), |l| {
        format!(" (the code fence opened at line {l} is never closed and may hide it)")
    })
}

/// `<!-- git-microloop:begin <kind> <change> -->`
pub fn begin_marker(kind: &str, change: &str) -> String {
    format!("{MARKER_PREFIX}begin {kind} {change}{MARKER_SUFFIX}")
}

/// `<!-- git-microloop:end <kind> <change> -->`
pub fn end_marker(kind: &str, change: &str) -> String {
    format!("{MARKER_PREFIX}end {kind} {change}{MARKER_SUFFIX}")
}

/// Put `body` into the (kind, change) section of `existing`. If the section is there, exactly
/// the bytes between the end of its begin-marker line and the start of its end-marker line are
/// replaced. If not, the section is appended at the end after a blank line (adding a final
/// newline first if the file lacks one). No other byte changes. `body`'s line endings are
/// normalized to the file's.
pub fn replace_section(
    existing: &str,
    kind: &str,
    change: &str,
    body: &str,
) -> Result<String, SectionError> {
    check_name("kind", kind)?;
    check_name("change", change)?;
    let scan = scan(existing, true);
    let found = locate(&scan, kind, change)?;
    let nl = line_ending(existing);
    let body = normalize_body(body, nl);
    check_body(&body)?;
    match found {
        Some((begin, end)) => {
            let mut out = String::with_capacity(existing.len() + body.len());
            out.push_str(&existing[..begin.next]);
            out.push_str(&body);
            out.push_str(&existing[end.start..]);
            Ok(out)
        }
        None => match scan.open_fence {
            Some(line) => Err(SectionError::OpenFence { line }),
            None => Ok(append(existing, kind, change, &body, nl)),
        },
    }
}

/// A new file from a template: every `{change}` becomes the change id.
pub fn new_file(template: &str, change: &str) -> String {
    template.replace("{change}", change)
}

fn check_name(what: &'static str, value: &str) -> Result<(), SectionError> {
    if valid_name(value) {
        Ok(())
    } else {
        Err(SectionError::InvalidName {
            what,
            value: value.to_string(),
        })
    }
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '<' && c != '>')
}

/// A marker line found outside code fences.
#[derive(Debug, Clone, Copy)]
struct Marker<'a> {
    line: usize,
    /// Byte offset of the line's start, and of the line after it.
    start: usize,
    next: usize,
    begin: bool,
    kind: &'a str,
    change: &'a str,
    text: &'a str,
}

impl Marker<'_> {
    fn same_section(&self, other: &Marker<'_>) -> bool {
        self.kind == other.kind && self.change == other.change
    }
}

struct Scan<'a> {
    markers: Vec<Marker<'a>>,
    /// The line of a code fence still open at the end of the text.
    open_fence: Option<usize>,
}

/// Every marker line outside code fences, in order. `bom`: strip a BOM from the first line
/// (true for a whole file, false for a body that will sit in the middle of one).
fn scan(text: &str, bom: bool) -> Scan<'_> {
    let mut markers = Vec::new();
    let mut fence: Option<Fence> = None;
    let mut start = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = i + 1;
        let next = start + raw.len();
        let mut content = raw.strip_suffix('\n').unwrap_or(raw);
        content = content.strip_suffix('\r').unwrap_or(content);
        if bom && i == 0 {
            content = content.strip_prefix('\u{feff}').unwrap_or(content);
        }
        match fence {
            Some(f) if f.closed_by(content) => fence = None,
            Some(_) => {}
            None => {
                if let Some(f) = Fence::opened_by(content, line) {
                    fence = Some(f);
                } else if let Some((begin, kind, change, text)) = parse_marker(content) {
                    markers.push(Marker {
                        line,
                        start,
                        next,
                        begin,
                        kind,
                        change,
                        text,
                    });
                }
            }
        }
        start = next;
    }
    Scan {
        markers,
        open_fence: fence.map(|f| f.line),
    }
}

/// The line without up to three spaces of indent; `None` if it is indented further (an
/// indented code block in Markdown).
fn unindent(line: &str) -> Option<&str> {
    let rest = line.trim_start_matches(' ');
    let indent = line.len() - rest.len();
    (indent <= 3 && !rest.starts_with('\t')).then_some(rest)
}

/// `(is_begin, kind, change, trimmed text)` if the line is a marker.
fn parse_marker(line: &str) -> Option<(bool, &str, &str, &str)> {
    let text = unindent(line)?.trim_end_matches([' ', '\t', '\r']);
    let inner = text
        .strip_prefix(MARKER_PREFIX)?
        .strip_suffix(MARKER_SUFFIX)?;
    let mut parts = inner.split(' ');
    let begin = match parts.next()? {
        "begin" => true,
        "end" => false,
        _ => return None,
    };
    let (kind, change) = (parts.next()?, parts.next()?);
    let well_formed = parts.next().is_none() && valid_name(kind) && valid_name(change);
    well_formed.then_some((begin, kind, change, text))
}

/// An open fenced code block (CommonMark: ``` or ~~~, three or more).
#[derive(Debug, Clone, Copy)]
struct Fence {
    ch: char,
    len: usize,
    line: usize,
}

impl Fence {
    fn opened_by(line: &str, line_no: usize) -> Option<Fence> {
        let rest = unindent(line)?;
        let ch = rest.chars().next().filter(|c| *c == '`' || *c == '~')?;
        let len = rest.chars().take_while(|c| *c == ch).count();
        // A backtick fence's info string cannot hold a backtick (it would be inline code).
        let info_ok = ch == '~' || !rest[len..].contains('`');
        (len >= 3 && info_ok).then_some(Fence {
            ch,
            len,
            line: line_no,
        })
    }

    fn closed_by(&self, line: &str) -> bool {
        let Some(rest) = unindent(line) else {
            return false;
        };
        let len = rest.chars().take_while(|c| *c == self.ch).count();
        len >= self.len && rest[len..].trim_matches([' ', '\t']).is_empty()
    }
}

/// The (begin, end) markers of the (kind, change) section, if it is there and well-formed.
fn locate<'a>(
    scan: &Scan<'a>,
    kind: &str,
    change: &str,
) -> Result<Option<(Marker<'a>, Marker<'a>)>, SectionError> {
    let ours: Vec<Marker<'a>> = scan
        .markers
        .iter()
        .filter(|m| m.kind == kind && m.change == change)
        .copied()
        .collect();
    let (begin, end) = match ours.as_slice() {
        [] => return Ok(None),
        [first, ..] if !first.begin => {
            return Err(SectionError::EndBeforeBegin {
                line: first.line,
                marker: end_marker(kind, change),
            });
        }
        [b] => {
            return Err(SectionError::Unclosed {
                line: b.line,
                marker: begin_marker(kind, change),
                open_fence: scan.open_fence.filter(|l| *l > b.line),
            });
        }
        [b, second, ..] if second.begin => return Err(duplicate(b, second, kind, change)),
        [_, e, third, ..] if !third.begin => return Err(duplicate(e, third, kind, change)),
        [b, _, third, ..] => return Err(duplicate(b, third, kind, change)),
        [b, e] => (*b, *e),
    };
    check_overlap(&scan.markers, &begin, &end)?;
    Ok(Some((begin, end)))
}

fn duplicate(first: &Marker<'_>, second: &Marker<'_>, kind: &str, change: &str) -> SectionError {
    let marker = if first.begin {
        begin_marker(kind, change)
    } else {
        end_marker(kind, change)
    };
    SectionError::Duplicate {
        first: first.line,
        second: second.line,
        marker,
    }
}

/// Replacing our section must not move or delete another section's markers, nor rewrite the
/// inside of a section that encloses ours: either way another change's section is touched.
fn check_overlap(
    markers: &[Marker<'_>],
    begin: &Marker<'_>,
    end: &Marker<'_>,
) -> Result<(), SectionError> {
    let overlap = |m: &Marker<'_>| SectionError::Overlap {
        line: m.line,
        marker: m.text.to_string(),
        begin: begin.line,
        end: end.line,
    };
    if let Some(inside) = markers
        .iter()
        .find(|m| m.line > begin.line && m.line < end.line)
    {
        return Err(overlap(inside));
    }
    // Sections open where ours begins: the last marker of theirs before ours is a begin.
    let mut open: HashMap<(&str, &str), &Marker<'_>> = HashMap::new();
    for m in markers.iter().filter(|m| m.line < begin.line) {
        if m.same_section(begin) {
            continue;
        }
        if m.begin {
            open.insert((m.kind, m.change), m);
        } else {
            open.remove(&(m.kind, m.change));
        }
    }
    // Enclosing if the first marker of theirs after ours is its end; an unclosed or doubled
    // begin is their damage, not ours.
    for m in markers.iter().filter(|m| m.line > end.line) {
        if let Some(opener) = open.remove(&(m.kind, m.change))
            && !m.begin
        {
            return Err(overlap(opener));
        }
    }
    Ok(())
}

/// The file's line ending: that of its first line, `\n` if it has none — unless the file is one
/// line ending in `\r`, where the final `\n` an append adds makes the first line end in `\r\n`
/// (without this, a second append would see a different line ending than the first).
fn line_ending(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if text[..i].ends_with('\r') => "\r\n",
        Some(_) => "\n",
        None if text.ends_with('\r') => "\r\n",
        None => "\n",
    }
}

/// The body as whole lines ending in `nl`. `\r\n`, `\n` and a lone `\r` (all line endings to a
/// Markdown renderer) each end a line, so the written section has one kind of line ending.
fn normalize_body(body: &str, nl: &str) -> String {
    let unified = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len() + 16);
    for line in unified.lines() {
        out.push_str(line);
        out.push_str(nl);
    }
    out
}

/// A body that held a marker line or left a code fence open would make the next scan of the
/// file see a different section (or none): refuse it rather than write a file we cannot read.
fn check_body(body: &str) -> Result<(), SectionError> {
    let scan = scan(body, false);
    if let Some(m) = scan.markers.first() {
        return Err(SectionError::Body {
            line: m.line,
            problem: "is a git-microloop marker line",
        });
    }
    match scan.open_fence {
        Some(line) => Err(SectionError::Body {
            line,
            problem: "opens a code fence that is never closed",
        }),
        None => Ok(()),
    }
}

/// `existing`, a final newline if it lacks one, a blank line if it has none, then the section.
fn append(existing: &str, kind: &str, change: &str, body: &str, nl: &str) -> String {
    let mut out = String::with_capacity(existing.len() + body.len() + 128);
    out.push_str(existing);
    let content = existing.strip_prefix('\u{feff}').unwrap_or(existing);
    if !content.is_empty() {
        if out.ends_with('\r') && nl == "\r\n" {
            out.push('\n'); // completes the CRLF the file ends with
        } else if !out.ends_with('\n') {
            out.push_str(nl);
        }
        if !ends_with_blank_line(&out) {
            out.push_str(nl);
        }
    }
    out.push_str(&begin_marker(kind, change));
    out.push_str(nl);
    out.push_str(body);
    out.push_str(&end_marker(kind, change));
    out.push_str(nl);
    out
}

/// Whether the last line of `text` (which ends with a newline) is blank.
fn ends_with_blank_line(text: &str) -> bool {
    let without_nl = text.strip_suffix('\n').unwrap_or(text);
    let last = without_nl.rsplit('\n').next().unwrap_or(without_nl);
    last.chars().all(|c| c.is_whitespace() || c == '\u{feff}')
}

// ---------------------------------------------------------------------------------------------
// Bodies

const TABLE_HEAD: &str = "\
| Task | Title | Commit | Files | +/− | QA | Duration |
|---|---|---|--:|--:|---|--:|
";

/// The impact section: the run's status line, then a row per micro-task in the summary's order
/// and a totals row. Every value from the summary is flattened to one line and table cells
/// escape `|`, so no task title can break the table or the section.
pub fn impact_body(summary: &Summary) -> String {
    let mut out = String::from("## Micro-task results\n\n");
    out.push_str(&status_line(summary));
    out.push('\n');
    if let Some(reason) = &summary.planner_fallback {
        out.push_str(&format!("\nPlanned by file: {}\n", inline(reason)));
    }
    out.push('\n');
    out.push_str(TABLE_HEAD);
    for task in &summary.tasks {
        out.push_str(&task_row(task));
    }
    out.push_str(&totals_row(&summary.totals));
    // The blank line ends the table: GFM would otherwise read the end marker as one more row.
    out.push('\n');
    out
}

fn status_line(s: &Summary) -> String {
    let finished = s
        .finished_at
        .as_deref()
        .map_or(String::new(), |f| format!(" · finished {}", inline(f)));
    format!(
        "Run {} **{}** · plan {} · seed {} · strategy {} · started {}{finished}",
        code(&s.run_id),
        value(&s.status),
        code(&short_hash(&s.plan_hash)),
        s.seed,
        code(&s.strategy),
        value(&s.started_at),
    )
}

fn task_row(t: &TaskSummary) -> String {
    let commit = match t.commit.as_deref() {
        Some(c) => code(&prefix(c, 12)),
        // No commit: say why (skipped, pending, failed) rather than leave a bare dash.
        None => format!("— ({})", cell(&t.status)),
    };
    format!(
        "| {} | {} | {commit} | {} | +{} −{} | {} | {} |\n",
        cell(&t.task_id),
        cell(&t.title),
        t.files_touched.len(),
        t.lines_added,
        t.lines_removed,
        t.qa_result.as_deref().map_or("—".to_string(), cell),
        t.duration_ms.map_or("—".to_string(), duration),
    )
}

fn totals_row(t: &Totals) -> String {
    format!(
        "| **Total** | {} done, {} skipped, {} failed of {} | | {} | +{} −{} | | {} |\n",
        t.done,
        t.skipped,
        t.failed,
        t.tasks,
        t.files_touched,
        t.lines_added,
        t.lines_removed,
        duration(t.duration_ms),
    )
}

/// The change's section of IMPLEMENTATION_PLAN.md. Progress is over the change's whole plan
/// (`plan_progress`): a task counts as settled when it is done **or skipped**, because a skipped
/// task is one the user decided needs no run; this run's own counts follow the latest run.
/// `note` (e.g. a retention event such as "run X purged") becomes a last line when non-blank.
pub fn plan_body(summary: &Summary, note: Option<&str>) -> String {
    let s = summary;
    let when = match s.finished_at.as_deref() {
        Some(f) => format!("finished {}", inline(f)),
        None => format!("started {}", value(&s.started_at)),
    };
    let mut out = format!(
        "## {}\n\n\
         - Progress: {} / {} micro-tasks settled (done or skipped)\n\
         - Latest run: {} **{}**, {when} ({} done, {} skipped, {} failed of {})\n\
         - Plan hash: {} (seed {}, strategy {})\n",
        value(&s.change),
        s.plan_progress.settled,
        s.plan_progress.total,
        code(&s.run_id),
        value(&s.status),
        s.totals.done,
        s.totals.skipped,
        s.totals.failed,
        s.totals.tasks,
        code(&s.plan_hash),
        s.seed,
        code(&s.strategy),
    );
    if let Some(note) = note.map(inline).filter(|n| !n.is_empty()) {
        out.push_str(&format!("- Note: {note}\n"));
    }
    out
}

/// One run's retention state, for the change's section of IMPLEMENTATION_PLAN.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionRow {
    pub run_id: String,
    /// `active`, `retained`, `eligible` or `purged`.
    pub state: String,
    pub reason: String,
    /// When the run entered this state (from the retention audit log), if recorded.
    pub since: Option<String>,
}

/// Rows listed in the section, at most, per kind (the counts cover all runs).
const RETENTION_ROWS: usize = 10;

/// The change's section of IMPLEMENTATION_PLAN.md after cleanup: `plan_body` of the latest run
/// whose summary is still there (or a line saying its evidence was purged), then the retention
/// state of the change's runs: counts per state, the runs still kept (at most ten, newest
/// first), and the latest purges (at most ten). Only recorded values appear — never the time of
/// the cleanup that wrote it — so an unchanged state writes byte-identical text.
pub fn plan_body_with_retention(
    latest: Option<&Summary>,
    change: &str,
    rows: &[RetentionRow],
) -> String {
    let mut out = match latest {
        Some(s) => plan_body(s, None),
        None => format!(
            "## {}\n\n- Latest run: — (no summary left: its evidence was purged)\n",
            value(change)
        ),
    };
    let count = |state: &str| rows.iter().filter(|r| r.state == state).count();
    out.push_str(&format!(
        "- Retention: {} purged, {} eligible, {} retained, {} active\n",
        count("purged"),
        count("eligible"),
        count("retained"),
        count("active")
    ));
    let mut newest: Vec<&RetentionRow> = rows.iter().collect();
    newest.sort_by(|a, b| b.run_id.cmp(&a.run_id));
    let line = |r: &RetentionRow| {
        format!(
            "  - {} {} ({}{})\n",
            code(&r.run_id),
            value(&r.state),
            value(&r.reason),
            r.since
                .as_deref()
                .map_or(String::new(), |t| format!(", since {}", inline(t)))
        )
    };
    for r in newest
        .iter()
        .filter(|r| r.state != "purged")
        .take(RETENTION_ROWS)
    {
        out.push_str(&line(r));
    }
    let mut purged: Vec<&&RetentionRow> = newest.iter().filter(|r| r.state == "purged").collect();
    purged.sort_by(|a, b| b.since.cmp(&a.since).then(b.run_id.cmp(&a.run_id)));
    for r in purged.into_iter().take(RETENTION_ROWS) {
        out.push_str(&line(r));
    }
    out
}

/// One line of text: control characters (newlines included) become spaces and runs of
/// whitespace collapse, so data can never start a line of its own (a marker, a fence).
fn inline(s: &str) -> String {
    let spaced: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `inline`, with `—` for nothing at all.
fn value(s: &str) -> String {
    let v = inline(s);
    if v.is_empty() { "—".to_string() } else { v }
}

/// Safe inside a table cell: one line, `|` escaped (GFM splits cells on unescaped pipes, even
/// inside code spans).
fn cell(s: &str) -> String {
    inline(s).replace('|', "\\|")
}

/// A code span (`|` escaped, for tables); plain text when the value holds a backtick, which
/// would end the span early.
fn code(s: &str) -> String {
    let c = cell(s);
    if c.is_empty() {
        "—".to_string()
    } else if c.contains('`') {
        c
    } else {
        format!("`{c}`")
    }
}

/// The first `n` characters (not bytes: never splits a character).
fn prefix(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// `sha256:` and the first 12 hex digits.
fn short_hash(hash: &str) -> String {
    match hash.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", prefix(hex, 12)),
        None => prefix(hash, 12),
    }
}

/// `0.4 s`, `12.3 s`, `4 min 05 s`, `2 h 07 min`: integer arithmetic, so the same on every
/// machine.
fn duration(ms: u64) -> String {
    let tenths = ms.saturating_add(50) / 100;
    if tenths < 600 {
        return format!("{}.{} s", tenths / 10, tenths % 10);
    }
    let secs = ms.saturating_add(500) / 1000;
    if secs < 3600 {
        format!("{} min {:02} s", secs / 60, secs % 60)
    } else {
        let mins = secs.saturating_add(30) / 60;
        format!("{} h {:02} min", mins / 60, mins % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::super::summary::{Progress, Retention};
    use super::*;

    const IMPACT_TEMPLATE: &str = include_str!("../../templates/impact.md");
    const PLAN_TEMPLATE: &str = include_str!("../../templates/IMPLEMENTATION_PLAN.md");

    fn b(kind: &str, change: &str) -> String {
        begin_marker(kind, change)
    }

    fn e(kind: &str, change: &str) -> String {
        end_marker(kind, change)
    }

    fn task(id: &str, title: &str, commit: Option<&str>) -> TaskSummary {
        TaskSummary {
            task_id: id.into(),
            title: title.into(),
            status: if commit.is_some() { "done" } else { "skipped" }.into(),
            commit: commit.map(Into::into),
            duration_ms: commit.map(|_| 1234),
            files_touched: vec!["src/a.rs".into(), "src/b.rs".into()],
            lines_added: 10,
            lines_removed: 3,
            qa_result: commit.map(|_| "pass".into()),
            qa: vec![],
            attempts: 1,
        }
    }

    fn summary() -> Summary {
        Summary {
            schema_version: 1,
            change: "CH-001".into(),
            run_id: "run-20261124T101500Z-3f9a".into(),
            status: "succeeded".into(),
            seed: 42,
            strategy: "spec-like".into(),
            planner_version: 1,
            plan_hash: format!("sha256:{}", "5d41402abc4b2a76".repeat(4)),
            planner_fallback: None,
            base_commit: "0".repeat(40),
            head_commit: None,
            run_branch: "microloop/CH-001/run".into(),
            started_at: "2026-11-24T10:15:00Z".into(),
            finished_at: Some("2026-11-24T10:20:00Z".into()),
            tasks: vec![
                task(
                    "T001",
                    "Add login | logout\nendpoint",
                    Some(&"ab12".repeat(10)),
                ),
                task("T002", "Docs", None),
            ],
            totals: Totals {
                tasks: 2,
                done: 1,
                skipped: 1,
                failed: 0,
                files_touched: 2,
                lines_added: 10,
                lines_removed: 3,
                duration_ms: 1234,
            },
            plan_progress: Progress {
                settled: 5,
                total: 8,
            },
            retention: Retention::default(),
            approvals: vec![],
            audit_anchor: None,
        }
    }

    #[test]
    fn appends_then_replaces_only_between_markers() {
        let user = "# Impact\n\nHand-written.\n";
        let once = replace_section(user, IMPACT, "CH-1", "one\n").unwrap();
        assert_eq!(
            once,
            format!(
                "{user}\n{}\none\n{}\n",
                b(IMPACT, "CH-1"),
                e(IMPACT, "CH-1")
            )
        );
        let twice = replace_section(&once, IMPACT, "CH-1", "two\n").unwrap();
        assert_eq!(twice, once.replace("one\n", "two\n"));
        assert_eq!(
            replace_section(&twice, IMPACT, "CH-1", "two\n").unwrap(),
            twice
        );
    }

    #[test]
    fn append_adds_only_what_is_missing() {
        let cases = [
            ("", ""),
            ("\u{feff}", "\u{feff}"),
            ("text", "text\n\n"),
            ("text\n", "text\n\n"),
            ("text\n\n", "text\n\n"),
            ("text\n  \n", "text\n  \n"),
            ("text\r\n", "text\r\n\r\n"),
            ("\n", "\n"),
        ];
        for (input, prefix) in cases {
            let out = replace_section(input, PLAN, "CH-1", "x").unwrap();
            let nl = line_ending(input);
            let section = format!("{}{nl}x{nl}{}{nl}", b(PLAN, "CH-1"), e(PLAN, "CH-1"));
            assert_eq!(out, format!("{prefix}{section}"), "{input:?}");
        }
    }

    #[test]
    fn keeps_crlf_bom_and_missing_trailing_newline_outside() {
        let user = "\u{feff}# T\r\nno newline at end";
        let out = replace_section(user, PLAN, "CH-1", "x\ny").unwrap();
        assert!(out.starts_with(user));
        assert!(out.contains("\r\nx\r\ny\r\n"), "{out:?}");
        let next = format!("{out}tail text");
        let replaced = replace_section(&next, PLAN, "CH-1", "z\r\n").unwrap();
        assert_eq!(replaced, next.replace("x\r\ny\r\n", "z\r\n"));
    }

    #[test]
    fn a_marker_on_the_first_line_after_a_bom_is_found() {
        let text = format!("\u{feff}{}\nold\n{}", b(PLAN, "C"), e(PLAN, "C"));
        let out = replace_section(&text, PLAN, "C", "new").unwrap();
        assert_eq!(out, text.replace("old", "new"));
    }

    #[test]
    fn indented_and_trailing_space_markers() {
        let text = format!("   {} \t\nold\n  {}\r\n", b(PLAN, "C"), e(PLAN, "C"));
        let out = replace_section(&text, PLAN, "C", "new").unwrap();
        assert_eq!(out, text.replace("old", "new"));
        // Four spaces: an indented code block, so text; the section is appended.
        let code = format!("    {}\n    old\n    {}\n", b(PLAN, "C"), e(PLAN, "C"));
        let out = replace_section(&code, PLAN, "C", "new").unwrap();
        assert!(out.starts_with(&code), "{out}");
        assert_eq!(out.matches("new").count(), 1);
    }

    #[test]
    fn other_changes_and_fenced_markers_are_left_alone() {
        let text = format!(
            "```md\n{}\nexample\n{}\n```\n\n~~~~\n{}\n```\n~~~\n~~~~\n\n{}\nother\n{}\n",
            b(PLAN, "CH-1"),
            e(PLAN, "CH-1"),
            b(PLAN, "CH-1"),
            b(PLAN, "CH-2"),
            e(PLAN, "CH-2"),
        );
        let out = replace_section(&text, PLAN, "CH-1", "mine").unwrap();
        assert!(out.starts_with(&text), "{out}");
        let again = replace_section(&out, PLAN, "CH-1", "mine 2").unwrap();
        assert_eq!(again, out.replace("mine\n", "mine 2\n"));
    }

    #[test]
    fn a_backtick_line_with_backticks_in_its_info_is_not_a_fence() {
        let text = format!("``` a ` b\n{}\nold\n{}\n", b(PLAN, "C"), e(PLAN, "C"));
        let out = replace_section(&text, PLAN, "C", "new").unwrap();
        assert_eq!(out, text.replace("old", "new"));
    }

    #[test]
    fn appending_into_an_open_fence_is_refused() {
        let text = "# T\n\n```\nnever closed\n";
        assert_eq!(
            replace_section(text, PLAN, "C", "x"),
            Err(SectionError::OpenFence { line: 3 })
        );
    }

    #[test]
    fn damaged_markers_are_errors_with_lines() {
        let (bm, em) = (b(IMPACT, "CH-1"), e(IMPACT, "CH-1"));
        let run = |text: String| replace_section(&text, IMPACT, "CH-1", "y");
        assert_eq!(
            run(format!("x\n{bm}\n")),
            Err(SectionError::Unclosed {
                line: 2,
                marker: bm.clone(),
                open_fence: None
            })
        );
        assert_eq!(
            run(format!("{bm}\n```\n{em}\n")),
            Err(SectionError::Unclosed {
                line: 1,
                marker: bm.clone(),
                open_fence: Some(2)
            })
        );
        assert_eq!(
            run(format!("{em}\n{bm}\n{em}\n")),
            Err(SectionError::EndBeforeBegin {
                line: 1,
                marker: em.clone()
            })
        );
        let dup = |first, second, marker: &str| {
            Err(SectionError::Duplicate {
                first,
                second,
                marker: marker.to_string(),
            })
        };
        assert_eq!(run(format!("{bm}\n{em}\n{bm}\n{em}\n")), dup(1, 3, &bm));
        assert_eq!(run(format!("{bm}\n{bm}\n{em}\n")), dup(1, 2, &bm));
        assert_eq!(run(format!("{bm}\n{em}\n\n{em}\n")), dup(2, 4, &em));
    }

    #[test]
    fn error_messages_name_lines() {
        let text = format!("a\n{}\n", b(IMPACT, "CH-1"));
        let err = replace_section(&text, IMPACT, "CH-1", "y").unwrap_err();
        assert!(err.to_string().starts_with("line 2: "), "{err}");
        let err = replace_section(&format!("{text}```\n"), IMPACT, "CH-1", "y").unwrap_err();
        assert!(err.to_string().contains("line 3 is never closed"), "{err}");
    }

    #[test]
    fn overlapping_sections_are_errors() {
        let inside = format!(
            "{}\n{}\n{}\n{}\n",
            b(PLAN, "A"),
            b(PLAN, "B"),
            e(PLAN, "B"),
            e(PLAN, "A")
        );
        assert!(matches!(
            replace_section(&inside, PLAN, "A", "x"),
            Err(SectionError::Overlap {
                line: 2,
                begin: 1,
                end: 4,
                ..
            })
        ));
        assert!(matches!(
            replace_section(&inside, PLAN, "B", "x"),
            Err(SectionError::Overlap {
                line: 1,
                begin: 2,
                end: 3,
                ..
            })
        ));
        // Another change's damaged begin before ours is its problem, not ours.
        let damaged = format!("{}\n{}\nx\n{}\n", b(PLAN, "A"), b(PLAN, "B"), e(PLAN, "B"));
        let out = replace_section(&damaged, PLAN, "B", "y").unwrap();
        assert_eq!(out, damaged.replace("\nx\n", "\ny\n"));
        // A different kind with the same change is a different section.
        let kinds = format!("{}\n{}\n", b(IMPACT, "A"), e(IMPACT, "A"));
        let out = replace_section(&kinds, PLAN, "A", "y").unwrap();
        assert!(out.starts_with(&kinds));
    }

    #[test]
    fn names_and_bodies_that_would_break_the_file_are_refused() {
        for bad in ["", "CH 1", "CH-1-->", "a\nb", "<x"] {
            assert!(matches!(
                replace_section("", PLAN, bad, "x"),
                Err(SectionError::InvalidName { what: "change", .. })
            ));
        }
        let body = format!("ok\n{}\n", e(PLAN, "C"));
        assert_eq!(
            replace_section("", PLAN, "C", &body),
            Err(SectionError::Body {
                line: 2,
                problem: "is a git-microloop marker line"
            })
        );
        assert!(matches!(
            replace_section("", PLAN, "C", "a\n```rust\ncode"),
            Err(SectionError::Body { line: 2, .. })
        ));
        // A closed fence in a body is fine, and so is another change's marker inside it.
        let fenced = format!("```\n{}\n```\n", b(PLAN, "D"));
        let once = replace_section("", PLAN, "C", &fenced).unwrap();
        assert_eq!(replace_section(&once, PLAN, "C", &fenced).unwrap(), once);
    }

    #[test]
    fn body_line_endings_follow_the_file() {
        let file = format!("{}\r\nold\r\n{}\r\n", b(PLAN, "C"), e(PLAN, "C"));
        let out = replace_section(&file, PLAN, "C", "a\nb\rc\r\n\n").unwrap();
        assert_eq!(out, file.replace("old\r\n", "a\r\nb\r\nc\r\n\r\n"));
        let empty = replace_section(&file, PLAN, "C", "").unwrap();
        assert_eq!(empty, format!("{}\r\n{}\r\n", b(PLAN, "C"), e(PLAN, "C")));
    }

    #[test]
    fn impact_body_has_status_table_and_totals() {
        let body = impact_body(&summary());
        let expected = "\
## Micro-task results

Run `run-20261124T101500Z-3f9a` **succeeded** · plan `sha256:5d41402abc4b` · seed 42 · \
strategy `spec-like` · started 2026-11-24T10:15:00Z · finished 2026-11-24T10:20:00Z

| Task | Title | Commit | Files | +/− | QA | Duration |
|---|---|---|--:|--:|---|--:|
| T001 | Add login \\| logout endpoint | `ab12ab12ab12` | 2 | +10 −3 | pass | 1.2 s |
| T002 | Docs | — (skipped) | 2 | +10 −3 | — | — |
| **Total** | 1 done, 1 skipped, 0 failed of 2 | | 2 | +10 −3 | | 1.2 s |

";
        assert_eq!(body, expected);
        assert_eq!(impact_body(&summary()), body, "deterministic");
    }

    #[test]
    fn impact_body_survives_hostile_data() {
        let mut s = summary();
        s.run_id = "run`x".into();
        s.strategy = format!("a\n{}\n```", e(IMPACT, "CH-001"));
        s.planner_fallback = Some("no tasks\n# heading".into());
        s.tasks[0].title = format!("\n{}\n| x |", e(IMPACT, "CH-001"));
        s.tasks[0].commit = Some("é".repeat(20));
        let body = impact_body(&s);
        assert!(body.contains("Run run`x **"), "{body}");
        assert!(body.contains("Planned by file: no tasks # heading\n"));
        assert!(body.contains(&format!("`{}`", "é".repeat(12))));
        let once = replace_section("", IMPACT, "CH-001", &body).unwrap();
        assert_eq!(
            replace_section(&once, IMPACT, "CH-001", &body).unwrap(),
            once
        );
        for row in body.lines().filter(|l| l.starts_with('|')) {
            let unescaped = row.replace("\\|", "");
            assert_eq!(unescaped.matches('|').count(), 8, "{row}");
        }
    }

    #[test]
    fn plan_body_reports_progress_run_and_note() {
        let body = plan_body(&summary(), Some("run X purged\n(by cleanup)"));
        let expected = format!(
            "## CH-001\n\n\
             - Progress: 5 / 8 micro-tasks settled (done or skipped)\n\
             - Latest run: `run-20261124T101500Z-3f9a` **succeeded**, finished \
             2026-11-24T10:20:00Z (1 done, 1 skipped, 0 failed of 2)\n\
             - Plan hash: `sha256:{}` (seed 42, strategy `spec-like`)\n\
             - Note: run X purged (by cleanup)\n",
            "5d41402abc4b2a76".repeat(4)
        );
        assert_eq!(body, expected);
        let mut running = summary();
        running.finished_at = None;
        let body = plan_body(&running, Some(" \n "));
        assert!(body.contains(", started 2026-11-24T10:15:00Z ("), "{body}");
        assert!(!body.contains("Note"));
    }

    #[test]
    fn plan_body_with_retention_counts_and_lists_runs() {
        let row = |id: &str, state: &str, reason: &str, since: Option<&str>| RetentionRow {
            run_id: id.into(),
            state: state.into(),
            reason: reason.into(),
            since: since.map(Into::into),
        };
        let rows = [
            row(
                "run-1",
                "purged",
                "auto_success_ttl",
                Some("2026-11-25T00:00:00Z"),
            ),
            row("run-2", "retained", "retention_marker", None),
            row(
                "run-3",
                "eligible",
                "ttl_not_expired",
                Some("2026-11-26T00:00:00Z"),
            ),
        ];
        let body = plan_body_with_retention(Some(&summary()), "CH-001", &rows);
        assert!(body.starts_with(&plan_body(&summary(), None)), "{body}");
        assert!(
            body.ends_with(
                "- Retention: 1 purged, 1 eligible, 1 retained, 0 active\n\
             \x20 - `run-3` eligible (ttl_not_expired, since 2026-11-26T00:00:00Z)\n\
             \x20 - `run-2` retained (retention_marker)\n\
             \x20 - `run-1` purged (auto_success_ttl, since 2026-11-25T00:00:00Z)\n"
            ),
            "{body}"
        );
        let gone = plan_body_with_retention(None, "CH-001", &rows[..1]);
        assert!(
            gone.starts_with("## CH-001\n\n- Latest run: — (no summary left"),
            "{gone}"
        );
        let once = replace_section("", PLAN, "CH-001", &body).unwrap();
        assert_eq!(replace_section(&once, PLAN, "CH-001", &body).unwrap(), once);
    }

    #[test]
    fn durations_read_well() {
        let cases = [
            (0, "0.0 s"),
            (49, "0.0 s"),
            (1234, "1.2 s"),
            (59_949, "59.9 s"),
            (59_950, "1 min 00 s"),
            (125_000, "2 min 05 s"),
            (3_599_499, "59 min 59 s"),
            (3_599_500, "1 h 00 min"),
            (7_650_000, "2 h 08 min"),
        ];
        for (ms, want) in cases {
            assert_eq!(duration(ms), want, "{ms}");
        }
        assert!(duration(u64::MAX).ends_with(" min"));
    }

    #[test]
    fn templates_fill_the_change_and_take_a_section() {
        let impact = new_file(IMPACT_TEMPLATE, "CH-007");
        assert!(impact.starts_with("# Impact of CH-007\n"), "{impact}");
        assert!(!impact.contains("{change}") && !impact.contains("git-microloop:begin"));
        let plan = new_file(PLAN_TEMPLATE, "CH-007");
        for file in [impact, plan] {
            let out = replace_section(&file, PLAN, "CH-007", "x").unwrap();
            assert!(out.starts_with(&file));
        }
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a | b\nc\t\u{1b}d"), "a \\| b c d");
        assert_eq!(code(""), "—");
        assert_eq!(code("a|b"), "`a\\|b`");
    }
}
