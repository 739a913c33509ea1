//! Recording approvals and markers: one audit event in `audit/retention.jsonl` (fsynced), then
//! its copy in the run's summary.json. The caller holds the change's lock.

use serde_json::json;

use super::cleanup::{CleanupError, load_ledger, retention_log_path};
use super::ledger::{
    APPROVED, ApprovalRecord, MARKER_RELEASED, MARKER_SET, MarkerRecord, RunLedger, Verdict,
    with_run,
};
use super::policy::Policy;
use crate::audit::{AuditLog, log_name_of};
use crate::config::Config;
use crate::evidence::summary::{Approval, Summary};
use crate::git::Repo;
use crate::run::Layout;
use crate::run::locate::{RunRef, artifacts_dir};
use crate::store::write_json;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Refused, nothing written: the message says why, the hint what to do.
    #[error("{message}")]
    Refused { message: String, hint: String },
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    #[error("cannot write {path}: {detail}")]
    Write { path: String, detail: String },
}

fn refused(message: impl Into<String>, hint: impl Into<String>) -> RecordError {
    RecordError::Refused {
        message: message.into(),
        hint: hint.into(),
    }
}

/// The run's summary and its ledger.
fn load(
    repo: &Repo,
    config: &Config,
    r: &RunRef,
) -> Result<(Summary, RunLedger, std::path::PathBuf), RecordError> {
    let path = artifacts_dir(repo, config, &r.change, r.run.as_str()).join("summary.json");
    let summary: Summary = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).map_err(|e| {
            refused(
                format!("{} is not a valid summary: {e}", path.display()),
                "a run is approved or marked on its evidence; restore summary.json first",
            )
        })?,
        Err(e) => {
            return Err(refused(
                format!("cannot read {}: {e}", path.display()),
                "a run is approved on its evidence; if it was purged, there is nothing left to approve",
            ));
        }
    };
    let mut ledger = load_ledger(repo, config)?;
    let led = ledger
        .remove(&(r.change.to_string(), r.run.to_string()))
        .unwrap_or_default();
    Ok((summary, led, path))
}

