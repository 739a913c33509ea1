//! The decision: for every run, its retention state and the named reason, computed from a
//! snapshot of facts, the policy and the time — nothing else. `--dry-run` prints exactly these
//! decisions; the executor carries them out.
//!
//! Per run, in this order (the first that applies wins):
//!
//! 1. A run the log has ever decided purged stays on that track: whatever is left of it (an
//!    interrupted cleanup, a branch restored by hand) is deleted — unless a marker holds it, it
//!    is active, its branch is checked out or holds commits nothing else keeps — and it is
//!    never decided afresh (its summary may be gone by design).
//! 2. `active_run`: the run is running or paused.
//! 3. Fail closed — retained with a named reason: `summary_missing`, `summary_unreadable`,
//!    `unknown_state`, `bad_timestamp` (a recorded time is missing or does not parse),
//!    `future_timestamp` (a recorded time is after now), `approvals_record_missing` (summary.json
//!    lists an approval the audit log does not hold), `trailers_contradict_summary` (the run
//!    branch's tip was not made by this run, or the summary names another branch),
//!    `branch_moved` (the branch is not where the summary left it).
//! 4. `retention_marker`: a marker (`git microloop retain`) is in force; a review is scheduled.
//! 5. `retained_failed` / `retained_aborted`: not closed by a finalizer; `retained_pending_approval`:
//!    succeeded but a required role has not approved. A review is scheduled once
//!    `failed_review_after` has passed since the run finished.
//! 6. Otherwise the run is *eligible* since its last required approval (or its close). Then:
//!    `checked_out` if its branch is checked out in any worktree; `keep_last` if it is among the
//!    change's `keep_last` newest eligible runs; `ttl_not_expired` until `success_ttl` has passed
//!    since it became eligible; else purge (`auto_success_ttl`, or `auto_closed_ttl` for a closed
//!    run) — unless its branch tip is in the history of no ref that stays (a ref outside
//!    `refs/heads/microloop/`, or a run branch that is kept): `unmerged_commits`.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use super::facts::{RunFacts, SummaryFacts};
use super::ledger::Verdict;
use super::policy::{Policy, add, fmt_ts, parse_ts};
use crate::evidence::summary::Summary;
use crate::git::short_oid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Running or paused: never touched.
    Active,
    /// Kept, for the reason given.
    Retained,
    /// Approved (or closed): purged once its time has come.
    Eligible,
    Purged,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Active => "active",
            State::Retained => "retained",
            State::Eligible => "eligible",
            State::Purged => "purged",
        }
    }
}

macro_rules! reasons {
    ($($variant:ident => $name:literal,)*) => {
        /// Why a run is in its state. The names are stable: they appear in the audit log,
        /// summary.json and `--json` output.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        pub enum Reason { $(#[serde(rename = $name)] $variant,)* }

        impl Reason {
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(Reason::$variant => $name,)* }
            }

            pub fn parse(s: &str) -> Option<Reason> {
                match s { $($name => Some(Reason::$variant),)* _ => None }
            }
        }
    };
}

reasons! {
    AutoSuccessTtl => "auto_success_ttl",
    AutoClosedTtl => "auto_closed_ttl",
    TtlNotExpired => "ttl_not_expired",
    KeepLast => "keep_last",
    ActiveRun => "active_run",
    RetentionMarker => "retention_marker",
    RetainedFailed => "retained_failed",
    RetainedAborted => "retained_aborted",
    RetainedPendingApproval => "retained_pending_approval",
    CheckedOut => "checked_out",
    UnmergedCommits => "unmerged_commits",
    SummaryMissing => "summary_missing",
    SummaryUnreadable => "summary_unreadable",
    UnknownState => "unknown_state",
    BadTimestamp => "bad_timestamp",
    FutureTimestamp => "future_timestamp",
    ApprovalsRecordMissing => "approvals_record_missing",
    TrailersContradictSummary => "trailers_contradict_summary",
    BranchMoved => "branch_moved",
}

