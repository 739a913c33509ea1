//! The audit log through the library API, on real files: the chain as an auditor checks it,
//! every tampering `verify` must name, torn-tail repair, refusal after tampering, logs that
//! cannot be spliced, concurrent appenders (threads and processes) and tail-only appends.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use git_microloop::audit::{
    AnchorStatus, AuditError, AuditLog, Head, LineHash, Tampering, verify, verify_with_anchors,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const RUNS: &str = "implementer_runs";
const TS: &str = "2026-11-24T10:15:00.123Z";

fn task_event(i: u64) -> Value {
    json!({
        "change": "CH-002",
        "run_id": "run-20261124T101500Z-3f9a",
        "seed": 42,
        "plan_hash": "sha256:5d41402abc4b2a76b9719d911017c5925d41402abc4b2a76b9719d911017c592",
        "task_id": format!("T{i:03}"),
        "duration_ms": 1200 + i,
        "files_touched": ["src/api/login.rs", format!("src/mod{i}.rs")],
        "qa_result": "pass",
        "attempts": 1,
        "commit": "0123456789abcdef0123456789abcdef01234567",
    })
}

/// A log of `n` task events in a fresh folder.
fn log_with(n: u64) -> (tempfile::TempDir, AuditLog) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(dir.path().join("audit/implementer_runs.jsonl"), RUNS).unwrap();
    for i in 1..=n {
        log.append("task_completed", task_event(i), TS).unwrap();
    }
    (dir, log)
}

/// The file's lines, each with its `\n`.
fn lines_of(path: &Path) -> Vec<Vec<u8>> {
    fs::read(path)
        .unwrap()
        .split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    fs::write(path, lines.concat()).unwrap();
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Line number and class of the first tampering `verify` finds.
fn named(path: &Path) -> (u64, Tampering) {
    let report = verify(path, RUNS).unwrap();
    assert!(!report.ok, "verify should fail: {report:?}");
    let f = report.failure.unwrap();
    (f.line, f.kind)
}

fn assert_verifies(path: &Path) -> Head {
    let report = verify(path, RUNS).unwrap();
    assert!(report.ok, "{report:?}");
    report.head
}

#[test]
fn chain_is_checkable_with_sha256_alone() {
    let (_dir, mut log) = log_with(5);
    let last = log
        .append("run_succeeded", json!({"change": "CH-002"}), TS)
        .unwrap();
    let lines = lines_of(log.path());
    assert_eq!(lines.len(), 6);
    let mut prev = sha256_hex(b"git-microloop audit genesis implementer_runs");
    for (i, line) in lines.iter().enumerate() {
        let text = std::str::from_utf8(line).unwrap();
        let seq = i + 1;
        // Envelope at fixed places, so `seq` and `prev` can be read without a JSON parser.
        let start =
            format!("{{\"seq\":{seq},\"prev\":\"sha256:{prev}\",\"ts\":\"{TS}\",\"event\":\"");
        assert!(text.starts_with(&start), "line {seq}: {text}");
        let v: Value = serde_json::from_str(text).unwrap();
        assert_eq!(v["prev"], json!(format!("sha256:{prev}")));
        prev = sha256_hex(line);
    }
    assert_eq!(
        last,
        Head {
            seq: 6,
            hash: format!("sha256:{prev}").parse().unwrap()
        }
    );
    assert_eq!(assert_verifies(log.path()), last);
}

#[test]
fn coreutils_sha256sum_agrees_with_the_chain() {
    let (dir, log) = log_with(2);
    let lines = lines_of(log.path());
    let one = dir.path().join("line1");
    fs::write(&one, &lines[0]).unwrap();
    let Ok(out) = Command::new("sha256sum").arg(&one).output() else {
        eprintln!("sha256sum not installed; skipped");
        return;
    };
    let printed = String::from_utf8(out.stdout).unwrap();
    let line2: Value = serde_json::from_slice(&lines[1]).unwrap();
    assert_eq!(line2["prev"], json!(format!("sha256:{}", &printed[..64])));
}

#[test]
fn one_edited_byte_in_a_middle_line_names_that_line() {
    let (_dir, log) = log_with(10);
    let mut lines = lines_of(log.path());
    let pos = lines[4].iter().position(|&b| b == b'T').unwrap();
    lines[4][pos + 3] ^= 0x01; // T005 -> T004
    write_lines(log.path(), &lines);
    let report = verify(log.path(), RUNS).unwrap();
    let f = report.failure.unwrap();
    assert_eq!((f.line, f.kind, f.detected_at), (5, Tampering::Edited, 6));
    // An edited line passes its own checks; only its successor's `prev` gives it away.
    assert_eq!(report.lines, 5);
}

#[test]
fn deletion_is_named() {
    let (_dir, log) = log_with(10);
    let mut lines = lines_of(log.path());
    lines.remove(6);
    write_lines(log.path(), &lines);
    assert_eq!(named(log.path()), (7, Tampering::Deleted));
}

#[test]
fn reordering_is_named() {
    let (_dir, log) = log_with(10);
    let mut lines = lines_of(log.path());
    lines.swap(3, 4);
    write_lines(log.path(), &lines);
    assert_eq!(named(log.path()), (4, Tampering::Reordered));
}

#[test]
fn insertion_is_named() {
    let (_dir, log) = log_with(10);
    let mut lines = lines_of(log.path());
    // A replayed copy of an earlier line.
    let copy = lines[1].clone();
    lines.insert(7, copy);
    write_lines(log.path(), &lines);
    assert_eq!(named(log.path()), (8, Tampering::Inserted));
    // A forged line, correctly chained where it was put.
    let mut lines = lines_of(log.path());
    lines.remove(7);
    let prev = LineHash::of(&lines[5]);
    let forged =
        git_microloop::audit::encode_line(7, &prev, "task_skipped", &json!({}), TS).unwrap();
    lines.insert(6, forged);
    write_lines(log.path(), &lines);
    assert_eq!(named(log.path()), (7, Tampering::Inserted));
}

#[test]
fn torn_tail_is_moved_aside_and_logged_on_next_append() {
    for torn in [b"{\"seq\":4,\"prev\":\"sha2".to_vec(), vec![0u8; 420]] {
        let (dir, mut log) = log_with(3);
        let before = fs::read(log.path()).unwrap();
        OpenOptions::new()
            .append(true)
            .open(log.path())
            .unwrap()
            .write_all(&torn)
            .unwrap();
        assert_eq!(named(log.path()), (4, Tampering::Torn));

        let head = log
            .append("run_succeeded", json!({"change": "CH-002"}), TS)
            .unwrap();
        assert_eq!(head.seq, 5);
        let torn_file = dir.path().join("audit/implementer_runs.jsonl.torn-1");
        assert_eq!(
            fs::read(&torn_file).unwrap(),
            torn,
            "torn bytes saved as they were"
        );
        let lines = lines_of(log.path());
        assert_eq!(lines[..3].concat(), before, "complete lines untouched");
        let repaired: Value = serde_json::from_slice(&lines[3]).unwrap();
        assert_eq!(repaired["event"], "log_repaired");
        assert_eq!(repaired["torn_file"], "implementer_runs.jsonl.torn-1");
        assert_eq!(repaired["torn_bytes"], json!(torn.len()));
        let last: Value = serde_json::from_slice(&lines[4]).unwrap();
        assert_eq!(last["event"], "run_succeeded");
        assert_eq!(assert_verifies(log.path()), head);
    }
}

#[test]
fn torn_first_line_and_second_crash_get_their_own_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.jsonl");
    fs::write(&path, b"{\"seq\":1,\"pr").unwrap();
    let mut log = AuditLog::open(&path, RUNS).unwrap();
    let r = log.repair(TS).unwrap().unwrap();
    assert_eq!((r.torn_bytes, r.head.seq), (12, 1));
    assert_eq!(log.repair(TS).unwrap(), None, "nothing left to repair");
    OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"\0\0\0")
        .unwrap();
    log.append("run_started", task_event(1), TS).unwrap();
    assert!(dir.path().join("runs.jsonl.torn-2").exists());
    assert_eq!(assert_verifies(&path).seq, 3);
}

