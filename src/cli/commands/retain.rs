//! `git microloop retain` and `release`: set and remove a retention marker on a run.

use clap::Args;
use serde_json::json;

use super::approve::{record_error, resolve};
use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{Out, Stderr};
use crate::clock;
use crate::retention::policy::{fmt_ts, parse_when};
use crate::retention::record::{self, default_actor};

/// Set a retention marker: no cleanup purges the run while it holds. Cleanup skips the run
/// (reason `retention_marker`) and schedules a review, due at --until or `failed_review_after`
/// after the marker was set. Audited.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop retain latest --reason \"legal hold\"
  git microloop retain run-20261124T10 --reason \"audit sample\" --until 2026-12-31")]
pub struct RetainArgs {
    /// A run id, a unique prefix of one, or `latest` (of the change).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Why the run is kept.
    #[arg(long, value_name = "TEXT")]
    pub reason: String,
    /// The marker expires then (RFC 3339, or a date: the end of that day, UTC).
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Who sets it (default: git's user.name).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// The change (for `latest`).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Remove a run's retention marker (audited); the next cleanup decides on it as usual.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop release run-20261124T10")]
pub struct ReleaseArgs {
    /// A run id, a unique prefix of one, or `latest` (of the change).
    #[arg(value_name = "RUN")]
    pub run: String,
    /// Who removes it (default: git's user.name).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// The change (for `latest`).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_retain(args: &RetainArgs, _err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let now = clock::now();
    let until = match &args.until {
        Some(u) => {
            let t = parse_when(u, true).map_err(|e| CliError::usage(format!("--until: {e}")))?;
            if t <= now {
                return Err(
                    CliError::usage(format!("--until {} is in the past", fmt_ts(t))).hint(
                        "give a later date, or leave --until out to keep the run until released",
                    ),
                );
            }
            Some(fmt_ts(t))
        }
        None => None,
    };
    let (r, _lock) = resolve(&ws, &args.run, args.change.as_deref())?;
    let by = args.by.clone().unwrap_or_else(|| default_actor(&ws.repo));
    let marker = record::retain(
        &ws.repo,
        &ws.config,
        &r,
        &args.reason,
        until.as_deref(),
        &by,
        &fmt_ts(now),
    )
    .map_err(record_error)?;
    let mut out = Out::new();
    if args.json {
        out.json(&json!({
            "schema_version": 1,
            "change": r.change,
            "run_id": r.run,
            "marker": { "reason": marker.reason, "until": marker.until, "by": marker.by, "at": marker.at },
        }))?;
    } else {
        out.line(&format!(
            "{} {} is retained: {}{}",
            r.change,
            r.run,
            marker.reason,
            marker
                .until
                .as_deref()
                .map_or(String::new(), |u| format!(" (until {u})"))
        ))?;
        out.line("  cleanup will skip it and schedule a review; `git microloop release` removes the marker")?;
    }
    out.flush()?;
    Ok(())
}

pub fn cmd_release(args: &ReleaseArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let (r, _lock) = resolve(&ws, &args.run, args.change.as_deref())?;
    let by = args.by.clone().unwrap_or_else(|| default_actor(&ws.repo));
    let released = record::release(&ws.repo, &ws.config, &r, &by, &fmt_ts(clock::now()))
        .map_err(record_error)?;
    let mut out = Out::new();
    if args.json {
        out.json(&json!({
            "schema_version": 1,
            "change": r.change,
            "run_id": r.run,
            "released": released.as_ref().map(|m| json!({ "reason": m.reason, "until": m.until })),
        }))?;
    } else if let Some(m) = &released {
        out.line(&format!(
            "{} {}: marker removed ({})",
            r.change, r.run, m.reason
        ))?;
    }
    out.flush()?;
    if released.is_none() {
        err.note(&format!(
            "{} has no retention marker; nothing recorded",
            r.run
        ));
    }
    Ok(())
}
