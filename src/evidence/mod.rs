//! Evidence of a run for reviewers: `summary.json`, and the change workspace's managed sections
//! in `impact.md` and `docs/IMPLEMENTATION_PLAN.md`.

pub mod build;
pub mod sections;
pub mod summary;