impl Reason {
    /// Reasons that need a person now: the facts are damaged or contradict each other, or the
    /// run holds commits nothing else keeps.
    fn needs_review_now(self) -> bool {
        matches!(
            self,
            Reason::UnmergedCommits
                | Reason::SummaryMissing
                | Reason::SummaryUnreadable
                | Reason::UnknownState
                | Reason::BadTimestamp
                | Reason::FutureTimestamp
                | Reason::ApprovalsRecordMissing
                | Reason::TrailersContradictSummary
                | Reason::BranchMoved
        )
    }
}

/// A review to add to the review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Review {
    pub reason: Reason,
    #[serde(serialize_with = "ser_ts")]
    pub due: Timestamp,
}

/// The state a run had before this decision: its last logged decision, else what its
/// summary.json says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Previous {
    pub state: String,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub change: String,
    pub run_id: String,
    pub state: State,
    pub reason: Reason,
    /// Something of the run is to be deleted now (branch, worktree, artifacts).
    pub purge: bool,
    #[serde(serialize_with = "ser_opt_ts")]
    pub eligible_at: Option<Timestamp>,
    #[serde(serialize_with = "ser_opt_ts")]
    pub purge_after: Option<Timestamp>,
    /// A review to schedule now (none when one was already scheduled for this reason).
    pub review: Option<Review>,
    /// For a purge: the ref that keeps the branch's commits, and its commit.
    pub keeper: Option<(String, String)>,
    /// The branch tip the decision was made on.
    pub tip: Option<String>,
    /// One line for people.
    pub detail: String,
    pub previous: Option<Previous>,
    /// State or reason differ from `previous`: the decision is logged.
    pub changed: bool,
}

fn ser_ts<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_ts(*t))
}

fn ser_opt_ts<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&fmt_ts(*t)),
        None => s.serialize_none(),
    }
}

/// Which commits the refs that stay keep. Implemented over git in the shell and over a model
/// graph in the property tests.
pub trait Reach {
    /// For each of `targets`, the index of a commit in `from` whose history holds it (a commit
    /// holds itself), or `None`.
    fn containing(&self, targets: &[&str], from: &[&str]) -> Vec<Option<usize>>;
}

