/**
 * @file fixed_array.hpp
 * @brief Fixed-size arrays built from a run-time size: inline (no heap) or on the heap.
 */
#pragma once

#include <array>
#include <cstddef>
#include <memory>

namespace limen::detail {

/** @brief N elements inside the object; the size argument only has to match. */
template <class T, std::size_t N>
class InlineArray {
 public:
  explicit InlineArray(std::size_t) noexcept {}
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return items_[i]; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  [[nodiscard]] static constexpr std::size_t size() noexcept { return N; }

 private:
  std::array<T, N> items_{};
};

/** @brief `size` value-initialised elements in one heap allocation made at construction. */
template <class T>
class HeapArray {
 public:
  explicit HeapArray(std::size_t size) : items_(std::make_unique<T[]>(size)), size_(size) {}
  [[nodiscard]] T& operator[](std::size_t i) noexcept { return items_[i]; }
  [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return items_[i]; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::unique_ptr<T[]> items_;
  std::size_t size_;
};

/**
 * @brief Uninitialised storage for one T; the owner constructs and destroys.
 *
 * @tparam MinAlign raises the alignment (and so the stride of an array of
 * slots) to a cache line for thread-safe managers, so two threads working on
 * neighbouring slots never write the same line.
 */
template <class T, std::size_t MinAlign = alignof(T)>
struct RawSlot {
  alignas(alignof(T) > MinAlign ? alignof(T) : MinAlign) std::byte bytes[sizeof(T)];

  [[nodiscard]] T* get() noexcept { return std::launder(reinterpret_cast<T*>(bytes)); }
  [[nodiscard]] const T* get() const noexcept {
    return std::launder(reinterpret_cast<const T*>(bytes));
  }
};

}  // namespace limen::detail
