//! Printing a run as it goes (stderr), and its outcome (stdout or `--json`), shared by `run`,
//! `continue`, `skip` and `abort`. Also where Ctrl-C is turned into a graceful stop.
//!
//! `Progress` (in `progress/line.rs`) is the reusable part: a status line on a terminal, plain
//! lines elsewhere, nothing with `-q` — for any command that works through a known number of
//! items.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use super::context::Workspace;
use super::error::CliError;
use super::output::{BOLD, DIM, GOOD, Out, Stderr, WARN, paint, warning_line};

mod line;

use crate::audit::AuditLog;
use crate::git::short_oid;
use crate::run::{self, Context, Event, Layout, Report, RunError, Stop};
use crate::store::LockError;
pub use line::{Mode as ProgressMode, Progress, status_text};

/// Ctrl-C, SIGTERM and SIGHUP set the flag: the run stops at the next safe point (the running
/// command's process group is killed) and can be resumed. A second signal exits at once.
pub fn install_signal_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        // Registration only fails for forbidden signals, which these are not.
        let _ = signal_hook::flag::register_conditional_shutdown(sig, 1, Arc::clone(&flag));
        let _ = signal_hook::flag::register(sig, Arc::clone(&flag));
    }
    flag
}

/// What an event prints on stderr.
enum Said {
    Note(String),
    Warn(String),
}

/// The line(s) an event prints on stderr: the same on a terminal and in a CI log.
fn event_lines(e: &Event<'_>) -> Option<Said> {
    let note = |s: String| Some(Said::Note(s));
    match e {
        Event::RunStarted { state, fallback } => note(format!(
            "{} {} of {} · plan {} · seed {} · {} task{}{}",
            paint(BOLD, "Run"),
            state.run_id,
            state.change,
            short_hash(state.plan_hash.as_str()),
            state.seed,
            state.tasks.len(),
            if state.tasks.len() == 1 { "" } else { "s" },
            if *fallback {
                " (fallback plan: one task per file)"
            } else {
                ""
            }
        )),
        Event::TaskStarted {
            key,
            title,
            position,
            total,
            attempt,
            ..
        } => note(format!(
            "[{position}/{total}] {key} {title}{}",
            if *attempt > 1 {
                format!(" {}", paint(DIM, &format!("(attempt {attempt})")))
            } else {
                String::new()
            }
        )),
        Event::TaskCompleted {
            key,
            commit,
            duration_ms,
            files_touched,
            qa_result,
            ..
        } => note(format!(
            "      {} {key} → {} · {} file{} · QA {qa_result}{}",
            paint(GOOD, "✓"),
            short_oid(commit),
            files_touched.len(),
            if files_touched.len() == 1 { "" } else { "s" },
            duration_ms.map_or(String::new(), |d| format!(" · {:.1}s", d as f64 / 1000.0))
        )),
        Event::TaskFailed {
            key,
            attempt,
            reason,
            last,
            log,
            ..
        } => note(format!(
            "      {} {key} attempt {attempt}: {reason}{}\n        logs: {}",
            paint(WARN, "✗"),
            if *last { "" } else { " — retrying" },
            log.display()
        )),
        Event::TaskSkipped { key, .. } => note(format!("      {key} skipped")),
        Event::Paused { .. } => None,
        Event::RunSucceeded { .. } | Event::RunFailed { .. } | Event::RunAborted { .. } => None,
        Event::NotificationFailed {
            event, reason, log, ..
        } => Some(Said::Warn(format!(
            "notification of {event} failed: {reason} (see {}); the run is not affected",
            log.display()
        ))),
        Event::Note(n) => note(format!("note: {n}")),
    }
}

/// A run as it goes, on stderr: a line for each event that says something and, on a terminal,
/// a status line
/// under them with the current task, n/N and the elapsed time (see `Progress`).
pub struct RunDisplay<'a> {
    err: &'a Stderr,
    progress: Option<Progress>,
}

impl<'a> RunDisplay<'a> {
    pub fn new(err: &'a Stderr) -> Self {
        RunDisplay {
            err,
            progress: None,
        }
    }

