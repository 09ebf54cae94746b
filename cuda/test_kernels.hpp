// Host launchers for the kernels the gpu-labelled tests use. Plain C++: the
// tests include it with g++; cuda/test_kernels.cu implements it with nvcc.
#pragma once

#include "../tests/test_payload.hpp"

#include <limen/device_view.hpp>
#include <limen/stream.hpp>

#include <cstdint>

namespace limen::cuda::testing {

/// Sets every element of view[index] to value, on stream. Returns the launch's cudaError_t.
int fill_through_view(DeviceSlotView<test::TestTensor> view, std::uint32_t index,
                      std::uint32_t value, StreamHandle stream);

/// Sets every element of *target to value, on stream. Returns the launch's cudaError_t.
int fill_through_pointer(test::TestTensor* target, std::uint32_t value, StreamHandle stream);

/// Spins for about `nanoseconds` on the device, then fills *target with value.
int spin_then_fill(test::TestTensor* target, std::uint32_t value, std::uint64_t nanoseconds,
                   StreamHandle stream);

}  // namespace limen::cuda::testing
