//! Cleanup: `git microloop cleanup` of N expired, fully approved runs — each with its run
//! branch, artifact folder (summary.json and an evidence file), run state and three approvals
//! in the retention log — beside plain git deleting the same branches on an identical copy:
//!
//! ```text
//! git for-each-ref --format='delete %(refname)' refs/heads/microloop | git update-ref --stdin
//! ```
//!
//! for 1,000 and 10,000 runs, refs packed and loose. Cleanup does everything the baseline does
//! (one `git update-ref --stdin` transaction, with old values) plus reading every run, logging
//! every decision (fsynced) before deleting, deleting the artifact folders and updating
//! summary.json. So a second baseline does the same deletions with plain tools on a third
//! copy — the branches as above, then `find artifacts/work -mindepth 3 -maxdepth 3 -name
//! evidence -exec rm -rf {} +` (what cleanup deletes with `keep_summary`) — the floor of what
//! the whole job costs on this disk, where removing a file that holds data costs about as
//! much as git's lock file per ref. Every side destroys its fixture, so each sample gets fresh
//! copies.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_microloop::audit::{LineHash, encode_line};
use serde_json::json;

use crate::support::{self, BIN, Row, median};
const CHANGES: usize = 10;
const PLAN: &str = "sha256:9928fa03340b79694ee7814d72f84df24c00a76ebe5efa55479ece653cae6a12";
const LONG_AGO: &str = "2026-01-01T00:00:00.000Z";

/// `git -C dir args…` (pinned, must succeed), its output as text.
fn git(dir: &Path, args: &[&str]) -> String {
    String::from_utf8_lossy(&support::git(dir, args).stdout).into_owned()
}

fn run_id(n: usize) -> String {
    format!("run-20260101T{:06}Z-{:04x}", n / 60, n % 0xffff)
}

fn change(n: usize) -> String {
    format!("CH-{:03}", n % CHANGES)
}

