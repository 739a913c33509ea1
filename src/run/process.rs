//! Running implementer and QA commands: argument vectors only (never a shell), stdin closed,
//! output into files (not pipes a grandchild could hold open), the task handed over through
//! environment variables, git's repository variables removed, and each command in its own
//! process group so a timeout or an interruption kills the whole tree, grandchildren included,
//! before it is reaped.
//!
//! **The start gate.** A command does not start until its process group is recorded: between
//! fork and exec the child reports its pid over a pipe and waits; the caller's `on_spawn`
//! records the group (the run state, fsynced), and only then is the child let go. A
//! git-microloop killed at any moment therefore leaves no command running that the next
//! `continue` or `abort` does not know of: killed before the go, its end of the pipe closes and
//! the waiting child exits without running anything.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use process_wrap::std::{CommandWrap, ProcessGroup};

use crate::git::REPO_ENV_VARS;

/// What to run.
pub struct Spec<'a> {
    pub argv: &'a [String],
    /// A file to read as standard input; `None` closes stdin.
    pub stdin: Option<&'a Path>,
    pub cwd: &'a Path,
    pub env: &'a [(String, String)],
    pub stdout: &'a Path,
    pub stderr: &'a Path,
    pub timeout: Duration,
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    /// Killed by a signal it did not ask for (not our timeout).
    Signaled(i32),
    TimedOut,
    /// We were asked to stop (Ctrl-C, SIGTERM); the command's group was killed.
    Interrupted,
    /// It could not be started (program not found, not executable, …).
    NotStarted(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        *self == Outcome::Exited(0)
    }

    pub fn describe(&self) -> String {
        match self {
            Outcome::Exited(c) => format!("exit {c}"),
            Outcome::Signaled(s) => format!("killed by signal {s}"),
            Outcome::TimedOut => "timed out".into(),
            Outcome::Interrupted => "interrupted".into(),
            Outcome::NotStarted(e) => format!("could not start: {e}"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub outcome: Outcome,
    pub duration: Duration,
}

/// Run `spec` to the end, the timeout, or until `cancel` is set. `on_spawn` receives the
/// process group id before the command starts (the start gate, above): what it records is
/// there before the command can do anything.
pub fn run(
    spec: &Spec<'_>,
    cancel: &AtomicBool,
    on_spawn: impl FnOnce(u32) + Send,
) -> io::Result<Finished> {
    let Some((program, args)) = spec.argv.split_first() else {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(spec.cwd)
        .stdin(match spec.stdin {
            Some(p) => Stdio::from(File::open(p)?),
            None => Stdio::null(),
        })
        .stdout(File::create(spec.stdout)?)
        .stderr(File::create(spec.stderr)?);
    for var in REPO_ENV_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in spec.env {
        cmd.env(k, v);
    }
    // Both pipes are close-on-exec: the command never sees them. (Commands are started one at
    // a time: a sibling forked while another waits at its gate would hold that gate's pipe
    // open until its own exec.)
    let (pid_r, pid_w) = io::pipe()?;
    let (go_r, go_w) = io::pipe()?;
    let fds = (pid_w.as_raw_fd(), go_r.as_raw_fd(), go_w.as_raw_fd());
    // SAFETY: `gate` makes only async-signal-safe calls (close, getpid, write, read).
    unsafe {
        cmd.pre_exec(move || gate(fds.0, fds.1, fds.2));
    }
    tracing::debug!(argv = ?spec.argv, cwd = %spec.cwd.display(), "starting");
    let mut wrapped = CommandWrap::from(cmd);
    wrapped.wrap(ProcessGroup::leader());
    let start = Instant::now();
    // `spawn` returns once the command has exec'd, which waits for the go: so the pid is
    // taken, recorded and answered on another thread meanwhile.
    let spawned = std::thread::scope(|scope| {
        scope.spawn(move || {
            let (mut pid_r, mut go_w) = (pid_r, go_w);
            let mut pid = [0u8; 4];
            if pid_r.read_exact(&mut pid).is_ok() {
                on_spawn(u32::try_from(i32::from_ne_bytes(pid)).unwrap_or_default());
                let _ = go_w.write_all(b"g");
            }
            // Dropping `go_w` without a go stops a child still waiting.
        });
        let spawned = wrapped.spawn();
        // The child has its copies (or there is none): without ours, a spawn that failed
        // before the child reported reads as the end of the pipe, and the thread ends.
        drop(pid_w);
        drop(go_r);
        spawned
    });
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            return Ok(Finished {
                outcome: Outcome::NotStarted(e.to_string()),
                duration: start.elapsed(),
            });
        }
    };
    let mut poll = Duration::from_millis(1);
    let outcome = loop {
        if let Some(status) = child.try_wait()? {
            break exit_outcome(status);
        }
        let stop = if cancel.load(Ordering::SeqCst) {
            Some(Outcome::Interrupted)
        } else if start.elapsed() >= spec.timeout {
            Some(Outcome::TimedOut)
        } else {
            None
        };
        if let Some(outcome) = stop {
            child.start_kill()?;
            child.wait()?;
            break outcome;
        }
        std::thread::sleep(poll);
        poll = (poll * 2).min(Duration::from_millis(25));
    };
    // Whatever the leader left behind in its group (background jobs, daemons) must not keep
    // writing into the worktree after the task is over.
    let _ = child.start_kill();
    Ok(Finished {
        outcome,
        duration: start.elapsed(),
    })
}

/// The child's side of the start gate, between fork and exec, so only async-signal-safe calls
/// and no allocation: report the pid, then wait for the go. The end of the pipe instead (the
/// parent died) fails the exec: the command never runs.
fn gate(pid_w: RawFd, go_r: RawFd, go_w: RawFd) -> io::Result<()> {
    use nix::libc;
    // SAFETY: the descriptors are the child's inherited copies of the pipes made above; each
    // is closed once, and the buffers outlive the calls.
    unsafe {
        // The parent's end: with this copy closed, a dead parent reads as the end of the pipe.
        libc::close(go_w);
        let pid = libc::getpid().to_ne_bytes();
        let wrote = libc::write(pid_w, pid.as_ptr().cast(), pid.len());
        libc::close(pid_w);
        if wrote != pid.len() as isize {
            return Err(io::Error::last_os_error());
        }
        let mut go = 0u8;
        loop {
            match libc::read(go_r, (&raw mut go).cast(), 1) {
                1 => break,
                0 => return Err(io::Error::from_raw_os_error(libc::EPIPE)),
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err(e);
                    }
                }
            }
        }
        libc::close(go_r);
    }
    Ok(())
}

