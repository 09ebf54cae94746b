#!/usr/bin/env bash
# GPU check for limen: on a machine with a GPU, build the `default` preset,
# run the gpu-labelled tests (and the whole suite), the demo and the GPU
# benchmarks, and print a short table. Meant to finish in under 5 minutes.
#
#   bash bench/gpu_check.sh            # from the repository root
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-build/gpu_check}
mkdir -p "$out"

echo "== machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null \
  || echo "nvidia-smi not available"
nproc

start=$(date +%s)
echo "== configure + build (default preset)"
if ! cmake --preset default -DLIMEN_BUILD_BENCHMARKS=ON >"$out/configure.log" 2>&1; then
  tail -30 "$out/configure.log"; exit 1
fi
if ! cmake --build --preset default -j "$(nproc)" >"$out/build.log" 2>&1; then
  tail -40 "$out/build.log"; exit 1
fi
echo "built in $(( $(date +%s) - start )) s"

echo "== demo"
./build/default/examples/limen_demo | tee "$out/demo.txt"

echo "== gpu-labelled tests"
ctest --test-dir build/default -L gpu --output-on-failure >"$out/gpu_tests.txt" 2>&1
gpu_rc=$?
tail -15 "$out/gpu_tests.txt"

echo "== full suite"
ctest --test-dir build/default -j "$(nproc)" --output-on-failure >"$out/all_tests.txt" 2>&1
all_rc=$?
tail -6 "$out/all_tests.txt"

echo "== GPU benchmarks"
bench_rc=0
for b in limen_bench_gpu limen_bench_concurrent limen_bench_nvtx; do
  exe=build/default/bench/$b
  if [ ! -x "$exe" ]; then
    echo "$b: not built"; bench_rc=1; continue
  fi
  timeout 120 "$exe" --benchmark_min_time=0.2 --benchmark_color=false >"$out/$b.txt" 2>&1 \
    || bench_rc=$?
  echo "-- $b"
  grep -E "^(device|raw|pinned|shared)_|x$" "$out/$b.txt" | tail -20
done

echo
echo "== summary"
printf '%-28s %s\n' "gpu tests" "$( [ $gpu_rc -eq 0 ] && echo pass || echo FAIL )"
printf '%-28s %s\n' "gpu tests skipped" "$(grep -c 'Skipped' "$out/gpu_tests.txt" || true)"
printf '%-28s %s\n' "full suite" "$( [ $all_rc -eq 0 ] && echo pass || echo FAIL )"
printf '%-28s %s\n' "benchmarks" "$( [ $bench_rc -eq 0 ] && echo ran || echo FAIL )"
printf '%-28s %s s\n' "wall time" "$(( $(date +%s) - start ))"
[ $gpu_rc -eq 0 ] && [ $all_rc -eq 0 ] && [ $bench_rc -eq 0 ]
