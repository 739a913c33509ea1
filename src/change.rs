//! Which change a command is about: `--change`, else the current branch name, else the only
//! change folder. Pure: the caller gathers the branch name and the folder names.

use thiserror::Error;

use crate::ids::{ChangeId, ChangeIdError, ChangePattern};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ResolveError {
    #[error("invalid change id: {0}")]
    Invalid(#[from] ChangeIdError),
    #[error("cannot tell which change to use: {0}")]
    Ambiguous(String),
}

/// Resolve the change. `branch` is the current branch's short name (if any); `folders` are the
/// entries of the changes folder (any order; only those matching the pattern count).
pub fn resolve_change(
    explicit: Option<&str>,
    branch: Option<&str>,
    folders: &[String],
    pattern: &ChangePattern,
) -> Result<ChangeId, ResolveError> {
    if let Some(raw) = explicit {
        return Ok(ChangeId::parse(raw, pattern)?);
    }
    if let Some(found) = branch.and_then(|b| pattern.find_in(b)) {
        return Ok(ChangeId::parse(found, pattern)?);
    }
    let mut candidates: Vec<&String> = folders
        .iter()
        .filter(|f| pattern.matches_whole(f))
        .collect();
    candidates.sort();
    let on = branch.map_or("a detached HEAD".to_string(), |b| format!("branch `{b}`"));
    match candidates.as_slice() {
        [only] => Ok(ChangeId::parse(only, pattern)?),
        [] => Err(ResolveError::Ambiguous(format!(
            "{on} names no change (pattern `{}`) and there is no change folder",
            pattern.as_str()
        ))),
        many => Err(ResolveError::Ambiguous(format!(
            "{on} names no change and there are {} change folders ({})",
            many.len(),
            many.iter()
                .take(5)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(e: Option<&str>, b: Option<&str>, f: &[&str]) -> Result<String, ResolveError> {
        let folders: Vec<String> = f.iter().map(|s| s.to_string()).collect();
        resolve_change(e, b, &folders, &ChangePattern::default()).map(|c| c.to_string())
    }

    #[test]
    fn explicit_wins_then_branch_then_only_folder() {
        assert_eq!(
            resolve(Some("CH-9"), Some("CH-1"), &["CH-2"]).unwrap(),
            "CH-9"
        );
        assert_eq!(
            resolve(None, Some("change/CH-1-x"), &["CH-2"]).unwrap(),
            "CH-1"
        );
        assert_eq!(
            resolve(None, Some("main"), &["CH-2", "notes"]).unwrap(),
            "CH-2"
        );
    }

    #[test]
    fn ambiguity_and_bad_ids_are_errors() {
        assert!(matches!(
            resolve(None, Some("main"), &["CH-1", "CH-2"]),
            Err(ResolveError::Ambiguous(_))
        ));
        assert!(matches!(
            resolve(None, None, &[]),
            Err(ResolveError::Ambiguous(_))
        ));
        assert!(matches!(
            resolve(Some("../x"), None, &[]),
            Err(ResolveError::Invalid(ChangeIdError::Unsafe(..)))
        ));
    }
}
