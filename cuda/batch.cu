// SPDX-License-Identifier: Apache-2.0
// Batches on the GPU, with Thrust: scatter packed payloads into (not
// necessarily contiguous) slots, gather slots into a contiguous array. One
// kernel each, queued on the caller's stream without synchronizing
// (par_nosync); Thrust's temporaries, if any, come from the manager's pool.
// Type-erased by payload size and stride (src/backend/batch_ops.hpp), so this
// file is compiled once for every payload type.
#include "../src/backend/batch_ops.hpp"

#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cuda/execution_policy.h>

#include <cuda_runtime_api.h>

#include <cstddef>

namespace limen::detail::batch {

/// Thrust's temporaries from a stream-ordered pool (the manager's, or the device default).
/// (Not in the anonymous namespace: for_each needs no temporaries, and nvcc would
/// otherwise report the unused members.)
class PoolAllocator {
 public:
  using value_type = char;

  PoolAllocator(cudaMemPool_t pool, cudaStream_t stream) noexcept : pool_(pool), stream_(stream) {}

  char* allocate(std::ptrdiff_t bytes) {
    void* p = nullptr;
    const auto n = static_cast<std::size_t>(bytes);
    const cudaError_t status = pool_ != nullptr ? cudaMallocFromPoolAsync(&p, n, pool_, stream_)
                                                : cudaMallocAsync(&p, n, stream_);
    if (status != cudaSuccess) throw thrust::system_error(status, thrust::cuda_category());
    return static_cast<char*>(p);
  }
  void deallocate(char* p, std::size_t) noexcept { (void)cudaFreeAsync(p, stream_); }

 private:
  cudaMemPool_t pool_;
  cudaStream_t stream_;
};

namespace {

template <bool ToSlots>
int run(std::byte* packed, const std::uint32_t* indices, std::size_t count,
        const SlotPayloads& slots, void* stream, void* pool) {
  auto s = static_cast<cudaStream_t>(stream);
  PoolAllocator temporaries(static_cast<cudaMemPool_t>(pool), s);
  try {
    with_copy_op<ToSlots>(packed, indices, count, slots, [&](auto op, std::size_t elements) {
      thrust::for_each_n(thrust::cuda::par_nosync(temporaries).on(s),
                         thrust::counting_iterator<std::size_t>(0), elements, op);
    });
  } catch (const thrust::system_error& e) {
    return e.code().value() != 0 ? e.code().value() : static_cast<int>(cudaErrorLaunchFailure);
  }
  return static_cast<int>(cudaGetLastError());
}

}  // namespace

int device_scatter(const std::byte* packed, const std::uint32_t* indices, std::size_t count,
                   const SlotPayloads& slots, void* stream, void* pool) {
  return run<true>(const_cast<std::byte*>(packed), indices, count, slots, stream, pool);
}

int device_gather(std::byte* packed, const std::uint32_t* indices, std::size_t count,
                  const SlotPayloads& slots, void* stream, void* pool) {
  return run<false>(packed, indices, count, slots, stream, pool);
}

}  // namespace limen::detail::batch
