//! Diagnostics about input files: what was wrong, where (file:line) and how bad.
//!
//! Parsers and loaders never print; they return `Diagnostic`s and the CLI decides how to show
//! them. A diagnostic always names the file as the user would type it (a path relative to the
//! worktree root), never an absolute path, so plan output stays byte-identical across machines.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a diagnostic is. Errors stop a plan from being used; warnings are shown and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about an input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file, relative to the worktree root (or as given by the caller).
    pub file: String,
    /// 1-based line number; 0 means the file as a whole.
    pub line: u32,
    pub message: String,
    /// What the user can do about it, when there is something to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(file: &str, line: u32, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, file, line, message)
    }

    pub fn warning(file: &str, line: u32, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, file, line, message)
    }

    fn new(severity: Severity, file: &str, line: u32, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            file: file.to_string(),
            line,
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line` (or just `file` for whole-file findings).
    pub fn location(&self) -> String {
        if self.line == 0 {
            self.file.clone()
        } else {
            format!("{}:{}", self.file, self.line)
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {sev}: {}", self.location(), self.message)
    }
}

/// 1-based line number of a byte offset in `text`.
pub fn line_of_offset(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

/// 1-based line and column (in characters) of a parser's error at byte `offset` in `text`,
/// counting lines as the rest of the tool does (`\n`-separated). An offset past the last line
/// (the end of a text that ends in a newline) is placed at the end of the last line, so the
/// place always exists in the file.
pub fn place_of_offset(text: &str, offset: usize) -> (u32, u32) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    if end == text.len() && end > 0 && text.ends_with('\n') {
        end -= 1;
    }
    let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    let column = text[start..end].chars().count() + 1;
    (
        line_of_offset(text, end),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// `s` safe to print on a terminal: control characters a file may hold (escape sequences, a
/// carriage return that rewrites the line) are shown escaped (`\u{1b}`), newlines and tabs as
/// spaces.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_inside_the_text() {
        assert_eq!(place_of_offset("ab\ncd", 4), (2, 2));
        assert_eq!(
            place_of_offset("ab\n", 3),
            (1, 3),
            "end after the last newline"
        );
        assert_eq!(place_of_offset("", 0), (1, 1));
        assert_eq!(place_of_offset("é", 1), (1, 1), "inside a character");
        assert_eq!(place_of_offset("x", 99), (1, 2));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(printable("a\u{1b}[31m\rb\n\tc"), "a\\u{1b}[31m\\rb  c");
        assert_eq!(printable("ünïcode ✅"), "ünïcode ✅");
    }
}
