#!/bin/sh
# git-microloop implementer: aider (`aider --message-file`, non-interactive).
#
# git-microloop runs this once per micro-task, in the run's own git worktree, with the task in
# the environment: MICROLOOP_PROMPT_FILE (the prompt, built from the task), MICROLOOP_TASK_FILE
# (the whole task as JSON), MICROLOOP_TASK_ID, MICROLOOP_CHANGE, MICROLOOP_RUN, ... aider edits
# the files; git-microloop then runs the QA commands and makes the task's commit.
#
# The prompt is handed over as a file (--message-file): the task text is never evaluated by
# this shell. Arguments after the preset are passed on to aider, e.g.
#   git microloop run --implementer aider -- --model sonnet
#
# --yes-always: nobody is there to answer aider's questions.
# --no-auto-commits, --no-dirty-commits: git-microloop makes the one commit per task itself.
# --no-gitignore: aider would otherwise add `.aider*` to .gitignore inside the task's commit.
# Its chat and input history go beside the task file, out of the worktree. Its repository-map
# cache (.aider.tags.cache.*) is created in the worktree: list `.aider*` in your .gitignore.
set -eu
: "${MICROLOOP_PROMPT_FILE:?run me through git microloop run --implementer aider}"
command -v aider >/dev/null 2>&1 || {
    echo "aider is not on PATH: https://aider.chat/docs/install.html" >&2
    exit 127
}
logs=$(dirname "$MICROLOOP_PROMPT_FILE")
exec aider --message-file "$MICROLOOP_PROMPT_FILE" --yes-always --no-auto-commits \
    --no-dirty-commits --no-gitignore \
    --chat-history-file "$logs/aider.chat.history.md" \
    --input-history-file "$logs/aider.input.history" "$@"
