//! Reading configuration files and resolving settings by precedence:
//! CLI > environment > `planner_config.json` > `.microloop.toml` > defaults.
//!
//! Every error names the file, the line and the key, because "invalid config" with no place is
//! the most annoying message a tool can print.

use std::io;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use super::schema::Config;
use crate::diag::line_of_offset;
use crate::ids::Seed;
use crate::plan::Strategy;

/// The project config file, relative to the repository root.
pub const CONFIG_FILE: &str = ".microloop.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{file}:{line}: {}{message}", key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    Invalid {
        file: String,
        line: u32,
        key: Option<String>,
        message: String,
    },
    #[error("cannot read {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: io::Error,
    },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
}

/// Read `.microloop.toml` under `root`; a missing file means all defaults.
pub fn load_config(root: &Path) -> Result<Config, ConfigError> {
    match read_text(root, CONFIG_FILE)? {
        None => Ok(Config::default()),
        Some(text) => parse_config(&text, CONFIG_FILE),
    }
}

/// Parse config text; `file` is the name used in errors.
pub fn parse_config(text: &str, file: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        ConfigError::Invalid {
            file: file.to_string(),
            line: line_of_offset(text, offset),
            key: toml_key_at(text, offset),
            message: e.message().trim().to_string(),
        }
    })
}

/// The dotted key whose line holds `offset`: the `key = …` on that line, prefixed by the
/// nearest `[table]` header above it. Good enough to point a human at the right key.
fn toml_key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next().unwrap_or("");
    let trimmed = line.trim();
    if trimmed.starts_with('[') {
        return Some(trimmed.trim_matches(['[', ']', ' ']).to_string());
    }
    let key = trimmed.split('=').next()?.trim().trim_matches('"');
    if key.is_empty() {
        return None;
    }
    let table = text[..start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']', ' ']).to_string());
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_string(),
    })
}

/// `artifacts/work/<CH>/planner_config.json`: `{"seed":42,"strategy":"spec-like"}`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PlannerConfigFile {
    pub seed: Option<Seed>,
    pub strategy: Option<Strategy>,
}

/// Read the per-change planner config; missing means empty.
pub fn load_planner_config(root: &Path, rel: &str) -> Result<PlannerConfigFile, ConfigError> {
    match read_text(root, rel)? {
        None => Ok(PlannerConfigFile::default()),
        Some(text) => serde_json::from_str(&text).map_err(|e| ConfigError::Invalid {
            file: rel.to_string(),
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            key: json_key_in(&e.to_string()),
            message: e.to_string(),
        }),
    }
}

fn json_key_in(msg: &str) -> Option<String> {
    let start = msg.find('`')? + 1;
    let len = msg[start..].find('`')?;
    msg.starts_with("unknown field")
        .then(|| msg[start..start + len].to_string())
}

fn read_text(root: &Path, rel: &str) -> Result<Option<String>, ConfigError> {
    match std::fs::read(root.join(rel)) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|e| ConfigError::Invalid {
                file: rel.to_string(),
                line: line_of_offset(
                    &String::from_utf8_lossy(e.as_bytes()),
                    e.utf8_error().valid_up_to(),
                ),
                key: None,
                message: "the file is not valid UTF-8".into(),
            }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io {
            file: rel.to_string(),
            source,
        }),
    }
}

/// Planner settings from every layer, highest precedence first in `resolve`.
#[derive(Debug, Clone, Default)]
pub struct PlannerLayers {
    pub cli: PlannerConfigFile,
    pub env: PlannerConfigFile,
    pub change_file: PlannerConfigFile,
    pub project: PlannerConfigFile,
}

/// Where a resolved value came from, for `plan` output and `-v`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Cli,
    Env,
    PlannerConfig,
    ProjectConfig,
    Default,
}

/// The default seed when no layer sets one (the seed's example value).
pub const DEFAULT_SEED: Seed = 42;

impl PlannerLayers {
    /// The seed and strategy that win, with where each came from.
    pub fn resolve(&self) -> ((Seed, Source), (Strategy, Source)) {
        let layers = [
            (&self.cli, Source::Cli),
            (&self.env, Source::Env),
            (&self.change_file, Source::PlannerConfig),
            (&self.project, Source::ProjectConfig),
        ];
        let seed = layers
            .iter()
            .find_map(|(l, src)| l.seed.map(|s| (s, *src)))
            .unwrap_or((DEFAULT_SEED, Source::Default));
        let strategy = layers
            .iter()
            .find_map(|(l, src)| l.strategy.map(|s| (s, *src)))
            .unwrap_or((Strategy::default(), Source::Default));
        (seed, strategy)
    }
}

