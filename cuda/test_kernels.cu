// Kernels for the gpu-labelled tests: they write slots through a DeviceSlotView
// or a lease's device pointer, optionally after spinning (a long-running kernel).
#include "test_kernels.hpp"

#include <cuda_runtime_api.h>

namespace limen::cuda::detail {
namespace {

// std::array's accessors are host-only constexpr functions; the tensor is nine
// u32 in a row, so write them through a plain pointer.
__device__ void fill(test::TestTensor& t, std::uint32_t value) {
  auto* words = reinterpret_cast<std::uint32_t*>(&t);
  for (int i = 0; i < 9; ++i) words[i] = value;
}

__global__ void fill_view_kernel(DeviceSlotView<test::TestTensor> view, std::uint32_t index,
                                 std::uint32_t value) {
  fill(view[index], value);
}

__global__ void fill_pointer_kernel(test::TestTensor* target, std::uint32_t value) {
  fill(*target, value);
}

__device__ std::uint64_t global_nanoseconds() {
  std::uint64_t t;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
  return t;
}

__global__ void spin_kernel(test::TestTensor* target, std::uint32_t value, std::uint64_t ns) {
  const std::uint64_t start = global_nanoseconds();
  while (global_nanoseconds() - start < ns) {
  }
  fill(*target, value);
}

int launched() {
  return static_cast<int>(cudaGetLastError());
}

}  // namespace
}  // namespace limen::cuda::detail

namespace limen::cuda::testing {

int fill_through_view(DeviceSlotView<test::TestTensor> view, std::uint32_t index,
                      std::uint32_t value, StreamHandle stream) {
  detail::fill_view_kernel<<<1, 1, 0, stream.as<cudaStream_t>()>>>(view, index, value);
  return detail::launched();
}

int fill_through_pointer(test::TestTensor* target, std::uint32_t value, StreamHandle stream) {
  detail::fill_pointer_kernel<<<1, 1, 0, stream.as<cudaStream_t>()>>>(target, value);
  return detail::launched();
}

int spin_then_fill(test::TestTensor* target, std::uint32_t value, std::uint64_t nanoseconds,
                   StreamHandle stream) {
  detail::spin_kernel<<<1, 1, 0, stream.as<cudaStream_t>()>>>(target, value, nanoseconds);
  return detail::launched();
}

}  // namespace limen::cuda::testing
