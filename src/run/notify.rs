//! Notifications: `[notify] command` hears of run results (and later of retention decisions)
//! with the event as JSON on stdin and the roles to notify in it. The event is written to a
//! file first and given as stdin, so a notifier that never reads cannot block us; a notifier
//! that fails or hangs past its timeout is reported, never allowed to fail or block the run.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde_json::{Value, json};

use super::process::{self, Spec};
use super::state::RunState;
use crate::config::Notify;
use crate::store::write_json;

/// The payload for `event` about `state`.
pub fn payload(event: &str, state: &RunState, roles: &[String]) -> Value {
    let (done, total) = state.counts();
    json!({
        "event": event,
        "roles": roles,
        "change": state.change,
        "run_id": state.run_id,
        "status": state.status.as_str(),
        "seed": state.seed,
        "plan_hash": state.plan_hash,
        "tasks_done": done,
        "tasks_total": total,
        "failure": state.failure,
        "summary": state.artifacts.join("summary.json"),
        "run_branch": state.run_branch,
    })
}

/// Run the notifier for `event` in `cwd` (the repository root). `Err((reason, log))` when it
/// failed or timed out.
pub fn send(
    notify: &Notify,
    event: &str,
    state: &RunState,
    cwd: &Path,
) -> Result<(), (String, PathBuf)> {
    let value = payload(event, state, &roles_of(notify));
    send_payload(
        notify,
        event,
        &value,
        &state.artifacts.join("notifications"),
        cwd,
    )
}

/// The roles to notify, as strings for payloads.
pub fn roles_of(notify: &Notify) -> Vec<String> {
    notify
        .roles
        .iter()
        .map(|r| r.as_str().to_string())
        .collect()
}

/// Run the notifier with `value` on stdin, written first to `dir/NNN-<event>.json` (its output
/// goes beside it). `Err((reason, log))` when it failed or timed out.
pub fn send_payload(
    notify: &Notify,
    event: &str,
    value: &Value,
    dir: &Path,
    cwd: &Path,
) -> Result<(), (String, PathBuf)> {
    let sent = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0);
    let base = dir.join(format!("{:03}-{event}", sent + 1));
    let input = base.with_extension("json");
    let log = base.with_extension("out");
    let err = base.with_extension("err");
    if let Err(e) = write_json(&input, value) {
        return Err((format!("cannot write {}: {e}", input.display()), log));
    }
    let spec = Spec {
        argv: notify.command.as_slice(),
        stdin: Some(&input),
        cwd,
        env: &[],
        stdout: &log,
        stderr: &err,
        timeout: notify.timeout.as_duration(),
    };
    // The notifier is not interrupted by Ctrl-C: it is short and bounded by its timeout.
    match process::run(&spec, &AtomicBool::new(false), |_| {}) {
        Ok(f) if f.outcome.success() => Ok(()),
        Ok(f) => Err((format!("notifier {}", f.outcome.describe()), err)),
        Err(e) => Err((format!("notifier could not run: {e}"), err)),
    }
}
