// SPDX-License-Identifier: Apache-2.0
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
#include <vector>

namespace limen {

/** @brief What a backend does when no CUDA device can serve it. */
enum class Fallback : std::uint8_t {
  Emulate,  ///< run on host memory that behaves like the class (the CPU fallback)
  Fail,     ///< construction fails with `Unsupported`
};

/** @brief How a host thread waits for device work (a kernel on a leased slot). */
enum class HostWait : std::uint8_t {
  Block,  ///< the thread sleeps until the GPU signals (cudaEventBlockingSync): no core burnt
  Spin,   ///< the thread polls: a few microseconds sooner, one core busy for the whole wait
};

/** @brief Construction parameters of the pinned, device and shared managers. */
struct ManagerConfig {
  /// Number of slots; all memory is allocated at construction.
  std::size_t capacity = 1024;
  /// CUDA device ordinal (0..15) for device memory, pools and streams. Every call the
  /// manager makes runs on this device, whatever the calling thread's current device is.
  unsigned device = 0;
  /// Other devices whose kernels may read and write the slots (through device_view() or
  /// a lease's pointer). Device memory is otherwise reachable from its own device only:
  /// the manager's memory pool grants each of them access (cudaMemPoolSetAccess), or,
  /// on a device without pools, each enables peer access to this one
  /// (cudaDeviceEnablePeerAccess, which lasts for the process). Construction fails with
  /// `Unsupported` for a device that cannot reach this one (cudaDeviceCanAccessPeer) or
  /// does not exist. Pinned and managed slots are reachable from every device already;
  /// the list is checked and changes nothing there.
  std::vector<unsigned> peer_access;
  /// The stream `lease(token)` uses when none is given; empty: the manager creates and
  /// owns one. A borrowed stream must outlive the manager; limen never uses it for its own
  /// copies (those run on a private stream) and never touches it in teardown.
  std::optional<StreamHandle> stream;
  /// Share the manager between threads: guards wait for conflicting guards instead of
  /// failing, exactly as ConcurrentManager does.
  bool thread_safe = false;
  /// Behaviour when no CUDA device works (no toolkit, no driver, no GPU).
  Fallback fallback = Fallback::Emulate;
  /// When every free slot is still in flight (stream-ordered free), `store` waits for the
  /// oldest one to complete; false: it returns NoFreeSlots instead.
  bool wait_for_pending_frees = true;
  /// How reads wait for device work still using a slot.
  HostWait host_wait = HostWait::Block;
  /// Shown in NVTX ranges and by limen-info.
  std::string name = "limen";
};

}  // namespace limen
