//! The scaffolding plan of `git microloop init`: which layout the repository has, what each
//! file should contain, and — given what is already there — what to do with it. Pure: the
//! command reads the existing files, asks `plan`, and writes what it says.
//!
//! The rule that makes re-running safe: a file that exists is never rewritten. Identical to the
//! scaffold, it is reported as already present; different, it is the user's and left alone.
//! The one exception is `.gitignore`, to which missing entries are appended (nothing in it is
//! changed or removed).

use serde::Serialize;

use crate::config::{Config, ConfigError, Paths, parse_config};
use crate::evidence::sections::new_file;
use crate::ids::{ChangeId, ChangePattern};

/// The commented config written by `init` (the defaults, with examples).
pub const CONFIG_TEMPLATE: &str = include_str!("../../templates/microloop.toml");
const TASKS_TEMPLATE: &str = include_str!("../../templates/tasks.md");
const IMPACT_TEMPLATE: &str = include_str!("../../templates/impact.md");
const PLAN_TEMPLATE: &str = include_str!("../../templates/IMPLEMENTATION_PLAN.md");

/// The change-id pattern of a spec-kit feature folder (`001-user-auth`): three or more digits,
/// a dash, a lowercase slug — what spec-kit's `create-new-feature` script makes.
pub const SPEC_KIT_PATTERN: &str = "[0-9]{3,}-[a-z0-9][a-z0-9-]*";

/// The change used when a repository with the default layout has none yet.
pub const FIRST_CHANGE: &str = "CH-001";

/// How the repository organizes its changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// `changes/CH-001/tasks.md`.
    Default,
    /// spec-kit's `specs/001-slug/tasks.md` (with `.specify/`).
    SpecKit,
}

/// spec-kit is there when `.specify/` exists or `specs/` holds a `NNN-slug` folder.
pub fn detect_layout(has_specify_dir: bool, specs_folders: &[String]) -> Layout {
    let feature =
        ChangePattern::new(SPEC_KIT_PATTERN).expect("the spec-kit pattern is a valid regex");
    if has_specify_dir || specs_folders.iter().any(|f| feature.matches_whole(f)) {
        Layout::SpecKit
    } else {
        Layout::Default
    }
}

/// The `.microloop.toml` to write for `layout`: the shipped template, with the change pattern
/// and the change paths of a spec-kit repository when that is the layout.
pub fn config_text(layout: Layout) -> String {
    match layout {
        Layout::Default => CONFIG_TEMPLATE.to_string(),
        Layout::SpecKit => {
            let pattern = format!(
                "# spec-kit layout (found by `git microloop init`): one folder per feature,\n\
                 # specs/NNN-slug/, named like its branch.\n\
                 pattern = \"{SPEC_KIT_PATTERN}\""
            );
            let replace = [
                ("pattern = \"CH-[0-9]+\"", pattern.as_str()),
                ("changes = \"changes\"", "changes = \"specs\""),
                (
                    "tasks = \"changes/{change}/tasks.md\"",
                    "tasks = \"specs/{change}/tasks.md\"",
                ),
                (
                    "impact = \"changes/{change}/impact.md\"",
                    "impact = \"specs/{change}/impact.md\"",
                ),
            ];
            CONFIG_TEMPLATE
                .lines()
                .map(|line| {
                    replace
                        .iter()
                        .find(|(from, _)| line == *from)
                        .map_or(line, |(_, to)| to)
                })
                .collect::<Vec<_>>()
                .join("\n")
                + "\n"
        }
    }
}

/// The configuration `config_text(layout)` means.
pub fn layout_config(layout: Layout) -> Result<Config, ConfigError> {
    parse_config(&config_text(layout), crate::config::CONFIG_FILE)
}

/// What happened (or will happen) to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// It did not exist and was written.
    Created,
    /// It exists with exactly the scaffold's content.
    AlreadyPresent,
    /// It exists with other content: the user's, kept as it is.
    LeftAlone,
    /// Entries were appended (`.gitignore` only).
    Updated,
}

