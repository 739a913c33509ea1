//! The decision over hand-made and random snapshots.

use std::collections::{BTreeMap, BTreeSet};

use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;

use super::*;
use crate::evidence::summary::{Approval, Progress, Retention, Summary, Totals};
use crate::retention::facts::{ArtifactFacts, BranchFacts, TipTrailers};
use crate::retention::ledger::{ApprovalRecord, LastDecision, MarkerRecord, RunLedger};

const PLAN: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000001";

fn t(day: i64) -> Timestamp {
    Timestamp::from_second(1_790_000_000 + day * 86_400).unwrap()
}

fn ts(day: i64) -> String {
    fmt_ts(t(day))
}

fn oid(n: u8) -> String {
    format!("{:040x}", u32::from(n) + 1)
}

fn summary(change: &str, run: &str, status: &str, finished: i64, tip: Option<&str>) -> Summary {
    Summary {
        schema_version: 1,
        change: change.into(),
        run_id: run.into(),
        status: status.into(),
        seed: 42,
        strategy: "spec-like".into(),
        planner_version: 1,
        plan_hash: PLAN.into(),
        planner_fallback: None,
        base_commit: "f".repeat(40),
        head_commit: tip.map(Into::into),
        run_branch: format!("refs/heads/microloop/{change}/{run}"),
        started_at: ts(finished - 1),
        finished_at: Some(ts(finished)),
        tasks: vec![],
        totals: Totals::default(),
        plan_progress: Progress::default(),
        retention: Retention {
            state: "retained".into(),
            reason: Some("retained_pending_approval".into()),
            ..Retention::default()
        },
        approvals: vec![],
        audit_anchor: None,
    }
}

/// A succeeded run finished on day 0, its branch at `tip` kept by `refs/heads/main`.
fn run(change: &str, id: &str, tip: u8) -> RunFacts {
    let tip = oid(tip);
    RunFacts {
        change: change.into(),
        run_id: id.into(),
        branch: Some(BranchFacts {
            refname: format!("refs/heads/microloop/{change}/{id}"),
            tip: tip.clone(),
            keeper: Some(("refs/heads/main".into(), oid(99))),
            checked_out: None,
            tip_trailers: TipTrailers {
                change: Some(change.into()),
                run: Some(id.into()),
                plan: Some(PLAN.into()),
            },
        }),
        artifacts: ArtifactFacts {
            exists: true,
            only_summary: false,
        },
        worktree: false,
        summary: SummaryFacts::Read(Box::new(summary(change, id, "succeeded", 0, Some(&tip)))),
        run_status: Some("succeeded".into()),
        ledger: RunLedger::default(),
        busy: false,
    }
}

fn approve(r: &mut RunFacts, role: &str, day: i64) {
    r.ledger.approvals.push(ApprovalRecord {
        role: role.into(),
        by: "someone".into(),
        at: ts(day),
        note: None,
        verdict: Verdict::Approve,
    });
}

fn approved(change: &str, id: &str, tip: u8, day: i64) -> RunFacts {
    let mut r = run(change, id, tip);
    for role in ["GO", "PM", "QA"] {
        approve(&mut r, role, day);
    }
    r
}

fn policy(ttl_days: i64, keep_last: u32) -> Policy {
    Policy {
        success_ttl: SignedDuration::from_hours(ttl_days * 24),
        failed_review_after: SignedDuration::from_hours(14 * 24),
        required: vec!["GO".into(), "PM".into(), "QA".into()],
        finalizers: vec!["GO".into(), "HR".into()],
        keep_last,
        keep_summary: true,
    }
}

/// Nothing is reachable from anything but itself.
struct NoHistory;

impl Reach for NoHistory {
    fn containing(&self, targets: &[&str], from: &[&str]) -> Vec<Option<usize>> {
        targets
            .iter()
            .map(|t| from.iter().position(|f| f == t))
            .collect()
    }
}

