//! `git microloop install-hook`: put the pre-push hook where git looks for it.

use std::path::PathBuf;

use clap::Args;

use crate::cli::error::CliError;
use crate::cli::output::{Out, Stderr};
use crate::git::Repo;
use crate::hook::{
    Action, CHAINED_NAME, Installed, Mode, chain_slot_taken, hooks_dir, install_pre_push,
};

/// Install the pre-push hook that runs `git microloop checklist` on every push (honours
/// `core.hooksPath`). An existing pre-push hook is never overwritten silently.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop install-hook
  git microloop install-hook --chain     # keep your existing pre-push hook; it runs first
  git microloop install-hook --force     # replace it (the old one is kept as a backup)

Bypass the hook for one push with `git push --no-verify`.")]
pub struct InstallHookArgs {
    /// Keep an existing pre-push hook as `pre-push.before-microloop`; ours runs it first.
    #[arg(long, conflicts_with = "force")]
    pub chain: bool,
    /// Replace an existing pre-push hook, keeping it as `pre-push.replaced-by-microloop`.
    #[arg(long)]
    pub force: bool,
    /// Print what was done as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Install the pre-push hook in the folder git takes hooks from (returned with what was done);
/// `hint` says what to do when that fails.
pub(crate) fn install(
    repo: &Repo,
    mode: Mode,
    hint: &str,
) -> Result<(PathBuf, Installed), CliError> {
    let dir = hooks_dir(repo).map_err(|e| CliError::usage(e.to_string()))?;
    let done = install_pre_push(&dir, mode).map_err(|e| {
        CliError::usage("cannot install the pre-push hook")
            .cause(e.to_string())
            .hint(hint)
    })?;
    Ok((dir, done))
}

pub fn cmd_install_hook(args: &InstallHookArgs, _err: &Stderr) -> Result<(), CliError> {
    let repo = Repo::discover()?;
    let mode = match (args.chain, args.force) {
        (true, _) => Mode::Chain,
        (_, true) => Mode::Force,
        _ => Mode::Refuse,
    };
    let (dir, done) = install(
        &repo,
        mode,
        "check the permissions of the hooks folder (`git rev-parse --git-path hooks`)",
    )?;
    let mut out = Out::new();
    if args.json {
        out.json(&serde_json::json!({ "schema_version": 1, "hook": done }))?;
    }
    let path = done.path.display();
    let text = match done.action {
        Action::Installed => format!("installed the pre-push hook at {path}"),
        Action::Unchanged => format!("the pre-push hook at {path} is already installed"),
        Action::Updated => format!("updated the pre-push hook at {path}"),
        Action::Chained => format!(
            "installed the pre-push hook at {path}; your previous hook is now {} and runs first",
            moved(&done.moved_to)
        ),
        Action::Replaced => format!(
            "replaced the pre-push hook at {path}; your previous hook is kept as {}",
            moved(&done.moved_to)
        ),
        Action::Refused => {
            out.flush()?;
            let mut e = CliError::not_ok(format!(
                "{path} is someone else's pre-push hook; left it as it is"
            ));
            if chain_slot_taken(&dir) {
                e = e.cause(format!(
                    "{} already holds a chained hook, so --chain cannot keep this one too",
                    dir.join(CHAINED_NAME).display()
                ));
            } else {
                e = e.hint("keep it and run it before ours: git microloop install-hook --chain");
            }
            return Err(e.hint(
                "replace it (it is kept as pre-push.replaced-by-microloop): \
                 git microloop install-hook --force",
            ));
        }
    };
    if !args.json {
        out.line(&text)?;
    }
    out.flush()?;
    Ok(())
}

fn moved(p: &Option<std::path::PathBuf>) -> String {
    p.as_deref()
        .map_or_else(String::new, |p| p.display().to_string())
}
