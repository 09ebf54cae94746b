// SPDX-License-Identifier: Apache-2.0
/**
 * @file shared_manager.hpp
 * @brief SharedManager<P>: message slots in CUDA managed memory.
 */
#pragma once

#include <limen/detail/backend_manager.hpp>
#include <limen/manager_config.hpp>

#include <utility>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots live in CUDA managed memory (cudaMallocManaged).
 * Guards prefetch the slot to the host and synchronize before giving a plain reference.
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
class SharedManager : public detail::BackendManager<P> {
 public:
  /** @brief Builds the manager; throws MemoryErrorException with the reason on failure. */
  explicit SharedManager(ManagerConfig config = {})
      : detail::BackendManager<P>(MemoryKind::Shared, std::move(config)) {}

  /** @brief Builds the manager, or returns why not; never throws. */
  [[nodiscard]] static Result<SharedManager> create(ManagerConfig config = {}) {
    return detail::create_manager<SharedManager>(std::move(config));
  }
};

}  // namespace limen