/// Decide for every run that is not busy. `runs` is sorted by (change, run id); busy runs are
/// only counted as branches that stay.
pub fn decide(
    runs: &[RunFacts],
    policy: &Policy,
    now: Timestamp,
    reach: &dyn Reach,
) -> Vec<Decision> {
    let mut out: BTreeMap<usize, Decision> = BTreeMap::new();
    let mut candidates: Vec<Candidate> = Vec::new();
    for (i, r) in runs.iter().enumerate() {
        if r.busy {
            continue;
        }
        match classify(r, policy, now) {
            Class::Final(d) => {
                out.insert(i, *d);
            }
            Class::Candidate(c) => candidates.push(Candidate { index: i, ..c }),
        }
    }

    // keep_last: per change, the newest eligible runs (run ids sort by time) stay.
    let mut by_change: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in candidates.iter().filter(|c| !c.resume) {
        by_change
            .entry(runs[c.index].change.as_str())
            .or_default()
            .push(c);
    }
    let mut kept_last: BTreeSet<usize> = BTreeSet::new();
    // Newest first: by start time (run ids have one-second resolution), then run id.
    let started = |i: usize| runs[i].summary.get().and_then(|s| parse_ts(&s.started_at));
    for list in by_change.values_mut() {
        list.sort_by_cached_key(|c| {
            std::cmp::Reverse((started(c.index), runs[c.index].run_id.clone()))
        });
        kept_last.extend(list.iter().take(policy.keep_last as usize).map(|c| c.index));
    }

    let mut purge: Vec<&Candidate> = Vec::new();
    for c in &candidates {
        let r = &runs[c.index];
        let purge_after = c.eligible_at.and_then(|e| add(e, policy.success_ttl));
        if kept_last.contains(&c.index) {
            let d = decision(
                r,
                State::Eligible,
                Reason::KeepLast,
                format!(
                    "one of the {} newest eligible runs of {} (keep_last)",
                    policy.keep_last, r.change
                ),
            );
            out.insert(c.index, timed(d, c.eligible_at, purge_after));
            continue;
        }
        if !c.resume {
            match purge_after {
                Some(p) if now >= p => {}
                _ => {
                    let d = decision(
                        r,
                        State::Eligible,
                        Reason::TtlNotExpired,
                        match purge_after {
                            Some(p) => format!("purge after {}", fmt_ts(p)),
                            None => "its time to go never comes".into(),
                        },
                    );
                    out.insert(c.index, timed(d, c.eligible_at, purge_after));
                    continue;
                }
            }
        }
        purge.push(c);
    }

    // Reachability: a branch is deleted only if a ref that stays holds its tip.
    let purging: BTreeSet<usize> = purge.iter().map(|c| c.index).collect();
    let kept: Vec<(usize, &str, &str)> = runs
        .iter()
        .enumerate()
        .filter(|(i, _)| !purging.contains(i))
        .filter_map(|(i, r)| {
            r.branch
                .as_ref()
                .map(|b| (i, b.refname.as_str(), b.tip.as_str()))
        })
        .collect();
    let orphans: Vec<&Candidate> = purge
        .iter()
        .copied()
        .filter(|c| {
            runs[c.index]
                .branch
                .as_ref()
                .is_some_and(|b| b.keeper.is_none())
        })
        .collect();
    let targets: Vec<&str> = orphans
        .iter()
        .filter_map(|c| runs[c.index].branch.as_ref().map(|b| b.tip.as_str()))
        .collect();
    let from: Vec<&str> = kept.iter().map(|k| k.2).collect();
    let found = if targets.is_empty() {
        Vec::new()
    } else {
        reach.containing(&targets, &from)
    };
    let mut run_keepers: BTreeMap<usize, Option<(String, String)>> = BTreeMap::new();
    for (c, f) in orphans.iter().zip(found) {
        run_keepers.insert(
            c.index,
            f.and_then(|j| kept.get(j))
                .map(|k| (k.1.to_string(), k.2.to_string())),
        );
    }
    for c in purge {
        let r = &runs[c.index];
        let purge_after = c.eligible_at.and_then(|e| add(e, policy.success_ttl));
        let keeper = match (&r.branch, run_keepers.get(&c.index)) {
            (None, _) => None,
            (Some(b), None) => b.keeper.clone(),
            (Some(_), Some(k)) => k.clone(),
        };
        if let (Some(b), None) = (&r.branch, &keeper) {
            let d = decision(
                r,
                State::Retained,
                Reason::UnmergedCommits,
                format!(
                    "its tip {} is in the history of no ref that stays; merge it or delete the branch yourself",
                    short_oid(&b.tip)
                ),
            );
            out.insert(c.index, timed(d, c.eligible_at, purge_after));
            continue;
        }
        let mut d = decision(r, State::Purged, c.reason, c.detail.clone());
        d.purge = leftovers(r, policy);
        d.keeper = keeper;
        out.insert(c.index, timed(d, c.eligible_at, purge_after));
    }

    out.into_iter()
        .map(|(i, mut d)| {
            finish(&runs[i], policy, now, &mut d);
            d
        })
        .collect()
}

enum Class {
    Final(Box<Decision>),
    Candidate(Candidate),
}

#[derive(Clone)]
struct Candidate {
    index: usize,
    eligible_at: Option<Timestamp>,
    reason: Reason,
    detail: String,
    /// Finishing a purge the log already records.
    resume: bool,
}

fn candidate(
    eligible_at: Option<Timestamp>,
    reason: Reason,
    detail: String,
    resume: bool,
) -> Class {
    Class::Candidate(Candidate {
        index: 0,
        eligible_at,
        reason,
        detail,
        resume,
    })
}

fn decision(r: &RunFacts, state: State, reason: Reason, detail: String) -> Decision {
    Decision {
        change: r.change.clone(),
        run_id: r.run_id.clone(),
        state,
        reason,
        purge: false,
        eligible_at: None,
        purge_after: None,
        review: None,
        keeper: None,
        tip: r.branch.as_ref().map(|b| b.tip.clone()),
        detail,
        previous: None,
        changed: false,
    }
}

