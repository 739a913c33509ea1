//! Property test over real repositories: random runs (states, histories merged or not,
//! approvals, closes, markers), random policies and clocks. Whatever they are:
//!
//! - no commit reachable before cleanup becomes unreachable (every deleted run branch's tip
//!   stays reachable from a ref that stays);
//! - no failed, aborted (unclosed), unapproved or marked run is purged;
//! - `--dry-run` decides exactly as the real cleanup, and changes no byte under `.git/refs`,
//!   `packed-refs` or the artifacts folder;
//! - a second cleanup right after changes nothing.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use common::{TestRepo, cleanup_protected, decisions_by_run, file_tree};
use proptest::prelude::*;
use serde_json::{Value, json};

const PLAN: &str = "sha256:9928fa03340b79694ee7814d72f84df24c00a76ebe5efa55479ece653cae6a12";
const ROLES: [&str; 3] = ["PM", "QA", "GO"];

#[derive(Debug, Clone)]
struct RunSpec {
    /// Index of an earlier commit (0 = main's) to build the run's commit on.
    parent: usize,
    /// A branch outside the namespace keeps the run's commit.
    merged: bool,
    status: usize,
    /// Bitmask over ROLES.
    approvals: u8,
    close: bool,
    marker: Option<Option<u8>>,
    symlink: bool,
}

fn run_spec() -> impl Strategy<Value = RunSpec> {
    (
        0usize..8,
        proptest::bool::weighted(0.7),
        0usize..3,
        prop_oneof![3 => Just(7u8), 2 => 0u8..8],
        any::<bool>(),
        proptest::option::weighted(0.2, proptest::option::of(1u8..60)),
        proptest::bool::weighted(0.2),
    )
        .prop_map(
            |(parent, merged, status, approvals, close, marker, symlink)| RunSpec {
                parent,
                merged,
                status,
                approvals,
                close,
                marker,
                symlink,
            },
        )
}

fn git_out(repo: &TestRepo, args: &[&str]) -> String {
    repo.git(args).trim().to_string()
}

/// A commit with the run's trailers on `parent`.
fn commit_for(repo: &TestRepo, run: &str, parent: &str) -> String {
    let tree = git_out(repo, &["rev-parse", &format!("{parent}^{{tree}}")]);
    let msg = format!(
        "T001: work of {run}\n\nMicroloop-Change: CH-001\nMicroloop-Run: {run}\nMicroloop-Task: T001\n\
         Microloop-Seed: 42\nMicroloop-Plan: {PLAN}\nMicroloop-QA: pass\n"
    );
    git_out(repo, &["commit-tree", &tree, "-p", parent, "-m", &msg])
}

fn write_run(repo: &TestRepo, run: &str, status: &str, base: &str, head: &str, symlink: bool) {
    let dir = repo.path().join("artifacts/work/CH-001").join(run);
    std::fs::create_dir_all(dir.join("evidence")).unwrap();
    std::fs::write(dir.join("evidence/T001.json"), "{}\n").unwrap();
    if symlink {
        std::os::unix::fs::symlink(repo.outside(), dir.join("outside-link")).unwrap();
    }
    let finished = if status == "failed" {
        Value::Null
    } else {
        json!("2026-01-01T00:00:00.000Z")
    };
    let summary = json!({
        "schema_version": 1, "change": "CH-001", "run_id": run, "status": status, "seed": 42,
        "strategy": "spec-like", "planner_version": 1, "plan_hash": PLAN,
        "planner_fallback": null, "base_commit": base, "head_commit": head,
        "run_branch": format!("refs/heads/microloop/CH-001/{run}"),
        "started_at": "2026-01-01T00:00:00.000Z", "finished_at": finished,
        "tasks": [], "plan_progress": {"settled": 1, "total": 1},
        "totals": {"tasks": 1, "done": 1, "skipped": 0, "failed": 0, "files_touched": 0,
                   "lines_added": 0, "lines_removed": 0, "duration_ms": 0},
        "retention": {"state": "retained", "reason": format!("retained_{}", match status {
            "succeeded" => "pending_approval", s => s }), "marker": null},
        "approvals": [], "audit_anchor": null,
    });
    std::fs::write(
        dir.join("summary.json"),
        serde_json::to_vec_pretty(&summary).unwrap(),
    )
    .unwrap();
}

fn everything(repo: &TestRepo) -> Vec<BTreeMap<PathBuf, Vec<u8>>> {
    let mut all = cleanup_protected(repo);
    all.push(file_tree(&repo.path().join("audit")));
    all
}