/// A repository with `runs` finished runs spread over ten changes; each change branch holds its
/// runs' commits (as after their fast-forwards), so every run branch is merged.
fn fixture(dir: &Path, runs: usize, packed: bool) -> PathBuf {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["config", "user.name", "Bench"]);
    git(&repo, &["config", "user.email", "bench@example.com"]);
    std::fs::write(repo.join(".gitignore"), "/artifacts/\n/audit/\n").unwrap();
    std::fs::write(
        repo.join(".microloop.toml"),
        "[retention]\nsuccess_ttl = \"7d\"\nrequired_approvals = [\"PM\", \"QA\", \"GO\"]\nkeep_last = 0\n",
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "initial"]);

    // One commit per run with its trailers, chained per change, through fast-import.
    let mut input = Vec::new();
    for n in 0..runs {
        let (c, r) = (change(n), run_id(n));
        let msg = format!(
            "T001: task of {r}\n\nMicroloop-Change: {c}\nMicroloop-Run: {r}\nMicroloop-Task: T001\n\
             Microloop-Seed: 42\nMicroloop-Plan: {PLAN}\nMicroloop-QA: pass\n"
        );
        let from = if n < CHANGES {
            "refs/heads/main^0".to_string()
        } else {
            format!(":{}", n + 1 - CHANGES)
        };
        write!(
            input,
            "commit refs/heads/change/{c}\nmark :{}\ncommitter Bench <b@e> {} +0000\ndata {}\n{msg}\nfrom {from}\n\n",
            n + 1,
            1_767_225_600 + n,
            msg.len()
        )
        .unwrap();
    }
    for n in 0..runs {
        writeln!(
            input,
            "reset refs/heads/microloop/{}/{}\nfrom :{}\n",
            change(n),
            run_id(n),
            n + 1
        )
        .unwrap();
    }
    let marks = dir.join("marks");
    let mut fi = Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["fast-import", "--quiet"])
        .arg(format!("--export-marks={}", marks.display()))
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    fi.stdin.take().unwrap().write_all(&input).unwrap();
    assert!(fi.wait().unwrap().success());
    let mut oids = vec![String::new(); runs];
    for line in std::fs::read_to_string(&marks).unwrap().lines() {
        let (mark, oid) = line.split_once(' ').unwrap();
        oids[mark[1..].parse::<usize>().unwrap() - 1] = oid.to_string();
    }
    let main = git(&repo, &["rev-parse", "main"]).trim().to_string();
    if packed {
        git(&repo, &["pack-refs", "--all"]);
    }

    // Artifacts, run state, approvals.
    let mut log = Vec::new();
    let mut prev = LineHash::genesis("retention");
    let mut seq = 0;
    for n in 0..runs {
        let (c, r) = (change(n), run_id(n));
        let base = if n < CHANGES {
            main.clone()
        } else {
            oids[n - CHANGES].clone()
        };
        let art = repo.join("artifacts/work").join(&c).join(&r);
        std::fs::create_dir_all(art.join("evidence")).unwrap();
        let summary = json!({
            "schema_version": 1, "change": c, "run_id": r, "status": "succeeded", "seed": 42,
            "strategy": "spec-like", "planner_version": 1, "plan_hash": PLAN,
            "planner_fallback": null, "base_commit": base, "head_commit": oids[n],
            "run_branch": format!("refs/heads/microloop/{c}/{r}"),
            "started_at": LONG_AGO, "finished_at": LONG_AGO,
            "tasks": [{"task_id": "T001", "title": "task", "status": "done", "commit": oids[n],
                       "duration_ms": 1200, "files_touched": ["src/a.rs"], "lines_added": 3,
                       "lines_removed": 1, "qa_result": "pass", "qa": [], "attempts": 1}],
            "totals": {"tasks": 1, "done": 1, "skipped": 0, "failed": 0, "files_touched": 1,
                       "lines_added": 3, "lines_removed": 1, "duration_ms": 1200},
            "plan_progress": {"settled": 1, "total": 1},
            "retention": {"state": "retained", "reason": "retained_pending_approval", "marker": null},
            "approvals": [], "audit_anchor": null,
        });
        std::fs::write(
            art.join("summary.json"),
            serde_json::to_vec_pretty(&summary).unwrap(),
        )
        .unwrap();
        std::fs::write(
            art.join("evidence/T001.json"),
            b"{\"files\":[\"src/a.rs\"]}\n",
        )
        .unwrap();
        let state_dir = repo
            .join(".git/microloop/changes")
            .join(&c)
            .join("runs")
            .join(&r);
        std::fs::create_dir_all(&state_dir).unwrap();
        let state = json!({
            "schema_version": 1, "change": c, "run_id": r, "status": "succeeded",
            "mode": {"kind": "implementer", "argv": ["impl.sh"], "timeout_ms": 1000},
            "change_branch": format!("refs/heads/change/{c}"), "base": base,
            "run_branch": format!("refs/heads/microloop/{c}/{r}"),
            "worktree": repo.join(".git/microloop/worktrees").join(&r), "artifacts": art,
            "seed": 42, "strategy": "spec-like", "plan_hash": PLAN, "max_attempts": 2,
            "no_verify": false, "qa": [], "tasks": [], "current": null, "child_pgid": null,
            "failure": null, "started_at": LONG_AGO, "updated_at": LONG_AGO,
            "finished_at": LONG_AGO, "finish_note": null,
        });
        std::fs::write(
            state_dir.join("state.json"),
            serde_json::to_vec(&state).unwrap(),
        )
        .unwrap();
        for role in ["PM", "QA", "GO"] {
            seq += 1;
            let fields = json!({"change": c, "run_id": r, "role": role, "by": "bench",
                                "note": null, "decision": "approve", "seed": 42, "plan_hash": PLAN});
            let line = encode_line(seq, &prev, "run_approved", &fields, LONG_AGO).unwrap();
            prev = LineHash::of(&line);
            log.extend_from_slice(&line);
        }
    }
    std::fs::create_dir_all(repo.join("audit")).unwrap();
    std::fs::write(repo.join("audit/retention.jsonl"), &log).unwrap();
    repo
}

/// A copy of the whole repository (work tree, `.git`, artifacts) at `to`. Every side works on
/// such a copy, never on the fixture itself: building the fixture deletes files in the very
/// folders the refs live in (`git pack-refs` removes the loose refs), and on this disk's ext4
/// (no journal) creating a file next to many recently deleted ones is slow — git's lock file
/// per ref would pay for it on one side and not on the others.
fn copy_repo(repo: &Path, to: &Path) -> PathBuf {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(repo)
        .arg(to)
        .status()
        .unwrap()
        .success();
    assert!(ok, "cp -a");
    to.to_path_buf()
}

fn count_refs(repo: &Path) -> usize {
    git(
        repo,
        &["for-each-ref", "--format=x", "refs/heads/microloop"],
    )
    .lines()
    .count()
}

/// Flush dirty pages so neither side pays for the other's writes.
fn settle() {
    let _ = Command::new("sync").status();
}

/// Where cleanup's time went, in ms, from its own `-v` timings: reading and deciding, logging
/// the decisions, the branch transaction, the artifact folders, and the rest (the process,
/// the workspace status).
type Phases = [f64; 5];