fn timed(
    mut d: Decision,
    eligible_at: Option<Timestamp>,
    purge_after: Option<Timestamp>,
) -> Decision {
    d.eligible_at = eligible_at;
    d.purge_after = purge_after;
    d
}

fn retained(r: &RunFacts, reason: Reason, detail: impl Into<String>) -> Class {
    Class::Final(Box::new(decision(
        r,
        State::Retained,
        reason,
        detail.into(),
    )))
}

/// Anything of the run left to delete.
fn leftovers(r: &RunFacts, policy: &Policy) -> bool {
    let artifacts = r.artifacts.exists && !(policy.keep_summary && r.artifacts.only_summary);
    r.branch.is_some() || r.worktree || artifacts
}

fn is_active(r: &RunFacts) -> bool {
    let open = |s: &str| matches!(s, "running" | "paused");
    r.run_status.as_deref().is_some_and(open) || r.summary.get().is_some_and(|s| open(&s.status))
}

/// A marker in force: the logged one, or — fail closed — one summary.json names that the log
/// does not. A marker with `until` in the past has expired.
fn marker(r: &RunFacts, now: Timestamp) -> Option<(String, Option<Timestamp>, Option<Timestamp>)> {
    if let Some(m) = &r.ledger.marker {
        let until = m.until.as_deref().and_then(parse_ts);
        if m.until.is_some() && until.is_none() {
            // An unreadable `until` never expires.
            return Some((m.reason.clone(), None, parse_ts(&m.at)));
        }
        return match until {
            Some(u) if u <= now => None,
            _ => Some((m.reason.clone(), until, parse_ts(&m.at))),
        };
    }
    let s = r.summary.get()?;
    let reason = s.retention.marker.clone()?;
    let until = s.retention.marker_until.as_deref().and_then(parse_ts);
    match until {
        Some(u) if u <= now => None,
        _ => Some((reason, until, None)),
    }
}

