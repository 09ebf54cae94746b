// SPDX-License-Identifier: Apache-2.0
// Device work for tests, on whichever device limen runs: a host task on the
// CPU device, a kernel on a GPU. Tests queue "a kernel" through these, so the
// same test body checks the same ordering on both.
#pragma once

#include "test_payload.hpp"

#include <limen/cpu_device.hpp>
#include <limen/device_view.hpp>
#include <limen/stream.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

namespace limen::test {

/** @brief Whether limen runs on the CPU device in this process. */
bool on_cpu_device();

/** @brief A stream of the test's own (non-blocking unless asked), synchronized and destroyed at the end. */
class TestStream {
 public:
  explicit TestStream(unsigned device = 0, bool blocking = false);
  ~TestStream();
  TestStream(const TestStream&) = delete;
  TestStream& operator=(const TestStream&) = delete;
  [[nodiscard]] StreamHandle handle() const noexcept { return stream_; }
  operator StreamHandle() const noexcept { return stream_; }  // NOLINT: a stream is a stream

 private:
  StreamHandle stream_;
};

/**
 * @brief Holds a stream, like a long kernel, until open() (or destruction):
 * work queued behind it waits. A host task waiting on a flag on the CPU
 * device; on a GPU a kernel spinning on a flag in mapped host memory.
 */
class Gate {
 public:
  explicit Gate(StreamHandle stream);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  /** @brief Lets the held stream go on. */
  void open() noexcept;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

/** @brief Copies @p bytes from the host into device-visible @p target as work on @p stream. */
void write_bytes(StreamHandle stream, void* target, const void* source, std::size_t bytes);

/** @brief Sets *@p target (device-visible) to @p value as work on @p stream. */
template <class T>
void write(StreamHandle stream, T* target, const T& value) {
  static_assert(std::is_trivially_copyable_v<T>);
  write_bytes(stream, target, &value, sizeof(T));
}

/** @brief Sets every element of *@p target to @p value as work on @p stream. */
void fill(StreamHandle stream, TestTensor* target, std::uint32_t value);

/** @brief The sum of every element of the slots of @p tokens, read by device work on @p stream. */
std::uint64_t checksum_slots(StreamHandle stream, DeviceSlotView<TestTensor> view,
                             const std::vector<std::uint32_t>& indices);

/** @brief The sum of every element of @p items[0..n) (device-visible), read by device work. */
std::uint64_t checksum_items(StreamHandle stream, const TestTensor* items, std::size_t n);

/** @brief Copies @p bytes of device-visible @p source to the host, after the work on @p stream. */
void read_bytes(StreamHandle stream, void* target, const void* source, std::size_t bytes);

/** @brief *@p source (device-visible), after the work queued on @p stream. */
template <class T>
T read(StreamHandle stream, const T* source) {
  T value{};
  read_bytes(stream, &value, source, sizeof(T));
  return value;
}

}  // namespace limen::test
