// SPDX-License-Identifier: Apache-2.0
// Shared helpers for limen's tests: payload types and a generic way to build
// and poke any manager without knowing its concrete type.
#pragma once

#include "test_payload.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <utility>

namespace limen::test {

inline TestTensor tensor(std::uint32_t fill) {
  TestTensor t;
  t.data.fill(fill);
  return t;
}

inline Message<TestTensor> message(std::uint32_t fill, std::uint64_t trace = 0) {
  MessageHeader h{};
  h.trace_id = trace;
  return Message<TestTensor>(h, tensor(fill));
}

/// Managers built from a ManagerConfig (pinned, device, shared).
template <class M>
std::unique_ptr<M> make_from_config(std::size_t capacity) {
  ManagerConfig config;
  config.capacity = capacity;
  config.name = "conformance";
  return std::make_unique<M>(std::move(config));
}

/// Builds any manager with `capacity` slots: from a size, a ManagerConfig, or a fixed N.
template <class M>
struct Maker {
  static std::unique_ptr<M> make(std::size_t capacity) {
    if constexpr (std::is_constructible_v<M, std::size_t>) {
      return std::make_unique<M>(capacity);
    } else if constexpr (std::is_constructible_v<M, ManagerConfig>) {
      return make_from_config<M>(capacity);
    } else {
      EXPECT_EQ(capacity, M().capacity()) << "fixed-capacity manager used with another capacity";
      return std::make_unique<M>();
    }
  }
};

/// Whether a ConfiguredManager sets `ManagerConfig::thread_safe`.
enum class ThreadSafety : bool { Off = false, On = true };

/// A manager built from a ManagerConfig (pinned, device, shared) with `thread_safe` fixed by
/// @p Safety, as a type of its own, so that a typed suite can list both modes of one manager.
template <class M, ThreadSafety Safety>
struct ConfiguredManager : M {
  static constexpr bool kThreadSafe = Safety == ThreadSafety::On;

  explicit ConfiguredManager(std::size_t capacity) : M(config(capacity)) {}
  /// @p c as given, but for `thread_safe`, which is always @p Safety.
  explicit ConfiguredManager(ManagerConfig c) : M(with_safety(std::move(c))) {}

  /// The config tests start from: @p capacity slots, and whether a store waits for a
  /// pending free when no slot is free (false: it returns NoFreeSlots).
  static ManagerConfig config(std::size_t capacity, bool wait_for_pending = true) {
    ManagerConfig c;
    c.capacity = capacity;
    c.wait_for_pending_frees = wait_for_pending;
    return with_safety(std::move(c));
  }

 private:
  static ManagerConfig with_safety(ManagerConfig c) {
    c.thread_safe = kThreadSafe;
    return c;
  }
};

/// The thread-safe mode of manager M, for typed lists that name only that one.
template <class M>
using ThreadSafe = ConfiguredManager<M, ThreadSafety::On>;

/// The pinned, device and shared managers, single-threaded and thread-safe.
using ConfiguredClassManagers =
    ::testing::Types<ConfiguredManager<PinnedManager<TestTensor>, ThreadSafety::Off>,
                     ConfiguredManager<DeviceManager<TestTensor>, ThreadSafety::Off>,
                     ConfiguredManager<SharedManager<TestTensor>, ThreadSafety::Off>,
                     ConfiguredManager<PinnedManager<TestTensor>, ThreadSafety::On>,
                     ConfiguredManager<DeviceManager<TestTensor>, ThreadSafety::On>,
                     ConfiguredManager<SharedManager<TestTensor>, ThreadSafety::On>>;

/// An AnyManager made by make_manager for one memory class, as a type of its own.
template <MemoryKind Kind, class P = TestTensor>
struct AnyOf : AnyManager<P> {
  explicit AnyOf(std::size_t capacity)
      : AnyManager<P>(make_manager<P>(memory_class(), config(capacity)).value()) {}
  static MemoryClass memory_class() { return detail::memory_class_for(Kind, 0).value(); }
  static ManagerConfig config(std::size_t capacity) {
    ManagerConfig c;
    c.capacity = capacity;
    return c;
  }
};

/// read() that never blocks: try_read where the manager waits, read otherwise.
template <class M>
auto try_read(const M& m, MessageToken t) {
  if constexpr (requires { m.try_read(t); }) {
    return m.try_read(t);
  } else {
    return m.read(t);
  }
}

/// read_mut() that never blocks: try_read_mut where the manager waits.
template <class M>
auto try_read_mut(M& m, MessageToken t) {
  if constexpr (requires { m.try_read_mut(t); }) {
    return m.try_read_mut(t);
  } else {
    return m.read_mut(t);
  }
}

/// Asserts `result` holds `expected` as its error, with a readable failure.
#define LIMEN_EXPECT_ERROR(result, expected)                                                  \
  do {                                                                                        \
    const auto& limen_r_ = (result);                                                          \
    ASSERT_FALSE(limen_r_.has_value()) << "expected " << ::limen::to_string(expected);        \
    EXPECT_EQ(limen_r_.error(), (expected)) << "got " << ::limen::to_string(limen_r_.error()) \
                                            << ", expected " << ::limen::to_string(expected); \
  } while (0)

}  // namespace limen::test
