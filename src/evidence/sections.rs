//! Managed sections: the parts of `impact.md` and `docs/IMPLEMENTATION_PLAN.md` that
//! git-microloop owns. Everything outside them is the user's and stays byte-identical.
//!
//! A section is delimited by two HTML comments (invisible in rendered Markdown), each on a line
//! of its own:
//!
//! ```text
//! <!-- git-microloop:begin impact CH-001 -->
//! …generated…
//! <!-- git-microloop:end impact CH-001 -->
//! ```
//!
//! `kind` is `impact` or `plan`; each change has its own section, so one IMPLEMENTATION_PLAN.md
//! holds a section per change. Markers inside fenced code blocks are text, not markers (a user
//! documenting the format must not be clobbered). Damaged markers — a begin without its end, an
//! end before its begin, a section twice — are errors naming the lines; they are never
//! "repaired" by guessing.

use thiserror::Error;

use super::summary::Summary;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SectionError {
    #[error("line {0}: `{1}` has no matching end marker")]
    Unclosed(usize, String),
    #[error("line {0}: end marker `{1}` comes before its begin marker")]
    EndBeforeBegin(usize, String),
    #[error("lines {0} and {1}: the section `{2}` appears twice")]
    Duplicate(usize, usize, String),
}

fn begin_marker(kind: &str, change: &str) -> String {
    format!("<!-- git-microloop:begin {kind} {change} -->")
}

fn end_marker(kind: &str, change: &str) -> String {
    format!("<!-- git-microloop:end {kind} {change} -->")
}

/// Put `body` into the (kind, change) section of `existing`: between the markers if they are
/// there, else appended at the end after a blank line. Only those bytes change.
pub fn replace_section(
    existing: &str,
    kind: &str,
    change: &str,
    body: &str,
) -> Result<String, SectionError> {
    let crlf = existing.contains("\r\n");
    let nl = if crlf { "\r\n" } else { "\n" };
    let body: String = body
        .lines()
        .map(|l| format!("{l}{nl}"))
        .collect::<Vec<_>>()
        .concat();
    let (begin, end) = (begin_marker(kind, change), end_marker(kind, change));
    match find_section(existing, &begin, &end)? {
        Some((inner_start, inner_end)) => {
            let mut out = String::with_capacity(existing.len() + body.len());
            out.push_str(&existing[..inner_start]);
            out.push_str(&body);
            out.push_str(&existing[inner_end..]);
            Ok(out)
        }
        None => {
            let mut out = existing.to_string();
            if !out.is_empty() {
                if !out.ends_with('\n') {
                    out.push_str(nl);
                }
                if !out.ends_with(&format!("{nl}{nl}")) {
                    out.push_str(nl);
                }
            }
            out.push_str(&begin);
            out.push_str(nl);
            out.push_str(&body);
            out.push_str(&end);
            out.push_str(nl);
            Ok(out)
        }
    }
}

/// Byte range between the end of the begin-marker line and the start of the end-marker line.
fn find_section(
    text: &str,
    begin: &str,
    end: &str,
) -> Result<Option<(usize, usize)>, SectionError> {
    let mut fence: Option<String> = None;
    let mut found_begin: Option<(usize, usize)> = None; // (line number, byte after the line)
    let mut found_end: Option<(usize, usize)> = None; // (line number, byte at line start)
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line_no = i + 1;
        let line = raw
            .trim_end_matches(['\n', '\r'])
            .trim_start_matches('\u{feff}');
        let t = line.trim();
        if let Some(f) = &fence {
            if t.starts_with(f.as_str()) {
                fence = None;
            }
        } else if t.starts_with("```") || t.starts_with("~~~") {
            fence = Some(t[..3].to_string());
        } else if t == begin {
            if let Some((first, _)) = found_begin {
                return Err(SectionError::Duplicate(first, line_no, begin.to_string()));
            }
            found_begin = Some((line_no, offset + raw.len()));
        } else if t == end {
            match (found_begin, found_end) {
                (None, _) => return Err(SectionError::EndBeforeBegin(line_no, end.to_string())),
                (Some(_), Some((first, _))) => {
                    return Err(SectionError::Duplicate(first, line_no, end.to_string()));
                }
                (Some(_), None) => found_end = Some((line_no, offset)),
            }
        }
        offset += raw.len();
    }
    match (found_begin, found_end) {
        (None, _) => Ok(None),
        (Some((line, _)), None) => Err(SectionError::Unclosed(line, begin.to_string())),
        (Some((_, start)), Some((_, stop))) => Ok(Some((start, stop))),
    }
}

