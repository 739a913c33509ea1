//! One audit line: the hashes that chain lines, encoding an event into its exact bytes (writer),
//! and parsing a line's envelope back (tail check, `verify`). The format itself is specified in
//! the module docs of `audit`; this file is its only implementation, so writer and verifier
//! cannot drift apart.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::AuditError;

/// Longest line the writer produces and the verifier accepts, `\n` included. A bound keeps a
/// corrupt file (say, gigabytes without a newline) from being read into memory as one line.
pub const MAX_LINE_BYTES: usize = 8 << 20;

/// How deep event fields may nest. `serde_json` refuses to parse deeper than 128 levels, so a
/// deeper event would be written but could never be verified.
const MAX_DEPTH: usize = 64;

/// The four keys every line starts with, in this order; fields may not reuse them.
const ENVELOPE_KEYS: [&str; 4] = ["seq", "prev", "ts", "event"];

const HASH_PREFIX: &str = "sha256:";

/// A SHA-256 digest, written `sha256:<64 lowercase hex>` in lines, reports and `Head`s.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LineHash([u8; 32]);

impl LineHash {
    /// The hash of `bytes` — for a line, its exact bytes including the trailing `\n`.
    pub fn of(bytes: &[u8]) -> Self {
        LineHash(Sha256::digest(bytes).into())
    }

    /// The `prev` of line 1 of the log called `log_name`: SHA-256 of the ASCII bytes
    /// `git-microloop audit genesis <log_name>`. Distinct per log, so a line cannot be carried
    /// from one log into another.
    pub fn genesis(log_name: &str) -> Self {
        Self::of(format!("git-microloop audit genesis {log_name}").as_bytes())
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, without the `sha256:` prefix (what `sha256sum` prints).
    pub fn to_hex(&self) -> String {
        let mut out = [0u8; 64];
        self.write_hex(&mut out);
        out.iter().map(|&b| char::from(b)).collect()
    }

    fn write_hex(&self, out: &mut [u8; 64]) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = DIGITS[usize::from(byte >> 4)];
            out[2 * i + 1] = DIGITS[usize::from(byte & 0x0f)];
        }
    }

    /// Exactly 64 lowercase hex digits; uppercase is refused so a hash has one spelling.
    pub(crate) fn from_hex(hex: &[u8]) -> Option<Self> {
        fn nibble(c: u8) -> Option<u8> {
            match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            }
        }
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
        }
        Some(LineHash(out))
    }
}

impl fmt::Display for LineHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HASH_PREFIX}{}", self.to_hex())
    }
}

impl fmt::Debug for LineHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A string that is not `sha256:` + 64 lowercase hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a line hash (expected `sha256:` and 64 lowercase hex digits): {0:?}")]
pub struct ParseHashError(pub String);

impl FromStr for LineHash {
    type Err = ParseHashError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.strip_prefix(HASH_PREFIX)
            .and_then(|hex| Self::from_hex(hex.as_bytes()))
            .ok_or_else(|| ParseHashError(s.to_owned()))
    }
}

impl Serialize for LineHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for LineHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Where a log ends: the last line's `seq` and the hash of its bytes. The next line's `prev` is
/// `hash`. An empty log's head is `seq` 0 with the genesis hash. Callers anchor a head elsewhere
/// (summary.json, a commit) so that cutting or rewriting the tail is caught by `verify`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: u64,
    pub hash: LineHash,
}

impl Head {
    /// The head of an empty log called `log_name`.
    pub fn empty(log_name: &str) -> Self {
        Head {
            seq: 0,
            hash: LineHash::genesis(log_name),
        }
    }
}

/// Log names go into the genesis string and into error messages: keep them shell-friendly.
pub(crate) fn check_log_name(name: &str) -> Result<(), AuditError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(AuditError::BadLogName(name.to_owned()))
    }
}

fn check_event_name(name: &str) -> Result<(), AuditError> {
    let mut bytes = name.bytes();
    let ok = name.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AuditError::BadEventName(name.to_owned()))
    }
}

