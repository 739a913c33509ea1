//! The plan hash: SHA-256 over a canonical JSON form of everything that decides the plan.
//!
//! The canonical form is a struct (fixed field order), holds no maps, no line numbers, no paths
//! of this machine and no time; task text is normalized (line endings, trailing blanks) so that
//! re-saving tasks.md with another editor does not change the hash.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{Fallback, Strategy};
use crate::ids::{PlanHash, Seed};
use crate::tasks::{Status, Task};

#[derive(Serialize)]
struct Canonical<'a> {
    planner_version: u32,
    strategy: Strategy,
    seed: Seed,
    fallback: Option<&'a Fallback>,
    tasks: Vec<CanonicalTask<'a>>,
}

#[derive(Serialize)]
struct CanonicalTask<'a> {
    key: &'a str,
    id: &'a str,
    title: String,
    text: String,
    status: Status,
    parallel: bool,
    story: Option<&'a str>,
    phase: Vec<String>,
    files: &'a [String],
    depends_on: &'a [String],
}

/// The hash of a plan's inputs, `tasks` in file order.
pub fn plan_hash(
    planner_version: u32,
    strategy: Strategy,
    seed: Seed,
    fallback: Option<&Fallback>,
    tasks: &[Task],
) -> PlanHash {
    let canonical = Canonical {
        planner_version,
        strategy,
        seed,
        fallback,
        tasks: tasks
            .iter()
            .map(|t| CanonicalTask {
                key: &t.key,
                id: &t.id,
                title: normalize(&t.title),
                text: normalize(&t.text),
                status: t.status,
                parallel: t.parallel,
                story: t.story.as_deref(),
                phase: t.phase.iter().map(|p| normalize(p)).collect(),
                files: &t.files,
                depends_on: &t.depends_on,
            })
            .collect(),
    };
    let bytes = serde_json::to_vec(&canonical).expect("plain structs always serialize");
    PlanHash::from_digest(&Sha256::digest(&bytes))
}

/// LF line endings, no trailing white space on any line, no trailing blank lines.
fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.split('\n') {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_folds_line_endings_and_trailing_space() {
        assert_eq!(normalize("a  \r\nb\t\r\n\r\n"), "a\nb");
        assert_eq!(normalize("a\nb"), normalize("a\r\nb  "));
    }
}
