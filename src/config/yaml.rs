//! The seed's YAML configs: `configs/tests.yaml` (QA commands and the retry limit) and
//! `configs/retention.yaml` (the retention policy), read with `serde-saphyr` (panic-free,
//! reports line and column) into the same validated types as `.microloop.toml`, so a value
//! means the same thing in either file and unknown keys are refused in both.
//!
//! Which file wins is decided in `load.rs` (`merge`): a section set in `.microloop.toml` wins
//! over its YAML counterpart as a whole; the YAML file fills in what the TOML leaves unset.

use serde::Deserialize;

use super::load::ConfigError;
use super::schema::{Attempts, QaCommand, Retention};
use crate::diag::{place_of_offset, printable};

/// QA commands in the seed's layout.
pub const TESTS_FILE: &str = "configs/tests.yaml";
/// The retention policy in the seed's layout.
pub const RETENTION_FILE: &str = "configs/retention.yaml";

/// `configs/tests.yaml`:
///
/// ```yaml
/// max_attempts: 3        # optional: attempts per task (1..10)
/// tests:
///   - name: unit
///     command: [pytest, -q]
///     timeout: 10m       # optional, default 10m
///     required: true     # optional, default true
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsFile {
    /// QA commands, run in order after each task (same fields as a `[[qa]]` entry).
    #[serde(default)]
    pub tests: Option<Vec<QaCommand>>,
    /// Attempts per task (same as `[executor] max_attempts`).
    #[serde(default)]
    pub max_attempts: Option<Attempts>,
}

/// Parse `configs/tests.yaml`; `file` is the name used in errors.
pub fn parse_tests(text: &str, file: &str) -> Result<TestsFile, ConfigError> {
    parse(text, file)
}

/// Parse `configs/retention.yaml`: the keys of `[retention]` at the top level. A file with no
/// keys (only comments) is the default policy, like an empty `[retention]` section.
pub fn parse_retention(text: &str, file: &str) -> Result<Retention, ConfigError> {
    parse(text, file)
}

fn parse<T: for<'de> Deserialize<'de> + Default>(text: &str, file: &str) -> Result<T, ConfigError> {
    if is_blank_document(text) {
        return Ok(T::default());
    }
    serde_saphyr::from_str::<T>(text).map_err(|e| yaml_error(&e, text, file))
}

/// Only blank lines, comments or a bare `---`: nothing is set. Lines as YAML breaks them (a
/// lone `\r` too), or a comment could hide a setting YAML reads.
fn is_blank_document(text: &str) -> bool {
    text.split(['\n', '\r'])
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with('#') || l == "---" || l == "..." || l == "{}")
}

fn yaml_error(e: &serde_saphyr::Error, text: &str, file: &str) -> ConfigError {
    use serde_saphyr::MessageFormatter as _;
    let plain = e.without_snippet();
    let message = printable(&serde_saphyr::UserMessageFormatter.format_message(plain));
    // From the offset when there is one: YAML also breaks lines at a lone `\r`, which nothing
    // else counts as a line (the key lookup, editors showing `\n` lines).
    let (line, column) = plain
        .location()
        .and_then(|l| match byte_offset(text, l.span()) {
            Some(offset) => Some(place_of_offset(text, offset)),
            None => (l.line() > 0).then(|| {
                (
                    u32::try_from(l.line()).unwrap_or(u32::MAX),
                    u32::try_from(l.column()).unwrap_or(u32::MAX),
                )
            }),
        })
        .unwrap_or((1, 0));
    ConfigError::Yaml {
        file: file.to_string(),
        line,
        column,
        key: yaml_key_at(text, line).map(|k| printable(&k)),
        message: in_plain_words(message.trim()),
    }
}

/// The parser's terse type errors in the words of the README's configuration reference.
fn in_plain_words(message: &str) -> String {
    let plain = match message {
        "expected sequence start" => "expected a list, e.g. `[a, b]` or `- a` lines",
        "expected mapping start" => "expected keys with values (`key: value` lines)",
        "invalid boolean" => "expected true or false",
        "invalid i64" | "invalid i32" => "expected a whole number",
        "invalid u64" | "invalid u32" => "expected a whole number, 0 or more",
        other => other,
    };
    plain.to_string()
}

/// The byte offset of an error's span: given for string input, or from its character offset
/// (a span at offset 0 with no length is the "unknown" span).
fn byte_offset(text: &str, span: serde_saphyr::Span) -> Option<usize> {
    if let Some(b) = span.byte_offset() {
        return Some(usize::try_from(b).unwrap_or(usize::MAX));
    }
    if span.offset() == 0 && span.is_empty() {
        return None;
    }
    let chars = usize::try_from(span.offset()).unwrap_or(usize::MAX);
    Some(
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i),
    )
}

