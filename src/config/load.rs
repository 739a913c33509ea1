//! Reading configuration files and resolving settings by precedence:
//! CLI > environment > `planner_config.json` > `.microloop.toml` > `configs/*.yaml` > defaults.
//!
//! Every error names the file, the line and the key, because "invalid config" with no place is
//! the most annoying message a tool can print.

use std::io;
use std::path::Path;

use serde::Deserialize;
use thiserror::Error;

use super::schema::{Attempts, Config, Retention};
use super::yaml::{RETENTION_FILE, TESTS_FILE, TestsFile, parse_retention, parse_tests};
use crate::diag::{line_of_offset, place_of_offset, printable};
use crate::ids::{Seed, parse_seed};
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
    /// A YAML config (`configs/*.yaml`): the column too, since YAML's structure is in it.
    #[error("{file}:{line}:{column}: {}{message}", key.as_ref().map(|k| format!("`{k}`: ")).unwrap_or_default())]
    Yaml {
        file: String,
        line: u32,
        column: u32,
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

/// Read `.microloop.toml` and the seed's `configs/tests.yaml` and `configs/retention.yaml`
/// under `root` and merge them (`merge`); missing files mean defaults.
pub fn load_config(root: &Path) -> Result<Config, ConfigError> {
    let (config, set) = match read_text(root, CONFIG_FILE)? {
        None => (Config::default(), TomlSet::default()),
        Some(text) => (parse_config(&text, CONFIG_FILE)?, TomlSet::of(&text)),
    };
    let yaml = YamlLayers {
        tests: read_text(root, TESTS_FILE)?
            .map(|t| parse_tests(&t, TESTS_FILE))
            .transpose()?,
        retention: read_text(root, RETENTION_FILE)?
            .map(|t| parse_retention(&t, RETENTION_FILE))
            .transpose()?,
    };
    Ok(merge(config, set, yaml))
}

/// Which of the settings the YAML files can also hold `.microloop.toml` sets itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TomlSet {
    pub qa: bool,
    pub max_attempts: bool,
    pub retention: bool,
}

impl TomlSet {
    /// Read from the (already validated) TOML text, since a parsed `Config` cannot tell a
    /// default from a value that was written down.
    pub fn of(text: &str) -> Self {
        let Ok(table) = text.parse::<toml::Table>() else {
            return TomlSet::default();
        };
        TomlSet {
            qa: table.contains_key("qa"),
            max_attempts: table
                .get("executor")
                .and_then(|e| e.as_table())
                .is_some_and(|e| e.contains_key("max_attempts")),
            retention: table.contains_key("retention"),
        }
    }
}

/// The parsed YAML configs (`None`: the file does not exist).
#[derive(Debug, Clone, Default)]
pub struct YamlLayers {
    pub tests: Option<TestsFile>,
    pub retention: Option<Retention>,
}

/// Where `qa`, `executor.max_attempts` and `retention` came from, and which YAML settings were
/// ignored because `.microloop.toml` sets them too (for `git microloop config`).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Origins {
    pub qa: Source,
    pub max_attempts: Source,
    pub retention: Source,
    pub shadowed: Vec<String>,
}

/// `.microloop.toml` > `configs/*.yaml` > defaults, setting by setting: `[[qa]]` (the whole
/// list), `[executor] max_attempts` and `[retention]` (the whole section) written in the TOML
/// file win over `tests`, `max_attempts` and the retention file; a YAML file only fills in
/// what the TOML file leaves unset. Whole sections, never a mix of two files' lists, so a
/// reader of either file sees the complete QA list or policy that applies.
pub fn merge(mut config: Config, set: TomlSet, yaml: YamlLayers) -> Config {
    let mut o = Origins::default();
    let from_toml = |yes: bool| {
        if yes {
            Source::ProjectConfig
        } else {
            Source::Default
        }
    };
    o.qa = from_toml(set.qa);
    o.max_attempts = from_toml(set.max_attempts);
    o.retention = from_toml(set.retention);
    if let Some(tests) = yaml.tests {
        if let Some(list) = tests.tests {
            if set.qa {
                o.shadowed
                    .push(format!("{TESTS_FILE} `tests` (.microloop.toml has [[qa]])"));
            } else {
                config.qa = list;
                o.qa = Source::YamlConfig;
            }
        }
        if let Some(n) = tests.max_attempts {
            if set.max_attempts {
                o.shadowed.push(format!(
                    "{TESTS_FILE} `max_attempts` (.microloop.toml sets [executor] max_attempts)"
                ));
            } else {
                config.executor.max_attempts = n;
                o.max_attempts = Source::YamlConfig;
            }
        }
    }
    if let Some(policy) = yaml.retention {
        if set.retention {
            o.shadowed.push(format!(
                "{RETENTION_FILE} (.microloop.toml has a [retention] section)"
            ));
        } else {
            config.retention = Some(policy);
            o.retention = Source::YamlConfig;
        }
    }
    config.origins = o;
    config
}

