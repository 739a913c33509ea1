//! `git microloop init`: scaffold the configuration, a change folder, `.gitignore` entries and
//! the pre-push hook. The decisions are `crate::init`'s; this reads the existing files, writes
//! what the plan says, and reports every file, written or not.

use std::io;
use std::path::Path;

use clap::Args;
use serde::Serialize;

use super::install_hook::install;
use crate::change::resolve_change;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, Out, Stderr, paint};
use crate::config::{CONFIG_FILE, Config, load_config};
use crate::git::Repo;
use crate::hook::{Action as HookAction, Installed, Mode};
use crate::ids::ChangeId;
use crate::implementers::WRAPPER_DIR;
use crate::init::{
    Action, FIRST_CHANGE, Layout, Step, decide, detect_layout, gitignore_entries, gitignore_step,
    layout_config, targets,
};
use crate::run::state::sorted_dir_names;
use crate::store::write_atomic_mode;

/// Set up git-microloop in this repository: a commented .microloop.toml, a change folder with
/// a starter tasks.md and impact.md, .gitignore entries for local run data, and the pre-push
/// hook.
///
/// A spec-kit repository (a .specify/ folder, or specs/NNN-slug/ folders) is configured for its
/// own layout: tasks in specs/<feature>/tasks.md, change ids like 001-user-auth. Running init
/// again is safe: a file that exists is never rewritten (it is reported as already present, or
/// as left alone when its content is yours); .gitignore only gets the entries it lacks.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop init                      # CH-001 in changes/, or the spec-kit feature of this branch
  git microloop init --change 002-login   # scaffold this change (spec-kit ids in a spec-kit repo)
  git microloop init --no-hook --json")]
pub struct InitArgs {
    /// The change to scaffold (default: from the branch name, else the only change folder;
    /// else CH-001, or none in a spec-kit repository).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Do not install the pre-push hook.
    #[arg(long)]
    pub no_hook: bool,
    /// Also copy the implementer wrappers (claude, codex, aider, script) to
    /// .microloop/implementers/, to read and adapt; `run --implementer NAME` then uses them.
    #[arg(long)]
    pub wrappers: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// The `--json` report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    schema_version: u32,
    layout: Layout,
    change: Option<&'a ChangeId>,
    /// Why no change folder was scaffolded, when none was.
    #[serde(skip_serializing_if = "Option::is_none")]
    change_note: Option<String>,
    files: &'a [Step],
    /// `null` with --no-hook.
    hook: Option<&'a Installed>,
}

pub fn cmd_init(args: &InitArgs, err: &Stderr) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let root = repo.workdir().to_path_buf();
    let layout = detect_layout(
        root.join(".specify").is_dir(),
        &sorted_dir_names(&root.join("specs")),
    );
    let has_config = std::fs::symlink_metadata(root.join(CONFIG_FILE)).is_ok();
    // An existing config decides where things go; otherwise the one we are about to write.
    let config: Config = if has_config {
        load_config(&root)?
    } else {
        layout_config(layout)
            .map_err(|e| CliError::usage(format!("the built-in config template is invalid: {e}")))?
    };
    let (change, change_note) = pick_change(args, &repo, &root, &config, layout)?;

    let mut steps: Vec<Step> = Vec::new();
    for target in targets(layout, &config.paths, change.as_ref(), args.wrappers) {
        let path = root.join(&target.path);
        let step = if is_symlink(&path) {
            symlink_step(&target.path)
        } else {
            decide(&target, read_existing(&path)?.as_deref())
        };
        steps.push(step);
    }
    let gitignore = root.join(".gitignore");
    steps.push(if is_symlink(&gitignore) {
        symlink_step(".gitignore")
    } else {
        gitignore_step(
            read_existing(&gitignore)?.as_deref(),
            &gitignore_entries(&config.paths),
        )
    });
    for step in &steps {
        if let Some(content) = &step.write {
            let path = root.join(&step.path);
            let mode = step.path.starts_with(WRAPPER_DIR).then_some(0o755);
            write_atomic_mode(&path, content.as_bytes(), mode).map_err(|e| {
                CliError::usage(format!("cannot write {}", step.path))
                    .cause(e.to_string())
                    .hint("check the folder's permissions; files written so far are kept, and running init again finishes the rest")
            })?;
        }
    }

    let hook = if args.no_hook {
        None
    } else {
        let (_, done) = install(
            &repo,
            Mode::Refuse,
            "the files are in place; install the hook later with `git microloop install-hook`, or re-run with --no-hook",
        )?;
        Some(done)
    };

    let mut out = Out::new();
    if args.json {
        out.json(&Report {
            schema_version: 1,
            layout,
            change: change.as_ref(),
            change_note: change_note.clone(),
            files: &steps,
            hook: hook.as_ref(),
        })?;
    } else {
        let head = repo.head()?;
        print_human(
            &mut out,
            layout,
            change.as_ref(),
            &steps,
            hook.as_ref(),
            &root,
            head.branch_name(),
        )?;
    }
    out.flush()?;
    if let Some(note) = change_note {
        err.note(&note);
    }
    if hook
        .as_ref()
        .is_some_and(|h| h.action == HookAction::Refused)
    {
        err.warn(
            "a pre-push hook that is not git-microloop's is installed; it was left alone. \
             Keep it and add ours with `git microloop install-hook --chain`",
        );
    }
    Ok(())
}