fn one(r: RunFacts, p: &Policy, now: i64) -> Decision {
    decide(&[r], p, t(now), &NoHistory).remove(0)
}

#[test]
fn approved_and_expired_is_purged_from_the_last_approval() {
    let mut r = approved("CH-1", "run-1", 1, 2);
    approve(&mut r, "PM", 1); // an earlier approval by the same role counts from its first
    let d = one(r.clone(), &policy(7, 0), 9);
    assert_eq!(
        (d.state, d.reason, d.purge),
        (State::Purged, Reason::AutoSuccessTtl, true)
    );
    assert_eq!(d.eligible_at, Some(t(2)));
    assert_eq!(d.purge_after, Some(t(9)));
    assert_eq!(d.keeper, Some(("refs/heads/main".into(), oid(99))));
    assert!(d.changed);
    let d = one(r, &policy(7, 0), 8);
    assert_eq!(
        (d.state, d.reason, d.purge),
        (State::Eligible, Reason::TtlNotExpired, false)
    );
}

#[test]
fn waiting_for_approval_never_ages_a_run_out() {
    let mut r = run("CH-1", "run-1", 1);
    approve(&mut r, "PM", 1);
    approve(&mut r, "QA", 1);
    let d = one(r.clone(), &policy(0, 0), 400);
    assert_eq!(
        (d.state, d.reason),
        (State::Retained, Reason::RetainedPendingApproval)
    );
    assert_eq!(d.detail, "waiting for: GO");
    assert!(!d.changed, "the summary already says so");
    // Past failed_review_after since it finished: a review, once.
    assert_eq!(
        d.review.map(|r| (r.reason, r.due)),
        Some((Reason::RetainedPendingApproval, t(14)))
    );
    approve(&mut r, "GO", 300);
    let d = one(r, &policy(7, 0), 305);
    assert_eq!(
        (d.state, d.reason),
        (State::Eligible, Reason::TtlNotExpired)
    );
    assert_eq!(d.purge_after, Some(t(307)));
}

#[test]
fn markers_failures_and_open_runs_are_kept() {
    let mut r = approved("CH-1", "run-1", 1, 1);
    r.ledger.marker = Some(MarkerRecord {
        reason: "legal hold".into(),
        until: Some(ts(20)),
        by: "x".into(),
        at: ts(1),
    });
    let d = one(r.clone(), &policy(0, 0), 5);
    assert_eq!(
        (d.state, d.reason),
        (State::Retained, Reason::RetentionMarker)
    );
    assert_eq!(d.review.map(|r| r.due), Some(t(20)));
    // An expired marker holds nothing.
    assert_eq!(
        one(r.clone(), &policy(0, 0), 21).reason,
        Reason::AutoSuccessTtl
    );
    // A marker only summary.json knows of still holds (fail closed).
    r.ledger.marker = None;
    if let SummaryFacts::Read(s) = &mut r.summary {
        s.retention.marker = Some("hold".into());
    }
    assert_eq!(one(r, &policy(0, 0), 5).reason, Reason::RetentionMarker);

    for (status, reason) in [
        ("failed", Reason::RetainedFailed),
        ("aborted", Reason::RetainedAborted),
    ] {
        let mut r = approved("CH-1", "run-1", 1, 1);
        if let SummaryFacts::Read(s) = &mut r.summary {
            s.status = status.into();
        }
        assert_eq!(one(r.clone(), &policy(0, 0), 5).reason, reason);
        // A close by a finalizer makes it eligible; one by another role does not.
        r.ledger.approvals.push(ApprovalRecord {
            role: "PM".into(),
            by: "p".into(),
            at: ts(2),
            note: None,
            verdict: Verdict::Close,
        });
        assert_eq!(one(r.clone(), &policy(0, 0), 5).reason, reason);
        r.ledger.approvals.push(ApprovalRecord {
            role: "HR".into(),
            by: "h".into(),
            at: ts(3),
            note: None,
            verdict: Verdict::Close,
        });
        let d = one(r, &policy(0, 0), 5);
        assert_eq!(
            (d.state, d.reason, d.eligible_at),
            (State::Purged, Reason::AutoClosedTtl, Some(t(3)))
        );
    }

    let mut r = approved("CH-1", "run-1", 1, 1);
    r.run_status = Some("paused".into());
    assert_eq!(one(r, &policy(0, 0), 5).reason, Reason::ActiveRun);
}