fn classify(r: &RunFacts, policy: &Policy, now: Timestamp) -> Class {
    let marked = marker(r, now);
    if let Some(last) = &r.ledger.purged {
        if let Some((why, ..)) = marked {
            return retained(r, Reason::RetentionMarker, format!("marker: {why}"));
        }
        if is_active(r) {
            return Class::Final(Box::new(decision(
                r,
                State::Active,
                Reason::ActiveRun,
                "running or paused".into(),
            )));
        }
        let reason = Reason::parse(&last.reason).unwrap_or(Reason::AutoSuccessTtl);
        let eligible_at = last.eligible_at.as_deref().and_then(parse_ts);
        if !leftovers(r, policy) {
            let d = decision(r, State::Purged, reason, format!("purged {}", last.at));
            let purge_after = last.purge_after.as_deref().and_then(parse_ts);
            return Class::Final(Box::new(timed(d, eligible_at, purge_after)));
        }
        if let Some(b) = r.branch.as_ref().and_then(|b| b.checked_out.as_ref()) {
            return retained(r, Reason::CheckedOut, format!("checked out in {b}"));
        }
        // The purge was decided on the tip it logged; a branch anywhere else is not that one.
        if let Some(b) = r
            .branch
            .as_ref()
            .filter(|b| last.tip.as_deref() != Some(b.tip.as_str()))
        {
            return retained(
                r,
                Reason::BranchMoved,
                format!(
                    "the purge was decided on {}, the branch is at {}",
                    short_oid(last.tip.as_deref().unwrap_or("nothing")),
                    short_oid(&b.tip)
                ),
            );
        }
        return candidate(
            eligible_at,
            reason,
            format!("finishing the purge logged at {}", last.at),
            true,
        );
    }
    if is_active(r) {
        return Class::Final(Box::new(decision(
            r,
            State::Active,
            Reason::ActiveRun,
            "running or paused".into(),
        )));
    }
    let s: &Summary = match &r.summary {
        SummaryFacts::Missing => {
            return retained(
                r,
                Reason::SummaryMissing,
                "no summary.json: nothing says what this run is",
            );
        }
        SummaryFacts::Unreadable(e) => return retained(r, Reason::SummaryUnreadable, e.clone()),
        SummaryFacts::Read(s) => s,
    };
    if s.run_id != r.run_id || s.change != r.change {
        return retained(
            r,
            Reason::SummaryUnreadable,
            format!("summary.json describes {} of {}", s.run_id, s.change),
        );
    }
    if !matches!(s.status.as_str(), "succeeded" | "failed" | "aborted") {
        return retained(r, Reason::UnknownState, format!("status {:?}", s.status));
    }
    if let Err(c) = check_times(r, s, now) {
        return c;
    }
    if let Some(missing) = s.approvals.iter().find(|a| {
        !r.ledger
            .approvals
            .iter()
            .any(|l| l.role == a.role && l.at == a.at)
    }) {
        return retained(
            r,
            Reason::ApprovalsRecordMissing,
            format!(
                "summary.json lists {}'s approval at {}, which the audit log does not hold",
                missing.role, missing.at
            ),
        );
    }
    if let Some(b) = &r.branch {
        if s.run_branch != b.refname {
            return retained(
                r,
                Reason::TrailersContradictSummary,
                format!("summary.json names the branch {}", s.run_branch),
            );
        }
        if s.head_commit.as_deref().is_some_and(|h| h != b.tip) {
            return retained(
                r,
                Reason::BranchMoved,
                format!(
                    "the branch is at {}, summary.json says {}",
                    short_oid(&b.tip),
                    short_oid(s.head_commit.as_deref().unwrap_or_default())
                ),
            );
        }
        let t = &b.tip_trailers;
        let ours = t.run.as_deref() == Some(r.run_id.as_str())
            && t.change.as_deref() == Some(r.change.as_str())
            && t.plan.as_deref() == Some(s.plan_hash.as_str());
        if b.tip != s.base_commit && !ours {
            return retained(
                r,
                Reason::TrailersContradictSummary,
                format!(
                    "the tip {} carries Microloop-Run {:?}, -Change {:?}, -Plan {:?}",
                    short_oid(&b.tip),
                    t.run.as_deref().unwrap_or("none"),
                    t.change.as_deref().unwrap_or("none"),
                    t.plan.as_deref().unwrap_or("none")
                ),
            );
        }
    }
    if let Some((why, ..)) = marked {
        return retained(r, Reason::RetentionMarker, format!("marker: {why}"));
    }
    let eligible = match s.status.as_str() {
        "succeeded" => {
            let mut at: Vec<Timestamp> = Vec::new();
            let mut missing: Vec<&str> = Vec::new();
            for role in &policy.required {
                let first = r
                    .ledger
                    .approvals
                    .iter()
                    .filter(|a| &a.role == role && a.verdict == Verdict::Approve)
                    .filter_map(|a| parse_ts(&a.at))
                    .min();
                match first {
                    Some(t) => at.push(t),
                    None => missing.push(role),
                }
            }
            if !missing.is_empty() {
                return retained(
                    r,
                    Reason::RetainedPendingApproval,
                    format!("waiting for: {}", missing.join(", ")),
                );
            }
            // No roles required: eligible since it finished.
            let eligible_at = at
                .into_iter()
                .max()
                .or_else(|| s.finished_at.as_deref().and_then(parse_ts));
            (
                eligible_at,
                Reason::AutoSuccessTtl,
                "approved by all required roles".to_string(),
            )
        }
        status => {
            let close = r
                .ledger
                .approvals
                .iter()
                .filter(|a| a.verdict == Verdict::Close && policy.may_finalize(&a.role))
                .filter_map(|a| parse_ts(&a.at).map(|t| (t, a)))
                .min_by_key(|(t, _)| *t);
            match close {
                Some((t, a)) => (
                    Some(t),
                    Reason::AutoClosedTtl,
                    format!("closed by {} ({})", a.role, a.by),
                ),
                None => {
                    let reason = if status == "failed" {
                        Reason::RetainedFailed
                    } else {
                        Reason::RetainedAborted
                    };
                    return retained(
                        r,
                        reason,
                        format!(
                            "{status}; a finalizer ({}) may close it",
                            policy.finalizers.join(", ")
                        ),
                    );
                }
            }
        }
    };
    let (eligible_at, reason, detail) = eligible;
    if let Some(b) = r.branch.as_ref().and_then(|b| b.checked_out.as_ref()) {
        let mut d = decision(
            r,
            State::Retained,
            Reason::CheckedOut,
            format!("checked out in {b}"),
        );
        d.eligible_at = eligible_at;
        return Class::Final(Box::new(d));
    }
    candidate(eligible_at, reason, detail, false)
}

