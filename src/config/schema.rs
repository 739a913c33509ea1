//! The `.microloop.toml` schema. Every value is validated while it is deserialized, so the TOML
//! reader can point at the exact line of a bad value; unknown keys are refused everywhere
//! (a typo must never silently fall back to a default).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::duration::Span;
use crate::ids::{ChangeId, ChangePattern, Seed};
use crate::plan::Strategy;

/// The whole project configuration. Missing sections take their defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub change: ChangeSection,
    pub paths: Paths,
    pub planner: PlannerSection,
    pub executor: Executor,
    /// `[[qa]]` entries, run in order after each task.
    pub qa: Vec<QaCommand>,
    /// `None` (no `[retention]` section) means: keep everything.
    pub retention: Option<Retention>,
    pub notify: Option<Notify>,
    /// `[implementers.<name>]`: named implementer presets for `run --implementer <name>`
    /// (they replace a built-in preset of the same name).
    pub implementers: BTreeMap<PresetName, Preset>,
    /// Where the settings the YAML configs can also hold came from (filled in by `load`).
    #[serde(skip)]
    pub origins: super::load::Origins,
}

/// A named implementer preset: `[implementers.claude] command = ["sh", "my-claude.sh"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The implementer's argument vector (relative programs are found from the run worktree;
    /// see the README's "Implementers" section).
    pub command: Argv,
}

/// A preset name: a lowercase letter, then lowercase letters, digits, `-` or `_` (at most 32),
/// so it can never be mistaken for a path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct PresetName(String);

