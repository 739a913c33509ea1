//! Paths as the file system and git see them — bytes, not necessarily UTF-8 — and their one
//! lossless JSON form, used by every `--json` output, the run state, `summary.json`, per-task
//! evidence and the audit logs.
//!
//! In JSON a path is a **string** when it is valid UTF-8 (nearly always), else an **object**
//! `{"lossy": "caf\u{fffd}.txt", "bytes": [99, 97, 102, 233, 46, 116, 120, 116]}`: the exact
//! bytes, and a form to show. The JSON type alone tells the two apart, so nothing is ambiguous
//! and nothing is lost; reading accepts both.

use std::borrow::Cow;
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A path or file name, byte-exact.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct BytePath(Vec<u8>);

impl BytePath {
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        BytePath(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn as_path(&self) -> &Path {
        Path::new(OsStr::from_bytes(&self.0))
    }

    /// For people: invalid UTF-8 shown as U+FFFD.
    pub fn lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl fmt::Display for BytePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.lossy())
    }
}

impl fmt::Debug for BytePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.lossy())
    }
}

impl From<&str> for BytePath {
    fn from(s: &str) -> Self {
        BytePath(s.as_bytes().to_vec())
    }
}

impl From<String> for BytePath {
    fn from(s: String) -> Self {
        BytePath(s.into_bytes())
    }
}

impl From<&Path> for BytePath {
    fn from(p: &Path) -> Self {
        BytePath(p.as_os_str().as_bytes().to_vec())
    }
}

impl From<PathBuf> for BytePath {
    fn from(p: PathBuf) -> Self {
        BytePath(p.into_os_string().into_vec())
    }
}

impl From<BytePath> for PathBuf {
    fn from(p: BytePath) -> Self {
        PathBuf::from(<std::ffi::OsString as OsStringExt>::from_vec(p.0))
    }
}

/// Write `bytes` as a JSON path (see the module docs). Never fails.
fn serialize_bytes<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => s.serialize_str(text),
        Err(_) => {
            #[derive(Serialize)]
            struct NotUtf8<'a> {
                lossy: Cow<'a, str>,
                bytes: &'a [u8],
            }
            NotUtf8 {
                lossy: String::from_utf8_lossy(bytes),
                bytes,
            }
            .serialize(s)
        }
    }
}

/// What a JSON path may be.
#[derive(Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Bytes { bytes: Vec<u8> },
}

impl Serialize for BytePath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_bytes(&self.0, s)
    }
}

impl<'de> Deserialize<'de> for BytePath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Repr::deserialize(d)? {
            Repr::Text(s) => BytePath(s.into_bytes()),
            Repr::Bytes { bytes } => BytePath(bytes),
        })
    }
}

/// `#[serde(with = "crate::paths::json")]` for a `PathBuf` field: the same lossless form (serde's
/// own refuses a non-UTF-8 `PathBuf`, which would make a repository under such a folder unusable).
pub mod json {
    use super::*;

    pub fn serialize<S: Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
        serialize_bytes(p.as_os_str().as_bytes(), s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        BytePath::deserialize(d).map(PathBuf::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_a_plain_string_and_reads_back() {
        let p = BytePath::from("src/été.rs");
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v, serde_json::json!("src/été.rs"));
        assert_eq!(serde_json::from_value::<BytePath>(v).unwrap(), p);
    }

    #[test]
    fn non_utf8_is_an_object_with_exact_bytes_and_reads_back() {
        let p = BytePath::from_bytes(b"caf\xe9.txt".to_vec());
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(v["lossy"], "caf\u{fffd}.txt");
        assert_eq!(
            v["bytes"],
            serde_json::json!([99, 97, 102, 233, 46, 116, 120, 116])
        );
        assert_eq!(serde_json::from_value::<BytePath>(v).unwrap(), p);
        assert_eq!(p.to_string(), "caf\u{fffd}.txt");
    }

    #[test]
    fn pathbuf_fields_round_trip_even_when_not_utf8() {
        #[derive(Serialize, Deserialize, PartialEq, Debug)]
        struct S {
            #[serde(with = "json")]
            p: PathBuf,
        }
        for raw in [&b"/tmp/plain"[..], b"/tmp/\xff\xfe/x"] {
            let s = S {
                p: BytePath::from_bytes(raw.to_vec()).into(),
            };
            let text = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<S>(&text).unwrap(), s);
        }
    }

    #[test]
    fn anything_else_is_refused_not_guessed() {
        for bad in [
            serde_json::json!(42),
            serde_json::json!({"lossy": "x"}),
            serde_json::json!({"bytes": [256]}),
        ] {
            assert!(serde_json::from_value::<BytePath>(bad).is_err());
        }
    }
}