/// RFC 3339 in UTC, spelled one way: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. The shape is checked
/// by hand because jiff's parser also takes ISO 8601 variants (a space for `T`, offsets); jiff
/// then checks the values (month 13, February 30).
fn check_ts(ts: &str) -> Result<(), AuditError> {
    let bad = || AuditError::BadTimestamp(ts.to_owned());
    let b = ts.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let shape = b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b.last() == Some(&b'Z');
    if !shape {
        return Err(bad());
    }
    // Between the seconds and the `Z`: nothing, or `.` and 1 to 9 digits.
    let fraction_ok = match &b[19..b.len() - 1] {
        [] => true,
        [b'.', rest @ ..] => (1..=9).contains(&rest.len()) && rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !fraction_ok {
        return Err(bad());
    }
    ts.parse::<jiff::Timestamp>().map(|_| ()).map_err(|_| bad())
}

/// Everything of a line after `{"seq":N,"prev":"…"`: `,"ts":…,"event":…,<fields>}\n`. It does
/// not depend on the line's place in the chain, so it is built and checked before the log is
/// locked or touched.
pub(crate) fn encode_body(event: &str, fields: &Value, ts: &str) -> Result<Vec<u8>, AuditError> {
    check_event_name(event)?;
    check_ts(ts)?;
    let map = match fields {
        Value::Object(map) => map,
        Value::Null => &serde_json::Map::new(),
        other => {
            return Err(AuditError::BadFields(format!(
                "expected a JSON object, got {}",
                kind_of(other)
            )));
        }
    };
    if let Some(key) = ENVELOPE_KEYS.iter().find(|k| map.contains_key(**k)) {
        return Err(AuditError::BadFields(format!(
            "`{key}` is part of every line's envelope and cannot be an event field"
        )));
    }
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b",\"ts\":\"");
    out.extend_from_slice(ts.as_bytes());
    out.extend_from_slice(b"\",\"event\":\"");
    out.extend_from_slice(event.as_bytes());
    out.push(b'"');
    for (key, value) in sorted(map) {
        out.push(b',');
        write_json(&mut out, &Value::String(key.clone()), 0)?;
        out.push(b':');
        write_json(&mut out, value, 1)?;
    }
    out.extend_from_slice(b"}\n");
    Ok(out)
}

/// The whole line: envelope head plus a body from `encode_body`.
pub(crate) fn assemble(seq: u64, prev: &LineHash, body: &[u8]) -> Result<Vec<u8>, AuditError> {
    let mut line = Vec::with_capacity(96 + body.len());
    line.extend_from_slice(b"{\"seq\":");
    line.extend_from_slice(seq.to_string().as_bytes());
    line.extend_from_slice(b",\"prev\":\"sha256:");
    let mut hex = [0u8; 64];
    prev.write_hex(&mut hex);
    line.extend_from_slice(&hex);
    line.push(b'"');
    line.extend_from_slice(body);
    if line.len() > MAX_LINE_BYTES {
        return Err(AuditError::LineTooLong {
            len: line.len(),
            max: MAX_LINE_BYTES,
        });
    }
    Ok(line)
}

/// The exact bytes (with `\n`) of line `seq` following a line whose hash is `prev`. Public so
/// tools and benchmarks can build chains in bulk with the writer's own encoding.
pub fn encode_line(
    seq: u64,
    prev: &LineHash,
    event: &str,
    fields: &Value,
    ts: &str,
) -> Result<Vec<u8>, AuditError> {
    assemble(seq, prev, &encode_body(event, fields, ts)?)
}

fn sorted(map: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    // Sorted here rather than trusting the map's order: with serde_json's `preserve_order`
    // feature (which any crate in the build may switch on) a Map keeps insertion order.
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Compact JSON with object keys sorted at every level.
fn write_json(out: &mut Vec<u8>, value: &Value, depth: usize) -> Result<(), AuditError> {
    if depth > MAX_DEPTH {
        return Err(AuditError::BadFields(format!(
            "nested deeper than {MAX_DEPTH} levels"
        )));
    }
    match value {
        Value::Object(map) => {
            out.push(b'{');
            for (i, (key, v)) in sorted(map).into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, &Value::String(key.clone()), depth + 1)?;
                out.push(b':');
                write_json(out, v, depth + 1)?;
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json(out, v, depth + 1)?;
            }
            out.push(b']');
        }
        scalar => serde_json::to_writer(&mut *out, scalar)
            .map_err(|e| AuditError::BadFields(e.to_string()))?,
    }
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The chain fields of a line that has the audit shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Envelope {
    pub seq: u64,
    pub prev: LineHash,
}

/// What the serde pass checks: the whole line is one JSON object, the envelope keys are present
/// once each (serde_derive refuses duplicates) with the right types. Other keys are skipped
/// without allocating. `&str` refuses escaped strings, which the writer never produces here.
#[derive(Deserialize)]
struct Shape<'a> {
    seq: u64,
    #[serde(borrow)]
    prev: &'a str,
    #[serde(borrow)]
    ts: &'a str,
    #[serde(borrow)]
    event: &'a str,
}

