//! Spec-Kit's own gate: the change's `checklists/*.md` must have no unchecked item. Items are
//! `- [ ]` lines (indented ones too); checked ones are `- [x]` / `- [X]`. Anything inside a
//! fenced code block is an example, not an item.

/// `(line number, text)` of every unchecked item of one checklist file.
pub fn unchecked_items(text: &str) -> Vec<(usize, String)> {
    let mut fence: Option<&str> = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") {
            fence = Some("```");
        } else if t.starts_with("~~~") {
            fence = Some("~~~");
        } else if let Some(rest) = t.strip_prefix("- [ ]") {
            out.push((i + 1, rest.trim().to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_unchecked_items_outside_fences_only() {
        let text = "# CL\n- [x] done\n  - [ ] nested open\n```md\n- [ ] example\n```\n- [X] ok\n- [ ] open\n";
        assert_eq!(
            unchecked_items(text),
            vec![(3, "nested open".to_string()), (8, "open".to_string())]
        );
    }

    #[test]
    fn tilde_fences_and_unclosed_fences_hide_examples() {
        assert!(unchecked_items("~~~\n- [ ] x\n~~~\n").is_empty());
        assert!(unchecked_items("```\n- [ ] x\n").is_empty());
    }
}
