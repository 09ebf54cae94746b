#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Instructions per round trip (store + read + free of a 64-byte message), from
# callgrind: two runs of different lengths, so set-up cancels out.
#
# The first four lines are the loop the compiler sees whole, as
# bench/host_bench.cpp times it (limen_host_loop, -O3). The table after them
# adds the loop in the shape a user writes it, as bench/user_loop_bench.cpp
# times it (the token through a queue in memory, the guard alive across a call
# into another translation unit, every result checked: bench/user_shape.hpp),
# for every contender, each shape at -O3 (limen_host_loop) and at -O2
# (limen_host_loop_o2). "-": the loop or the contender does not exist in that
# shape or build.
#   bash bench/instructions.sh [build-dir]      (default build/bench)
set -euo pipefail
dir=${1:-build/bench}/bench
exe=$dir/limen_host_loop
exe_o2=$dir/limen_host_loop_o2
[ -x "$exe" ] || { echo "build the bench preset first ($exe)"; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
total() {  # exe, which, n -> total instructions; fails when the run fails
  local out status=0
  out=$(mktemp)
  valgrind --tool=callgrind --callgrind-out-file="$out" "$1" "$2" "$3" >/dev/null 2>&1 || status=$?
  [ "$status" -eq 0 ] && awk '/^summary:/ {print $2}' "$out"
  rm -f "$out"
  return "$status"
}
per_trip() {  # exe, which -> instructions per round trip, or "-"
  local a b
  if [ -x "$1" ] && a=$(total "$1" "$2" 100000) && b=$(total "$1" "$2" 200000); then
    echo $(((b - a) / 100000))
  else
    echo "-"
  fi
}

declare -A whole_o3
for which in floor heap static concurrent; do
  whole_o3[$which]=$(per_trip "$exe" "$which")
  echo "$which: ${whole_o3[$which]} instructions per round trip"
done

echo
printf '%-20s %12s %12s %12s %12s\n' "contender" "whole -O3" "user -O3" "whole -O2" "user -O2"
for which in floor atomic-floor cached-atomic-floor new pmr mimalloc boost heap static concurrent; do
  w3=${whole_o3[$which]:--}
  w2=-
  [ -n "${whole_o3[$which]:-}" ] && w2=$(per_trip "$exe_o2" "$which")
  u3=$(per_trip "$exe" "user-$which")
  u2=$(per_trip "$exe_o2" "user-$which")
  printf '%-20s %12s %12s %12s %12s\n' "$which" "$w3" "$u3" "$w2" "$u2"
done