/// Parse one line (`line` without its `\n`). Checks, in order: the bytes start
/// `{"seq":<digits>,"prev":"sha256:<64 lowercase hex>","ts":"`, the line is a single valid JSON
/// object ending in `}` with `seq`, `prev`, `ts`, `event` each present once, `ts` and `event`
/// unescaped strings, and `event` directly after `ts`. Field values are not checked.
pub(crate) fn parse_line(line: &[u8]) -> Result<Envelope, String> {
    let rest = line
        .strip_prefix(b"{\"seq\":")
        .ok_or("does not start with `{\"seq\":`")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = rest[digits..]
        .strip_prefix(b",\"prev\":\"sha256:")
        .ok_or("`seq` is not followed by `,\"prev\":\"sha256:`")?;
    let prev = rest
        .get(..64)
        .and_then(LineHash::from_hex)
        .ok_or("`prev` is not `sha256:` and 64 lowercase hex digits")?;
    let rest = rest[64..]
        .strip_prefix(b"\",\"ts\":\"")
        .ok_or("`prev` is not followed by `,\"ts\":`")?;
    if line.last() != Some(&b'}') {
        return Err("does not end with `}`".into());
    }
    let shape: Shape<'_> = serde_json::from_slice(line).map_err(|e| format!("{e}"))?;
    // `ts` is unescaped, so its raw length is its string length and `event` must come next.
    let after_ts = rest.get(shape.ts.len()..).unwrap_or_default();
    if !after_ts.starts_with(b"\",\"event\":\"") {
        return Err("`ts` is not followed by `,\"event\":`".into());
    }
    if shape.prev.len() != HASH_PREFIX.len() + 64 || shape.event.is_empty() {
        return Err("malformed `prev` or empty `event`".into());
    }
    Ok(Envelope {
        seq: shape.seq,
        prev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TS: &str = "2026-11-24T10:15:00.123Z";

    #[test]
    fn genesis_is_sha256_of_the_documented_string() {
        // printf '%s' 'git-microloop audit genesis implementer_runs' | sha256sum
        let g = LineHash::genesis("implementer_runs");
        assert_eq!(
            g,
            LineHash::of(b"git-microloop audit genesis implementer_runs")
        );
        assert_ne!(g, LineHash::genesis("retention"));
        assert_eq!(g.to_string().parse::<LineHash>(), Ok(g));
    }

    #[test]
    fn line_has_fixed_envelope_then_sorted_fields() {
        let prev = LineHash::genesis("t");
        let fields = json!({"zeta": 1, "alpha": {"b": 2, "a": [true, null]}, "mid": "x\ny"});
        let line = encode_line(1, &prev, "run_started", &fields, TS).unwrap();
        let expected = format!(
            "{{\"seq\":1,\"prev\":\"{prev}\",\"ts\":\"{TS}\",\"event\":\"run_started\",\
             \"alpha\":{{\"a\":[true,null],\"b\":2}},\"mid\":\"x\\ny\",\"zeta\":1}}\n"
        );
        assert_eq!(String::from_utf8(line.clone()).unwrap(), expected);
        let env = parse_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(env, Envelope { seq: 1, prev });
    }

    #[test]
    fn bad_arguments_are_refused() {
        let p = LineHash::genesis("t");
        let e = |event: &str, fields: Value, ts: &str| encode_line(1, &p, event, &fields, ts);
        assert!(matches!(
            e("Bad", json!({}), TS),
            Err(AuditError::BadEventName(_))
        ));
        assert!(matches!(
            e("", json!({}), TS),
            Err(AuditError::BadEventName(_))
        ));
        for ts in [
            "2026-11-24 10:15:00Z",
            "2026-11-24T10:15:00+01:00",
            "2026-13-24T10:15:00Z",
            "2026-11-24T10:15:00.Z",
            "2026-11-24T10:15:00.1234567890Z",
            "",
        ] {
            assert!(
                matches!(e("x", json!({}), ts), Err(AuditError::BadTimestamp(_))),
                "{ts}"
            );
        }
        assert!(e("x", json!({}), "2026-11-24T10:15:00Z").is_ok());
        assert!(matches!(
            e("x", json!([1]), TS),
            Err(AuditError::BadFields(_))
        ));
        assert!(matches!(
            e("x", json!({"seq": 1}), TS),
            Err(AuditError::BadFields(_))
        ));
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        assert!(matches!(
            e("x", json!({ "d": deep }), TS),
            Err(AuditError::BadFields(_))
        ));
        let big = "x".repeat(MAX_LINE_BYTES);
        assert!(matches!(
            e("x", json!({ "b": big }), TS),
            Err(AuditError::LineTooLong { .. })
        ));
    }

    #[test]
    fn parse_refuses_lines_off_the_format() {
        let p = LineHash::genesis("t").to_string();
        let good = format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}","event":"e","k":1}}"#);
        assert!(parse_line(good.as_bytes()).is_ok());
        let bad = [
            String::new(),
            format!(r#"{{"prev":"{p}","seq":1,"ts":"{TS}","event":"e"}}"#),
            format!(
                r#"{{"seq":1,"prev":"{}","ts":"{TS}","event":"e"}}"#,
                p.to_uppercase()
            ),
            format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}","event":"e"}} "#),
            format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}","event":"e","seq":2}}"#),
            format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}","k":1,"event":"e"}}"#),
            format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}"}}"#),
            format!(r#"{{"seq":-1,"prev":"{p}","ts":"{TS}","event":"e"}}"#),
            format!(r#"{{"seq":01,"prev":"{p}","ts":"{TS}","event":"e"}}"#),
            format!(r#"{{"seq":1,"prev":"{p}","ts":"{TS}","event":"e","k":}}"#),
        ];
        for line in bad {
            assert!(parse_line(line.as_bytes()).is_err(), "{line}");
        }
    }
}
