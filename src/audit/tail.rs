//! Reading only the end of a log. Appending must cost the same on a 1 GB log as on an empty one,
//! so the writer never reads forward from the start: it seeks back from the end in chunks to
//! find the last newline (everything after it is a torn write) and the last two complete lines
//! (enough to check that the tail still chains). Every byte read is counted, so tests can prove
//! the "tail only" claim instead of timing it.

use std::io::{self, Read, Seek, SeekFrom};

use super::line::MAX_LINE_BYTES;

/// First backward chunk; doubles up to `MAX_CHUNK` so a long line costs O(its length).
const FIRST_CHUNK: u64 = 4 << 10;
const MAX_CHUNK: u64 = 1 << 20;

/// A complete line near the end of the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TailLine {
    /// Byte offset of the line's first byte.
    pub offset: u64,
    /// The line's bytes including its `\n`.
    pub bytes: Vec<u8>,
}

/// The end of a log as the writer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tail {
    /// Length of the log up to and including its last `\n`; bytes after it are torn.
    pub complete_len: u64,
    /// The last complete line and the one before it, when they exist.
    pub last: Option<TailLine>,
    pub before_last: Option<TailLine>,
}

/// A reader that counts what it reads.
pub(crate) struct Counted<'a, R> {
    inner: &'a mut R,
    pub bytes_read: u64,
}

impl<'a, R: Read + Seek> Counted<'a, R> {
    pub fn new(inner: &'a mut R) -> Self {
        Counted {
            inner,
            bytes_read: 0,
        }
    }

    fn read_range(&mut self, start: u64, buf: &mut [u8]) -> io::Result<()> {
        self.inner.seek(SeekFrom::Start(start))?;
        self.inner.read_exact(buf)?;
        self.bytes_read += buf.len() as u64;
        Ok(())
    }

    /// Offset of the last `\n` in `[floor, end)`, scanning backwards and keeping nothing.
    fn last_newline(&mut self, floor: u64, end: u64) -> io::Result<Option<u64>> {
        let mut hi = end;
        let mut chunk = FIRST_CHUNK;
        let mut buf = Vec::new();
        while hi > floor {
            let lo = hi.saturating_sub(chunk).max(floor);
            buf.resize(usize::try_from(hi - lo).unwrap_or(usize::MAX), 0);
            self.read_range(lo, &mut buf)?;
            if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
                return Ok(Some(lo + i as u64));
            }
            hi = lo;
            chunk = (chunk * 2).min(MAX_CHUNK);
        }
        Ok(None)
    }

    /// The complete line ending at `end` (exclusive; `end - 1` is its `\n`). `Err(offset)`
    /// when it is longer than `MAX_LINE_BYTES`, `offset` being where the search gave up.
    fn line_ending_at(&mut self, end: u64) -> io::Result<Result<TailLine, u64>> {
        let floor = end.saturating_sub(MAX_LINE_BYTES as u64 + 1);
        let start = match self.last_newline(floor, end - 1)? {
            Some(nl) => nl + 1,
            None if floor == 0 => 0,
            None => return Ok(Err(floor)),
        };
        let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(usize::MAX)];
        self.read_range(start, &mut bytes)?;
        Ok(Ok(TailLine {
            offset: start,
            bytes,
        }))
    }
}

/// Why the tail could not be read as lines.
#[derive(Debug)]
pub(crate) enum TailError {
    Io(io::Error),
    /// A complete line near the end is longer than any line the writer produces.
    TooLong {
        offset: u64,
    },
}

impl From<io::Error> for TailError {
    fn from(e: io::Error) -> Self {
        TailError::Io(e)
    }
}

/// Read the end of a log of `len` bytes.
pub(crate) fn read_tail<R: Read + Seek>(
    r: &mut Counted<'_, R>,
    len: u64,
) -> Result<Tail, TailError> {
    let complete_len = r.last_newline(0, len)?.map_or(0, |nl| nl + 1);
    let mut tail = Tail {
        complete_len,
        last: None,
        before_last: None,
    };
    if complete_len == 0 {
        return Ok(tail);
    }
    let last = r
        .line_ending_at(complete_len)?
        .map_err(|offset| TailError::TooLong { offset })?;
    if last.offset > 0 {
        tail.before_last = Some(
            r.line_ending_at(last.offset)?
                .map_err(|offset| TailError::TooLong { offset })?,
        );
    }
    tail.last = Some(last);
    Ok(tail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn tail_of(bytes: &[u8]) -> (Tail, u64) {
        let mut cur = Cursor::new(bytes.to_vec());
        let mut r = Counted::new(&mut cur);
        let t = read_tail(&mut r, bytes.len() as u64).unwrap();
        (t, r.bytes_read)
    }

    fn line(offset: u64, s: &str) -> Option<TailLine> {
        Some(TailLine {
            offset,
            bytes: s.as_bytes().to_vec(),
        })
    }

    #[test]
    fn finds_last_two_lines_and_torn_bytes() {
        let (t, _) = tail_of(b"a\nbb\nccc\n\0\0\0");
        assert_eq!(t.complete_len, 9);
        assert_eq!(t.last, line(5, "ccc\n"));
        assert_eq!(t.before_last, line(2, "bb\n"));
    }

    #[test]
    fn handles_empty_single_and_no_newline() {
        let (t, _) = tail_of(b"");
        assert_eq!((t.complete_len, t.last, t.before_last), (0, None, None));
        let (t, _) = tail_of(b"only\n");
        assert_eq!((t.last, t.before_last), (line(0, "only\n"), None));
        let (t, _) = tail_of(b"torn, no newline");
        assert_eq!((t.complete_len, t.last), (0, None));
        let (t, _) = tail_of(b"\n\n");
        assert_eq!((t.last, t.before_last), (line(1, "\n"), line(0, "\n")));
    }

    #[test]
    fn long_lines_cross_chunk_boundaries() {
        let a = "a".repeat(100_000) + "\n";
        let b = "b".repeat(300_000) + "\n";
        let all = format!("x\n{a}{b}");
        let (t, _) = tail_of(all.as_bytes());
        assert_eq!(t.last, line(2 + a.len() as u64, &b));
        assert_eq!(t.before_last, line(2, &a));
    }

    #[test]
    fn reads_only_the_end() {
        let body = "{\"some\":\"line\"}\n".repeat(1_000_000);
        let (t, read) = tail_of(body.as_bytes());
        assert!(t.last.is_some());
        assert!(read < 64 << 10, "read {read} bytes of {}", body.len());
    }

    #[test]
    fn overlong_line_is_reported_not_loaded() {
        let mut bytes = vec![b'x'; MAX_LINE_BYTES + 10];
        bytes.push(b'\n');
        let mut cur = Cursor::new(bytes.clone());
        let mut r = Counted::new(&mut cur);
        let err = read_tail(&mut r, bytes.len() as u64).unwrap_err();
        assert!(matches!(err, TailError::TooLong { .. }));
    }
}