fn time_cleanup(repo: &Path, runs: usize) -> (Duration, Phases) {
    settle();
    let start = Instant::now();
    let out = Command::new(BIN)
        .args(["-v", "cleanup"])
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    let took = start.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    if std::env::var_os("CLEANUP_BENCH_VERBOSE").is_some() {
        eprint!("{log}");
    }
    assert!(out.status.success(), "cleanup failed: {log}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(&format!("{runs} purged")),
        "cleanup did not purge every run: {}",
        text.lines().last().unwrap_or_default()
    );
    assert_eq!(count_refs(repo), 0);
    let at = |what: &str| -> f64 {
        log.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.rsplit("ms=").next())
            .and_then(|ms| ms.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{what}` timing in cleanup's -v output"))
    };
    let (decided, logged) = (at("cleanup: decided"), at("execute: logged"));
    let (branches, artifacts) = (
        at("execute: branches deleted"),
        at("execute: artifacts deleted"),
    );
    let phases = [
        decided,
        logged,
        branches - logged,
        artifacts - branches,
        took.as_secs_f64() * 1e3 - decided - artifacts,
    ];
    (took, phases)
}

const DELETE_BRANCHES: &str =
    "git for-each-ref --format='delete %(refname)' refs/heads/microloop | git update-ref --stdin";

fn time_baseline(repo: &Path, script: &str) -> Duration {
    settle();
    let start = Instant::now();
    let ok = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .status()
        .unwrap()
        .success();
    let took = start.elapsed();
    assert!(ok);
    assert_eq!(count_refs(repo), 0);
    took
}

/// The rows, and a table of where cleanup's time went (medians per phase).
pub fn measure(root: &Path, sizes: &[(usize, usize)]) -> (Vec<Row>, String) {
    let mut rows = Vec::new();
    let mut phases_table = String::from(
        "| cleanup of | read and decide | log (fsync) | branch transaction (git) | artifact folders | rest |\n|---|---:|---:|---:|---:|---:|\n",
    );
    // To look at one side by hand: build the fixture where this says, and stop.
    if let Some(at) = std::env::var_os("CLEANUP_BENCH_FIXTURE") {
        let (runs, _) = sizes[0];
        let repo = fixture(Path::new(&at), runs, true);
        eprintln!("fixture with {runs} runs, packed refs: {}", repo.display());
        return (rows, phases_table);
    }
    for &(runs, reps) in sizes {
        for packed in [true, false] {
            let (mut ours, mut theirs, mut floor) = (Vec::new(), Vec::new(), Vec::new());
            let mut phases: Vec<Phases> = Vec::new();
            let everything = format!(
                "{DELETE_BRANCHES} && find artifacts/work -mindepth 3 -maxdepth 3 -name evidence -exec rm -rf {{}} +"
            );
            for rep in 0..reps {
                let dir = root.join(format!("cleanup-{runs}-{packed}-{rep}"));
                std::fs::create_dir_all(&dir).expect("mkdir");
                let fixture = fixture(&dir, runs, packed);
                let repo = copy_repo(&fixture, &dir.join("ours"));
                let base = copy_repo(&fixture, &dir.join("baseline"));
                let plain = copy_repo(&fixture, &dir.join("plain"));
                assert_eq!(count_refs(&base), runs);
                // Rotate which side goes first, so none always meets a colder (or busier) disk.
                let mut order = [0, 1, 2];
                order.rotate_left(rep % 3);
                for side in order {
                    match side {
                        0 => {
                            let (took, p) = time_cleanup(&repo, runs);
                            ours.push(took);
                            phases.push(p);
                        }
                        1 => theirs.push(time_baseline(&base, DELETE_BRANCHES)),
                        _ => floor.push(time_baseline(&plain, &everything)),
                    }
                }
                let _ = std::fs::remove_dir_all(&dir);
            }
            let refs = if packed { "packed" } else { "loose" };
            let cell = |i: usize| {
                let mut v: Vec<f64> = phases.iter().map(|p| p[i]).collect();
                v.sort_by(f64::total_cmp);
                format!("{:.0} ms", v[v.len() / 2])
            };
            let _ = writeln!(
                phases_table,
                "| {runs} runs, {refs} refs | {} | {} | {} | {} | {} |",
                cell(0),
                cell(1),
                cell(2),
                cell(3),
                cell(4)
            );
            let ours = median(ours);
            rows.push(Row {
                workload: format!("cleanup {runs} expired runs, {refs} refs"),
                ours,
                baseline_name: "`git for-each-ref … | git update-ref --stdin`".into(),
                baseline: median(theirs),
                target: "≤ 1.0×, linear".into(),
                samples: reps,
            });
            rows.push(Row {
                workload: format!("cleanup {runs} expired runs, {refs} refs (same deletions)"),
                ours,
                baseline_name: "the same + `find artifacts … -name evidence -exec rm -rf`".into(),
                baseline: median(floor),
                target: "(the floor on this disk)".into(),
                samples: reps,
            });
        }
    }
    (rows, phases_table)
}