#[test]
fn tampered_last_line_is_refused_and_left_as_found() {
    let (_dir, mut log) = log_with(4);
    let mut lines = lines_of(log.path());
    // The line before the last edited: the last line no longer chains to it.
    lines[2] = String::from_utf8(lines[2].clone())
        .unwrap()
        .replace("pass", "fail")
        .into_bytes();
    write_lines(log.path(), &lines);
    let err = log.append("run_succeeded", json!({}), TS).unwrap_err();
    assert!(
        matches!(err, AuditError::Tampered { seq: Some(4), .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("git microloop audit verify") && msg.contains("implementer_runs.jsonl"));
    assert_eq!(lines_of(log.path()), lines);
    assert_eq!(named(log.path()), (3, Tampering::Edited));

    // A last line that is not an audit line at all.
    let (_dir, mut log) = log_with(2);
    OpenOptions::new()
        .append(true)
        .open(log.path())
        .unwrap()
        .write_all(b"{\"hello\":1}\n")
        .unwrap();
    assert!(matches!(
        log.append("x", json!({}), TS),
        Err(AuditError::Tampered { .. })
    ));
    assert!(matches!(log.head(), Err(AuditError::Tampered { .. })));
}

#[test]
fn logs_with_different_names_cannot_be_spliced() {
    let (dir, runs) = log_with(3);
    let retention_path = dir.path().join("audit/retention.jsonl");
    let mut retention = AuditLog::open(&retention_path, "retention").unwrap();
    for _ in 0..3 {
        retention
            .append("purged", json!({"reason": "auto_success_ttl"}), TS)
            .unwrap();
    }
    assert!(verify(&retention_path, "retention").unwrap().ok);
    // Same shapes, same seqs — but another genesis.
    assert_eq!(named(&retention_path), (1, Tampering::WrongGenesis));

    let mut lines = lines_of(runs.path());
    lines.extend(lines_of(&retention_path).into_iter().skip(1).take(1));
    write_lines(runs.path(), &lines);
    assert_eq!(named(runs.path()), (4, Tampering::Inserted));

    // Appending checks the genesis while the log has one line (it reads only the tail).
    let one = dir.path().join("audit/one.jsonl");
    AuditLog::open(&one, "retention")
        .unwrap()
        .append("purged", json!({}), TS)
        .unwrap();
    let mut impostor = AuditLog::open(&one, RUNS).unwrap();
    assert!(matches!(
        impostor.append("x", json!({}), TS),
        Err(AuditError::Tampered { .. })
    ));
}

#[test]
fn anchored_head_catches_a_cut_tail() {
    let (_dir, mut log) = log_with(5);
    let anchored = log.append("run_succeeded", json!({}), TS).unwrap();
    let lines = lines_of(log.path());
    write_lines(log.path(), &lines[..4]);
    assert!(
        verify(log.path(), RUNS).unwrap().ok,
        "a cut at a line boundary keeps the chain"
    );
    let report = verify_with_anchors(log.path(), RUNS, &[anchored]).unwrap();
    let f = report.failure.unwrap();
    assert_eq!((f.line, f.kind), (5, Tampering::Truncated));
    assert_eq!(report.anchors[0].status, AnchorStatus::Truncated);
}

#[test]
fn concurrent_threads_lose_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit/implementer_runs.jsonl");
    std::thread::scope(|s| {
        for t in 0..4 {
            let path = path.clone();
            s.spawn(move || {
                let mut log = AuditLog::open(path, RUNS).unwrap();
                for i in 0..200 {
                    log.append("task_completed", json!({"writer": t, "i": i}), TS)
                        .unwrap();
                }
            });
        }
    });
    assert_eq!(assert_verifies(&path).seq, 800);
    assert_writers_complete(&path, 4, 200);
}

/// Child side of `concurrent_processes_lose_no_line`: does nothing unless started by it.
#[test]
fn child_appender() {
    let (Ok(path), Ok(id)) = (
        std::env::var("AUDIT_TEST_LOG"),
        std::env::var("AUDIT_TEST_WRITER"),
    ) else {
        return;
    };
    let id: u64 = id.parse().unwrap();
    let mut log = AuditLog::open(path, RUNS).unwrap();
    for i in 0..200 {
        log.append("task_completed", json!({"writer": id, "i": i}), TS)
            .unwrap();
    }
}

#[test]
fn concurrent_processes_lose_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit/implementer_runs.jsonl");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "child_appender", "--test-threads=1", "--quiet"])
                .env("AUDIT_TEST_LOG", &path)
                .env("AUDIT_TEST_WRITER", id.to_string())
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    assert_eq!(assert_verifies(&path).seq, 600);
    assert_writers_complete(&path, 3, 200);
}

