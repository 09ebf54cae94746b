// SPDX-License-Identifier: Apache-2.0
/**
 * @file device_manager.hpp
 * @brief DeviceManager<P>: message slots in device memory carved from a CUDA memory pool on the
 * configured device.
 */
#pragma once

#include <limen/detail/backend_manager.hpp>
#include <limen/manager_config.hpp>

#include <utility>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots live in device memory carved from a CUDA memory pool
 * on the configured device (the pool never trims), headers on the host. A read guard copies the
 * payload into a pinned host shadow and synchronizes (one copy for all concurrent readers); a write
 * guard copies it back when it ends, and a failed write-back poisons the slot.
 *
 * P must be trivially copyable. All memory, the stream and the events are
 * created at construction; store, read and free make no allocation call.
 * Without a working GPU (or built without CUDA) it runs on the CPU fallback,
 * which keeps the same semantics on host memory, unless the configuration
 * says `Fallback::Fail`. Single-threaded unless `ManagerConfig::thread_safe`. `create()` builds one
 * without exceptions; a moved-from manager is empty (capacity 0, every token
 * BadToken).
 */
template <class P>
class DeviceManager : public detail::BackendManager<P> {
 public:
  /** @brief Builds the manager; throws MemoryErrorException with the reason on failure. */
  explicit DeviceManager(ManagerConfig config = {})
      : detail::BackendManager<P>(MemoryKind::Device, std::move(config)) {}

  /** @brief Builds the manager, or returns why not; never throws. */
  [[nodiscard]] static Result<DeviceManager> create(ManagerConfig config = {}) {
    return detail::create_manager<DeviceManager>(std::move(config));
  }
};

}  // namespace limen
