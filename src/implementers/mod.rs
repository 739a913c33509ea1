//! Implementers people use: the wrappers for Claude Code, Codex and aider (and a plain-script
//! example) shipped in `templates/implementers/`, how `run --implementer <name>` finds one, and
//! the prompt every agent gets.
//!
//! A name resolves, first match wins, to: an `[implementers.<name>]` preset of
//! `.microloop.toml`; the wrapper `.microloop/implementers/<name>.sh` in the worktree (`init`
//! writes the shipped ones there, to read and adapt); the built-in copy of a shipped wrapper
//! (run as `sh -c <script> <name>`, so nothing has to be written anywhere); else a program
//! of that name. Resolving is pure: the caller says which wrapper files exist.

pub mod prompt;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::config::{Preset, PresetName};

/// Where `init` puts the wrappers, relative to the repository root.
pub const WRAPPER_DIR: &str = ".microloop/implementers";

/// A wrapper shipped in the binary.
#[derive(Debug, Clone, Copy)]
pub struct Wrapper {
    /// The preset name (`claude`) and the wrapper's file name without `.sh`.
    pub name: &'static str,
    /// What it drives, for help and `init` output.
    pub about: &'static str,
    pub script: &'static str,
}

/// The shipped wrappers, in the order they are listed to users.
pub const WRAPPERS: &[Wrapper] = &[
    Wrapper {
        name: "claude",
        about: "Claude Code (claude -p)",
        script: include_str!("../../templates/implementers/claude.sh"),
    },
    Wrapper {
        name: "codex",
        about: "OpenAI Codex CLI (codex exec)",
        script: include_str!("../../templates/implementers/codex.sh"),
    },
    Wrapper {
        name: "aider",
        about: "aider (aider --message-file)",
        script: include_str!("../../templates/implementers/aider.sh"),
    },
    Wrapper {
        name: "script",
        about: "a plain script: applies patches/<TASK_ID>.patch (an example to adapt)",
        script: include_str!("../../templates/implementers/script.sh"),
    },
];

/// The shipped wrapper called `name`.
pub fn builtin(name: &str) -> Option<&'static Wrapper> {
    WRAPPERS.iter().find(|w| w.name == name)
}

/// Where a resolved implementer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// `[implementers.<name>]` in `.microloop.toml`.
    Config,
    /// `.microloop/implementers/<name>.sh` in the worktree.
    RepoWrapper,
    /// The copy built into git-microloop.
    Builtin,
    /// Not a preset: a program (a path or a name looked up on PATH).
    Program,
}

/// An implementer command, ready to run (from the run worktree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub argv: Vec<String>,
    pub origin: Origin,
}

/// Resolve `--implementer <name> [-- <extra>…]`. `repo_wrapper(name)` answers with the absolute
/// path of `.microloop/implementers/<name>.sh` when that file exists.
pub fn resolve(
    name: &str,
    extra: &[String],
    presets: &BTreeMap<PresetName, Preset>,
    repo_wrapper: impl Fn(&str) -> Option<String>,
) -> Resolved {
    let with_extra = |mut argv: Vec<String>, origin| {
        argv.extend(extra.iter().cloned());
        Resolved { argv, origin }
    };
    // Only something that could be a preset name is looked up as one: `./x.sh`, `/bin/x` and
    // `X` are always programs.
    let Ok(preset) = PresetName::parse(name) else {
        return with_extra(vec![name.to_string()], Origin::Program);
    };
    if let Some(p) = presets.get(&preset) {
        return with_extra(p.command.as_slice().to_vec(), Origin::Config);
    }
    if let Some(path) = repo_wrapper(name) {
        return with_extra(vec!["sh".into(), path], Origin::RepoWrapper);
    }
    if let Some(w) = builtin(name) {
        // `sh -c SCRIPT NAME ARGS…`: $0 is the name, "$@" the extra arguments. The script is
        // ours and constant; task data reaches it only through the environment.
        return with_extra(
            vec!["sh".into(), "-c".into(), w.script.into(), w.name.into()],
            Origin::Builtin,
        );
    }
    with_extra(vec![name.to_string()], Origin::Program)
}