/// The key path (`tests[1].timeout`) whose line is `line` (1-based): the key on that line and
/// its ancestors by indentation, with the index of each sequence item on the way. Good enough
/// to point a human at the right key in a block-style config file; `None` when the line holds
/// no key (a syntax error between keys, for instance).
pub(crate) fn yaml_key_at(text: &str, line: u32) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let target = usize::try_from(line).ok()?.checked_sub(1)?;
    let first = Shape::of(lines.get(target)?)?;
    let mut segments: Vec<String> = Vec::new();
    // Below this indentation a key is an ancestor of what we have so far.
    let mut threshold = first.key_indent.unwrap_or(first.indent);
    if let Some(k) = &first.key {
        segments.push(k.clone());
    }
    // A sequence item we are inside of: its indentation and how many siblings precede it.
    let mut item: Option<(usize, usize)> = first.item.then_some((first.indent, 0));
    if item.is_some() {
        threshold = first.indent;
    }
    for raw in lines[..target].iter().rev() {
        let Some(shape) = Shape::of(raw) else {
            continue;
        };
        if let Some((m, count)) = item.as_mut()
            && shape.item
            && shape.indent == *m
        {
            *count += 1;
            continue;
        }
        let ancestor_key = shape
            .key_indent
            .filter(|k| *k < threshold && shape.indent < threshold);
        if let Some(key_indent) = ancestor_key {
            let mut key = shape.key.clone().unwrap_or_default();
            if let Some((_, count)) = item.take() {
                key.push_str(&format!("[{count}]"));
            }
            segments.push(key);
            threshold = key_indent;
        }
        if shape.item && shape.indent < threshold {
            // We are inside this item; items above it at its indentation are its siblings.
            if let Some((_, count)) = item.take() {
                segments.push(format!("[{count}]"));
            }
            item = Some((shape.indent, 0));
            threshold = shape.indent;
        }
    }
    if let Some((_, count)) = item {
        segments.push(format!("[{count}]"));
    }
    if segments.is_empty() {
        return None;
    }
    segments.reverse();
    let mut path = String::new();
    for s in segments {
        if !path.is_empty() && !s.starts_with('[') {
            path.push('.');
        }
        path.push_str(&s);
    }
    Some(path)
}

/// One line of block YAML: its indentation, whether it starts a sequence item, and the mapping
/// key it holds (with the key's own indentation). `None` for blank and comment lines.
struct Shape {
    indent: usize,
    item: bool,
    key: Option<String>,
    key_indent: Option<usize>,
}

impl Shape {
    fn of(line: &str) -> Option<Shape> {
        let indent = line.len() - line.trim_start_matches(' ').len();
        let rest = &line[indent..];
        if rest.trim().is_empty() || rest.trim_start().starts_with('#') {
            return None;
        }
        let (item, body, body_indent) = match rest.strip_prefix('-') {
            Some(after) if after.is_empty() || after.starts_with(' ') => {
                let trimmed = after.trim_start_matches(' ');
                (true, trimmed, indent + 1 + (after.len() - trimmed.len()))
            }
            _ => (false, rest, indent),
        };
        let key = mapping_key(body);
        Some(Shape {
            indent,
            item,
            key_indent: key.as_ref().map(|_| body_indent),
            key,
        })
    }
}

