// SPDX-License-Identifier: Apache-2.0
// The demo's payload and its transform: one function, run by a CUDA kernel on
// a GPU and by a host task on the CPU device (queued on the same stream, so it
// is ordered exactly as the kernel would be). Plain C++ (g++ and nvcc).
#pragma once

#include <limen/config.hpp>
#include <limen/cpu_device.hpp>
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

/// The device path: one thread per token, on stream. Returns the launch's cudaError_t.
/// Only defined when limen is built with nvcc (LIMEN_HAVE_CUDA_KERNELS).
int scale_on_device(DeviceSlotView<Reading> view, const TokenBatch& batch, float factor,
                    StreamHandle stream);

/// Scales n contiguous readings (device-accessible memory), on stream; returns the
/// launch's cudaError_t. Only with LIMEN_HAVE_CUDA_KERNELS.
int scale_array_on_device(Reading* readings, std::size_t n, float factor, StreamHandle stream);

/// Scales the readings of @p batch through @p view on @p stream: a kernel on a
/// GPU, a host task on the CPU device. Returns 0 or the CUDA error of the launch.
inline int scale(DeviceSlotView<Reading> view, const TokenBatch& batch, float factor,
                 StreamHandle stream) {
  if (cpu_device::active()) {
    const auto queued = cpu_device::launch_host_task(stream, [view, batch, factor] {
      const DeviceSlotView<Reading> slots = cpu_device::host_alias(view);  // the device's bytes
      for (std::uint32_t i = 0; i < batch.count; ++i) scale_reading(slots[batch.index[i]], factor);
    });
    return queued ? 0 : -1;
  }
#if LIMEN_HAVE_CUDA_KERNELS
  return scale_on_device(view, batch, factor, stream);
#else
  return -1;  // a GPU but no kernels: limen was built without nvcc
#endif
}

/// Scales @p n contiguous readings (device-accessible memory) on @p stream, likewise.
inline int scale_array(Reading* readings, std::size_t n, float factor, StreamHandle stream) {
  if (cpu_device::active()) {
    const auto queued = cpu_device::launch_host_task(stream, [readings, n, factor] {
      Reading* items = cpu_device::host_alias(readings);
      for (std::size_t i = 0; i < n; ++i) scale_reading(items[i], factor);
    });
    return queued ? 0 : -1;
  }
#if LIMEN_HAVE_CUDA_KERNELS
  return scale_array_on_device(readings, n, factor, stream);
#else
  return -1;
#endif
}

/// Where scale() runs, in words.
inline const char* where_kernels_run() {
  return cpu_device::active() ? "the CPU device (a host task on the stream)" : "the GPU";
}

}  // namespace limen::demo