/// Every writer's events are all there, each once, in the order that writer appended them.
fn assert_writers_complete(path: &Path, writers: u64, each: u64) {
    let mut next = vec![0u64; writers as usize];
    for line in lines_of(path) {
        let v: Value = serde_json::from_slice(&line).unwrap();
        let w = v["writer"].as_u64().unwrap() as usize;
        assert_eq!(v["i"].as_u64(), Some(next[w]));
        next[w] += 1;
    }
    assert!(next.iter().all(|&n| n == each), "{next:?}");
}

#[test]
fn appending_reads_only_the_tail_of_a_huge_log() {
    // 1 GiB of unwritten (sparse) bytes before the real lines: reading them would take seconds
    // and fail verification, so an append that succeeds having read a few KiB read only the end.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.jsonl");
    let mut f = fs::File::create(&path).unwrap();
    f.seek(SeekFrom::Start(1 << 30)).unwrap();
    f.write_all(b"\n").unwrap();
    let a =
        git_microloop::audit::encode_line(7, &LineHash::of(b"earlier"), "a", &task_event(7), TS)
            .unwrap();
    let b =
        git_microloop::audit::encode_line(8, &LineHash::of(&a), "b", &task_event(8), TS).unwrap();
    f.write_all(&[a, b].concat()).unwrap();
    drop(f);

    let mut log = AuditLog::open(&path, RUNS).unwrap();
    let head = log.append("run_succeeded", json!({}), TS).unwrap();
    assert_eq!(head.seq, 9);
    assert!(
        log.tail_bytes_read() < 64 << 10,
        "read {} bytes",
        log.tail_bytes_read()
    );
    assert!(fs::metadata(&path).unwrap().len() > 1 << 30);
    assert_eq!(
        named(&path),
        (1, Tampering::NotJson),
        "the front was never valid"
    );
}
