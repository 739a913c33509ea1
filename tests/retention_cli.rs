//! Retention end to end: real runs, approvals, markers and `cleanup`, with real git — and the
//! safety rules as tests: unmerged and checked-out branches stay, nothing outside
//! `refs/heads/microloop/` is touched, symlinks are removed as links, a second cleanup changes
//! nothing, an interrupted one finishes next time, a dry run changes no byte.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;

use common::{Run, TestRepo, assert_valid_summary, cleanup_protected, decisions_by_run, file_tree};
use serde_json::Value;

const TASKS: &str = "\
## Phase 1

- [ ] T001 Create `a.txt`
- [ ] T002 Create `b.txt`
";

const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

/// All three roles, purge at once, keep no run back.
const NOW_POLICY: &str = "\
[retention]
success_ttl = \"0\"
required_approvals = [\"PM\", \"QA\", \"GO\"]
keep_last = 0
";

fn repo_with(config: &str) -> TestRepo {
    let repo = TestRepo::with_change(TASKS);
    repo.write(".microloop.toml", config);
    repo.write(".gitignore", "/artifacts/\n/audit/\n");
    repo.commit_all("config");
    repo
}

/// Run the change's open tasks; returns the run id (from the run's own output: two runs in
/// the same second have ids that do not sort by time).
fn run(repo: &TestRepo) -> String {
    let imp = repo.script("impl.sh", IMPL);
    let out = repo
        .run(&["run", "--json", "--implementer", "--", &imp])
        .expect(0)
        .json();
    out["run"]["run_id"].as_str().unwrap().to_string()
}

fn latest(repo: &TestRepo) -> String {
    repo.run(&["status", "--json"]).expect(0).json()["runs"][0]["run_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Add one more open task (committed) so the change can run again.
fn add_task(repo: &TestRepo, n: u32) {
    let mut tasks = repo.read("changes/CH-001/tasks.md");
    tasks.push_str(&format!("- [ ] T{n:03} Create `t{n}.txt`\n"));
    repo.write("changes/CH-001/tasks.md", &tasks);
    repo.commit_all(&format!("task {n}"));
}

fn approve_all(repo: &TestRepo, run: &str) -> Run {
    repo.run(&["approve", run, "--role", "PM", "--by", "Pat"])
        .expect(0);
    repo.run(&["approve", run, "--role", "QA", "--by", "Quinn"])
        .expect(0);
    repo.run(&["approve", run, "--role", "GO", "--by", "Gail"])
}

fn branch(run: &str) -> String {
    format!("refs/heads/microloop/CH-001/{run}")
}

fn has_ref(repo: &TestRepo, name: &str) -> bool {
    repo.git(&["for-each-ref", "--format=%(refname)", name])
        .trim()
        .eq(name)
}

fn artifacts(repo: &TestRepo, run: &str) -> PathBuf {
    repo.path().join("artifacts/work/CH-001").join(run)
}

fn summary(repo: &TestRepo, run: &str) -> Value {
    serde_json::from_slice(&std::fs::read(artifacts(repo, run).join("summary.json")).unwrap())
        .unwrap()
}

fn log_lines(repo: &TestRepo, rel: &str) -> Vec<Value> {
    std::fs::read_to_string(repo.path().join(rel))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn decisions(repo: &TestRepo, run: &str) -> Vec<Value> {
    log_lines(repo, "audit/retention.jsonl")
        .into_iter()
        .filter(|e| e["event"] == "retention_decision" && e["run_id"] == run)
        .collect()
}

/// `cleanup --json` → run id → (state, reason, purge).
fn cleanup_json(
    repo: &TestRepo,
    args: &[&str],
    code: i32,
) -> BTreeMap<String, (String, String, bool)> {
    let mut all = vec!["cleanup", "--json"];
    all.extend_from_slice(args);
    decisions_by_run(&repo.run(&all).expect(code).json())
}

fn entry<'a>(m: &'a BTreeMap<String, (String, String, bool)>, run: &str) -> (&'a str, &'a str) {
    let (s, r, _) = &m[run];
    (s.as_str(), r.as_str())
}

/// Everything cleanup may change: refs (loose and packed), artifacts, audit logs, the plan,
/// worktrees.
fn snapshot(repo: &TestRepo) -> Vec<BTreeMap<PathBuf, Vec<u8>>> {
    let mut plan = BTreeMap::new();
    if let Ok(b) = std::fs::read(repo.path().join("docs/IMPLEMENTATION_PLAN.md")) {
        plan.insert(PathBuf::from("plan"), b);
    }
    let mut all = cleanup_protected(repo);
    all.extend([
        file_tree(&repo.path().join("audit")),
        plan,
        file_tree(&repo.path().join(".git/worktrees")),
    ]);
    all
}

fn plus_days(ts: &str, days: i64) -> String {
    let t: jiff::Timestamp = ts.parse().unwrap();
    t.checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap()
        .to_string()
}

#[test]
fn run_then_all_approvals_with_ttl_zero_purges_the_run() {
    let repo = repo_with(&format!(
        "{NOW_POLICY}\n[notify]\ncommand = [\"sh\", \"-c\", \"cat > '{}'\"]\n",
        repo_dir_file("notified.json")
    ));
    let run_id = run(&repo);
    let tip = repo.rev(&branch(&run_id));
    assert_eq!(
        summary(&repo, &run_id)["retention"]["reason"],
        "retained_pending_approval"
    );

    let out = approve_all(&repo, &run_id).expect(0).stdout();
    assert!(
        out.contains("purged") && out.contains("auto_success_ttl"),
        "{out}"
    );

    // The branch is gone, its commits are still on the change branch.
    assert!(!has_ref(&repo, &branch(&run_id)));
    repo.git(&["merge-base", "--is-ancestor", &tip, "change/CH-001"]);
    // Artifacts purged, summary.json kept (keep_summary defaults to true) and up to date.
    let left: Vec<String> = std::fs::read_dir(artifacts(&repo, &run_id))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(left, ["summary.json"]);
    let s = summary(&repo, &run_id);
    assert_valid_summary(&s);
    assert_eq!(s["retention"]["state"], "purged");
    assert_eq!(s["retention"]["reason"], "auto_success_ttl");
    let roles: Vec<&str> = s["approvals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["PM", "QA", "GO"]);
    assert_eq!(s["approvals"][1]["by"], "Quinn");

    // One auto_success_ttl event carrying the tip; the logs verify.
    let d = decisions(&repo, &run_id);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0]["reason"], "auto_success_ttl");
    assert_eq!(d[0]["state"], "purged");
    assert_eq!(d[0]["tip"], tip.as_str());
    assert_eq!(d[0]["previous_reason"], "retained_pending_approval");
    assert_eq!(d[0]["seed"], 42);
    let approvals = log_lines(&repo, "audit/retention.jsonl")
        .into_iter()
        .filter(|e| e["event"] == "run_approved")
        .count();
    assert_eq!(approvals, 3);
    let v = repo.run(&["audit", "verify", "--json"]).expect(0).json();
    let logs: Vec<&str> = v["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["report"]["log_name"].as_str().unwrap())
        .collect();
    assert!(logs.contains(&"retention"), "{logs:?}");

    // The plan section shows it.
    let plan = repo.read("docs/IMPLEMENTATION_PLAN.md");
    assert!(
        plan.contains(&format!("`{run_id}` purged (auto_success_ttl, since ")),
        "{plan}"
    );
    assert!(plan.contains("- Retention: 1 purged, 0 eligible, 0 retained, 0 active"));

    // The notifier heard of it.
    let heard: Value =
        serde_json::from_str(&std::fs::read_to_string(repo_dir_file("notified.json")).unwrap())
            .unwrap();
    assert_eq!(heard["event"], "retention_changed");
    assert_eq!(heard["runs"][0]["run_id"], run_id.as_str());
    assert_eq!(heard["runs"][0]["reason"], "auto_success_ttl");

    // The purged branch can be restored from the log while git has its objects.
    repo.git(&[
        "update-ref",
        &branch(&run_id),
        d[0]["tip"].as_str().unwrap(),
    ]);
    assert_eq!(repo.rev(&branch(&run_id)), tip);
}

/// A file in a folder shared by the test process and the notifier, outside any repository.
fn repo_dir_file(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("microloop-retention-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn approvals_are_checked_by_role_and_by_the_checklist() {
    let repo = repo_with(
        "[retention]\nsuccess_ttl = \"7d\"\nrequired_approvals = [\"PM\", \"QA\", \"GO\"]\nkeep_last = 0\n",
    );
    let run_id = run(&repo);
    let r = repo.run(&["approve", &run_id, "--role", "CEO"]).expect(2);
    assert!(r.stderr().contains("no role \"CEO\""), "{}", r.stderr());
    assert!(
        r.stderr().contains("roles: GO, HR, PM, QA"),
        "{}",
        r.stderr()
    );
    repo.run(&["approve", &run_id, "--role", "pm bad"])
        .expect(2);

    repo.run(&["approve", &run_id, "--role", "PM"]).expect(0);
    let again = repo.run(&["approve", &run_id, "--role", "PM"]).expect(0);
    assert!(
        again.stdout().contains("already approved"),
        "{}",
        again.stdout()
    );
    let c = repo
        .run(&["checklist", "--for-approval", "--json"])
        .expect(1)
        .json();
    let item = c["checklist"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "approvals")
        .unwrap()
        .clone();
    assert_eq!(item["outcome"], "fail");
    assert!(item["why"].as_str().unwrap().contains("GO, QA"), "{item}");
    // Without the flag the item is not checked.
    repo.run(&["checklist"]).expect(0);

    repo.run(&["approve", &run_id, "--role", "QA"]).expect(0);
    let last = repo
        .run(&["approve", &run_id, "--role", "GO"])
        .expect(0)
        .stdout();
    // The last approval runs cleanup for the run: eligible, waiting for its TTL.
    assert!(last.contains("eligible  ttl_not_expired"), "{last}");
    repo.run(&["checklist", "--for-approval"]).expect(0);
    assert!(has_ref(&repo, &branch(&run_id)));
    let s = summary(&repo, &run_id);
    assert_valid_summary(&s);
    assert_eq!(s["retention"]["state"], "eligible");
    assert_eq!(s["approvals"].as_array().unwrap().len(), 3);
}

#[test]
fn the_ttl_counts_from_the_last_approval_never_from_file_times() {
    let repo = repo_with(
        "[retention]\nsuccess_ttl = \"7d\"\nrequired_approvals = [\"PM\", \"QA\", \"GO\"]\nkeep_last = 0\n",
    );
    let run_id = run(&repo);
    // Artifacts that look ancient change nothing.
    let old = repo.path().join("artifacts");
    std::process::Command::new("find")
        .arg(&old)
        .args(["-exec", "touch", "-h", "-d", "1990-01-01", "{}", "+"])
        .status()
        .unwrap();
    assert_eq!(
        entry(&cleanup_json(&repo, &[], 0), &run_id),
        ("retained", "retained_pending_approval")
    );
    approve_all(&repo, &run_id).expect(0);
    let at = summary(&repo, &run_id)["approvals"][2]["at"]
        .as_str()
        .unwrap()
        .to_string();
    let six = plus_days(&at, 6);
    let m = cleanup_json(&repo, &["--now", &six], 0);
    assert_eq!(entry(&m, &run_id), ("eligible", "ttl_not_expired"));
    let eight = plus_days(&at, 8);
    let m = cleanup_json(&repo, &["--now", &eight], 0);
    assert_eq!(entry(&m, &run_id), ("purged", "auto_success_ttl"));
    assert!(!has_ref(&repo, &branch(&run_id)));
    assert_eq!(
        summary(&repo, &run_id)["retention"]["eligible_at"],
        at.as_str()
    );
}

#[test]
fn failed_runs_are_kept_reviewed_and_closed_only_by_a_finalizer() {
    let repo = repo_with(&format!(
        "{NOW_POLICY}failed_review_after = \"14d\"\n\n[[qa]]\nname = \"never\"\ncommand = [\"false\"]\n"
    ));
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(1);
    let run_id = latest(&repo);
    let r = repo.run(&["approve", &run_id, "--role", "PM"]).expect(2);
    assert!(
        r.stderr().contains("not approved for purge"),
        "{}",
        r.stderr()
    );
    assert!(r.stderr().contains("--decision close"), "{}", r.stderr());
    let r = repo
        .run(&["approve", &run_id, "--role", "GO", "--decision", "close"])
        .expect(2);
    assert!(r.stderr().contains("still open"), "{}", r.stderr());

    let m = cleanup_json(&repo, &[], 0);
    assert_eq!(entry(&m, &run_id), ("retained", "retained_failed"));
    assert!(log_lines(&repo, "audit/retention_reviews.jsonl").is_empty());
    // Past failed_review_after (since it started: a failed run is still open, not finished):
    // one review, never two.
    let s = summary(&repo, &run_id);
    assert_eq!(s["finished_at"], Value::Null);
    let finished = s["started_at"].as_str().unwrap().to_string();
    cleanup_json(&repo, &["--now", &plus_days(&finished, 15)], 0);
    cleanup_json(&repo, &["--now", &plus_days(&finished, 16)], 0);
    let reviews = log_lines(&repo, "audit/retention_reviews.jsonl");
    assert_eq!(reviews.len(), 1, "{reviews:#?}");
    assert_eq!(reviews[0]["event"], "review_scheduled");
    assert_eq!(reviews[0]["reason"], "retained_failed");
    assert_eq!(reviews[0]["due"], plus_days_z(&finished, 14));

    repo.run(&["abort"]).expect(0);
    let r = repo
        .run(&["approve", &run_id, "--role", "PM", "--decision", "close"])
        .expect(2);
    assert!(r.stderr().contains("PM may not close"), "{}", r.stderr());
    let out = repo
        .run(&["approve", &run_id, "--role", "GO", "--decision", "close"])
        .expect(0)
        .stdout();
    assert!(out.contains("auto_closed_ttl"), "{out}");
    assert!(!has_ref(&repo, &branch(&run_id)));
    repo.run(&["audit", "verify"]).expect(0);
}

/// `plus_days` as the logs write it (seconds, `Z`).
fn plus_days_z(ts: &str, days: i64) -> String {
    let t: jiff::Timestamp = plus_days(ts, days).parse().unwrap();
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[test]
fn a_marker_skips_the_purge_schedules_one_review_and_release_lifts_it() {
    let repo = repo_with(NOW_POLICY);
    let run_id = run(&repo);
    let r = repo.run(&[
        "retain",
        &run_id,
        "--reason",
        "legal hold",
        "--until",
        "2001-01-01",
    ]);
    r.expect(2);
    repo.run(&["retain", &run_id, "--reason", "legal hold"])
        .expect(0);
    assert_eq!(summary(&repo, &run_id)["retention"]["marker"], "legal hold");
    let out = approve_all(&repo, &run_id).expect(0).stdout();
    assert!(out.contains("retention_marker"), "{out}");
    assert!(has_ref(&repo, &branch(&run_id)));
    let reviews = log_lines(&repo, "audit/retention_reviews.jsonl");
    assert_eq!(reviews.len(), 1);
    assert_eq!(reviews[0]["reason"], "retention_marker");
    assert!(reviews[0]["due"].as_str().is_some());

    let before = snapshot(&repo);
    assert_eq!(
        entry(&cleanup_json(&repo, &[], 0), &run_id),
        ("retained", "retention_marker")
    );
    assert_eq!(
        snapshot(&repo),
        before,
        "an unchanged decision writes nothing"
    );

    repo.run(&["release", &run_id]).expect(0);
    let r = repo.run(&["release", &run_id]).expect(0);
    assert!(r.stderr().contains("no retention marker"), "{}", r.stderr());
    assert_eq!(
        entry(&cleanup_json(&repo, &[], 0), &run_id),
        ("purged", "auto_success_ttl")
    );
    let events: Vec<String> = log_lines(&repo, "audit/retention.jsonl")
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events,
        [
            "retention_marker_set",
            "run_approved",
            "run_approved",
            "run_approved",
            "retention_decision",
            "retention_marker_released",
            "retention_decision"
        ]
    );
}

#[test]
fn an_unmerged_run_branch_is_kept() {
    let repo = repo_with(NOW_POLICY);
    let base = repo.rev("HEAD");
    let run_id = run(&repo);
    // The change branch forgets the run's commits: only the run branch holds them.
    repo.git(&["reset", "-q", "--hard", &base]);
    let out = approve_all(&repo, &run_id).expect(0).stdout();
    assert!(out.contains("unmerged_commits"), "{out}");
    assert!(has_ref(&repo, &branch(&run_id)));
    assert!(artifacts(&repo, &run_id).join("evidence").exists());
    let reviews = log_lines(&repo, "audit/retention_reviews.jsonl");
    assert_eq!(reviews[0]["reason"], "unmerged_commits");
    // Once the commits are merged again, the next cleanup purges it.
    repo.git(&["merge", "-q", "--ff-only", &branch(&run_id)]);
    assert_eq!(
        entry(&cleanup_json(&repo, &[], 0), &run_id),
        ("purged", "auto_success_ttl")
    );
}

#[test]
fn only_run_branches_go_and_never_a_checked_out_one() {
    let repo = repo_with(NOW_POLICY);
    let run_id = run(&repo);
    let tip = repo.rev(&branch(&run_id));
    // Look-alikes outside the namespace, and a symbolic ref inside it.
    for r in [
        format!("refs/heads/microloopx/CH-001/{run_id}"),
        format!("refs/heads/other/microloop/CH-001/{run_id}"),
        format!("refs/tags/microloop/CH-001/{run_id}"),
        format!("refs/remotes/origin/microloop/CH-001/{run_id}"),
    ] {
        repo.git(&["update-ref", &r, &tip]);
    }
    repo.git(&[
        "symbolic-ref",
        "refs/heads/microloop/CH-001/run-20000101T000000Z-0000",
        "refs/heads/main",
    ]);
    let outside = || {
        repo.git(&[
            "for-each-ref",
            "--format=%(refname) %(objectname) %(symref)",
        ])
        .lines()
        .filter(|l| !l.starts_with(&branch(&run_id)))
        .map(str::to_string)
        .collect::<Vec<_>>()
    };
    let before = outside();
    // Checked out in a worktree: never deleted.
    let wt = repo.outside().join("wt");
    repo.git(&[
        "worktree",
        "add",
        "-q",
        wt.to_str().unwrap(),
        &format!("microloop/CH-001/{run_id}"),
    ]);
    let out = approve_all(&repo, &run_id).expect(0).stdout();
    assert!(out.contains("checked_out"), "{out}");
    assert!(has_ref(&repo, &branch(&run_id)));
    repo.git(&["worktree", "remove", wt.to_str().unwrap()]);
    assert_eq!(
        entry(&cleanup_json(&repo, &[], 0), &run_id),
        ("purged", "auto_success_ttl")
    );
    assert!(!has_ref(&repo, &branch(&run_id)));
    assert_eq!(outside(), before);
    assert_eq!(
        repo.rev("main"),
        repo.rev("refs/heads/microloop/CH-001/run-20000101T000000Z-0000")
    );
}

#[test]
fn symlinks_in_artifacts_are_removed_as_links() {
    let repo = repo_with(NOW_POLICY);
    let run_id = run(&repo);
    let target = repo.outside().join("precious");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("keep.txt"), "keep me").unwrap();
    let dir = artifacts(&repo, &run_id);
    std::os::unix::fs::symlink(&target, dir.join("linked-dir")).unwrap();
    std::os::unix::fs::symlink(
        target.join("keep.txt"),
        dir.join("logs").join("linked-file"),
    )
    .unwrap();
    approve_all(&repo, &run_id).expect(0);
    assert!(std::fs::symlink_metadata(dir.join("linked-dir")).is_err());
    assert!(!dir.join("logs").exists());
    assert_eq!(
        std::fs::read_to_string(target.join("keep.txt")).unwrap(),
        "keep me"
    );
}

#[test]
fn a_second_cleanup_changes_nothing_and_a_dry_run_changes_no_byte() {
    let repo = repo_with(NOW_POLICY);
    let first = run(&repo);
    add_task(&repo, 3);
    let second = run(&repo);
    add_task(&repo, 4);
    let third = run(&repo);
    repo.run(&["retain", &third, "--reason", "sample"])
        .expect(0);
    approve_all(&repo, &first).expect(0);
    approve_all(&repo, &third).expect(0);
    repo.run(&["approve", &second, "--role", "PM"]).expect(0);

    // A dry run at a later time: the same decisions as the real cleanup, no byte changed.
    let later = "2099-01-01T00:00:00Z";
    repo.run(&["release", &third]).expect(0);
    let before = snapshot(&repo);
    let dry = cleanup_json(&repo, &["--dry-run", "--now", later], 0);
    assert_eq!(snapshot(&repo), before, "--dry-run changed something");
    let human = repo
        .run(&["cleanup", "--dry-run", "--now", later])
        .expect(0)
        .stdout();
    assert!(
        human.contains("would purge") && human.contains("dry run"),
        "{human}"
    );
    assert_eq!(snapshot(&repo), before);
    let real = cleanup_json(&repo, &["--now", later], 0);
    let strip = |m: &BTreeMap<String, (String, String, bool)>| {
        m.iter()
            .map(|(k, (s, r, p))| (k.clone(), s.clone(), r.clone(), *p))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&dry), strip(&real));
    assert_eq!(entry(&real, &third), ("purged", "auto_success_ttl"));

    // Right after: nothing changes at all.
    let settled = snapshot(&repo);
    let again = cleanup_json(&repo, &["--now", later], 0);
    assert!(again.values().all(|(_, _, purge)| !purge));
    assert_eq!(
        snapshot(&repo),
        settled,
        "a second cleanup changed something"
    );
    repo.run(&["audit", "verify"]).expect(0);
}

#[test]
fn an_interrupted_cleanup_finishes_on_the_next_call() {
    for point in ["cleanup:logged", "cleanup:refs_deleted"] {
        let repo = repo_with(
            "[retention]\nsuccess_ttl = \"1d\"\nrequired_approvals = [\"PM\", \"QA\", \"GO\"]\nkeep_last = 0\n",
        );
        let run_id = run(&repo);
        approve_all(&repo, &run_id).expect(0);
        let later = "2099-01-01T00:00:00Z";
        let killed = repo
            .cmd(&["cleanup", "--now", later])
            .env("MICROLOOP_FAULT", point)
            .output()
            .unwrap();
        assert_eq!(
            killed.status.code(),
            None,
            "{point}: killed by its fault point"
        );
        // The decision was logged (fsynced) before anything was deleted.
        let d = decisions(&repo, &run_id);
        assert_eq!(d.last().unwrap()["state"], "purged", "{point}");
        let logged = d.len();
        if point == "cleanup:logged" {
            assert!(has_ref(&repo, &branch(&run_id)));
        }
        let m = cleanup_json(&repo, &["--now", later], 0);
        assert_eq!(
            entry(&m, &run_id),
            ("purged", "auto_success_ttl"),
            "{point}"
        );
        assert!(!has_ref(&repo, &branch(&run_id)), "{point}");
        assert!(
            !artifacts(&repo, &run_id).join("evidence").exists(),
            "{point}"
        );
        assert_eq!(summary(&repo, &run_id)["retention"]["state"], "purged");
        assert_eq!(
            decisions(&repo, &run_id).len(),
            logged,
            "{point}: logged once"
        );
        repo.run(&["audit", "verify"]).expect(0);
    }
}

#[test]
fn cleanup_and_a_run_of_the_same_change_exclude_each_other() {
    let repo = repo_with(NOW_POLICY);
    let first = run(&repo);
    approve_all(&repo, &first).expect(0);
    add_task(&repo, 3);
    let (mut child, _) = repo.spawn_run_started(&format!("sleep 4; {IMPL}"));
    let r = repo.run(&["cleanup"]).expect(1);
    assert!(
        r.stderr()
            .contains("another git-microloop process holds CH-001"),
        "{}",
        r.stderr()
    );
    let r = repo.run(&["approve", &first, "--role", "HR"]).expect(2);
    assert!(
        r.stderr().contains("another git-microloop process"),
        "{}",
        r.stderr()
    );
    assert!(child.wait().unwrap().success());
    repo.run(&["cleanup"]).expect(0);
}

#[test]
fn damaged_or_contradicting_facts_keep_the_run() {
    let repo = repo_with(NOW_POLICY);
    let run_id = run(&repo);
    approve_all_without_cleanup(&repo, &run_id);
    let path = artifacts(&repo, &run_id).join("summary.json");
    let good = std::fs::read(&path).unwrap();
    let finished = summary(&repo, &run_id)["finished_at"]
        .as_str()
        .unwrap()
        .to_string();
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut v: Value = serde_json::from_slice(&good).unwrap();
        f(&mut v);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    };

    let reason = |args: &[&str]| cleanup_json(&repo, args, 0)[&run_id].1.clone();
    // A time before the run finished: its timestamps are in the future.
    assert_eq!(
        reason(&["--dry-run", "--now", "2000-01-01"]),
        "future_timestamp"
    );
    std::fs::write(&path, b"{ torn").unwrap();
    assert_eq!(reason(&["--dry-run"]), "summary_unreadable");
    edit(&|v| v["status"] = "exploded".into());
    assert_eq!(reason(&["--dry-run"]), "unknown_state");
    edit(&|v| v["plan_hash"] = format!("sha256:{}", "0".repeat(64)).into());
    assert_eq!(reason(&["--dry-run"]), "trailers_contradict_summary");
    edit(&|v| {
        v["approvals"] = serde_json::json!([
            {"role": "HR", "by": "x", "at": finished, "note": null, "decision": "approve"}
        ])
    });
    assert_eq!(reason(&["--dry-run"]), "approvals_record_missing");
    std::fs::remove_file(&path).unwrap();
    assert_eq!(reason(&["--dry-run"]), "summary_missing");
    // For real: retained, logged, reviewed, nothing deleted.
    assert_eq!(reason(&[]), "summary_missing");
    assert!(has_ref(&repo, &branch(&run_id)));
    let reviews = log_lines(&repo, "audit/retention_reviews.jsonl");
    assert_eq!(reviews[0]["reason"], "summary_missing");
}

/// All approvals recorded under a TTL that keeps the run, so cleanup is left to the test.
fn approve_all_without_cleanup(repo: &TestRepo, run: &str) {
    let toml = repo.read(".microloop.toml");
    repo.write(
        ".microloop.toml",
        &toml.replace("success_ttl = \"0\"", "success_ttl = \"100d\""),
    );
    approve_all(repo, run).expect(0);
    repo.write(".microloop.toml", &toml);
}

#[test]
fn keep_last_keeps_the_newest_eligible_runs() {
    let repo = repo_with(&NOW_POLICY.replace("keep_last = 0", "keep_last = 1"));
    let first = run(&repo);
    add_task(&repo, 3);
    let second = run(&repo);
    approve_all(&repo, &first).expect(0);
    approve_all(&repo, &second).expect(0);
    let m = cleanup_json(&repo, &[], 0);
    assert_eq!(entry(&m, &second), ("eligible", "keep_last"));
    assert_eq!(entry(&m, &first), ("purged", "auto_success_ttl"));
    assert!(!has_ref(&repo, &branch(&first)) && has_ref(&repo, &branch(&second)));
}

#[test]
fn without_a_policy_everything_is_kept() {
    let repo = repo_with("");
    let run_id = run(&repo);
    let before = snapshot(&repo);
    let out = repo.run(&["cleanup"]).expect(0).stdout();
    assert!(out.contains("every run is kept"), "{out}");
    assert_eq!(
        repo.run(&["cleanup", "--json"]).expect(0).json()["policy"],
        Value::Null
    );
    let r = repo.run(&["approve", &run_id, "--role", "PM"]).expect(2);
    assert!(
        r.stderr().contains("no [retention] section"),
        "{}",
        r.stderr()
    );
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn bad_input_is_refused_with_the_key_or_flag_named() {
    let repo = repo_with(NOW_POLICY);
    for (bad, key) in [
        (
            "[retention]\nsuccess_ttl = \"soon\"\n",
            "retention.success_ttl",
        ),
        (
            "[retention]\nrequired_approvals = [\"P M\"]\n",
            "retention.required_approvals",
        ),
        ("[retention]\nkeep_last = -1\n", "retention.keep_last"),
        (
            "[retention]\nkeep_summary = \"yes\"\n",
            "retention.keep_summary",
        ),
        ("[retention]\nttl = \"7d\"\n", "retention.ttl"),
    ] {
        repo.write(".microloop.toml", bad);
        let r = repo.run(&["cleanup"]).expect(2);
        assert!(
            r.stderr().contains(&format!(".microloop.toml:2: `{key}`")),
            "{bad}: {}",
            r.stderr()
        );
    }
    repo.write(".microloop.toml", NOW_POLICY);
    let r = repo.run(&["cleanup", "--now", "tomorrow"]).expect(2);
    assert!(r.stderr().contains("--now"), "{}", r.stderr());

    // A retention log that does not verify: no decision is made on it.
    let run_id = run(&repo);
    repo.run(&["approve", &run_id, "--role", "PM"]).expect(0);
    repo.run(&["approve", &run_id, "--role", "QA"]).expect(0);
    let log = repo.path().join("audit/retention.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, text.replacen("\"role\":\"PM\"", "\"role\":\"GO\"", 1)).unwrap();
    let r = repo.run(&["cleanup"]).expect(2);
    assert!(r.stderr().contains("does not verify"), "{}", r.stderr());
    repo.run(&["approve", &run_id, "--role", "GO"]).expect(2);
}

#[test]
fn a_failed_branch_transaction_deletes_nothing_and_the_next_cleanup_finishes() {
    let repo = repo_with(&NOW_POLICY.replace("success_ttl = \"0\"", "success_ttl = \"1d\""));
    let first = run(&repo);
    add_task(&repo, 3);
    let second = run(&repo);
    approve_all(&repo, &first).expect(0);
    approve_all(&repo, &second).expect(0);
    // A lock left by a crashed git on one of the two branches: git refuses the transaction.
    let lock = repo
        .path()
        .join(".git/refs/heads/microloop/CH-001")
        .join(format!("{second}.lock"));
    std::fs::write(&lock, "").unwrap();
    let later = "2099-01-01T00:00:00Z";
    let r = repo.run(&["cleanup", "--now", later]).expect(1);
    assert!(
        r.stderr().contains("no run branch was deleted"),
        "{}",
        r.stderr()
    );
    for run in [&first, &second] {
        assert!(has_ref(&repo, &branch(run)), "all or nothing");
        assert!(
            artifacts(&repo, run).join("evidence").exists(),
            "artifacts wait for the branches"
        );
        assert_eq!(decisions(&repo, run).last().unwrap()["state"], "purged");
    }
    std::fs::remove_file(&lock).unwrap();
    let m = cleanup_json(&repo, &["--now", later], 0);
    for run in [&first, &second] {
        assert_eq!(entry(&m, run), ("purged", "auto_success_ttl"));
        assert!(!has_ref(&repo, &branch(run)));
        assert!(!artifacts(&repo, run).join("evidence").exists());
        assert_eq!(
            decisions(&repo, run).len(),
            2,
            "eligible, then purged: logged once each"
        );
    }
}
