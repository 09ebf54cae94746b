// SPDX-License-Identifier: Apache-2.0
// The GPU path as the CPU device runs it: host access never queues behind
// work on other slots, stores never wait for the device, a borrowed stream is
// used only for the leases asked of it, graph capture is refused clearly, and
// a sticky CUDA error marks the manager "device lost".
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace limen::test {
namespace {

using namespace std::chrono_literals;
using fault_injection::FaultKind;

template <class M>
class StreamOrdering : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::reset();
    if (!runtime_info().fallback_active) {
      GTEST_SKIP() << "the CPU device models these; gpu_test.cpp checks them on a GPU";
    }
  }
  void TearDown() override { fault_injection::reset(); }
};
TYPED_TEST_SUITE(StreamOrdering, ConfiguredClassManagers);

/// Runs @p work on another thread; true if it finished within @p limit.
template <class F>
bool finishes_within(std::chrono::milliseconds limit, F work) {
  auto done = std::async(std::launch::async, std::move(work));
  const bool finished = done.wait_for(limit) == std::future_status::ready;
  if (finished) done.get();
  return finished;
}

TYPED_TEST(StreamOrdering, HostAccessNeverWaitsForWorkOnAnotherSlot) {
  TypeParam m(TypeParam::config(4));
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  fault_injection::hold_events(true);  // a long "kernel" on slot b, on the manager's own stream
  { auto lease = m.lease(b).value(); }
  const bool unblocked = finishes_within(2s, [&] {
    EXPECT_EQ(m.read(a).value()->payload, tensor(1));
    { m.read_mut(a).value()->payload.data[0] = 5; }
    const MessageToken c = m.store(message(3)).value();
    EXPECT_EQ(m.read(c).value()->payload, tensor(3));
    EXPECT_TRUE(m.free(c).has_value());
  });
  fault_injection::release_events();
  EXPECT_TRUE(unblocked) << "host access to slot a waited for device work on slot b";
  EXPECT_EQ(m.read(b).value()->payload, tensor(2));
}

TYPED_TEST(StreamOrdering, StoresNeverWaitForTheDevice) {
  TypeParam m(TypeParam::config(4));
  for (std::uint32_t i = 0; i < 4; ++i) (void)m.store(message(i)).value();
  EXPECT_EQ(m.stats().synchronizations, 0U);
}

TYPED_TEST(StreamOrdering, ABorrowedStreamIsUsedOnlyForLeases) {
  const StreamHandle borrowed = cpu_device::create_stream().value();
  ManagerConfig c = TypeParam::config(4);
  c.stream = borrowed;
  {
    TypeParam m(c);
    const MessageToken t = m.store(message(1)).value();
    {
      auto lease = m.lease(t).value();  // work on the borrowed stream
      write(lease.stream(), &lease.device_ptr()->data[0], 7U);
    }
    fault_injection::destroy_stream(borrowed);  // the caller destroyed it afterwards
    // Guard copies, frees and teardown never touch it.
    EXPECT_EQ(m.read(t).value()->payload.data[0], 7U);
    { m.read_mut(t).value()->payload.data[1] = 8; }
    const MessageToken u = m.store(message(2)).value();
    EXPECT_TRUE(m.free(t).has_value());
    EXPECT_TRUE(m.free(u).has_value());
    (void)m.available();
    (void)m.stats();
  }
  EXPECT_EQ(fault_injection::dangling_stream_uses(), 0U);
  // The counter does see uses: a lease on the destroyed stream is one, and it is refused.
  TypeParam other(c);
  const MessageToken t = other.store(message(1)).value();
  LIMEN_EXPECT_ERROR(other.lease(t), MemoryError::DeviceError);
  EXPECT_EQ(other.last_device_error()->code, 400);  // cudaErrorInvalidResourceHandle
  EXPECT_GT(fault_injection::dangling_stream_uses(), 0U);
  EXPECT_EQ(other.read(t).value()->payload, tensor(1));  // the refusal changed nothing
}

// An application built with per-thread default streams leases on its own
// default stream: host access waits for that thread's work, not the legacy
// stream's (StreamHandle{} would be the legacy stream in limen's calls).
TYPED_TEST(StreamOrdering, ALeaseOnThePerThreadDefaultStreamOrdersHostAccessAfterIt) {
  TypeParam m(TypeParam::config(4));
  const MessageToken t = m.store(message(1)).value();
  const StreamHandle mine = StreamHandle::per_thread();
  {
    auto lease = m.lease(t, mine).value();
    EXPECT_TRUE(lease.stream().is_per_thread());
  }
  auto lease = m.lease(t, mine).value();
  Gate gate(mine);  // a long kernel, then the write
  write(mine, &lease.device_ptr()->data[0], 11U);
  lease.reset();
  std::atomic<bool> opened{false};
  std::thread kernel_ends([&] {
    std::this_thread::sleep_for(30ms);
    opened.store(true);
    gate.open();
  });
  EXPECT_EQ(m.read(t).value()->payload.data[0], 11U);
  EXPECT_TRUE(opened.load()) << "the read did not wait for the per-thread stream's work";
  kernel_ends.join();
  EXPECT_TRUE(m.free(t).has_value());
}

