//! Config readers: the first byte picks the reader (`t` .microloop.toml, `y` configs/tests.yaml,
//! `r` configs/retention.yaml, `j` planner_config.json; other bytes modulo 4), the rest is the
//! file's text. See `tests/invariants/mod.rs` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/invariants/mod.rs"]
mod invariants;

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    invariants::config(invariants::ConfigKind::from_byte(first), &text);
});
