// SPDX-License-Identifier: Apache-2.0
// The CPU device itself (limen/cpu_device.hpp): what it models and that a
// mistake against the model shows. Streams run their work in order, at once
// or later on a worker; events and stream waits order work across streams;
// the legacy default stream serialises with blocking streams only; device
// memory faults on host access; foreign and destroyed handles are refused;
// sticky errors stay; several devices and devices without pools exist.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;

class CpuDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_device::active()) GTEST_SKIP() << "a CUDA device is present: no CPU device";
    saved_ = cpu_device::settings();
    fault_injection::reset();
  }
  void TearDown() override {
    if (!cpu_device::active()) return;
    cpu_device::set_schedule(saved_.schedule, saved_.seed, saved_.max_delay_us);
    fault_injection::reset();
  }

  cpu_device::Settings saved_;
};

/// Both schedules, for tests that must hold in each.
class BothSchedules : public CpuDevice, public ::testing::WithParamInterface<cpu_device::Schedule> {
 protected:
  void SetUp() override {
    CpuDevice::SetUp();
    if (IsSkipped()) return;
    cpu_device::set_schedule(GetParam(), 11, 50);
  }
};
INSTANTIATE_TEST_SUITE_P(Schedules, BothSchedules,
                         ::testing::Values(cpu_device::Schedule::Immediate,
                                           cpu_device::Schedule::Deferred));

TEST_F(CpuDevice, TheImmediateScheduleRunsCopiesAtOnceInTheCaller) {
  cpu_device::set_schedule(cpu_device::Schedule::Immediate);
  ManagerConfig c;
  c.capacity = 2;
  DeviceManager<TestTensor> m(c);
  const auto queued_before = cpu_device::stats().work_queued;
  const MessageToken t = m.store(message(4)).value();
  EXPECT_EQ(m.read(t).value()->payload, tensor(4));
  EXPECT_EQ(cpu_device::stats().work_queued, queued_before)
      << "an idle stream's copies run inside the call that queues them";
}

TEST_F(CpuDevice, AHostTaskNeverRunsInTheCaller) {
  for (auto schedule : {cpu_device::Schedule::Immediate, cpu_device::Schedule::Deferred}) {
    cpu_device::set_schedule(schedule, 3, 50);
    TestStream s;
    std::atomic<bool> released{false};
    std::thread::id ran_on;
    // The task waits for what the caller does after queuing it, as a kernel may.
    ASSERT_TRUE(cpu_device::launch_host_task(s, [&] {
                  while (!released.load()) std::this_thread::yield();
                  ran_on = std::this_thread::get_id();
                }).has_value());
    released.store(true);
    ASSERT_TRUE(cpu_device::synchronize(s).has_value());
    EXPECT_NE(ran_on, std::this_thread::get_id());
  }
}

TEST_F(CpuDevice, TheDeferredScheduleRunsWorkLaterOnTheStreamsWorker) {
  cpu_device::set_schedule(cpu_device::Schedule::Deferred, 5, 200);
  TestStream s;
  std::atomic<bool> ran{false};
  std::thread::id ran_on;
  const auto queued_before = cpu_device::stats().work_queued;
  ASSERT_TRUE(cpu_device::launch_host_task(s, [&] {
                ran_on = std::this_thread::get_id();
                ran.store(true);
              }).has_value());
  ASSERT_TRUE(cpu_device::synchronize(s).has_value());
  EXPECT_TRUE(ran.load());
  EXPECT_NE(ran_on, std::this_thread::get_id()) << "deferred work runs on the stream's worker";
  EXPECT_GT(cpu_device::stats().work_queued, queued_before);
  EXPECT_NE(cpu_device::describe().find("LIMEN_CPU_DEVICE_SEED=5"), std::string::npos)
      << cpu_device::describe();
}

TEST_P(BothSchedules, AStreamRunsItsWorkInOrder) {
  TestStream s;
  std::vector<int> order;
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(cpu_device::launch_host_task(s, [&order, i] { order.push_back(i); }).has_value());
  }
  ASSERT_TRUE(cpu_device::synchronize(s).has_value());
  ASSERT_EQ(order.size(), 200U);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[static_cast<std::size_t>(i)], i);
}

