//! Commit messages and trailers, and pre-push lines. The first byte picks the mode:
//! - `p`: the rest is a pre-push hook's standard input;
//! - `g`: the rest is any commit message, whose trailers are read;
//! - `d`: the rest is a tasks.md whose tasks become commit messages;
//! - anything else: the rest is `title NUL text NUL change-id`, built into a commit message
//!   (the byte's bits choose the task key, the QA value and the audit trailers), and read back.
//!
//! See `tests/invariants/mod.rs` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/invariants/mod.rs"]
mod invariants;

const KEYS: [&str; 8] = [
    "T001", "T003a", "T1.18", "T001#2", "A001", "F001", "T12", "T0001#13",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match first {
        b'p' => invariants::push_lines(&text),
        b'g' => invariants::any_message(&text),
        b'd' => invariants::messages_of_tasks_md(&text, u64::from(first)),
        _ => {
            let mut parts = text.splitn(3, '\0');
            let title = parts.next().unwrap_or("");
            let body = parts.next().unwrap_or(title);
            let change = parts.next().unwrap_or("CH-001");
            let message = invariants::task_message(&invariants::MessageInput {
                key: KEYS[usize::from(first & 7)],
                title,
                text: body,
                change,
                seed: u64::from(first).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                qa: [Some("pass"), Some("fail"), None, Some("skipped")][usize::from(first >> 3 & 3)],
                audit: (first & 0x20 != 0).then_some(u64::from(first)),
            });
            invariants::any_message(&message);
            invariants::any_message(&text);
        }
    }
});
