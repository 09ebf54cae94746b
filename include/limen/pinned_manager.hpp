/**
 * @file pinned_manager.hpp
 * @brief PinnedManager<P>: message slots in page-locked, mapped host memory.
 */
#pragma once

#include <limen/detail/class_manager.hpp>
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
 * says `Fallback::Fail`. Single-threaded unless `ManagerConfig::thread_safe`.
 */
template <class P>
class PinnedManager : public detail::ClassManager<P, MemoryKind::PinnedHost> {
  using Base = detail::ClassManager<P, MemoryKind::PinnedHost>;

 public:
  /** @brief Builds the manager; throws MemoryErrorException with the reason on failure. */
  explicit PinnedManager(ManagerConfig config = {}) : Base(std::move(config)) {}

  /** @brief Builds the manager, or returns why not (Unsupported, DeviceError). */
  static Result<PinnedManager> create(ManagerConfig config = {}) {
    auto [built, failure] = Base::build(std::move(config));
    if (!built) return failure.error;
    return PinnedManager(std::move(*built));
  }

 private:
  explicit PinnedManager(typename Base::Built built) noexcept : Base(std::move(built)) {}
};

}  // namespace limen
