//! `git microloop man`: the manual pages, generated from the same clap definitions as `--help`
//! (after ripgrep: flags carry their documentation, so the page never drifts from the binary).
//!
//! `git-microloop.1` is the main page (what `git help microloop` and `man git-microloop` show);
//! each subcommand gets its own page, `git-microloop-run.1`, `git-microloop-audit-verify.1`…,
//! the way git ships `git-commit.1`.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, italic, roman};

use crate::cli::Cli;
use crate::cli::error::CliError;
use crate::cli::output::{Out, Stderr};

/// Write the manual pages (git-microloop.1 and one page per subcommand).
///
/// Without --out the main page is printed on stdout. With --out DIR every page is written into
/// DIR; put DIR in man's search path (a `man1` folder under MANPATH, or under a `share/man`
/// beside a folder of your PATH) and `git help microloop` / `man git-microloop` work.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop man --out ~/.local/share/man/man1     # then: git help microloop
  git microloop man | man -l -                        # read it without installing")]
pub struct ManArgs {
    /// Write every page into this folder (created if missing) instead of printing the main one.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

pub fn cmd_man(args: &ManArgs, err: &Stderr) -> Result<(), CliError> {
    let pages = pages();
    match &args.out {
        None => {
            let mut out = Out::new();
            let (_, main) = &pages[0];
            out.raw(main)?;
            out.flush()?;
        }
        Some(dir) => {
            write_pages(dir, &pages)?;
            err.note(&format!(
                "wrote {} manual pages to {} (git-microloop.1 and one per subcommand)",
                pages.len(),
                dir.display()
            ));
            err.note("read them with: git help microloop   (or: man git-microloop-run, …)");
        }
    }
    Ok(())
}

fn write_pages(dir: &Path, pages: &[(String, Vec<u8>)]) -> Result<(), CliError> {
    let fail = |what: String, e: std::io::Error| {
        CliError::usage(what)
            .cause(e.to_string())
            .hint("give a folder you can write to with --out")
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| fail(format!("cannot create {}", dir.display()), e))?;
    for (name, bytes) in pages {
        let path = dir.join(name);
        crate::store::write_atomic(&path, bytes)
            .map_err(|e| fail(format!("cannot write {}", path.display()), e))?;
    }
    Ok(())
}

const SOURCE: &str = concat!("git-microloop ", env!("CARGO_PKG_VERSION"));
const MANUAL: &str = "Git Microloop Manual";

/// Every page as (file name, roff source), the main page first. Pure and deterministic: the
/// same binary always renders the same bytes (no date).
pub fn pages() -> Vec<(String, Vec<u8>)> {
    let mut root = Cli::command()
        .disable_help_subcommand(true)
        .about("plan a Spec-Kit tasks.md and run each micro-task as its own reviewed git commit");
    root.build();
    let mut pages = vec![("git-microloop.1".to_string(), main_page(&root))];
    let mut stack: Vec<clap::Command> = root.get_subcommands().cloned().collect();
    while let Some(cmd) = stack.pop() {
        stack.extend(cmd.get_subcommands().filter(|c| !c.is_hide_set()).cloned());
        let man = Man::new(cmd.clone())
            .title(page_name(&cmd).to_uppercase())
            .source(SOURCE)
            .manual(MANUAL);
        pages.push((format!("{}.1", page_name(&cmd)), sub_page(&man, &cmd)));
    }
    pages[1..].sort_by(|a, b| a.0.cmp(&b.0));
    pages
}

/// `git-microloop-audit-verify` for `git microloop audit verify`.
fn page_name(cmd: &clap::Command) -> String {
    cmd.get_display_name()
        .unwrap_or_else(|| cmd.get_name())
        .to_string()
}

fn main_page(root: &clap::Command) -> Vec<u8> {
    let man = Man::new(root.clone())
        .title("GIT-MICROLOOP")
        .source(SOURCE)
        .manual(MANUAL);
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let mut r = Roff::new();
    r.control("SH", ["DESCRIPTION"]);
    paragraphs(&mut r, DESCRIPTION);
    let _ = r.to_writer(&mut out);
    let _ = man.render_options_section(&mut out);
    let _ = man.render_subcommands_section(&mut out);
    let mut r = Roff::new();
    examples(&mut r, EXAMPLES);
    section(&mut r, "EXIT STATUS", EXIT_STATUS);
    section(&mut r, "ENVIRONMENT", ENVIRONMENT);
    section(&mut r, "FILES", FILES);
    see_also(&mut r, root);
    let _ = r.to_writer(&mut out);
    let _ = man.render_version_section(&mut out);
    out
}

fn sub_page(man: &Man, cmd: &clap::Command) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = man.render_title(&mut out);
    let _ = man.render_name_section(&mut out);
    let _ = man.render_synopsis_section(&mut out);
    let _ = man.render_description_section(&mut out);
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        let _ = man.render_options_section(&mut out);
    }
    if cmd.has_subcommands() {
        let _ = man.render_subcommands_section(&mut out);
    }
    let mut r = Roff::new();
    if let Some(after) = cmd.get_after_long_help().or_else(|| cmd.get_after_help()) {
        let text = after.to_string();
        let text = text.strip_prefix("Examples:").unwrap_or(&text);
        examples(&mut r, text.trim_matches('\n'));
    }
    r.control("SH", ["SEE ALSO"]);
    r.text([
        bold("git-microloop"),
        roman("(1), "),
        bold("git"),
        roman("(1)"),
    ]);
    let _ = r.to_writer(&mut out);
    out
}

