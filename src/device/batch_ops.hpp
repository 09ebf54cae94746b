// SPDX-License-Identifier: Apache-2.0
// The element operations of batches, written once for the CPU device (Thrust's
// CPP backend, or plain loops: batch_cpu.cpp) and the GPU (batch_cuda.cu): copy item i of a
// packed array into slot indices[i], and back. Type-erased by payload size and
// slot stride, moved in units of 16, 8, 4 or 1 bytes (the widest that every
// address allows), so one instantiation serves every payload type.
#pragma once

#include <limen/config.hpp>

#include <cstddef>
#include <cstdint>

namespace limen::detail::batch {

/** @brief Where the payloads of a manager's slots are, as device work sees them. */
struct SlotPayloads {
  std::byte* first = nullptr;  ///< slot 0's payload
  std::size_t stride = 0;      ///< bytes from one slot to the next
  std::size_t bytes = 0;       ///< payload bytes (what moves)
};

/** @brief `N` bytes moved as one value (a vector load and store where the target has them). */
template <std::size_t N>
struct alignas(N) Unit {
  unsigned char bytes[N];
};

/** @brief The widest unit that divides the payload size and every address involved. */
inline std::size_t unit_for(const SlotPayloads& slots, const void* packed) noexcept {
  const auto bits = static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(slots.first)) |
                    slots.stride | slots.bytes |
                    static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(packed));
  for (std::size_t unit = 16; unit > 1; unit /= 2) {
    if ((bits & (unit - 1)) == 0) return unit;
  }
  return 1;
}

/** @brief Element e of a batch: unit e % per of item e / per. */
template <std::size_t N, bool ToSlots>
struct CopyOp {
  std::byte* packed;
  const std::uint32_t* indices;
  SlotPayloads slots;

  LIMEN_HD void operator()(std::size_t e) const {
    const std::size_t per = slots.bytes / N;
    const std::size_t item = e / per;
    const std::size_t offset = (e % per) * N;
    auto* slot = slots.first + static_cast<std::size_t>(indices[item]) * slots.stride + offset;
    auto* flat = packed + item * slots.bytes + offset;
    if constexpr (ToSlots) {
      *reinterpret_cast<Unit<N>*>(slot) = *reinterpret_cast<const Unit<N>*>(flat);
    } else {
      *reinterpret_cast<Unit<N>*>(flat) = *reinterpret_cast<const Unit<N>*>(slot);
    }
  }
};

/** @brief Calls `f(CopyOp<unit, ToSlots>{...}, elements)` with the widest unit that fits. */
template <bool ToSlots, class F>
decltype(auto) with_copy_op(std::byte* packed, const std::uint32_t* indices, std::size_t count,
                            const SlotPayloads& slots, F&& f) {
  switch (unit_for(slots, packed)) {
    case 16: return f(CopyOp<16, ToSlots>{packed, indices, slots}, count * (slots.bytes / 16));
    case 8: return f(CopyOp<8, ToSlots>{packed, indices, slots}, count * (slots.bytes / 8));
    case 4: return f(CopyOp<4, ToSlots>{packed, indices, slots}, count * (slots.bytes / 4));
    default: return f(CopyOp<1, ToSlots>{packed, indices, slots}, count * slots.bytes);
  }
}

/**
 * @brief The CPU device's batch kernel: item i of @p packed into slot
 * @p indices[i] (@p to_slots) or back, i < @p count; every pointer host
 * accessible. Thrust's CPP backend where the toolkit's CCCL headers are
 * (batch_cpu.cpp), a plain loop otherwise. The GPU's is batch_cuda.cu.
 */
void host_copy(bool to_slots, std::byte* packed, const std::uint32_t* indices, std::size_t count,
               const SlotPayloads& slots);

}  // namespace limen::detail::batch
