//! The retention audit trail: the events approvals, markers and cleanup write to
//! `audit/retention.jsonl` (and the review queue), and reading them back into one record per
//! run. The log is the truth — summary.json's `approvals` and `retention` are copies — so every
//! decision is made from recorded events, never from file times.
//!
//! Events (every one carries `change` and `run_id`, and `seed` and `plan_hash` when known):
//!
//! - `run_approved`: `role`, `by`, `note`, `decision` (`approve`, or `close` for a finalizer
//!   closing a failed or aborted run);
//! - `retention_marker_set`: `reason`, `until` (or null), `by`;
//! - `retention_marker_released`: `by`;
//! - `retention_decision`: a run's retention state changed: `state`, `reason`,
//!   `previous_state`, `previous_reason`, `run_branch`, `tip` (the commit the decision was
//!   made on: restore a purged branch with `git update-ref <run_branch> <tip>`), `artifacts`,
//!   `keep_summary`, `eligible_at`, `purge_after`, `review_due`, `detail`;
//! - `notification_failed`: the notifier failed (`notified_event`, `reason`, `log`);
//! - in the review queue (`audit/retention_reviews.jsonl`): `review_scheduled` with `reason`
//!   and `due`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Value, json};

pub const APPROVED: &str = "run_approved";
pub const MARKER_SET: &str = "retention_marker_set";
pub const MARKER_RELEASED: &str = "retention_marker_released";
pub const DECISION: &str = "retention_decision";
pub const REVIEW: &str = "review_scheduled";
pub const NOTIFICATION_FAILED: &str = "notification_failed";

/// What an approval decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The role approves a succeeded run.
    Approve,
    /// A finalizer closes a failed or aborted run: it may be purged like an approved one.
    Close,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Approve => "approve",
            Verdict::Close => "close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRecord {
    pub role: String,
    pub by: String,
    /// The event's `ts` (RFC 3339 UTC).
    pub at: String,
    pub note: Option<String>,
    pub verdict: Verdict,
}