#[test]
fn fail_closed_on_damaged_or_contradicting_facts() {
    let base = approved("CH-1", "run-1", 1, 1);
    let case = |f: &dyn Fn(&mut RunFacts)| {
        let mut r = base.clone();
        f(&mut r);
        let d = one(r, &policy(0, 0), 5);
        assert_eq!(d.state, State::Retained, "{d:?}");
        assert!(!d.purge);
        d.reason
    };
    assert_eq!(
        case(&|r| r.summary = SummaryFacts::Missing),
        Reason::SummaryMissing
    );
    assert_eq!(
        case(&|r| r.summary = SummaryFacts::Unreadable("bad".into())),
        Reason::SummaryUnreadable
    );
    let edit = |f: fn(&mut Summary)| {
        move |r: &mut RunFacts| {
            if let SummaryFacts::Read(s) = &mut r.summary {
                f(s)
            }
        }
    };
    assert_eq!(
        case(&edit(|s| s.status = "exploded".into())),
        Reason::UnknownState
    );
    assert_eq!(
        case(&edit(|s| s.finished_at = Some(ts(6)))),
        Reason::FutureTimestamp
    );
    assert_eq!(case(&edit(|s| s.finished_at = None)), Reason::BadTimestamp);
    assert_eq!(
        case(&edit(|s| s.started_at = "yesterday".into())),
        Reason::BadTimestamp
    );
    assert_eq!(case(&|r| approve(r, "HR", 9)), Reason::FutureTimestamp);
    assert_eq!(
        case(&edit(|s| s.approvals.push(Approval {
            role: "QA".into(),
            by: "q".into(),
            at: ts(0),
            note: None,
            decision: None,
        }))),
        Reason::ApprovalsRecordMissing
    );
    assert_eq!(
        case(&edit(|s| s.head_commit = Some(oid(7)))),
        Reason::BranchMoved
    );
    assert_eq!(
        case(&edit(|s| s.plan_hash = "sha256:other".into())),
        Reason::TrailersContradictSummary
    );
    assert_eq!(
        case(&|r| r.branch.as_mut().unwrap().tip_trailers.run = Some("run-other".into())),
        Reason::TrailersContradictSummary
    );
    assert_eq!(
        case(&edit(|s| s.run_id = "run-9".into())),
        Reason::SummaryUnreadable
    );
    for reason in [Reason::SummaryMissing, Reason::BranchMoved] {
        assert!(reason.needs_review_now());
    }
}

#[test]
fn unmerged_and_checked_out_branches_are_kept() {
    let mut r = approved("CH-1", "run-1", 1, 1);
    r.branch.as_mut().unwrap().keeper = None;
    let d = one(r.clone(), &policy(0, 0), 5);
    assert_eq!(
        (d.state, d.reason),
        (State::Retained, Reason::UnmergedCommits)
    );
    assert_eq!(d.review.map(|r| r.due), Some(t(5)));
    // Another run's branch that stays holds the commit: fine, and it is the keeper.
    let mut other = run("CH-1", "run-2", 1);
    other.run_status = Some("running".into());
    let ds = decide(&[r.clone(), other], &policy(0, 0), t(5), &NoHistory);
    assert_eq!(ds[0].reason, Reason::AutoSuccessTtl);
    assert_eq!(
        ds[0].keeper.as_ref().unwrap().0,
        "refs/heads/microloop/CH-1/run-2"
    );
    assert_eq!(ds[1].reason, Reason::ActiveRun);
    // …but not a branch that is purged in the same cleanup.
    let twin = approved("CH-1", "run-2", 1, 1);
    let ds = decide(&[r.clone(), twin.clone()], &policy(0, 0), t(5), &NoHistory);
    assert_eq!(ds[0].reason, Reason::UnmergedCommits);
    assert_eq!(ds[1].reason, Reason::AutoSuccessTtl);
    // A busy change's branches stay.
    let mut busy = twin;
    busy.busy = true;
    let ds = decide(&[r.clone(), busy], &policy(0, 0), t(5), &NoHistory);
    assert_eq!(ds.len(), 1);
    assert_eq!(ds[0].reason, Reason::AutoSuccessTtl);

    r.branch.as_mut().unwrap().checked_out = Some("/elsewhere".into());
    assert_eq!(one(r, &policy(0, 0), 5).reason, Reason::CheckedOut);
}

