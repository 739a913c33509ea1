//! The prompt an agent gets for one micro-task: built from the planned task by a pure function,
//! written beside the task file (`MICROLOOP_PROMPT_FILE`), so every wrapper hands the same
//! words to its agent and no wrapper has to parse JSON in a shell.

use std::fmt::Write as _;

use crate::plan::PlannedTask;

/// What the prompt is made of.
pub struct PromptInput<'a> {
    pub change: &'a str,
    pub task: &'a PlannedTask,
    /// The task list, relative to the repository root.
    pub tasks_file: &'a str,
    pub attempt: u32,
    /// The previous attempt's logs (implementer and QA output), when this is a retry.
    pub previous_logs: Option<&'a str>,
    /// The QA commands that check the work: name and argument vector.
    pub qa: &'a [(String, Vec<String>)],
}

/// The prompt text. Deterministic: the same input gives the same bytes.
pub fn render(p: &PromptInput<'_>) -> String {
    let t = &p.task.task;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Implement task {} of change {} in this repository.\n",
        t.id, p.change
    );
    s.push_str("The task, as written in the task list:\n\n");
    for line in t.text.lines() {
        let _ = writeln!(s, "    {line}");
    }
    s.push('\n');
    s.push_str("Context:\n");
    let _ = writeln!(
        s,
        "- Task list: {} (read it for context; do not edit it, git-microloop ticks the task off)",
        p.tasks_file
    );
    if !t.phase.is_empty() {
        let _ = writeln!(s, "- Section: {}", t.phase.join(" > "));
    }
    if let Some(story) = &t.story {
        let _ = writeln!(s, "- User story: {story}");
    }
    if !t.files.is_empty() {
        let _ = writeln!(s, "- Files the task names: {}", t.files.join(", "));
    }
    if !t.depends_on.is_empty() {
        let _ = writeln!(s, "- Done before it: {}", t.depends_on.join(", "));
    }
    s.push_str("\nHow to work:\n");
    s.push_str(
        "- The current directory is a git worktree made for this run; change files only in it.\n",
    );
    s.push_str("- Make the change this task asks for, completely, and nothing else.\n");
    s.push_str(
        "- Do not commit, branch, stash, reset or push: git-microloop checks your work and \
         commits it as this task's commit.\n",
    );
    if !p.qa.is_empty() {
        s.push_str("- Your work is then checked with:");
        for (name, argv) in p.qa {
            let _ = write!(s, " {name} (`{}`);", argv.join(" "));
        }
        s.pop();
        s.push_str(".\n");
    }
    if p.attempt > 1 {
        let _ = write!(
            s,
            "\nThis is attempt {}: the previous attempt failed",
            p.attempt
        );
        match p.previous_logs {
            Some(dir) => {
                let _ = writeln!(
                    s,
                    ". Its output (implementer and checks) is in {dir}; read it and fix the cause."
                );
            }
            None => s.push_str(".\n"),
        }
    }
    s.push_str("\nWhen the change is complete, stop.\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{Status, Task};

    fn task(text: &str) -> PlannedTask {
        PlannedTask {
            position: 2,
            execute: true,
            task: Task {
                key: "T002".into(),
                id: "T002".into(),
                title: text.lines().next().unwrap_or("").into(),
                text: text.into(),
                status: Status::Open,
                parallel: false,
                story: Some("US1".into()),
                phase: vec!["Tasks: Login".into(), "Phase 2: Core".into()],
                files: vec!["src/login.rs".into()],
                depends_on: vec!["T001".into()],
                line_start: 7,
                line_end: 8,
            },
        }
    }

    fn input<'a>(
        t: &'a PlannedTask,
        attempt: u32,
        qa: &'a [(String, Vec<String>)],
    ) -> PromptInput<'a> {
        PromptInput {
            change: "001-login",
            task: t,
            tasks_file: "specs/001-login/tasks.md",
            attempt,
            previous_logs: (attempt > 1).then_some("/a/logs/T002/attempt-1"),
            qa,
        }
    }

    #[test]
    fn carries_the_task_its_context_and_the_rules() {
        let t = task("Add login in `src/login.rs`\n  - Acceptance: `$(touch pwned)`; rm -rf /");
        let qa = vec![(
            "tests".to_string(),
            vec!["cargo".to_string(), "test".to_string()],
        )];
        let p = render(&input(&t, 1, &qa));
        assert!(
            p.starts_with("Implement task T002 of change 001-login"),
            "{p}"
        );
        assert!(p.contains("    Add login in `src/login.rs`\n"), "{p}");
        assert!(p.contains("`$(touch pwned)`; rm -rf /"), "{p}");
        assert!(p.contains("Section: Tasks: Login > Phase 2: Core"), "{p}");
        assert!(p.contains("User story: US1"), "{p}");
        assert!(p.contains("Files the task names: src/login.rs"), "{p}");
        assert!(p.contains("Done before it: T001"), "{p}");
        assert!(p.contains("checked with: tests (`cargo test`).\n"), "{p}");
        assert!(p.contains("Do not commit"), "{p}");
        assert!(!p.contains("attempt"), "{p}");
        assert!(p.lines().all(|l| l == l.trim_end()), "no trailing blanks");
    }

    #[test]
    fn a_retry_points_at_the_previous_attempt() {
        let t = task("Add login");
        let p = render(&input(&t, 2, &[]));
        assert!(p.contains("This is attempt 2"), "{p}");
        assert!(p.contains("/a/logs/T002/attempt-1"), "{p}");
        assert!(!p.contains("checked with"), "{p}");
    }

    #[test]
    fn is_deterministic() {
        let t = task("Add login");
        assert_eq!(render(&input(&t, 1, &[])), render(&input(&t, 1, &[])));
    }
}