/// summary.json's form of a logged approval.
impl From<&ApprovalRecord> for crate::evidence::summary::Approval {
    fn from(a: &ApprovalRecord) -> Self {
        crate::evidence::summary::Approval {
            role: a.role.clone(),
            by: a.by.clone(),
            at: a.at.clone(),
            note: a.note.clone(),
            decision: Some(a.verdict.as_str().to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerRecord {
    pub reason: String,
    pub until: Option<String>,
    pub by: String,
    pub at: String,
}

/// The last `retention_decision` of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastDecision {
    pub state: String,
    pub reason: String,
    pub at: String,
    pub tip: Option<String>,
    pub eligible_at: Option<String>,
    pub purge_after: Option<String>,
}

/// Everything the logs hold about one run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunLedger {
    pub approvals: Vec<ApprovalRecord>,
    /// The marker in force (after the last set or release).
    pub marker: Option<MarkerRecord>,
    pub last: Option<LastDecision>,
    /// The last `purged` decision, if the run was ever decided purged: from then on the run is
    /// finished off (what is left of it deleted) rather than decided afresh.
    pub purged: Option<LastDecision>,
    /// Reasons a review was already scheduled for (once per run and reason).
    pub reviews: BTreeSet<String>,
    pub seed: Option<u64>,
    pub plan_hash: Option<String>,
}

/// (change, run id) → ledger, sorted.
pub type Ledger = BTreeMap<(String, String), RunLedger>;

/// The fields of a line we care about; everything else is skipped.
#[derive(Deserialize)]
struct Line {
    ts: String,
    event: String,
    change: Option<String>,
    run_id: Option<String>,
    role: Option<String>,
    by: Option<String>,
    note: Option<String>,
    decision: Option<String>,
    reason: Option<String>,
    until: Option<String>,
    state: Option<String>,
    tip: Option<String>,
    eligible_at: Option<String>,
    purge_after: Option<String>,
    seed: Option<u64>,
    plan_hash: Option<String>,
}

/// Fold the lines of `audit/retention.jsonl` (and, with `reviews`, the review queue) into the
/// ledger. Lines that do not parse are skipped: the caller verified the chain first, so they can
/// only be a torn last line or events of other kinds.
pub fn read_into(ledger: &mut Ledger, text: &[u8]) {
    for raw in text.split(|&b| b == b'\n') {
        if raw.is_empty() {
            continue;
        }
        let Ok(l) = serde_json::from_slice::<Line>(raw) else {
            continue;
        };
        let (Some(change), Some(run)) = (l.change, l.run_id) else {
            continue;
        };
        let entry = ledger.entry((change, run)).or_default();
        if let Some(seed) = l.seed {
            entry.seed = Some(seed);
        }
        if l.plan_hash.is_some() {
            entry.plan_hash = l.plan_hash;
        }
        match l.event.as_str() {
            APPROVED => {
                let verdict = match l.decision.as_deref() {
                    Some("close") => Verdict::Close,
                    _ => Verdict::Approve,
                };
                entry.approvals.push(ApprovalRecord {
                    role: l.role.unwrap_or_default(),
                    by: l.by.unwrap_or_default(),
                    at: l.ts,
                    note: l.note,
                    verdict,
                });
            }
            MARKER_SET => {
                entry.marker = Some(MarkerRecord {
                    reason: l.reason.unwrap_or_default(),
                    until: l.until,
                    by: l.by.unwrap_or_default(),
                    at: l.ts,
                });
            }
            MARKER_RELEASED => entry.marker = None,
            DECISION => {
                let d = LastDecision {
                    state: l.state.unwrap_or_default(),
                    reason: l.reason.unwrap_or_default(),
                    at: l.ts,
                    tip: l.tip,
                    eligible_at: l.eligible_at,
                    purge_after: l.purge_after,
                };
                if d.state == "purged" {
                    entry.purged = Some(d.clone());
                }
                entry.last = Some(d);
            }
            REVIEW => {
                if let Some(r) = l.reason {
                    entry.reviews.insert(r);
                }
            }
            _ => {}
        }
    }
}

/// `seed` and `plan_hash` for an event's fields, when known.
pub fn with_run(
    change: &str,
    run: &str,
    seed: Option<u64>,
    plan: Option<&str>,
    fields: Value,
) -> Value {
    let mut v = fields;
    if let Value::Object(map) = &mut v {
        map.insert("change".into(), json!(change));
        map.insert("run_id".into(), json!(run));
        if let Some(s) = seed {
            map.insert("seed".into(), json!(s));
        }
        if let Some(p) = plan {
            map.insert("plan_hash".into(), json!(p));
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_folds_approvals_markers_decisions_and_reviews() {
        let lines = [
            r#"{"seq":1,"prev":"x","ts":"2026-01-01T00:00:00Z","event":"run_approved","change":"CH-1","run_id":"run-a","role":"PM","by":"ann","note":null,"decision":"approve","seed":42}"#,
            r#"{"seq":2,"prev":"x","ts":"2026-01-02T00:00:00Z","event":"retention_marker_set","change":"CH-1","run_id":"run-a","reason":"legal hold","until":null,"by":"bob"}"#,
            r#"{"seq":3,"prev":"x","ts":"2026-01-03T00:00:00Z","event":"retention_decision","change":"CH-1","run_id":"run-a","state":"retained","reason":"retention_marker","tip":"abc"}"#,
            r#"{"seq":4,"prev":"x","ts":"2026-01-04T00:00:00Z","event":"retention_marker_released","change":"CH-1","run_id":"run-a","by":"bob"}"#,
            r#"{"seq":5,"prev":"x","ts":"2026-01-05T00:00:00Z","event":"run_approved","change":"CH-1","run_id":"run-b","role":"GO","by":"g","decision":"close"}"#,
            r#"{"seq":6,"prev":"x","ts":"2026-01-05T00:00:00Z","event":"review_scheduled","change":"CH-1","run_id":"run-b","reason":"retained_failed","due":"x"}"#,
            "{torn",
        ];
        let mut ledger = Ledger::new();
        read_into(&mut ledger, lines.join("\n").as_bytes());
        let a = &ledger[&("CH-1".to_string(), "run-a".to_string())];
        assert_eq!(a.approvals.len(), 1);
        assert_eq!(a.approvals[0].role, "PM");
        assert_eq!(a.approvals[0].at, "2026-01-01T00:00:00Z");
        assert!(a.marker.is_none());
        assert_eq!(a.last.as_ref().unwrap().reason, "retention_marker");
        assert_eq!(a.seed, Some(42));
        let b = &ledger[&("CH-1".to_string(), "run-b".to_string())];
        assert_eq!(b.approvals[0].verdict, Verdict::Close);
        assert!(b.reviews.contains("retained_failed"));
    }
}