TEST_P(BothSchedules, AnEventCompletesWhenItsStreamReachesIt) {
  TestStream s;
  const cpu_device::EventHandle e = cpu_device::create_event().value();
  EXPECT_TRUE(cpu_device::query_event(e).value()) << "an event never recorded is complete";
  Gate gate(s);
  ASSERT_TRUE(cpu_device::record_event(e, s).has_value());
  EXPECT_FALSE(cpu_device::query_event(e).value());
  gate.open();
  ASSERT_TRUE(cpu_device::synchronize_event(e).has_value());
  EXPECT_TRUE(cpu_device::query_event(e).value());
  ASSERT_TRUE(cpu_device::destroy_event(e).has_value());
}

TEST_P(BothSchedules, AStreamWaitsForAnotherStreamsEvent) {
  TestStream a;
  TestStream b;
  const cpu_device::EventHandle e = cpu_device::create_event().value();
  Gate gate(a);
  ASSERT_TRUE(cpu_device::record_event(e, a).has_value());
  ASSERT_TRUE(cpu_device::wait_event(b, e).has_value());
  std::atomic<bool> ran{false};
  ASSERT_TRUE(cpu_device::launch_host_task(b, [&] { ran.store(true); }).has_value());
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(ran.load()) << "work on b ran before the event it waits for";
  gate.open();
  ASSERT_TRUE(cpu_device::synchronize(b).has_value());
  EXPECT_TRUE(ran.load());
  (void)cpu_device::destroy_event(e);
}

TEST_P(BothSchedules, TheLegacyStreamWaitsForBlockingStreamsOnly) {
  const StreamHandle legacy{};
  {
    TestStream blocking(0, /*blocking=*/true);
    Gate gate(blocking);
    std::atomic<bool> ran{false};
    ASSERT_TRUE(cpu_device::launch_host_task(legacy, [&] { ran.store(true); }).has_value());
    std::this_thread::sleep_for(20ms);
    EXPECT_FALSE(ran.load()) << "the legacy stream ran past a blocking stream's work";
    gate.open();
    ASSERT_TRUE(cpu_device::synchronize(legacy).has_value());
    EXPECT_TRUE(ran.load());
  }
  {
    TestStream non_blocking;
    Gate gate(non_blocking);
    std::atomic<bool> ran{false};
    ASSERT_TRUE(cpu_device::launch_host_task(legacy, [&] { ran.store(true); }).has_value());
    ASSERT_TRUE(cpu_device::synchronize(legacy).has_value());  // never waits for `non_blocking`
    EXPECT_TRUE(ran.load());
  }
}

TEST_P(BothSchedules, ABlockingStreamWaitsForTheLegacyStream) {
  const StreamHandle legacy{};
  TestStream blocking(0, /*blocking=*/true);
  Gate gate(legacy);
  std::atomic<bool> ran{false};
  ASSERT_TRUE(cpu_device::launch_host_task(blocking, [&] { ran.store(true); }).has_value());
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(ran.load());
  gate.open();
  ASSERT_TRUE(cpu_device::synchronize(blocking).has_value());
  EXPECT_TRUE(ran.load());
}

// cudaStreamPerThread: each thread's own blocking stream. Another thread's
// work never holds it; the legacy stream serialises with it both ways.
TEST_P(BothSchedules, EachThreadHasItsOwnPerThreadDefaultStream) {
  const StreamHandle mine = StreamHandle::per_thread();
  Gate gate(mine);  // this thread's default stream is held
  std::atomic<bool> ran{false};
  std::thread other([&] {
    ASSERT_TRUE(cpu_device::launch_host_task(StreamHandle::per_thread(), [&] {
                  ran.store(true);
                }).has_value());
    ASSERT_TRUE(cpu_device::synchronize(StreamHandle::per_thread()).has_value());
  });
  other.join();  // would hang if both threads shared one stream
  EXPECT_TRUE(ran.load());
  std::atomic<bool> legacy_ran{false};
  ASSERT_TRUE(cpu_device::launch_host_task(StreamHandle::legacy(), [&] {
                legacy_ran.store(true);
              }).has_value());
  std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(legacy_ran.load()) << "the legacy stream ran past the per-thread stream's work";
  gate.open();
  ASSERT_TRUE(cpu_device::synchronize(StreamHandle::legacy()).has_value());
  EXPECT_TRUE(legacy_ran.load());
  EXPECT_TRUE(StreamHandle::per_thread().is_per_thread());
  EXPECT_TRUE(StreamHandle::legacy().is_default());
}

