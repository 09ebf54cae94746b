#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# GPU check for limen: builds the gpu-labelled tests, the demo, limen-info and
# the GPU benchmark with every core, runs them, and prints one summary table.
# On a machine without a GPU it says so, runs what can run (everything skips
# with its reason) and exits 0 when every step that could run passed. With a
# GPU it fails when the gpu tests were not built, when any of them failed or
# skipped, when the demo or a manager ran on the CPU device, or when any
# benchmark case failed.
#
#   bash bench/gpu_check.sh              from the repository root (about 3-6 minutes on 16 cores)
#
# The GPU machines have nvcc, CMake, ninja and Python (torch, cupy) but no
# GoogleTest, no Google Benchmark and no network: the GPU tests then build
# against tests/mini_gtest and the GPU benchmark needs neither, so a plain copy
# of the repository is all this script needs.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=${OUT:-$root/build/gpu_check}
build=$root/build/gpu
mkdir -p "$out"
jobs=$(nproc)
declare -a rows=()
failed=0

row() {  # step, result, detail
  rows+=("$(printf '%-30s %-8s %s' "$1" "$2" "$3")")
  [ "$2" = "FAIL" ] && failed=1
  return 0
}

# Runs a step under a timeout, logging to $out/<name>.log; prints its tail on failure.
step() {  # name, seconds, command...
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  [ $rc -eq 124 ] && echo "== $name: timed out after ${limit} s" >>"$out/$name.log"
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "== $name failed (rc=$rc):"
    tail -25 "$out/$name.log"
  fi
  echo "== $name: rc=$rc in $((SECONDS - start)) s"
  return $rc
}

echo "== machine"
gpu_name=$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
if [ -n "$gpu_name" ]; then
  echo "GPU: $gpu_name"
  have_gpu=1
else
  echo "no GPU present (nvidia-smi found none): GPU steps will skip, with their reason"
  have_gpu=0
fi
echo "cores: $jobs"

# GoogleTest: the system's if installed; otherwise CMake builds the GPU tests
# against the stand-in in tests/mini_gtest (nothing to carry, no network).
if [ -f /usr/include/gtest/gtest.h ]; then
  echo "GoogleTest: installed"
else
  echo "GoogleTest: not installed; the GPU tests build against tests/mini_gtest"
fi

if step configure 180 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_COMPILE_WARNING_AS_ERROR=OFF -DLIMEN_BUILD_GPU_BENCH=ON -DLIMEN_BUILD_BENCHMARKS=OFF; then
  row configure pass "$(grep -o 'limen: CUDA runtime.*' "$out/configure.log" | head -1)"
else
  row configure FAIL "see $out/configure.log"
  printf '%s\n' "${rows[@]}"
  exit 1
fi

targets=(limen-info limen_demo)
grep -q "kernels ON" "$out/configure.log" && targets+=(limen_gpu_tests)
grep -q "CUDA runtime ON" "$out/configure.log" && targets+=(limen_gpu_bench)
if step build 420 cmake --build "$build" -j "$jobs" --target "${targets[@]}"; then
  row build pass "${targets[*]}"
else
  row build FAIL "see $out/build.log"
fi

if step limen_info 60 "$build/limen-info"; then
  row limen-info pass "$(grep -E '^(devices|CPU device)' "$out/limen_info.log" | tr -s ' ' | paste -sd ';')"
else
  row limen-info FAIL "see $out/limen_info.log"
fi

if step demo 120 "$build/examples/limen_demo"; then
  on_cpu=$(grep -c 'CPU device' "$out/demo.log")
  if [ $have_gpu -eq 1 ] && [ "$on_cpu" -gt 0 ]; then
    # A GPU is here: a class on the CPU device means limen did not choose the GPU backend.
    row demo FAIL "a GPU is present but the demo ran on the CPU device; see $out/demo.log"
  else
    row demo pass "$(grep -c ' on GPU' "$out/demo.log") classes on the GPU"
  fi
else
  row demo FAIL "see $out/demo.log"
fi