/// The impact section: the run's status and a row per micro-task.
pub fn impact_body(s: &Summary) -> String {
    let mut out = format!(
        "### Micro-task results — {} ({})\n\n\
         Run `{}` · plan `{}` · seed {} · strategy {} · started {}{}\n\n\
         | Task | Title | Commit | Files | +/− | QA | Duration |\n\
         |---|---|---|---:|---:|---|---:|\n",
        s.change,
        s.status,
        s.run_id,
        short(&s.plan_hash, 19),
        s.seed,
        s.strategy,
        s.started_at,
        s.finished_at
            .as_deref()
            .map_or(String::new(), |f| format!(" · finished {f}")),
    );
    for t in &s.tasks {
        out.push_str(&format!(
            "| {} | {} | {} | {} | +{} −{} | {} | {} |\n",
            cell(&t.task_id),
            cell(&t.title),
            t.commit
                .as_deref()
                .map_or("—".to_string(), |c| format!("`{}`", short(c, 12))),
            t.files_touched.len(),
            t.lines_added,
            t.lines_removed,
            t.qa_result.as_deref().unwrap_or("—"),
            t.duration_ms.map_or("—".to_string(), seconds),
        ));
    }
    let tot = &s.totals;
    out.push_str(&format!(
        "| **total** | {} done, {} skipped, {} failed of {} | | {} | +{} −{} | | {} |\n",
        tot.done,
        tot.skipped,
        tot.failed,
        tot.tasks,
        tot.files_touched,
        tot.lines_added,
        tot.lines_removed,
        seconds(tot.duration_ms)
    ));
    out
}

/// The change's section of IMPLEMENTATION_PLAN.md: the whole plan's progress (done and skipped
/// tasks count as settled) and the latest run.
pub fn plan_body(s: &Summary, note: Option<&str>) -> String {
    let mut out = format!(
        "### {}\n\n\
         - Progress: {} / {} micro-tasks settled (this run: {} done, {} skipped of {})\n\
         - Latest run: `{}` — {}\n\
         - Plan hash: `{}` (seed {}, strategy {})\n",
        s.change,
        s.plan_progress.settled,
        s.plan_progress.total,
        s.totals.done,
        s.totals.skipped,
        s.totals.tasks,
        s.run_id,
        s.status,
        s.plan_hash,
        s.seed,
        s.strategy
    );
    if let Some(n) = note {
        out.push_str(&format!("- {}\n", cell(n)));
    }
    out
}

/// A new file from a template, `{change}` filled in.
pub fn new_file(template: &str, change: &str) -> String {
    template.replace("{change}", change)
}

/// Text safe inside a table cell: one line, `|` escaped.
fn cell(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn short(s: &str, n: usize) -> &str {
    s.get(..n).unwrap_or(s)
}

fn seconds(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_then_replaces_only_between_markers() {
        let user = "# Impact\n\nHand-written.\n";
        let once = replace_section(user, "impact", "CH-1", "one\n").unwrap();
        assert!(once.starts_with(user));
        let twice = replace_section(&once, "impact", "CH-1", "two\n").unwrap();
        assert_eq!(twice, once.replace("one\n", "two\n"));
        let again = replace_section(&twice, "impact", "CH-1", "two\n").unwrap();
        assert_eq!(again, twice);
    }

    #[test]
    fn keeps_crlf_bom_and_missing_trailing_newline_outside() {
        let user = "\u{feff}# T\r\nno newline at end";
        let out = replace_section(user, "plan", "CH-1", "x\ny").unwrap();
        assert!(out.starts_with(user));
        assert!(out.contains("\r\nx\r\ny\r\n"), "{out:?}");
        let next = format!("{out}tail text\r\n");
        let replaced = replace_section(&next, "plan", "CH-1", "z").unwrap();
        assert!(replaced.ends_with("tail text\r\n"));
        assert!(replaced.starts_with(user));
    }

    #[test]
    fn other_changes_and_fenced_markers_are_left_alone() {
        let text = format!(
            "```\n{}\nexample\n{}\n```\n\n{}\nother\n{}\n",
            begin_marker("plan", "CH-1"),
            end_marker("plan", "CH-1"),
            begin_marker("plan", "CH-2"),
            end_marker("plan", "CH-2"),
        );
        let out = replace_section(&text, "plan", "CH-1", "mine").unwrap();
        assert!(out.starts_with(&text), "{out}");
        assert!(out.contains("example") && out.contains("other"));
    }

    #[test]
    fn damaged_markers_are_errors_with_lines() {
        let b = begin_marker("impact", "CH-1");
        let e = end_marker("impact", "CH-1");
        assert_eq!(
            replace_section(&format!("x\n{b}\n"), "impact", "CH-1", "y"),
            Err(SectionError::Unclosed(2, b.clone()))
        );
        assert_eq!(
            replace_section(&format!("{e}\n{b}\n{e}\n"), "impact", "CH-1", "y"),
            Err(SectionError::EndBeforeBegin(1, e.clone()))
        );
        assert!(matches!(
            replace_section(&format!("{b}\n{e}\n{b}\n{e}\n"), "impact", "CH-1", "y"),
            Err(SectionError::Duplicate(1, 3, _))
        ));
    }

    #[test]
    fn table_cells_cannot_break_the_table() {
        assert_eq!(cell("a | b\nc"), "a \\| b c");
    }
}
