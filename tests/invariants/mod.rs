//! What must hold for any input to the parsers, shared by the fuzz targets (`fuzz/`, which
//! include this file by path) and the property tests (`tests/fuzz_properties.rs`), so CI checks
//! exactly what the fuzzers check. Each function panics, with the offending values, when an
//! invariant breaks; it never panics for an input that is merely bad.
//!
//! - tasks.md: `parse` is deterministic; diagnostics and tasks name the file and a line inside
//!   it; keys are distinct and dependencies resolve; the planner, for every strategy and a fixed
//!   seed, either gives a deterministic topological order of all tasks or a real cycle; ticking
//!   an open task's checkbox marks that task done and changes nothing else.
//! - configs: `.microloop.toml`, `configs/tests.yaml`, `configs/retention.yaml` and
//!   `planner_config.json` parse deterministically or fail with `file:line` (and the column for
//!   YAML) inside the text; parsed values are valid (durations read back, paths stay relative).
//! - trailers: a commit message built from any task title and text parses back (libgit2, as
//!   `git::message_trailers` reads it) to exactly our trailers, in order — never one from the
//!   text; any message's trailers can be read without a panic; pre-push update lines parse or
//!   fail naming their line.
#![allow(dead_code)] // each fuzz target uses one part

use std::collections::BTreeMap;
use std::sync::LazyLock;

use git_microloop::config::{
    self, Config, ConfigError, RETENTION_FILE, Span, TESTS_FILE, TomlSet, YamlLayers,
};
use git_microloop::diag::Diagnostic;
use git_microloop::ids::{ChangeId, ChangePattern, PlanHash, Seed};
use git_microloop::plan::{Plan, PlanError, Strategy, build_plan, decompose_by_file};
use git_microloop::run::message::{TaskMessage, Trailers};
use git_microloop::tasks::{Status, TaskList, parse};

/// The display path tasks.md diagnostics must carry.
pub const TASKS_FILE: &str = "changes/CH-001/tasks.md";
/// The fixed planner seed.
pub const SEED: Seed = 42;
/// Open tasks whose checkbox is ticked per input (each tick re-parses the file).
const TICKS: usize = 4;

/// Lines of `text` as the parser numbers them (a final newline ends the last line).
fn line_count(text: &str) -> u32 {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let n = text.split('\n').count() - usize::from(text.ends_with('\n'));
    u32::try_from(n.max(1)).unwrap_or(u32::MAX)
}

fn check_diagnostic(d: &Diagnostic, file: &str, lines: u32) {
    assert_eq!(d.file, file, "diagnostic names another file: {d}");
    assert!(d.line <= lines, "diagnostic line {} > {lines}: {d}", d.line);
    assert!(!d.message.trim().is_empty(), "empty diagnostic message");
    if d.is_error() {
        assert!(d.line >= 1, "an error without a line: {d}");
    }
    let shown = d.to_string();
    assert!(shown.starts_with(&d.location()), "{shown}");
    assert_printable(&shown);
    if let Some(h) = &d.hint {
        assert_printable(h);
    }
}

