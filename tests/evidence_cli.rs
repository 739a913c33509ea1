//! The evidence a run leaves: summary.json valid against docs/summary.schema.json and
//! consistent with the plan and the commits.

mod common;

use std::path::PathBuf;

use common::{TestRepo, assert_valid_summary};
use serde_json::Value;

const TASKS: &str = "\
## Phase 1

- [ ] T001 Create `a.txt`
- [ ] T002 [P] Create `b.txt`
- [ ] T003 [P] Create `c.txt`
";

const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

fn summary_of(repo: &TestRepo) -> (Value, PathBuf) {
    let state = repo.run(&["status", "--json"]).expect(0).json();
    let artifacts = PathBuf::from(state["runs"][0]["artifacts"].as_str().unwrap());
    let path = artifacts.join("summary.json");
    (
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
        path,
    )
}

#[test]
fn successful_run_summary_is_valid_and_matches_plan_and_commits() {
    let repo = TestRepo::with_change(TASKS);
    let plan = repo.run(&["plan", "--json"]).expect(0).json();
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let (s, _) = summary_of(&repo);
    assert_valid_summary(&s);
    assert_eq!(s["status"], "succeeded");
    assert_eq!(s["plan_hash"], plan["plan_hash"]);
    assert_eq!(s["seed"], 42);
    assert_eq!(s["totals"]["done"], 3);
    let tasks = s["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 3);
    for t in tasks {
        let commit = t["commit"].as_str().unwrap();
        let trailers = repo.git(&[
            "log",
            "-1",
            "--format=%(trailers:key=Microloop-Task,valueonly)%(trailers:key=Microloop-Run,valueonly)%(trailers:key=Microloop-Plan,valueonly)",
            commit,
        ]);
        let lines: Vec<&str> = trailers.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines,
            [
                t["task_id"].as_str().unwrap(),
                s["run_id"].as_str().unwrap(),
                s["plan_hash"].as_str().unwrap()
            ]
        );
        assert!(t["files_touched"].as_array().unwrap().len() >= 2);
        assert!(t["duration_ms"].as_u64().is_some());
        assert_eq!(t["qa_result"], "skipped");
    }
    assert_eq!(s["head_commit"].as_str().unwrap(), repo.rev("HEAD"));
}

#[test]
fn failed_aborted_and_paused_runs_leave_valid_summaries() {
    let repo = TestRepo::with_change(TASKS);
    repo.write(
        ".microloop.toml",
        "[[qa]]\nname = \"never\"\ncommand = [\"false\"]\n",
    );
    repo.commit_all("qa");
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(1);
    let (s, _) = summary_of(&repo);
    assert_valid_summary(&s);
    assert_eq!(s["status"], "failed");
    assert_eq!(s["retention"]["state"], "retained");
    assert_eq!(s["retention"]["reason"], "retained_failed");
    assert_eq!(s["tasks"][0]["status"], "failed");
    repo.run(&["abort"]).expect(0);
    let (s, _) = summary_of(&repo);
    assert_valid_summary(&s);
    assert_eq!(s["status"], "aborted");

    let manual = TestRepo::with_change(TASKS);
    manual.run(&["run", "--manual"]).expect(0);
    let (s, _) = summary_of(&manual);
    assert_valid_summary(&s);
    assert_eq!(s["status"], "paused");
    assert_eq!(s["retention"]["state"], "active");
}

#[test]
fn show_reads_the_evidence_of_latest_or_a_prefix() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let out = repo.run(&["show"]).expect(0).stdout();
    assert!(out.contains("— succeeded"), "{out}");
    for t in ["T001", "T002", "T003"] {
        assert!(out.contains(t), "{out}");
    }
    assert!(out.contains("3 done, 0 skipped, 0 failed of 3"), "{out}");
    let v = repo.run(&["show", "run-", "--json"]).expect(0).json();
    assert_eq!(v["commits_verified"], true);
    assert_eq!(v["summary"]["tasks"].as_array().unwrap().len(), 3);
    repo.run(&["show", "run-nope"]).expect(2);
}

