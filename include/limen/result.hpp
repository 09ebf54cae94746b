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
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, MemoryError>,
                "Result<MemoryError> is ambiguous: use Result<void>");
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported: hold a pointer");

 public:
  /** @brief Holds @p value. */
  constexpr Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit
      : value_(std::move(value)), ok_(true) {}
  /** @brief Holds @p error. */
  constexpr Result(MemoryError error) noexcept : error_(error), ok_(false) {}  // NOLINT: implicit

  /** @brief Copies the value or the error (trivial for a trivially copyable T). */
  constexpr Result(const Result& other) requires std::is_trivially_copy_constructible_v<T>
  = default;
  /** @brief Copies the value or the error. */
  constexpr Result(const Result& other) noexcept(std::is_nothrow_copy_constructible_v<T>) requires(
      std::is_copy_constructible_v<T> && !std::is_trivially_copy_constructible_v<T>)
      : ok_(other.ok_) {
    if (ok_) {
      std::construct_at(&value_, other.value_);
    } else {
      error_ = other.error_;
    }
  }
  /** @brief Moves the value or copies the error (trivial for a trivially copyable T). */
  constexpr Result(Result&& other) noexcept requires std::is_trivially_move_constructible_v<T>
  = default;
  /** @brief Moves the value or copies the error. */
  constexpr Result(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) requires(
      !std::is_trivially_move_constructible_v<T>)
      : ok_(other.ok_) {
    if (ok_) {
      std::construct_at(&value_, std::move(other.value_));
    } else {
      error_ = other.error_;
    }
  }
  /** @brief Replaces the contents (trivial for a trivially copyable T). */
  constexpr Result& operator=(const Result& other) requires
      std::is_trivially_copy_assignable_v<T> && std::is_trivially_copy_constructible_v<T>
  = default;
  /** @brief Replaces the contents with a copy of @p other's. */
  constexpr Result& operator=(const Result& other) requires(
      std::is_copy_constructible_v<T> &&
      !(std::is_trivially_copy_assignable_v<T> && std::is_trivially_copy_constructible_v<T>)) {
    if (this != &other) assign(other);
    return *this;
  }
  /** @brief Replaces the contents (trivial for a trivially copyable T). */
  constexpr Result& operator=(Result&& other) noexcept requires
      std::is_trivially_move_assignable_v<T> && std::is_trivially_move_constructible_v<T>
  = default;
  /** @brief Replaces the contents with @p other's, moved. */
  constexpr Result&
  operator=(Result&& other) noexcept(std::is_nothrow_move_constructible_v<T>) requires(
      !(std::is_trivially_move_assignable_v<T> && std::is_trivially_move_constructible_v<T>)) {
    if (this != &other) assign(std::move(other));
    return *this;
  }
  /** @brief Destroys the value, if any (trivial for a trivially destructible T). */
  constexpr ~Result() requires std::is_trivially_destructible_v<T>
  = default;
  /** @brief Destroys the value, if any. */
  constexpr ~Result() {
    if (ok_) std::destroy_at(&value_);
  }

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

  union {
    T value_;
    MemoryError error_;
  };
  bool ok_;
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
