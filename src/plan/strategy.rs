//! Planning strategies and their names as users type them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How the planner orders tasks. Every strategy honours explicit dependencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Phases in file order; dependencies as a topological order; the seed orders runs of `[P]`
    /// tasks that are free at the same moment; otherwise document order.
    #[default]
    SpecLike,
    /// Document order, moved only where a dependency demands it. The seed is not used.
    Document,
    /// Tasks grouped by the first file they name (groups in order of first appearance), document
    /// order inside a group, dependencies honoured. The seed is not used.
    ByFile,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Strategy::SpecLike, Strategy::Document, Strategy::ByFile];

    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::SpecLike => "spec-like",
            Strategy::Document => "document",
            Strategy::ByFile => "by-file",
        }
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Strategy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Strategy::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| {
                format!("unknown strategy {s:?}; expected one of: spec-like, document, by-file")
            })
    }
}
