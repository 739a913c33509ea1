//! `git microloop completions SHELL`: completion scripts generated from the clap definitions.
//!
//! The command is typed as `git microloop …`, so each script also plugs into git's own
//! completion: git's bash completion calls `_git_microloop` for `git microloop <TAB>`, zsh's
//! `_git` calls `_git-microloop`, and fish's git completion hands `git microloop …` to the
//! completions of `git-microloop`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;
use crate::cli::error::CliError;
use crate::cli::output::{Out, Stderr};

/// Print a shell completion script on stdout (for both `git microloop` and `git-microloop`).
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop completions bash > ~/.local/share/bash-completion/completions/git-microloop
  git microloop completions zsh > ~/.zfunc/_git-microloop     # a folder on your $fpath
  git microloop completions fish > ~/.config/fish/completions/git-microloop.fish
  git microloop completions powershell >> $PROFILE

The README's install section says how each shell picks the script up.")]
pub struct CompletionsArgs {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

pub fn cmd_completions(args: &CompletionsArgs, _err: &Stderr) -> Result<(), CliError> {
    let mut out = Out::new();
    out.raw(script(args.shell).as_bytes())?;
    out.flush()?;
    Ok(())
}

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    match shell {
        Shell::Bash => bash(),
        other => generate(other, "git-microloop"),
    }
}

fn generate(shell: Shell, bin_name: &str) -> String {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, bin_name, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// The clap script, generated for a hyphen-free name (clap_complete's bash script cannot
/// complete a subcommand's options when the binary's name has a hyphen, clap-rs/clap#6421) and
/// then bound to `git-microloop`, plus the `_git_microloop` hook git's completion looks for.
fn bash() -> String {
    let generated = generate(Shell::Bash, "git_microloop");
    let mut s = String::with_capacity(generated.len() + 1024);
    s.push_str("# bash completion for git-microloop (`git microloop …` and `git-microloop …`).\n");
    for line in generated.lines() {
        let line = if line.starts_with("_git_microloop() {") {
            "_git_microloop_clap() {".to_string()
        } else if line.trim_start().starts_with("complete -F _git_microloop ") {
            line.replace("-F _git_microloop ", "-F _git_microloop_clap ")
                .replace(" git_microloop", " git-microloop")
        } else {
            line.to_string()
        };
        s.push_str(&line);
        s.push('\n');
    }
    s.push_str(GIT_HOOK);
    s
}

/// git's completion (git-completion.bash) completes `git microloop …` by calling
/// `_git_microloop` with no arguments; its words are `git [git options] microloop …`.
const GIT_HOOK: &str = r#"
# `git microloop <TAB>`: git's bash completion calls _git_microloop. The state machine above
# starts at the word given as $1, so "microloop" makes it skip `git` and git's own options.
# git completes with -o nospace and adds spaces itself; ask bash to add them for us.
_git_microloop() {
    compopt +o nospace 2>/dev/null
    _git_microloop_clap microloop "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_gets_a_script_naming_the_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
            let s = script(shell);
            for sub in ["plan", "run", "checklist", "completions"] {
                assert!(s.contains(sub), "{shell}: {sub} missing");
            }
            assert!(s.contains("git-microloop"), "{shell}");
        }
    }

    #[test]
    fn bash_binds_the_binary_and_hooks_into_git() {
        let s = script(Shell::Bash);
        assert!(s.contains("_git_microloop_clap() {"), "{s}");
        assert!(s.contains("_git_microloop() {"), "{s}");
        assert!(s.contains("-F _git_microloop_clap"), "{s}");
        assert!(s.contains(" git-microloop\n"), "{s}");
        assert!(!s.contains("complete -F _git_microloop "), "{s}");
        // The clap function is defined once, under its new name.
        assert_eq!(s.matches("\n_git_microloop() {").count(), 1);
    }
}
