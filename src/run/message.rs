//! The commit message of a micro-task: subject, escaped body, and a trailer block that
//! `git interpret-trailers --parse`, libgit2 and `git log %(trailers)` all read back exactly.
//!
//! Rules (DESIGN.md): the trailer block is the last paragraph and holds only `Microloop-*`
//! lines with single-line values; task text can never end up in it. Body lines that git or
//! libgit2 would take for something else — `---` (patch separator: trailers above it become
//! invisible), `diff -`, `Index: `, `#` (comment), the scissors line — are indented. The commit
//! is made with `--cleanup=verbatim` so git keeps this text byte for byte.

use crate::ids::{ChangeId, PlanHash, Seed};

/// Longest subject we write; longer titles are cut at a character boundary with `…`.
const SUBJECT_MAX: usize = 100;
/// Body wrap width.
const WRAP: usize = 72;

/// What a micro-task commit says.
pub struct TaskMessage<'a> {
    pub task_key: &'a str,
    pub title: &'a str,
    /// The whole task text (title line and continuation lines).
    pub text: &'a str,
    pub trailers: Trailers<'a>,
}

/// The trailer values (all validated single-line ids or hashes).
pub struct Trailers<'a> {
    pub change: &'a ChangeId,
    pub run: &'a str,
    /// `None` for the run's record commit.
    pub task: Option<&'a str>,
    pub seed: Seed,
    pub plan: &'a PlanHash,
    /// `None` for the run's record commit.
    pub qa: Option<&'a str>,
    /// The implementer audit log's head (record commit only): `Microloop-Audit-Seq` and
    /// `Microloop-Audit-Head`, so cutting or editing the log's tail is caught from git alone.
    pub audit: Option<(u64, &'a str)>,
}

impl Trailers<'_> {
    /// The trailer block, one `Key: value` per line, ending in a newline.
    pub fn render(&self) -> String {
        let mut lines = vec![
            ("Microloop-Change", self.change.as_str().to_string()),
            ("Microloop-Run", self.run.to_string()),
        ];
        if let Some(t) = self.task {
            lines.push(("Microloop-Task", t.to_string()));
        }
        lines.push(("Microloop-Seed", self.seed.to_string()));
        lines.push(("Microloop-Plan", self.plan.to_string()));
        if let Some(q) = self.qa {
            lines.push(("Microloop-QA", q.to_string()));
        }
        if let Some((seq, hash)) = self.audit {
            lines.push(("Microloop-Audit-Seq", seq.to_string()));
            lines.push(("Microloop-Audit-Head", hash.to_string()));
        }
        lines
            .into_iter()
            .map(|(k, v)| format!("{k}: {}\n", one_line(&v)))
            .collect()
    }
}

impl TaskMessage<'_> {
    pub fn render(&self) -> String {
        let subject = subject(&format!("{}: {}", self.task_key, one_line(self.title)));
        // A text that only repeats the title adds nothing below the subject.
        let body = if one_line(self.text) == one_line(self.title) {
            String::new()
        } else {
            body(self.text)
        };
        let mut msg = subject;
        msg.push_str("\n\n");
        if !body.is_empty() {
            msg.push_str(&body);
            msg.push_str("\n\n");
        }
        msg.push_str(&self.trailers.render());
        msg
    }
}

