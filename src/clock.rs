//! The clock, at the edge: everything else takes times as values.

use jiff::Timestamp;

/// Now, as RFC 3339 UTC with millisecond precision (`2026-11-24T10:15:00.123Z`).
pub fn now_rfc3339() -> String {
    fmt_rfc3339(Timestamp::now())
}

/// `t` as the audit logs and summaries record times: RFC 3339, UTC, milliseconds.
pub fn fmt_rfc3339(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Now, compact for run ids (`20261124T101500Z`).
pub fn now_compact() -> String {
    Timestamp::now().strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// 16 bits that differ between processes started in the same second (time, pid and an address
/// mixed through SplitMix64's finalizer). Uniqueness, not secrecy, is what run ids need.
pub fn run_suffix() -> u16 {
    let nanos = Timestamp::now().as_nanosecond() as u64;
    let local = 0u8;
    let addr = &local as *const u8 as u64;
    let mut z = nanos ^ (u64::from(std::process::id()) << 32) ^ addr.rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) as u16
}

/// Now, as a timestamp with millisecond precision (what the audit logs record).
pub fn now() -> Timestamp {
    let t = Timestamp::now();
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}
