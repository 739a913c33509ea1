#!/bin/sh
# git-microloop implementer: Claude Code (`claude -p`, non-interactive).
#
# git-microloop runs this once per micro-task, in the run's own git worktree, with the task in
# the environment: MICROLOOP_PROMPT_FILE (the prompt, built from the task), MICROLOOP_TASK_FILE
# (the whole task as JSON), MICROLOOP_TASK_ID, MICROLOOP_CHANGE, MICROLOOP_RUN, ... Claude edits
# the files; git-microloop then runs the QA commands and makes the task's commit.
#
# The task text reaches Claude only as the value of one argument ("$prompt", quoted): it is
# never evaluated by this shell. Arguments after the preset are passed on to claude, e.g.
#   git microloop run --implementer claude -- --model sonnet --allowedTools 'Bash(cargo test:*)'
#
# --permission-mode acceptEdits lets Claude edit files without asking (nobody is there to
# answer); shell commands stay denied unless you allow them with --allowedTools.
set -eu
: "${MICROLOOP_PROMPT_FILE:?run me through git microloop run --implementer claude}"
command -v claude >/dev/null 2>&1 || {
    echo "claude (Claude Code) is not on PATH: https://docs.anthropic.com/en/docs/claude-code" >&2
    exit 127
}
prompt=$(cat "$MICROLOOP_PROMPT_FILE")
exec claude -p "$prompt" --permission-mode acceptEdits "$@"
