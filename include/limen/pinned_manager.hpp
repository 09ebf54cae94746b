// SPDX-License-Identifier: Apache-2.0
/**
 * @file pinned_manager.hpp
 * @brief PinnedManager<P>: message slots in page-locked, mapped host memory.
 */
#pragma once

#include <limen/detail/backend_manager.hpp>
#include <limen/manager_config.hpp>

#include <utility>

namespace limen {

/**
 * @brief A fixed-capacity manager whose slots live in page-locked, mapped host memory
 * (cudaHostAlloc with the mapped and portable flags), one allocation at construction. Guards give
 * plain references; kernels reach the same bytes through the mapped device pointer.
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
class PinnedManager : public detail::BackendManager<P> {
 public:
  /** @brief Builds the manager; throws MemoryErrorException with the reason on failure. */
  explicit PinnedManager(ManagerConfig config = {})
      : detail::BackendManager<P>(MemoryKind::PinnedHost, std::move(config)) {}

  /** @brief Builds the manager, or returns why not; never throws. */
  [[nodiscard]] static Result<PinnedManager> create(ManagerConfig config = {}) {
    return detail::create_manager<PinnedManager>(std::move(config));
  }
};

}  // namespace limen