TYPED_TEST(StreamOrdering, AStreamTheDeviceDidNotMakeIsRefusedClearly) {
  static int not_a_stream = 0;
  ManagerConfig c = TypeParam::config(2);
  c.stream = StreamHandle(reinterpret_cast<CUstream_st*>(&not_a_stream));
  TypeParam m(c);
  const MessageToken t = m.store(message(1)).value();
  LIMEN_EXPECT_ERROR(m.lease(t), MemoryError::DeviceError);
  const auto error = m.last_device_error();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->code, 400);
  EXPECT_NE(error->text.find("invalid resource handle"), std::string::npos) << error->text;
  EXPECT_EQ(fault_injection::dangling_stream_uses(), 0U);  // never a stream: not "dangling"
  LIMEN_EXPECT_ERROR(m.gather(std::span<const MessageToken>(&t, 1), nullptr, c.stream.value()),
                     MemoryError::DeviceError);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));
  EXPECT_TRUE(m.free(t).has_value());
}

TYPED_TEST(StreamOrdering, LeasesOnAStreamBeingCapturedAreRefused) {
  TypeParam m(TypeParam::config(2));
  const MessageToken t = m.store(message(1)).value();
  fault_injection::simulate_capture(true);
  LIMEN_EXPECT_ERROR(m.lease(t), MemoryError::Unsupported);
  fault_injection::simulate_capture(false);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));  // the refusal changed nothing
  {
    auto lease = m.lease(t).value();
    write(lease.stream(), &lease.device_ptr()->data[0], 3U);
  }
  EXPECT_EQ(m.read(t).value()->payload.data[0], 3U);
}

// A sticky CUDA error (here a kernel's illegal address, met while waiting for
// it) leaves the device unusable: reads and stores fail naming the cause,
// frees still complete and pending slots drain.
TYPED_TEST(StreamOrdering, AStickyErrorMarksTheDeviceLost) {
  TypeParam m(TypeParam::config(4));
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  fault_injection::hold_events(true);
  { auto lease = m.lease(a).value(); }
  { auto lease = m.lease(b).value(); }
  ASSERT_TRUE(m.free(b).has_value());  // pending: its "kernel" still runs
  EXPECT_EQ(m.stats().pending_frees, 1U);
  fault_injection::inject_faults(FaultKind::Synchronize, 1, 700);  // cudaErrorIllegalAddress
  LIMEN_EXPECT_ERROR(m.read(a), MemoryError::DeviceError);
  const auto cause = m.last_device_error();
  ASSERT_TRUE(cause.has_value());
  EXPECT_EQ(cause->code, 700);
  // Lost: every read and store fails with the cause kept...
  LIMEN_EXPECT_ERROR(m.read(a), MemoryError::DeviceError);
  LIMEN_EXPECT_ERROR(m.read_mut(a), MemoryError::DeviceError);
  LIMEN_EXPECT_ERROR(m.store(message(3)), MemoryError::DeviceError);
  LIMEN_EXPECT_ERROR(m.lease(a), MemoryError::DeviceError);
  EXPECT_EQ(m.last_device_error()->code, 700);
  EXPECT_EQ(m.stats().failed_stores, 1U);
  EXPECT_EQ(m.peek_header(a).value()->payload_size_bytes, 36U);  // headers are host memory
  // ...while frees complete and the pending slot drains, held events or not.
  ASSERT_TRUE(m.free(a).has_value());
  EXPECT_EQ(m.stats().pending_frees, 0U);
  EXPECT_EQ(m.available(), m.capacity());
  fault_injection::release_events();
}

TYPED_TEST(StreamOrdering, ANonStickyErrorLeavesTheManagerUsable) {
  TypeParam m(TypeParam::config(2));
  const MessageToken a = m.store(message(1)).value();
  fault_injection::hold_events(true);
  { auto lease = m.lease(a).value(); }
  fault_injection::release_events();
  fault_injection::inject_faults(FaultKind::Synchronize, 1);  // cudaErrorUnknown: not sticky
  LIMEN_EXPECT_ERROR(m.read(a), MemoryError::DeviceError);
  EXPECT_EQ(m.read(a).value()->payload, tensor(1));
  EXPECT_TRUE(m.store(message(2)).has_value());
}

}  // namespace
}  // namespace limen::test
