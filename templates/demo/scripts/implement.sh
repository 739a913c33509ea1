#!/bin/sh
# Demo implementer: a deterministic stand-in for an AI agent. git-microloop hands it the task
# through MICROLOOP_TASK_ID (the whole task, as JSON, is in $MICROLOOP_TASK_FILE); it makes that
# task's change in the current directory (the run's own worktree) and exits 0.
set -eu
case "$MICROLOOP_TASK_ID" in
T001)
  mkdir -p src
  printf '#!/bin/sh\necho "Hello, world!"\n' > src/greet.sh
  ;;
T002)
  mkdir -p tests
  cat > tests/run.sh <<'SH'
#!/bin/sh
# Runs every tests/*_test.sh; fails on the first failure.
set -eu
for t in tests/*_test.sh; do
  [ -e "$t" ] || continue
  sh "$t" || { echo "FAIL $t"; exit 1; }
  echo "ok $t"
done
SH
  ;;
T003)
  mkdir -p docs
  printf '# Usage\n\n    sh src/greet.sh\n' > docs/usage.md
  ;;
T004)
  printf '#!/bin/sh\necho "Hello, ${1:-world}!"\n' > src/greet.sh
  ;;
T005)
  printf '#!/bin/sh\n[ "$(sh src/greet.sh Ada)" = "Hello, Ada!" ]\n' > tests/greet_name_test.sh
  ;;
T006)
  printf '# Changelog\n\n- Greet by name.\n' > CHANGELOG.md
  ;;
T007)
  printf '\nGive a name to greet someone:\n\n    sh src/greet.sh Ada\n' >> docs/usage.md
  ;;
*)
  echo "demo implementer: no recipe for $MICROLOOP_TASK_ID" >&2
  exit 1
  ;;
esac
