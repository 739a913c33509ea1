//! `git microloop continue | skip | abort`: the sequencer's controls, like `git rebase`'s.

use clap::Args;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::Stderr;
use crate::cli::progress::drive;
use crate::run::{abort, resume, skip};

/// Options shared by continue, skip and abort.
#[derive(Debug, Args)]
pub struct SequenceArgs {
    /// The change (default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the outcome as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_continue(args: &SequenceArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    drive(&ws, err, args.json, |cx| resume(cx, &change))
}

pub fn cmd_skip(args: &SequenceArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    drive(&ws, err, args.json, |cx| skip(cx, &change))
}

pub fn cmd_abort(args: &SequenceArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let change = ws.change(args.change.as_deref())?;
    drive(&ws, err, args.json, |cx| abort(cx, &change))
}
