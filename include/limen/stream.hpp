/**
 * @file stream.hpp
 * @brief StreamHandle: a CUDA stream carried through public headers without cuda_runtime.h.
 */
#pragma once

#include <type_traits>

namespace limen {

/**
 * @brief A value type wrapping a `cudaStream_t` (an opaque pointer).
 *
 * Built from any `cudaStream_t` with `StreamHandle{stream}` and turned back
 * with `handle.as<cudaStream_t>()`, so headers that carry it never include
 * CUDA. The default-constructed handle is the legacy default stream (null).
 * A handle never owns its stream.
 */
class StreamHandle {
 public:
  constexpr StreamHandle() noexcept = default;

  /** @brief Wraps a native stream (e.g. `cudaStream_t`). */
  template <class T>
  constexpr explicit StreamHandle(T* native) noexcept : native_(native) {}

  /** @brief The native stream as the pointer type @p Native (e.g. `cudaStream_t`). */
  template <class Native>
  [[nodiscard]] Native as() const noexcept {
    static_assert(std::is_pointer_v<Native>,
                  "StreamHandle::as<T>: T must be a stream pointer type");
    return static_cast<Native>(native_);
  }

  [[nodiscard]] constexpr void* native() const noexcept { return native_; }
  [[nodiscard]] constexpr bool is_default() const noexcept { return native_ == nullptr; }

  friend constexpr bool operator==(StreamHandle, StreamHandle) noexcept = default;

 private:
  void* native_ = nullptr;
};

}  // namespace limen
