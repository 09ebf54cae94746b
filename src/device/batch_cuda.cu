// SPDX-License-Identifier: Apache-2.0
// Batches on a GPU: scatter packed payloads into (not necessarily contiguous)
// slots, gather slots into a contiguous array, with the element operations of
// batch_ops.hpp (shared with the CPU device's batch_cpu.cpp). One grid-stride
// kernel per batch, queued on the caller's stream with cudaLaunchKernel, which
// returns the launch status itself: limen never reads or clears the calling
// thread's last error, so a caller's own pending error neither fails a batch
// nor disappears (a Thrust launch checks and clears it). Type-erased by payload
// size and stride, so this file is compiled once for every payload type.
#include "batch_ops.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cstddef>

namespace limen::detail::batch {
namespace {

template <class Op>
__global__ void copy_elements(Op op, std::size_t elements) {
  const std::size_t step = static_cast<std::size_t>(gridDim.x) * blockDim.x;
  for (std::size_t e = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
       e < elements; e += step) {
    op(e);
  }
}

template <bool ToSlots>
int launch(std::byte* packed, const std::uint32_t* indices, std::size_t count,
           const SlotPayloads& slots, cudaStream_t stream) {
  return with_copy_op<ToSlots>(packed, indices, count, slots, [&](auto op, std::size_t elements) {
    constexpr unsigned threads = 256;
    const auto blocks =
        static_cast<unsigned>(std::clamp<std::size_t>((elements + threads - 1) / threads, 1, 4096));
    void* args[] = {&op, &elements};
    return static_cast<int>(cudaLaunchKernel(
        reinterpret_cast<const void*>(&copy_elements<decltype(op)>), dim3(blocks), dim3(threads),
        args, 0, stream));
  });
}

}  // namespace

int device_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices, std::size_t count,
                const SlotPayloads& slots, cudaStream_t stream) {
  return to_slots ? launch<true>(packed, indices, count, slots, stream)
                  : launch<false>(packed, indices, count, slots, stream);
}

}  // namespace limen::detail::batch
