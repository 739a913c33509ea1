#!/bin/sh
# git-microloop implementer: OpenAI Codex CLI (`codex exec`, non-interactive).
#
# git-microloop runs this once per micro-task, in the run's own git worktree, with the task in
# the environment: MICROLOOP_PROMPT_FILE (the prompt, built from the task), MICROLOOP_TASK_FILE
# (the whole task as JSON), MICROLOOP_TASK_ID, MICROLOOP_CHANGE, MICROLOOP_RUN, ... Codex edits
# the files; git-microloop then runs the QA commands and makes the task's commit.
#
# The task text reaches Codex only as the value of one argument ("$prompt", quoted): it is never
# evaluated by this shell. Arguments after the preset are passed on to `codex exec`, e.g.
#   git microloop run --implementer codex -- --model o4-mini
#
# --sandbox workspace-write lets Codex write inside the worktree (exec is read-only by default);
# --color never keeps the run's logs free of escape codes.
set -eu
: "${MICROLOOP_PROMPT_FILE:?run me through git microloop run --implementer codex}"
command -v codex >/dev/null 2>&1 || {
    echo "codex (OpenAI Codex CLI) is not on PATH: https://developers.openai.com/codex/cli" >&2
    exit 127
}
prompt=$(cat "$MICROLOOP_PROMPT_FILE")
exec codex exec --sandbox workspace-write --color never "$@" "$prompt"