TEST_P(BothSchedules, APerThreadStreamsWorkStillRunsAfterItsThreadExits) {
  std::atomic<bool> ran{false};
  std::thread worker([&] {
    ASSERT_TRUE(cpu_device::launch_host_task(StreamHandle::per_thread(), [&] {
                  std::this_thread::sleep_for(20ms);
                  ran.store(true);
                }).has_value());
  });
  worker.join();
  ASSERT_TRUE(cpu_device::synchronize_device().has_value());
  EXPECT_TRUE(ran.load());
}

TEST_F(CpuDevice, ADefaultStreamCannotBeDestroyed) {
  LIMEN_EXPECT_ERROR(cpu_device::destroy_stream(StreamHandle::per_thread()),
                     MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::last_error()->code, 400);  // cudaErrorInvalidResourceHandle
  LIMEN_EXPECT_ERROR(cpu_device::destroy_stream(StreamHandle::legacy()), MemoryError::DeviceError);
  std::atomic<bool> ran{false};
  ASSERT_TRUE(cpu_device::launch_host_task(StreamHandle::per_thread(), [&] {
                ran.store(true);
              }).has_value());
  ASSERT_TRUE(cpu_device::synchronize(StreamHandle::per_thread()).has_value());
  EXPECT_TRUE(ran.load());
}

// A blocking stream destroyed mid-capture ends its capture: the legacy stream
// no longer reports that it would join one, and a new stream in its place
// captures nothing.
TEST_F(CpuDevice, AStreamDestroyedWhileCapturingEndsItsCapture) {
  const StreamHandle blocking = cpu_device::create_stream(0, /*blocking=*/true).value();
  ASSERT_TRUE(cpu_device::begin_capture(blocking).has_value());
  ASSERT_TRUE(cpu_device::destroy_stream(blocking).has_value());
  std::atomic<bool> ran{false};
  ASSERT_TRUE(
      cpu_device::launch_host_task(StreamHandle::legacy(), [&] { ran.store(true); }).has_value())
      << "the legacy stream still sees a capture";
  ASSERT_TRUE(cpu_device::synchronize(StreamHandle::legacy()).has_value());
  EXPECT_TRUE(ran.load());
  const StreamHandle next = cpu_device::create_stream(0, /*blocking=*/true).value();
  std::atomic<bool> next_ran{false};
  ASSERT_TRUE(cpu_device::launch_host_task(next, [&] { next_ran.store(true); }).has_value());
  ASSERT_TRUE(cpu_device::synchronize(next).has_value());
  EXPECT_TRUE(next_ran.load()) << "a new stream inherited the destroyed one's capture";
  (void)cpu_device::destroy_stream(next);
}

TEST_F(CpuDevice, DeviceMemoryFaultsOnHostAccessButNotInHostTasks) {
  ManagerConfig c;
  c.capacity = 2;
  DeviceManager<TestTensor> m(c);
  const MessageToken t = m.store(message(6)).value();
  auto* device = &m.device_view()[t];
  {
    auto lease = m.lease(t).value();  // orders the task after the store's copy
    EXPECT_EQ(read(lease.stream(), &device->data[0]), 6U);  // a host task reaches it
  }
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        volatile std::uint32_t value = device->data[0];  // host code touching device memory
        (void)value;
      },
      "");
}