    pub fn event(&mut self, e: &Event<'_>) {
        match e {
            Event::RunStarted { state, .. } => {
                let p = self.progress(state.tasks.len());
                p.set_done(state.counts().0);
            }
            Event::TaskStarted {
                position, total, ..
            } => {
                let p = self.progress(*total);
                p.set_done(position.saturating_sub(1));
            }
            _ => {}
        }
        if let Some(said) = event_lines(e) {
            let line = match said {
                Said::Note(s) => s,
                Said::Warn(s) => warning_line(&s),
            };
            // Both stay silent with -q (the progress display is hidden then).
            match &self.progress {
                Some(p) => p.println(&line),
                None => self.err.note(&line),
            }
        }
        match e {
            Event::TaskStarted { key, title, .. } => {
                if let Some(p) = &self.progress {
                    p.working_on(&format!("{key} {title}"));
                }
            }
            Event::TaskCompleted { state, .. } | Event::TaskSkipped { state, .. } => {
                if let Some(p) = &self.progress {
                    p.set_done(state.counts().0);
                }
            }
            Event::Paused { .. }
            | Event::RunSucceeded { .. }
            | Event::RunFailed { .. }
            | Event::RunAborted { .. } => self.finish(),
            _ => {}
        }
    }

    fn progress(&mut self, total: usize) -> &Progress {
        self.progress
            .get_or_insert_with(|| Progress::new(self.err, "run", total))
    }

    /// Clear the status line (before the outcome is printed).
    pub fn finish(&mut self) {
        if let Some(p) = self.progress.take() {
            p.finish();
        }
    }
}

fn short_hash(h: &str) -> &str {
    &h[..h.len().min(19)]
}

/// Run a sequencer operation with progress printing, then report its outcome.
pub fn drive(
    ws: &Workspace,
    err: &Stderr,
    json: bool,
    op: impl FnOnce(&mut Context<'_>) -> Result<Report, RunError>,
) -> Result<(), CliError> {
    let cancel = install_signal_flag();
    let mut display = RunDisplay::new(err);
    let mut observer = |e: &Event<'_>| display.event(e);
    let log_path = ws.local_path(ws.config.paths.implementer_audit.as_str());
    if let Some(dir) = log_path.parent() {
        // Like the artifacts folder: never appended to through a link out of the repository.
        crate::store::place::check_inside(ws.repo.main_root(), dir, ws.repo.common_dir()).map_err(
            |e| {
                CliError::usage(format!("cannot use the audit log {}", log_path.display()))
                    .cause(e.to_string())
                    .hint(
                        "make the link point inside the repository, or set `[paths] \
                         implementer_audit` to a path inside it",
                    )
            },
        )?;
    }
    let name = crate::audit::log_name_of(&log_path);
    let mut log = AuditLog::open(&log_path, &name).map_err(|e| {
        CliError::usage(format!("cannot use the audit log {}", log_path.display()))
            .cause(e.to_string())
    })?;
    let mut cx = Context {
        repo: &ws.repo,
        config: &ws.config,
        layout: Layout::new(ws.repo.common_dir()),
        cancel,
        observer: &mut observer,
        audit: Some(&mut log),
        audit_head: None,
    };
    let report = op(&mut cx);
    drop(cx);
    display.finish();
    report_outcome(&report.map_err(run_error)?, json, err.is_quiet())
}

/// The outcome on stdout: JSON, or for people a few lines (none with `-q`: the exit code and
/// any error say it).
fn report_outcome(report: &Report, json: bool, quiet: bool) -> Result<(), CliError> {
    let mut out = Out::new();
    if json {
        #[derive(serde::Serialize)]
        struct Outcome<'a> {
            outcome: &'static str,
            run: Option<&'a run::RunState>,
        }
        out.json(&Outcome {
            outcome: stop_name(report.stop),
            run: report.state.as_ref(),
        })?;
        out.flush()?;
    } else if let Some(s) = report.state.as_ref().filter(|_| !quiet) {
        let (done, total) = s.counts();
        match report.stop {
            Stop::Succeeded | Stop::Aborted => {
                out.line(&format!(
                    "{} {} {}: {done}/{total} tasks done",
                    paint(BOLD, "Run"),
                    s.run_id,
                    s.status.as_str()
                ))?;
                if let Some(n) = &s.finish_note {
                    out.line(&format!("  {n}"))?;
                }
                out.line(&format!(
                    "  review: git log --format='%h %s%n%(trailers:key=Microloop-Task)' {}",
                    crate::git::short_ref(&s.run_branch)
                ))?;
                out.line(&format!("  evidence: {}", s.artifacts.display()))?;
            }
            Stop::Paused => print_pause(&mut out, s)?,
            _ => {}
        }
        out.flush()?;
    }
    match report.stop {
        Stop::Succeeded | Stop::NothingToDo | Stop::Aborted | Stop::Paused => Ok(()),
        Stop::Failed => {
            let s = report.state.as_ref();
            let f = s.and_then(|s| s.failure.as_ref());
            let mut e = CliError::not_ok(match f {
                Some(f) => format!(
                    "task {} failed after {} attempt{}: {}",
                    f.task,
                    f.attempts,
                    if f.attempts == 1 { "" } else { "s" },
                    f.reason
                ),
                None => "the current task failed".to_string(),
            });
            if let Some(f) = f {
                e = e.cause(format!("logs: {}", f.log.display()));
            }
            if let Some(s) = s {
                e = e.cause(format!(
                    "the run {} is kept (branch {}), and your working tree was not touched",
                    s.run_id,
                    crate::git::short_ref(&s.run_branch)
                ));
            }
            Err(e
                .hint("fix the cause, then `git microloop continue` to retry the task")
                .hint(
                    "or `git microloop skip` to skip it, or `git microloop abort` to end the run",
                ))
        }
        Stop::Interrupted => Err(CliError::not_ok("interrupted; the run is saved")
            .hint("resume with `git microloop continue`, or end it with `git microloop abort`")),
        Stop::Rejected => Err(CliError::not_ok(
            "the current task did not pass QA; the run is still paused",
        )
        .hint("fix it in your worktree, then `git microloop continue` again")),
    }
}

