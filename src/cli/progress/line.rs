//! `Progress`: how long work of known size shows itself on stderr — a single status line that
//! updates in place on a terminal, plain lines elsewhere (CI logs, pipes), nothing with `-q`.
//!
//! Usage (a run's tasks, say):
//!
//! ```no_run
//! # use git_microloop::cli::output::Stderr;
//! # use git_microloop::cli::progress::Progress;
//! # let err = Stderr::new(false);
//! # let tasks = vec!["T001 Create the model".to_string()];
//! let progress = Progress::new(&err, "run", tasks.len());
//! for (n, t) in tasks.iter().enumerate() {
//!     progress.working_on(t);               // the status line names it (terminal only)
//!     // … do it …
//!     progress.set_done(n + 1);
//!     progress.println(&format!("{t}: done")); // a permanent line, above the status line
//! }
//! progress.finish(); // the status line is cleared (dropping the Progress does it too)
//! ```
//!
//! - `working_on(item)`: the item now in hand (number done + 1). Terminal only: the status line
//!   shows `run 2/3 · 0:04 · <item>`, the elapsed time counting up every second.
//! - `set_done(n)`: items done so far (also when work resumes part-way, a continued run).
//! - `println(line)`: a permanent line (a task's result, a warning), printed above the status
//!   line so the two never mix.
//!
//! The status line is written with carriage returns and spaces only — no escape sequences — so
//! it is safe under `NO_COLOR`. It is used only when stderr is a terminal whose `TERM` is not
//! `dumb` and debug tracing is off (tracing lines would tear it); otherwise the same permanent
//! lines are printed and nothing else.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::cli::output::{Stderr, eprint_styled};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-q`: nothing.
    Hidden,
    /// Permanent lines only (not a terminal).
    Plain,
    /// Permanent lines plus an updating status line.
    Live,
}

impl Mode {
    /// The mode for stderr as it is now.
    pub fn detect(err: &Stderr) -> Mode {
        if err.is_quiet() {
            return Mode::Hidden;
        }
        let dumb = std::env::var_os("TERM").is_none_or(|t| t.is_empty() || t == "dumb");
        let tracing_noisy = tracing::level_filters::LevelFilter::current()
            > tracing::level_filters::LevelFilter::WARN;
        if std::io::stderr().is_terminal() && !dumb && !tracing_noisy {
            Mode::Live
        } else {
            Mode::Plain
        }
    }
}

/// A progress display; see the module docs.
pub struct Progress {
    shared: Arc<Shared>,
    ticker: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

struct State {
    mode: Mode,
    label: String,
    total: usize,
    done: usize,
    item: Option<(String, Instant)>,
    started: Instant,
    /// Characters of the status line now on screen (0: none), and the line itself.
    shown: usize,
    shown_text: String,
    width: usize,
    stop: bool,
}

impl Progress {
    pub fn new(err: &Stderr, label: &str, total: usize) -> Progress {
        Progress::with_mode(Mode::detect(err), label, total)
    }

    /// With an explicit mode (tests, or a caller that knows better).
    pub fn with_mode(mode: Mode, label: &str, total: usize) -> Progress {
        let width = terminal_size::terminal_size_of(std::io::stderr())
            .map_or(80, |(w, _)| usize::from(w.0));
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                mode,
                label: label.to_string(),
                total,
                done: 0,
                item: None,
                started: Instant::now(),
                shown: 0,
                shown_text: String::new(),
                width,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let ticker = (mode == Mode::Live).then(|| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || tick_every_second(&shared))
        });
        Progress { shared, ticker }
    }

    /// The item now in hand.
    pub fn working_on(&self, item: &str) {
        let mut s = self.lock();
        s.item = Some((item.to_string(), Instant::now()));
        s.redraw();
    }

    /// Items done so far (work resumed part-way, or counted by the caller). When the count
    /// moves on, the item in hand is over.
    pub fn set_done(&self, done: usize) {
        let mut s = self.lock();
        if done != s.done {
            s.item = None;
        }
        s.done = done;
        s.redraw();
    }

    /// A permanent line (styled text welcome; colour is stripped where it is not wanted).
    pub fn println(&self, line: &str) {
        self.lock().println(line);
    }

    /// Clear the status line and stop updating it.
    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        {
            let mut s = self.lock();
            s.stop = true;
            s.clear();
        }
        self.shared.wake.notify_all();
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while printing cannot leave the state inconsistent in a way that matters.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

