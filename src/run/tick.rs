//! Ticking a task's checkbox in tasks.md once it is committed: `[ ]` becomes `[X]` on the task's
//! own line, and nothing else in the file changes (line endings and BOM included).

/// Tick the checkbox of the task whose id is `id`, expected at 1-based `line`. If the file moved
/// (the implementer edited it), the one line holding an open checkbox and that id is used
/// instead. `None` when no such line can be found unambiguously (the file is left alone).
pub fn tick(text: &str, id: &str, line: u32) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = (line as usize).checked_sub(1);
    let idx = match at.filter(|&i| i < lines.len() && tickable(lines[i], id).is_some()) {
        Some(i) => i,
        None => {
            let mut found = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| tickable(l, id).is_some());
            let first = found.next()?.0;
            if found.next().is_some() {
                return None;
            }
            first
        }
    };
    let pos = tickable(lines[idx], id)?;
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

/// Byte offset of the `[ ]` on a line that names `id` as a whole word.
fn tickable(line: &str, id: &str) -> Option<usize> {
    let pos = line.find("[ ]")?;
    let names_id = line.match_indices(id).any(|(i, _)| {
        let before = line[..i].chars().next_back();
        let after = line[i + id.len()..].chars().next();
        !before.is_some_and(is_id_char) && !after.is_some_and(is_id_char)
    });
    names_id.then_some(pos)
}

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.'
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

    #[test]
    fn gives_up_when_ambiguous_or_absent() {
        assert_eq!(tick("- [ ] T001 a\n- [ ] T001 b\n", "T001", 9), None);
        assert_eq!(tick("T001 ✅ done\n", "T001", 1), None);
    }
}
