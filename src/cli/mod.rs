//! The command line: argument definitions and thin handlers. Knows about terminals, exit codes
//! and wording; the library below knows none of that.

pub mod commands;
pub mod context;
pub mod error;
pub mod output;
pub mod progress;

use clap::{Parser, Subcommand, ValueEnum};

use commands::approve::{ApproveArgs, cmd_approve};
use commands::audit::{AuditArgs, cmd_audit};
use commands::checklist::{ChecklistArgs, cmd_checklist};
use commands::cleanup::{CleanupArgs, cmd_cleanup};
use commands::completions::{CompletionsArgs, cmd_completions};
use commands::config::{ConfigArgs, cmd_config};
use commands::demo::{DemoArgs, cmd_demo};
use commands::init::{InitArgs, cmd_init};
use commands::install_hook::{InstallHookArgs, cmd_install_hook};
use commands::log::{LogArgs, cmd_log};
use commands::man::{ManArgs, cmd_man};
use commands::plan::{PlanArgs, cmd_plan};
use commands::retain::{ReleaseArgs, RetainArgs, cmd_release, cmd_retain};
use commands::run::{RunArgs, cmd_run};
use commands::sequence::{SequenceArgs, cmd_abort, cmd_continue, cmd_skip};
use commands::show::{ShowArgs, cmd_show};
use commands::status::{StatusArgs, cmd_status};
pub use error::{CliError, Exit};

/// git-microloop: every micro-task of a Spec-Kit tasks.md becomes its own reviewed,
/// reproducible, auditable git commit.
#[derive(Debug, Parser)]
#[command(
    name = "git-microloop",
    bin_name = "git microloop",
    version,
    propagate_version = true,
    after_help = "Examples:
  git microloop plan --change CH-001        # the ordered plan and its hash
  git microloop plan --json | jq .plan_hash

Exit codes: 0 success, 1 the checked thing is not OK, 2 bad usage or input."
)]
pub struct Cli {
    /// More output on stderr (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// When to use colour (NO_COLOR in the environment means never, unless `always`).
    #[arg(long, value_name = "WHEN", default_value = "auto", global = true)]
    pub color: ColorWhen,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Init(InitArgs),
    Plan(PlanArgs),
    Run(RunArgs),
    /// Resume the run: after a failure (retry the task), an interruption, or a manual stop
    /// (run QA and commit your work).
    Continue(SequenceArgs),
    /// Record the current task as skipped and go on.
    Skip(SequenceArgs),
    /// End the run: its branch and evidence are kept (retained); you are back where you were.
    Abort(SequenceArgs),
    Status(StatusArgs),
    Show(ShowArgs),
    Log(LogArgs),
    Audit(AuditArgs),
    Checklist(ChecklistArgs),
    Config(ConfigArgs),
    InstallHook(InstallHookArgs),
    Approve(ApproveArgs),
    Retain(RetainArgs),
    Release(ReleaseArgs),
    Cleanup(CleanupArgs),
    Demo(DemoArgs),
    Man(ManArgs),
    Completions(CompletionsArgs),
}

/// Run the parsed command line.
pub fn run(cli: &Cli) -> Result<(), CliError> {
    let err = output::Stderr::new(cli.quiet);
    match &cli.command {
        Command::Init(args) => cmd_init(args, &err),
        Command::Plan(args) => cmd_plan(args, &err),
        Command::Run(args) => cmd_run(args, &err),
        Command::Continue(args) => cmd_continue(args, &err),
        Command::Skip(args) => cmd_skip(args, &err),
        Command::Abort(args) => cmd_abort(args, &err),
        Command::Status(args) => cmd_status(args, &err),
        Command::Show(args) => cmd_show(args, &err),
        Command::Log(args) => cmd_log(args, &err),
        Command::Audit(args) => cmd_audit(args, &err),
        Command::Checklist(args) => cmd_checklist(args, &err),
        Command::Config(args) => cmd_config(args, &err),
        Command::InstallHook(args) => cmd_install_hook(args, &err),
        Command::Approve(args) => cmd_approve(args, &err),
        Command::Retain(args) => cmd_retain(args, &err),
        Command::Release(args) => cmd_release(args, &err),
        Command::Cleanup(args) => cmd_cleanup(args, &err),
        Command::Demo(args) => cmd_demo(args, &err),
        Command::Man(args) => cmd_man(args, &err),
        Command::Completions(args) => cmd_completions(args, &err),
    }
}
