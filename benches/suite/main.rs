//! The benchmark suite: every workload beside its plain-git or coreutils baseline, measured in
//! the same run on fixtures built deterministically in a temporary folder, printed as one
//! Markdown table (ratios of medians; never a pass/fail on absolute time — a shared 2-core VM
//! is noisy).
//!
//!     cargo bench --bench suite                      # everything (≈ 25 minutes)
//!     cargo bench --bench suite -- checklist audit   # some workloads
//!     MICROLOOP_BENCH_QUICK=1 cargo bench --bench suite   # smaller fixtures, a quick look
//!
//! Workloads: `plan`, `run`, `checklist`, `cleanup`, `audit`.

mod audit_verify;
mod checklist;
mod cleanup;
mod plan;
mod run_overhead;
mod support;

use std::process::Command;

use support::Row;

fn main() {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let on = |name: &str| wanted.is_empty() || wanted.iter().any(|w| w == name);
    let quick = std::env::var_os("MICROLOOP_BENCH_QUICK").is_some();
    let tmp = tempfile::tempdir().expect("temp folder");
    let root = tmp.path();

    let mut rows: Vec<Row> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    if on("plan") {
        eprintln!("plan …");
        let sizes: &[usize] = if quick { &[10_000] } else { &[10_000, 100_000] };
        rows.extend(plan::measure(root, sizes));
    }
    if on("run") {
        eprintln!("run …");
        rows.extend(run_overhead::measure(
            root,
            if quick { 20_000 } else { 100_000 },
        ));
    }
    if on("checklist") {
        eprintln!("checklist …");
        rows.extend(checklist::measure(root, if quick { 200 } else { 1_000 }));
    }
    if on("cleanup") {
        eprintln!("cleanup …");
        // (runs, samples): a 10,000-run fixture takes a minute or two to build.
        let sizes: &[(usize, usize)] = if quick {
            &[(1_000, 3)]
        } else {
            &[(1_000, 5), (10_000, 3)]
        };
        let (cleanup_rows, phases) = cleanup::measure(root, sizes);
        rows.extend(cleanup_rows);
        notes.push(format!("Where cleanup's time went (medians):\n\n{phases}"));
    }
    if on("audit") {
        eprintln!("audit verify …");
        rows.extend(audit_verify::measure(
            root,
            if quick { 100_000 } else { 1_000_000 },
        ));
    }

    println!("{}", machine(root));
    println!();
    println!("| workload | git-microloop | baseline | baseline time | ratio | target | samples |");
    println!("|---|---:|---|---:|---:|---|---:|");
    for r in &rows {
        println!(
            "| {} | {} | {} | {} | **{:.2}×** | {} | {} |",
            r.workload,
            ms(r.ours),
            r.baseline_name,
            ms(r.baseline),
            r.ratio(),
            r.target,
            r.samples
        );
    }
    for n in &notes {
        println!();
        print!("{n}");
    }
}

fn ms(d: std::time::Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1e3)
    } else {
        format!("{ms:.1} ms")
    }
}

/// Where the figures come from: CPU, cores, memory, kernel, the fixtures' filesystem (its
/// mount options matter: with `discard`, removing a file that holds data waits for the
/// device), git and rustc versions.
fn machine(root: &std::path::Path) -> String {
    let sh = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "?".into())
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "?".into());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or("?".into(), |kb| format!("{:.0} GiB", kb / 1024.0 / 1024.0));
    format!(
        "Machine: {cpu}, {} cores, {mem} RAM; {}; fixtures on {}; {}; {}",
        sh("nproc", &[]),
        sh("uname", &["-sr"]),
        sh(
            "findmnt",
            &["-no", "FSTYPE,OPTIONS", "-T", &root.to_string_lossy()]
        ),
        sh("git", &["--version"]),
        sh("rustc", &["--version"]),
    )
}
