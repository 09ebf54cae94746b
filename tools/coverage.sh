#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Line coverage of the backends (src/backend/), the device seam (src/device/)
# and the pinned buffer pool, from a CUDA-enabled build run on the CPU device
# in both schedules. What stays uncovered on this machine should be only the
# CUDA forwarder (src/device/cuda_api.cpp), which runs on a GPU alone.
#
#   bash tools/coverage.sh        # about 3 minutes on 2 cores; needs gcovr (apt-get install gcovr)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v gcovr >/dev/null || { echo "gcovr is missing: apt-get install gcovr"; exit 1; }
cmake --preset coverage >/dev/null
cmake --build --preset coverage
find build/coverage -name '*.gcda' -delete
for schedule in immediate deferred; do
  LIMEN_CPU_DEVICE_SCHEDULE=$schedule ctest --preset coverage >/dev/null
done
common=(--root . --object-directory build/coverage --exclude-unreachable-branches
        --exclude-directories 'build/coverage/CMakeFiles/[0-9]')  # CMake's compiler-id objects
echo "== the backends, the pinned pool and the CPU device (the code written once over the seam)"
gcovr "${common[@]}" --filter 'src/backend/' --filter 'src/pinned_buffer_pool\.cpp' \
  --filter 'src/device/' --exclude 'src/device/cuda_api\.cpp' --exclude 'src/device/batch_cuda\.cu'
echo "== src/backend/ and src/pinned_buffer_pool.cpp alone"
gcovr "${common[@]}" --filter 'src/backend/' --filter 'src/pinned_buffer_pool\.cpp' | tail -3
echo "== the CUDA forwarder (runs on a GPU only)"
gcovr "${common[@]}" --filter 'src/device/cuda_api\.cpp' | tail -3