/// Text for a terminal: no control characters (a file's bytes must not reach the terminal).
fn assert_printable(shown: &str) {
    assert!(
        !shown.chars().any(char::is_control),
        "control character in {shown:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// tasks.md and the planner

/// Parse `text` as tasks.md, plan it with every strategy, tick some of its open tasks.
pub fn tasks_md(text: &str) {
    let list = parse(text, TASKS_FILE);
    assert_eq!(list, parse(text, TASKS_FILE), "parse is not deterministic");
    let lines = line_count(text);
    for d in &list.diagnostics {
        check_diagnostic(d, TASKS_FILE, lines);
    }
    check_tasks(&list, lines);
    for strategy in Strategy::ALL {
        let plan = build_plan(list.tasks.clone(), strategy, SEED, None);
        let again = build_plan(list.tasks.clone(), strategy, SEED, None);
        assert_eq!(plan, again, "{strategy} plan is not deterministic");
        match plan {
            Ok(plan) => check_plan(&list, &plan),
            Err(e) => check_cycle(&list, &e),
        }
    }
    check_ticks(text, &list);
}

/// Each task's index by key.
fn index(list: &TaskList) -> BTreeMap<&str, usize> {
    let mut at = BTreeMap::new();
    for (i, t) in list.tasks.iter().enumerate() {
        assert!(
            at.insert(t.key.as_str(), i).is_none(),
            "duplicate key {}",
            t.key
        );
    }
    at
}

fn check_tasks(list: &TaskList, lines: u32) {
    let keys = index(list);
    let position = |k: &str| keys.get(k).copied();
    for (i, t) in list.tasks.iter().enumerate() {
        assert!(
            t.key == t.id
                || t.key
                    .strip_prefix(&t.id)
                    .is_some_and(|r| r.starts_with('#')),
            "key {} is not id {} or a numbered duplicate",
            t.key,
            t.id
        );
        assert!(!t.id.is_empty(), "empty id at line {}", t.line_start);
        assert!(!t.title.trim().is_empty(), "{}: empty title", t.key);
        assert!(!t.title.contains('\n'), "{}: multi-line title", t.key);
        assert!(
            1 <= t.line_start && t.line_start <= t.line_end && t.line_end <= lines,
            "{}: lines {}..{} outside 1..{lines}",
            t.key,
            t.line_start,
            t.line_end
        );
        let mut last = None;
        for d in &t.depends_on {
            let at = position(d).unwrap_or_else(|| panic!("{}: unknown dependency {d}", t.key));
            assert_ne!(at, i, "{} depends on itself", t.key);
            assert!(
                last < Some(at),
                "{}: dependencies not in file order or repeated: {:?}",
                t.key,
                t.depends_on
            );
            last = Some(at);
        }
    }
}

fn check_plan(list: &TaskList, plan: &Plan) {
    assert_eq!(
        plan.tasks.len(),
        list.tasks.len(),
        "plan lost or added tasks"
    );
    assert!(PlanHash::parse(plan.plan_hash.as_str()).is_some());
    let original = index(list);
    let mut at = BTreeMap::new();
    for (i, p) in plan.tasks.iter().enumerate() {
        assert_eq!(p.position as usize, i + 1, "positions are not 1..n");
        assert_eq!(p.execute, p.task.status == Status::Open, "{}", p.task.key);
        assert!(
            at.insert(p.task.key.as_str(), i).is_none(),
            "{} twice",
            p.task.key
        );
        let before = original.get(p.task.key.as_str()).map(|&j| &list.tasks[j]);
        assert_eq!(before, Some(&p.task), "task changed by planning");
    }
    for p in &plan.tasks {
        for d in &p.task.depends_on {
            assert!(
                at[d.as_str()] < at[p.task.key.as_str()],
                "{} planned before its dependency {d}",
                p.task.key
            );
        }
    }
    serde_json::to_string(plan).expect("a plan serializes");
}

fn check_cycle(list: &TaskList, e: &PlanError) {
    let PlanError::Cycle(cycle) = e;
    assert!(!cycle.is_empty(), "empty cycle");
    let keys = index(list);
    let task = |k: &str| match keys.get(k) {
        Some(&i) => &list.tasks[i],
        None => panic!("cycle names unknown task {k}"),
    };
    for (i, (k, line)) in cycle.iter().enumerate() {
        let t = task(k);
        assert_eq!(*line, t.line_start, "cycle gives {k} the wrong line");
        let (next, _) = &cycle[(i + 1) % cycle.len()];
        assert!(
            t.depends_on.contains(next),
            "cycle says {k} needs {next}, it does not: {e}"
        );
    }
    assert!(e.to_string().contains(&cycle[0].0));
}

/// Ticking an open checkbox task marks exactly that task done: the same tasks come back, with
/// only that one's status changed, and the text differs only by `[ ]` → `[X]`.
fn check_ticks(text: &str, list: &TaskList) {
    let open = list.tasks.iter().filter(|t| t.status == Status::Open);
    for t in open.take(TICKS) {
        let Some(ticked) = git_microloop::run::tick::tick(text, &t.id, t.line_start) else {
            continue;
        };
        assert_eq!(ticked.len(), text.len(), "tick changed the length");
        let diff: Vec<usize> = (0..text.len())
            .filter(|&i| text.as_bytes()[i] != ticked.as_bytes()[i])
            .collect();
        assert_eq!(diff.len(), 1, "tick changed more than one byte");
        let after = parse(&ticked, TASKS_FILE);
        assert_eq!(
            after.tasks.len(),
            list.tasks.len(),
            "tick {} changed the tasks",
            t.key
        );
        for (a, b) in list.tasks.iter().zip(&after.tasks) {
            if a.key == t.key {
                assert_eq!(
                    b.status,
                    Status::Done,
                    "tick {} did not mark it done",
                    t.key
                );
            } else {
                assert_eq!(a.status, b.status, "tick {} changed {}", t.key, a.key);
            }
        }
    }
}

/// The fallback planner over arbitrary paths (one per line) always plans.
pub fn fallback(paths: &str) {
    let paths: Vec<String> = paths.lines().map(str::to_string).collect();
    let tasks = decompose_by_file(&paths);
    let list = TaskList {
        tasks,
        diagnostics: Vec::new(),
    };
    for strategy in Strategy::ALL {
        let plan = build_plan(list.tasks.clone(), strategy, SEED, None).expect("no dependencies");
        check_plan(&list, &plan);
    }
}

// ---------------------------------------------------------------------------------------------
// configuration files

/// Which config reader a text goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    Toml,
    TestsYaml,
    RetentionYaml,
    PlannerJson,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 4] = [
        ConfigKind::Toml,
        ConfigKind::TestsYaml,
        ConfigKind::RetentionYaml,
        ConfigKind::PlannerJson,
    ];

    /// The fuzz input's first byte: `t`, `y`, `r`, `j`, otherwise its value modulo 4.
    pub fn from_byte(b: u8) -> Self {
        match b {
            b't' => ConfigKind::Toml,
            b'y' => ConfigKind::TestsYaml,
            b'r' => ConfigKind::RetentionYaml,
            b'j' => ConfigKind::PlannerJson,
            other => ConfigKind::ALL[usize::from(other % 4)],
        }
    }

    pub fn file(self) -> &'static str {
        match self {
            ConfigKind::Toml => config::CONFIG_FILE,
            ConfigKind::TestsYaml => TESTS_FILE,
            ConfigKind::RetentionYaml => RETENTION_FILE,
            ConfigKind::PlannerJson => "artifacts/work/CH-001/planner_config.json",
        }
    }
}