/// `latest` is the run that started last, and every command agrees on it — even when run ids
/// (which carry the start only to the second, then a random suffix) sort the other way.
#[test]
fn every_command_means_the_same_run_by_latest() {
    let repo = TestRepo::with_change(TASKS);
    repo.write(
        ".microloop.toml",
        "[retention]\nsuccess_ttl = \"7d\"\nrequired_approvals = [\"PM\"]\n",
    );
    repo.commit_all("policy");
    repo.run(&["run", "--manual"]).expect(0);
    let first = repo.run(&["status", "--json"]).expect(0).json()["runs"][0].clone();
    repo.run(&["abort"]).expect(0);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let second = repo.run(&["status", "--json"]).expect(0).json()["runs"][0].clone();
    let (a, b) = (
        first["run_id"].as_str().unwrap(),
        second["run_id"].as_str().unwrap(),
    );
    // The two usually start within one second: their ids then sort by the random suffix,
    // either way round, but the run that started last is still the latest.
    assert_eq!(
        repo.run(&["show", "--json"]).expect(0).json()["summary"]["run_id"],
        b
    );
    assert_eq!(
        repo.run(&["status", "--json"]).expect(0).json()["runs"][0]["run_id"],
        b
    );

    // Now say the aborted run started later: its run state and summary both record it.
    let later = "2099-01-01T00:00:00.000Z";
    let state = repo
        .path()
        .join(".git/microloop/changes")
        .join(first["change"].as_str().unwrap())
        .join("runs")
        .join(a)
        .join("state.json");
    let summary = PathBuf::from(first["artifacts"].as_str().unwrap()).join("summary.json");
    for file in [&state, &summary] {
        let mut v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        v["started_at"] = later.into();
        std::fs::write(file, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    }
    let shown = repo.run(&["show", "--json"]).expect(0).json();
    assert_eq!(shown["summary"]["run_id"], a);
    let status = repo.run(&["status", "--json"]).expect(0).json();
    assert_eq!(status["runs"][0]["run_id"], a);
    let marked = repo
        .run(&["retain", "latest", "--reason", "hold", "--json"])
        .expect(0)
        .json();
    assert_eq!(marked["run_id"], a);
    // An aborted run is not approved for purge: the refusal names the same run.
    let refused = repo.run(&["approve", "latest", "--role", "PM"]).expect(2);
    assert!(refused.stderr().contains(a), "{}", refused.stderr());
}

#[test]
fn notifier_hears_results_and_its_failures_never_fail_the_run() {
    let repo = TestRepo::with_change(TASKS);
    let inbox = repo.outside().join("inbox.json");
    let notifier = repo.script("notify.sh", &format!("cat > '{}'", inbox.display()));
    repo.write(
        ".microloop.toml",
        &format!("[notify]\ncommand = [\"{notifier}\"]\nroles = [\"PM\", \"QA\"]\n"),
    );
    repo.commit_all("notify");
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let heard: Value = serde_json::from_slice(&std::fs::read(&inbox).unwrap()).unwrap();
    assert_eq!(heard["event"], "run_succeeded");
    assert_eq!(heard["roles"], serde_json::json!(["PM", "QA"]));
    assert_eq!(heard["tasks_done"], 3);

    for (name, body) in [("fails.sh", "exit 7"), ("hangs.sh", "sleep 30")] {
        let other = TestRepo::with_change(TASKS);
        let bad = other.script(name, body);
        other.write(
            ".microloop.toml",
            &format!("[notify]\ncommand = [\"{bad}\"]\ntimeout = \"1s\"\n"),
        );
        other.commit_all("notify");
        let imp = other.script("impl.sh", IMPL);
        let started = std::time::Instant::now();
        let r = other.run(&["run", "--implementer", "--", &imp]).expect(0);
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        assert!(
            r.stderr().contains("notification of run_succeeded failed"),
            "{}",
            r.stderr()
        );
    }
}

#[test]
fn log_lists_micro_task_commits_from_trailers_alone() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    // A fresh clone has no local artifacts: the log still reads everything it needs.
    let clone = repo.fresh_clone("change/CH-001");
    let mut cmd = repo.cmd(&["log", "--json", "origin/main..HEAD"]);
    cmd.current_dir(&clone);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["commits"].as_array().unwrap();
    let mut ids: Vec<&str> = rows
        .iter()
        .map(|r| r["task_id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["T001", "T002", "T003"]);
    for r in rows {
        assert_eq!(r["seed"], "42");
        assert_eq!(r["qa"], "skipped");
        assert!(
            r["files"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "changes/CH-001/tasks.md")
        );
    }
    let text = repo.run(&["log"]).expect(0).stdout();
    assert!(text.contains("T002") && text.contains("run run-"), "{text}");
}

/// The file with the managed section of (kind, change) cut out.
fn outside_section(text: &str, kind: &str, change: &str) -> String {
    let begin = format!("<!-- git-microloop:begin {kind} {change} -->");
    let end = format!("<!-- git-microloop:end {kind} {change} -->");
    match (text.find(&begin), text.find(&end)) {
        (Some(b), Some(e)) => format!("{}{}", &text[..b], &text[e + end.len()..]),
        _ => text.to_string(),
    }
}

#[test]
fn running_a_change_twice_keeps_hand_written_text_byte_identical() {
    let repo = TestRepo::with_change("## P\n\n- [ ] T001 First\n");
    let hand_impact = "# Impact of CH-001\r\n\r\nWritten by hand — ünïcödé, | pipes |.\r\n";
    let other_section = "<!-- git-microloop:begin plan CH-999 -->\nkeep me\n<!-- git-microloop:end plan CH-999 -->\n";
    let hand_plan = format!("# Plan\n\nIntro by hand.\n\n{other_section}\nTrailing notes.");
    repo.write("changes/CH-001/impact.md", hand_impact);
    repo.write("docs/IMPLEMENTATION_PLAN.md", &hand_plan);
    repo.commit_all("hand-written docs");
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let impact1 = repo.read("changes/CH-001/impact.md");
    let plan1 = repo.read("docs/IMPLEMENTATION_PLAN.md");
    assert!(impact1.starts_with(hand_impact), "{impact1}");
    assert!(impact1.contains("| T001 |"));
    assert!(
        plan1.contains("Progress: 1 / 1 micro-tasks settled"),
        "{plan1}"
    );

    // A second run of the same change (a new task), after more hand edits outside the sections.
    let impact_edited = impact1.replace("Written by hand", "Edited by hand");
    repo.write("changes/CH-001/impact.md", &impact_edited);
    let mut tasks = repo.read("changes/CH-001/tasks.md");
    tasks.push_str("- [ ] T002 Second\n");
    repo.write("changes/CH-001/tasks.md", &tasks);
    repo.commit_all("more work");
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let impact2 = repo.read("changes/CH-001/impact.md");
    let plan2 = repo.read("docs/IMPLEMENTATION_PLAN.md");
    assert_eq!(
        outside_section(&impact2, "impact", "CH-001"),
        outside_section(&impact_edited, "impact", "CH-001")
    );
    assert_eq!(
        outside_section(&plan2, "plan", "CH-001"),
        outside_section(&plan1, "plan", "CH-001")
    );
    assert!(
        plan2.contains(other_section),
        "another change's section was touched"
    );
    assert!(impact2.contains("| T002 |"), "{impact2}");
    assert!(
        plan2.contains("Progress: 2 / 2 micro-tasks settled"),
        "{plan2}"
    );
}

fn audit_lines(repo: &TestRepo) -> Vec<Value> {
    repo.read("audit/implementer_runs.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn audit_log_records_each_task_and_verify_catches_tampering() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let lines = audit_lines(&repo);
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(events.first(), Some(&"run_started"));
    assert_eq!(events.last(), Some(&"run_succeeded"));
    let completed: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "task_completed")
        .collect();
    assert_eq!(completed.len(), 3);
    for c in &completed {
        for key in [
            "task_id",
            "duration_ms",
            "files_touched",
            "qa_result",
            "seed",
            "plan_hash",
            "run_id",
            "change",
            "ts",
            "attempts",
            "commit",
        ] {
            assert!(!c[key].is_null(), "task_completed lacks {key}: {c}");
        }
    }
    let ok = repo.run(&["audit", "verify"]).expect(0);
    assert!(ok.stdout().contains("✓"), "{}", ok.stdout());
    // The summary and the record commit anchor the head.
    let (s, _) = summary_of(&repo);
    assert!(s["audit_anchor"]["seq"].as_u64().unwrap() >= 4);
    let record = repo.git(&[
        "log",
        "-1",
        "--format=%(trailers:key=Microloop-Audit-Seq,valueonly)",
    ]);
    assert!(record.trim().parse::<u64>().unwrap() >= 4);

    // One byte edited in a middle line: verify fails and names that line.
    let path = repo.path().join("audit/implementer_runs.jsonl");
    let original = std::fs::read(&path).unwrap();
    let starts: Vec<usize> = std::iter::once(0)
        .chain(
            original
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect();
    let middle = starts.len() / 2; // 0-based line index
    let mut edited = original.clone();
    let pos = starts[middle] + 20;
    edited[pos] = if edited[pos] == b'7' { b'8' } else { b'7' };
    std::fs::write(&path, &edited).unwrap();
    let bad = repo.run(&["audit", "verify", "--json"]).expect(1);
    let report = &bad.json()["logs"][0]["report"];
    assert_eq!(report["failure"]["line"], middle as u64 + 1, "{report}");
    let human = repo.run(&["audit", "verify"]).expect(1);
    assert!(
        human.stderr().contains(&format!("line {}", middle + 1)),
        "{}",
        human.stderr()
    );
    std::fs::write(&path, &original).unwrap();

    // Truncated mid-line (a crash while writing): the next run repairs it, verify passes.
    std::fs::write(&path, &original[..original.len() - 30]).unwrap();
    repo.run(&["audit", "verify"]).expect(1);
    let mut tasks = repo.read("changes/CH-001/tasks.md");
    tasks.push_str("- [ ] T004 One more\n");
    repo.write("changes/CH-001/tasks.md", &tasks);
    repo.commit_all("more");
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let lines = audit_lines(&repo);
    assert!(
        lines.iter().any(|l| l["event"] == "log_repaired"),
        "no log_repaired event"
    );
    let torn: Vec<_> = std::fs::read_dir(repo.path().join("audit"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".torn-"))
        .collect();
    assert_eq!(torn.len(), 1, "the torn bytes were not kept aside");
    repo.run(&["audit", "verify"]).expect(0);
}

#[test]
fn a_tampered_audit_log_stops_a_run_before_it_changes_anything() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--only", "T001", "--implementer", "--", &imp])
        .expect(0);
    let path = repo.path().join("audit/implementer_runs.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    // Rewrite the last complete line's seq: it no longer chains.
    let last_start = text[..text.len() - 1].rfind('\n').map_or(0, |i| i + 1);
    let tampered = format!(
        "{}{}",
        &text[..last_start],
        text[last_start..].replacen("\"seq\":", "\"seq\":9", 1)
    );
    std::fs::write(&path, &tampered).unwrap();
    let head = repo.rev("HEAD");
    let r = repo.run(&["run", "--implementer", "--", &imp]).expect(2);
    assert!(r.stderr().contains("audit verify"), "{}", r.stderr());
    assert_eq!(repo.rev("HEAD"), head);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        tampered,
        "the log was changed"
    );
}
