//! The data a parsed `tasks.md` turns into. Pure data: no I/O, no git.

use serde::{Deserialize, Serialize};

use crate::diag::Diagnostic;

/// Whether a task still has to be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// `[ ]`, or no checkbox and no done marker.
    Open,
    /// `[x]`, `[X]`, a ✅ marker or a trailing "completed"/"COMPLETE".
    Done,
    /// `[~]`: superseded or skipped; never executed.
    Skipped,
}

/// One task of a task list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Distinct identity within the file. Equal to `id`, except for the second and later
    /// occurrences of a duplicated id, which get `<id>#2`, `<id>#3`, … in file order.
    pub key: String,
    /// The id as written, without markup (`T001`, `T003a`, `T1.18`, `A001`).
    pub id: String,
    /// One line: the task's own words with checkbox, id, `[P]`, story label, markup and the
    /// trailing dependency group removed. Never empty (falls back to the id).
    pub title: String,
    /// The whole description: title line plus continuation lines and field sub-bullets,
    /// newline-separated, each line trimmed of trailing whitespace, CRLF normalized.
    pub text: String,
    pub status: Status,
    /// `[P]`: may run in parallel with its neighbours.
    pub parallel: bool,
    /// Story label such as `US1`, without brackets.
    pub story: Option<String>,
    /// Heading path above the task, outermost first, markup stripped (e.g.
    /// `["Tasks: Login", "Phase 3: User Story 1 - Sign in (Priority: P1)"]`).
    pub phase: Vec<String>,
    /// File paths named in the text (backticked paths and path-like words), in order of first
    /// appearance, without duplicates.
    pub files: Vec<String>,
    /// Keys of the tasks this task must come after, resolved (ranges expanded, duplicates of a
    /// referenced id included), sorted by file order, without duplicates or itself.
    pub depends_on: Vec<String>,
    /// 1-based line of the task line, and of its last continuation line.
    pub line_start: u32,
    pub line_end: u32,
}

/// The result of parsing one file: the tasks in file order plus everything worth telling.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaskList {
    pub tasks: Vec<Task>,
    pub diagnostics: Vec<Diagnostic>,
}

impl TaskList {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}
