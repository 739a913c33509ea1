//! `git microloop config`: the effective configuration and where each merged value comes from,
//! so a `configs/*.yaml` value that `.microloop.toml` overrides is never a mystery.

use clap::Args;
use serde_json::{Value, json};

use crate::cli::context::Workspace;
use crate::cli::error::CliError;
use crate::cli::output::{BOLD, DIM, Out, Stderr, paint};
use crate::config::{
    CONFIG_FILE, Config, QaCommand, RETENTION_FILE, Retention, Source, TESTS_FILE,
    attempts_from_env, resolve_attempts,
};
use crate::implementers::{Origin, preset_names, repo_wrapper_in, resolve};

/// Show the effective configuration: QA commands, attempts, retention policy and implementer
/// presets, each with the file (or variable) it comes from.
///
/// Precedence, highest first: command-line options > environment (MICROLOOP_SEED,
/// MICROLOOP_STRATEGY, MICROLOOP_MAX_ATTEMPTS) > planner_config.json > .microloop.toml >
/// configs/tests.yaml and configs/retention.yaml > defaults.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  git microloop config
  git microloop config --json | jq .qa")]
pub struct ConfigArgs {
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn cmd_config(args: &ConfigArgs, _err: &Stderr) -> Result<(), CliError> {
    let ws = Workspace::open()?;
    let root = ws.repo.workdir();
    let c = &ws.config;
    let env_attempts = attempts_from_env(|k| std::env::var(k).ok())?;
    let (attempts, attempts_from) = resolve_attempts(None, env_attempts, c);
    let files: Vec<(&str, bool)> = [CONFIG_FILE, TESTS_FILE, RETENTION_FILE]
        .iter()
        .map(|f| (*f, root.join(f).is_file()))
        .collect();
    let presets = presets(c, root);
    let mut out = Out::new();
    if args.json {
        out.json(&json!({
            "schema_version": 1,
            "files": files.iter().map(|(f, present)| json!({"path": f, "present": present})).collect::<Vec<_>>(),
            "qa": {
                "source": c.origins.qa,
                "file": file_of(c.origins.qa, TESTS_FILE),
                "commands": c.qa.iter().map(qa_json).collect::<Vec<_>>(),
            },
            "max_attempts": {
                "value": attempts,
                "source": attempts_from,
                "file": file_of(attempts_from, TESTS_FILE),
            },
            "retention": {
                "source": c.origins.retention,
                "file": file_of(c.origins.retention, RETENTION_FILE),
                "policy": c.retention.as_ref().map(retention_json),
            },
            "implementers": presets.iter().map(|(name, origin, argv)| json!({
                "name": name, "origin": origin, "command": argv,
            })).collect::<Vec<_>>(),
            "shadowed": c.origins.shadowed,
        }))?;
        out.flush()?;
        return Ok(());
    }
    out.line(&paint(
        DIM,
        "precedence: CLI > environment > planner_config.json > .microloop.toml > configs/*.yaml > defaults",
    ))?;
    for (f, present) in &files {
        out.line(&format!(
            "{:<24}{}",
            f,
            if *present { "read" } else { "not present" }
        ))?;
    }
    out.line(&format!(
        "{}  {}",
        paint(BOLD, "qa"),
        from(c.origins.qa, TESTS_FILE)
    ))?;
    if c.qa.is_empty() {
        out.line("  (none)")?;
    }
    for q in &c.qa {
        out.line(&format!(
            "  {}: {}  (timeout {}, {})",
            q.name,
            q.command.as_slice().join(" "),
            q.timeout,
            if q.required { "required" } else { "optional" }
        ))?;
    }
    out.line(&format!(
        "{}  {attempts}  {}",
        paint(BOLD, "max_attempts"),
        from(attempts_from, TESTS_FILE)
    ))?;
    out.line(&format!(
        "{}  {}",
        paint(BOLD, "retention"),
        from(c.origins.retention, RETENTION_FILE)
    ))?;
    match &c.retention {
        None => out.line("  (none: every run is kept)")?,
        Some(r) => {
            let roles = |v: &[crate::config::Role]| {
                v.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
            };
            out.line(&format!(
                "  success_ttl {}, failed_review_after {}, keep_last {}, keep_summary {}",
                r.success_ttl, r.failed_review_after, r.keep_last, r.keep_summary
            ))?;
            out.line(&format!(
                "  required_approvals [{}], finalizers [{}]",
                roles(&r.required_approvals),
                roles(&r.finalizers)
            ))?;
        }
    }
    out.line(&paint(BOLD, "implementers"))?;
    for (name, origin, argv) in &presets {
        let shown = match origin {
            Origin::Builtin => "the built-in wrapper".to_string(),
            Origin::RepoWrapper => argv.get(1).cloned().unwrap_or_default(),
            _ => argv.join(" "),
        };
        out.line(&format!("  {name:<12}{shown}"))?;
    }
    for s in &c.origins.shadowed {
        out.line(&format!("ignored: {s}"))?;
    }
    out.flush()?;
    Ok(())
}

/// Every preset `--implementer` knows, resolved as `run` would.
fn presets(c: &Config, root: &std::path::Path) -> Vec<(String, Origin, Vec<String>)> {
    preset_names(&c.implementers)
        .into_iter()
        .map(|n| {
            let r = resolve(&n, &[], &c.implementers, |x| repo_wrapper_in(root, x));
            let argv = if r.origin == Origin::Builtin {
                vec![format!("(built-in {n} wrapper)")]
            } else {
                r.argv
            };
            (n, r.origin, argv)
        })
        .collect()
}

fn file_of(source: Source, yaml: &str) -> Option<&str> {
    match source {
        Source::ProjectConfig => Some(CONFIG_FILE),
        Source::YamlConfig => Some(yaml),
        _ => None,
    }
}

fn from(source: Source, yaml: &str) -> String {
    let what = match source {
        Source::Cli => "from the command line".to_string(),
        Source::Env => "from MICROLOOP_MAX_ATTEMPTS".to_string(),
        Source::ProjectConfig => format!("from {CONFIG_FILE}"),
        Source::YamlConfig => format!("from {yaml}"),
        Source::PlannerConfig => "from planner_config.json".to_string(),
        Source::Default => "default".to_string(),
    };
    paint(DIM, &format!("({what})"))
}

fn qa_json(q: &QaCommand) -> Value {
    json!({
        "name": q.name,
        "command": q.command,
        "timeout": q.timeout,
        "required": q.required,
    })
}

fn retention_json(r: &Retention) -> Value {
    json!({
        "success_ttl": r.success_ttl,
        "failed_review_after": r.failed_review_after,
        "required_approvals": r.required_approvals,
        "finalizers": r.finalizers,
        "keep_last": r.keep_last,
        "keep_summary": r.keep_summary,
    })
}