/// Read `text` with the `kind` reader (twice: same answer), then check the result.
pub fn config(kind: ConfigKind, text: &str) {
    let file = kind.file();
    let once = read_config(kind, text);
    let twice = read_config(kind, text);
    assert_eq!(
        format!("{once:?}"),
        format!("{twice:?}"),
        "{file} is not read deterministically"
    );
    match once {
        Ok(config) => check_config(&config),
        Err(e) => check_config_error(&e, file, text),
    }
}

fn read_config(kind: ConfigKind, text: &str) -> Result<Config, ConfigError> {
    let file = kind.file();
    Ok(match kind {
        ConfigKind::Toml => {
            let c = config::parse_config(text, file)?;
            config::merge(c, TomlSet::of(text), YamlLayers::default())
        }
        ConfigKind::TestsYaml => {
            let tests = config::parse_tests(text, file)?;
            let layers = YamlLayers {
                tests: Some(tests),
                retention: None,
            };
            config::merge(Config::default(), TomlSet::default(), layers)
        }
        ConfigKind::RetentionYaml => {
            let retention = config::parse_retention(text, file)?;
            let layers = YamlLayers {
                tests: None,
                retention: Some(retention),
            };
            config::merge(Config::default(), TomlSet::default(), layers)
        }
        ConfigKind::PlannerJson => {
            let p = config::parse_planner_config(text, file)?;
            let mut c = Config::default();
            c.planner.seed = p.seed;
            c.planner.strategy = p.strategy;
            c
        }
    })
}

