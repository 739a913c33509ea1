//! Dependency references: finding ids and ranges in text, the relation words of dependency
//! prose, and resolving references to task indices.
//!
//! Decisions:
//! - A reference is an id (see `grammar::ID_PATTERN`) or a range `A-B` / `A–B` / `A — B`, or the
//!   suffix shorthand `T011d-e` (= `T011d`–`T011e`). Inline code is never searched: commands and
//!   branch names such as `006-roslyn-T001-tooling` are not references.
//! - A range expands to every task in the file whose id lies between the ends, ordered by prefix,
//!   then the numeric parts, then the suffix (`T011` < `T011a` < `T012`). Ends need not exist, so
//!   gaps and block-allocated ids work; a range whose ends have different prefixes is rejected.
//! - A reference to a duplicated id means every task with that id (except the referring task).
//! - Prose relations (only in dependency sections, see `mod.rs`), per clause (split at `;`,
//!   `. ` and `。`), using the first relation word: `A blocks B` and `A before B` make B depend
//!   on A; `A after B`, `A depends on B`, `A requires B`, `A blocked by B` make A depend on B;
//!   Japanese `A は B に依存` and Chinese `A 依赖 B` make A depend on B. Clauses without ids on
//!   both sides say nothing (`T009 blocks nothing`, `Implementation before polish (T019-T023)`).
//!   Arrows (`→`) are not read: in the corpus they chain phases loosely and would create cycles.

use std::cmp::Ordering;
use std::sync::LazyLock;

use regex::Regex;

use crate::tasks::grammar::{ID_PATTERN, outside_code};

static ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(ID_PATTERN).expect("static regex is valid"));
static RANGE_DASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[-–—]\s*").expect("static regex is valid"));
static SUFFIX_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-–]([a-z])(?:[^A-Za-z0-9_]|$)").expect("static regex is valid")
});
static RELATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(blocks|before|after|depends\s+(?:on|upon)|depend\s+on|requires|require|blocked\s+by)\b")
        .expect("static regex is valid")
});
static NONE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:none|n/a|nothing|no dependencies)\b|^\s*[-—–](?:\s|$)")
        .expect("static regex is valid")
});
static CLAUSE_SPLIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r";|\.\s+|。").expect("static regex is valid"));

/// One reference as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Ref {
    One(String),
    Range(String, String),
}

impl Ref {
    /// How the reference reads in a diagnostic.
    pub(crate) fn display(&self) -> String {
        match self {
            Ref::One(id) => id.clone(),
            Ref::Range(a, b) => format!("{a}–{b}"),
        }
    }
}

/// Whether `s` mentions at least one id outside inline code.
pub(crate) fn mentions_id(s: &str) -> bool {
    !refs(s).is_empty()
}

/// All references in `s`, in order, inline code excluded.
pub(crate) fn refs(s: &str) -> Vec<Ref> {
    let prose = outside_code(s);
    let ids: Vec<(usize, usize)> = ID
        .find_iter(&prose)
        .filter(|m| bounded(&prose, m.start(), m.end()))
        .map(|m| (m.start(), m.end()))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let (start, end) = ids[i];
        let id = &prose[start..end];
        let after = &prose[end..];
        if let Some(&(ns, ne)) = ids.get(i + 1)
            && let Some(dash) = RANGE_DASH.find(after)
            && end + dash.end() == ns
        {
            out.push(Ref::Range(id.to_string(), prose[ns..ne].to_string()));
            i += 2;
            continue;
        }
        if let Some(c) = SUFFIX_RANGE.captures(after)
            && let Some(letter) = c.get(1)
            && let Some(base) = id.strip_suffix(|ch: char| ch.is_ascii_lowercase())
        {
            out.push(Ref::Range(
                id.to_string(),
                format!("{base}{}", letter.as_str()),
            ));
        } else {
            out.push(Ref::One(id.to_string()));
        }
        i += 1;
    }
    out
}