/// One file of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Relative to the worktree root, `/`-separated.
    pub path: String,
    pub action: Action,
    /// Why, or what was added, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The bytes to write (for `Created` and `Updated`).
    #[serde(skip)]
    pub write: Option<String>,
}

/// A file `init` wants and what it should hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub path: String,
    pub content: String,
    /// Said when the file is created.
    pub note: Option<String>,
}

/// The files to scaffold, in the order they are reported; `paths` are the effective paths (of
/// the existing config or the new one).
pub fn targets(
    layout: Layout,
    paths: &Paths,
    change: Option<&ChangeId>,
    wrappers: bool,
) -> Vec<Target> {
    let mut out = vec![Target {
        path: crate::config::CONFIG_FILE.to_string(),
        content: config_text(layout),
        note: Some(match layout {
            Layout::Default => "tasks in changes/{change}/tasks.md".to_string(),
            Layout::SpecKit => "spec-kit layout: tasks in specs/{change}/tasks.md".to_string(),
        }),
    }];
    if let Some(ch) = change {
        out.push(Target {
            path: paths.tasks.for_change(ch),
            content: new_file(TASKS_TEMPLATE, ch.as_str()),
            note: Some("a starter task list: replace the example tasks".into()),
        });
        out.push(Target {
            path: paths.impact.for_change(ch),
            content: new_file(IMPACT_TEMPLATE, ch.as_str()),
            note: None,
        });
        out.push(Target {
            path: paths.implementation_plan.for_change(ch),
            content: PLAN_TEMPLATE.to_string(),
            note: None,
        });
    }
    if wrappers {
        for w in crate::implementers::WRAPPERS {
            out.push(Target {
                path: format!("{}/{}.sh", crate::implementers::WRAPPER_DIR, w.name),
                content: w.script.to_string(),
                note: Some(format!("--implementer {}: {}", w.name, w.about)),
            });
        }
    }
    out
}

/// Decide for one file, given its current bytes (`None`: it does not exist).
pub fn decide(target: &Target, existing: Option<&[u8]>) -> Step {
    let (action, note, write) = match existing {
        None => (
            Action::Created,
            target.note.clone(),
            Some(target.content.clone()),
        ),
        Some(bytes) if bytes == target.content.as_bytes() => (Action::AlreadyPresent, None, None),
        Some(_) => (
            Action::LeftAlone,
            Some("exists with other content; yours is kept".to_string()),
            None,
        ),
    };
    Step {
        path: target.path.clone(),
        action,
        note,
        write,
    }
}

/// The `.gitignore` lines for git-microloop's local run data (artifacts, planner configs,
/// audit logs): the fixed folder each configured path lives in (`/artifacts/work/`,
/// `/audit/`), or the file itself when it sits at the root. Sorted, without duplicates.
pub fn gitignore_entries(paths: &Paths) -> Vec<String> {
    let mut out: Vec<String> = [
        (&paths.artifacts, true),
        (&paths.planner_config, false),
        (&paths.implementer_audit, false),
        (&paths.retention_audit, false),
    ]
    .iter()
    .map(|(template, is_dir)| {
        let parts: Vec<&str> = template
            .as_str()
            .split('/')
            .filter(|p| !p.is_empty())
            .collect();
        // The folders before the first one that depends on the change; a file's own name
        // never counts as a folder.
        let fixed: Vec<&str> = parts
            .iter()
            .take(if *is_dir {
                parts.len()
            } else {
                parts.len().saturating_sub(1)
            })
            .take_while(|p| !p.contains("{change}"))
            .copied()
            .collect();
        if fixed.is_empty() {
            let first = parts
                .first()
                .copied()
                .unwrap_or_default()
                .replace("{change}", "*");
            if parts.len() > 1 || *is_dir {
                format!("/{first}/")
            } else {
                format!("/{first}")
            }
        } else {
            format!("/{}/", fixed.join("/"))
        }
    })
    .collect();
    out.sort();
    out.dedup();
    // A folder inside another one on the list is covered by it.
    let all = out.clone();
    out.retain(|e| {
        !all.iter()
            .any(|o| o != e && o.ends_with('/') && e.starts_with(o.as_str()))
    });
    out
}

