// SPDX-License-Identifier: Apache-2.0
// limen's small CUDA layer: error helpers and owning RAII types for streams,
// events, memory pools and allocations, so that backends can declare what
// they own and tear it down in order. Runtime API only (never the driver API).
#pragma once

#include <limen/error.hpp>

#include <cuda_runtime_api.h>

#include <cstddef>
#include <utility>

namespace limen::detail::cuda {

/** @brief What a failed call said: code, name, text, the call and where limen made it. */
[[nodiscard]] DeviceErrorInfo error_info(cudaError_t error, const char* call, const char* where);

/**
 * @brief Removes @p error from this thread's last-error slot if it is the one
 * limen's own call left there. A sticky error never clears, and an earlier,
 * different error of the caller's is never swallowed.
 */
void forget(cudaError_t error) noexcept;

/** @brief Runs @p status through forget() and reports whether the call succeeded (destructors). */
inline bool quietly(cudaError_t status) noexcept {
  if (status != cudaSuccess) forget(status);
  return status == cudaSuccess;
}

/** @brief Makes device @p ordinal current for a scope, restoring the caller's device after. */
class DeviceScope {
 public:
  explicit DeviceScope(int ordinal) noexcept;
  ~DeviceScope();
  DeviceScope(const DeviceScope&) = delete;
  DeviceScope& operator=(const DeviceScope&) = delete;

  /** @brief cudaSuccess, or why the device could not be made current. */
  [[nodiscard]] cudaError_t status() const noexcept { return status_; }

 private:
  int previous_ = -1;
  cudaError_t status_ = cudaSuccess;
};

/** @brief Owns a handle and releases it with Release when destroyed; move-only. */
template <class Handle, cudaError_t (*Release)(Handle)>
class Owned {
 public:
  Owned() noexcept = default;
  explicit Owned(Handle handle) noexcept : handle_(handle) {}
  Owned(Owned&& other) noexcept : handle_(std::exchange(other.handle_, Handle{})) {}
  Owned& operator=(Owned&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, Handle{});
    }
    return *this;
  }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() { reset(); }

  [[nodiscard]] Handle get() const noexcept { return handle_; }
  [[nodiscard]] explicit operator bool() const noexcept { return handle_ != Handle{}; }
  void reset() noexcept {
    if (handle_ != Handle{}) quietly(Release(std::exchange(handle_, Handle{})));
  }

 private:
  Handle handle_{};
};

using Stream = Owned<cudaStream_t, &cudaStreamDestroy>;
using Event = Owned<cudaEvent_t, &cudaEventDestroy>;
using MemPool = Owned<cudaMemPool_t, &cudaMemPoolDestroy>;

/** @brief How an allocation is given back. */
enum class Memory : unsigned char { PinnedHost, Managed, Device, PoolDevice };

/**
 * @brief One allocation of @p bytes aligned to @p alignment (over-allocating
 * when the allocator's own guarantee, 256 bytes or a page, is smaller).
 * Pool memory goes back with cudaFreeAsync on @p stream, then a wait on it.
 */
class Allocation {
 public:
  Allocation() noexcept = default;
  Allocation(void* raw, std::size_t alignment, Memory memory, cudaStream_t stream) noexcept;
  Allocation(Allocation&& other) noexcept;
  Allocation& operator=(Allocation&& other) noexcept;
  Allocation(const Allocation&) = delete;
  Allocation& operator=(const Allocation&) = delete;
  ~Allocation();

  /** @brief The aligned start. */
  [[nodiscard]] std::byte* base() const noexcept { return base_; }
  /** @brief Bytes to ask an allocator for so that @p bytes fit after aligning to @p alignment. */
  [[nodiscard]] static std::size_t padded(std::size_t bytes, std::size_t alignment) noexcept {
    return (bytes == 0 ? alignment : bytes) + (alignment > 256 ? alignment : 0);
  }

 private:
  void release() noexcept;

  void* raw_ = nullptr;
  std::byte* base_ = nullptr;
  Memory memory_ = Memory::Device;
  cudaStream_t stream_ = nullptr;
};

}  // namespace limen::detail::cuda