gpu_tests=$build/tests/limen_gpu_tests
if [ -x "$gpu_tests" ]; then
  # Under ctest: one process per test, one at a time (several tests time their waits
  # and their kernels, which a neighbouring test's kernels would slow down).
  step gpu_ctest 420 ctest --test-dir "$build" -L gpu -j 1 --output-on-failure --timeout 120
  ctest_rc=$?
  passed=$(grep -oE '[0-9]+ tests? passed' "$out/gpu_ctest.log" | head -1)
  total=$(grep -oE 'out of [0-9]+' "$out/gpu_ctest.log" | grep -oE '[0-9]+' | head -1)
  skipped=$(grep -c '(Skipped)' "$out/gpu_ctest.log")
  ran=$(( ${total:-0} - skipped ))
  if [ $ctest_rc -ne 0 ]; then
    row "gpu tests (ctest)" FAIL "${passed:-0 passed} of ${total:-0}; see $out/gpu_ctest.log"
  elif [ $have_gpu -eq 1 ] && [ "$ran" -le 0 ]; then
    row "gpu tests (ctest)" FAIL "a GPU is present but every gpu test skipped or none ran"
  elif [ $have_gpu -eq 1 ] && [ "$skipped" -gt 0 ]; then
    row "gpu tests (ctest)" FAIL "$skipped skipped on a GPU: $(grep '(Skipped)' "$out/gpu_ctest.log" | head -3 | tr -s ' ' | paste -sd ';')"
  elif [ $have_gpu -eq 1 ]; then
    row "gpu tests (ctest)" pass "$ran ran, $skipped skipped"
  else
    row "gpu tests (ctest)" skip "$skipped skipped: no GPU"
  fi
  # As one process: what a caller's program sees (errors left behind by one test reach the next).
  step gpu_one_process 300 "$gpu_tests"
  one_rc=$?
  one_passed=$(grep -oE '\[  PASSED  \] [0-9]+' "$out/gpu_one_process.log" | grep -oE '[0-9]+$')
  one_skipped=$(grep -oE '\[  SKIPPED \] [0-9]+' "$out/gpu_one_process.log" | grep -oE '[0-9]+$' | head -1)
  if [ $one_rc -ne 0 ]; then
    row "gpu tests (one process)" FAIL "see $out/gpu_one_process.log"
  elif [ $have_gpu -eq 1 ] && [ "${one_skipped:-0}" -gt 0 ]; then
    row "gpu tests (one process)" FAIL "${one_skipped} skipped on a GPU; see $out/gpu_one_process.log"
  elif [ $have_gpu -eq 1 ]; then
    row "gpu tests (one process)" pass "${one_passed:-0} passed (${one_skipped:-0} skipped)"
  else
    row "gpu tests (one process)" skip "no GPU"
  fi
elif [ $have_gpu -eq 1 ]; then
  row "gpu tests" FAIL "a GPU is present but the gpu tests were not built (needs nvcc and CUPTI)"
else
  row "gpu tests" skip "not built (needs nvcc and CUPTI)"
fi

bench=$build/bench/limen_gpu_bench
if [ -x "$bench" ]; then
  step gpu_bench 300 "$bench" --json "$out/gpu_bench.json"
  rc=$?
  if [ $rc -eq 0 ]; then
    row "gpu benchmark" pass "table below"
  elif [ $rc -eq 77 ]; then
    row "gpu benchmark" skip "no GPU"
  else
    row "gpu benchmark" FAIL "see $out/gpu_bench.log"
  fi
else
  row "gpu benchmark" skip "not built (needs the CUDA runtime)"
fi

# The peers a user would pick instead (torch, cupy): skipped when not installed or no GPU.
peers=()
if command -v python3 >/dev/null; then
  step gpu_peers 240 python3 "$root/bench/gpu_peers.py" --json "$out/gpu_peers.json"
  rc=$?
  if [ $rc -eq 0 ]; then
    row "gpu peers (torch, cupy)" pass "$(grep -cE '_round_trip/[^ ]+ +[0-9]' "$out/gpu_peers.log") cases ran"
    peers=("$out/gpu_peers.json")
  elif [ $rc -eq 77 ]; then
    row "gpu peers (torch, cupy)" skip "$(grep -oE '\((torch|cupy) [^(]*' "$out/gpu_peers.log" | tr -d '(' | paste -sd ';')"
  else
    row "gpu peers (torch, cupy)" FAIL "see $out/gpu_peers.log"
  fi
else
  row "gpu peers (torch, cupy)" skip "no python3"
fi

# Ratios of limen against those peers, measured in this run.
if [ -f "$out/gpu_bench.json" ] && command -v python3 >/dev/null; then
  if step report 60 python3 "$root/bench/report.py" "$out/gpu_bench.json" "${peers[@]}" \
      --out "$out/report"; then
    row "ratio report" pass "$out/report/report.md"
  else
    row "ratio report" FAIL "see $out/report.log"
  fi
fi

echo
echo "== summary ($(( SECONDS )) s)${gpu_name:+ on $gpu_name}"
printf '%s\n' "${rows[@]}"
if [ -f "$out/gpu_bench.log" ] && grep -q '^case' "$out/gpu_bench.log"; then
  echo
  sed -n '/^case/,$p' "$out/gpu_bench.log"
fi
if [ -f "$out/report/report.md" ]; then
  echo
  cat "$out/report/report.md"
fi
exit $failed
