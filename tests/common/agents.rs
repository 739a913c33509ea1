//! Fake agents for the implementer tests: `claude`, `codex`, `aider` and `fake-agent` scripts
//! placed first on PATH, recording what they were given.

use std::path::PathBuf;

use super::{Run, TestRepo};

/// A fake agent: records what it got under `$FAKE_AGENT_LOG/<name>-<task>-<attempt>/`
/// (each argument in its own file, the MICROLOOP_* environment, the working directory), then
/// writes `work/<task>.txt` so the task has something to commit. It never evaluates its input.
const FAKE_AGENT: &str = r#"set -eu
name=$(basename "$0")
log="$FAKE_AGENT_LOG/$name-$MICROLOOP_TASK_ID-$MICROLOOP_ATTEMPT"
mkdir -p "$log"
i=0
for a in "$@"; do
  i=$((i + 1))
  printf '%s' "$a" > "$log/arg$i"
done
printf '%s' "$#" > "$log/argc"
env | grep '^MICROLOOP_' | sort > "$log/env"
pwd > "$log/cwd"
mkdir -p work
printf 'done by %s\n' "$name" > "work/$MICROLOOP_TASK_ID.txt"
"#;

pub struct Agents {
    pub bin: PathBuf,
    pub log: PathBuf,
}

impl Agents {
    /// Fake `claude`, `codex`, `aider` and `fake-agent` in a folder of their own.
    pub fn install(repo: &TestRepo) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let bin = repo.outside().join("bin");
        let log = repo.outside().join("agent-log");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&log).unwrap();
        for name in ["claude", "codex", "aider", "fake-agent"] {
            let p = bin.join(name);
            std::fs::write(&p, format!("#!/bin/sh\n{FAKE_AGENT}")).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Agents { bin, log }
    }

    /// `git-microloop ARGS` with the fakes first on PATH.
    pub fn run(&self, repo: &TestRepo, args: &[&str]) -> Run {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Run(repo
            .cmd(args)
            .env("PATH", path)
            .env("FAKE_AGENT_LOG", &self.log)
            .output()
            .expect("run git-microloop"))
    }

    pub fn call(&self, agent: &str, task: &str) -> Call {
        let dir = self.log.join(format!("{agent}-{task}-1"));
        assert!(dir.is_dir(), "{agent} was not called for {task}");
        Call(dir)
    }
}

/// What one fake agent call recorded.
pub struct Call(PathBuf);

impl Call {
    pub fn args(&self) -> Vec<String> {
        let n: usize = std::fs::read_to_string(self.0.join("argc"))
            .unwrap()
            .parse()
            .unwrap();
        (1..=n)
            .map(|i| std::fs::read_to_string(self.0.join(format!("arg{i}"))).unwrap())
            .collect()
    }

    pub fn env(&self, var: &str) -> Option<String> {
        let env = std::fs::read_to_string(self.0.join("env")).unwrap();
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{var}=")).map(str::to_string))
    }

    pub fn cwd(&self) -> String {
        std::fs::read_to_string(self.0.join("cwd"))
            .unwrap()
            .trim()
            .to_string()
    }
}