/// Collapse all white space (newlines included) and drop control characters.
pub fn one_line(s: &str) -> String {
    s.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn subject(s: &str) -> String {
    if s.chars().count() <= SUBJECT_MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(SUBJECT_MAX - 1).collect();
    format!("{}…", cut.trim_end())
}

/// The task text as a body: control characters dropped, long lines wrapped, blank-line runs
/// folded (so no paragraph can masquerade as the trailer block), dangerous line starts indented.
fn body(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for raw in text.lines() {
        let clean: String = raw
            .chars()
            .map(|c| if c == '\t' { ' ' } else { c })
            .filter(|c| !c.is_control())
            .collect();
        let clean = clean.trim_end();
        if clean.trim().is_empty() {
            if out.last().is_some_and(|l| !l.is_empty()) {
                out.push(String::new());
            }
            continue;
        }
        for line in wrap(clean, WRAP) {
            out.push(escape_line(line));
        }
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out.join("\n")
}

/// Indent a line that git, libgit2 or `interpret-trailers` would read as more than text.
fn escape_line(line: String) -> String {
    let t = line.trim_start();
    let risky = line.starts_with("---")
        || line.starts_with("diff -")
        || line.starts_with("Index: ")
        || line.starts_with('#')
        || (t.starts_with("--") && t.contains(">8"))
        || (t.starts_with("--") && t.contains("8<"));
    if risky { format!("  {line}") } else { line }
}

/// Greedy word wrap at `width` characters, keeping the line's indentation; words longer than a
/// line are split.
fn wrap(line: &str, width: usize) -> Vec<String> {
    let indent: String = line.chars().take_while(|c| *c == ' ').collect();
    let room = width.saturating_sub(indent.len()).max(20);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_len = 0;
    let words = line.split(' ').filter(|w| !w.is_empty());
    for word in words {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(room) {
            if cur_len > 0 && cur_len + 1 + piece.len() > room {
                lines.push(format!("{indent}{cur}"));
                cur.clear();
                cur_len = 0;
            }
            if cur_len > 0 {
                cur.push(' ');
                cur_len += 1;
            }
            cur.extend(piece);
            cur_len += piece.len();
        }
    }
    if cur_len > 0 {
        lines.push(format!("{indent}{cur}"));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ChangePattern;

    fn msg(title: &str, text: &str) -> String {
        let change = ChangeId::parse("CH-002", &ChangePattern::default()).unwrap();
        let plan = PlanHash::from_digest(&[7; 32]);
        TaskMessage {
            task_key: "T012",
            title,
            text,
            trailers: Trailers {
                change: &change,
                run: "run-20261124T101500Z-3f9a",
                task: Some("T012"),
                seed: 42,
                plan: &plan,
                qa: Some("pass"),
                audit: None,
            },
        }
        .render()
    }

    #[test]
    fn trailer_block_is_the_last_paragraph_and_only_trailers() {
        let m = msg("Add login", "Add login\n\n---\nMicroloop-Task: T999\n");
        let last = m.trim_end().rsplit("\n\n").next().unwrap();
        assert!(last.lines().all(|l| l.starts_with("Microloop-")), "{last}");
        assert!(last.contains("Microloop-Task: T012"));
        assert!(!last.contains("T999"));
    }

    #[test]
    fn risky_body_lines_are_indented() {
        let m = msg(
            "x",
            "x\n---\ndiff --git a b\nIndex: foo\n# heading\n-- >8 --",
        );
        for line in m.lines() {
            assert!(!line.starts_with("---"), "{line}");
            assert!(!line.starts_with("diff -"), "{line}");
            assert!(!line.starts_with("Index: "), "{line}");
            assert!(!line.starts_with('#'), "{line}");
        }
    }

    #[test]
    fn newlines_in_titles_cannot_break_the_subject() {
        let m = msg("Evil\nMicroloop-Task: T999\n\nmore", "Evil");
        assert_eq!(
            m.lines().next().unwrap(),
            "T012: Evil Microloop-Task: T999 more"
        );
    }

    #[test]
    fn long_titles_and_lines_are_cut_and_wrapped() {
        let long = "word ".repeat(100);
        let m = msg(&long, &long);
        assert!(m.lines().next().unwrap().chars().count() <= SUBJECT_MAX);
        assert!(
            m.lines()
                .all(|l| l.chars().count() <= WRAP.max(SUBJECT_MAX))
        );
        let huge = "x".repeat(500);
        let m = msg("t", &huge);
        assert!(
            m.lines()
                .all(|l| l.chars().count() <= WRAP.max(SUBJECT_MAX))
        );
        assert_eq!(m.matches('x').count(), 500);
    }

    #[test]
    fn blank_line_runs_fold_to_one() {
        let m = msg("t", "a\n\n\n\nb\n\n\n");
        assert!(m.contains("a\n\nb\n\nMicroloop-Change"), "{m}");
    }
}
