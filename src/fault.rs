//! Fault injection for crash tests. Two switches, both read from the environment and unset
//! outside tests (then each costs one cached lookup):
//!
//! - `MICROLOOP_FAULT=<point>:<task>` kills git-microloop with SIGKILL at a named point for one
//!   task (`after-commit`: the commit made, the state not yet saved; `spawned`: a command
//!   forked and waiting at its start gate, its process group not yet recorded), the worst
//!   moment for a specific recovery path — cleanup has `cleanup:logged` and
//!   `cleanup:refs_deleted`;
//! - `MICROLOOP_FAULT_AT=<N>` kills it at the N-th side-effect boundary it crosses (1-based):
//!   before and after every atomic file write, every audit append and every `git` command.
//!   `MICROLOOP_FAULT_TRACE=<file>` appends `N label` for every boundary crossed, so a test can
//!   first count the boundaries of a run and then kill at each one in turn.
//!
//! SIGKILL is the harshest interruption there is: no destructor, handler or flush runs.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Die here if `MICROLOOP_FAULT` names this point and task.
pub fn point(name: &str, task: &str) {
    let Ok(wanted) = std::env::var("MICROLOOP_FAULT") else {
        return;
    };
    if wanted.split_once(':') == Some((name, task)) {
        die();
    }
}

struct Steps {
    kill_at: Option<u64>,
    trace: Option<std::path::PathBuf>,
}

static STEPS: OnceLock<Steps> = OnceLock::new();
static CROSSED: AtomicU64 = AtomicU64::new(0);

/// A side-effect boundary (`label` says which, for the trace): counted, traced, and the
/// process killed here when it is the N-th and `MICROLOOP_FAULT_AT=N`.
pub fn step(label: &str) {
    let steps = STEPS.get_or_init(|| Steps {
        kill_at: std::env::var("MICROLOOP_FAULT_AT")
            .ok()
            .and_then(|v| v.parse().ok()),
        trace: std::env::var_os("MICROLOOP_FAULT_TRACE").map(Into::into),
    });
    if steps.kill_at.is_none() && steps.trace.is_none() {
        return;
    }
    let n = CROSSED.fetch_add(1, Ordering::SeqCst) + 1;
    if let Some(path) = &steps.trace
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(f, "{n} {label}");
    }
    if steps.kill_at == Some(n) {
        die();
    }
}

fn die() {
    let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
}