#[test]
fn keep_last_counts_only_eligible_runs_newest_first() {
    let runs = vec![
        approved("CH-1", "run-1", 1, 1),
        approved("CH-1", "run-2", 2, 1),
        run("CH-1", "run-3", 3), // pending: does not count
        approved("CH-2", "run-4", 4, 1),
    ];
    let ds = decide(&runs, &policy(0, 1), t(5), &NoHistory);
    let got: Vec<(&str, Reason)> = ds.iter().map(|d| (d.run_id.as_str(), d.reason)).collect();
    assert_eq!(
        got,
        [
            ("run-1", Reason::AutoSuccessTtl),
            ("run-2", Reason::KeepLast),
            ("run-3", Reason::RetainedPendingApproval),
            ("run-4", Reason::KeepLast),
        ]
    );
}

#[test]
fn keep_last_orders_by_start_time_before_run_id() {
    // Two runs in the same second: the id's random suffix says nothing about which is newer.
    let mut older = approved("CH-1", "run-1-ffff", 1, 1);
    let newer = approved("CH-1", "run-1-0000", 2, 1);
    if let SummaryFacts::Read(s) = &mut older.summary {
        s.started_at = ts(-2);
    }
    let ds = decide(&[older, newer], &policy(0, 1), t(5), &NoHistory);
    assert_eq!(
        (ds[0].run_id.as_str(), ds[0].reason),
        ("run-1-ffff", Reason::AutoSuccessTtl)
    );
    assert_eq!(
        (ds[1].run_id.as_str(), ds[1].reason),
        ("run-1-0000", Reason::KeepLast)
    );
}

#[test]
fn a_logged_purge_is_finished_and_then_stays_quiet() {
    let mut r = approved("CH-1", "run-1", 1, 1);
    let last = LastDecision {
        state: "purged".into(),
        reason: "auto_success_ttl".into(),
        at: ts(3),
        tip: Some(oid(1)),
        eligible_at: Some(ts(1)),
        purge_after: Some(ts(1)),
    };
    r.ledger.purged = Some(last.clone());
    r.ledger.last = Some(last);
    // Interrupted: the branch is still there.
    let d = one(r.clone(), &policy(0, 0), 5);
    assert_eq!((d.state, d.purge, d.changed), (State::Purged, true, false));
    // A branch that is not where the purge was decided is not deleted.
    let mut moved = r.clone();
    moved.branch.as_mut().unwrap().tip = oid(5);
    let d = one(moved, &policy(0, 0), 5);
    assert_eq!(
        (d.state, d.reason, d.purge),
        (State::Retained, Reason::BranchMoved, false)
    );
    // Finished: nothing left but summary.json, which keep_summary keeps.
    r.branch = None;
    r.artifacts.only_summary = true;
    let d = one(r.clone(), &policy(0, 0), 5);
    assert_eq!((d.state, d.purge, d.changed), (State::Purged, false, false));
    assert_eq!(d.eligible_at, Some(t(1)));
    // A marker set afterwards holds what is left (a restored branch).
    r.ledger.marker = Some(MarkerRecord {
        reason: "restored for audit".into(),
        until: None,
        by: "x".into(),
        at: ts(4),
    });
    let d = one(r, &policy(0, 0), 5);
    assert_eq!(
        (d.state, d.reason, d.changed),
        (State::Retained, Reason::RetentionMarker, true)
    );
}

