//! `git microloop cleanup`: purge what the retention policy allows, keep everything else with
//! a named reason, log every change of a run's retention state.

use std::collections::BTreeSet;

use clap::Args;
use serde_json::json;

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, GOOD, Out, Stderr, WARN, paint};
use crate::cli::progress::{ProgressMode, status_text};
use crate::clock;
use crate::retention::policy::{fmt_ts, parse_when};
use crate::retention::{CleanupError, Decision, Options, Policy, Report, State, cleanup};

/// Apply the retention policy: purge approved, expired runs (branch, worktree, artifacts) and
/// keep every other run with a named reason. Exit 0 when done, 1 when a change was busy or a
/// purge could not be finished (run it again), 2 on bad input.
///
/// Every change of a run's retention state is logged to audit/retention.jsonl before anything
/// is deleted; markers, failed runs and pending approvals schedule reviews in
/// audit/retention_reviews.jsonl. Without a [retention] section nothing is ever purged.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop cleanup --dry-run                 # what would happen, changing nothing
  git microloop cleanup --change CH-001
  git microloop cleanup --now 2026-12-31T00:00:00Z --json")]
pub struct CleanupArgs {
    /// Only this change (default: every change with runs).
    #[arg(long, value_name = "CH")]
    pub change: Option<String>,
    /// Print the decisions and change nothing at all.
    #[arg(long)]
    pub dry_run: bool,
    /// Decide as if it were this time (RFC 3339 or a date); every clock read uses it.
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Print the decisions as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_cleanup(args: &CleanupArgs, err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let now = match &args.now {
        Some(s) => parse_when(s, false).map_err(|e| CliError::usage(format!("--now: {e}")))?,
        None => clock::now(),
    };
    let Some(retention) = ws.config.retention.as_ref() else {
        let mut out = Out::new();
        if args.json {
            out.json(&json!({
                "schema_version": 1,
                "dry_run": args.dry_run,
                "now": fmt_ts(now),
                "policy": null,
                "decisions": [],
                "counts": {},
                "busy": [],
                "applied": null,
            }))?;
        } else {
            out.line("no [retention] section in .microloop.toml: every run is kept")?;
        }
        out.flush()?;
        return Ok(());
    };
    let policy = Policy::from_config(retention);
    let changes = match &args.change {
        Some(c) => Some(BTreeSet::from([ws.change(Some(c))?])),
        None => None,
    };
    let opts = Options {
        changes,
        only_run: None,
        dry_run: args.dry_run,
        now,
        held: Vec::new(),
    };
    let mut progress = progress_printer(err);
    let report =
        cleanup(&ws.repo, &ws.config, &policy, &opts, &mut progress).map_err(cleanup_error)?;
    let mut out = Out::new();
    if args.json {
        out.json(&report_json(&report, &policy, now, args.dry_run))?;
    } else {
        print_report(&mut out, &report, args.dry_run)?;
    }
    out.flush()?;
    outcome(&report, err)
}

/// Progress on stderr for long work (a thousand runs and more): on a terminal one status line
/// per phase, rewritten in place with the count and the elapsed time
/// (`cleanup: reading runs 3000/10000 · 0:04`); elsewhere a plain line per thousand; nothing
/// with `-q`. The same rules as every progress display (`ProgressMode`).
pub(crate) fn progress_printer(err: &Stderr) -> impl FnMut(&str, usize, usize) + '_ {
    let mode = ProgressMode::detect(err);
    let started = std::time::Instant::now();
    move |what: &str, done: usize, total: usize| match progress_text(
        mode,
        what,
        done,
        total,
        started.elapsed(),
    ) {
        Some(text) if mode == ProgressMode::Live => err.note_inline(&text),
        Some(text) => err.note(&text),
        None => {}
    }
}

/// What the progress display prints for `done` of `total` in phase `what`, if anything.
fn progress_text(
    mode: ProgressMode,
    what: &str,
    done: usize,
    total: usize,
    elapsed: std::time::Duration,
) -> Option<String> {
    if total < 1000 {
        return None;
    }
    match mode {
        ProgressMode::Live => {
            let text = status_text(&format!("cleanup: {what}"), done, total, elapsed, None, 200);
            let end = if done == total { "\n" } else { "" };
            Some(format!("\r{text}{end}"))
        }
        ProgressMode::Plain if done.is_multiple_of(1000) || done == total => {
            Some(format!("cleanup: {what} {done}/{total}"))
        }
        ProgressMode::Plain | ProgressMode::Hidden => None,
    }
}

/// Exit 1 when something the policy asked for could not be done.
pub(crate) fn outcome(report: &Report, err: &Stderr) -> Result<(), CliError> {
    let Some(applied) = &report.applied else {
        return busy_error(report);
    };
    for n in &applied.notes {
        err.warn(n);
    }
    if let Some(first) = applied.problems.first() {
        let mut e = CliError::not_ok(first.clone());
        for p in &applied.problems[1..] {
            e = e.cause(p.clone());
        }
        return Err(
            e.hint("the decisions are logged; the next `git microloop cleanup` finishes them")
        );
    }
    busy_error(report)
}

fn busy_error(report: &Report) -> Result<(), CliError> {
    if report.busy.is_empty() {
        return Ok(());
    }
    Err(CliError::not_ok(format!(
        "another git-microloop process holds {}: its runs were not decided on",
        report.busy.join(", ")
    ))
    .hint("run `git microloop cleanup` again when it has finished"))
}

