//! Audit verify benchmark (not a timed test): generates a log of 1,000,000 realistic task
//! events with the writer's own line encoding, then times `verify` against coreutils
//! `sha256sum` on the same file, median of 3 each, interleaved so both see the same page cache.
//! Target: verify at least as fast as sha256sum (both hash every byte once; verify also parses
//! each line's envelope).
//!
//! Run: `cargo bench --bench audit_verify` (needs ~400 MB free in the temp folder; set
//! `AUDIT_BENCH_EVENTS` for another size).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use git_microloop::audit::{LineHash, encode_line, verify};
use serde_json::json;

const LOG_NAME: &str = "implementer_runs";

/// Task events shaped like a run's: ids, seed, plan hash, a few touched files, QA result.
fn generate(path: &Path, events: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut prev = LineHash::genesis(LOG_NAME);
    for seq in 1..=events {
        let task = seq % 500;
        let fields = json!({
            "change": "CH-002",
            "run_id": format!("run-20261124T{:06}Z-{:04x}", seq / 500 % 240_000, seq / 500 % 0xffff),
            "seed": 42,
            "plan_hash": "sha256:9928fa03340b79694ee7814d72f84df24c00a76ebe5efa55479ece653cae6a12",
            "task_id": format!("T{task:03}"),
            "duration_ms": 800 + seq % 9_000,
            "files_touched": [format!("src/api/mod{}.rs", task % 37), format!("tests/t{task}.rs")],
            "qa_result": if seq % 17 == 0 { "fail" } else { "pass" },
            "attempts": 1 + seq % 3,
            "commit": format!("{:040x}", u128::from(seq) * 0x9e37_79b9_7f4a_7c15),
        });
        let ts = format!(
            "2026-11-24T{:02}:{:02}:{:02}.{:03}Z",
            seq / 3_600_000 % 24,
            seq / 60_000 % 60,
            seq / 1000 % 60,
            seq % 1000
        );
        let line = encode_line(seq, &prev, "task_completed", &fields, &ts)
            .map_err(std::io::Error::other)?;
        prev = LineHash::of(&line);
        out.write_all(&line)?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn mb_per_s(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn time_verify(path: &Path, events: u64) -> Duration {
    let start = Instant::now();
    let report = verify(path, LOG_NAME).expect("verify could not read the log");
    let took = start.elapsed();
    assert!(
        report.ok && report.lines == events,
        "generated log must verify: {report:?}"
    );
    took
}

/// `None` when sha256sum is not installed.
fn time_sha256sum(path: &Path) -> Option<Duration> {
    let start = Instant::now();
    let out = Command::new("sha256sum").arg(path).output().ok()?;
    let took = start.elapsed();
    assert!(out.status.success(), "sha256sum failed");
    Some(took)
}

pub fn main() {
    let events = std::env::var("AUDIT_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000u64);
    let dir = tempfile::tempdir().expect("temp folder");
    let path = dir.path().join("implementer_runs.jsonl");
    let start = Instant::now();
    generate(&path, events).expect("generate the log");
    let bytes = std::fs::metadata(&path).expect("stat").len();
    println!(
        "generated {events} events, {:.1} MB ({} B/line) in {:.2?}",
        bytes as f64 / 1e6,
        bytes / events.max(1),
        start.elapsed()
    );

    // Warm the page cache once so neither side pays for the disk.
    let _ = time_sha256sum(&path);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        ours.push(time_verify(&path, events));
        if let Some(d) = time_sha256sum(&path) {
            theirs.push(d);
        }
    }
    let ours = median(ours);
    println!(
        "audit verify  {:>8.2?}  {:>7.1} MB/s",
        ours,
        mb_per_s(bytes, ours)
    );
    if theirs.is_empty() {
        println!("sha256sum     not installed");
        return;
    }
    let theirs = median(theirs);
    println!(
        "sha256sum     {:>8.2?}  {:>7.1} MB/s",
        theirs,
        mb_per_s(bytes, theirs)
    );
    println!(
        "verify / sha256sum throughput: {:.2}x (target >= 1.00x)",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}