/// The entries `existing` (a `.gitignore`'s text) does not already cover: the same line, with
/// or without the leading or trailing `/`, or a line naming a folder the entry is inside.
pub fn gitignore_missing(existing: &str, entries: &[String]) -> Vec<String> {
    let norm = |s: &str| {
        let t = s.trim().trim_start_matches('/').trim_end_matches('/');
        format!("{t}/")
    };
    let lines: Vec<String> = existing
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with('!'))
        .map(norm)
        .collect();
    entries
        .iter()
        .filter(|e| {
            let e = norm(e);
            !lines.iter().any(|l| e.starts_with(l.as_str()))
        })
        .cloned()
        .collect()
}

const GITIGNORE_HEADER: &str =
    "# git-microloop: local run data (artifacts, planner configs, audit logs)";

/// The `.gitignore` step: created with our block, or our missing entries appended.
pub fn gitignore_step(existing: Option<&[u8]>, entries: &[String]) -> Step {
    let path = ".gitignore".to_string();
    let text = existing.map(|b| String::from_utf8_lossy(b).into_owned());
    let missing = gitignore_missing(text.as_deref().unwrap_or(""), entries);
    let block = format!("{GITIGNORE_HEADER}\n{}\n", missing.join("\n"));
    match text {
        None => Step {
            path,
            action: Action::Created,
            note: Some(format!("ignores {}", missing.join(", "))),
            write: Some(block),
        },
        Some(_) if missing.is_empty() => Step {
            path,
            action: Action::AlreadyPresent,
            note: None,
            write: None,
        },
        Some(t) => {
            let sep = match (t.is_empty(), t.ends_with('\n')) {
                (true, _) => "",
                (false, true) => "\n",
                (false, false) => "\n\n",
            };
            Step {
                path,
                action: Action::Updated,
                note: Some(format!("added {}", missing.join(", "))),
                write: Some(format!("{t}{sep}{block}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{CONFIG_FILE, PathTemplate};
    use crate::ids::ChangePattern;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn detects_spec_kit_by_its_folder_or_its_feature_folders() {
        assert_eq!(detect_layout(false, &[]), Layout::Default);
        assert_eq!(detect_layout(true, &[]), Layout::SpecKit);
        assert_eq!(
            detect_layout(false, &names(&["001-user-auth"])),
            Layout::SpecKit
        );
        assert_eq!(
            detect_layout(false, &names(&["notes", "v2"])),
            Layout::Default
        );
    }

    #[test]
    fn spec_kit_config_points_at_specs_and_accepts_feature_ids() {
        let c = layout_config(Layout::SpecKit).unwrap();
        assert_eq!(c.paths.tasks.as_str(), "specs/{change}/tasks.md");
        assert_eq!(c.paths.impact.as_str(), "specs/{change}/impact.md");
        assert_eq!(c.paths.changes.as_str(), "specs");
        let p = &c.change.pattern;
        assert!(p.matches_whole("001-foo"));
        assert!(p.matches_whole("1234-user-auth-2"));
        assert!(!p.matches_whole("CH-001"));
        assert_eq!(p.find_in("001-foo"), Some("001-foo"));
        assert_eq!(p.find_in("feature/002-bar-baz"), Some("002-bar-baz"));
        // The local data stays where it always is.
        assert_eq!(c.paths.artifacts.as_str(), "artifacts/work/{change}");
        // Every line we replace exists in the template exactly once.
        for line in [
            "pattern = \"CH-[0-9]+\"",
            "changes = \"changes\"",
            "tasks = \"changes/{change}/tasks.md\"",
            "impact = \"changes/{change}/impact.md\"",
        ] {
            assert_eq!(
                CONFIG_TEMPLATE.lines().filter(|l| *l == line).count(),
                1,
                "{line}"
            );
        }
        let d = layout_config(Layout::Default).unwrap();
        assert_eq!(d.paths.tasks.as_str(), "changes/{change}/tasks.md");
        assert_eq!(config_text(Layout::Default), CONFIG_TEMPLATE);
    }

    #[test]
    fn starter_tasks_plan_cleanly_in_the_current_format() {
        let ch =
            ChangeId::parse("001-foo", &ChangePattern::new(SPEC_KIT_PATTERN).unwrap()).unwrap();
        let t = targets(
            Layout::SpecKit,
            &layout_config(Layout::SpecKit).unwrap().paths,
            Some(&ch),
            false,
        );
        let tasks = t
            .iter()
            .find(|t| t.path == "specs/001-foo/tasks.md")
            .unwrap();
        let list = crate::tasks::parse(&tasks.content, "tasks.md");
        assert!(list.diagnostics.is_empty(), "{:?}", list.diagnostics);
        let ids: Vec<&str> = list.tasks.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["T001", "T002", "T003"]);
        assert!(list.tasks[2].parallel);
        assert_eq!(list.tasks[1].story.as_deref(), Some("US1"));
        assert_eq!(list.tasks[1].depends_on, ["T001"]);
        assert!(tasks.content.contains("# Tasks: 001-foo"));
        let paths: Vec<&str> = t.iter().map(|t| t.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                CONFIG_FILE,
                "specs/001-foo/tasks.md",
                "specs/001-foo/impact.md",
                "docs/IMPLEMENTATION_PLAN.md"
            ]
        );
    }

    #[test]
    fn an_existing_file_is_never_rewritten() {
        let t = Target {
            path: "x".into(),
            content: "ours\n".into(),
            note: None,
        };
        assert_eq!(decide(&t, None).action, Action::Created);
        assert_eq!(decide(&t, None).write.as_deref(), Some("ours\n"));
        let same = decide(&t, Some(b"ours\n"));
        assert_eq!((same.action, same.write), (Action::AlreadyPresent, None));
        let theirs = decide(&t, Some(b"theirs\n"));
        assert_eq!((theirs.action, theirs.write), (Action::LeftAlone, None));
        // Not even a line-ending difference counts as ours.
        assert_eq!(decide(&t, Some(b"ours\r\n")).action, Action::LeftAlone);
    }

    #[test]
    fn gitignore_entries_follow_the_configured_paths() {
        let d = Paths::default();
        assert_eq!(
            gitignore_entries(&d),
            names(&["/artifacts/work/", "/audit/"])
        );
        let t = |s: &str| PathTemplate::parse(s).unwrap();
        let mut p = Paths {
            artifacts: t("runs/{change}"),
            planner_config: t("runs/{change}/planner.json"),
            implementer_audit: t("implementer.jsonl"),
            retention_audit: t("logs/audit/retention.jsonl"),
            ..Paths::default()
        };
        assert_eq!(
            gitignore_entries(&p),
            names(&["/implementer.jsonl", "/logs/audit/", "/runs/"])
        );
        p.artifacts = t("{change}-runs");
        assert!(gitignore_entries(&p).contains(&"/*-runs/".to_string()));
    }

    #[test]
    fn gitignore_gets_only_what_it_lacks_and_keeps_everything_else() {
        let entries = names(&["/artifacts/work/", "/audit/"]);
        let created = gitignore_step(None, &entries);
        assert_eq!(created.action, Action::Created);
        assert_eq!(
            created.write.as_deref(),
            Some(format!("{GITIGNORE_HEADER}\n/artifacts/work/\n/audit/\n").as_str())
        );
        // `artifacts/` covers `/artifacts/work/`; `audit` (no slashes) covers `/audit/`.
        let covered = gitignore_step(Some(b"target\nartifacts/\naudit\n"), &entries);
        assert_eq!(covered.action, Action::AlreadyPresent);
        let partial = gitignore_step(Some(b"target\n/audit/"), &entries);
        assert_eq!(partial.action, Action::Updated);
        assert_eq!(
            partial.write.as_deref(),
            Some(format!("target\n/audit/\n\n{GITIGNORE_HEADER}\n/artifacts/work/\n").as_str())
        );
        // Comments and negations cover nothing.
        let comments = gitignore_missing("# /audit/\n!/artifacts/\n", &entries);
        assert_eq!(comments, entries);
        // Idempotent: what we append is enough the next time.
        let again = gitignore_step(partial.write.as_deref().map(str::as_bytes), &entries);
        assert_eq!(again.action, Action::AlreadyPresent);
    }
}
