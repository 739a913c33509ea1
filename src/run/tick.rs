//! Ticking a task's checkbox in tasks.md once it is committed: `[ ]` becomes `[X]` on the task's
//! own line, and nothing else in the file changes (line endings and BOM included).
//!
//! Which line is the task's is the parser's call: only a line `tasks::parse` reads as this
//! task, with an open `[ ]` checkbox, is ever ticked — never an acceptance-criterion checkbox
//! that merely mentions the id, a line in a code fence, or a task without a checkbox.

use crate::tasks::{self, Status};

/// Tick the checkbox of the open task whose id is `id`, expected at 1-based `line`. If the file
/// moved (the implementer edited it) and no open task `id` is at `line`, the only open task
/// `id` in the file is used instead. `None` when that task has no open `[ ]` checkbox or cannot
/// be found unambiguously (the file is left alone).
pub fn tick(text: &str, id: &str, line: u32) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Each open task `id`: (line index, byte offset of its `[ ]` if it has one).
    let open: Vec<(usize, Option<usize>)> = tasks::parse(text, "tasks.md")
        .tasks
        .iter()
        .filter(|t| t.id == id && t.status == Status::Open)
        .filter_map(|t| {
            let i = usize::try_from(t.line_start).ok()?.checked_sub(1)?;
            let raw = *lines.get(i)?;
            let bom = if i == 0 && raw.starts_with('\u{feff}') {
                3
            } else {
                0
            };
            let content = raw[bom..].trim_end_matches(['\n', '\r']);
            Some((i, tasks::open_checkbox(content).map(|p| bom + p)))
        })
        .collect();
    let at = (line as usize).checked_sub(1);
    let (idx, pos) = match open.iter().find(|(i, _)| Some(*i) == at) {
        Some(&c) => c,
        None if open.len() == 1 => open[0],
        None => return None,
    };
    let pos = pos?;
    let mut out = String::with_capacity(text.len());
    for (i, l) in lines.iter().enumerate() {
        if i == idx {
            out.push_str(&l[..pos]);
            out.push_str("[X]");
            out.push_str(&l[pos + 3..]);
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_only_the_task_line() {
        let text = "# T\r\n- [ ] T001 a\r\n- [ ] T0010 b\r\n";
        let out = tick(text, "T001", 2).unwrap();
        assert_eq!(out, "# T\r\n- [X] T001 a\r\n- [ ] T0010 b\r\n");
    }

    #[test]
    fn finds_the_line_when_it_moved() {
        let text = "intro\n\n- [ ] T002 b\n- [ ] T001 a\n";
        assert_eq!(
            tick(text, "T001", 3).unwrap(),
            "intro\n\n- [ ] T002 b\n- [X] T001 a\n"
        );
    }

    #[test]
    fn id_before_checkbox_and_bold_ids() {
        assert_eq!(
            tick(" T001 - [ ] x\n", "T001", 1).unwrap(),
            " T001 - [X] x\n"
        );
        assert_eq!(
            tick("- [ ] **T001** x\n", "T001", 1).unwrap(),
            "- [X] **T001** x\n"
        );
    }

    /// Found by fuzzing (tasks_parser): a heading task (`### 2. Tools`) has no checkbox, and
    /// the fallback ticked the one acceptance criterion mentioning `2` — another task's.
    #[test]
    fn never_ticks_a_checkbox_that_is_not_the_task() {
        let text = "### 1. Init\n- [ ] Node 2 installed\n### 2. Tools\n- [ ] lint runs\n";
        assert_eq!(tick(text, "2", 3), None);
        // Paragraph-mode task with a `[ ]` in its text; a criterion naming the id.
        assert_eq!(tick("T001 ❌ fix [ ] rendering\n", "T001", 1), None);
        let text = "- [ ] T001 a\n  - [ ] check T002 output\n- [ ] T002 b\n";
        assert_eq!(
            tick(text, "T002", 9).unwrap(),
            "- [ ] T001 a\n  - [ ] check T002 output\n- [X] T002 b\n"
        );
        // A task line shown in a code fence is not the task.
        let text = "```\n- [ ] T001 example\n```\n- [x] T001 done\n";
        assert_eq!(tick(text, "T001", 2), None);
    }

    /// Found by fuzzing (tasks_parser): `[#] T004` (an odd mark, read as open) then `[ ] T004`;
    /// ticking the first ticked the second, a different task.
    #[test]
    fn a_task_whose_box_cannot_be_ticked_is_left_alone() {
        assert_eq!(tick("[#] T004\n[ ] T004\n", "T004", 1), None);
        assert_eq!(tick("- [P] T001 a\n- [ ] T001 b\n", "T001", 1), None);
    }

    #[test]
    fn bom_first_line_and_duplicates_at_their_line() {
        assert_eq!(
            tick("\u{feff}- [ ] T001 a\r\n", "T001", 1).unwrap(),
            "\u{feff}- [X] T001 a\r\n"
        );
        let text = "- [ ] T001 a\n- [ ] T001 b\n";
        assert_eq!(
            tick(text, "T001", 2).unwrap(),
            "- [ ] T001 a\n- [X] T001 b\n"
        );
    }

    #[test]
    fn gives_up_when_ambiguous_or_absent() {
        assert_eq!(tick("- [ ] T001 a\n- [ ] T001 b\n", "T001", 9), None);
        assert_eq!(tick("T001 ✅ done\n", "T001", 1), None);
    }
}
