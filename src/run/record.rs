//! The run's record commit: after the last task, `impact.md`'s and `IMPLEMENTATION_PLAN.md`'s
//! managed sections are brought up to date and committed on the run branch (trailers
//! `Microloop-Change`, `-Run`, `-Seed`, `-Plan`, no `-Task`), so the record travels with the
//! change. Text outside the managed sections is never changed.

use std::path::Path;

use super::message::Trailers;
use super::state::RunState;
use crate::config::Config;
use crate::evidence::sections::{impact_body, new_file, plan_body, replace_section};
use crate::evidence::summary::Summary;

const IMPACT_TEMPLATE: &str = include_str!("../../templates/impact.md");
const PLAN_TEMPLATE: &str = include_str!("../../templates/IMPLEMENTATION_PLAN.md");

/// Update the two files in `worktree`; returns the paths written (relative) and, for a file
/// whose markers are damaged, a note saying why it was left alone.
pub fn update_files(
    worktree: &Path,
    config: &Config,
    state: &RunState,
    summary: &Summary,
) -> (Vec<String>, Vec<String>) {
    let change = state.change.as_str();
    let files = [
        (
            config.paths.impact.for_change(&state.change),
            "impact",
            impact_body(summary),
            IMPACT_TEMPLATE,
        ),
        (
            config.paths.implementation_plan.for_change(&state.change),
            "plan",
            plan_body(summary, None),
            PLAN_TEMPLATE,
        ),
    ];
    let mut written = Vec::new();
    let mut notes = Vec::new();
    for (rel, kind, body, template) in files {
        let path = worktree.join(&rel);
        let existing = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(_) => {
                    notes.push(format!(
                        "{rel} is not UTF-8; its {kind} section was not updated"
                    ));
                    continue;
                }
            },
            Err(_) => new_file(template, change),
        };
        match replace_section(&existing, kind, change, &body) {
            Ok(updated) if updated == existing => {}
            Ok(updated) => {
                let ok = path
                    .parent()
                    .is_none_or(|d| std::fs::create_dir_all(d).is_ok())
                    && std::fs::write(&path, updated).is_ok();
                if ok {
                    written.push(rel);
                } else {
                    notes.push(format!("could not write {rel}"));
                }
            }
            Err(e) => notes.push(format!("{rel}: {e}; its {kind} section was not updated")),
        }
    }
    (written, notes)
}

/// The record commit's message.
pub fn message(state: &RunState, trailers: &Trailers<'_>) -> String {
    let (done, total) = state.counts();
    format!(
        "{}: record run {} ({done}/{total} tasks)\n\n\
         Update the micro-task results in impact.md and the progress in\n\
         IMPLEMENTATION_PLAN.md.\n\n{}",
        state.change,
        state.run_id,
        trailers.render()
    )
}
