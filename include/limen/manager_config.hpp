/**
 * @file manager_config.hpp
 * @brief ManagerConfig: how to build a pinned, device or shared manager.
 */
#pragma once

#include <limen/stream.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace limen {

/** @brief What a backend does when no CUDA device can serve it. */
enum class Fallback : std::uint8_t {
  Emulate,  ///< run on host memory that behaves like the class (the CPU fallback)
  Fail,     ///< construction fails with `Unsupported`
};

/** @brief Construction parameters of the pinned, device and shared managers. */
struct ManagerConfig {
  /// Number of slots; all memory is allocated at construction.
  std::size_t capacity = 1024;
  /// CUDA device ordinal (0..15) for device memory, pools and streams.
  unsigned device = 0;
  /// A stream to borrow for copies and events; empty: the manager creates and owns one.
  std::optional<StreamHandle> stream;
  /// Share the manager between threads: guards wait for conflicting guards instead of
  /// failing, exactly as ConcurrentManager does.
  bool thread_safe = false;
  /// Behaviour when no CUDA device works (no toolkit, no driver, no GPU).
  Fallback fallback = Fallback::Emulate;
  /// When every free slot is still in flight (stream-ordered free), `store` waits for the
  /// oldest one to complete; false: it returns NoFreeSlots instead.
  bool wait_for_pending_frees = true;
  /// Shown in NVTX ranges and by limen-info.
  std::string name = "limen";
};

}  // namespace limen