/// An id match must not be glued to letters or digits on either side.
fn bounded(s: &str, start: usize, end: usize) -> bool {
    let before = s[..start].chars().next_back();
    let after = s[end..].chars().next();
    let glue = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    !glue(before) && !glue(after)
}

/// The value of a `Dependencies: …` field on this line (`- Dependencies: T001`,
/// `**Dependencies**: T001, T002`, `**Priority**: High | **Dependencies**: Task 1 | …`).
pub(crate) fn field_value(line: &str) -> Option<&str> {
    // Hand-written: runs on every continuation line. Each `|`-separated cell may be a field.
    line.split('|').find_map(field_in_cell)
}

fn field_in_cell(cell: &str) -> Option<&str> {
    let mut t = cell.trim_start();
    if let Some(r) = t.strip_prefix(['-', '*', '+'])
        && r.starts_with([' ', '\t'])
    {
        t = r.trim_start();
    }
    t = t
        .strip_prefix("**")
        .or_else(|| t.strip_prefix("__"))
        .unwrap_or(t);
    let name = ["dependencies", "dependency", "depends on", "deps"]
        .into_iter()
        .find(|n| t.get(..n.len()).is_some_and(|h| h.eq_ignore_ascii_case(n)))?;
    let mut rest = &t[name.len()..];
    rest = rest
        .strip_prefix("**")
        .or_else(|| rest.strip_prefix("__"))
        .unwrap_or(rest);
    rest = rest.trim_start().strip_prefix(':')?;
    rest = rest.trim_start();
    rest = rest
        .strip_prefix("**")
        .or_else(|| rest.strip_prefix("__"))
        .unwrap_or(rest);
    Some(rest.trim())
}

/// Whether a dependency value says "no dependencies" (`none`, `None (can run parallel with
/// T001)`, `N/A`, `-`): ids mentioned after such a word are commentary, not dependencies.
pub(crate) fn is_none_value(s: &str) -> bool {
    s.trim().is_empty() || NONE_VALUE.is_match(s)
}

/// Dependency relations in one prose line: `(dependents, prerequisites)` pairs.
pub(crate) fn relations(line: &str) -> Vec<(Vec<Ref>, Vec<Ref>)> {
    let prose = outside_code(line);
    CLAUSE_SPLIT
        .split(&prose)
        .filter_map(clause_relation)
        .collect()
}

fn clause_relation(clause: &str) -> Option<(Vec<Ref>, Vec<Ref>)> {
    if let Some(pos) = clause.find("依存") {
        // Japanese: `A は B に依存` — A depends on B.
        let head = &clause[..pos];
        let (left, right) = match head.find('は') {
            Some(p) => (&head[..p], &head[p + 'は'.len_utf8()..]),
            None => (head, ""),
        };
        return pair(refs(left), refs(right));
    }
    if let Some(pos) = clause.find("依赖") {
        // Chinese: `A 依赖 B` — A depends on B.
        return pair(refs(&clause[..pos]), refs(&clause[pos + "依赖".len()..]));
    }
    let m = RELATION.find(clause)?;
    let left = refs(&clause[..m.start()]);
    let right = refs(&clause[m.end()..]);
    let word = m.as_str().to_ascii_lowercase();
    if word == "blocks" || word == "before" {
        pair(right, left)
    } else {
        pair(left, right)
    }
}

fn pair(dependents: Vec<Ref>, prerequisites: Vec<Ref>) -> Option<(Vec<Ref>, Vec<Ref>)> {
    (!dependents.is_empty() && !prerequisites.is_empty()).then_some((dependents, prerequisites))
}

/// Sort key of an id: prefix letters, numeric parts, lowercase suffix. Fixed-size and `Copy`
/// so that indexing 100,000 tasks allocates nothing per id; ids have at most four prefix
/// letters and one suffix letter by construction, and more than four dotted parts are ignored
/// for ordering (the string still decides identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct IdKey {
    prefix: [u8; 4],
    nums: [u64; 4],
    parts: u8,
    suffix: u8,
}

