//! `git microloop approve`: record a role's approval of a run (or a finalizer's close of a
//! failed one); when it completes the required roles, cleanup runs for that run.

use std::collections::BTreeSet;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::cleanup::{cleanup_error, outcome, print_report, progress_printer, report_json};
use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{DIM, GOOD, Out, Stderr, paint};
use crate::clock;
use crate::config::Role;
use crate::retention::ledger::Verdict;
use crate::retention::policy::fmt_ts;
use crate::retention::record::{self, RecordError, default_actor};
use crate::retention::{Options, Policy, cleanup};
use crate::run::Layout;
use crate::run::locate::RunRef;
use crate::store::ChangeLock;

/// Record an approval of a run for the retention policy (an audit event and summary.json's
/// `approvals`). When it completes the policy's required roles, cleanup runs for that run
/// (success_ttl still applies; 0 purges it at once).
///
/// A failed or aborted run is never approved for purge; a finalizer (GO or HR by default) may
/// close it with --decision close once it has ended.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop approve latest --role PM
  git microloop approve run-20261124T10 --role QA --by \"Quinn\" --note \"tests reviewed\"
  git microloop approve run-20261124T10 --role GO --decision close   # a failed run")]
pub struct ApproveArgs {
    /// A run id, a unique prefix of one, or `latest` (of the change).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// The approving role; one the policy names (required_approvals or finalizers).
    #[arg(long, value_name = "ROLE")]
    pub role: String,
    /// Who approves (default: git's user.name).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// A note kept with the approval.
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,
    /// `approve` a succeeded run, or `close` a failed or aborted one (finalizers only).
    #[arg(long, value_enum, default_value = "approve")]
    pub decision: DecisionArg,
    /// The change (for `latest`; default: from the branch name, else the only change folder).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DecisionArg {
    Approve,
    Close,
}

/// The policy, or a clear refusal when there is none.
pub(crate) fn policy_of(ws: &Workspace, what: &str) -> Result<Policy, CliError> {
    ws.config
        .retention
        .as_ref()
        .map(Policy::from_config)
        .ok_or_else(|| {
            CliError::usage(format!(
                "there is no retention policy to {what} for (no [retention] section in .microloop.toml)"
            ))
            .hint("add [retention] with required_approvals (the README's retention section has an example)")
        })
}

/// The run named on the command line, and its change's lock.
pub(crate) fn resolve(
    ws: &Workspace,
    run: &str,
    change: Option<&str>,
) -> Result<(RunRef, ChangeLock), CliError> {
    let r = ws.run(run, change)?;
    let layout = Layout::new(ws.repo.common_dir());
    let lock = ChangeLock::acquire(&layout.lock(&r.change), r.change.as_str()).map_err(|e| {
        CliError::usage(e.to_string()).hint("wait for it to finish, then try again")
    })?;
    Ok((r, lock))
}

pub(crate) fn record_error(e: RecordError) -> CliError {
    match e {
        RecordError::Refused { message, hint } => CliError::usage(message).hint(hint),
        RecordError::Cleanup(c) => cleanup_error(c),
        RecordError::Write { .. } => CliError::usage(e.to_string())
            .hint("check the file's permissions; `git microloop audit verify` checks the log"),
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role, CliError> {
    Role::parse(s).map_err(|e| CliError::usage(format!("--role: {e}")))
}

pub fn cmd_approve(args: &ApproveArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let policy = policy_of(&ws, "approve")?;
    let role = parse_role(&args.role)?;
    if !policy.knows_role(role.as_str()) {
        return Err(CliError::usage(format!(
            "the retention policy has no role {:?}",
            role.as_str()
        ))
        .hint(format!("roles: {}", policy.roles().join(", "))));
    }
    let (r, _lock) = resolve(&ws, &args.run, args.change.as_deref())?;
    let by = args.by.clone().unwrap_or_else(|| default_actor(&ws.repo));
    let verdict = match args.decision {
        DecisionArg::Approve => Verdict::Approve,
        DecisionArg::Close => Verdict::Close,
    };
    let now = clock::now();
    let ts = fmt_ts(now);
    let approved = record::approve(
        &ws.repo,
        &ws.config,
        &policy,
        &r,
        role.as_str(),
        &by,
        args.note.as_deref(),
        verdict,
        &ts,
    )
    .map_err(record_error)?;
    // The approval that makes the run eligible runs cleanup for it, with the approval's time.
    let report = if approved.completes {
        let opts = Options {
            changes: Some(BTreeSet::from([r.change.clone()])),
            only_run: Some((r.change.to_string(), r.run.to_string())),
            dry_run: false,
            now,
            held: vec![r.change.clone()],
        };
        let mut progress = progress_printer(err);
        Some(cleanup(&ws.repo, &ws.config, &policy, &opts, &mut progress).map_err(cleanup_error)?)
    } else {
        None
    };
    let mut out = Out::new();
    if args.json {
        out.json(&json!({
            "schema_version": 1,
            "approval": approved,
            "cleanup": report.as_ref().map(|rep| report_json(rep, &policy, now, false)),
        }))?;
    } else {
        let what = match verdict {
            Verdict::Approve => "approved",
            Verdict::Close => "closed",
        };
        if approved.already {
            out.line(&format!(
                "{} {} was already {what} by {} ({}) at {}; nothing recorded",
                approved.change, approved.run_id, approved.role, approved.by, approved.at
            ))?;
        } else {
            out.line(&format!(
                "{} {} {what} by {} ({})",
                approved.change,
                approved.run_id,
                paint(GOOD, &approved.role),
                approved.by
            ))?;
        }
        if verdict == Verdict::Approve {
            if approved.missing.is_empty() {
                out.line("  every required role has approved")?;
            } else {
                out.line(&paint(
                    DIM,
                    &format!("  still waiting for: {}", approved.missing.join(", ")),
                ))?;
            }
        }
        if let Some(rep) = &report {
            print_report(&mut out, rep, false)?;
        }
    }
    out.flush()?;
    match &report {
        Some(rep) => outcome(rep, err),
        None => Ok(()),
    }
}
