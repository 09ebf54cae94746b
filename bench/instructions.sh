#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per round trip (store + read + free of a 64-byte message), from
# callgrind: two runs of different lengths, so set-up cancels out.
#   bash bench/instructions.sh [build-dir]      (default build/bench)
set -euo pipefail
exe=${1:-build/bench}/bench/limen_host_loop
[ -x "$exe" ] || { echo "build the bench preset first ($exe)"; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
total() {  # which, n -> total instructions
  local out
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$exe" "$1" "$2" >/dev/null 2>&1
  awk '/^summary:/ {print $2}' "$out"
  rm -f "$out"
}
for which in floor heap static concurrent; do
  a=$(total "$which" 100000)
  b=$(total "$which" 200000)
  echo "$which: $(( (b - a) / 100000 )) instructions per round trip"
done
