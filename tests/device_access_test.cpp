// SPDX-License-Identifier: Apache-2.0
// Leases, in-flight slots, stream-ordered free and device views, driven on the
// CPU device (held work stands in for a kernel still running, host tasks for
// kernels), plus the error path of every injected CUDA failure kind.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <type_traits>

namespace limen::test {
namespace {

using namespace std::chrono_literals;
using fault_injection::FaultKind;

static_assert(std::is_trivially_copyable_v<DeviceSlotView<TestTensor>>);
static_assert(!std::is_copy_constructible_v<DeviceLease<TestTensor>>);
static_assert(std::is_nothrow_move_constructible_v<DeviceLease<TestTensor>>);

template <class M>
class DeviceAccess : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::clear_faults();
    fault_injection::hold_events(false);
    if (!runtime_info().fallback_active) {
      GTEST_SKIP() << "held work and injected faults drive the CPU device; see gpu tests";
    }
  }
  void TearDown() override {
    fault_injection::hold_events(false);
    fault_injection::release_events();
    fault_injection::clear_faults();
  }

  static std::unique_ptr<M> make(std::size_t capacity, bool wait_for_pending = true) {
    ManagerConfig c = config_for(capacity);
    c.wait_for_pending_frees = wait_for_pending;
    return std::make_unique<M>(c);
  }
  static ManagerConfig config_for(std::size_t capacity) {
    ManagerConfig c = M::config(capacity);
    return c;
  }

  /// A lease whose "kernel" writes @p value, queued while work is held: the slot is in flight.
  static void write_in_flight(M& m, MessageToken t, std::uint32_t value) {
    fault_injection::hold_events(true);
    auto lease = m.lease(t).value();
    write(lease.stream(), &lease.device_ptr()->data[0], value);
  }
};

TYPED_TEST_SUITE(DeviceAccess, ConfiguredClassManagers);

TYPED_TEST(DeviceAccess, LeasePointsIntoTheDeviceViewAndItsWritesReachTheHost) {
  auto m = this->make(4);
  const MessageToken a = m->store(message(1)).value();
  const MessageToken b = m->store(message(2)).value();
  const DeviceSlotView<TestTensor> view = m->device_view();
  EXPECT_EQ(view.capacity(), 4U);
  EXPECT_GE(view.stride(), sizeof(TestTensor));
  {
    auto lease = m->lease(b).value();
    EXPECT_EQ(lease.device_ptr(), &view[b]);  // an address only: device memory is not the host's
    EXPECT_EQ(lease.index(), b.index());
    EXPECT_EQ(read(lease.stream(), &view[b].data[0]), 2U);  // the device copy holds the store
    write(lease.stream(), &lease.device_ptr()->data[1], 20U);
  }
  EXPECT_EQ(m->read(b).value()->payload.data[1], 20U);
  EXPECT_EQ(m->read(a).value()->payload, tensor(1));  // the neighbour is untouched
}