/// The wrapper file for `name` under the worktree `root`, if it exists.
pub fn repo_wrapper_in(root: &Path, name: &str) -> Option<String> {
    let path = root.join(WRAPPER_DIR).join(format!("{name}.sh"));
    path.is_file().then(|| path.to_string_lossy().into_owned())
}

/// The names `--implementer` knows as presets, for messages: configured ones and the shipped
/// wrappers, sorted, without duplicates.
pub fn preset_names(presets: &BTreeMap<PresetName, Preset>) -> Vec<String> {
    let mut names: Vec<String> = presets.keys().map(|k| k.as_str().to_string()).collect();
    names.extend(WRAPPERS.iter().map(|w| w.name.to_string()));
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_config;

    fn presets(toml: &str) -> BTreeMap<PresetName, Preset> {
        parse_config(toml, ".microloop.toml").unwrap().implementers
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn config_preset_wins_then_repo_wrapper_then_builtin_then_program() {
        let cfg = presets("[implementers.claude]\ncommand = [\"my-claude\", \"--fast\"]\n");
        let none = |_: &str| None;
        let repo = |n: &str| (n == "claude" || n == "codex").then(|| format!("/r/{n}.sh"));
        let extra = s(&["--model", "x"]);

        let r = resolve("claude", &extra, &cfg, repo);
        assert_eq!(r.origin, Origin::Config);
        assert_eq!(r.argv, s(&["my-claude", "--fast", "--model", "x"]));

        let r = resolve("codex", &extra, &cfg, repo);
        assert_eq!(r.origin, Origin::RepoWrapper);
        assert_eq!(r.argv, s(&["sh", "/r/codex.sh", "--model", "x"]));

        let r = resolve("aider", &[], &cfg, none);
        assert_eq!(r.origin, Origin::Builtin);
        assert_eq!(&r.argv[..2], &s(&["sh", "-c"])[..]);
        assert_eq!(r.argv[2], builtin("aider").unwrap().script);
        assert_eq!(r.argv[3], "aider");

        for program in ["make", "./impl.sh", "/usr/bin/claude", "Claude"] {
            let r = resolve(program, &extra, &cfg, repo);
            assert_eq!(r.origin, Origin::Program, "{program}");
            assert_eq!(r.argv[0], program);
            assert_eq!(&r.argv[1..], &extra[..]);
        }
    }

    #[test]
    fn preset_names_are_validated_in_config() {
        let e = parse_config("[implementers.\"../x\"]\ncommand = [\"x\"]\n", "c").unwrap_err();
        assert!(e.to_string().contains("preset name"), "{e}");
        let e = parse_config("[implementers.a]\ncommand = \"a b\"\n", "c").unwrap_err();
        assert!(e.to_string().contains("list of arguments"), "{e}");
        let e = parse_config("[implementers.a]\ncomand = [\"a\"]\n", "c").unwrap_err();
        assert!(e.to_string().contains("unknown field"), "{e}");
    }

    #[test]
    fn names_for_messages_are_sorted_and_unique() {
        let cfg = presets(
            "[implementers.claude]\ncommand = [\"c\"]\n[implementers.zed]\ncommand = [\"z\"]\n",
        );
        assert_eq!(
            preset_names(&cfg),
            s(&["aider", "claude", "codex", "script", "zed"])
        );
    }

    #[test]
    fn shipped_wrappers_never_evaluate_task_data() {
        for w in WRAPPERS {
            assert!(w.script.starts_with("#!/bin/sh\n"), "{}", w.name);
            assert!(w.script.contains("set -eu"), "{}", w.name);
            for line in w
                .script
                .lines()
                .filter(|l| !l.trim_start().starts_with('#'))
            {
                assert!(!line.contains("eval"), "{}: {line}", w.name);
                assert!(!line.contains("sh -c"), "{}: {line}", w.name);
                // Every expansion of our variables is quoted.
                for (i, _) in line.match_indices("$MICROLOOP_") {
                    assert_eq!(line[..i].matches('"').count() % 2, 1, "{}: {line}", w.name);
                }
                if line.contains("$prompt") {
                    assert!(line.contains("\"$prompt\""), "{}: {line}", w.name);
                }
            }
        }
    }
}
