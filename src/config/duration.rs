//! Human durations in config files: `0`, `45s`, `30m`, `12h`, `7d`, `2w`, `1d12h`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A validated, non-negative duration of at most 100 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Span(pub Duration);

const MAX_SECS: u64 = 100 * 365 * 24 * 3600;

impl Span {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty duration; write e.g. `7d`, `12h`, `30m`, `45s` or `0`".into());
        }
        if t.starts_with('-') {
            return Err(format!(
                "negative duration `{t}`; durations must be 0 or more"
            ));
        }
        if t == "0" {
            return Ok(Span(Duration::ZERO));
        }
        let mut total: u64 = 0;
        let mut rest = t;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(format!(
                    "bad duration `{t}`; write a number and a unit: `7d`, `12h`, `30m`, `45s`, `250ms`"
                ));
            }
            let n: u64 = rest[..digits]
                .parse()
                .map_err(|_| format!("duration `{t}` is too large (at most 100 years)"))?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            rest = &rest[unit_len..];
            let millis_per: u64 = match unit {
                "ms" => 1,
                "s" => 1_000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                "w" => 7 * 86_400_000,
                "" => return Err(format!("duration `{t}` lacks a unit (s, m, h, d, w or ms)")),
                other => return Err(format!("unknown unit `{other}` in duration `{t}`")),
            };
            total = n
                .checked_mul(millis_per)
                .and_then(|ms| total.checked_add(ms))
                .filter(|ms| *ms / 1000 <= MAX_SECS)
                .ok_or_else(|| format!("duration `{t}` is too large (at most 100 years)"))?;
        }
        Ok(Span(Duration::from_millis(total)))
    }

    pub fn as_duration(&self) -> Duration {
        self.0
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0");
        }
        for (unit, per) in [
            ("d", 86_400_000u128),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
        ] {
            if ms.is_multiple_of(per) {
                return write!(f, "{}{unit}", ms / per);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl<'de> Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Int(0) => Ok(Span(Duration::ZERO)),
            Raw::Int(n) if n < 0 => Err(serde::de::Error::custom(format!(
                "negative duration `{n}`; durations must be 0 or more"
            ))),
            Raw::Int(n) => Err(serde::de::Error::custom(format!(
                "a duration needs a unit: write \"{n}s\", \"{n}m\", \"{n}h\" or \"{n}d\""
            ))),
            Raw::Text(s) => Span::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

impl Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_sums() {
        assert_eq!(Span::parse("0").unwrap().0, Duration::ZERO);
        assert_eq!(Span::parse("45s").unwrap().0, Duration::from_secs(45));
        assert_eq!(Span::parse("7d").unwrap().0, Duration::from_secs(7 * 86400));
        assert_eq!(
            Span::parse("1d12h").unwrap().0,
            Duration::from_secs(36 * 3600)
        );
        assert_eq!(Span::parse("250ms").unwrap().0, Duration::from_millis(250));
    }

    #[test]
    fn refuses_negative_huge_and_unitless() {
        for bad in ["-1d", "99999999999999999999d", "40000d", "7", "7y", "d", ""] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_negative_number_is_called_negative_not_unitless() {
        #[derive(Debug, Deserialize)]
        struct W {
            #[allow(dead_code)]
            d: Span,
        }
        let e = toml::from_str::<W>("d = -5").unwrap_err().to_string();
        assert!(e.contains("negative duration `-5`"), "{e}");
        let e = toml::from_str::<W>("d = 5").unwrap_err().to_string();
        assert!(e.contains("needs a unit"), "{e}");
    }

    #[test]
    fn displays_in_the_largest_whole_unit() {
        assert_eq!(Span::parse("48h").unwrap().to_string(), "2d");
        assert_eq!(Span::parse("90s").unwrap().to_string(), "90s");
    }
}