TYPED_TEST(DeviceAccess, ALeaseConflictsLikeAWriter) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(1)).value();
  {
    auto lease = m->lease(t).value();
    LIMEN_EXPECT_ERROR(m->try_read(t), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(m->try_read_mut(t), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(m->try_lease(t, m->stream()), MemoryError::AlreadyBorrowed);
    LIMEN_EXPECT_ERROR(m->free(t), MemoryError::BorrowActive);
  }
  {
    auto reader = m->read(t).value();
    LIMEN_EXPECT_ERROR(m->try_lease(t, m->stream()), MemoryError::AlreadyBorrowed);
  }
  LIMEN_EXPECT_ERROR(m->lease(MessageToken{9, 1}, m->stream()), MemoryError::BadToken);
  EXPECT_TRUE(m->free(t).has_value());
  LIMEN_EXPECT_ERROR(m->lease(t, m->stream()), MemoryError::NotAllocated);
}

TYPED_TEST(DeviceAccess, ReadAfterALeaseWaitsForItsEvent) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(1)).value();
  this->write_in_flight(*m, t, 42);
  const auto syncs_before = m->stats().synchronizations;
  EXPECT_EQ(m->peek_header(t).value()->payload_size_bytes, 36U);  // headers never wait

  std::atomic<bool> read_done{false};
  std::uint32_t seen = 0;
  std::thread reader([&] {
    seen = m->read(t).value()->payload.data[0];
    read_done.store(true);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(read_done.load()) << "read must wait while the slot's work is in flight";
  fault_injection::release_events();  // the "kernel" finishes
  reader.join();
  EXPECT_EQ(seen, 42U);
  EXPECT_GT(m->stats().synchronizations, syncs_before);
  // The event has completed: later reads do not wait again.
  EXPECT_EQ(m->read(t).value()->payload.data[0], 42U);
}

TYPED_TEST(DeviceAccess, FreeOfAnInFlightSlotIsStreamOrdered) {
  auto m = this->make(1, /*wait_for_pending=*/false);
  const MessageToken t = m->store(message(1)).value();
  this->write_in_flight(*m, t, 7);
  ASSERT_TRUE(m->free(t).has_value());  // returns at once
  EXPECT_EQ(m->available(), 0U);        // but the slot is not reusable yet
  EXPECT_EQ(m->stats().pending_frees, 1U);
  EXPECT_EQ(m->stats().in_use, 0U);
  LIMEN_EXPECT_ERROR(m->read(t), MemoryError::NotAllocated);
  LIMEN_EXPECT_ERROR(m->store(message(2)), MemoryError::NoFreeSlots);  // never handed out early
  fault_injection::release_events();
  const MessageToken again = m->store(message(3)).value();  // reclaimed without blocking
  EXPECT_EQ(again.index(), t.index());
  EXPECT_EQ(m->stats().pending_frees, 0U);
  EXPECT_EQ(m->read(again).value()->payload, tensor(3));
}

TYPED_TEST(DeviceAccess, StoreWaitsForTheOldestPendingSlotWhenAllowed) {
  auto m = this->make(1, /*wait_for_pending=*/true);
  const MessageToken t = m->store(message(1)).value();
  this->write_in_flight(*m, t, 7);
  ASSERT_TRUE(m->free(t).has_value());
  std::atomic<bool> released{false};
  std::thread kernel([&] {
    std::this_thread::sleep_for(50ms);
    released.store(true);
    fault_injection::release_events();
  });
  const MessageToken again = m->store(message(2)).value();  // blocks until the event completes
  EXPECT_TRUE(released.load());
  kernel.join();
  EXPECT_EQ(again.index(), t.index());
}

TYPED_TEST(DeviceAccess, AvailableCountsOnlyReusableSlots) {
  auto m = this->make(4, false);
  const MessageToken a = m->store(message(1)).value();
  const MessageToken b = m->store(message(2)).value();
  (void)m->store(message(3)).value();
  this->write_in_flight(*m, a, 1);
  this->write_in_flight(*m, b, 1);
  ASSERT_TRUE(m->free(a).has_value());
  ASSERT_TRUE(m->free(b).has_value());
  EXPECT_EQ(m->available(), 1U);  // 1 in use, 2 pending, 1 free
  fault_injection::release_events();
  (void)m->store(message(4)).value();  // reclaims both pending slots
  EXPECT_EQ(m->available(), 2U);
  EXPECT_EQ(m->stats().pending_frees, 0U);
}

TYPED_TEST(DeviceAccess, AFinishedLeaseFreesImmediately) {
  auto m = this->make(1, false);
  const MessageToken t = m->store(message(1)).value();
  {
    auto lease = m->lease(t).value();
    ASSERT_TRUE(cpu_device::synchronize(lease.stream()).has_value());  // the work completed
  }
  ASSERT_TRUE(m->free(t).has_value());
  EXPECT_EQ(m->available(), 1U);
  EXPECT_EQ(m->stats().pending_frees, 0U);
}

// --- Every injected failure kind: the exact error, no slot leaked ------------

TYPED_TEST(DeviceAccess, FailedWaitIsADeviceErrorAndTheSlotStaysInFlight) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(1)).value();
  this->write_in_flight(*m, t, 5);
  fault_injection::release_events();
  fault_injection::inject_faults(FaultKind::Synchronize, 1);
  LIMEN_EXPECT_ERROR(m->read(t), MemoryError::DeviceError);
  ASSERT_TRUE(m->last_device_error().has_value());
  EXPECT_NE(m->last_device_error()->call.find("cudaEventSynchronize"), std::string::npos);
  EXPECT_EQ(m->read(t).value()->payload.data[0], 5U);  // the retry waits and succeeds
  ASSERT_TRUE(m->free(t).has_value());
  EXPECT_EQ(m->available(), m->capacity());
}

