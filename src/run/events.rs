//! What a run reports as it goes. The CLI prints them; the audit log (evidence feature)
//! records them. The sequencer emits each event after the state it describes is saved.

use super::state::RunState;

#[derive(Debug)]
pub enum Event<'a> {
    RunStarted {
        state: &'a RunState,
        fallback: bool,
    },
    TaskStarted {
        state: &'a RunState,
        key: &'a str,
        title: &'a str,
        position: usize,
        total: usize,
        attempt: u32,
    },
    TaskCompleted {
        state: &'a RunState,
        key: &'a str,
        commit: &'a str,
        duration_ms: Option<u64>,
        files_touched: Vec<crate::paths::BytePath>,
        qa_result: &'a str,
        attempts: u32,
    },
    TaskFailed {
        state: &'a RunState,
        key: &'a str,
        attempt: u32,
        reason: &'a str,
        /// No attempts left: the run stops.
        last: bool,
        log: &'a std::path::Path,
    },
    TaskSkipped {
        state: &'a RunState,
        key: &'a str,
    },
    /// Manual mode: waiting for the user to apply this task.
    Paused {
        state: &'a RunState,
        key: &'a str,
        title: &'a str,
        text: &'a str,
    },
    RunSucceeded {
        state: &'a RunState,
    },
    RunFailed {
        state: &'a RunState,
    },
    RunAborted {
        state: &'a RunState,
    },
    /// The notifier failed or hung; the run went on regardless.
    NotificationFailed {
        state: &'a RunState,
        event: &'a str,
        reason: String,
        log: std::path::PathBuf,
    },
    /// Something worth telling that is not a state change.
    Note(String),
}
