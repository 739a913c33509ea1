//! `git microloop audit verify`: check the hash chains of the audit logs, and every log head
//! anchored in the runs' summary.json files.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use crate::audit::{Head, LineHash, Tampering, VerifyReport, log_name_of, verify_with_anchors};
use crate::cli::context::Workspace;
use crate::cli::error::{CliError, Exit};
use crate::cli::output::{GOOD, Out, Stderr, WARN, paint};
use crate::evidence::summary::Summary;
use crate::ids::ChangeId;
use crate::paths::BytePath;
use crate::run::Layout;

/// Work with the hash-chained audit logs.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: AuditCommand,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    Verify(VerifyArgs),
}

/// Check that an audit log's chain holds: exit 0 when it does, 1 naming the first line that
/// was edited, deleted, reordered or inserted.
///
/// Each line carries its sequence number and the SHA-256 of the exact bytes of the line before
/// it, so any edit, deletion, reordering or insertion breaks the chain. Log heads recorded in
/// the runs' summary.json files are checked too, which catches a cut tail.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop audit verify                       # every log of this repository
  git microloop audit verify audit/retention.jsonl --json")]
pub struct VerifyArgs {
    /// The log to check (default: the implementer and retention logs and the review queue).
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the reports as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_audit(args: &AuditArgs, err: &Stderr) -> Result<(), CliError> {
    match &args.command {
        AuditCommand::Verify(v) => cmd_verify(v, err),
    }
}

fn cmd_verify(args: &VerifyArgs, _err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let files: Vec<PathBuf> = match &args.file {
        Some(f) => vec![f.clone()],
        None => {
            let retention = ws.local_path(ws.config.paths.retention_audit.as_str());
            [
                ws.local_path(ws.config.paths.implementer_audit.as_str()),
                retention.clone(),
                crate::retention::review::queue_path(&retention),
            ]
            .into_iter()
            .filter(|p| p.exists())
            .collect()
        }
    };
    let anchors = summary_anchors(&ws);
    let mut reports = Vec::new();
    for file in &files {
        let name = log_name_of(file);
        let heads: Vec<Head> = anchors
            .iter()
            .filter(|(log, _)| *log == name)
            .map(|(_, h)| *h)
            .collect();
        let report = verify_with_anchors(file, &name, &heads).map_err(|e| {
            CliError::usage(format!("cannot verify {}", file.display())).cause(e.to_string())
        })?;
        reports.push((file.clone(), report));
    }
    let mut out = Out::new();
    if args.json {
        let json: Vec<_> = reports
            .iter()
            .map(|(f, r)| serde_json::json!({ "file": BytePath::from(f.as_path()), "report": r }))
            .collect();
        out.json(&serde_json::json!({ "schema_version": 1, "logs": json }))?;
    } else if reports.is_empty() {
        out.line("no audit logs yet (they are written by git microloop run)")?;
    } else {
        for (f, r) in &reports {
            print_report(&mut out, f, r)?;
        }
    }
    out.flush()?;
    match reports.iter().find(|(_, r)| !r.ok) {
        None => Ok(()),
        Some((f, r)) => {
            let what = r.failure.as_ref().map_or_else(
                || "an anchored head does not match".to_string(),
                |x| format!("line {} {} ({})", x.line, what_happened(x.kind), x.detail),
            );
            Err(CliError {
                exit: Exit::NotOk,
                ..CliError::usage(format!("{}: {what}", f.display()))
            }
            .hint("restore the log from a backup or from git history; do not append to it until it verifies"))
        }
    }
}

fn print_report(out: &mut Out, file: &Path, r: &VerifyReport) -> std::io::Result<()> {
    let mark = if r.ok {
        paint(GOOD, "✓")
    } else {
        paint(WARN, "✗")
    };
    out.line(&format!(
        "{mark} {}: {} lines, head seq {} {}",
        file.display(),
        r.lines,
        r.head.seq,
        r.head.hash
    ))?;
    if let Some(f) = &r.failure {
        out.line(&format!(
            "  line {} {} (detected at line {}): {}",
            f.line,
            what_happened(f.kind),
            f.detected_at,
            f.detail
        ))?;
    }
    for a in &r.anchors {
        out.line(&format!(
            "  anchor seq {}: {}",
            a.expected.seq,
            if a.status.is_ok() {
                "matches"
            } else {
                "does not match"
            }
        ))?;
    }
    Ok(())
}

/// The tampering in words, after "line N".
fn what_happened(kind: Tampering) -> &'static str {
    match kind {
        Tampering::Edited => "was edited",
        Tampering::Deleted => "follows deleted lines",
        Tampering::Reordered => "was moved out of order",
        Tampering::Inserted => "was inserted",
        Tampering::Torn => "is torn (a write cut short)",
        Tampering::NotJson => "is damaged (not an audit line)",
        Tampering::WrongGenesis => "starts another log (wrong genesis)",
        Tampering::Truncated => "is missing: the log was cut",
        Tampering::Rewritten => "was rewritten (it no longer matches its anchor)",
    }
}

/// Every (log name, head) anchored in a run's summary.json.
fn summary_anchors(ws: &Workspace) -> Vec<(String, Head)> {
    let layout = Layout::new(ws.repo.common_dir());
    let mut out = Vec::new();
    for change in layout.changes() {
        let Ok(change) = ChangeId::parse(&change, &ws.config.change.pattern) else {
            continue;
        };
        for run in layout.runs(&change) {
            let Ok(state) = layout.load(&change, &run) else {
                continue;
            };
            let Ok(bytes) = std::fs::read(state.artifacts.join("summary.json")) else {
                continue;
            };
            let Ok(summary) = serde_json::from_slice::<Summary>(&bytes) else {
                continue;
            };
            if let Some(a) = summary.audit_anchor
                && let Ok(hash) = a.hash.parse::<LineHash>()
            {
                out.push((a.log, Head { seq: a.seq, hash }));
            }
        }
    }
    out
}
