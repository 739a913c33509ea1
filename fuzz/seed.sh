#!/usr/bin/env bash
# Fill fuzz/corpus/<target>/ (git-ignored) with the seeds: ours (fuzz/seeds/, the tasks.md
# fixtures, the config template) and, when it is there, the shared corpus of real tasks.md
# files in ../shared/corpus/speckit-tasks (other people's files: copied at run time only,
# never committed). The first byte of a config or trailers input picks the reader or mode.
set -euo pipefail
cd "$(dirname "$0")"
shared=${SHARED_CORPUS:-../../shared/corpus/speckit-tasks}

for t in tasks_parser config trailers; do
  mkdir -p "corpus/$t"
  cp seeds/"$t"/* "corpus/$t/"
done
for f in ../tests/fixtures/tasks/*.md; do
  cp "$f" "corpus/tasks_parser/fixture-$(basename "$f")"
  { printf d; cat "$f"; } >"corpus/trailers/d-fixture-$(basename "$f")"
done
{ printf t; cat ../templates/microloop.toml; } >corpus/config/t-template.toml
# The template with its examples uncommented (as the template test does).
{ printf t; sed -E 's/^# (\[.*|[^ ]+ = .*)$/\1/' ../templates/microloop.toml; } \
  >corpus/config/t-template-examples.toml

if [ -d "$shared" ]; then
  for f in "$shared"/*.md; do
    cp "$f" "corpus/tasks_parser/shared-$(basename "$f")"
    { printf d; cat "$f"; } >"corpus/trailers/d-shared-$(basename "$f")"
  done
  echo "seeded from $shared ($(ls "$shared"/*.md | wc -l) files)"
else
  echo "no shared corpus at $shared; seeded from our own files only"
fi