fn exit_outcome(status: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => Outcome::Exited(c),
        (None, Some(s)) => Outcome::Signaled(s),
        (None, None) => Outcome::Exited(-1),
    }
}

/// Whether `pid` no longer runs: gone, or a zombie waiting for its parent (init, for an
/// orphan) to reap it. Waits up to five seconds. Used to prove timeouts kill whole trees.
pub fn process_gone(pid: i32) -> bool {
    for _ in 0..200 {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Err(_) => return true,
            // The state letter follows the parenthesised command name.
            Ok(s)
                if s.rsplit(')')
                    .next()
                    .is_some_and(|r| r.trim_start().starts_with('Z')) =>
            {
                return true;
            }
            Ok(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
    false
}

/// Kill a process group left by an earlier, killed git-microloop — but only if its leader still
/// works in `cwd` (a recycled pid must never make us kill a stranger).
pub fn kill_orphan_group(pgid: u32, cwd: &Path) {
    let Ok(raw) = i32::try_from(pgid) else { return };
    let proc_cwd = Path::new("/proc").join(pgid.to_string()).join("cwd");
    let ours = std::fs::read_link(&proc_cwd).is_ok_and(|p| p == cwd);
    if ours {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(raw),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str, timeout_ms: u64) -> (Finished, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let argv = vec!["sh".to_string(), "-c".to_string(), script.to_string()];
        let spec = Spec {
            argv: &argv,
            stdin: None,
            cwd: dir.path(),
            env: &[("MICROLOOP_TASK_ID".into(), "T001".into())],
            stdout: &dir.path().join("out"),
            stderr: &dir.path().join("err"),
            timeout: Duration::from_millis(timeout_ms),
        };
        let f = run(&spec, &AtomicBool::new(false), |_| {}).unwrap();
        (f, dir)
    }

    #[test]
    fn exit_codes_and_output_files() {
        let (f, dir) = sh("echo $MICROLOOP_TASK_ID; echo oops >&2; exit 3", 10_000);
        assert_eq!(f.outcome, Outcome::Exited(3));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("out")).unwrap(),
            "T001\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("err")).unwrap(),
            "oops\n"
        );
    }

    #[test]
    fn stdin_is_closed() {
        let (f, _dir) = sh("read x && exit 1 || exit 0", 10_000);
        assert!(f.outcome.success());
    }

    #[test]
    fn missing_program_is_not_started() {
        let dir = tempfile::tempdir().unwrap();
        let argv = vec!["/nonexistent/program".to_string()];
        let spec = Spec {
            argv: &argv,
            stdin: None,
            cwd: dir.path(),
            env: &[],
            stdout: &dir.path().join("out"),
            stderr: &dir.path().join("err"),
            timeout: Duration::from_secs(5),
        };
        let f = run(&spec, &AtomicBool::new(false), |_| {}).unwrap();
        assert!(matches!(f.outcome, Outcome::NotStarted(_)));
    }

    #[test]
    fn timeout_kills_the_whole_group() {
        let (f, dir) = sh("sleep 30 & echo $! > grandchild; wait", 300);
        assert_eq!(f.outcome, Outcome::TimedOut);
        assert!(f.duration < Duration::from_secs(10));
        let pid: i32 = std::fs::read_to_string(dir.path().join("grandchild"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(process_gone(pid), "grandchild {pid} survived the timeout");
    }
}
