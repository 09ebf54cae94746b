// SPDX-License-Identifier: Apache-2.0
// limen/cpu_device.hpp: streams, events and synchronisation on whichever side
// of the device seam this process uses; host tasks and host aliases on the
// CPU device.
#include "backend/device_handles.hpp"
#include "device/cpu_api.hpp"
#include "device/cpu_memory.hpp"
#include "device/cpu_settings.hpp"
#include "device/cpu_streams.hpp"

#include <limen/cpu_device.hpp>
#include <limen/runtime.hpp>

#include <string>

namespace limen::cpu_device {
namespace {

namespace device = detail::device;

thread_local std::optional<DeviceErrorInfo> last_failure;

/// success, or DeviceError with the call kept for last_error(). Like a runtime
/// call, a failure stays the thread's pending error too.
Result<void> check(device::Api& api, device::Status status, const char* call) {
  if (status == device::status::success) return {};
  last_failure = detail::error_info(api, status, call, "limen::cpu_device");
  return MemoryError::DeviceError;
}

}  // namespace

bool active() {
  return runtime_info().fallback_active;
}

Settings settings() {
  return detail::cpu::settings();
}

void set_schedule(Schedule schedule, std::uint64_t seed, std::uint32_t max_delay_us) {
  detail::cpu::apply_schedule(schedule, seed, max_delay_us);
}

Stats stats() {
  return detail::cpu::stats();
}

std::string describe() {
  if (!active()) return "limen runs on a CUDA device (the CPU device is not in use)";
  const Settings s = settings();
  const bool deferred = s.schedule == Schedule::Deferred;
  std::string text = "limen CPU device: " + std::to_string(s.devices) + " device(s), " +
                     (deferred ? "deferred" : "immediate") + " schedule";
  if (deferred) {
    text += ", seed " + std::to_string(s.seed) + ", delays up to " +
            std::to_string(s.max_delay_us) + " us; reproduce with LIMEN_CPU_DEVICE_SCHEDULE=" +
            "deferred LIMEN_CPU_DEVICE_SEED=" + std::to_string(s.seed) +
            " LIMEN_CPU_DEVICE_MAX_DELAY_US=" + std::to_string(s.max_delay_us);
  }
  return text;
}

Result<StreamHandle> create_stream(unsigned device_ordinal, bool blocking) {
  device::Api& api = device::active();
  const detail::DeviceScope scope(api, static_cast<int>(device_ordinal));
  if (auto ok = check(api, scope.status(), "cudaSetDevice"); !ok) return ok.error();
  device::Stream stream = nullptr;
  const auto status = api.stream_create(&stream, blocking ? 0U : device::stream_non_blocking);
  if (auto ok = check(api, status, "cudaStreamCreateWithFlags"); !ok) return ok.error();
  return StreamHandle(stream);
}

Result<void> destroy_stream(StreamHandle stream) {
  device::Api& api = device::active();
  return check(api, api.stream_destroy(stream.native()), "cudaStreamDestroy");
}

Result<void> synchronize(StreamHandle stream) {
  device::Api& api = device::active();
  return check(api, api.stream_synchronize(stream.native()), "cudaStreamSynchronize");
}

Result<void> synchronize_device(unsigned device_ordinal) {
  device::Api& api = device::active();
  const detail::DeviceScope scope(api, static_cast<int>(device_ordinal));
  if (auto ok = check(api, scope.status(), "cudaSetDevice"); !ok) return ok;
  return check(api, api.device_synchronize(), "cudaDeviceSynchronize");
}

Result<void> set_current_device(unsigned device_ordinal) {
  device::Api& api = device::active();
  return check(api, api.set_device(static_cast<int>(device_ordinal)), "cudaSetDevice");
}

bool lost() noexcept {
  if (!active()) return false;
  for (unsigned d = 0; d < settings().devices; ++d) {
    if (detail::cpu::device_dead(static_cast<int>(d))) return true;
  }
  return false;
}

unsigned current_device() {
  int current = 0;
  if (device::active().get_device(&current) != device::status::success) return 0;
  return static_cast<unsigned>(current);
}

Result<void> launch_host_task(StreamHandle stream, std::function<void()> task) {
  if (!active()) return MemoryError::Unsupported;
  device::Api& api = device::active();
  return check(api, detail::cpu::launch_host_task(stream.native(), std::move(task)),
               "launch_host_task");
}

void* host_alias(const void* device_pointer) noexcept {
  if (!active()) return const_cast<void*>(device_pointer);
  // In a kernel (a host task), another device's memory needs pool or peer access;
  // without it the kernel's device faults, as a GPU's would.
  if (const int device = detail::cpu::running_kernel_device(); device >= 0) {
    try {
      if (!detail::cpu::reachable_from(device_pointer, device)) detail::cpu::kernel_fault(device);
    } catch (...) {  // out of memory looking it up: no verdict
    }
  }
  return detail::cpu::host_view(device_pointer);
}

Result<EventHandle> create_event(bool blocking) {
  device::Api& api = device::active();
  device::Event event = nullptr;
  const unsigned flags =
      device::event_disable_timing | (blocking ? device::event_blocking_sync : 0U);
  if (auto ok = check(api, api.event_create(&event, flags), "cudaEventCreateWithFlags"); !ok) {
    return ok.error();
  }
  return EventHandle(event);
}

Result<void> destroy_event(EventHandle event) {
  device::Api& api = device::active();
  return check(api, api.event_destroy(event.native()), "cudaEventDestroy");
}

Result<void> record_event(EventHandle event, StreamHandle stream) {
  device::Api& api = device::active();
  return check(api, api.event_record(event.native(), stream.native()), "cudaEventRecord");
}

Result<void> wait_event(StreamHandle stream, EventHandle event) {
  device::Api& api = device::active();
  return check(api, api.stream_wait_event(stream.native(), event.native()),
               "cudaStreamWaitEvent");
}

Result<bool> query_event(EventHandle event) {
  device::Api& api = device::active();
  const device::Status status = api.event_query(event.native());
  if (status == device::status::not_ready) {
    detail::forget(api, status);
    return false;
  }
  if (auto ok = check(api, status, "cudaEventQuery"); !ok) return ok.error();
  return true;
}

Result<void> synchronize_event(EventHandle event) {
  device::Api& api = device::active();
  return check(api, api.event_synchronize(event.native()), "cudaEventSynchronize");
}

Result<void> begin_capture(StreamHandle stream, CaptureMode mode) {
  device::Api& api = device::active();
  return check(api,
               api.stream_begin_capture(stream.native(),
                                        static_cast<device::CaptureMode>(static_cast<int>(mode))),
               "cudaStreamBeginCapture");
}

Result<GraphHandle> end_capture(StreamHandle stream) {
  device::Api& api = device::active();
  device::Graph graph = nullptr;
  if (auto ok = check(api, api.stream_end_capture(stream.native(), &graph), "cudaStreamEndCapture");
      !ok) {
    return ok.error();
  }
  device::GraphExec exec = nullptr;
  const device::Status made = api.graph_instantiate(&exec, graph);
  (void)api.graph_destroy(graph);
  if (auto ok = check(api, made, "cudaGraphInstantiate"); !ok) return ok.error();
  return GraphHandle(exec);
}

Result<void> launch_graph(GraphHandle graph, StreamHandle stream) {
  device::Api& api = device::active();
  return check(api, api.graph_launch(graph.native(), stream.native()), "cudaGraphLaunch");
}

Result<void> destroy_graph(GraphHandle graph) {
  device::Api& api = device::active();
  return check(api, api.graph_exec_destroy(graph.native()), "cudaGraphExecDestroy");
}

std::optional<DeviceErrorInfo> last_error() {
  return last_failure;
}

int peek_at_last_error() {
  return device::active().peek_at_last_error();
}

int get_last_error() {
  return device::active().get_last_error();
}

}  // namespace limen::cpu_device
