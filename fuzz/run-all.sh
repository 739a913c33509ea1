#!/usr/bin/env bash
# Seed, then run every fuzz target for SECONDS (default 900) one after the other, on the stable
# toolchain (RUSTC_BOOTSTRAP lets cargo-fuzz pass its nightly-only flags). Findings land in
# fuzz/artifacts/<target>/; a target that finds one stops and the script goes on to the next.
# SANITIZER=address (the default of cargo fuzz) adds AddressSanitizer at about half the speed;
# the code under test is safe Rust plus libgit2's trailer parser (trailers target).
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-900}
sanitizer=${SANITIZER:-none}
./seed.sh
declare -A max_len=([tasks_parser]=16384 [config]=4096 [trailers]=8192)
for t in tasks_parser config trailers; do
  echo "== $t: ${seconds}s, sanitizer $sanitizer"
  RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer "$sanitizer" "$t" -- \
    -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=10 -print_final_stats=1 \
    2>&1 | grep -aE '^(stat::|thread|Done |==|SUMMARY)|panicked|Test unit written'
done