TEST_F(CpuDevice, AHandleTheDeviceDidNotMakeIsRefusedNotFollowed) {
  static int not_a_stream = 0;
  const StreamHandle bogus(reinterpret_cast<CUstream_st*>(&not_a_stream));
  LIMEN_EXPECT_ERROR(cpu_device::launch_host_task(bogus, [] {}), MemoryError::DeviceError);
  ASSERT_TRUE(cpu_device::last_error().has_value());
  EXPECT_EQ(cpu_device::last_error()->code, 400);
  EXPECT_EQ(cpu_device::last_error()->name, "cudaErrorInvalidResourceHandle");
  LIMEN_EXPECT_ERROR(cpu_device::synchronize(bogus), MemoryError::DeviceError);
  const cpu_device::EventHandle not_an_event(reinterpret_cast<CUevent_st*>(&not_a_stream));
  LIMEN_EXPECT_ERROR(cpu_device::query_event(not_an_event), MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::stats().stale_handle_uses, 0U) << "a foreign pointer is not a stale one";
  // A destroyed stream's handle is stale: refused and counted.
  const StreamHandle s = cpu_device::create_stream().value();
  ASSERT_TRUE(cpu_device::destroy_stream(s).has_value());
  LIMEN_EXPECT_ERROR(cpu_device::launch_host_task(s, [] {}), MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::stats().stale_handle_uses, 1U);
}

TEST_F(CpuDevice, AStickyErrorFailsEveryLaterCallOnTheDevice) {
  DeviceManager<TestTensor> first(ManagerConfig{});
  DeviceManager<TestTensor> second(ManagerConfig{});
  const MessageToken a = first.store(message(1)).value();
  const MessageToken b = second.store(message(2)).value();
  fault_injection::inject_faults(fault_injection::FaultKind::Copy, 1, 700);
  LIMEN_EXPECT_ERROR(first.read(a), MemoryError::DeviceError);
  EXPECT_EQ(first.last_device_error()->code, 700);
  // The other manager on the device meets the same error at its next call.
  LIMEN_EXPECT_ERROR(second.read(b), MemoryError::DeviceError);
  EXPECT_EQ(second.last_device_error()->code, 700);
  LIMEN_EXPECT_ERROR(cpu_device::create_stream(), MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::last_error()->code, 700);
  ASSERT_TRUE(runtime_info().device_lost(0).has_value());
  EXPECT_EQ(runtime_info().device_lost(0)->code, 700);
  // The test-only reset revives the device for the tests that follow.
  fault_injection::reset();
  EXPECT_FALSE(runtime_info().device_lost(0).has_value());
  DeviceManager<TestTensor> after(ManagerConfig{});
  EXPECT_EQ(after.read(after.store(message(3)).value()).value()->payload, tensor(3));
}

TEST_F(CpuDevice, SeveralDevicesEachWithItsOwnMemoryAndStreams) {
  if (cpu_device::settings().devices < 2) {
    GTEST_SKIP() << "one CPU device modelled; run with LIMEN_CPU_DEVICES=2 (ctest does)";
  }
  ManagerConfig c;
  c.capacity = 4;
  c.device = 1;
  DeviceManager<TestTensor> on_one(c);
  EXPECT_EQ(on_one.memory_class(), MemoryClass::device(1));
  const MessageToken t = on_one.store(message(8)).value();
  EXPECT_EQ(on_one.read(t).value()->payload, tensor(8));
  // An event belongs to the device it was made on: recording it on another's stream fails.
  const cpu_device::EventHandle on_zero = cpu_device::create_event().value();
  TestStream stream_on_one(1);
  LIMEN_EXPECT_ERROR(cpu_device::record_event(on_zero, stream_on_one), MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::last_error()->code, 400);
  (void)cpu_device::destroy_event(on_zero);
  LIMEN_EXPECT_ERROR(cpu_device::create_stream(cpu_device::settings().devices),
                     MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::last_error()->code, 101);  // cudaErrorInvalidDevice
}