#[test]
fn reviews_are_scheduled_once_per_reason() {
    let mut r = run("CH-1", "run-1", 1);
    let d = one(r.clone(), &policy(0, 0), 20);
    assert!(d.review.is_some());
    r.ledger.reviews.insert("retained_pending_approval".into());
    assert!(one(r, &policy(0, 0), 20).review.is_none());
}

#[test]
fn reason_names_round_trip() {
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(*r));
        assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
    }
}

// ------------------------------------------------------------------------------------------
// Property: random runs, histories, policies and clocks.

/// A model history: node i's parents are earlier nodes.
#[derive(Debug, Clone)]
struct Graph {
    parents: Vec<Vec<u8>>,
}

impl Graph {
    fn reach(&self, from: &[u8]) -> BTreeSet<u8> {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<u8> = from.to_vec();
        while let Some(n) = stack.pop() {
            if seen.insert(n) {
                stack.extend(self.parents[n as usize].iter().copied());
            }
        }
        seen
    }

    fn node(s: &str) -> Option<u8> {
        u32::from_str_radix(s, 16)
            .ok()
            .and_then(|v| u8::try_from(v - 1).ok())
    }
}

impl Reach for Graph {
    fn containing(&self, targets: &[&str], from: &[&str]) -> Vec<Option<usize>> {
        targets
            .iter()
            .map(|t| {
                let t = Graph::node(t)?;
                from.iter()
                    .position(|f| Graph::node(f).is_some_and(|f| self.reach(&[f]).contains(&t)))
            })
            .collect()
    }
}

#[derive(Debug, Clone)]
struct Spec {
    change: u8,
    tip: Option<u8>,
    checked_out: bool,
    status: u8,
    summary: u8,
    finished: i64,
    approvals: Vec<(u8, i64, bool)>,
    marker: Option<(i64, Option<i64>)>,
    logged_purge: bool,
    reviewed: bool,
}

fn spec(nodes: u8) -> impl Strategy<Value = Spec> {
    (
        (
            0u8..2,
            proptest::option::of(0..nodes),
            proptest::bool::weighted(0.1),
        ),
        (0u8..8, 0u8..10, 0i64..20),
        proptest::collection::vec((0u8..5, 0i64..25, proptest::bool::weighted(0.2)), 0..8),
        proptest::option::weighted(0.25, (0i64..30, proptest::option::of(0i64..50))),
        (
            proptest::bool::weighted(0.15),
            proptest::bool::weighted(0.2),
        ),
    )
        .prop_map(
            |(
                (change, tip, checked_out),
                (status, summary, finished),
                approvals,
                marker,
                (logged_purge, reviewed),
            )| Spec {
                change,
                tip,
                checked_out,
                status,
                summary,
                finished,
                approvals,
                marker,
                logged_purge,
                reviewed,
            },
        )
}

const ROLES: [&str; 5] = ["GO", "PM", "QA", "HR", "XX"];

