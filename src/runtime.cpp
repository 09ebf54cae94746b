// SPDX-License-Identifier: Apache-2.0
// The one-time CUDA probe behind runtime_info().
#include "runtime_state.hpp"

#include <limen/config.hpp>
#include <limen/detail/nvtx.hpp>
#include <limen/memory_class.hpp>
#include <limen/runtime.hpp>

#if LIMEN_HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include <array>
#include <mutex>
#include <string>

namespace limen {
namespace {

#if LIMEN_HAVE_CUDA
std::string describe(cudaError_t error) {
  return std::string(cudaGetErrorName(error)) + " (" + cudaGetErrorString(error) + ")";
}

DeviceInfo query_device(int ordinal) {
  DeviceInfo info;
  info.ordinal = ordinal;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, ordinal) == cudaSuccess) {
    info.name = prop.name;
    info.compute_major = prop.major;
    info.compute_minor = prop.minor;
    info.total_memory = prop.totalGlobalMem;
    info.managed_memory = prop.managedMemory != 0;
    info.concurrent_managed_access = prop.concurrentManagedAccess != 0;
  }
  int pools = 0;
  if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, ordinal) == cudaSuccess) {
    info.memory_pools = pools != 0;
  }
  return info;
}

RuntimeInfo probe() {
  RuntimeInfo info;
  info.cuda_compiled = true;
  (void)cudaRuntimeGetVersion(&info.runtime_version);
  (void)cudaDriverGetVersion(&info.driver_version);
  int count = 0;
  // Any failure here means "no device": the error may be sticky for the whole
  // process (cudaErrorInsufficientDriver without a driver), so never retry.
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) {
    info.fallback_reason = "cudaGetDeviceCount failed: " + describe(error);
    return info;
  }
  if (count <= 0) {
    info.fallback_reason = "the CUDA runtime reports no device";
    return info;
  }
  info.device_count = count;
  for (int d = 0; d < count; ++d) info.devices.push_back(query_device(d));
  info.fallback_active = false;
  return info;
}
#else
RuntimeInfo probe() {
  RuntimeInfo info;
  info.fallback_reason =
      "limen was built without the CUDA runtime (LIMEN_CUDA=OFF or no CUDA toolkit)";
  return info;
}
#endif

std::mutex health_mutex;
std::array<std::optional<DeviceErrorInfo>, max_device_ordinal + 1> lost_devices;

}  // namespace

namespace detail {
void report_device_lost(int ordinal, const DeviceErrorInfo& cause) noexcept {
  if (ordinal < 0 || ordinal > max_device_ordinal) return;
  try {
    std::lock_guard lock(health_mutex);
    auto& slot = lost_devices[static_cast<std::size_t>(ordinal)];
    if (!slot) slot = cause;  // the first cause is the one that matters
  } catch (...) {             // out of memory copying the text: the managers still know
  }
}
}  // namespace detail

std::optional<DeviceErrorInfo> RuntimeInfo::device_lost(unsigned ordinal) const {
  if (ordinal > max_device_ordinal) return std::nullopt;
  std::lock_guard lock(health_mutex);
  return lost_devices[ordinal];
}

const RuntimeInfo& runtime_info() {
  static const RuntimeInfo info = [] {  // thread-safe, once per process
    RuntimeInfo probed = probe();
    probed.nvtx_compiled = detail::nvtx::compiled_in();
    probed.nvtx_tool_attached = detail::nvtx::tool_attached();
    return probed;
  }();
  return info;
}

}  // namespace limen