fn append(
    repo: &Repo,
    config: &Config,
    event: &str,
    fields: serde_json::Value,
    ts: &str,
) -> Result<(), RecordError> {
    let path = retention_log_path(repo, config);
    let name = log_name_of(&path);
    AuditLog::open(&path, &name)
        .and_then(|mut l| l.append(event, fields, ts))
        .map(|_| ())
        .map_err(|e| RecordError::Write {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
}

fn save(path: &std::path::Path, s: &Summary) -> Result<(), RecordError> {
    // Never through a link.
    if std::fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
        return Ok(());
    }
    write_json(path, s).map_err(|e| RecordError::Write {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// What `approve` recorded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Approved {
    pub change: String,
    pub run_id: String,
    pub role: String,
    pub by: String,
    pub at: String,
    pub decision: Verdict,
    /// Nothing new was written: the role had already given this decision.
    pub already: bool,
    /// Required roles that have not approved yet.
    pub missing: Vec<String>,
    /// This approval made the run eligible (the last required role, or a close).
    pub completes: bool,
}

/// Record `role`'s approval (or close) of the run at `ts`.
#[allow(clippy::too_many_arguments)]
pub fn approve(
    repo: &Repo,
    config: &Config,
    policy: &Policy,
    r: &RunRef,
    role: &str,
    by: &str,
    note: Option<&str>,
    verdict: Verdict,
    ts: &str,
) -> Result<Approved, RecordError> {
    if !policy.knows_role(role) {
        return Err(refused(
            format!("the retention policy has no role {role:?}"),
            format!("roles: {}", policy.roles().join(", ")),
        ));
    }
    let (mut summary, ledger, path) = load(repo, config, r)?;
    if ledger.last.as_ref().is_some_and(|l| l.state == "purged") {
        return Err(refused(
            format!("{} was purged", r.run),
            "there is nothing left to approve",
        ));
    }
    let layout = Layout::new(repo.common_dir());
    let open = layout
        .load(&r.change, &r.run)
        .ok()
        .is_some_and(|s| s.status.is_open());
    match (verdict, summary.status.as_str()) {
        (_, "running" | "paused") => {
            return Err(refused(
                format!("{} is still {}", r.run, summary.status),
                "approve it when it has finished",
            ));
        }
        (Verdict::Approve, "succeeded") => {}
        (Verdict::Approve, status @ ("failed" | "aborted")) => {
            return Err(refused(
                format!(
                    "{} {status}; a failed or aborted run is not approved for purge",
                    r.run
                ),
                format!(
                    "a finalizer ({}) may close it: git microloop approve {} --role {} --decision close",
                    policy.finalizers.join(", "),
                    r.run,
                    policy.finalizers.first().map_or("GO", String::as_str)
                ),
            ));
        }
        (Verdict::Close, "failed" | "aborted") if !policy.may_finalize(role) => {
            return Err(refused(
                format!("{role} may not close a run"),
                format!(
                    "the policy's finalizers are: {}",
                    policy.finalizers.join(", ")
                ),
            ));
        }
        (Verdict::Close, "failed" | "aborted") if open => {
            return Err(refused(
                format!("{} failed but is still open (it can be continued)", r.run),
                "end it first with `git microloop abort`, then close it",
            ));
        }
        (Verdict::Close, "failed" | "aborted") => {}
        (Verdict::Close, status) => {
            return Err(refused(
                format!("{} {status}; only a failed or aborted run is closed", r.run),
                format!(
                    "approve it instead: git microloop approve {} --role {role}",
                    r.run
                ),
            ));
        }
        (_, status) => {
            return Err(refused(
                format!("{} has the unknown status {status:?}", r.run),
                "check its summary.json",
            ));
        }
    }
    let missing_before = missing(policy, &ledger);
    if let Some(a) = ledger
        .approvals
        .iter()
        .find(|a| a.role == role && a.verdict == verdict)
    {
        return Ok(Approved {
            change: r.change.to_string(),
            run_id: r.run.to_string(),
            role: role.to_string(),
            by: a.by.clone(),
            at: a.at.clone(),
            decision: verdict,
            already: true,
            missing: missing_before,
            completes: false,
        });
    }
    let fields = with_run(
        r.change.as_str(),
        r.run.as_str(),
        Some(summary.seed),
        Some(&summary.plan_hash),
        json!({ "role": role, "by": by, "note": note, "decision": verdict.as_str() }),
    );
    append(repo, config, APPROVED, fields, ts)?;
    let mut led = ledger.clone();
    led.approvals.push(ApprovalRecord {
        role: role.to_string(),
        by: by.to_string(),
        at: ts.to_string(),
        note: note.map(str::to_string),
        verdict,
    });
    summary.approvals = led.approvals.iter().map(Approval::from).collect();
    save(&path, &summary)?;
    let missing_after = missing(policy, &led);
    let completes = match verdict {
        Verdict::Close => !ledger
            .approvals
            .iter()
            .any(|a| a.verdict == Verdict::Close && policy.may_finalize(&a.role)),
        Verdict::Approve => !missing_before.is_empty() && missing_after.is_empty(),
    };
    Ok(Approved {
        change: r.change.to_string(),
        run_id: r.run.to_string(),
        role: role.to_string(),
        by: by.to_string(),
        at: ts.to_string(),
        decision: verdict,
        already: false,
        missing: missing_after,
        completes,
    })
}

/// Required roles without an approval in `ledger`.
pub fn missing(policy: &Policy, ledger: &RunLedger) -> Vec<String> {
    policy
        .required
        .iter()
        .filter(|role| {
            !ledger
                .approvals
                .iter()
                .any(|a| &a.role == *role && a.verdict == Verdict::Approve)
        })
        .cloned()
        .collect()
}

/// Set a retention marker: no cleanup purges the run while it holds (until `until`, if given).
pub fn retain(
    repo: &Repo,
    config: &Config,
    r: &RunRef,
    reason: &str,
    until: Option<&str>,
    by: &str,
    ts: &str,
) -> Result<MarkerRecord, RecordError> {
    if reason.trim().is_empty() {
        return Err(refused(
            "the marker's reason is empty",
            "say why the run is kept: --reason \"legal hold\"",
        ));
    }
    let (mut summary, _ledger, path) = load_or_bare(repo, config, r)?;
    let fields = with_run(
        r.change.as_str(),
        r.run.as_str(),
        summary.as_ref().map(|s| s.seed),
        summary.as_ref().map(|s| s.plan_hash.as_str()),
        json!({ "reason": reason, "until": until, "by": by }),
    );
    append(repo, config, MARKER_SET, fields, ts)?;
    if let Some(s) = summary.as_mut() {
        s.retention.marker = Some(reason.to_string());
        s.retention.marker_until = until.map(str::to_string);
        save(&path, s)?;
    }
    Ok(MarkerRecord {
        reason: reason.to_string(),
        until: until.map(str::to_string),
        by: by.to_string(),
        at: ts.to_string(),
    })
}

/// Remove the run's marker; `Ok(None)` when it had none (nothing is written).
pub fn release(
    repo: &Repo,
    config: &Config,
    r: &RunRef,
    by: &str,
    ts: &str,
) -> Result<Option<MarkerRecord>, RecordError> {
    let (mut summary, ledger, path) = load_or_bare(repo, config, r)?;
    let summary_marker = summary.as_ref().and_then(|s| s.retention.marker.clone());
    let Some(marker) = ledger.marker.clone().or_else(|| {
        summary_marker.map(|reason| MarkerRecord {
            reason,
            until: None,
            by: String::new(),
            at: String::new(),
        })
    }) else {
        return Ok(None);
    };
    let fields = with_run(
        r.change.as_str(),
        r.run.as_str(),
        summary.as_ref().map(|s| s.seed),
        summary.as_ref().map(|s| s.plan_hash.as_str()),
        json!({ "by": by, "reason": marker.reason }),
    );
    append(repo, config, MARKER_RELEASED, fields, ts)?;
    if let Some(s) = summary.as_mut() {
        s.retention.marker = None;
        s.retention.marker_until = None;
        save(&path, s)?;
    }
    Ok(Some(marker))
}

/// Markers may be set on a run whose summary is gone (purged, or damaged): the event is what
/// counts.
fn load_or_bare(
    repo: &Repo,
    config: &Config,
    r: &RunRef,
) -> Result<(Option<Summary>, RunLedger, std::path::PathBuf), RecordError> {
    let path = artifacts_dir(repo, config, &r.change, r.run.as_str()).join("summary.json");
    let summary = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Summary>(&b).ok());
    let mut ledger = load_ledger(repo, config)?;
    let led = ledger
        .remove(&(r.change.to_string(), r.run.to_string()))
        .unwrap_or_default();
    Ok((summary, led, path))
}

/// Who is acting: `user.name` from git's config, else `$USER`, else "unknown".
pub fn default_actor(repo: &Repo) -> String {
    repo.git2()
        .config()
        .ok()
        .and_then(|c| c.get_string("user.name").ok())
        .filter(|s| !s.trim().is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}
