//! Running a plan: one commit per micro-task, with QA, retries, evidence, and a resumable,
//! abortable sequencer (`git microloop run | continue | skip | abort | status`).

pub mod audit_events;
pub mod capture;
pub mod events;
pub mod locate;
pub mod message;
pub mod notify;
pub mod process;
pub mod record;
pub mod sequencer;
pub mod state;
pub mod tick;

pub use audit_events::{AuditHead, AuditSink};
pub use events::Event;
pub use sequencer::{Context, Report, RunError, StartOptions, Stop, abort, resume, skip, start};
pub use state::{Layout, Mode, RunState, RunStatus, TaskStatus};
