//! Fault injection for crash tests: `MICROLOOP_FAULT=<point>:<task>` makes git-microloop kill
//! itself with SIGKILL at that point — the harshest interruption there is, with no destructor
//! or handler running — so tests can prove that `continue` recovers from a crash at exactly
//! the worst moment. Unset (always, outside tests), it costs one environment lookup.

/// Die here if the environment asks for it.
pub fn point(name: &str, task: &str) {
    let Ok(wanted) = std::env::var("MICROLOOP_FAULT") else {
        return;
    };
    if wanted.split_once(':') == Some((name, task)) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}
