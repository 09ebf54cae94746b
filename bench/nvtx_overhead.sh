#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# NVTX overhead: runs the store/free loop built with NVTX compiled in (no tool
# attached) and without, three times each, interleaved, and prints the ratio of
# their median times (1.05 = 5 % overhead).
#   bash bench/nvtx_overhead.sh [build-dir]     (default build/bench)
set -euo pipefail
dir=${1:-build/bench}/bench
on=$dir/limen_bench_nvtx
off=$dir/limen_bench_nvtx_off
[ -x "$on" ] && [ -x "$off" ] || { echo "build the bench preset with NVTX first"; exit 1; }
median() { "$1" --benchmark_format=csv 2>/dev/null | awk -F, '/_median"/ {print $3}'; }
for round in 1 2 3; do
  t_on=$(median "$on"); t_off=$(median "$off")
  awk -v a="$t_on" -v b="$t_off" -v r="$round" \
    'BEGIN { printf "round %d: nvtx on %.2f ns, off %.2f ns, ratio %.3f\n", r, a, b, a / b }'
done
