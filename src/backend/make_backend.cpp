// SPDX-License-Identifier: Apache-2.0
// Builds the backend of a manager (and the memory of a pinned buffer pool) on
// the device seam this process uses: the GPU when one works, else the CPU
// device, unless the configuration forbids the latter.
#include "pool_memory.hpp"
#include "slot_backend.hpp"

#include <limen/detail/fixed_array.hpp>
#include <limen/runtime.hpp>

#include <cstddef>
#include <iterator>
#include <new>
#include <optional>
#include <string>

namespace limen::detail {

// The backend of each backend-served kind, one per file (<kind>_backend.cpp);
// backend_factories below lists them in kind_table's order.
std::unique_ptr<SlotBackend> make_pinned_backend(const BackendSpec& spec, device::Api& api);
std::unique_ptr<SlotBackend> make_device_backend(const BackendSpec& spec, device::Api& api);
std::unique_ptr<SlotBackend> make_managed_backend(const BackendSpec& spec, device::Api& api);

namespace {

/// Why device @p ordinal cannot be served on @p api under @p fallback, if it cannot.
template <class OrError>
std::optional<OrError> refusal(device::Api& api, unsigned ordinal, Fallback fallback) {
  if (ordinal > max_device_ordinal) {
    return OrError{nullptr, MemoryError::Unsupported,
                   "device ordinal " + std::to_string(ordinal) + " is above 15"};
  }
  if (api.is_cpu() && fallback == Fallback::Fail) {
    return OrError{nullptr, MemoryError::Unsupported,
                   "no CUDA device available and the configuration forbids the CPU device: " +
                       runtime_info().fallback_reason};
  }
  int count = 0;
  if (api.device_count(&count) != device::status::success) count = 0;
  if (ordinal >= static_cast<unsigned>(count)) {
    return OrError{nullptr, MemoryError::Unsupported,
                   "device ordinal " + std::to_string(ordinal) + " but " +
                       (api.is_cpu() ? "the CPU device models " : "the CUDA runtime reports ") +
                       std::to_string(count) + " device(s)" +
                       (api.is_cpu() ? " (set LIMEN_CPU_DEVICES for more)" : "")};
  }
  return std::nullopt;
}

/// Why a device listed in ManagerConfig::peer_access cannot reach @p device's memory, if one
/// cannot. Pinned and managed slots are reachable from every device: only the ordinals count.
std::optional<BackendOrError> peer_refusal(device::Api& api, const ManagerConfig& config,
                                           MemoryKind kind) {
  const int device = static_cast<int>(config.device);
  int count = 0;
  if (const device::Status s = api.device_count(&count); s != device::status::success) {
    (void)api.get_last_error();
    return std::nullopt;  // refusal() already asked; construction reports the device's state
  }
  for (const unsigned peer : config.peer_access) {
    if (peer == config.device) continue;  // a device always reaches its own memory
    const std::string name = "peer_access device " + std::to_string(peer);
    if (peer >= static_cast<unsigned>(count)) {
      return BackendOrError{nullptr, MemoryError::Unsupported,
                            name + " but there are " + std::to_string(count) + " device(s)"};
    }
    if (kind != MemoryKind::Device) continue;
    bool can = false;
    if (api.can_access_peer(&can, static_cast<int>(peer), device) != device::status::success) {
      (void)api.get_last_error();
      can = false;
    }
    if (!can) {
      return BackendOrError{nullptr, MemoryError::Unsupported,
                            name + " cannot reach device " + std::to_string(device) +
                                "'s memory (cudaDeviceCanAccessPeer)"};
    }
  }
  return std::nullopt;
}

/**
 * Why managed slots cannot be served on @p device, if they cannot. Without
 * concurrentManagedAccess (WSL2, Windows, some virtual GPUs) the host may not
 * touch any managed memory while a kernel runs that could reach it; one slot
 * block shared by leases on any stream cannot be confined to one stream
 * (cudaStreamAttachMemAsync attaches whole allocations), so only a
 * device-wide wait would make host access safe. limen refuses instead.
 */
std::optional<BackendOrError> managed_refusal(device::Api& api, int device) {
  device::Properties p;
  if (api.device_properties(&p, device) != device::status::success)
    return std::nullopt;  // init says
  const std::string which = "device " + std::to_string(device);
  if (!p.managed_memory) {
    return BackendOrError{nullptr, MemoryError::Unsupported,
                          which + " has no managed memory (cudaDevAttrManagedMemory)"};
  }
  if (!p.concurrent_managed_access) {
    return BackendOrError{
        nullptr, MemoryError::Unsupported,
        which +
            " has no concurrent managed access (cudaDevAttrConcurrentManagedAccess: "
            "WSL2, Windows, some virtual GPUs): host access to managed slots could fault "
            "while any kernel runs; use MemoryClass::device() or MemoryClass::pinned()"};
  }
  return std::nullopt;
}

/// Each backend-served kind's backend, indexed like kind_table (host memory has none).
using BackendFactory = std::unique_ptr<SlotBackend> (*)(const BackendSpec&, device::Api&);
constexpr BackendFactory backend_factories[] = {
    nullptr,               // Host: HeapManager and friends, no backend
    make_pinned_backend,   // PinnedHost
    make_device_backend,   // Device
    make_managed_backend,  // Shared (managed memory)
};
static_assert(std::size(backend_factories) == kind_count,
              "limen: one backend factory per row of kind_table");

BackendOrError build(const BackendSpec& spec) {
  device::Api& api = device::active();
  if (auto refused = refusal<BackendOrError>(api, spec.config.device, spec.config.fallback)) {
    return std::move(*refused);
  }
  if (auto refused = peer_refusal(api, spec.config, spec.kind)) return std::move(*refused);
  if (spec.kind == MemoryKind::Shared) {  // managed memory
    if (auto refused = managed_refusal(api, static_cast<int>(spec.config.device))) {
      return std::move(*refused);
    }
  }
  const BackendFactory factory = backend_factories[static_cast<std::size_t>(spec.kind)];
  if (factory == nullptr) {
    return {nullptr, MemoryError::Unsupported, "host memory is not served by a backend"};
  }
  std::unique_ptr<SlotBackend> backend = factory(spec, api);
  if (auto ready = backend->init(); !ready) {
    const auto error = backend->last_error();
    return {nullptr, ready.error(),
            error ? error->call + " failed: " + error->name + " (" + error->text + ") at " +
                        error->where
                  : "device initialisation failed"};
  }
  return {std::move(backend), MemoryError::Unsupported, {}};
}

}  // namespace

PoolMemoryOrError make_pool_memory(const PoolConfig& config) noexcept {
  try {
    device::Api& api = device::active();
    if (auto refused = refusal<PoolMemoryOrError>(api, config.device, config.fallback)) {
      return std::move(*refused);
    }
    return {std::make_unique<PoolMemory>(api, static_cast<int>(config.device)),
            MemoryError::Unsupported,
            {}};
  } catch (const std::bad_alloc&) {
    return {nullptr, MemoryError::OutOfMemory, "the pool's host bookkeeping"};
  }
}

BackendOrError make_backend(const BackendSpec& spec) noexcept {
  try {
    if (!checked_product(spec.layout.capacity, spec.layout.stride)) {
      return {nullptr, MemoryError::Unsupported,
              "capacity x slot size overflows the address space"};
    }
    return build(spec);
  } catch (const std::bad_alloc&) {
    return {nullptr, MemoryError::OutOfMemory, "the backend's host bookkeeping"};
  }
}

}  // namespace limen::detail
