//! Types that say what they are: change ids, seeds and plan hashes, validated once at the edge.
//!
//! A `ChangeId` is the only thing that is ever joined into a path template, so its constructor is
//! where path escapes (`..`, `/`, control characters) are refused — before any path exists.

use std::fmt;

use regex::Regex;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A validated change id such as `CH-002` (or `001-login` with a spec-kit pattern).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ChangeId(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ChangeIdError {
    #[error("change id is empty")]
    Empty,
    #[error("change id {0:?} contains {1}")]
    Unsafe(String, &'static str),
    #[error("change id {0:?} does not match the change-id pattern `{1}`")]
    Pattern(String, String),
}

impl ChangeId {
    /// Validate `raw` for safety first, then against the configured pattern (which must match
    /// the whole id).
    pub fn parse(raw: &str, pattern: &ChangePattern) -> Result<Self, ChangeIdError> {
        check_path_safe(raw)?;
        if !pattern.matches_whole(raw) {
            return Err(ChangeIdError::Pattern(
                raw.to_string(),
                pattern.as_str().to_string(),
            ));
        }
        Ok(ChangeId(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Refuse anything that could make a path built from the id leave its folder or confuse a
/// terminal: empty, `.`/`..` components, separators, control characters, a leading `-` (could
/// pass for an option) or `.` (hidden, or a relative component).
fn check_path_safe(raw: &str) -> Result<(), ChangeIdError> {
    if raw.is_empty() {
        return Err(ChangeIdError::Empty);
    }
    let reason = if raw.contains("..") {
        Some("`..`, which could escape its folder")
    } else if raw.contains('/') || raw.contains('\\') {
        Some("a path separator, which could escape its folder")
    } else if raw.chars().any(char::is_control) {
        Some("a control character, which no folder name may hold")
    } else if raw.starts_with('-') {
        Some("a leading `-`, which could pass for an option")
    } else if raw.starts_with('.') {
        Some("a leading `.`, which would hide its folder")
    } else if raw.chars().any(char::is_whitespace) {
        Some("white space, which no folder name may hold")
    } else {
        None
    };
    match reason {
        Some(r) => Err(ChangeIdError::Unsafe(raw.to_string(), r)),
        None => Ok(()),
    }
}

/// Read back from our own files: re-checked for safety (the pattern is not known here).
impl<'de> Deserialize<'de> for ChangeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        check_path_safe(&s).map_err(serde::de::Error::custom)?;
        Ok(ChangeId(s))
    }
}

impl fmt::Display for ChangeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The change-id pattern (a regular expression). Ids must match it whole; branch names are
/// searched for it.
#[derive(Debug, Clone)]
pub struct ChangePattern {
    source: String,
    whole: Regex,
    search: Regex,
}

impl ChangePattern {
    pub const DEFAULT: &'static str = "CH-[0-9]+";

    pub fn new(source: &str) -> Result<Self, regex::Error> {
        // Strip anchors the user may have written; we add our own for whole matches.
        let inner = source.trim_start_matches('^').trim_end_matches('$');
        Ok(ChangePattern {
            source: source.to_string(),
            whole: Regex::new(&format!("^(?:{inner})$"))?,
            search: Regex::new(&format!("(?:{inner})"))?,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn matches_whole(&self, s: &str) -> bool {
        self.whole.is_match(s)
    }

    /// The first change id found inside `s` (e.g. a branch name like `change/CH-002-login`).
    pub fn find_in<'a>(&self, s: &'a str) -> Option<&'a str> {
        self.search.find(s).map(|m| m.as_str())
    }
}

impl Default for ChangePattern {
    fn default() -> Self {
        ChangePattern::new(Self::DEFAULT).expect("the default pattern is a valid regex")
    }
}

impl<'de> Deserialize<'de> for ChangePattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ChangePattern::new(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid change-id pattern: {e}")))
    }
}

/// A run id: `run-<UTC time>-<random hex>`, unique without coordination, safe in ref names and
/// paths.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// A new id from a UTC timestamp (`20261124T101500Z`) and 16 random bits.
    pub fn new(utc_compact: &str, random: u16) -> Self {
        RunId(format!("run-{utc_compact}-{random:04x}"))
    }

    /// Validate an id read from disk, a ref name or the command line.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.starts_with("run-")
            && s.len() <= 64
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        ok.then(|| RunId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The planner seed. Any u64; JSON keeps it exact (serde_json reads u64 losslessly).
pub type Seed = u64;

/// A seed from the command line: a whole number from 0 to 2⁶⁴−1, said in those words (a
/// negative number too, instead of being taken for an option).
pub fn parse_seed(s: &str) -> Result<Seed, String> {
    s.trim()
        .parse()
        .map_err(|_| format!("not a whole number between 0 and {}", Seed::MAX))
}

/// `sha256:` + 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PlanHash(String);

impl PlanHash {
    pub fn from_digest(digest: &[u8]) -> Self {
        let mut s = String::with_capacity(7 + digest.len() * 2);
        s.push_str("sha256:");
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        PlanHash(s)
    }

    /// Accept a hash read back from a trailer or a summary.
    pub fn parse(s: &str) -> Option<Self> {
        let hex = s.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| PlanHash(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> ChangePattern {
        ChangePattern::default()
    }

    #[test]
    fn accepts_plain_change_ids() {
        assert_eq!(ChangeId::parse("CH-002", &p()).unwrap().as_str(), "CH-002");
    }

    #[test]
    fn refuses_path_escapes_before_the_pattern() {
        for bad in [
            "../x", "..", "CH-1/..", "a/b", "a\\b", "CH-1\0", "CH-\n1", "-CH-1", ".CH",
        ] {
            let err = ChangeId::parse(bad, &p()).unwrap_err();
            assert!(matches!(err, ChangeIdError::Unsafe(..)), "{bad:?}: {err}");
        }
        assert_eq!(ChangeId::parse("", &p()), Err(ChangeIdError::Empty));
    }

    #[test]
    fn refuses_ids_outside_the_pattern() {
        assert!(matches!(
            ChangeId::parse("CH-12x", &p()),
            Err(ChangeIdError::Pattern(..))
        ));
        let speckit = ChangePattern::new("^[0-9]{3}-[a-z0-9-]+$").unwrap();
        assert!(ChangeId::parse("001-login", &speckit).is_ok());
    }

    #[test]
    fn finds_change_ids_in_branch_names() {
        assert_eq!(p().find_in("change/CH-002"), Some("CH-002"));
        assert_eq!(p().find_in("CH-002-login"), Some("CH-002"));
        assert_eq!(p().find_in("main"), None);
    }

    #[test]
    fn plan_hash_round_trips() {
        let h = PlanHash::from_digest(&[0xab; 32]);
        assert_eq!(PlanHash::parse(h.as_str()), Some(h.clone()));
        assert_eq!(PlanHash::parse("sha256:xyz"), None);
    }
}
