//! `git microloop audit verify FILE` on a generated log of 1,000,000 task events (the writer's
//! own line encoding) beside coreutils `sha256sum` of the same file: both read and hash every
//! byte once; verify also parses each line's envelope and checks the chain.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;

use git_microloop::audit::{LineHash, encode_line};
use serde_json::json;

use crate::support::{BIN, Row, alternate, git, ok, pinned};

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

pub fn measure(root: &Path, events: u64) -> Vec<Row> {
    let dir = root.join("audit");
    std::fs::create_dir_all(&dir).expect("mkdir");
    // `audit verify` runs inside a repository (it finds the logs there by default).
    git(&dir, &["init", "-q"]);
    let path = dir.join(format!("{LOG_NAME}.jsonl"));
    generate(&path, events).expect("generate the log");
    let mb = std::fs::metadata(&path).expect("stat").len() as f64 / 1e6;
    let file = path.to_str().expect("utf-8 temp path").to_string();
    let reps = 3;
    let sha256sum = || {
        let out = Command::new("sha256sum").arg(&file).output();
        ok(out.expect("sha256sum runs"), "sha256sum");
    };
    // Warm the page cache once so neither side pays for the disk.
    sha256sum();
    let (ours, baseline) = alternate(
        reps,
        || {
            let mut verify = Command::new(BIN);
            verify.current_dir(&dir).args(["audit", "verify", &file]);
            ok(
                pinned(&mut verify).output().expect("verify runs"),
                "audit verify",
            );
        },
        sha256sum,
    );
    vec![Row {
        workload: format!("audit verify, {events} events ({mb:.0} MB)"),
        ours,
        baseline_name: "`sha256sum`".into(),
        baseline,
        target: "≤ 1.0×".into(),
        samples: reps,
    }]
}