fn reachable(repo: &TestRepo) -> BTreeSet<String> {
    repo.git(&["rev-list", "--all"])
        .lines()
        .map(str::to_string)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 20, ..ProptestConfig::default() })]

    #[test]
    fn cleanup_keeps_history_and_what_it_must_and_dry_run_agrees(
        specs in proptest::collection::vec(run_spec(), 2..7),
        ttl in prop_oneof![Just("0"), Just("1d"), Just("30d")],
        keep_last in prop_oneof![3 => Just(0u32), 1 => Just(1u32)],
        keep_summary in any::<bool>(),
        required in 1usize..4,
        now_days in prop_oneof![1 => Just(-1i64), 6 => 1i64..60],
        pack in any::<bool>(),
    ) {
        let repo = TestRepo::new();
        repo.write(".gitignore", "/artifacts/\n/audit/\n");
        let roles: Vec<&str> = ROLES[..required].to_vec();
        let policy = |ttl: &str| format!(
            "[retention]\nsuccess_ttl = \"{ttl}\"\nrequired_approvals = {roles:?}\nkeep_last = {keep_last}\nkeep_summary = {keep_summary}\n"
        );
        // Approvals are recorded under a TTL that keeps everything, so cleanup is ours to run.
        repo.write(".microloop.toml", &policy("3650d"));
        repo.commit_all("config");
        let mut commits = vec![repo.rev("main")];
        let mut runs = Vec::new();
        for (i, s) in specs.iter().enumerate() {
            let run = format!("run-20260101T0000{i:02}Z-{i:04x}");
            let parent = commits[s.parent % commits.len()].clone();
            let head = commit_for(&repo, &run, &parent);
            commits.push(head.clone());
            repo.git(&["update-ref", &format!("refs/heads/microloop/CH-001/{run}"), &head]);
            if s.merged {
                repo.git(&["update-ref", &format!("refs/heads/keep/{i}"), &head]);
            }
            let status = ["succeeded", "failed", "aborted"][s.status];
            write_run(&repo, &run, status, &parent, &head, s.symlink);
            runs.push((run, status));
        }
        for ((run, status), s) in runs.iter().zip(&specs) {
            if let Some(until) = s.marker {
                let mut args = vec!["retain", run.as_str(), "--reason", "hold"];
                let date;
                if let Some(d) = until {
                    date = format!("2027-01-{:02}", 1 + d % 28);
                    args.extend(["--until", date.as_str()]);
                }
                repo.run(&args).expect(0);
            }
            if *status == "succeeded" {
                for (bit, role) in roles.iter().enumerate() {
                    if s.approvals & (1 << bit) != 0 {
                        repo.run(&["approve", run, "--role", role]).expect(0);
                    }
                }
            } else if s.close {
                repo.run(&["approve", run, "--role", "GO", "--decision", "close"]).expect(0);
            }
        }
        repo.write(".microloop.toml", &policy(ttl));
        if pack {
            repo.git(&["pack-refs", "--all"]);
        }
        let now: jiff::Timestamp = "2026-11-24T00:00:00Z".parse::<jiff::Timestamp>().unwrap()
            .checked_add(jiff::SignedDuration::from_hours(24 * now_days)).unwrap();
        let now = now.to_string();
        let history = reachable(&repo);

        let before = cleanup_protected(&repo);
        let audit_before = file_tree(&repo.path().join("audit"));
        let dry = repo.run(&["cleanup", "--dry-run", "--json", "--now", &now]).expect(0).json();
        prop_assert_eq!(&cleanup_protected(&repo), &before, "--dry-run changed refs or artifacts");
        prop_assert_eq!(file_tree(&repo.path().join("audit")), audit_before, "--dry-run logged");
        let real = repo.run(&["cleanup", "--json", "--now", &now]).expect(0).json();
        let (dry, real) = (decisions_by_run(&dry), decisions_by_run(&real));
        prop_assert_eq!(&dry, &real);

        // No commit was lost.
        prop_assert_eq!(reachable(&repo), history);
        // Nothing it must keep was purged.
        for ((run, status), s) in runs.iter().zip(&specs) {
            let (state, reason, purge) = &real[run];
            if state != "purged" {
                prop_assert!(!purge);
                let exists = repo
                    .git(&["for-each-ref", &format!("refs/heads/microloop/CH-001/{run}")])
                    .contains(run.as_str());
                prop_assert!(exists, "{run} lost its branch while {state}/{reason}");
                continue;
            }
            let approved = roles.iter().all(|r| {
                let bit = ROLES.iter().position(|x| x == r).unwrap();
                s.approvals & (1 << bit) != 0
            });
            let allowed = match *status {
                "succeeded" => approved,
                _ => s.close,
            };
            prop_assert!(allowed, "{run} ({status}) purged without its approvals: {reason}");
            let marked = match s.marker {
                None => false,
                Some(None) => true,
                Some(Some(d)) => now.as_str() < format!("2027-01-{:02}", 2 + d % 28).as_str(),
            };
            prop_assert!(!marked, "{run} purged under a marker");
            let dir = repo.path().join("artifacts/work/CH-001").join(run);
            if keep_summary {
                let names: Vec<String> = std::fs::read_dir(&dir).unwrap()
                    .map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
                prop_assert_eq!(names, vec!["summary.json".to_string()]);
                let sum: Value = serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
                prop_assert_eq!(&sum["retention"]["state"], "purged");
            } else {
                prop_assert!(!dir.exists());
            }
        }
        // The link's target outside was never touched.
        prop_assert!(repo.outside().exists());

        // Right after: nothing changes.
        let settled = everything(&repo);
        let again = repo.run(&["cleanup", "--json", "--now", &now]).expect(0).json();
        prop_assert_eq!(everything(&repo), settled, "a second cleanup changed something");
        for (run, (state, reason, purge)) in decisions_by_run(&again) {
            prop_assert!(!purge, "{run} purged twice");
            prop_assert_eq!((&state, &reason), (&real[&run].0, &real[&run].1));
        }
        repo.run(&["audit", "verify"]).expect(0);
    }
}
