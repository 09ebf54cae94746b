// SPDX-License-Identifier: Apache-2.0
// Batches on the CPU fallback: the same element operations as the device
// (batch_ops.hpp), run by Thrust's CPP backend when the toolkit's CCCL headers
// are there (LIMEN_HOST_THRUST), by a plain loop otherwise.
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

void host_scatter(const std::byte* packed, const std::uint32_t* indices, std::size_t count,
                  const SlotPayloads& slots) {
  // The op only reads from `packed` when writing slots.
  run<true>(const_cast<std::byte*>(packed), indices, count, slots);
}

void host_gather(std::byte* packed, const std::uint32_t* indices, std::size_t count,
                 const SlotPayloads& slots) {
  run<false>(packed, indices, count, slots);
}

}  // namespace limen::detail::batch