impl IdKey {
    pub(crate) fn parse(id: &str) -> IdKey {
        let bytes = id.as_bytes();
        let mut prefix = [0u8; 4];
        let mut i = 0;
        while i < bytes.len() && bytes[i].is_ascii_uppercase() {
            if let Some(slot) = prefix.get_mut(i) {
                *slot = bytes[i];
            }
            i += 1;
        }
        let mut nums = [0u64; 4];
        let mut parts = 0u8;
        let mut suffix = 0u8;
        for part in id[i..].split('.') {
            let digits = part.trim_end_matches(|c: char| c.is_ascii_lowercase());
            if let Some(&last) = part.as_bytes().get(digits.len()) {
                suffix = last;
            }
            // Absurdly long numbers saturate rather than fail: ordering stays total.
            let n = digits.parse::<u64>().unwrap_or(u64::MAX);
            if let Some(slot) = nums.get_mut(usize::from(parts)) {
                *slot = n;
            }
            parts = parts.saturating_add(1);
        }
        IdKey {
            prefix,
            nums,
            parts,
            suffix,
        }
    }
}

/// Lookup structure over the tasks of one file: `(key, id, task index)` sorted by key.
pub(crate) struct Index<'a> {
    sorted: Vec<(IdKey, &'a str, usize)>,
}

/// Why a reference resolved to nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unresolved {
    UnknownId,
    EmptyRange,
    MixedRange,
}

