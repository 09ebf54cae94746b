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
 public:
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
 public:
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
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, MemoryError>,
                "Result<MemoryError> is ambiguous: use Result<void>");
  static_assert(!std::is_reference_v<T>, "Result<T&> is not supported: hold a pointer");

 public:
  /** @brief Holds @p value. */
  constexpr Result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit
      : s_(std::move(value)) {}
  /** @brief Holds @p error. */
  constexpr Result(MemoryError error) noexcept : s_(error) {}  // NOLINT: implicit

  /** @brief Whether this holds a value. */
  [[nodiscard]] constexpr bool has_value() const noexcept { return s_.ok_; }
  /** @brief Whether this holds a value. */
  constexpr explicit operator bool() const noexcept { return s_.ok_; }

  /** @brief The value; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr T& value() & { return check(), s_.value_; }
  /** @brief The value; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr const T& value() const& { return check(), s_.value_; }
  /** @brief The value, moved out; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] constexpr T&& value() && { return check(), std::move(s_.value_); }

  /** @brief The error; only meaningful when `!has_value()` (Unsupported otherwise). */
  [[nodiscard]] constexpr MemoryError error() const noexcept {
    return s_.ok_ ? MemoryError::Unsupported : s_.error_;
  }

  /** @brief The value, unchecked. */
  [[nodiscard]] constexpr T& operator*() & noexcept { return s_.value_; }
  /** @brief The value, unchecked. */
  [[nodiscard]] constexpr const T& operator*() const& noexcept { return s_.value_; }
  /** @brief The value moved out, unchecked. */
  [[nodiscard]] constexpr T&& operator*() && noexcept { return std::move(s_.value_); }
  /** @brief The value's members, unchecked. */
  [[nodiscard]] constexpr T* operator->() noexcept { return &s_.value_; }
  /** @brief The value's members, unchecked. */
  [[nodiscard]] constexpr const T* operator->() const noexcept { return &s_.value_; }

 private:
  constexpr void check() const {
    if (!s_.ok_) [[unlikely]]
      throw MemoryErrorException(s_.error_);
  }

  // A member, not a base: with a base, GCC copies a Result<MessageToken> as one
  // 16-byte block through the stack right after writing it as 8 + 1 bytes, a
  // store-forwarding stall that made the host round trip three times slower.
  detail::ResultStorage<T> s_;
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
