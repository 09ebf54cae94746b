// SPDX-License-Identifier: Apache-2.0
// Device work against the managers, on whichever device limen runs: the CPU
// device in CI (labels cpu and gpu), a GPU where there is one. The "kernels"
// are host tasks on the CPU device and real kernels on a GPU
// (device_work.hpp); a Gate holds a stream like a kernel that has not
// finished, so each ordering test fails if limen's wait is removed.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <thread>
#include <type_traits>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;

ManagerConfig device_config(std::size_t capacity = 64) {
  ManagerConfig c;
  c.capacity = capacity;
  c.name = "device-test";
  return c;
}

/// Opens @p gate after @p delay on another thread, setting @p opened first.
std::thread open_later(Gate& gate, std::atomic<bool>& opened,
                       std::chrono::milliseconds delay = 50ms) {
  return std::thread([&gate, &opened, delay] {
    std::this_thread::sleep_for(delay);
    opened.store(true);
    gate.open();
  });
}

/// Runs @p work on another thread; true if it finished within @p limit.
template <class F>
bool finishes_within(std::chrono::milliseconds limit, F work) {
  auto done = std::async(std::launch::async, std::move(work));
  const bool finished = done.wait_for(limit) == std::future_status::ready;
  done.wait();
  if (finished) done.get();
  return finished;
}

std::uint64_t sum_of(const std::vector<Message<TestTensor>>& messages) {
  std::uint64_t sum = 0;
  for (const auto& m : messages) {
    for (auto v : m.payload.data) sum += v;
  }
  return sum;
}

TEST(Device, DeviceSlotsRoundTripThroughCopies) {
  DeviceManager<TestTensor> m(device_config());
  const MessageToken t = m.store(message(5)).value();
  EXPECT_EQ(m.stats().synchronizations, 0U) << "a store must not wait for the device";
  { m.read_mut(t).value()->payload.data[8] = 50; }
  auto guard = m.read(t).value();
  EXPECT_EQ(guard->payload.data[8], 50U);
  EXPECT_EQ(guard->payload.data[0], 5U);
  EXPECT_GT(m.stats().bytes_device_to_host, 0U);
}

TEST(Device, OverAlignedSlotsAreAlignedOnTheDevice) {
  struct alignas(512) Wide {
    std::uint32_t v;
  };
  DeviceManager<Wide> m(device_config(4));
  const MessageToken t = m.store(Message<Wide>(Wide{1})).value();
  auto lease = m.lease(t).value();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(lease.device_ptr()) % 512, 0U);
}

// --- Device work on leased slots ---------------------------------------------------

template <class M>
class DeviceLeases : public ::testing::Test {};
using LeasedManagers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                        SharedManager<TestTensor>>;
TYPED_TEST_SUITE(DeviceLeases, LeasedManagers);

TYPED_TEST(DeviceLeases, HostReadWaitsForWorkWritingThroughTheView) {
  TypeParam m(device_config());
  TestStream side;
  const MessageToken t = m.store(message(1)).value();
  Gate gate(side);
  {
    auto lease = m.lease(t, side).value();
    fill(lease.stream(), &m.device_view()[t], 77);  // lands only once the gate opens
  }
  std::atomic<bool> opened{false};
  std::thread kernel_ends = open_later(gate, opened);
  EXPECT_EQ(m.read(t).value()->payload, tensor(77));  // no synchronization by the caller
  EXPECT_TRUE(opened.load()) << "the read did not wait for the lease's work";
  kernel_ends.join();
}

TYPED_TEST(DeviceLeases, HostWriteGuardWaitsForWorkWritingThroughTheLease) {
  TypeParam m(device_config());
  TestStream side;
  const MessageToken t = m.store(message(1)).value();
  Gate gate(side);
  {
    auto lease = m.lease(t, side).value();
    fill(lease.stream(), lease.device_ptr(), 88);
  }
  std::atomic<bool> opened{false};
  std::thread kernel_ends = open_later(gate, opened);
  EXPECT_EQ(m.read_mut(t).value()->payload, tensor(88));
  EXPECT_TRUE(opened.load());
  kernel_ends.join();
}

TYPED_TEST(DeviceLeases, HostAccessNeverWaitsForWorkOnAnotherSlot) {
  TypeParam m(device_config());
  TestStream side;
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  Gate gate(side);  // b's work does not finish until the end
  {
    auto lease = m.lease(b, side).value();
    fill(lease.stream(), lease.device_ptr(), 9);
  }
  const bool unblocked = finishes_within(5s, [&] {
    EXPECT_EQ(m.read(a).value()->payload, tensor(1));
    { m.read_mut(a).value()->payload.data[0] = 3; }
    const MessageToken c = m.store(message(3)).value();
    EXPECT_EQ(m.read(c).value()->payload, tensor(3));
  });
  gate.open();
  EXPECT_TRUE(unblocked) << "host access to a and c waited for b's work";
  EXPECT_EQ(m.read(b).value()->payload, tensor(9));
}

TYPED_TEST(DeviceLeases, StreamOrderedFreeDoesNotHandTheSlotOutEarly) {
  ManagerConfig c = device_config(1);
  c.wait_for_pending_frees = false;
  TypeParam m(c);
  TestStream side;
  const MessageToken t = m.store(message(1)).value();
  Gate gate(side);
  {
    auto lease = m.lease(t, side).value();
    fill(lease.stream(), lease.device_ptr(), 5);
  }
  ASSERT_TRUE(m.free(t).has_value());  // returns at once
  EXPECT_EQ(m.available(), 0U);
  LIMEN_EXPECT_ERROR(m.store(message(2)), MemoryError::NoFreeSlots);
  gate.open();
  ASSERT_TRUE(cpu_device::synchronize(side).has_value());
  EXPECT_EQ(m.available(), 1U) << "a pending slot whose work completed must be available";
  const MessageToken again = m.store(message(3)).value();
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));
}

