// SPDX-License-Identifier: Apache-2.0
// Graph capture, as the CPU device models it (a GPU runs gpu_test.cpp's
// versions): leases and batches are refused on a capturing stream (the legacy
// stream too while a blocking stream captures); a lease that ends during a
// capture leaves its slot poisoned and, once freed, never reused; a lease
// kept across the capture and ended after the graph's launches orders host
// access after them; limen's own set-up calls never break another thread's
// capture in global mode.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;

template <class M>
class Capture : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::reset();
    if (!cpu_device::active()) GTEST_SKIP() << "gpu_test.cpp captures real graphs on a GPU";
  }
  void TearDown() override { fault_injection::reset(); }
};
using Managers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                  SharedManager<TestTensor>, ThreadSafe<DeviceManager<TestTensor>>>;
TYPED_TEST_SUITE(Capture, Managers);

TYPED_TEST(Capture, LeasesAndBatchesOnACapturingStreamAreRefused) {
  auto made = Maker<TypeParam>::make(8);
  TypeParam& m = *made;
  TestStream s;
  const MessageToken t = m.store(message(1)).value();
  ASSERT_TRUE(cpu_device::begin_capture(s).has_value());
  LIMEN_EXPECT_ERROR(m.lease(t, s), MemoryError::Unsupported);
  const std::vector<Message<TestTensor>> batch{message(2)};
  LIMEN_EXPECT_ERROR(m.store_batch(batch, s), MemoryError::Unsupported);
  std::vector<TestTensor> out(1);
  LIMEN_EXPECT_ERROR(m.gather(std::span<const MessageToken>(&t, 1), out.data(), s),
                     MemoryError::Unsupported);
  auto graph = cpu_device::end_capture(s);
  ASSERT_TRUE(graph.has_value()) << "the refusals must not break the capture";
  (void)cpu_device::destroy_graph(*graph);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));  // the refusals changed nothing
  EXPECT_EQ(m.available(), 7U);
}

TYPED_TEST(Capture, TheLegacyStreamIsRefusedWhileABlockingStreamCaptures) {
  auto made = Maker<TypeParam>::make(4);
  TypeParam& m = *made;
  const MessageToken t = m.store(message(1)).value();
  TestStream blocking(0, /*blocking=*/true);
  ASSERT_TRUE(cpu_device::begin_capture(blocking).has_value());
  LIMEN_EXPECT_ERROR(m.lease(t, StreamHandle{}), MemoryError::Unsupported);
  ASSERT_TRUE(cpu_device::end_capture(blocking).has_value());
  EXPECT_TRUE(m.lease(t, StreamHandle{}).has_value());
}

// The lease's kernels went into a graph that may run at any launch: nothing
// can order host access after them. The slot is poisoned, and once freed it
// is set aside for good (a later launch could still write it).
TYPED_TEST(Capture, ALeaseEndedDuringCaptureLeavesItsSlotPoisonedAndNeverReused) {
  auto made = Maker<TypeParam>::make(2);
  TypeParam& m = *made;
  TestStream s;
  const MessageToken t = m.store(message(1)).value();
  const MessageToken other = m.store(message(2)).value();
  {
    auto lease = m.lease(t, s).value();
    ASSERT_TRUE(cpu_device::begin_capture(s).has_value());
    fill(s, lease.device_ptr(), 9);  // captured, not run
  }                                  // ends during the capture
  auto graph = cpu_device::end_capture(s);
  ASSERT_TRUE(graph.has_value());
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::Poisoned);
  EXPECT_EQ(m.read(other).value()->payload, tensor(2));
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.stats().quarantined, 1U);
  ASSERT_TRUE(m.free(other).has_value());
  ASSERT_TRUE(cpu_device::synchronize(s).has_value());
  EXPECT_EQ(m.available(), 1U) << "the slot a graph may write was handed out again";
  const MessageToken again = m.store(message(3)).value();
  EXPECT_EQ(again.index(), other.index());
  LIMEN_EXPECT_ERROR(m.store(message(4)), MemoryError::NoFreeSlots);
  (void)cpu_device::destroy_graph(*graph);
}

// The pattern that works: lease before the capture, launch the graph, end
// the lease on the launch stream after the last launch. Host access waits.
TYPED_TEST(Capture, ALeaseEndedAfterTheGraphsLaunchesOrdersHostAccessAfterThem) {
  auto made = Maker<TypeParam>::make(4);
  TypeParam& m = *made;
  TestStream capture_stream;
  TestStream launches;
  const MessageToken t = m.store(message(1)).value();
  auto lease = m.lease(t, capture_stream).value();
  ASSERT_TRUE(cpu_device::begin_capture(capture_stream).has_value());
  fill(capture_stream, lease.device_ptr(), 42);  // the graph writes the slot
  const cpu_device::GraphHandle graph = cpu_device::end_capture(capture_stream).value();
  Gate gate(launches);  // the launches wait behind it
  ASSERT_TRUE(cpu_device::launch_graph(graph, launches).has_value());
  ASSERT_TRUE(cpu_device::launch_graph(graph, launches).has_value());
  lease.reset(launches);  // the slot's event follows both launches
  std::atomic<bool> opened{false};
  std::thread kernel_ends([&] {
    std::this_thread::sleep_for(50ms);
    opened.store(true);
    gate.open();
  });
  EXPECT_EQ(m.read(t).value()->payload, tensor(42));
  EXPECT_TRUE(opened.load()) << "the read did not wait for the graph's launches";
  kernel_ends.join();
  (void)cpu_device::destroy_graph(graph);
}

// limen's own "unsafe" calls (allocations: manager construction, pool growth)
// run in relaxed capture mode: they never break another thread's capture in
// global mode (PyTorch's default). The control shows the model does break it.
TEST(CaptureModes, LimensOwnSetUpNeverBreaksAnotherThreadsGlobalCapture) {
  if (!cpu_device::active()) GTEST_SKIP() << "gpu_test.cpp checks this on a GPU";
  TestStream s;
  ASSERT_TRUE(cpu_device::begin_capture(s, cpu_device::CaptureMode::Global).has_value());
  std::thread other([] {
    ManagerConfig c;
    c.capacity = 4;
    DeviceManager<TestTensor> m(c);  // allocations, streams, events
    (void)m.store(message(1)).value();
    PinnedBufferPool pool;
    (void)pool.allocate(1 << 20).value();  // a new chunk: cudaHostAlloc
  });
  other.join();
  auto graph = cpu_device::end_capture(s);
  ASSERT_TRUE(graph.has_value()) << "limen's set-up broke another thread's capture";
  (void)cpu_device::destroy_graph(*graph);
  // The control: a device-wide wait in global mode breaks it.
  ASSERT_TRUE(cpu_device::begin_capture(s, cpu_device::CaptureMode::Global).has_value());
  std::thread careless([] { (void)cpu_device::synchronize_device(); });
  careless.join();
  LIMEN_EXPECT_ERROR(cpu_device::end_capture(s), MemoryError::DeviceError);
  EXPECT_EQ(cpu_device::last_error()->code, 901);  // cudaErrorStreamCaptureInvalidated
}

}  // namespace
}  // namespace limen::test