TEST_F(CpuDevice, DevicesWithoutMemoryPoolsUseOnePlainAllocation) {
  fault_injection::disable_memory_pools(true);
  ManagerConfig c;
  c.capacity = 8;
  DeviceManager<TestTensor> m(c);
  fault_injection::disable_memory_pools(false);
  const std::vector<Message<TestTensor>> batch{message(1), message(2), message(3)};
  const auto tokens = m.store_batch(batch).value();  // one copy per slot instead of a kernel
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(m.read(tokens[i]).value()->payload, batch[i].payload);
  }
}

// A caller's own pending error neither fails limen's calls (batches included)
// nor disappears in them: limen never reads or clears it.
TEST_F(CpuDevice, ACallersPendingErrorSurvivesLimensCalls) {
  static int not_a_stream = 0;
  (void)cpu_device::get_last_error();
  LIMEN_EXPECT_ERROR(
      cpu_device::synchronize(StreamHandle(reinterpret_cast<CUstream_st*>(&not_a_stream))),
      MemoryError::DeviceError);
  ASSERT_EQ(cpu_device::peek_at_last_error(), 400);  // the caller's, left pending
  ManagerConfig c;
  c.capacity = 8;
  DeviceManager<TestTensor> m(c);
  const std::vector<Message<TestTensor>> batch{message(1), message(2)};
  const auto tokens = m.store_batch(batch).value();
  std::vector<TestTensor> out(2);
  ASSERT_TRUE(m.gather(tokens, out.data(), m.stream()).has_value());
  ASSERT_TRUE(m.scatter(out.data(), tokens, m.stream()).has_value());
  const MessageToken t = m.store(message(3)).value();
  { auto lease = m.lease(t).value(); }
  EXPECT_EQ(m.read(tokens[1]).value()->payload, tensor(2));
  EXPECT_TRUE(m.free(t).has_value());
  // The lease's end is queued work (run later on the deferred schedule): the
  // stream-ordered free completes once it has run, and available() polls it.
  for (int i = 0; i < 2000 && m.available() != 6U; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(m.available(), 6U);
  EXPECT_EQ(cpu_device::peek_at_last_error(), 400) << "limen swallowed the caller's error";
  EXPECT_EQ(cpu_device::get_last_error(), 400);
  EXPECT_EQ(cpu_device::get_last_error(), 0);
}

// HostWait::Block must hold for every wait limen makes: none may spin (a
// cudaStreamSynchronize, or an event without blocking sync, spins a core for
// the whole kernel under CUDA's default scheduling).
TEST_F(CpuDevice, BlockingWaitsNeverSpin) {
  for (HostWait wait : {HostWait::Block, HostWait::Spin}) {
    ManagerConfig c;
    c.capacity = 4;
    c.host_wait = wait;
    DeviceManager<TestTensor> m(c);
    TestStream side;
    const MessageToken t = m.store(message(1)).value();
    const auto before = cpu_device::stats();
    {
      Gate gate(side);
      {
        auto lease = m.lease(t, side).value();
        fill(lease.stream(), lease.device_ptr(), 5);
      }
      std::thread opener([&gate] {
        std::this_thread::sleep_for(20ms);
        gate.open();
      });
      EXPECT_EQ(m.read(t).value()->payload, tensor(5));  // waits for the lease's work
      opener.join();
    }
    const auto after = cpu_device::stats();
    if (wait == HostWait::Block) {
      EXPECT_EQ(after.spinning_waits, before.spinning_waits) << "a blocking manager spun";
      EXPECT_GT(after.blocking_waits, before.blocking_waits);
    } else {
      EXPECT_GT(after.spinning_waits, before.spinning_waits) << "the control must spin";
    }
  }
}

TEST_F(CpuDevice, HostTasksNeedTheCpuDeviceAndHostAliasesPassHostMemoryThrough) {
  int host_value = 3;
  EXPECT_EQ(cpu_device::host_alias(&host_value), &host_value);
  PinnedBufferPool pool;
  auto buffer = pool.allocate(64).value();
  EXPECT_EQ(cpu_device::host_alias(buffer.device_ptr()), buffer.device_ptr());
}

}  // namespace
}  // namespace limen::test
