//! Terminal output: data on stdout, diagnostics on stderr, colour only where it belongs.
//!
//! `anstream` strips styles when the stream is not a terminal, when `NO_COLOR` is set, or when
//! `--color never` was given, so callers style freely and never check.

use std::io::{self, Write};

use anstyle::{AnsiColor, Style};

use crate::diag::{Diagnostic, Severity};

pub const ERROR: Style = AnsiColor::Red.on_default().bold();
pub const WARN: Style = AnsiColor::Yellow.on_default().bold();
pub const HINT: Style = AnsiColor::Cyan.on_default();
pub const DIM: Style = Style::new().dimmed();
pub const BOLD: Style = Style::new().bold();
pub const GOOD: Style = AnsiColor::Green.on_default();

/// `text` wrapped in `style` (stripped later where colour is off).
pub fn paint(style: Style, text: &str) -> String {
    format!("{}{text}{}", style.render(), style.render_reset())
}

/// Buffered stdout. Errors (notably a closed pipe) surface as `io::Error` to the caller, which
/// turns a broken pipe into a quiet exit.
pub struct Out {
    inner: io::BufWriter<anstream::AutoStream<io::Stdout>>,
}

impl Out {
    pub fn new() -> Self {
        Out {
            inner: io::BufWriter::new(anstream::AutoStream::auto(io::stdout())),
        }
    }

    pub fn line(&mut self, s: &str) -> io::Result<()> {
        self.inner.write_all(s.as_bytes())?;
        self.inner.write_all(b"\n")
    }

    /// Bytes as they are (a generated file, a script).
    pub fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)
    }

    /// Pretty JSON plus a newline, straight to stdout: serde_json escapes every control
    /// character, so JSON holds no escape sequence to strip, and passing megabytes of it through
    /// the stripping filter byte by byte cost a tenth of `plan --json` on 10,000 tasks.
    pub fn json<T: serde::Serialize>(&mut self, value: &T) -> io::Result<()> {
        self.inner.flush()?;
        let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
        serde_json::to_writer_pretty(&mut out, value)?;
        out.write_all(b"\n")?;
        out.flush()
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl Default for Out {
    fn default() -> Self {
        Out::new()
    }
}

/// Diagnostics and notes on stderr.
pub struct Stderr {
    quiet: bool,
}

/// `msg` as a warning: `warning: msg`, the word in the warning colour.
pub fn warning_line(msg: &str) -> String {
    format!("{} {msg}", paint(WARN, "warning:"))
}

impl Stderr {
    pub fn new(quiet: bool) -> Self {
        Stderr { quiet }
    }

    /// `-q`: only errors.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub fn warn(&self, msg: &str) {
        self.note(&warning_line(msg));
    }

    pub fn note(&self, msg: &str) {
        if !self.quiet {
            eprint_styled(msg);
        }
    }

    /// Text without a newline (progress rewritten in place with `\r`).
    pub fn note_inline(&self, msg: &str) {
        if !self.quiet {
            let mut e = anstream::stderr();
            let _ = write!(e, "{msg}");
            let _ = e.flush();
        }
    }

    pub fn diagnostic(&self, d: &Diagnostic) {
        if self.quiet && d.severity == Severity::Warning {
            return;
        }
        let (style, label) = match d.severity {
            Severity::Error => (ERROR, "error:"),
            Severity::Warning => (WARN, "warning:"),
        };
        let mut s = format!("{} {}: {}", paint(style, label), d.location(), d.message);
        if let Some(h) = &d.hint {
            s.push_str(&format!("\n  {} {h}", paint(HINT, "hint:")));
        }
        eprint_styled(&s);
    }
}

/// The `--color` of a command line not yet parsed (the last one before `--`), so that clap's own
/// help and usage errors follow it too; `auto` when absent or not a known value (clap then
/// reports it).
pub fn color_in_args<I: IntoIterator<Item = std::ffi::OsString>>(args: I) -> super::ColorWhen {
    use super::ColorWhen;
    let mut when = ColorWhen::Auto;
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.to_str() {
            Some("--") => break,
            Some("--color") => args.next(),
            Some(a) => a.strip_prefix("--color=").map(std::ffi::OsString::from),
            None => None,
        };
        match value.as_ref().and_then(|v| v.to_str()) {
            Some("always") => when = ColorWhen::Always,
            Some("never") => when = ColorWhen::Never,
            Some("auto") => when = ColorWhen::Auto,
            _ => {}
        }
    }
    when
}

/// Write a line to stderr through anstream (colour stripped where not wanted). Failures to write
/// to stderr are ignored: there is nowhere left to report them.
pub fn eprint_styled(s: &str) {
    let mut e = anstream::stderr();
    let _ = writeln!(e, "{s}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ColorWhen;

    fn color(args: &[&str]) -> ColorWhen {
        color_in_args(args.iter().map(std::ffi::OsString::from))
    }

    #[test]
    fn color_is_read_before_parsing_wherever_it_stands() {
        assert!(matches!(
            color(&["git-microloop", "--help"]),
            ColorWhen::Auto
        ));
        assert!(matches!(
            color(&["x", "--color", "never", "--help"]),
            ColorWhen::Never
        ));
        assert!(matches!(
            color(&["x", "run", "--color=always"]),
            ColorWhen::Always
        ));
        assert!(matches!(
            color(&["x", "--color=never", "--color", "auto"]),
            ColorWhen::Auto
        ));
        // After `--` it belongs to the implementer's command line.
        assert!(matches!(
            color(&["x", "run", "--", "impl", "--color=never"]),
            ColorWhen::Auto
        ));
        assert!(matches!(
            color(&["x", "--color", "purple"]),
            ColorWhen::Auto
        ));
    }
}
