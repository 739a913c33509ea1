//! `git microloop demo`: the README's first command works anywhere, with no git identity of
//! the user's.

mod common;

#[test]
fn demo_runs_the_whole_loop_in_a_fresh_repository() {
    let scratch = common::TestRepo::new(); // only for its pinned environment and folders
    let dir = scratch.outside().join("demo");
    let mut cmd = scratch.cmd(&["demo", "--dir", dir.to_str().unwrap()]);
    for v in [
        "GIT_AUTHOR_NAME",
        "GIT_AUTHOR_EMAIL",
        "GIT_COMMITTER_NAME",
        "GIT_COMMITTER_EMAIL",
    ] {
        cmd.env_remove(v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("succeeded: 7/7 tasks done"), "{stdout}");
    assert!(
        stdout.contains("Microloop-Task: T007 · Microloop-QA: pass"),
        "{stdout}"
    );
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .arg("-C")
            .arg(&dir)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success());
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let mut ids = common::task_ids_in(&git(&common::task_ids_log("main..change/CH-001")));
    ids.sort();
    assert_eq!(
        ids,
        ["T001", "T002", "T003", "T004", "T005", "T006", "T007"]
    );
    // The greeter the tasks built works.
    let greet = std::process::Command::new("sh")
        .arg(dir.join("src/greet.sh"))
        .arg("Ada")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&greet.stdout), "Hello, Ada!\n");
    assert!(
        git(&["status", "--porcelain"]).is_empty(),
        "the demo left changes behind"
    );
}

#[test]
fn demo_refuses_a_folder_that_is_not_empty() {
    let scratch = common::TestRepo::new();
    let r = scratch
        .run(&["demo", "--dir", scratch.path().to_str().unwrap()])
        .expect(2);
    assert!(r.stderr().contains("is not empty"));
}
