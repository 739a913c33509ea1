//! `git microloop checklist` on real runs in temporary repositories.

mod common;

use common::TestRepo;
use serde_json::Value;

const TASKS: &str = "## Phase 1\n\n- [ ] T001 Create `a.txt`\n- [ ] T002 Create `b.txt`\n";
const IMPL: &str = "echo \"$MICROLOOP_TASK_ID\" >> \"out-$MICROLOOP_TASK_ID.txt\"";

fn failing(repo: &TestRepo) -> Vec<String> {
    let r = repo.run(&["checklist", "--json"]);
    let v: Value = r.json();
    v["checklist"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == "fail")
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_complete_run_passes_and_each_breakage_fails_its_own_item() {
    let repo = TestRepo::with_change(TASKS);
    // Before any run: no run metadata.
    repo.run(&["checklist"]).expect(1);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let ok = repo.run(&["checklist"]).expect(0);
    assert!(
        ok.stdout().contains("✓ tasks.md reproduces"),
        "{}",
        ok.stdout()
    );

    // tasks.md edited without a new run.
    let tasks = repo.read("changes/CH-001/tasks.md");
    repo.write(
        "changes/CH-001/tasks.md",
        &format!("{tasks}- [ ] T003 Sneaked in\n"),
    );
    repo.commit_all("edit tasks");
    assert_eq!(failing(&repo), ["plan"]);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    assert!(failing(&repo).is_empty());

    // A Spec-Kit checklist with an open item (an example in a fence does not count).
    repo.write(
        "changes/CH-001/checklists/requirements.md",
        "# Req\n- [x] done\n```\n- [ ] example\n```\n",
    );
    repo.commit_all("checklist ok");
    assert!(failing(&repo).is_empty());
    repo.write(
        "changes/CH-001/checklists/requirements.md",
        "# Req\n- [ ] open item\n",
    );
    repo.commit_all("checklist open");
    assert_eq!(failing(&repo), ["speckit_checklists"]);
}

#[test]
fn local_items_are_not_available_in_a_fresh_clone_unless_required() {
    let repo = TestRepo::with_change(TASKS);
    let imp = repo.script("impl.sh", IMPL);
    repo.run(&["run", "--implementer", "--", &imp]).expect(0);
    let clone = repo.fresh_clone("change/CH-001");
    let mut cmd = repo.cmd(&["checklist", "--json"]);
    cmd.current_dir(&clone);
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = v["checklist"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "run")
        .unwrap()
        .clone();
    assert_eq!(run["outcome"], "not_available");
    let mut cmd = repo.cmd(&["checklist", "--require-local"]);
    cmd.current_dir(&clone);
    assert_eq!(cmd.output().unwrap().status.code(), Some(1));
}
