//! File paths named in a task's text.
//!
//! Decisions:
//! - Inline code (`` `src/api/login.rs` ``) is split into words; a word counts when it contains
//!   `/`, ends in a known file extension, or is a dotfile (`.gitignore`). So
//!   `` `scripts/validate-stack.sh starr` `` yields `scripts/validate-stack.sh`, and
//!   `` `cargo test --lib` `` yields nothing.
//! - Prose is split at whitespace and at non-ASCII characters (so `配置tsconfig.json文件` and
//!   `(tsconfig.json, tsconfig.node.json)` both work) and is stricter, because prose is full of
//!   `Insert/Remove`, `GET /api/users` and `golang.org/x/crypto`: a word counts when it ends in a
//!   known extension (`src/models/user.py`, `README.md`) or is a directory with a trailing slash
//!   (`docs/`). Framework names written like files (`Node.js`, `Vue.js`: a capitalised word
//!   plus `.js`) do not count.
//! - Paths are kept as written (globs, brace expansions, `[name]` placeholders, absolute paths),
//!   minus surrounding punctuation, a `#anchor` and a `:line` / `:line-line` suffix.
//! - Never: URLs, words starting with `@` (npm scopes, import aliases), `#`, `-` or `<`.
//! - Order of first appearance, without duplicates.

use crate::tasks::grammar::code_split;

/// Known file extensions (lowercase, sorted for binary search). A list rather than "anything after a dot", because prose
/// has `e.g.`, `v3.0.0`, `Azure.Data.Tables` and `ASP.NET`.
const EXTENSIONS: &[&str] = &[
    "5th",
    "5thproj",
    "adoc",
    "bash",
    "bat",
    "c",
    "cc",
    "cfg",
    "cjs",
    "clj",
    "cmake",
    "cmd",
    "conf",
    "cpp",
    "cs",
    "csproj",
    "css",
    "csv",
    "cxx",
    "dart",
    "db",
    "diff",
    "dockerfile",
    "env",
    "erl",
    "ex",
    "exs",
    "fish",
    "fs",
    "fsproj",
    "gif",
    "go",
    "gql",
    "gradle",
    "graphql",
    "h",
    "hcl",
    "hpp",
    "hs",
    "htm",
    "html",
    "ico",
    "ini",
    "ipynb",
    "java",
    "jl",
    "jpeg",
    "jpg",
    "js",
    "json",
    "jsonc",
    "jsx",
    "kt",
    "kts",
    "less",
    "lock",
    "log",
    "lua",
    "md",
    "mdx",
    "mjs",
    "mk",
    "ml",
    "mod",
    "nix",
    "parquet",
    "patch",
    "pdf",
    "php",
    "pl",
    "plist",
    "png",
    "prisma",
    "props",
    "proto",
    "ps1",
    "psm1",
    "py",
    "pyi",
    "rb",
    "rs",
    "rst",
    "sass",
    "scala",
    "scss",
    "sh",
    "sln",
    "slnx",
    "sol",
    "sql",
    "sqlite",
    "sum",
    "svelte",
    "svg",
    "swift",
    "targets",
    "tex",
    "tf",
    "toml",
    "ts",
    "tsv",
    "tsx",
    "txt",
    "vb",
    "vue",
    "wasm",
    "xml",
    "xsd",
    "yaml",
    "yml",
    "zig",
    "zsh",
];
/// Files that have no extension but are still files.
const BARE_NAMES: &[&str] = &[
    "Dockerfile",
    "Makefile",
    "Justfile",
    "Procfile",
    "Gemfile",
    "Rakefile",
];

/// Paths in the given lines, in order of first appearance.
pub(crate) fn extract<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out = Vec::new();
    // Few files per task: a linear check beats hashing every candidate.
    for line in lines {
        for (i, part) in code_split(line).into_iter().enumerate() {
            let code = i % 2 == 1;
            let text = if code { part.trim_matches('`') } else { part };
            let prose_links;
            let text = if code {
                text
            } else {
                // `[plan.md](plan.md)`: read link text and target as separate words.
                if text.contains("](") {
                    prose_links = text.replace("](", " ");
                    &prose_links
                } else {
                    text
                }
            };
            for word in words(text, code) {
                if let Some(path) = path_of(word, code)
                    && !out.contains(&path)
                {
                    out.push(path);
                }
            }
        }
    }
    out
}

fn words(text: &str, code: bool) -> impl Iterator<Item = &str> {
    text.split(move |c: char| c.is_whitespace() || (!code && !c.is_ascii()))
        .filter(|w| !w.is_empty())
}

/// The path a word names, if it names one.
fn path_of(word: &str, code: bool) -> Option<String> {
    // Fast reject: a path has a separator or a dot, or is one of the bare file names.
    // (Every bare name ends in "file", so one substring search covers them all.)
    let maybe_bare = word.len() < 16 && word.contains("file");
    if !maybe_bare && !word.contains(['/', '.', '\\']) {
        return None;
    }
    if word.contains("://") || word.starts_with("www.") {
        return None;
    }
    let w = trim_punctuation(word);
    let w = w.split('#').next().unwrap_or("");
    let w = strip_line_suffix(w);
    if w.is_empty() || w.starts_with(['@', '-', '<', '$']) || w.contains("//") {
        return None;
    }
    if !w.chars().all(path_char) || !w.chars().any(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    if w.contains(',') && !w.contains('{') {
        return None;
    }
    let has_slash = w.contains('/') || w.contains('\\');
    let known = has_known_extension(w) || BARE_NAMES.contains(&file_name(w));
    let dir = w.ends_with('/') && w.len() > 1;
    let keep = if code {
        has_slash || known || is_dotfile(w)
    } else {
        (known && !is_framework_name(w)) || (dir && !w.starts_with('/'))
    };
    keep.then(|| w.to_string())
}

fn path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_./\\-*{},~@+[]".contains(c)
}

