//! Configuration: the `.microloop.toml` schema, the per-change `planner_config.json`, and the
//! precedence that decides which value wins (CLI > environment > planner_config.json >
//! .microloop.toml > configs/*.yaml > defaults), and the seed's YAML configs.

mod duration;
mod load;
mod schema;
mod yaml;

pub use duration::Span;
pub use load::{
    CONFIG_FILE, ConfigError, DEFAULT_SEED, Origins, PlannerConfigFile, PlannerLayers, Source,
    TomlSet, YamlLayers, attempts_from_env, load_config, load_planner_config, merge, parse_config,
    parse_planner_config, planner_from_env, resolve_attempts,
};
pub use schema::{
    Argv, Attempts, ChangeSection, Config, Executor, Notify, PathTemplate, Paths, PlannerSection,
    Preset, PresetName, QaCommand, Retention, Role,
};
pub use yaml::{RETENTION_FILE, TESTS_FILE, TestsFile, parse_retention, parse_tests};