/// Text with blank lines between paragraphs.
fn paragraphs(r: &mut Roff, text: &str) {
    for (i, para) in text.trim().split("\n\n").enumerate() {
        if i > 0 {
            r.control("PP", []);
        }
        for line in para.lines() {
            r.text([roman(line.trim())]);
        }
    }
}

/// A section of `term\n  definition` entries (a tagged paragraph each).
fn section(r: &mut Roff, title: &str, entries: &[(&str, &str)]) {
    r.control("SH", [title]);
    for (term, text) in entries {
        r.control("TP", []);
        r.text([bold(*term)]);
        r.text([roman(*text)]);
    }
}

/// Command lines, kept as they are (no filling), indented.
fn examples(r: &mut Roff, text: &str) {
    r.control("SH", ["EXAMPLES"]);
    r.control("RS", ["4"]);
    r.control("nf", []);
    for line in text.lines() {
        r.text([roman(line.strip_prefix("  ").unwrap_or(line))]);
    }
    r.control("fi", []);
    r.control("RE", []);
}

fn see_also(r: &mut Roff, root: &clap::Command) {
    r.control("SH", ["SEE ALSO"]);
    // Page names are not words to hyphenate.
    r.control("nh", []);
    let mut refs: Vec<String> = Vec::new();
    let mut stack: Vec<&clap::Command> = root.get_subcommands().collect();
    while let Some(c) = stack.pop() {
        refs.push(page_name(c));
        stack.extend(c.get_subcommands());
    }
    refs.sort();
    refs.extend(["git", "git-worktree", "git-interpret-trailers", "githooks"].map(String::from));
    let mut line = Vec::new();
    for (i, name) in refs.iter().enumerate() {
        if i > 0 {
            line.push(roman(", "));
        }
        line.push(bold(name.as_str()));
        line.push(roman(if name.starts_with("githooks") {
            "(5)"
        } else {
            "(1)"
        }));
    }
    r.text(line);
    r.control("PP", []);
    r.text([
        roman("The project's "),
        italic("README.md"),
        roman(" is the full guide: configuration, formats and troubleshooting."),
    ]);
}

const DESCRIPTION: &str = "
git microloop drives an AI agent, a script or yourself through the tasks of a Spec-Kit
tasks.md so that every micro-task becomes its own reviewed, reproducible, auditable git commit.

plan reads the change's tasks.md and orders its tasks deterministically from a seed; the plan
and its hash are the same on every machine. run applies each task in an isolated worktree on
a run branch (refs/heads/microloop/CHANGE/RUN): the implementer command applies it, the QA
commands check it, and the result is committed with Microloop-* trailers (change, run, task,
seed, plan hash, QA result). When every task is done the change branch is fast-forwarded. A
failed or interrupted run is resumed, skipped past or aborted like git rebase, with continue,
skip and abort.