fn build(i: usize, s: &Spec, outside: &[u8], g: &Graph) -> RunFacts {
    let change = format!("CH-{}", s.change);
    let id = format!("run-{i:03}");
    let status = [
        "succeeded",
        "succeeded",
        "succeeded",
        "failed",
        "aborted",
        "running",
        "paused",
        "weird",
    ][s.status as usize];
    let tip = s.tip.map(oid);
    let mut r = run(&change, &id, 0);
    r.branch = s.tip.map(|n| {
        let keeper = outside
            .iter()
            .find(|o| g.reach(&[**o]).contains(&n))
            .map(|o| (format!("refs/heads/o{o}"), oid(*o)));
        BranchFacts {
            refname: format!("refs/heads/microloop/{change}/{id}"),
            tip: oid(n),
            keeper,
            checked_out: s.checked_out.then(|| "/wt".to_string()),
            tip_trailers: TipTrailers {
                change: Some(change.clone()),
                run: Some(id.clone()),
                plan: Some(PLAN.into()),
            },
        }
    });
    let mut sum = summary(&change, &id, status, s.finished, tip.as_deref());
    if s.summary == 0 {
        sum.head_commit = Some(oid(200)); // the branch moved
    }
    r.summary = match s.summary {
        1 => SummaryFacts::Missing,
        2 => SummaryFacts::Unreadable("torn".into()),
        _ => SummaryFacts::Read(Box::new(sum)),
    };
    r.run_status = Some(status.into());
    for (role, day, close) in &s.approvals {
        r.ledger.approvals.push(ApprovalRecord {
            role: ROLES[*role as usize].into(),
            by: "b".into(),
            at: ts(*day),
            note: None,
            verdict: if *close {
                Verdict::Close
            } else {
                Verdict::Approve
            },
        });
    }
    r.ledger.marker = s.marker.map(|(at, until)| MarkerRecord {
        reason: "hold".into(),
        until: until.map(ts),
        by: "m".into(),
        at: ts(at),
    });
    if s.logged_purge {
        let last = LastDecision {
            state: "purged".into(),
            reason: "auto_success_ttl".into(),
            at: ts(s.finished),
            tip: tip.clone(),
            eligible_at: None,
            purge_after: None,
        };
        r.ledger.purged = Some(last.clone());
        r.ledger.last = Some(last);
    }
    if s.reviewed {
        r.ledger.reviews.insert("retained_pending_approval".into());
    }
    r
}

/// What must hold of a run for it to be purged fresh (not finishing a logged purge).
fn may_be_purged(r: &RunFacts, p: &Policy, now: Timestamp) -> bool {
    let Some(s) = r.summary.get() else {
        return false;
    };
    let marker = r.ledger.marker.as_ref().is_some_and(|m| {
        m.until
            .as_deref()
            .and_then(parse_ts)
            .is_none_or(|u| u > now)
    });
    let open = matches!(s.status.as_str(), "running" | "paused");
    let approved = p.required.iter().all(|role| {
        r.ledger.approvals.iter().any(|a| {
            &a.role == role
                && a.verdict == Verdict::Approve
                && parse_ts(&a.at).is_some_and(|t| t <= now)
        })
    });
    let closed = r
        .ledger
        .approvals
        .iter()
        .any(|a| a.verdict == Verdict::Close && p.may_finalize(&a.role));
    let ok = match s.status.as_str() {
        "succeeded" => approved,
        "failed" | "aborted" => closed,
        _ => false,
    };
    let future = r
        .ledger
        .approvals
        .iter()
        .any(|a| parse_ts(&a.at).is_none_or(|t| t > now));
    ok && !marker && !open && !future && r.branch.as_ref().is_none_or(|b| b.checked_out.is_none())
}