impl<'a> Index<'a> {
    /// `ids[i]` is the id of task `i`.
    pub(crate) fn new(ids: impl Iterator<Item = &'a str>) -> Index<'a> {
        let mut sorted: Vec<(IdKey, &str, usize)> = ids
            .enumerate()
            .map(|(i, id)| (IdKey::parse(id), id, i))
            .collect();
        sorted.sort_unstable_by_key(|&(key, _, i)| (key, i));
        Index { sorted }
    }

    fn span(&self, lo: &IdKey, hi: &IdKey) -> &[(IdKey, &'a str, usize)] {
        let start = self
            .sorted
            .partition_point(|(k, _, _)| k.cmp(lo) == Ordering::Less);
        let end = self
            .sorted
            .partition_point(|(k, _, _)| k.cmp(hi) != Ordering::Greater);
        &self.sorted[start..end.max(start)]
    }

    /// Appends the task indices a reference names to `out` (possibly including the referring
    /// task; the caller drops self-edges).
    pub(crate) fn resolve_into(&self, r: &Ref, out: &mut Vec<usize>) -> Result<(), Unresolved> {
        let before = out.len();
        match r {
            Ref::One(id) => {
                let key = IdKey::parse(id);
                out.extend(
                    self.span(&key, &key)
                        .iter()
                        .filter(|(_, s, _)| *s == id.as_str())
                        .map(|&(_, _, i)| i),
                );
                if out.len() == before {
                    Err(Unresolved::UnknownId)
                } else {
                    Ok(())
                }
            }
            Ref::Range(a, b) => {
                let (mut lo, mut hi) = (IdKey::parse(a), IdKey::parse(b));
                if lo.prefix != hi.prefix {
                    return Err(Unresolved::MixedRange);
                }
                if lo > hi {
                    std::mem::swap(&mut lo, &mut hi);
                }
                out.extend(self.span(&lo, &hi).iter().map(|&(_, _, i)| i));
                if out.len() == before {
                    Err(Unresolved::EmptyRange)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The task indices a reference names, as a new vector.
    #[cfg(test)]
    pub(crate) fn resolve(&self, r: &Ref) -> Result<Vec<usize>, Unresolved> {
        let mut out = Vec::new();
        self.resolve_into(r, &mut out).map(|()| out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> Ref {
        Ref::One(s.into())
    }
    fn range(a: &str, b: &str) -> Ref {
        Ref::Range(a.into(), b.into())
    }

    #[test]
    fn finds_ids_and_ranges() {
        assert_eq!(
            refs("T009, T010, T011"),
            vec![one("T009"), one("T010"), one("T011")]
        );
        assert_eq!(refs("T009–T015"), vec![range("T009", "T015")]);
        assert_eq!(
            refs("T004-T015, T008"),
            vec![range("T004", "T015"), one("T008")]
        );
        assert_eq!(refs("T1.18 - T1.45"), vec![range("T1.18", "T1.45")]);
        assert_eq!(refs("T011d-e (HIGH)"), vec![range("T011d", "T011e")]);
        assert_eq!(refs("after T004/T005"), vec![one("T004"), one("T005")]);
        assert_eq!(
            refs("`006-roslyn-T001-tooling` US1 FR-029 CTOR001 TXXX"),
            vec![]
        );
    }

    #[test]
    fn relations_in_prose() {
        assert_eq!(
            relations("- T008 blocks T009, T015"),
            vec![(vec![one("T009"), one("T015")], vec![one("T008")])]
        );
        assert_eq!(
            relations("- Tests (T004-T007) before implementation (T008-T014)"),
            vec![(vec![range("T008", "T014")], vec![range("T004", "T007")])]
        );
        assert_eq!(
            relations("- T045 after T040-T044 (refs)"),
            vec![(vec![one("T045")], vec![range("T040", "T044")])]
        );
        assert_eq!(
            relations("- T031 depends on T029, T030 (x)"),
            vec![(vec![one("T031")], vec![one("T029"), one("T030")])]
        );
        assert_eq!(
            relations("- T004 before T005; T005 expected to fail"),
            vec![(vec![one("T005")], vec![one("T004")])]
        );
        assert_eq!(
            relations("- T007-T010 は T004 のコンポーネントに依存"),
            vec![(vec![range("T007", "T010")], vec![one("T004")])]
        );
        assert_eq!(
            relations("T035 依赖 T034"),
            vec![(vec![one("T035")], vec![one("T034")])]
        );
        assert!(relations("- T009 blocks nothing (can proceed)").is_empty());
        assert!(relations("- Implementation before polish (T019-T023)").is_empty());
        assert!(relations("- T017 and T016 are independent once T012 is done").is_empty());
    }

    #[test]
    fn fields() {
        assert_eq!(
            field_value("  - **Dependencies**: T001 (ShellType), T003"),
            Some("T001 (ShellType), T003")
        );
        assert_eq!(field_value("- Dependencies: none"), Some("none"));
        assert_eq!(
            field_value(
                "**Priority**: High | **Dependencies**: Tasks 6-8 | **Estimated**: 2 hours"
            ),
            Some("Tasks 6-8")
        );
        assert_eq!(field_value("- Path: x"), None);
        assert!(is_none_value("None (can run parallel with T001)"));
        assert!(is_none_value("none"));
        assert!(!is_none_value("T001"));
        assert!(!is_none_value("Nonexistent T001"));
    }

    #[test]
    fn ranges_resolve_in_id_order() {
        let ids = [
            "T011", "T011b", "T012", "T011a", "T020", "T1.2", "T1.10", "A001",
        ];
        let idx = Index::new(ids.iter().copied());
        assert_eq!(idx.resolve(&range("T011", "T012")), Ok(vec![0, 3, 1, 2]));
        assert_eq!(idx.resolve(&range("T011a", "T011b")), Ok(vec![3, 1]));
        assert_eq!(
            idx.resolve(&range("T013", "T019")),
            Err(Unresolved::EmptyRange)
        );
        assert_eq!(idx.resolve(&range("T1.1", "T1.16")), Ok(vec![5, 6]));
        assert_eq!(idx.resolve(&range("T020", "T012")), Ok(vec![2, 4]));
        assert_eq!(
            idx.resolve(&range("A001", "T012")),
            Err(Unresolved::MixedRange)
        );
        assert_eq!(idx.resolve(&one("T404")), Err(Unresolved::UnknownId));
    }
}
