//! One file per command: an `Args` struct whose doc comment is the help text, and a `cmd_*`
//! function that does the work by calling the library.

pub mod approve;
pub mod audit;
pub mod checklist;
pub mod cleanup;
pub mod completions;
pub mod config;
pub mod demo;
pub mod init;
pub mod install_hook;
pub mod log;
pub mod man;
pub mod plan;
pub mod retain;
pub mod run;
pub mod sequence;
pub mod show;
pub mod status;
