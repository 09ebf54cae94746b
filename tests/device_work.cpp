// SPDX-License-Identifier: Apache-2.0
// Device work for tests (see device_work.hpp).
#include "device_work.hpp"

#include "gpu_kernels.hpp"

#include <limen/runtime.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace limen::test {

bool on_cpu_device() {
  return cpu_device::active();
}

TestStream::TestStream(unsigned device, bool blocking)
    : stream_(cpu_device::create_stream(device, blocking).value()) {}

TestStream::~TestStream() {
  (void)cpu_device::synchronize(stream_);
  (void)cpu_device::destroy_stream(stream_);
}

struct Gate::State {
  std::atomic<int> open{0};
  int* mapped_flag = nullptr;  // on a GPU: the kernel spins on it
};

Gate::Gate(StreamHandle stream) : state_(std::make_shared<State>()) {
  if (on_cpu_device()) {
    // Like a kernel, it ends when its device is lost (the loss waits for it).
    EXPECT_TRUE(cpu_device::launch_host_task(stream, [state = state_] {
                  while (state->open.load() == 0 && !cpu_device::lost()) {
                    std::this_thread::sleep_for(std::chrono::microseconds(200));
                  }
                }).has_value());
    return;
  }
  state_->mapped_flag = kernels::gate_flag_create();
  EXPECT_EQ(kernels::wait_for_flag(state_->mapped_flag, stream), 0);
}

Gate::~Gate() {
  open();
  if (state_->mapped_flag != nullptr) kernels::gate_flag_destroy(state_->mapped_flag);
}

void Gate::open() noexcept {
  state_->open.store(1);
  state_->open.notify_all();
  if (state_->mapped_flag != nullptr) kernels::gate_flag_open(state_->mapped_flag);
}

void write_bytes(StreamHandle stream, void* target, const void* source, std::size_t bytes) {
  if (on_cpu_device()) {
    std::vector<std::byte> copy(static_cast<const std::byte*>(source),
                                static_cast<const std::byte*>(source) + bytes);
    EXPECT_TRUE(cpu_device::launch_host_task(stream, [target, copy = std::move(copy)] {
                  std::memcpy(cpu_device::host_alias(target), copy.data(), copy.size());
                }).has_value());
    return;
  }
  EXPECT_EQ(kernels::write_bytes(target, source, bytes, stream), 0);
}

void fill(StreamHandle stream, TestTensor* target, std::uint32_t value) {
  TestTensor t;
  t.data.fill(value);
  write(stream, target, t);
}

namespace {
std::uint64_t sum_of(const TestTensor& t) {
  std::uint64_t sum = 0;
  for (std::uint32_t v : t.data) sum += v;
  return sum;
}
}  // namespace

std::uint64_t checksum_slots(StreamHandle stream, DeviceSlotView<TestTensor> view,
                             const std::vector<std::uint32_t>& indices) {
  std::uint64_t sum = 0;
  if (on_cpu_device()) {
    EXPECT_TRUE(cpu_device::launch_host_task(stream, [&sum, view, &indices] {
                  const DeviceSlotView<TestTensor> slots = cpu_device::host_alias(view);
                  for (std::uint32_t i : indices) sum += sum_of(slots[i]);
                }).has_value());
    EXPECT_TRUE(cpu_device::synchronize(stream).has_value());
    return sum;
  }
  EXPECT_EQ(kernels::checksum_slots_of(view, indices.data(), indices.size(), &sum, stream), 0);
  return sum;
}

std::uint64_t checksum_items(StreamHandle stream, const TestTensor* items, std::size_t n) {
  std::uint64_t sum = 0;
  if (on_cpu_device()) {
    EXPECT_TRUE(cpu_device::launch_host_task(stream, [&sum, items, n] {
                  const TestTensor* host = cpu_device::host_alias(items);
                  for (std::size_t i = 0; i < n; ++i) sum += sum_of(host[i]);
                }).has_value());
    EXPECT_TRUE(cpu_device::synchronize(stream).has_value());
    return sum;
  }
  EXPECT_EQ(kernels::checksum_items_of(items, n, &sum, stream), 0);
  return sum;
}

void read_bytes(StreamHandle stream, void* target, const void* source, std::size_t bytes) {
  if (on_cpu_device()) {
    EXPECT_TRUE(cpu_device::launch_host_task(stream, [target, source, bytes] {
                  std::memcpy(target, cpu_device::host_alias(source), bytes);
                }).has_value());
    EXPECT_TRUE(cpu_device::synchronize(stream).has_value());
    return;
  }
  EXPECT_EQ(kernels::read_bytes(target, source, bytes, stream), 0);
}

}  // namespace limen::test