pub(crate) fn cleanup_error(e: CleanupError) -> CliError {
    match e {
        CleanupError::Tampered { path, detail } => {
            CliError::usage(format!("{} does not verify: {detail}", path.display()))
                .hint("no decision is made on edited records; see `git microloop audit verify`")
        }
        CleanupError::Lock(l) => CliError::usage(l.to_string()),
        CleanupError::Git(g) => g.into(),
        CleanupError::Read { .. } => CliError::usage(e.to_string()),
        CleanupError::Exec(x) => CliError::usage(x.to_string())
            .hint("nothing was deleted: decisions are logged before anything is"),
    }
}

pub(crate) fn counts(decisions: &[Decision]) -> serde_json::Value {
    let n = |s: State| decisions.iter().filter(|d| d.state == s).count();
    json!({
        "purged": n(State::Purged),
        "eligible": n(State::Eligible),
        "retained": n(State::Retained),
        "active": n(State::Active),
    })
}

pub(crate) fn report_json(
    report: &Report,
    policy: &Policy,
    now: jiff::Timestamp,
    dry_run: bool,
) -> serde_json::Value {
    json!({
        "schema_version": 1,
        "dry_run": dry_run,
        "now": fmt_ts(now),
        "policy": {
            "success_ttl": Policy::show(policy.success_ttl),
            "failed_review_after": Policy::show(policy.failed_review_after),
            "required_approvals": policy.required,
            "finalizers": policy.finalizers,
            "keep_last": policy.keep_last,
            "keep_summary": policy.keep_summary,
        },
        "decisions": report.decisions,
        "counts": counts(&report.decisions),
        "busy": report.busy,
        "applied": report.applied,
    })
}

/// One line per run (runs purged earlier with nothing left are only counted), then totals.
pub(crate) fn print_report(out: &mut Out, report: &Report, dry_run: bool) -> std::io::Result<()> {
    let mut quiet = 0;
    for d in &report.decisions {
        if d.state == State::Purged && !d.purge && !d.changed {
            quiet += 1;
            continue;
        }
        let what = match (d.state, d.purge, dry_run) {
            (State::Purged, true, true) => paint(WARN, "would purge"),
            (State::Purged, true, false) => paint(WARN, "purged"),
            (State::Purged, false, _) => paint(DIM, "purged"),
            (State::Eligible, ..) => paint(GOOD, "eligible"),
            (State::Retained, ..) => paint(BOLD, "retained"),
            (State::Active, ..) => paint(DIM, "active"),
        };
        let review = d.review.as_ref().map_or(String::new(), |r| {
            format!(" · review due {}", fmt_ts(r.due))
        });
        out.line(&format!(
            "{} {}  {what}  {}{}  {}{review}",
            d.change,
            d.run_id,
            d.reason.as_str(),
            if d.changed { "" } else { " (unchanged)" },
            paint(DIM, &d.detail),
        ))?;
    }
    let c = counts(&report.decisions);
    let mut line = format!(
        "{} purged, {} eligible, {} retained, {} active",
        c["purged"], c["eligible"], c["retained"], c["active"]
    );
    if quiet > 0 {
        line.push_str(&format!(" ({quiet} of them purged earlier)"));
    }
    match &report.applied {
        None => line.push_str(" — dry run: nothing was changed"),
        Some(a) => {
            line.push_str(&format!(
                "; {} decision{} logged, {} review{} scheduled, {} branch{} deleted",
                a.logged,
                if a.logged == 1 { "" } else { "s" },
                a.reviews_scheduled,
                if a.reviews_scheduled == 1 { "" } else { "s" },
                a.branches_deleted,
                if a.branches_deleted == 1 { "" } else { "es" },
            ));
            for p in &a.plan_files {
                out.line(&format!(
                    "updated {} (commit it with your change)",
                    p.display()
                ))?;
            }
        }
    }
    out.line(&line)
}

#[cfg(test)]
mod progress_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_terminal_sees_count_and_elapsed_time_rewritten_in_place() {
        let t = |done| {
            progress_text(
                ProgressMode::Live,
                "reading runs",
                done,
                10_000,
                Duration::from_secs(4),
            )
        };
        assert_eq!(
            t(3000).unwrap(),
            "\rcleanup: reading runs 3000/10000 · 0:04"
        );
        assert_eq!(
            t(10_000).unwrap(),
            "\rcleanup: reading runs 10000/10000 · 0:04\n"
        );
    }

    #[test]
    fn logs_get_a_line_per_thousand_and_small_or_quiet_work_nothing() {
        let plain = |done| {
            progress_text(
                ProgressMode::Plain,
                "deleting branches",
                done,
                2500,
                Duration::ZERO,
            )
        };
        assert_eq!(plain(1000).unwrap(), "cleanup: deleting branches 1000/2500");
        assert_eq!(plain(2500).unwrap(), "cleanup: deleting branches 2500/2500");
        assert_eq!(plain(1500), None);
        assert_eq!(
            progress_text(ProgressMode::Live, "x", 5, 999, Duration::ZERO),
            None
        );
        assert_eq!(
            progress_text(ProgressMode::Hidden, "x", 1000, 5000, Duration::ZERO),
            None
        );
    }
}