impl PresetName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = s.len() <= 32
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(PresetName(s.to_string()))
        } else {
            Err(format!(
                "implementer preset name {s:?} must be a lowercase letter then lowercase \
                 letters, digits, `-` or `_` (e.g. \"claude\")"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PresetName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PresetName::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangeSection {
    /// Regular expression a change id must match (whole); searched for in branch names.
    pub pattern: ChangePattern,
    /// The branch changes start from; used by the fallback planner to find what a change
    /// touched. Empty: the first of `main`, `master`, `trunk` that exists.
    pub base: Option<String>,
}

/// Where things live, relative to the repository root. `{change}` is replaced by the change id.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Paths {
    /// Folder holding one sub-folder per change (for "the only change folder" resolution).
    pub changes: PathTemplate,
    pub tasks: PathTemplate,
    pub impact: PathTemplate,
    pub implementation_plan: PathTemplate,
    pub planner_config: PathTemplate,
    /// Per-change artifacts folder; each run gets `<artifacts>/<RUN>/`.
    pub artifacts: PathTemplate,
    pub implementer_audit: PathTemplate,
    pub retention_audit: PathTemplate,
}

impl Default for Paths {
    fn default() -> Self {
        let t = |s: &str| PathTemplate(s.to_string());
        Paths {
            changes: t("changes"),
            tasks: t("changes/{change}/tasks.md"),
            impact: t("changes/{change}/impact.md"),
            implementation_plan: t("docs/IMPLEMENTATION_PLAN.md"),
            planner_config: t("artifacts/work/{change}/planner_config.json"),
            artifacts: t("artifacts/work/{change}"),
            implementer_audit: t("audit/implementer_runs.jsonl"),
            retention_audit: t("audit/retention.jsonl"),
        }
    }
}

/// A relative path with an optional `{change}` placeholder. Validated: relative, no `..`, no
/// other placeholders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct PathTemplate(String);

impl PathTemplate {
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("path is empty".into());
        }
        if s.starts_with('/') || s.starts_with('\\') || s.get(1..3) == Some(":\\") {
            return Err(format!(
                "path `{s}` is absolute; paths are relative to the repository root"
            ));
        }
        if s.split(['/', '\\']).any(|c| c == "..") {
            return Err(format!(
                "path `{s}` contains `..`; it must stay inside the repository"
            ));
        }
        let without = s.replace("{change}", "");
        if without.contains('{') || without.contains('}') {
            return Err(format!(
                "path `{s}` has an unknown placeholder; only `{{change}}` is replaced"
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(format!("path {s:?} contains a control character"));
        }
        Ok(PathTemplate(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path for one change (`/`-separated, relative to the repository root).
    pub fn for_change(&self, change: &ChangeId) -> String {
        self.0.replace("{change}", change.as_str())
    }
}

impl<'de> Deserialize<'de> for PathTemplate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        PathTemplate::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannerSection {
    pub seed: Option<Seed>,
    pub strategy: Option<Strategy>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Executor {
    /// The implementer's argument vector. Never run through a shell.
    pub command: Option<Argv>,
    /// Attempts per task before the run stops as failed (1..=10).
    pub max_attempts: Attempts,
    /// Longest an implementer may run for one attempt.
    pub timeout: Span,
}

impl Default for Executor {
    fn default() -> Self {
        Executor {
            command: None,
            max_attempts: Attempts(2),
            timeout: Span(std::time::Duration::from_secs(3600)),
        }
    }
}

/// One `[[qa]]` command.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QaCommand {
    pub name: String,
    pub command: Argv,
    #[serde(default = "default_qa_timeout")]
    pub timeout: Span,
    /// A failing required command fails the task; an optional one is only reported.
    #[serde(default = "yes")]
    pub required: bool,
}

fn default_qa_timeout() -> Span {
    Span(std::time::Duration::from_secs(600))
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// How long a succeeded, fully approved run is kept after its last approval.
    pub success_ttl: Span,
    /// When a failed or pending run gets a review scheduled.
    pub failed_review_after: Span,
    /// Roles whose approval a run needs before it may be purged.
    pub required_approvals: Vec<Role>,
    /// Roles allowed to close a failed or aborted run (`approve --decision close`).
    pub finalizers: Vec<Role>,
    /// Purge-eligible runs kept per change, newest first.
    pub keep_last: u32,
    /// Keep `summary.json` (and the audit trail) when a run's artifacts are purged.
    pub keep_summary: bool,
}

impl Default for Retention {
    fn default() -> Self {
        let days = |d: u64| Span(std::time::Duration::from_secs(d * 86400));
        Retention {
            success_ttl: days(7),
            failed_review_after: days(14),
            required_approvals: vec![Role::new("PM"), Role::new("QA"), Role::new("GO")],
            finalizers: vec![Role::new("GO"), Role::new("HR")],
            keep_last: 1,
            keep_summary: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notify {
    pub command: Argv,
    #[serde(default = "default_roles")]
    pub roles: Vec<Role>,
    #[serde(default = "default_notify_timeout")]
    pub timeout: Span,
}

fn default_roles() -> Vec<Role> {
    vec![Role::new("PM"), Role::new("QA"), Role::new("GO")]
}

fn default_notify_timeout() -> Span {
    Span(std::time::Duration::from_secs(30))
}

/// A role name such as `PM`: letters, digits, `-` and `_`, 1..=32 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Role(String);

impl Role {
    fn new(s: &str) -> Self {
        Role(s.to_string())
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Role(s.to_string()))
        } else {
            Err(format!(
                "role {s:?} must be 1-32 letters, digits, `-` or `_` (e.g. \"PM\")"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Role {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Role::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A command as an argument vector: at least the program, none of it empty or holding NUL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Argv(Vec<String>);

impl Argv {
    pub fn parse(v: Vec<String>) -> Result<Self, String> {
        match v.first() {
            None => Err("command is empty; write it as a list: [\"program\", \"arg\"]".into()),
            Some(p) if p.trim().is_empty() => Err("command's program is empty".into()),
            _ if v.iter().any(|a| a.contains('\0')) => {
                Err("command contains a NUL character".into())
            }
            _ => Ok(Argv(v)),
        }
    }

    pub fn program(&self) -> &str {
        &self.0[0]
    }

    pub fn args(&self) -> &[String] {
        &self.0[1..]
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Argv {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            List(Vec<String>),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::List(v) => Argv::parse(v).map_err(serde::de::Error::custom),
            // A string would have to be split by a shell; we never do that.
            Raw::Text(s) => Err(serde::de::Error::custom(format!(
                "command must be a list of arguments, not a string (we never run a shell): \
                 write [{}]",
                s.split_whitespace()
                    .map(|w| format!("{w:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// Attempts per task: 1..=10, so a retry loop is never unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Attempts(pub u32);

impl Attempts {
    pub fn parse(n: i64) -> Result<Self, String> {
        if (1..=10).contains(&n) {
            Ok(Attempts(n as u32))
        } else {
            Err(format!("max_attempts must be between 1 and 10, got {n}"))
        }
    }
}

impl<'de> Deserialize<'de> for Attempts {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Attempts::parse(i64::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}
