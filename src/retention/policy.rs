//! The retention policy as the decision function sees it: plain values taken from the
//! `[retention]` section (or `configs/retention.yaml`, mapped onto the same struct). No
//! `[retention]` section means no policy at all: keep every run, decide nothing.

use jiff::SignedDuration;

use crate::config::Retention;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// How long a succeeded, fully approved (or closed) run is kept after it became eligible.
    pub success_ttl: SignedDuration,
    /// How long after a run finished a failed, aborted or unapproved run gets a review.
    pub failed_review_after: SignedDuration,
    /// Roles whose approval a succeeded run needs before it may be purged (sorted, unique).
    pub required: Vec<String>,
    /// Roles that may close a failed or aborted run (`approve --decision close`).
    pub finalizers: Vec<String>,
    /// Purge-eligible runs kept per change, newest first.
    pub keep_last: u32,
    /// Keep `summary.json` when a run's artifacts are purged.
    pub keep_summary: bool,
}

impl Policy {
    pub fn from_config(r: &Retention) -> Policy {
        let roles = |v: &[crate::config::Role]| {
            let mut out: Vec<String> = v.iter().map(|r| r.as_str().to_string()).collect();
            out.sort();
            out.dedup();
            out
        };
        Policy {
            success_ttl: signed(r.success_ttl.as_duration()),
            failed_review_after: signed(r.failed_review_after.as_duration()),
            required: roles(&r.required_approvals),
            finalizers: roles(&r.finalizers),
            keep_last: r.keep_last,
            keep_summary: r.keep_summary,
        }
    }

    /// A role the policy names (it may approve).
    pub fn knows_role(&self, role: &str) -> bool {
        self.required.iter().any(|r| r == role) || self.finalizers.iter().any(|r| r == role)
    }

    pub fn may_finalize(&self, role: &str) -> bool {
        self.finalizers.iter().any(|r| r == role)
    }

    /// A duration as the config writes it (`7d`, `12h`, `0`).
    pub fn show(d: SignedDuration) -> String {
        crate::config::Span(d.unsigned_abs()).to_string()
    }

    /// Every role the policy names, for messages.
    pub fn roles(&self) -> Vec<String> {
        let mut all: Vec<String> = self
            .required
            .iter()
            .chain(&self.finalizers)
            .cloned()
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// Config durations are at most 100 years, far inside `SignedDuration`'s range.
fn signed(d: std::time::Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// `t + d`, or `None` past the end of time (then the moment never comes: fail closed).
pub fn add(t: jiff::Timestamp, d: SignedDuration) -> Option<jiff::Timestamp> {
    t.checked_add(d).ok()
}

/// A recorded timestamp (RFC 3339). `None` when it does not parse.
pub fn parse_ts(s: &str) -> Option<jiff::Timestamp> {
    s.parse::<jiff::Timestamp>().ok()
}

/// RFC 3339 UTC with milliseconds, as the audit logs write times (`2026-11-24T10:15:00.000Z`).
pub fn fmt_ts(t: jiff::Timestamp) -> String {
    crate::clock::fmt_rfc3339(t)
}

/// `--now` and `--until`: RFC 3339 (`2026-12-31T18:00:00Z`, offsets allowed) or a date
/// (`2026-12-31`). `end_of_day` decides what a bare date means: the end of that day (UTC) for
/// `--until` ("retain until the 31st" keeps it through the 31st), its start for `--now`.
pub fn parse_when(s: &str, end_of_day: bool) -> Result<jiff::Timestamp, String> {
    let t = s.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    if let Ok(date) = t.parse::<jiff::civil::Date>() {
        let day = date
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .map_err(|e| format!("{t:?}: {e}"))?
            .timestamp();
        return if end_of_day {
            add(day, SignedDuration::from_hours(24)).ok_or_else(|| format!("{t:?} is too late"))
        } else {
            Ok(day)
        };
    }
    Err(format!(
        "{t:?} is not a time: write RFC 3339 like 2026-12-31T18:00:00Z, or a date like 2026-12-31"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_from_config_sorts_roles_and_knows_finalizers() {
        let p = Policy::from_config(&Retention::default());
        assert_eq!(p.required, ["GO", "PM", "QA"]);
        assert!(p.knows_role("HR") && p.may_finalize("GO") && !p.may_finalize("PM"));
        assert!(!p.knows_role("CEO"));
        assert_eq!(p.success_ttl, SignedDuration::from_hours(7 * 24));
    }

    #[test]
    fn times_parse_as_rfc3339_or_dates() {
        let ts = parse_when("2026-12-31T18:00:00Z", false).unwrap();
        assert_eq!(fmt_ts(ts), "2026-12-31T18:00:00.000Z");
        assert_eq!(
            fmt_ts(parse_when("2026-12-31", true).unwrap()),
            "2027-01-01T00:00:00.000Z"
        );
        assert_eq!(
            fmt_ts(parse_when("2026-12-31", false).unwrap()),
            "2026-12-31T00:00:00.000Z"
        );
        assert_eq!(
            fmt_ts(parse_when("2026-12-31T20:00:00+02:00", false).unwrap()),
            "2026-12-31T18:00:00.000Z"
        );
        assert!(parse_when("yesterday", false).is_err());
        assert!(parse_when("2026-13-01", false).is_err());
    }
}
