//! Each item fails for its own reason and passes otherwise.

use super::*;

fn good() -> Facts {
    let commit = |task: &str, c: &str| TaskCommit {
        commit: c.to_string(),
        task: task.to_string(),
        run: Some("run-1".into()),
        seed: Some("42".into()),
        plan: Some("sha256:p".into()),
        qa: Some("pass".into()),
    };
    let audit = |t: &str| AuditTask {
        task_id: t.into(),
        complete_fields: true,
        qa_result: "pass".into(),
    };
    Facts {
        change: "CH-1".into(),
        run_id: Some("run-1".into()),
        plan: PlanCheck::Reproduced,
        expected: vec!["T1".into(), "T2".into()],
        seed: Some("42".into()),
        plan_hash: Some("sha256:p".into()),
        commits: vec![commit("T1", "aaaa"), commit("T2", "bbbb")],
        summary: Local::Present(SummaryFacts {
            status: "succeeded".into(),
            schema_errors: vec![],
            plan_hash: "sha256:p".into(),
            seed: 42,
            done: vec![
                ("T1".into(), Some("aaaa".into())),
                ("T2".into(), Some("bbbb".into())),
            ],
        }),
        audit_tasks: Local::Present(vec![audit("T1"), audit("T2")]),
        audit_chain: Local::Present(Ok(())),
        unchecked: vec![],
        approvals: Local::Absent("not gathered".into()),
        for_approval: false,
        require_local: false,
    }
}

fn failing(f: &Facts) -> Vec<&'static str> {
    evaluate(f)
        .items
        .into_iter()
        .filter(|i| i.outcome == Outcome::Fail)
        .map(|i| i.id)
        .collect()
}

#[test]
fn a_complete_run_passes() {
    let c = evaluate(&good());
    assert!(c.ok, "{c:#?}");
}

#[test]
fn each_item_fails_for_its_own_reason() {
    let mut f = good();
    f.plan = PlanCheck::Changed(vec!["T3 (added)".into()]);
    assert_eq!(failing(&f), ["plan"]);

    let mut f = good();
    f.plan = PlanCheck::NotReproduced {
        recorded: "a".into(),
        derived: "b".into(),
    };
    assert_eq!(failing(&f), ["plan"]);

    let mut f = good();
    if let Local::Present(s) = &mut f.summary {
        s.status = "failed".into();
    }
    assert_eq!(failing(&f), ["run"]);

    let mut f = good();
    if let Local::Present(s) = &mut f.summary {
        s.schema_errors = vec!["bad".into()];
    }
    assert_eq!(failing(&f), ["run"]);

    let mut f = good();
    f.commits.remove(1); // an amend dropped T2's trailers
    assert_eq!(failing(&f), ["commits"]);

    let mut f = good();
    f.commits.swap(0, 1);
    assert_eq!(failing(&f), ["commits"]);

    let mut f = good();
    f.commits[1].plan = Some("sha256:other".into());
    assert_eq!(failing(&f), ["commits"]);

    let mut f = good();
    if let Local::Present(a) = &mut f.audit_tasks {
        a.remove(0);
    }
    assert_eq!(failing(&f), ["audit_events"]);

    let mut f = good();
    if let Local::Present(a) = &mut f.audit_tasks {
        a[1].qa_result = "fail".into();
    }
    assert_eq!(failing(&f), ["audit_events"]);

    let mut f = good();
    f.audit_chain = Local::Present(Err("line 3 was edited".into()));
    assert_eq!(failing(&f), ["audit_chain"]);

    let mut f = good();
    f.unchecked = vec!["checklists/req.md:4: open".into()];
    assert_eq!(failing(&f), ["speckit_checklists"]);
}

#[test]
fn local_items_are_not_available_in_a_fresh_clone_unless_required() {
    let mut f = good();
    f.summary = Local::Absent("no summary.json".into());
    f.audit_tasks = Local::Absent("no audit log".into());
    f.audit_chain = Local::Absent("no audit log".into());
    let c = evaluate(&f);
    assert!(c.ok, "{c:#?}");
    assert!(
        c.items
            .iter()
            .any(|i| i.outcome == Outcome::NotAvailable && i.id == "run")
    );
    f.require_local = true;
    assert_eq!(failing(&f), ["run", "audit_events", "audit_chain"]);
}

#[test]
fn no_run_on_the_branch_fails() {
    let mut f = good();
    f.run_id = None;
    f.commits.clear();
    let failed = failing(&f);
    assert!(
        failed.contains(&"plan") && failed.contains(&"commits"),
        "{failed:?}"
    );
}

#[test]
fn approvals_are_checked_for_real_with_for_approval() {
    let mut f = good();
    assert_eq!(
        failing(&f),
        Vec::<&str>::new(),
        "not checked without the flag"
    );
    f.for_approval = true;
    f.approvals = Local::Present(ApprovalCheck::Checked {
        required: vec!["GO".into(), "PM".into(), "QA".into()],
        missing: vec!["QA".into()],
    });
    assert_eq!(failing(&f), ["approvals"]);
    let item = evaluate(&f).items.pop().unwrap();
    assert!(item.why.unwrap().contains("QA"));
    assert!(
        item.fix
            .unwrap()
            .contains("git microloop approve run-1 --role QA")
    );
    f.approvals = Local::Present(ApprovalCheck::Checked {
        required: vec!["GO".into()],
        missing: vec![],
    });
    assert!(evaluate(&f).ok);
    f.approvals = Local::Present(ApprovalCheck::NoPolicy);
    assert!(evaluate(&f).ok);
    f.approvals = Local::Present(ApprovalCheck::Broken("line 2 was edited".into()));
    assert_eq!(failing(&f), ["approvals"]);
    f.approvals = Local::Absent("no summary".into());
    assert!(evaluate(&f).ok);
    f.require_local = true;
    assert_eq!(failing(&f), ["approvals"]);
}