TYPED_TEST(DeviceAccess, FailedEventQueryKeepsTheMessageForARetriedFree) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(1)).value();
  this->write_in_flight(*m, t, 5);
  fault_injection::inject_faults(FaultKind::EventQuery, 1);
  LIMEN_EXPECT_ERROR(m->free(t), MemoryError::DeviceError);
  EXPECT_NE(m->last_device_error()->call.find("cudaEventQuery"), std::string::npos);
  fault_injection::release_events();
  EXPECT_EQ(m->read(t).value()->payload.data[0], 5U);  // not lost
  ASSERT_TRUE(m->free(t).has_value());
  EXPECT_EQ(m->available(), m->capacity());
}

TYPED_TEST(DeviceAccess, FailedEventRecordFallsBackToAStreamSync) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(1)).value();
  fault_injection::inject_faults(FaultKind::EventRecord, 1);
  {
    auto lease = m->lease(t).value();
    write(lease.stream(), &lease.device_ptr()->data[0], 8U);
  }
  EXPECT_NE(m->last_device_error()->call.find("cudaEventRecord"), std::string::npos);
  EXPECT_EQ(m->read(t).value()->payload.data[0], 8U);
  ASSERT_TRUE(m->free(t).has_value());
  EXPECT_EQ(m->available(), m->capacity());
}

TYPED_TEST(DeviceAccess, LeaseWhoseEndCannotBeOrderedPoisonsOnlyItsSlot) {
  auto m = this->make(2);
  const MessageToken keep = m->store(message(1)).value();
  const MessageToken t = m->store(message(2)).value();
  fault_injection::inject_faults(FaultKind::EventRecord, 1);
  fault_injection::inject_faults(FaultKind::Synchronize, 1);
  { auto lease = m->lease(t).value(); }
  LIMEN_EXPECT_ERROR(m->read(t), MemoryError::Poisoned);
  EXPECT_EQ(m->read(keep).value()->payload, tensor(1));
  ASSERT_TRUE(m->free(t).has_value());
  ASSERT_TRUE(m->free(keep).has_value());
  EXPECT_EQ(m->available(), m->capacity());
}

TYPED_TEST(DeviceAccess, FailedCopyOrPrefetchOnReadLeaksNothing) {
  auto m = this->make(2);
  const MessageToken t = m->store(message(3)).value();
  fault_injection::inject_faults(FaultKind::Copy, 1);
  auto r = m->read(t);
  if (m->memory_class().kind() == MemoryKind::PinnedHost) {
    EXPECT_TRUE(r.has_value());  // pinned reads copy nothing
    fault_injection::clear_faults();
  } else {
    LIMEN_EXPECT_ERROR(r, MemoryError::DeviceError);
  }
  r = MemoryError::BadToken;  // drop any guard
  EXPECT_EQ(m->read(t).value()->payload, tensor(3));
  ASSERT_TRUE(m->free(t).has_value());
  EXPECT_EQ(m->available(), m->capacity());
}

TYPED_TEST(DeviceAccess, FailedAllocationIsADeviceErrorAtConstruction) {
  fault_injection::inject_faults(FaultKind::Allocation, 1);
  try {
    TypeParam m(TypeParam::config(4));
    FAIL() << "construction must fail";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::DeviceError);
  }
}

}  // namespace
}  // namespace limen::test