fn tick_every_second(shared: &Shared) {
    let mut s = shared
        .state
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    while !s.stop {
        s = match shared.wake.wait_timeout(s, Duration::from_secs(1)) {
            Ok((s, _)) => s,
            Err(poisoned) => poisoned.into_inner().0,
        };
        if !s.stop {
            s.redraw();
        }
    }
}

impl State {
    fn println(&mut self, line: &str) {
        match self.mode {
            Mode::Hidden => {}
            Mode::Plain => eprint_styled(line),
            Mode::Live => {
                self.clear();
                eprint_styled(line);
                self.redraw();
            }
        }
    }

    fn clear(&mut self) {
        if self.mode == Mode::Live && self.shown > 0 {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\r{}\r", " ".repeat(self.shown));
            let _ = e.flush();
            self.shown = 0;
            self.shown_text.clear();
        }
    }

    fn redraw(&mut self) {
        if self.mode != Mode::Live || self.stop {
            return;
        }
        let text = status_text(
            &self.label,
            self.done,
            self.total,
            self.started.elapsed(),
            self.item.as_ref().map(|(i, t)| (i.as_str(), t.elapsed())),
            self.width.saturating_sub(1).max(20),
        );
        if text == self.shown_text {
            return;
        }
        let len = text.chars().count();
        let pad = self.shown.saturating_sub(len);
        let mut e = std::io::stderr().lock();
        let _ = write!(e, "\r{text}{}", " ".repeat(pad));
        if pad > 0 {
            let _ = write!(e, "\r{text}");
        }
        let _ = e.flush();
        self.shown = len;
        self.shown_text = text;
    }
}

/// The status line: `label n/N · 0:12 (1:03 total) · item`, cut to `width` characters (the
/// item is what gets cut). Pure, for tests.
pub fn status_text(
    label: &str,
    done: usize,
    total: usize,
    total_elapsed: Duration,
    item: Option<(&str, Duration)>,
    width: usize,
) -> String {
    let mut s = match item {
        Some((item, elapsed)) => {
            let n = (done + 1).min(total.max(1));
            let times = if total_elapsed.as_secs() > elapsed.as_secs() {
                format!("{} ({} total)", clock(elapsed), clock(total_elapsed))
            } else {
                clock(elapsed)
            };
            format!("{label} {n}/{total} · {times} · {item}")
        }
        None => format!("{label} {done}/{total} · {}", clock(total_elapsed)),
    };
    // No control characters may reach the terminal from an item (a task title, a path).
    s = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > width {
        s = s.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
    }
    s
}

/// `m:ss`, or `h:mm:ss` from an hour.
pub fn clock(d: Duration) -> String {
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_like_a_stopwatch() {
        assert_eq!(clock(Duration::from_millis(999)), "0:00");
        assert_eq!(clock(Duration::from_secs(75)), "1:15");
        assert_eq!(clock(Duration::from_secs(3 * 3600 + 61)), "3:01:01");
    }

    #[test]
    fn status_names_position_elapsed_and_item() {
        let s = status_text(
            "run",
            1,
            4,
            Duration::from_secs(63),
            Some(("T002 Create b.txt", Duration::from_secs(12))),
            100,
        );
        assert_eq!(s, "run 2/4 · 0:12 (1:03 total) · T002 Create b.txt");
        let s = status_text(
            "run",
            0,
            4,
            Duration::from_secs(2),
            Some(("T001", Duration::from_secs(2))),
            100,
        );
        assert_eq!(s, "run 1/4 · 0:02 · T001");
        let s = status_text("cleanup", 3, 3, Duration::from_secs(5), None, 100);
        assert_eq!(s, "cleanup 3/3 · 0:05");
    }

    #[test]
    fn status_is_cut_to_the_width_and_never_carries_control_characters() {
        let s = status_text(
            "run",
            0,
            2,
            Duration::ZERO,
            Some((
                "T001 a\x1b[31mred\r\ttitle that is rather long",
                Duration::ZERO,
            )),
            30,
        );
        assert_eq!(s.chars().count(), 30, "{s}");
        assert!(s.ends_with('…'));
        assert!(!s.chars().any(char::is_control), "{s:?}");
    }

    #[test]
    fn hidden_and_plain_modes_never_start_a_ticker() {
        for mode in [Mode::Hidden, Mode::Plain] {
            let p = Progress::with_mode(mode, "x", 1);
            assert!(p.ticker.is_none());
            p.finish();
        }
    }
}
