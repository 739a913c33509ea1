//! Retention (seed FR-29 §9.1, FR-27): approvals, retention markers, the review queue and
//! `cleanup`, which purges what the policy allows and keeps everything else with a named
//! reason.
//!
//! - `policy`: the `[retention]` settings as plain values; time parsing.
//! - `ledger`: the audit events approvals, markers and decisions write, read back per run.
//! - `facts`, `decide`: the snapshot of every run and the pure decision over it.
//! - `review`: the review queue (`audit/retention_reviews.jsonl`).
//! - `gather`, `execute`, `cleanup`, `record`: the shell — reading git and files, logging
//!   decisions before deleting anything, deleting branches in one compare-and-swap
//!   transaction, recording approvals and markers.

pub mod cleanup;
pub mod decide;
pub mod execute;
pub mod facts;
pub mod gather;
pub mod ledger;
pub mod policy;
pub mod record;
pub mod review;

pub use cleanup::{CleanupError, Options, Report, cleanup, load_ledger};
pub use decide::{Decision, Reach, Reason, Review, State, decide};
pub use policy::Policy;
