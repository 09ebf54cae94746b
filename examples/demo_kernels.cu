// SPDX-License-Identifier: Apache-2.0
// The demo's kernel: scales the readings of a batch of tokens in place.
#include "demo_kernels.hpp"

#include <cuda_runtime_api.h>

namespace limen::cuda::detail {
namespace {

__global__ void scale_kernel(DeviceSlotView<demo::Reading> view, demo::TokenBatch batch,
                             float factor) {
  const unsigned i = threadIdx.x;
  if (i < batch.count) demo::scale_reading(view[batch.index[i]], factor);
}

__global__ void scale_array_kernel(demo::Reading* readings, std::size_t n, float factor) {
  const std::size_t i = blockIdx.x * static_cast<std::size_t>(blockDim.x) + threadIdx.x;
  if (i < n) demo::scale_reading(readings[i], factor);
}

}  // namespace
}  // namespace limen::cuda::detail

namespace limen::demo {

int scale_on_device(DeviceSlotView<Reading> view, const TokenBatch& batch, float factor,
                    StreamHandle stream) {
  cuda::detail::scale_kernel<<<1, 32, 0, stream.native()>>>(view, batch, factor);
  return static_cast<int>(cudaGetLastError());
}

int scale_array_on_device(Reading* readings, std::size_t n, float factor, StreamHandle stream) {
  const auto blocks = static_cast<unsigned>((n + 255) / 256);
  cuda::detail::scale_array_kernel<<<blocks == 0 ? 1 : blocks, 256, 0, stream.native()>>>(readings, n,
                                                                                         factor);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace limen::demo