/// Parse config text; `file` is the name used in errors.
pub fn parse_config(text: &str, file: &str) -> Result<Config, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        ConfigError::Invalid {
            file: file.to_string(),
            line: place_of_offset(text, offset).0,
            key: toml_key_at(text, offset).map(|k| printable(&k)),
            message: printable(e.message().trim()),
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
        Some(text) => parse_planner_config(&text, rel),
    }
}

/// Parse `planner_config.json` text; `file` is the name used in errors.
pub fn parse_planner_config(text: &str, file: &str) -> Result<PlannerConfigFile, ConfigError> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string().replace(
            "expected u64",
            &format!("expected a whole number between 0 and {}", Seed::MAX),
        );
        ConfigError::Invalid {
            file: file.to_string(),
            // serde_json puts an error at a newline (one inside a string, the end of the text
            // after a last newline) at column 0 of the next line, which may not exist.
            line: u32::try_from(match e.column() {
                0 => e.line().saturating_sub(1).max(1),
                _ => e.line(),
            })
            .unwrap_or(u32::MAX),
            key: json_key_in(&message)
                .or_else(|| json_key_before(text, &e))
                .map(|k| printable(&k)),
            message: printable(&message),
        }
    })
}

/// For a bad value: the key whose value ends where the error is (serde_json points just past
/// the value), i.e. the last `"key":` before that place.
fn json_key_before(text: &str, e: &serde_json::Error) -> Option<String> {
    if !matches!(e.classify(), serde_json::error::Category::Data) {
        return None;
    }
    let line_start: usize = text
        .split_inclusive('\n')
        .take(e.line().saturating_sub(1))
        .map(str::len)
        .sum();
    let end = (line_start + e.column()).min(text.len());
    let before = text.get(..end)?;
    let key = regex::Regex::new(r#""([^"\\]*)"\s*:"#).ok()?;
    let last = key.captures_iter(before).last()?;
    Some(last[1].to_string())
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
        // A file where a folder on the way belongs: this file cannot exist either.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Cli,
    Env,
    PlannerConfig,
    ProjectConfig,
    /// `configs/tests.yaml` or `configs/retention.yaml`.
    YamlConfig,
    #[default]
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
        Some(v) => Some(parse_seed(&v).map_err(|m| ConfigError::Env {
            var: "MICROLOOP_SEED".into(),
            message: format!("{v:?} is {m}"),
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

/// `MICROLOOP_MAX_ATTEMPTS`, read through `get` so tests need no process env.
pub fn attempts_from_env(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<Attempts>, ConfigError> {
    let Some(v) = get("MICROLOOP_MAX_ATTEMPTS") else {
        return Ok(None);
    };
    let bad = |message: String| ConfigError::Env {
        var: "MICROLOOP_MAX_ATTEMPTS".into(),
        message,
    };
    let n: i64 = v
        .trim()
        .parse()
        .map_err(|_| bad(format!("{v:?} is not a whole number between 1 and 10")))?;
    Attempts::parse(n).map(Some).map_err(bad)
}

/// Attempts per task: `--max-attempts` > `MICROLOOP_MAX_ATTEMPTS` > `.microloop.toml` >
/// `configs/tests.yaml` > 2, with where the winner came from.
pub fn resolve_attempts(cli: Option<u32>, env: Option<Attempts>, config: &Config) -> (u32, Source) {
    match (cli, env) {
        (Some(n), _) => (n, Source::Cli),
        (None, Some(a)) => (a.0, Source::Env),
        (None, None) => (config.executor.max_attempts.0, config.origins.max_attempts),
    }
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

    /// Found by fuzzing (config): the key named in an error is the raw text of its line, so
    /// an escape sequence or carriage return in it reached the terminal.
    #[test]
    fn errors_are_printable() {
        for text in [
            "\u{1b}[2J = 1\n",
            "[planner]\nseed\r = 1\n",
            "a = \"\u{7}\"\n",
        ] {
            let shown = parse_config(text, ".microloop.toml")
                .unwrap_err()
                .to_string();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
        }
        let e = parse_planner_config("{\"\u{1b}[2J\": 1}", "p.json").unwrap_err();
        assert!(!e.to_string().chars().any(char::is_control), "{e}");
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

    /// Found by fuzzing (config): a newline inside an unterminated string was reported at
    /// line 3 of a two-line file.
    #[test]
    fn planner_config_json_errors_at_a_newline_name_a_line_of_the_file() {
        for (text, want) in [
            ("{\n\"se 1}\n", 2),
            ("{\n\"seed\": 1,\n", 2),
            ("", 1),
            ("{\"seed\": x}", 1),
        ] {
            match parse_planner_config(text, "p.json").unwrap_err() {
                ConfigError::Invalid { line, .. } => assert_eq!(line, want, "{text:?}"),
                other => panic!("{other}"),
            }
        }
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
}

#[cfg(test)]
mod merge_tests {
    use super::*;

    fn toml(text: &str) -> (Config, TomlSet) {
        (parse_config(text, CONFIG_FILE).unwrap(), TomlSet::of(text))
    }

    fn yaml(tests: &str, retention: Option<&str>) -> YamlLayers {
        YamlLayers {
            tests: Some(parse_tests(tests, TESTS_FILE).unwrap()),
            retention: retention.map(|r| parse_retention(r, RETENTION_FILE).unwrap()),
        }
    }

    const TESTS: &str = "max_attempts: 4\ntests:\n  - name: yaml-unit\n    command: [pytest]\n";

    #[test]
    fn yaml_fills_in_what_toml_leaves_unset() {
        let (c, set) = toml("[planner]\nseed = 1\n");
        let c = merge(c, set, yaml(TESTS, Some("success_ttl: 2d\n")));
        assert_eq!(c.qa.len(), 1);
        assert_eq!(c.qa[0].name, "yaml-unit");
        assert_eq!(c.executor.max_attempts, Attempts(4));
        assert_eq!(c.retention.as_ref().unwrap().success_ttl.to_string(), "2d");
        assert_eq!(c.origins.qa, Source::YamlConfig);
        assert_eq!(c.origins.max_attempts, Source::YamlConfig);
        assert_eq!(c.origins.retention, Source::YamlConfig);
        assert!(c.origins.shadowed.is_empty());
    }

    #[test]
    fn toml_wins_over_yaml_section_by_section() {
        let (c, set) = toml(
            "[executor]\nmax_attempts = 1\n[[qa]]\nname = \"toml-unit\"\ncommand = [\"make\"]\n\
             [retention]\nkeep_last = 3\n",
        );
        let c = merge(c, set, yaml(TESTS, Some("success_ttl: 2d\nkeep_last: 9\n")));
        assert_eq!(c.qa.len(), 1);
        assert_eq!(c.qa[0].name, "toml-unit");
        assert_eq!(c.executor.max_attempts, Attempts(1));
        let r = c.retention.as_ref().unwrap();
        // The whole TOML section wins: keys it leaves out take the defaults, not YAML's.
        assert_eq!((r.keep_last, r.success_ttl.to_string()), (3, "7d".into()));
        assert_eq!(c.origins.qa, Source::ProjectConfig);
        assert_eq!(c.origins.max_attempts, Source::ProjectConfig);
        assert_eq!(c.origins.retention, Source::ProjectConfig);
        assert_eq!(c.origins.shadowed.len(), 3);
    }

    #[test]
    fn an_explicit_default_in_toml_still_wins() {
        // `max_attempts = 2` is the default value, but it was written down.
        let (c, set) = toml("[executor]\nmax_attempts = 2\n");
        let c = merge(c, set, yaml(TESTS, None));
        assert_eq!(c.executor.max_attempts, Attempts(2));
        assert_eq!(c.origins.max_attempts, Source::ProjectConfig);
        assert_eq!(c.origins.qa, Source::YamlConfig);
        assert!(c.retention.is_none());
        assert_eq!(c.origins.retention, Source::Default);
    }

    #[test]
    fn env_and_cli_win_over_both_files() {
        let (c, set) = toml("[executor]\nmax_attempts = 3\n");
        let c = merge(c, set, yaml(TESTS, None));
        assert_eq!(resolve_attempts(None, None, &c), (3, Source::ProjectConfig));
        assert_eq!(
            resolve_attempts(None, Some(Attempts(5)), &c),
            (5, Source::Env)
        );
        assert_eq!(
            resolve_attempts(Some(6), Some(Attempts(5)), &c),
            (6, Source::Cli)
        );
        let none = merge(Config::default(), TomlSet::default(), YamlLayers::default());
        assert_eq!(resolve_attempts(None, None, &none), (2, Source::Default));
    }

    #[test]
    fn max_attempts_env_is_validated() {
        let get =
            |v: &'static str| move |k: &str| (k == "MICROLOOP_MAX_ATTEMPTS").then(|| v.to_string());
        assert_eq!(attempts_from_env(get("3")).unwrap(), Some(Attempts(3)));
        assert!(matches!(
            attempts_from_env(get("0")),
            Err(ConfigError::Env { .. })
        ));
        assert!(matches!(
            attempts_from_env(get("x")),
            Err(ConfigError::Env { .. })
        ));
        assert_eq!(attempts_from_env(|_| None).unwrap(), None);
    }

    #[test]
    fn load_reads_all_three_files_and_reports_yaml_errors_with_a_place() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("configs")).unwrap();
        std::fs::write(root.join(TESTS_FILE), TESTS).unwrap();
        let c = load_config(root).unwrap();
        assert_eq!(c.qa[0].name, "yaml-unit");
        std::fs::write(root.join(RETENTION_FILE), "# policy\nkeep_last: [\n").unwrap();
        let e = load_config(root).unwrap_err().to_string();
        assert!(e.starts_with("configs/retention.yaml:"), "{e}");
        std::fs::write(root.join(RETENTION_FILE), "# policy\nkeep_lsat: 1\n").unwrap();
        let e = load_config(root).unwrap_err().to_string();
        assert!(e.starts_with("configs/retention.yaml:2:"), "{e}");
        assert!(e.contains("`keep_lsat`"), "{e}");
    }
}