fn check_config_error(e: &ConfigError, want_file: &str, text: &str) {
    let lines = line_count(text);
    let (file, line) = match e {
        ConfigError::Invalid { file, line, .. } => (file, *line),
        ConfigError::Yaml {
            file, line, column, ..
        } => {
            let width = text
                .split('\n')
                .nth((*line as usize).saturating_sub(1))
                .map_or(0, |l| l.chars().count());
            assert!(
                (*column as usize) <= width + 1,
                "column {column} beyond line {line} ({width} chars): {e}"
            );
            (file, *line)
        }
        other => panic!("a text parser gave a non-text error: {other}"),
    };
    assert_eq!(file, want_file, "{e}");
    assert!(
        1 <= line && line <= lines,
        "line {line} outside 1..{lines}: {e}"
    );
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!("{want_file}:{line}")),
        "error does not start with its place: {shown}"
    );
    let message = shown.split_once(": ").map_or("", |(_, m)| m);
    assert!(
        !message.trim().is_empty(),
        "error without a message: {shown}"
    );
    assert_printable(&shown);
}

fn check_config(c: &Config) {
    let spans = [c.executor.timeout]
        .into_iter()
        .chain(c.qa.iter().map(|q| q.timeout))
        .chain(c.notify.iter().map(|n| n.timeout))
        .chain(
            c.retention
                .iter()
                .flat_map(|r| [r.success_ttl, r.failed_review_after]),
        );
    for s in spans {
        assert_eq!(Span::parse(&s.to_string()), Ok(s), "{s} does not read back");
    }
    assert!((1..=10).contains(&c.executor.max_attempts.0));
    for q in &c.qa {
        assert!(!q.command.program().trim().is_empty(), "empty QA program");
    }
    let change = ChangeId::parse("CH-001", &c.change.pattern);
    let change = change.unwrap_or_else(|_| {
        ChangeId::parse("CH-001", &ChangePattern::default()).expect("default id")
    });
    let p = &c.paths;
    for t in [
        &p.changes,
        &p.tasks,
        &p.impact,
        &p.implementation_plan,
        &p.planner_config,
        &p.artifacts,
        &p.implementer_audit,
        &p.retention_audit,
    ] {
        let path = t.for_change(&change);
        assert!(!path.starts_with('/'), "absolute path {path}");
        assert!(
            !path.split(['/', '\\']).any(|c| c == ".."),
            "path {path} leaves the repository"
        );
    }
    let _ = c.change.pattern.find_in("change/CH-001-login");
}

// ---------------------------------------------------------------------------------------------
// commit messages, trailers and pre-push lines

/// What a micro-task commit is built from.
#[derive(Debug, Clone)]
pub struct MessageInput<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub text: &'a str,
    /// A change id (any path-safe text); the default `CH-001` when it is not one.
    pub change: &'a str,
    pub seed: Seed,
    pub qa: Option<&'a str>,
    pub audit: Option<u64>,
}

