//! tasks.md parser and planner: any bytes (read as UTF-8, lossily) as a tasks.md. See
//! `tests/invariants/mod.rs` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/invariants/mod.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    invariants::tasks_md(&text);
    // The fallback planner over the first lines as changed paths.
    let paths: String = text.lines().take(64).collect::<Vec<_>>().join("\n");
    invariants::fallback(&paths);
});