TYPED_TEST(DeviceLeases, StoreWaitsForTheWorkWhenAllowed) {
  TypeParam m(device_config(1));  // wait_for_pending_frees defaults to true
  TestStream side;
  const MessageToken t = m.store(message(1)).value();
  Gate gate(side);
  {
    auto lease = m.lease(t, side).value();
    fill(lease.stream(), lease.device_ptr(), 5);
  }
  ASSERT_TRUE(m.free(t).has_value());
  std::atomic<bool> opened{false};
  std::thread kernel_ends = open_later(gate, opened);
  const MessageToken again = m.store(message(3)).value();
  EXPECT_TRUE(opened.load()) << "the store reused a slot the work still wrote";
  kernel_ends.join();
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m.read(again).value()->payload, tensor(3));  // the late write came before
}

TYPED_TEST(DeviceLeases, DestructionWaitsForWorkOnOtherStreams) {
  TestStream side;
  auto m = std::make_unique<TypeParam>(device_config(2));
  const MessageToken t = m->store(message(1)).value();
  Gate gate(side);
  {
    auto lease = m->lease(t, side).value();
    fill(lease.stream(), lease.device_ptr(), 5);
  }
  ASSERT_TRUE(m->free(t).has_value());  // pending
  std::atomic<bool> opened{false};
  std::thread kernel_ends = open_later(gate, opened);
  m.reset();  // must not release memory the work still writes
  EXPECT_TRUE(opened.load()) << "the manager was destroyed under running work";
  kernel_ends.join();
}

// --- Batches feeding device work ----------------------------------------------------

template <class M>
class DeviceBatches : public ::testing::Test {};
TYPED_TEST_SUITE(DeviceBatches, LeasedManagers);

TYPED_TEST(DeviceBatches, ABatchStagedForWorkOnASecondStream) {
  TypeParam m(device_config(256));
  TestStream side;
  std::vector<Message<TestTensor>> messages;
  for (std::uint32_t i = 0; i < 200; ++i) messages.push_back(message(i * 3 + 1));
  Gate gate(side);  // the batch is queued behind unfinished work
  const auto tokens = m.store_batch(messages, side).value();
  std::vector<std::uint32_t> indices;
  for (MessageToken t : tokens) indices.push_back(t.index());
  // Device memory: the upload is queued behind the gate, and the host read must
  // wait for it. Pinned and managed batches are written by the host at once.
  std::atomic<bool> opened{false};
  std::thread kernel_ends = open_later(gate, opened);
  EXPECT_EQ(m.read(tokens[199]).value()->payload, tensor(199 * 3 + 1));
  if constexpr (std::is_same_v<TypeParam, DeviceManager<TestTensor>>) {
    EXPECT_TRUE(opened.load()) << "the read did not wait for the batch";
  }
  kernel_ends.join();
  // Same stream: the work sees the batch without any synchronization.
  EXPECT_EQ(checksum_slots(side, m.device_view(), indices), sum_of(messages));
}

TYPED_TEST(DeviceBatches, GatherFeedsWorkAndScatterWritesBack) {
  TypeParam m(device_config(64));
  TestStream side;
  std::vector<Message<TestTensor>> messages;
  std::vector<MessageToken> tokens;
  for (std::uint32_t i = 0; i < 40; ++i) {
    messages.push_back(message(i + 7));
    tokens.push_back(m.store(messages.back()).value());
  }
  PinnedBufferPool pool;  // a device-visible array on both the GPU and the CPU device
  auto buffer = pool.allocate(tokens.size() * sizeof(TestTensor)).value();
  auto* gathered = static_cast<TestTensor*>(buffer.device_ptr());
  {
    Gate gate(side);  // the gather is queued behind unfinished work
    ASSERT_TRUE(m.gather(tokens, gathered, side).has_value());
  }
  EXPECT_EQ(checksum_items(side, gathered, tokens.size()), sum_of(messages));
  {
    Gate gate(side);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      fill(side, gathered + i, static_cast<std::uint32_t>(500 + i));
    }
    ASSERT_TRUE(m.scatter(gathered, tokens, side).has_value());
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {  // each read waits for the scatter
    EXPECT_EQ(m.read(tokens[i]).value()->payload, tensor(static_cast<std::uint32_t>(500 + i)));
  }
  pool.release(std::move(buffer), side);
}

// --- Streams --------------------------------------------------------------------------

TEST(Device, ABorrowedLegacyStreamIsNeverUsedForCopies) {
  ManagerConfig c = device_config();
  c.stream = StreamHandle{};  // the legacy default stream: it waits for every blocking stream
  DeviceManager<TestTensor> m(c);
  const MessageToken t = m.store(message(1)).value();
  TestStream blocking(0, /*blocking=*/true);
  Gate gate(blocking);
  const bool unblocked = finishes_within(5s, [&] {
    EXPECT_EQ(m.read(t).value()->payload, tensor(1));
    (void)m.store(message(2)).value();
  });
  gate.open();
  EXPECT_TRUE(unblocked) << "guard copies ran on the legacy default stream";
}

}  // namespace
}  // namespace limen::test
