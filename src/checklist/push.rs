//! Which refs of a push the pre-push hook checks. Pure: the caller reads git's update lines
//! (or pre-commit's environment) and the trailers of the pushed commits; this module decides,
//! per pushed ref, whether it goes out freely or which changes must pass their checklist.

use std::collections::BTreeSet;

use crate::run::locate::RUN_REFS;

/// One line git feeds a pre-push hook: `<local ref> <local sha> <remote ref> <remote sha>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUpdate {
    pub local_ref: String,
    pub local_sha: String,
    pub remote_ref: String,
    pub remote_sha: String,
}

impl PushUpdate {
    /// Parse one line; `None` for a blank line.
    pub fn parse(line: &str) -> Result<Option<PushUpdate>, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        if line.trim().is_empty() {
            return Ok(None);
        }
        let fields: Vec<&str> = line.split(' ').collect();
        let [local_ref, local_sha, remote_ref, remote_sha] = fields.as_slice() else {
            return Err(format!(
                "expected `<local ref> <local sha> <remote ref> <remote sha>`, got {line:?}"
            ));
        };
        for sha in [local_sha, remote_sha] {
            if !is_object_id(sha) {
                return Err(format!("{sha:?} is not an object id (in {line:?})"));
            }
        }
        Ok(Some(PushUpdate {
            local_ref: local_ref.to_string(),
            local_sha: local_sha.to_string(),
            remote_ref: remote_ref.to_string(),
            remote_sha: remote_sha.to_string(),
        }))
    }

    /// The remote ref is being deleted (`git push origin :branch` or `--delete`).
    pub fn is_deletion(&self) -> bool {
        is_zero(&self.local_sha)
    }

    /// The remote ref does not exist yet.
    pub fn is_new(&self) -> bool {
        is_zero(&self.remote_sha)
    }
}

/// Every update of a pre-push hook's standard input; errors carry the line number.
pub fn parse_updates(input: &str) -> Result<Vec<PushUpdate>, String> {
    let mut out = Vec::new();
    for (n, line) in input.lines().enumerate() {
        match PushUpdate::parse(line) {
            Ok(Some(u)) => out.push(u),
            Ok(None) => {}
            Err(e) => return Err(format!("standard input line {}: {e}", n + 1)),
        }
    }
    Ok(out)
}

/// What to do with one pushed ref.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// It goes out unchecked, for this reason.
    Pass(&'static str),
    /// These changes (sorted, distinct) must pass their checklist at the pushed commit.
    Check(Vec<String>),
}

/// Decide for one update that `passes_unseen` did not let through. `named` are the changes
/// the local or remote branch name names; `carried` the `Microloop-Change` values of the
/// commits the push sends.
pub fn scope(named: &[String], carried: &[String]) -> Scope {
    let changes: BTreeSet<&String> = named.iter().chain(carried).collect();
    if changes.is_empty() {
        return Scope::Pass("no change id in its name and no micro-task commits");
    }
    Scope::Check(changes.into_iter().cloned().collect())
}

/// Why an update goes out without looking at its commits, if it does: deletions, refs that
/// are not branches, and run branches.
pub fn passes_unseen(update: &PushUpdate) -> Option<&'static str> {
    if update.is_deletion() {
        return Some("a deletion");
    }
    if !update.remote_ref.starts_with("refs/heads/") {
        return Some("not a branch");
    }
    // Run branches hold a run's commits as evidence (a failed run's, too); sharing them is
    // not a change going out. The change branch they were fast-forwarded into is checked.
    update
        .remote_ref
        .starts_with(RUN_REFS)
        .then_some("a run branch")
}

fn is_object_id(s: &str) -> bool {
    matches!(s.len(), 40 | 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_zero(sha: &str) -> bool {
    sha.bytes().all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const Z: &str = "0000000000000000000000000000000000000000";

    fn up(local: &str, remote_ref: &str, remote: &str) -> PushUpdate {
        PushUpdate {
            local_ref: "refs/heads/x".into(),
            local_sha: local.into(),
            remote_ref: remote_ref.into(),
            remote_sha: remote.into(),
        }
    }

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn parses_git_lines_and_skips_blank_ones() {
        let input = format!("refs/heads/a {A} refs/heads/a {Z}\n\n(delete) {Z} refs/heads/b {A}\n");
        let u = parse_updates(&input).unwrap();
        assert_eq!(u.len(), 2);
        assert!(u[0].is_new() && !u[0].is_deletion());
        assert!(u[1].is_deletion());
        let sha256 = "a".repeat(64);
        assert!(PushUpdate::parse(&format!("HEAD {sha256} refs/heads/a {Z}")).is_ok());
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let e = parse_updates(&format!("refs/heads/a {A} refs/heads/a {Z}\nnonsense\n"));
        assert_eq!(
            e.unwrap_err(),
            "standard input line 2: expected `<local ref> <local sha> <remote ref> <remote sha>`, got \"nonsense\""
        );
        let e = PushUpdate::parse(&format!("refs/heads/a xyz refs/heads/a {Z}")).unwrap_err();
        assert!(e.contains("\"xyz\" is not an object id"), "{e}");
    }

    #[test]
    fn deletions_tags_run_branches_and_unrelated_branches_pass() {
        assert_eq!(
            passes_unseen(&up(Z, "refs/heads/change/CH-001", A)),
            Some("a deletion")
        );
        assert_eq!(
            passes_unseen(&up(A, "refs/tags/v1", Z)),
            Some("not a branch")
        );
        assert_eq!(
            passes_unseen(&up(A, "refs/heads/microloop/CH-001/run-1", Z)),
            Some("a run branch")
        );
        assert_eq!(passes_unseen(&up(A, "refs/heads/feature", Z)), None);
        assert!(matches!(scope(&[], &[]), Scope::Pass(_)));
    }

    #[test]
    fn named_and_carried_changes_are_checked_once_each_in_order() {
        assert_eq!(
            scope(&s(&["CH-002"]), &s(&["CH-003", "CH-002", "CH-001"])),
            Scope::Check(s(&["CH-001", "CH-002", "CH-003"]))
        );
    }
}
