//! git-microloop: plan the micro-tasks of a Spec-Kit `tasks.md` deterministically, run each as
//! its own commit with trailers, and keep the evidence.
//!
//! The layout follows the flow: `tasks` (parse) → `plan` (pure, seeded, hashed) → … with `git`
//! (the only module touching git), `config`, and `cli` (arguments and thin handlers).

pub mod audit;
pub mod change;
pub mod checklist;
pub mod cli;
pub mod clock;
pub mod config;
pub mod diag;
pub mod evidence;
pub mod fault;
pub mod git;
pub mod hook;
pub mod ids;
pub mod implementers;
pub mod init;
pub mod paths;
pub mod plan;
pub mod planning;
pub mod retention;
pub mod run;
pub mod store;
pub mod tasks;
