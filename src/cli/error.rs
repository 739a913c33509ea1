//! One place that turns library errors into what the user sees — `error:` / `caused by:` /
//! `hint:` lines — and into an exit code (DESIGN.md: 0 ok, 1 the checked thing is not OK,
//! 2 bad usage or input).

use std::fmt::Write as _;

use crate::change::ResolveError;
use crate::config::ConfigError;
use crate::diag::Diagnostic;
use crate::git::GitError;

/// Exit codes with meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The checked thing is not OK (failed run, failing checklist, refused push).
    NotOk = 1,
    /// Bad usage, bad input, or an environment we cannot work in.
    Usage = 2,
}

#[derive(Debug)]
pub struct CliError {
    pub exit: Exit,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
    /// Diagnostics to print before the message (file:line findings).
    pub diagnostics: Vec<Diagnostic>,
    /// stdout went away (`| head`): end quietly with success.
    pub broken_pipe: bool,
}

impl CliError {
    pub fn usage(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::Usage,
            message: message.into(),
            causes: vec![],
            hints: vec![],
            diagnostics: vec![],
            broken_pipe: false,
        }
    }

    pub fn not_ok(message: impl Into<String>) -> Self {
        CliError {
            exit: Exit::NotOk,
            ..CliError::usage(message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    pub fn with_diagnostics(mut self, d: Vec<Diagnostic>) -> Self {
        self.diagnostics = d;
        self
    }

    /// The text for stderr (without colour; the caller styles the prefixes).
    pub fn render(&self) -> String {
        let mut s = String::new();
        for d in &self.diagnostics {
            let _ = writeln!(s, "{d}");
            if let Some(h) = &d.hint {
                let _ = writeln!(s, "  hint: {h}");
            }
        }
        let _ = writeln!(s, "error: {}", self.message);
        for c in &self.causes {
            let _ = writeln!(s, "caused by: {c}");
        }
        for h in &self.hints {
            let _ = writeln!(s, "hint: {h}");
        }
        s
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError {
                broken_pipe: true,
                ..CliError::usage("output closed")
            }
        } else {
            CliError::usage(format!("I/O error: {e}"))
        }
    }
}

impl From<ConfigError> for CliError {
    fn from(e: ConfigError) -> Self {
        let hint = match &e {
            ConfigError::Invalid { file, .. } | ConfigError::Yaml { file, .. } => {
                format!("fix {file} (the README's configuration reference lists every key)")
            }
            ConfigError::Io { .. } => "check the file's permissions".to_string(),
            ConfigError::Env { var, .. } => format!("unset {var} or give it a valid value"),
        };
        CliError::usage(format!("invalid configuration: {e}")).hint(hint)
    }
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> Self {
        let err = CliError::usage(e.to_string());
        match e {
            GitError::NotARepo(_) => err.hint("run this inside a git repository (or `git init`)"),
            GitError::Bare(_) => {
                err.hint("run it in a clone with a working tree, or in a linked worktree")
            }
            GitError::NoMergeBase { shallow: true, .. } => err
                .hint("fetch the whole history (git fetch --unshallow), then run the command again")
                .hint(
                    "or commit the change's tasks.md: without one the plan is one task per file \
                     the branch changed, which needs that history",
                ),
            GitError::NoMergeBase { shallow: false, .. } => err.hint(
                "set `[change] base` to the branch the change started from, or commit the \
                 change's tasks.md",
            ),
            _ => err,
        }
    }
}

impl From<ResolveError> for CliError {
    fn from(e: ResolveError) -> Self {
        let err = CliError::usage(e.to_string());
        match e {
            ResolveError::Invalid(_) => {
                err.hint("a change id is a folder name such as CH-002 (see `[change] pattern`)")
            }
            ResolveError::Ambiguous(_) => {
                err.hint("pass --change CH-###, or work on a branch whose name holds the change id")
            }
        }
    }
}
