#!/bin/sh
# Demo QA: run the project's tests once there is a test runner.
set -eu
if [ -f tests/run.sh ]; then
  sh tests/run.sh
else
  echo "no tests yet"
fi
