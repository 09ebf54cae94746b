// SPDX-License-Identifier: Apache-2.0
// The one-time probe behind runtime_info(): does a CUDA device work? If not,
// limen runs on the CPU device (src/device/).
#include <limen/config.hpp>

#include "backend/device_handles.hpp"
#include "device/api.hpp"
#include "runtime_state.hpp"

#include <limen/detail/nvtx.hpp>
#include <limen/memory_class.hpp>
#include <limen/runtime.hpp>

#include <array>
#include <mutex>
#include <string>
#include <vector>

namespace limen {
namespace {

namespace device = detail::device;

std::string describe(device::Api& api, device::Status error) {
  return std::string(api.error_name(error)) + " (" + api.error_string(error) + ")";
}

DeviceInfo query_device(device::Api& api, int ordinal) {
  DeviceInfo info;
  info.ordinal = ordinal;
  device::Properties properties;
  if (api.device_properties(&properties, ordinal) == device::status::success) {
    info.name = properties.name;
    info.compute_major = properties.major;
    info.compute_minor = properties.minor;
    info.total_memory = properties.total_memory;
    info.managed_memory = properties.managed_memory;
    info.concurrent_managed_access = properties.concurrent_managed_access;
  }
  bool pools = false;
  if (api.memory_pools_supported(&pools, ordinal) == device::status::success) {
    info.memory_pools = pools;
  }
  return info;
}

/// Creates a context on the caller's current device, then on the others in
/// order, until one works (the rest are left untouched: a context costs device
/// memory, and in a job with one process per GPU, or in exclusive-process
/// mode, touching another process's GPU would take it from that process).
/// Returns whether one did; the caller's current device is kept.
bool find_usable_device(device::Api& api, RuntimeInfo& info) {
  int caller = 0;
  if (api.get_device(&caller) != device::status::success) caller = 0;
  std::vector<DeviceInfo*> order;
  for (DeviceInfo& d : info.devices) {
    if (d.ordinal == caller)
      order.insert(order.begin(), &d);
    else
      order.push_back(&d);
  }
  bool usable = false;
  for (DeviceInfo* dp : order) {
    DeviceInfo& d = *dp;
    const device::Status error = api.set_device(d.ordinal);
    if (error == device::status::success) {
      usable = true;
      break;
    }
    (void)api.get_last_error();  // the probe's failure is not the caller's error
    const std::string where = "the runtime probe, device " + std::to_string(d.ordinal);
    d.context_error = detail::error_info(api, error, "cudaSetDevice", where.c_str());
  }
  if (api.set_device(caller) != device::status::success) (void)api.get_last_error();
  return usable;
}

}  // namespace

namespace detail {

RuntimeInfo probe_runtime(device::Api* cuda) {
  RuntimeInfo info;
  if (cuda == nullptr) {
    info.fallback_reason =
        "limen was built without the CUDA runtime (LIMEN_CUDA=OFF or no CUDA toolkit)";
    return info;
  }
  info.cuda_compiled = true;
  (void)cuda->runtime_version(&info.runtime_version);
  (void)cuda->driver_version(&info.driver_version);
  int count = 0;
  // Any failure here means "no device": the error may be sticky for the whole
  // process (cudaErrorInsufficientDriver without a driver), so never retry.
  const device::Status error = cuda->device_count(&count);
  if (error != device::status::success) {
    (void)cuda->get_last_error();  // the probe's failure is not the caller's error
    info.fallback_reason = "cudaGetDeviceCount failed: " + describe(*cuda, error);
    return info;
  }
  if (count <= 0) {
    info.fallback_reason = "the CUDA runtime reports no device";
    return info;
  }
  info.device_count = count;
  for (int d = 0; d < count; ++d) info.devices.push_back(query_device(*cuda, d));
  if (!find_usable_device(*cuda, info)) {
    const DeviceErrorInfo& first = *info.devices.front().context_error;
    info.fallback_reason = "no device could create a context (device 0: " + first.name + ", " +
                           first.text + ")";  // every device has one here
    return info;
  }
  info.fallback_active = false;
  return info;
}

}  // namespace detail

namespace {

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

void forget_lost_devices() noexcept {
  std::lock_guard lock(health_mutex);
  for (auto& slot : lost_devices) slot.reset();
}
}  // namespace detail

std::optional<DeviceErrorInfo> RuntimeInfo::device_lost(unsigned ordinal) const {
  if (ordinal > max_device_ordinal) return std::nullopt;
  std::lock_guard lock(health_mutex);
  return lost_devices[ordinal];
}

const RuntimeInfo& runtime_info() {
  static const RuntimeInfo info = [] {  // thread-safe, once per process
    RuntimeInfo probed = detail::probe_runtime(device::cuda());
    probed.nvtx_compiled = detail::nvtx::compiled_in();
    probed.nvtx_tool_attached = detail::nvtx::tool_attached();
    return probed;
  }();
  return info;
}

}  // namespace limen