Evidence (diffs, files, timings, QA logs, summary.json) is kept per run, and every step is
appended to hash-chained audit logs that audit verify checks. checklist, run by a pre-push
hook, refuses to let a change go out without its run metadata.

Output: data on stdout, diagnostics on stderr; colour only on a terminal and never with
NO_COLOR; a progress line on a terminal, plain lines otherwise; -q for errors only, -v and -vv
for tracing.
";

const EXAMPLES: &str = "
git microloop plan                                  # the plan of the current change
git microloop run --implementer -- ./implement.sh  # one commit per task
git microloop status
git log --format='%h %s%n%(trailers:key=Microloop-Task)' main..
git microloop checklist                             # before pushing
";

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "The checked thing is not OK: a failed or interrupted run, a failing checklist, an audit \
         log that does not verify.",
    ),
    (
        "2",
        "Bad usage or bad input (with file:line where there is one), or an environment the \
         command cannot work in.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "NO_COLOR",
        "When set (to anything but the empty string), no colour, unless --color always. Colour \
         is otherwise used only when the stream is a terminal (and TERM is not dumb).",
    ),
    (
        "CLICOLOR_FORCE",
        "When set (non-empty), colour even when not on a terminal, unless NO_COLOR is set.",
    ),
    (
        "RUST_LOG",
        "A tracing filter (e.g. git_microloop=debug) for diagnostics on stderr; it takes the \
         place of -v/-vv, and -q turns tracing off regardless.",
    ),
    (
        "GIT_DIR, GIT_WORK_TREE",
        "Honoured as git does to find the repository; they are not passed on to the \
         implementer, QA commands or git commands in the run's own worktree.",
    ),
    (
        "MICROLOOP_SEED, MICROLOOP_STRATEGY",
        "The planner's seed and strategy, between the command line and the configuration files.",
    ),
    (
        "MICROLOOP_TASK_ID, MICROLOOP_TASK_TITLE, MICROLOOP_TASK_FILE, MICROLOOP_CHANGE, \
         MICROLOOP_RUN, MICROLOOP_SEED, MICROLOOP_PLAN_HASH",
        "Set for the implementer and QA commands: the task reaches them through the \
         environment and a JSON file, never through a shell command line.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        ".microloop.toml",
        "The project configuration (every path below is configurable).",
    ),
    (
        "changes/CHANGE/tasks.md",
        "The change's task list (Spec-Kit format).",
    ),
    (
        "changes/CHANGE/impact.md, docs/IMPLEMENTATION_PLAN.md",
        "Managed sections brought up to date by each run.",
    ),
    (
        "artifacts/work/CHANGE/RUN/",
        "A run's evidence: summary.json, per-task evidence, diffs and QA logs.",
    ),
    (
        "audit/implementer_runs.jsonl, audit/retention.jsonl",
        "The hash-chained audit logs.",
    ),
    (
        "$GIT_COMMON_DIR/microloop/",
        "Run state and the runs' worktrees, shared by all worktrees of the repository.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_command_with_git_style_names() {
        let names: Vec<String> = pages().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "git-microloop.1");
        for want in [
            "git-microloop-run.1",
            "git-microloop-plan.1",
            "git-microloop-audit.1",
            "git-microloop-audit-verify.1",
            "git-microloop-man.1",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
    }

    #[test]
    fn main_page_has_the_sections_a_man_page_reader_expects() {
        let (_, main) = &pages()[0];
        let text = String::from_utf8(main.clone()).unwrap();
        for section in [
            ".TH GIT-MICROLOOP 1",
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH EXAMPLES",
            ".SH \"EXIT STATUS\"",
            ".SH ENVIRONMENT",
            ".SH FILES",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(text.contains(section), "{section} missing:\n{text}");
        }
        assert!(text.contains("git\\-microloop\\-run(1)"), "{text}");
        // Rendering is deterministic.
        assert_eq!(pages(), pages());
    }
}
