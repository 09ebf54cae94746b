// SPDX-License-Identifier: Apache-2.0
/**
 * @file fixed_array.hpp
 * @brief Fixed-size arrays built from a run-time size: inline (no heap) or on the heap.
 */
#pragma once

#include <array>
#include <cstddef>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

namespace limen::detail {

/** @brief @p count * @p size, or nothing when the product does not fit in a size_t. */
[[nodiscard]] constexpr std::optional<std::size_t> checked_product(std::size_t count,
                                                                   std::size_t size) noexcept {
  if (size != 0 && count > std::numeric_limits<std::size_t>::max() / size) return std::nullopt;
  return count * size;
}

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

/** @brief InlineArray with N fixed, as the one-parameter storage template a core takes. */
template <std::size_t N>
struct InlineStorage {
  template <class T>
  using Of = InlineArray<T, N>;
};

/**
 * @brief `size` default-initialised elements in one heap allocation made at construction.
 *
 * Default (not value) initialisation: raw slot storage is left untouched until
 * a message lands in it, so a large arena costs no page faults up front.
 * Throws std::bad_alloc (or std::bad_array_new_length) when it cannot allocate.
 */
template <class T>
class HeapArray {
 public:
  explicit HeapArray(std::size_t size) : items_(new T[size]), size_(size) {}
  /** @brief Takes @p other's elements (they do not move); @p other is empty afterwards. */
  HeapArray(HeapArray&& other) noexcept
      : items_(std::move(other.items_)), size_(std::exchange(other.size_, 0)) {}
  HeapArray& operator=(HeapArray&& other) noexcept {
    items_ = std::move(other.items_);
    size_ = std::exchange(other.size_, 0);
    return *this;
  }
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