/// `MICROLOOP_SEED` and `MICROLOOP_STRATEGY`, read through `get` so tests need no process env.
pub fn planner_from_env(
    get: impl Fn(&str) -> Option<String>,
) -> Result<PlannerConfigFile, ConfigError> {
    let seed = match get("MICROLOOP_SEED") {
        None => None,
        Some(v) => Some(v.trim().parse::<Seed>().map_err(|_| ConfigError::Env {
            var: "MICROLOOP_SEED".into(),
            message: format!("{v:?} is not a whole number between 0 and 18446744073709551615"),
        })?),
    };
    let strategy = match get("MICROLOOP_STRATEGY") {
        None => None,
        Some(v) => Some(v.trim().parse::<Strategy>().map_err(|m| ConfigError::Env {
            var: "MICROLOOP_STRATEGY".into(),
            message: m,
        })?),
    };
    Ok(PlannerConfigFile { seed, strategy })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (u32, Option<String>, String) {
        match parse_config(text, ".microloop.toml").unwrap_err() {
            ConfigError::Invalid {
                line, key, message, ..
            } => (line, key, message),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn empty_config_is_all_defaults() {
        let c = parse_config("", "x").unwrap();
        assert_eq!(c.paths.tasks.as_str(), "changes/{change}/tasks.md");
        assert!(c.retention.is_none());
    }

    #[test]
    fn unknown_key_names_line_and_key() {
        let (line, key, msg) = err("[planner]\nseed = 1\nsede = 2\n");
        assert_eq!(line, 3);
        assert_eq!(key.as_deref(), Some("planner.sede"));
        assert!(msg.contains("unknown field"), "{msg}");
    }

    #[test]
    fn wrong_type_names_line_and_key() {
        let (line, key, _) = err("# c\n[planner]\nseed = \"forty\"\n");
        assert_eq!(line, 3);
        assert_eq!(key.as_deref(), Some("planner.seed"));
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let (line, key, msg) = err("[retention]\nsuccess_ttl = \"-3d\"\n");
        assert_eq!((line, key.as_deref()), (2, Some("retention.success_ttl")));
        assert!(msg.contains("negative"), "{msg}");
        let (line, key, _) = err("[planner]\nstrategy = \"random\"\n");
        assert_eq!((line, key.as_deref()), (2, Some("planner.strategy")));
        let (_, key, msg) = err("[executor]\ncommand = \"claude -p\"\n");
        assert_eq!(key.as_deref(), Some("executor.command"));
        assert!(msg.contains("list of arguments"), "{msg}");
        let (_, key, _) = err("[paths]\ntasks = \"../outside/tasks.md\"\n");
        assert_eq!(key.as_deref(), Some("paths.tasks"));
        let (_, key, _) = err("[executor]\nmax_attempts = 0\n");
        assert_eq!(key.as_deref(), Some("executor.max_attempts"));
    }

    #[test]
    fn syntax_error_has_a_line() {
        let (line, _, _) = err("[planner\nseed = 1\n");
        assert_eq!(line, 1);
    }

    #[test]
    fn precedence_is_cli_env_change_project_default() {
        let f = |seed: Option<u64>| PlannerConfigFile {
            seed,
            strategy: None,
        };
        let mut l = PlannerLayers::default();
        assert_eq!(l.resolve().0, (DEFAULT_SEED, Source::Default));
        l.project = f(Some(4));
        assert_eq!(l.resolve().0, (4, Source::ProjectConfig));
        l.change_file = f(Some(3));
        assert_eq!(l.resolve().0, (3, Source::PlannerConfig));
        l.env = f(Some(2));
        assert_eq!(l.resolve().0, (2, Source::Env));
        l.cli = f(Some(1));
        assert_eq!(l.resolve().0, (1, Source::Cli));
    }

    #[test]
    fn env_values_are_validated() {
        let bad = planner_from_env(|k| (k == "MICROLOOP_SEED").then(|| "abc".to_string()));
        assert!(matches!(bad, Err(ConfigError::Env { .. })));
        let ok = planner_from_env(|k| (k == "MICROLOOP_STRATEGY").then(|| "by-file".into()));
        assert_eq!(ok.unwrap().strategy, Some(Strategy::ByFile));
    }

    #[test]
    fn planner_config_json_unknown_key_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.json"), "{\n\"seed\": 1,\n\"sead\": 2}\n").unwrap();
        match load_planner_config(dir.path(), "p.json").unwrap_err() {
            ConfigError::Invalid { line, key, .. } => {
                assert_eq!(line, 3);
                assert_eq!(key.as_deref(), Some("sead"));
            }
            other => panic!("{other}"),
        }
    }
}

#[cfg(test)]
mod template_tests {
    use super::*;

    /// The shipped template must stay a valid config whose values are the defaults.
    #[test]
    fn shipped_template_parses_to_the_defaults() {
        let text = include_str!("../../templates/microloop.toml");
        let c = parse_config(text, "templates/microloop.toml").unwrap();
        let d = Config::default();
        assert_eq!(c.paths.tasks, d.paths.tasks);
        assert_eq!(c.paths.artifacts, d.paths.artifacts);
        assert_eq!(c.change.pattern.as_str(), d.change.pattern.as_str());
        assert_eq!(c.planner.seed, Some(DEFAULT_SEED));
        assert_eq!(c.executor.max_attempts, d.executor.max_attempts);
        assert_eq!(c.executor.timeout, d.executor.timeout);
    }

    /// Uncommenting the examples gives a valid config too.
    #[test]
    fn template_examples_are_valid_when_uncommented() {
        let text = include_str!("../../templates/microloop.toml");
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with('[') || rest.contains(" = ") => rest,
                _ => l,
            })
            .collect::<Vec<_>>()
            .join("\n");
        let c = parse_config(&uncommented, "template").unwrap();
        assert_eq!(c.qa.len(), 1);
        assert!(c.retention.is_some() && c.notify.is_some());
        assert!(c.executor.command.is_some());
    }
}