/// Recorded times must parse and must not lie in the future.
fn check_times(r: &RunFacts, s: &Summary, now: Timestamp) -> Result<(), Class> {
    let mut times: Vec<(&str, Option<&str>)> = vec![("started_at", Some(s.started_at.as_str()))];
    // A failed run is still open (it can be continued): it has not finished.
    if s.status != "failed" || s.finished_at.is_some() {
        times.push(("finished_at", s.finished_at.as_deref()));
    }
    for a in &r.ledger.approvals {
        times.push(("an approval", Some(a.at.as_str())));
    }
    if let Some(m) = &r.ledger.marker {
        times.push(("the marker", Some(m.at.as_str())));
    }
    for (what, t) in times {
        let Some(text) = t else {
            return Err(retained(
                r,
                Reason::BadTimestamp,
                format!("{what} is missing"),
            ));
        };
        match parse_ts(text) {
            None => {
                return Err(retained(
                    r,
                    Reason::BadTimestamp,
                    format!("{what} {text:?} is not a time"),
                ));
            }
            Some(t) if t > now => {
                return Err(retained(
                    r,
                    Reason::FutureTimestamp,
                    format!("{what} {text} is after now ({})", fmt_ts(now)),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The previous state, whether this decision changes it, and the review to schedule.
fn finish(r: &RunFacts, policy: &Policy, now: Timestamp, d: &mut Decision) {
    d.previous = previous(r);
    d.changed = d.previous.as_ref().is_none_or(|p| {
        p.state != d.state.as_str() || p.reason.as_deref() != Some(d.reason.as_str())
    });
    // Reviews count from when the run finished (a failed run, still open: when it started).
    let finished = r
        .summary
        .get()
        .and_then(|s| s.finished_at.as_deref().or(Some(s.started_at.as_str())))
        .and_then(parse_ts);
    let due = match d.reason {
        Reason::RetentionMarker => match marker(r, now) {
            Some((_, Some(until), _)) => Some(until),
            Some((_, None, Some(set))) => add(set, policy.failed_review_after),
            _ => finished
                .and_then(|f| add(f, policy.failed_review_after))
                .or(Some(now)),
        },
        Reason::RetainedFailed | Reason::RetainedAborted | Reason::RetainedPendingApproval => {
            finished
                .and_then(|f| add(f, policy.failed_review_after))
                .filter(|due| now >= *due)
        }
        reason if reason.needs_review_now() => Some(now),
        _ => None,
    };
    d.review = due
        .filter(|_| !r.ledger.reviews.contains(d.reason.as_str()))
        .map(|due| Review {
            reason: d.reason,
            due,
        });
}

fn previous(r: &RunFacts) -> Option<Previous> {
    if let Some(l) = &r.ledger.last {
        return Some(Previous {
            state: l.state.clone(),
            reason: Some(l.reason.clone()),
        });
    }
    let s = r.summary.get()?;
    let reason = match (s.retention.state.as_str(), &s.retention.reason) {
        // An open run's summary says `active` without a reason.
        ("active", None) => Some(Reason::ActiveRun.as_str().to_string()),
        (_, reason) => reason.clone(),
    };
    Some(Previous {
        state: s.retention.state.clone(),
        reason,
    })
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