/// `name: value` or `name:` → `name` (quotes removed); anything else → `None`.
fn mapping_key(body: &str) -> Option<String> {
    if body.starts_with(['[', '{', '#', '&', '*', '!', '|', '>']) {
        return None;
    }
    let colon = body
        .char_indices()
        .find(|&(i, c)| c == ':' && body[i + 1..].chars().next().is_none_or(|n| n == ' '))?
        .0;
    let key = body[..colon].trim().trim_matches(['"', '\'']);
    (!key.is_empty()).then(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> (u32, u32, Option<String>, String) {
        match parse_tests(text, TESTS_FILE).unwrap_err() {
            ConfigError::Yaml {
                line,
                column,
                key,
                message,
                ..
            } => (line, column, key, message),
            other => panic!("unexpected {other}"),
        }
    }

    fn rerr(text: &str) -> (u32, Option<String>, String) {
        match parse_retention(text, RETENTION_FILE).unwrap_err() {
            ConfigError::Yaml {
                line, key, message, ..
            } => (line, key, message),
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn reads_tests_with_defaults_like_toml() {
        let t = parse_tests(
            "max_attempts: 3\ntests:\n  - name: unit\n    command: [pytest, -q]\n  - name: lint\n    command:\n      - ruff\n      - check\n    timeout: 2m\n    required: false\n",
            TESTS_FILE,
        )
        .unwrap();
        let tests = t.tests.unwrap();
        assert_eq!(tests.len(), 2);
        assert_eq!(tests[0].command.as_slice(), ["pytest", "-q"]);
        assert_eq!(tests[0].timeout.to_string(), "10m");
        assert!(tests[0].required);
        assert_eq!(tests[1].timeout.to_string(), "2m");
        assert!(!tests[1].required);
        assert_eq!(t.max_attempts, Some(Attempts(3)));
    }

    #[test]
    fn reads_retention_with_defaults_for_missing_keys() {
        let r = parse_retention(
            "success_ttl: 3d\nrequired_approvals: [PM]\n",
            RETENTION_FILE,
        )
        .unwrap();
        assert_eq!(r.success_ttl.to_string(), "3d");
        assert_eq!(r.required_approvals.len(), 1);
        assert_eq!(r.keep_last, 1);
        assert!(r.keep_summary);
        let empty = parse_retention("# nothing yet\n---\n", RETENTION_FILE).unwrap();
        assert_eq!(empty.success_ttl.to_string(), "7d");
    }

    #[test]
    fn unknown_key_names_file_line_column_and_key() {
        let (line, column, key, msg) =
            err("tests:\n  - name: unit\n    command: [x]\n    timout: 5m\n");
        assert_eq!(line, 4);
        assert!(column >= 1, "{column}");
        assert_eq!(key.as_deref(), Some("tests[0].timout"));
        assert!(msg.contains("timout"), "{msg}");
        let (line, key, _) = rerr("success_ttl: 7d\nkeep_lats: 2\n");
        assert_eq!((line, key.as_deref()), (2, Some("keep_lats")));
    }

    #[test]
    fn bad_values_name_line_and_key() {
        let (line, key, msg) = rerr("# policy\nsuccess_ttl: -3d\n");
        assert_eq!((line, key.as_deref()), (2, Some("success_ttl")));
        assert!(msg.contains("negative"), "{msg}");
        let (line, _, key, msg) =
            err("tests:\n  - name: a\n    command: [a]\n  - name: b\n    command: \"make test\"\n");
        assert_eq!((line, key.as_deref()), (5, Some("tests[1].command")));
        assert!(msg.contains("list of arguments"), "{msg}");
        let (line, _, key, _) = err("max_attempts: 0\n");
        assert_eq!((line, key.as_deref()), (1, Some("max_attempts")));
        let (_, key, _) = rerr("required_approvals: [\"P M\"]\n");
        assert_eq!(key.as_deref(), Some("required_approvals"));
    }

    #[test]
    fn syntax_error_has_a_line_and_column() {
        let (line, column, _, _) = err("tests:\n  - name: unit\n    command: [pytest\n");
        assert!(line >= 3, "{line}");
        assert!(column >= 1);
        for (text, want) in [
            ("success_ttl: 7d\nkeep_last: 1: 2\n", 2),
            ("# c\nsuccess_ttl: 7d\nkeep_last: 1\nkeep_last: 2\n", 4),
            ("success_ttl: \"7d\nkeep_last: 2\n", 1),
            ("finalizers: [GO, HR\nkeep_last: 2\n", 2),
        ] {
            let (line, _, m) = rerr(text);
            assert_eq!(line, want, "{text:?}: {m}");
        }
    }

    #[test]
    fn never_panics_on_odd_input() {
        for text in [
            "\u{feff}",
            "- a\n- b\n",
            "tests: 3\n",
            "tests:\n  - {name: x, command: []}\n",
            "&a [*a]\n",
            "tests: !!binary aGk=\n",
            "\0",
            "tests:\n\t- x\n",
        ] {
            let _ = parse_tests(text, TESTS_FILE);
            let _ = parse_retention(text, RETENTION_FILE);
        }
    }

    /// Found by fuzzing (config): YAML breaks lines at a lone `\r` too, so its line 2 was
    /// reported for a one-line file (and a comment line hiding a setting after a `\r` passed
    /// for an empty file); a key holding an escape sequence reached the terminal.
    #[test]
    fn places_count_newline_lines_and_keys_are_printable() {
        let (line, column, _, _) = err("# c\rmax_attempts: 0\n");
        assert_eq!(line, 1);
        assert!(
            column as usize <= "# c\rmax_attempts: 0".len() + 1,
            "{column}"
        );
        let (line, column, _, _) = err("max_attempts: 1\rtests: [\n");
        assert_eq!((line, column), (1, 24));
        let e = parse_retention("\u{1b}[2J: 1\n", RETENTION_FILE).unwrap_err();
        let shown = e.to_string();
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        assert!(shown.contains("\\u{1b}[2J"), "{shown}");
    }

    #[test]
    fn key_paths_follow_indentation_and_items() {
        let text = "a:\n  b:\n    - x: 1\n      y: 2\n    - x: 3\n      # c\n      y: 4\nz: 5\n";
        assert_eq!(yaml_key_at(text, 1).as_deref(), Some("a"));
        assert_eq!(yaml_key_at(text, 2).as_deref(), Some("a.b"));
        assert_eq!(yaml_key_at(text, 3).as_deref(), Some("a.b[0].x"));
        assert_eq!(yaml_key_at(text, 4).as_deref(), Some("a.b[0].y"));
        assert_eq!(yaml_key_at(text, 7).as_deref(), Some("a.b[1].y"));
        assert_eq!(yaml_key_at(text, 8).as_deref(), Some("z"));
        assert_eq!(yaml_key_at(text, 6), None);
        assert_eq!(yaml_key_at(text, 99), None);
        assert_eq!(
            yaml_key_at("l:\n  - a\n  - b\n", 3).as_deref(),
            Some("l[1]")
        );
    }
}
