// SPDX-License-Identifier: Apache-2.0
/**
 * @file runtime.hpp
 * @brief runtime_info(): what CUDA support this process really has.
 */
#pragma once

#include <limen/error.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace limen {

/** @brief One CUDA device as the runtime reports it. */
struct DeviceInfo {
  int ordinal = 0;                         ///< the CUDA device ordinal
  std::string name;                        ///< e.g. "NVIDIA H100 80GB HBM3"
  int compute_major = 0;                   ///< compute capability, major
  int compute_minor = 0;                   ///< compute capability, minor
  std::size_t total_memory = 0;            ///< bytes of device memory
  bool managed_memory = false;             ///< supports cudaMallocManaged
  bool concurrent_managed_access = false;  ///< host and device may touch managed memory at once
  bool memory_pools = false;               ///< supports cudaMemPool_t (stream-ordered allocation)
  /**
   * @brief Set when the probe could not create a context on this device (for
   * example cudaErrorDevicesUnavailable: another process holds it in
   * exclusive-process mode). The probe tries the calling thread's current
   * device first, then the others in order, and stops at the first that works,
   * so devices after it are not tried (empty); a manager on a device without a
   * context fails at construction with `DeviceError`.
   */
  std::optional<DeviceErrorInfo> context_error;
};

/**
 * @brief The result of limen's one-time CUDA probe.
 *
 * The probe runs once per process, on first use, and is thread-safe. Any
 * failure of it (no toolkit compiled in, no driver, no GPU, no device that can
 * create a context) makes the pinned, device and shared managers use the CPU
 * fallback unless told to fail. It leaves no CUDA error pending and keeps the
 * calling thread's current device.
 */
struct RuntimeInfo {
  bool cuda_compiled = false;       ///< limen was built with the CUDA runtime
  int runtime_version = 0;          ///< e.g. 13000 for CUDA 13.0; 0 when not compiled in
  int driver_version = 0;           ///< 0 when there is no driver
  int device_count = 0;             ///< devices the runtime reports (0 without a driver)
  std::vector<DeviceInfo> devices;  ///< one entry per device
  bool fallback_active = true;      ///< backends emulate on the CPU
  std::string fallback_reason;      ///< why, in words; empty when a device works
  bool nvtx_compiled = false;       ///< limen was built with NVTX annotations
  bool nvtx_tool_attached = false;  ///< an NVTX tool (Nsight, compute-sanitizer) listens

  /**
   * @brief Why device @p ordinal is lost to this process, if it is: the sticky
   * CUDA error (e.g. a kernel's illegal address) a manager on it met. Unlike
   * the fields above this is live, not probed once; thread-safe.
   */
  [[nodiscard]] std::optional<DeviceErrorInfo> device_lost(unsigned ordinal) const;
};

/** @brief The process's CUDA facts, probed once. */
[[nodiscard]] const RuntimeInfo& runtime_info();

}  // namespace limen
