//! Configuration: the `.microloop.toml` schema, the per-change `planner_config.json`, and the
//! precedence that decides which value wins (CLI > environment > planner_config.json >
//! .microloop.toml > defaults).

mod duration;
mod load;
mod schema;

pub use duration::Span;
pub use load::{
    CONFIG_FILE, ConfigError, DEFAULT_SEED, PlannerConfigFile, PlannerLayers, Source, load_config,
    load_planner_config, parse_config, planner_from_env,
};
pub use schema::{
    Argv, Attempts, ChangeSection, Config, Executor, Notify, PathTemplate, Paths, PlannerSection,
    QaCommand, Retention, Role,
};
