// SPDX-License-Identifier: Apache-2.0
/**
 * @file result.hpp
 * @brief `Result<T>`: a value or a MemoryError (C++20 has no std::expected).
 */
#pragma once

#include <limen/error.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace limen {

namespace detail {

/// A trivially copyable T: a union and a flag whose copies, moves and
/// destructor are all trivial, so the Result travels in registers.
template <class T,
          bool Trivial = std::is_trivially_copyable_v<T>&& std::is_trivially_destructible_v<T>>
class ResultStorage {
 protected:
  constexpr explicit ResultStorage(T value) noexcept : value_(value), ok_(true) {}
  constexpr explicit ResultStorage(MemoryError error) noexcept : error_(error), ok_(false) {}

  union {
    T value_;
    MemoryError error_;
  };
  bool ok_;
};

/// Any other T: the value is constructed, copied, moved and destroyed by hand.
/// (Two storages rather than constrained special members: clang before 16
/// cannot select between constrained destructors.)
template <class T>
class ResultStorage<T, false> {
 protected:
  constexpr explicit ResultStorage(T&& value) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(value)), ok_(true) {}
  constexpr explicit ResultStorage(MemoryError error) noexcept : error_(error), ok_(false) {}

  constexpr ResultStorage(const ResultStorage& other) noexcept(
      std::is_nothrow_copy_constructible_v<T>) requires std::is_copy_constructible_v<T>
      : ok_(other.ok_) {
    if (ok_) {
      std::construct_at(&value_, other.value_);
    } else {
      error_ = other.error_;
    }
  }
  constexpr ResultStorage(ResultStorage&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : ok_(other.ok_) {
    if (ok_) {
      std::construct_at(&value_, std::move(other.value_));
    } else {
      error_ = other.error_;
    }
  }
  constexpr ResultStorage& operator=(
      const ResultStorage& other) requires std::is_copy_constructible_v<T> {
    if (this != &other) assign(other);
    return *this;
  }
  constexpr ResultStorage& operator=(ResultStorage&& other) noexcept(
      std::is_nothrow_move_constructible_v<T>) {
    if (this != &other) assign(std::move(other));
    return *this;
  }
  constexpr ~ResultStorage() {
    if (ok_) std::destroy_at(&value_);
  }

  union {
    T value_;
    MemoryError error_;
  };
  bool ok_;

 private:
  template <class Other>
  constexpr void assign(Other&& other) {
    if (ok_) std::destroy_at(&value_);
    ok_ = false;
    if (other.ok_) {
      std::construct_at(&value_, std::forward<Other>(other).value_);
      ok_ = true;
    } else {
      error_ = other.error_;
    }
  }
};

}  // namespace detail

/**
 * @brief Holds either a `T` or a `MemoryError`.
 *
 * Test it with `has_value()` or `explicit operator bool`; `value()` throws
 * `MemoryErrorException` when it holds an error, `operator*` and `operator->`
 * do not check. A plain union and a flag: for a trivially copyable `T` (a
 * token) the Result is trivially copyable too and travels in registers, so
 * returning one costs what returning the value would.
 */
template <class T>
class [[nodiscard]] Result : private detail::ResultStorage<T> {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, MemoryError>,
                "Result<MemoryError> is ambiguous: use Result<void>");
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported: hold a pointer");
  using Storage = detail::ResultStorage<T>;
  using Storage::error_;
  using Storage::ok_;
  using Storage::value_;

 public:
  /** @brief Holds @p value. */
  constexpr Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit
      : Storage(std::move(value)) {}
  /** @brief Holds @p error. */
  constexpr Result(MemoryError error) noexcept : Storage(error) {}  // NOLINT: implicit

  /** @brief Whether this holds a value. */
  [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
  /** @brief Whether this holds a value. */
  constexpr explicit operator bool() const noexcept { return ok_; }

  /** @brief The value; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr T& value() & { return check(), value_; }
  /** @brief The value; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr const T& value() const& { return check(), value_; }
  /** @brief The value, moved out; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr T&& value() && { return check(), std::move(value_); }

  /** @brief The error; only meaningful when `!has_value()` (Unsupported otherwise). */
  [[nodiscard]] constexpr MemoryError error() const noexcept {
    return ok_ ? MemoryError::Unsupported : error_;
  }

  /** @brief The value, unchecked. */
  [[nodiscard]] constexpr T& operator*() & noexcept { return value_; }
  /** @brief The value, unchecked. */
  [[nodiscard]] constexpr const T& operator*() const& noexcept { return value_; }
  /** @brief The value moved out, unchecked. */
  [[nodiscard]] constexpr T&& operator*() && noexcept { return std::move(value_); }
  /** @brief The value's members, unchecked. */
  [[nodiscard]] constexpr T* operator->() noexcept { return &value_; }
  /** @brief The value's members, unchecked. */
  [[nodiscard]] constexpr const T* operator->() const noexcept { return &value_; }

 private:
  constexpr void check() const {
    if (!ok_) [[unlikely]]
      throw MemoryErrorException(error_);
  }
};

/** @brief Success, or a MemoryError. */
template <>
class [[nodiscard]] Result<void> {
 public:
  /** @brief Success. */
  constexpr Result() noexcept = default;
  /** @brief Holds @p error. */
  constexpr Result(MemoryError error) noexcept : error_(error), ok_(false) {}  // NOLINT: implicit

  /** @brief Whether the call succeeded. */
  [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
  /** @brief Whether the call succeeded. */
  constexpr explicit operator bool() const noexcept { return ok_; }

  /** @brief Throws MemoryErrorException when this holds an error. */
  void value() const {
    if (!ok_) throw MemoryErrorException(error_);
  }
  /** @brief The error; only meaningful when `!has_value()`. */
  [[nodiscard]] constexpr MemoryError error() const noexcept { return error_; }

 private:
  MemoryError error_ = MemoryError::Unsupported;
  bool ok_ = true;
};

}  // namespace limen
