//! The `git-microloop` binary: parse arguments, set up output, run, map the result to an exit
//! code. Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use git_microloop::cli::{self, Cli, ColorWhen};

fn main() -> ExitCode {
    // Before parsing too, so that clap's own help and usage errors follow --color.
    set_color(cli::output::color_in_args(std::env::args_os()));
    let args = Cli::parse();
    set_color(args.color);
    init_tracing(args.verbose, args.quiet);
    match cli::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            print_error(&e);
            ExitCode::from(e.exit as u8)
        }
    }
}

fn set_color(when: ColorWhen) {
    let choice = match when {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    choice.write_global();
}

/// Tracing on stderr: `-v` debug, `-vv` trace, `RUST_LOG` instead of either, `-q` none at all.
/// Coloured only where our own output is (a terminal, no NO_COLOR, or `--color always`).
fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "off",
        (false, 0) => "warn",
        (false, 1) => "git_microloop=debug",
        (false, _) => "git_microloop=trace",
    };
    let mut bad_env = None;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !quiet && !spec.trim().is_empty() => {
            EnvFilter::try_new(&spec).unwrap_or_else(|e| {
                bad_env = Some(format!(
                    "RUST_LOG={spec:?} is not a tracing filter ({e}); ignored"
                ));
                EnvFilter::new(default)
            })
        }
        _ => EnvFilter::new(default),
    };
    let ansi = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi)
        .init();
    if let Some(msg) = bad_env {
        cli::output::Stderr::new(quiet).warn(&msg);
    }
}

fn print_error(e: &cli::CliError) {
    use cli::output::{ERROR, HINT, eprint_styled, paint};
    let mut out = Vec::new();
    for line in e.render().lines() {
        let styled = if let Some(rest) = line.strip_prefix("error:") {
            format!("{}{rest}", paint(ERROR, "error:"))
        } else if let Some(rest) = line.strip_prefix("hint:") {
            format!("{}{rest}", paint(HINT, "hint:"))
        } else {
            line.to_string()
        };
        out.push(styled);
    }
    eprint_styled(&out.join("\n"));
}
