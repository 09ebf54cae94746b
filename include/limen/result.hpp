/**
 * @file result.hpp
 * @brief `Result<T>`: a value or a MemoryError (C++20 has no std::expected).
 */
#pragma once

#include <limen/error.hpp>

#include <type_traits>
#include <utility>
#include <variant>

namespace limen {

/**
 * @brief Holds either a `T` or a `MemoryError`.
 *
 * Test it with `has_value()` or `explicit operator bool`; `value()` throws
 * `MemoryErrorException` when it holds an error, `operator*` and `operator->`
 * do not check.
 */
template <class T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cv_t<T>, MemoryError>,
                "Result<MemoryError> is ambiguous: use Result<void>");

 public:
  constexpr Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  constexpr Result(MemoryError error)
      : state_(std::in_place_index<1>, error) {}  // NOLINT: implicit

  [[nodiscard]] constexpr bool has_value() const noexcept { return state_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return has_value(); }

  /** @brief The value; throws MemoryErrorException when this holds an error. */
  [[nodiscard]] T& value() & { return check(), std::get<0>(state_); }
  [[nodiscard]] const T& value() const& { return check(), std::get<0>(state_); }
  [[nodiscard]] T&& value() && { return check(), std::get<0>(std::move(state_)); }

  /** @brief The error; only meaningful when `!has_value()`. */
  [[nodiscard]] constexpr MemoryError error() const noexcept {
    return has_value() ? MemoryError::Unsupported : *std::get_if<1>(&state_);
  }

  [[nodiscard]] T& operator*() & noexcept { return *std::get_if<0>(&state_); }
  [[nodiscard]] const T& operator*() const& noexcept { return *std::get_if<0>(&state_); }
  [[nodiscard]] T&& operator*() && noexcept { return std::move(*std::get_if<0>(&state_)); }
  [[nodiscard]] T* operator->() noexcept { return std::get_if<0>(&state_); }
  [[nodiscard]] const T* operator->() const noexcept { return std::get_if<0>(&state_); }

 private:
  void check() const {
    if (!has_value()) throw MemoryErrorException(*std::get_if<1>(&state_));
  }

  std::variant<T, MemoryError> state_;
};

/** @brief Success, or a MemoryError. */
template <>
class [[nodiscard]] Result<void> {
 public:
  constexpr Result() noexcept = default;
  constexpr Result(MemoryError error) noexcept : error_(error), ok_(false) {}  // NOLINT: implicit

  [[nodiscard]] constexpr bool has_value() const noexcept { return ok_; }
  constexpr explicit operator bool() const noexcept { return ok_; }

  /** @brief Throws MemoryErrorException when this holds an error. */
  void value() const {
    if (!ok_) throw MemoryErrorException(error_);
  }
  [[nodiscard]] constexpr MemoryError error() const noexcept { return error_; }

 private:
  MemoryError error_ = MemoryError::Unsupported;
  bool ok_ = true;
};

}  // namespace limen
