// SPDX-License-Identifier: Apache-2.0
// Host launchers for the kernels the tests use on a GPU. Plain C++: the tests
// include it with g++; gpu_kernels.cu implements it with nvcc (and
// gpu_kernels_none.cpp where there is no nvcc, and so no GPU). Each returns
// the launch's cudaError_t (0 on success).
#pragma once

#include "test_payload.hpp"

#include <limen/device_view.hpp>
#include <limen/stream.hpp>

#include <cstdint>

namespace limen::test::kernels {

/// Sets every element of view[index] to value, on stream.
int fill_through_view(DeviceSlotView<TestTensor> view, std::uint32_t index, std::uint32_t value,
                      StreamHandle stream);

/// Sets every element of *target to value, on stream.
int fill_through_pointer(TestTensor* target, std::uint32_t value, StreamHandle stream);

/// Spins for about `nanoseconds` on the device, then fills *target with value
/// (a long kernel whose write lands late).
int spin_then_fill(TestTensor* target, std::uint32_t value, std::uint64_t nanoseconds,
                   StreamHandle stream);

/// Spins for about `nanoseconds` on the device and touches nothing.
int spin(std::uint64_t nanoseconds, StreamHandle stream);

/// Writes through an invalid address: the context gets the sticky cudaErrorIllegalAddress.
int fault_illegal_address(StreamHandle stream);

/// *out = the sum of every element of items[0..n), on stream.
int checksum_items(const TestTensor* items, std::size_t n, std::uint64_t* out, StreamHandle stream);

/// *out = the sum of every element of view[indices[i]], i < n (indices in device memory).
int checksum_slots(DeviceSlotView<TestTensor> view, const std::uint32_t* indices, std::size_t n,
                   std::uint64_t* out, StreamHandle stream);

/// An int in mapped, page-locked host memory, 0 until gate_flag_open().
int* gate_flag_create();
void gate_flag_open(int* flag);
void gate_flag_destroy(int* flag);
/// Spins on the device until *flag (mapped host memory) is not 0.
int wait_for_flag(const int* flag, StreamHandle stream);

/// The sum of every element of view[indices[i]] (indices on the host), computed on the
/// device after the work on stream; waits for it.
int checksum_slots_of(DeviceSlotView<TestTensor> view, const std::uint32_t* indices,
                      std::size_t n, std::uint64_t* sum, StreamHandle stream);
/// The sum of every element of items[0..n) (device-visible), computed on the device; waits.
int checksum_items_of(const TestTensor* items, std::size_t n, std::uint64_t* sum,
                      StreamHandle stream);

/// Copies bytes from the host into device-visible target, as kernels on stream.
int write_bytes(void* target, const void* source, std::size_t bytes, StreamHandle stream);
/// Copies bytes of device-visible source to the host after the work on stream; waits for it.
int read_bytes(void* target, const void* source, std::size_t bytes, StreamHandle stream);

}  // namespace limen::test::kernels