/// The facts after the decisions were carried out.
fn applied(runs: &[RunFacts], ds: &[Decision], p: &Policy) -> Vec<RunFacts> {
    let by: BTreeMap<&str, &Decision> = ds.iter().map(|d| (d.run_id.as_str(), d)).collect();
    runs.iter()
        .map(|r| {
            let mut r = r.clone();
            let Some(d) = by.get(r.run_id.as_str()) else {
                return r;
            };
            if d.purge {
                r.branch = None;
                r.worktree = false;
                r.artifacts = ArtifactFacts {
                    exists: p.keep_summary,
                    only_summary: p.keep_summary,
                };
                if !p.keep_summary {
                    r.summary = SummaryFacts::Missing;
                }
            }
            if d.changed {
                let last = LastDecision {
                    state: d.state.as_str().into(),
                    reason: d.reason.as_str().into(),
                    at: ts(0),
                    tip: d.tip.clone(),
                    eligible_at: d.eligible_at.map(fmt_ts),
                    purge_after: d.purge_after.map(fmt_ts),
                };
                if d.state == State::Purged {
                    r.ledger.purged = Some(last.clone());
                }
                r.ledger.last = Some(last);
            }
            if let Some(rv) = &d.review {
                r.ledger.reviews.insert(rv.reason.as_str().into());
            }
            r
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn cleanup_never_loses_history_or_purges_what_it_must_keep(
        parents in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3), 1..12),
        outside in proptest::collection::vec(any::<u8>(), 0..3),
        specs in proptest::collection::vec(spec(12), 0..9),
        (ttl, fra, keep_last, keep_summary) in (0i64..15, 0i64..20, 0u32..3, any::<bool>()),
        required in proptest::collection::btree_set(0usize..3, 0..4),
        now in 0i64..60,
    ) {
        let n = parents.len() as u8;
        let g = Graph {
            parents: parents
                .iter()
                .enumerate()
                .map(|(i, ps)| ps.iter().filter(|_| i > 0).map(|p| p % i.max(1) as u8).collect())
                .collect(),
        };
        let outside: Vec<u8> = outside.into_iter().map(|o| o % n).collect();
        let specs: Vec<Spec> = specs
            .into_iter()
            .map(|mut s| {
                s.tip = s.tip.map(|t| t % n);
                s
            })
            .collect();
        let runs: Vec<RunFacts> = specs.iter().enumerate().map(|(i, s)| build(i, s, &outside, &g)).collect();
        let p = Policy {
            success_ttl: SignedDuration::from_hours(ttl * 24),
            failed_review_after: SignedDuration::from_hours(fra * 24),
            required: required.iter().map(|i| ROLES[*i].to_string()).collect(),
            finalizers: vec!["GO".into(), "HR".into()],
            keep_last,
            keep_summary,
        };
        let now = t(now);
        let ds = decide(&runs, &p, now, &g);
        prop_assert_eq!(ds.len(), runs.len());

        // No commit that was reachable becomes unreachable.
        let tips = |rs: &[RunFacts], ds: Option<&[Decision]>| -> Vec<u8> {
            rs.iter()
                .zip(0..)
                .filter(|(_, i)| ds.is_none_or(|ds| !ds[*i].purge))
                .filter_map(|(r, _)| r.branch.as_ref().and_then(|b| Graph::node(&b.tip)))
                .chain(outside.iter().copied())
                .collect()
        };
        prop_assert_eq!(g.reach(&tips(&runs, None)), g.reach(&tips(&runs, Some(&ds))));

        for (r, d) in runs.iter().zip(&ds) {
            if d.purge || (d.state == State::Purged && d.changed) {
                let resumed = r.ledger.purged.is_some();
                prop_assert!(resumed || may_be_purged(r, &p, now), "{:?}\n{:?}", d, r);
                if !resumed {
                    let after = d.purge_after.unwrap();
                    prop_assert!(now >= after, "purged before its time: {:?}", d);
                }
                // Never through a checked-out branch, an open run or a marker in force.
                prop_assert!(r.branch.as_ref().is_none_or(|b| b.checked_out.is_none()));
                prop_assert!(!matches!(r.run_status.as_deref(), Some("running" | "paused")));
            }
            if d.state == State::Eligible || d.state == State::Purged {
                prop_assert!(r.summary.get().is_some() || r.ledger.last.is_some());
            }
        }

        // Carrying the decisions out and deciding again changes nothing.
        let after = applied(&runs, &ds, &p);
        let again = decide(&after, &p, now, &g);
        for (d1, d2) in ds.iter().zip(&again) {
            prop_assert_eq!((d1.state, d1.reason), (d2.state, d2.reason), "{:?}", d2);
            prop_assert!(!d2.changed && !d2.purge && d2.review.is_none(), "{:?}", d2);
        }
    }
}