/// Strips surrounding quotes and punctuation; brackets and parentheses only when unbalanced, so
/// `test_[name].py` and `{a,b}` survive.
fn trim_punctuation(w: &str) -> &str {
    let mut w = w;
    loop {
        let before = w.len();
        w = w.trim_start_matches(['\'', '"', '<', '*', '“', '‘']);
        w = w.trim_end_matches(['\'', '"', '>', ',', ';', ':', '.', '!', '?', '”', '’', '*']);
        if w.starts_with('(') && !w.contains(')') {
            w = &w[1..];
        }
        if w.ends_with(')') && !w.contains('(') {
            w = &w[..w.len() - 1];
        }
        if w.starts_with('[') && !w.contains(']') {
            w = &w[1..];
        }
        if w.ends_with(']') && w.matches('[').count() < w.matches(']').count() {
            w = &w[..w.len() - 1];
        }
        if w.len() == before {
            return w;
        }
    }
}

/// `src/x.rs:42` and `src/x.rs:42-50` name `src/x.rs`.
fn strip_line_suffix(w: &str) -> &str {
    if let Some((path, tail)) = w.rsplit_once(':')
        && !tail.is_empty()
        && tail.chars().all(|c| c.is_ascii_digit() || c == '-')
    {
        return path;
    }
    w
}

fn file_name(w: &str) -> &str {
    w.rsplit(['/', '\\']).next().unwrap_or(w)
}

fn has_known_extension(w: &str) -> bool {
    let name = file_name(w);
    match name.rsplit_once('.') {
        Some((base, ext)) => {
            !base.is_empty()
                && ext.len() <= 12
                && EXTENSIONS
                    .binary_search(&ext.to_ascii_lowercase().as_str())
                    .is_ok()
        }
        None => false,
    }
}

fn is_dotfile(w: &str) -> bool {
    let name = file_name(w);
    name.len() > 1
        && name.starts_with('.')
        && name[1..].starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// `Node.js`, `Vue.js`, `Dexie.js`: product names, not files.
fn is_framework_name(w: &str) -> bool {
    match w.split_once('.') {
        Some((base, "js")) => {
            base.starts_with(|c: char| c.is_ascii_uppercase())
                && base.chars().all(|c| c.is_ascii_alphabetic())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_list_is_sorted() {
        assert!(EXTENSIONS.windows(2).all(|w| w[0] < w[1]));
    }

    fn files(s: &str) -> Vec<String> {
        extract(std::iter::once(s))
    }

    #[test]
    fn backticked_paths_and_globs() {
        assert_eq!(
            files(
                "Audit (`src/**/*.BufferList.cs` against `.github/instructions/x.instructions.md`)"
            ),
            vec![
                "src/**/*.BufferList.cs",
                ".github/instructions/x.instructions.md"
            ]
        );
        assert_eq!(
            files("Run `scripts/validate-stack.sh starr` now"),
            vec!["scripts/validate-stack.sh"]
        );
        assert_eq!(
            files("`cargo test --lib models::enums` `commit.style: legacy`"),
            Vec::<String>::new()
        );
        assert_eq!(
            files("`src/{components/{calculator,dashboard},stores}` and `/mnt/dpool/media`"),
            vec![
                "src/{components/{calculator,dashboard},stores}",
                "/mnt/dpool/media"
            ]
        );
        assert_eq!(
            files("`.gitignore` `.env` `ghcr.io/hotio/sonarr:<SEMVER>`"),
            vec![".gitignore", ".env"]
        );
        assert_eq!(
            files("`'@/components/x'` `#playground/{id}`"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn prose_paths() {
        assert_eq!(
            files("配置 TypeScript (tsconfig.json, tsconfig.node.json)"),
            vec!["tsconfig.json", "tsconfig.node.json"]
        );
        assert_eq!(files("创建tsconfig.json文件"), vec!["tsconfig.json"]);
        assert_eq!(
            files("Contract test for [endpoint] in tests/contract/test_[name].py"),
            vec!["tests/contract/test_[name].py"]
        );
        assert_eq!(files("Documentation updates in docs/"), vec!["docs/"]);
        assert_eq!(
            files("Replace unwrap() in avalanche_calculator.rs:81 with x"),
            vec!["avalanche_calculator.rs"]
        );
        assert_eq!(
            files(
                "POST /api/users Insert/Remove golang.org/x/crypto/sha3 e.g. v3.0.0 Node.js Dexie.js ASP.NET"
            ),
            Vec::<String>::new()
        );
        assert_eq!(
            files("See [plan.md](plan.md) and https://x.io/a.md"),
            vec!["plan.md"]
        );
        assert_eq!(files("Update README.md. Then README.md"), vec!["README.md"]);
    }
}