/// The change to scaffold: `--change` (must match the pattern), else the one the branch or the
/// only change folder names, else CH-001 in a repository with no change yet (default layout).
fn pick_change(
    args: &InitArgs,
    repo: &Repo,
    root: &Path,
    config: &Config,
    layout: Layout,
) -> Result<(Option<ChangeId>, Option<String>), CliError> {
    let pattern = &config.change.pattern;
    if let Some(raw) = &args.change {
        return ChangeId::parse(raw, pattern)
            .map(|c| (Some(c), None))
            .map_err(|e| {
                CliError::usage(format!("invalid change id: {e}")).hint(match layout {
                    Layout::SpecKit => {
                        "a spec-kit change is a feature folder name such as 001-user-auth"
                    }
                    Layout::Default => {
                        "a change id looks like CH-001 (see `[change] pattern` in .microloop.toml)"
                    }
                })
            });
    }
    let head = repo.head()?;
    let folders = sorted_dir_names(&root.join(config.paths.changes.as_str()));
    match resolve_change(None, head.branch_name(), &folders, pattern) {
        Ok(c) => Ok((Some(c), None)),
        Err(e) => {
            let any_change = folders.iter().any(|f| pattern.matches_whole(f));
            match ChangeId::parse(FIRST_CHANGE, pattern) {
                Ok(first) if layout == Layout::Default && !any_change => Ok((Some(first), None)),
                _ => Ok((
                    None,
                    Some(format!(
                        "no change folder scaffolded: {e}; pass --change {}",
                        match layout {
                            Layout::SpecKit => "NNN-slug (e.g. 001-user-auth)",
                            Layout::Default => "CH-###",
                        }
                    )),
                )),
            }
        }
    }
}

fn print_human(
    out: &mut Out,
    layout: Layout,
    change: Option<&ChangeId>,
    steps: &[Step],
    hook: Option<&Installed>,
    root: &Path,
    branch: Option<&str>,
) -> io::Result<()> {
    let what = match layout {
        Layout::Default => "default layout",
        Layout::SpecKit => "spec-kit layout",
    };
    let ch = change.map_or(String::new(), |c| format!(", change {c}"));
    out.line(&paint(BOLD, &format!("git microloop init ({what}{ch})")))?;
    for s in steps {
        let verb = match s.action {
            Action::Created => "created",
            Action::AlreadyPresent => "already present",
            Action::LeftAlone => "left alone",
            Action::Updated => "updated",
        };
        let note = s
            .note
            .as_ref()
            .map_or(String::new(), |n| paint(DIM, &format!("  ({n})")));
        out.line(&format!("  {verb:<16}{}{note}", s.path))?;
    }
    if let Some(h) = hook {
        let shown = h
            .path
            .strip_prefix(root)
            .unwrap_or(&h.path)
            .display()
            .to_string();
        let verb = match h.action {
            HookAction::Installed => "installed",
            HookAction::Unchanged => "already present",
            HookAction::Updated => "updated",
            HookAction::Refused => "left alone",
            HookAction::Chained | HookAction::Replaced => "installed",
        };
        let note = if h.action == HookAction::Refused {
            paint(DIM, "  (someone else's hook; see below)")
        } else {
            String::new()
        };
        out.line(&format!("  {verb:<16}pre-push hook {shown}{note}"))?;
    }
    let created: Vec<&str> = steps
        .iter()
        .filter(|s| matches!(s.action, Action::Created | Action::Updated))
        .map(|s| s.path.as_str())
        .collect();
    out.line("Next:")?;
    // A change branch first (its name holds the id), so the scaffold is committed on it.
    if let Some(c) = change
        && !branch.is_some_and(|b| b.contains(c.as_str()))
    {
        let name = match layout {
            Layout::Default => format!("change/{c}"),
            Layout::SpecKit => c.to_string(),
        };
        out.line(&format!("  git switch -c {name}"))?;
    }
    if !created.is_empty() {
        out.line(&format!(
            "  git add {} && git commit -m \"Set up git-microloop\"",
            created.join(" ")
        ))?;
    }
    if let Some(c) = change {
        out.line(&format!("  git microloop plan --change {c}"))?;
        out.line(&format!(
            "  git microloop run --change {c} --implementer claude   # or codex, aider, script; --manual"
        ))?;
    }
    Ok(())
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// A symbolic link is never written through (it may point anywhere).
fn symlink_step(path: &str) -> Step {
    Step {
        path: path.to_string(),
        action: Action::LeftAlone,
        note: Some("is a symbolic link; not followed".into()),
        write: None,
    }
}

fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, CliError> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::usage(format!("cannot read {}", path.display()))
            .cause(e.to_string())
            .hint("check the file's permissions")),
    }
}