fn print_pause(out: &mut Out, s: &run::RunState) -> std::io::Result<()> {
    let key = s.current.as_deref().unwrap_or("?");
    let title = s
        .tasks
        .iter()
        .find(|t| t.key == key)
        .map_or("", |t| t.title.as_str());
    let (done, total) = s.counts();
    out.line(&format!(
        "{} at {key} ({}/{total}): {title}",
        paint(BOLD, "Stopped"),
        done + 1
    ))?;
    out.line("  Apply the task in this worktree, then:")?;
    out.line("    git microloop continue   # run QA and commit it")?;
    out.line("    git microloop skip       # record it as skipped")?;
    out.line("    git microloop abort      # end the run")
}

pub fn stop_name(s: Stop) -> &'static str {
    match s {
        Stop::Succeeded => "succeeded",
        Stop::Failed => "failed",
        Stop::Paused => "paused",
        Stop::Interrupted => "interrupted",
        Stop::NothingToDo => "nothing_to_do",
        Stop::Aborted => "aborted",
        Stop::Rejected => "rejected",
    }
}

pub fn run_error(e: RunError) -> CliError {
    match e {
        RunError::Refused { message, hint } => CliError::usage(message).hint(hint),
        RunError::Planning(p) => super::commands::plan::planning_error(p),
        RunError::Git(g) => g.into(),
        RunError::Lock(l @ LockError::Busy { .. }) => CliError::usage(l.to_string()).hint(
            "wait for it to finish; a lock held by a process that died is released by the kernel",
        ),
        RunError::Lock(l) => CliError::usage(l.to_string())
            .hint("make the git directory writable (or free space on its disk), then run again"),
        RunError::Audit(msg) => {
            CliError::usage(format!("the audit log could not be written: {msg}")).hint(
                "if its folder is read-only or the disk is full, fix that and run again; \
                 if the log was edited, `git microloop audit verify` names the line",
            )
        }
        // A write failed (a full disk, a folder made read-only): the sequencer saved its state
        // before the step, so the run resumes where it stopped once the cause is fixed.
        RunError::Io { context, source } => {
            CliError::usage(context).cause(source.to_string()).hint(
                "fix the cause (free space, make the folder writable); `git microloop status` \
                 shows whether a run was saved, and `git microloop continue` resumes it",
            )
        }
    }
}