/// The trailers we mean to write, in order (DESIGN.md's trailer block).
fn expected_trailers(
    change: &ChangeId,
    run: &str,
    input: &MessageInput<'_>,
    plan: &PlanHash,
    audit: Option<(u64, &str)>,
) -> Vec<(String, String)> {
    let mut v = vec![
        ("Microloop-Change", change.as_str().to_string()),
        ("Microloop-Run", run.to_string()),
        ("Microloop-Task", input.key.to_string()),
        ("Microloop-Seed", input.seed.to_string()),
        ("Microloop-Plan", plan.to_string()),
    ];
    if let Some(q) = input.qa {
        v.push(("Microloop-QA", q.to_string()));
    }
    if let Some((seq, head)) = audit {
        v.push(("Microloop-Audit-Seq", seq.to_string()));
        v.push(("Microloop-Audit-Head", head.to_string()));
    }
    v.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// Build the message, check its shape and that its trailers read back exactly. Returns it.
pub fn task_message(input: &MessageInput<'_>) -> String {
    static ANY: LazyLock<ChangePattern> =
        LazyLock::new(|| ChangePattern::new(".+").expect("valid pattern"));
    let change = ChangeId::parse(input.change, &ANY)
        .unwrap_or_else(|_| ChangeId::parse("CH-001", &ANY).expect("valid id"));
    let run = "run-20261124T101500Z-3f9a";
    let plan = PlanHash::from_digest(&[input.seed as u8; 32]);
    let head = format!("sha256:{}", "ab".repeat(32));
    let audit = input.audit.map(|seq| (seq, head.as_str()));
    let message = TaskMessage {
        task_key: input.key,
        title: input.title,
        text: input.text,
        trailers: Trailers {
            change: &change,
            run,
            task: Some(input.key),
            seed: input.seed,
            plan: &plan,
            qa: input.qa,
            audit,
        },
    }
    .render();
    let want = expected_trailers(&change, run, input, &plan, audit);
    check_message_shape(&message, input.key);
    let got = git_microloop::git::message_trailers(&message);
    assert_eq!(
        got, want,
        "trailers do not read back exactly from:\n{message}"
    );
    message
}

fn check_message_shape(message: &str, key: &str) {
    assert!(
        !message.chars().any(|c| c.is_control() && c != '\n'),
        "control character in {message:?}"
    );
    let subject = message.lines().next().unwrap_or("");
    let head = format!("{key}: ");
    // A subject longer than 100 characters is cut (even inside an absurdly long id).
    let cut = subject
        .strip_suffix('…')
        .is_some_and(|s| s.chars().count() < 100 && head.starts_with(s.trim_end()));
    assert!(subject.starts_with(&head) || cut, "subject {subject:?}");
    assert!(subject.chars().count() <= 100, "subject {subject:?}");
    assert!(
        message.starts_with(&format!("{subject}\n\n")),
        "{message:?}"
    );
    assert!(
        message.ends_with('\n') && !message.ends_with("\n\n"),
        "{message:?}"
    );
    for line in message.lines().skip(1) {
        for risky in ["---", "diff -", "Index: ", "#"] {
            assert!(!line.starts_with(risky), "unescaped body line {line:?}");
        }
    }
}

/// Messages for the first tasks of `text` read as tasks.md (real keys, titles and texts).
pub fn messages_of_tasks_md(text: &str, seed: Seed) {
    let list = parse(text, TASKS_FILE);
    for t in list.tasks.iter().take(8) {
        task_message(&MessageInput {
            key: &t.key,
            title: &t.title,
            text: &t.text,
            change: "CH-001",
            seed,
            qa: Some("pass"),
            audit: None,
        });
    }
}

/// Any message: reading its trailers never panics and gives single-line keys.
pub fn any_message(message: &str) {
    let trailers = git_microloop::git::message_trailers(message);
    for (k, _) in &trailers {
        assert!(!k.contains('\n'), "multi-line trailer key {k:?}");
    }
    assert_eq!(trailers, git_microloop::git::message_trailers(message));
}

/// Pre-push standard input: parses to updates that print back to their lines, or fails naming
/// a line of the input.
pub fn push_lines(input: &str) {
    use git_microloop::checklist::push::{PushUpdate, parse_updates, passes_unseen};
    match parse_updates(input) {
        Ok(updates) => {
            let nonblank = input.lines().filter(|l| !l.trim().is_empty()).count();
            assert_eq!(updates.len(), nonblank, "updates lost or invented");
            for u in &updates {
                let line = format!(
                    "{} {} {} {}",
                    u.local_ref, u.local_sha, u.remote_ref, u.remote_sha
                );
                assert_eq!(PushUpdate::parse(&line), Ok(Some(u.clone())));
                let _ = (u.is_deletion(), u.is_new(), passes_unseen(u));
            }
        }
        Err(e) => {
            let n: usize = e
                .strip_prefix("standard input line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("error without a line: {e}"));
            assert!(1 <= n && n <= input.lines().count(), "line {n}: {e}");
        }
    }
}
