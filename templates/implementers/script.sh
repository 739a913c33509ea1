#!/bin/sh
# git-microloop implementer: a plain script (an example to adapt).
#
# Any program can be an implementer. git-microloop runs it once per micro-task, in the run's own
# git worktree (the current directory), stdin closed, with:
#   MICROLOOP_TASK_ID      the task's id (T003)        MICROLOOP_TASK_TITLE  its one-line title
#   MICROLOOP_TASK_FILE    the whole task as JSON      MICROLOOP_PROMPT_FILE a prompt for an agent
#   MICROLOOP_CHANGE, MICROLOOP_RUN, MICROLOOP_SEED, MICROLOOP_PLAN_HASH, MICROLOOP_ATTEMPT,
#   MICROLOOP_WORKTREE
# Exit 0 when the task is applied; any other status fails the attempt (it is retried up to
# max_attempts). Do not commit: git-microloop runs the QA commands and commits for you.
#
# This example applies a patch prepared by a person for each task, if there is one:
# patches/<TASK_ID>.patch in the repository (a `git diff` of the task's change). Tasks without a
# patch fail, so nothing is committed that nobody wrote.
#
# Task data is only ever used as a quoted value ("$MICROLOOP_TASK_ID"), never as code: no eval,
# no unquoted expansion, no `sh -c "... $VAR ..."`.
set -eu
: "${MICROLOOP_TASK_ID:?run me through git microloop run --implementer script}"
patch="${MICROLOOP_PATCHES:-patches}/$MICROLOOP_TASK_ID.patch"
if [ ! -f "$patch" ]; then
    printf 'no patch for %s (%s): write %s\n' "$MICROLOOP_TASK_ID" "$MICROLOOP_TASK_TITLE" \
        "$patch" >&2
    exit 1
fi
git apply --whitespace=nowarn -- "$patch"
