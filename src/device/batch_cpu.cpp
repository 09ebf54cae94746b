// SPDX-License-Identifier: Apache-2.0
// Batches on the CPU device: the same element operations as the GPU's kernel
// (batch_ops.hpp), run by Thrust's CPP backend when the toolkit's CCCL headers
// are there (LIMEN_HOST_THRUST), by a plain loop otherwise. The CPU device
// calls it from a stream's work, with every pointer already host accessible.
#include "batch_ops.hpp"

#if LIMEN_HOST_THRUST
#define THRUST_HOST_SYSTEM THRUST_HOST_SYSTEM_CPP
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_CPP
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/system/cpp/execution_policy.h>
#endif

namespace limen::detail::batch {
namespace {

template <bool ToSlots>
void run(std::byte* packed, const std::uint32_t* indices, std::size_t count,
         const SlotPayloads& slots) {
  with_copy_op<ToSlots>(packed, indices, count, slots, [](auto op, std::size_t elements) {
#if LIMEN_HOST_THRUST
    thrust::for_each_n(thrust::cpp::par, thrust::counting_iterator<std::size_t>(0), elements, op);
#else
    for (std::size_t e = 0; e < elements; ++e) op(e);
#endif
  });
}

}  // namespace

void host_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices, std::size_t count,
               const SlotPayloads& slots) {
  if (to_slots) {
    run<true>(packed, indices, count, slots);
  } else {
    run<false>(packed, indices, count, slots);
  }
}

}  // namespace limen::detail::batch
