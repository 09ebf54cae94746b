// SPDX-License-Identifier: Apache-2.0
// The demo's payload and its transform: one function, run by a CUDA kernel on
// a GPU and by a host loop in the CPU fallback. Plain C++ (g++ and nvcc).
#pragma once

#include <limen/config.hpp>
#include <limen/device_view.hpp>
#include <limen/stream.hpp>
#include <limen/token.hpp>

#include <cstddef>
#include <cstdint>

namespace limen::demo {

/// A sensor reading: four floats.
struct Reading {
  float values[4];
};

/// The transform the demo applies to a reading, on the device or on the host.
LIMEN_HD inline void scale_reading(Reading& r, float factor) {
  for (float& v : r.values) v *= factor;
}

/// Up to 32 slot indices, passed to the kernel by value.
struct TokenBatch {
  std::uint32_t count = 0;
  std::uint32_t index[32] = {};
};

/// The host path: the same transform over the view (host memory in the fallback).
inline void scale_on_host(DeviceSlotView<Reading> view, const TokenBatch& batch, float factor) {
  for (std::uint32_t i = 0; i < batch.count; ++i) scale_reading(view[batch.index[i]], factor);
}

/// The device path: one thread per token, on stream. Returns the launch's cudaError_t.
/// Only defined when limen is built with nvcc (LIMEN_HAVE_CUDA_KERNELS).
int scale_on_device(DeviceSlotView<Reading> view, const TokenBatch& batch, float factor,
                    StreamHandle stream);

/// Scales n contiguous readings (device-accessible memory), on stream; returns the
/// launch's cudaError_t. Only with LIMEN_HAVE_CUDA_KERNELS.
int scale_array_on_device(Reading* readings, std::size_t n, float factor, StreamHandle stream);

/// The same on the host.
inline void scale_array_on_host(Reading* readings, std::size_t n, float factor) {
  for (std::size_t i = 0; i < n; ++i) scale_reading(readings[i], factor);
}

}  // namespace limen::demo
