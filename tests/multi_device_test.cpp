// SPDX-License-Identifier: Apache-2.0
// Several devices (the CPU device with LIMEN_CPU_DEVICES=2, as ctest runs it):
// every call a manager or a pinned pool makes runs on its own device, whatever
// the calling thread's current device is, and leaves that current device as
// it found it. On the CPU device, as on a GPU, an event recorded on another
// device's stream fails and the null stream names the current device's legacy
// stream, so a call made under the wrong device shows up as a device error or
// a fallback wait.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace limen::test {
namespace {

template <class M>
class MultiDevice : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::reset();
    if (!cpu_device::active()) GTEST_SKIP() << "gpu_test.cpp runs on the GPUs there are";
    if (cpu_device::settings().devices < 2) {
      GTEST_SKIP() << "needs LIMEN_CPU_DEVICES=2 (ctest sets it)";
    }
  }
  void TearDown() override {
    (void)cpu_device::set_current_device(0);
    fault_injection::reset();
  }
};
using Managers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                  SharedManager<TestTensor>>;
TYPED_TEST_SUITE(MultiDevice, Managers);

/// Every kind of call, on a manager of device @p device while the caller's current
/// device is the other one; the synchronizations it needed (a fallback wait means an
/// event could not be recorded on the manager's streams).
template <class M>
std::uint64_t exercise(unsigned device) {
  const unsigned other = 1 - device;
  EXPECT_TRUE(cpu_device::set_current_device(other).has_value());
  ManagerConfig c;
  c.capacity = 8;
  c.device = device;
  M m(c);
  TestStream stream(device);
  const MessageToken t = m.store(message(1)).value();
  { m.read_mut(t).value()->payload.data[0] = 2; }
  {
    auto lease = m.lease(t, stream).value();
    write(stream.handle(), &lease.device_ptr()->data[1], 3U);
  }
  {
    // The null stream: the legacy stream of the manager's device, not the caller's.
    auto lease = m.lease(t, StreamHandle{}).value();
  }
  auto guard = m.read(t).value();
  EXPECT_EQ(guard->payload.data[0], 2U);
  EXPECT_EQ(guard->payload.data[1], 3U);
  guard.reset();
  const std::vector<Message<TestTensor>> batch{message(4), message(5)};
  const std::vector<MessageToken> stored = m.store_batch(batch, stream).value();
  for (const StreamHandle on : {stream.handle(), StreamHandle{}}) {
    std::vector<TestTensor> items(stored.size());  // host memory: the CPU device's kernels reach it
    EXPECT_TRUE(m.gather(stored, items.data(), on).has_value());
    EXPECT_TRUE(m.scatter(items.data(), stored, on).has_value());
    // Before `items` goes (the null stream: the manager's device's legacy stream).
    EXPECT_TRUE(
        (on.is_default() ? cpu_device::synchronize_device(device) : cpu_device::synchronize(on))
            .has_value());
  }
  EXPECT_EQ(m.read(stored[1]).value()->payload, tensor(5));
  // A batch on the null stream, item by item where there are no memory pools.
  const std::vector<MessageToken> more = m.store_batch(batch, StreamHandle{}).value();
  EXPECT_EQ(m.read(more[0]).value()->payload, tensor(4));
  for (const MessageToken s : more) EXPECT_TRUE(m.free(s).has_value());
  EXPECT_TRUE(m.free(t).has_value());
  for (const MessageToken s : stored) EXPECT_TRUE(m.free(s).has_value());
  EXPECT_FALSE(m.last_device_error().has_value())
      << m.last_device_error()->call << ": " << m.last_device_error()->name;
  EXPECT_EQ(cpu_device::current_device(), other) << "limen changed the caller's current device";
  return m.stats().synchronizations;
}

TYPED_TEST(MultiDevice, EveryCallRunsOnTheManagersDeviceNotTheCallers) {
  const std::uint64_t on_one = exercise<TypeParam>(1);
  const std::uint64_t on_zero = exercise<TypeParam>(0);
  EXPECT_EQ(on_one, on_zero) << "a call on device 1 fell back to a wait";
}

TYPED_TEST(MultiDevice, WithoutMemoryPoolsToo) {
  fault_injection::disable_memory_pools(true);  // device batches copy item by item
  const std::uint64_t on_one = exercise<TypeParam>(1);
  const std::uint64_t on_zero = exercise<TypeParam>(0);
  EXPECT_EQ(on_one, on_zero) << "a call on device 1 fell back to a wait";
}

TEST(MultiDevicePool, APoolsCallsRunOnItsDeviceNotTheCallers) {
  if (!cpu_device::active() || cpu_device::settings().devices < 2) {
    GTEST_SKIP() << "needs the CPU device with LIMEN_CPU_DEVICES=2 (ctest sets it)";
  }
  for (const unsigned device : {1U, 0U}) {
    ASSERT_TRUE(cpu_device::set_current_device(1 - device).has_value());
    PoolConfig c;
    c.device = device;
    PinnedBufferPool pool(c);
    TestStream stream(device);
    {
      Gate gate(stream);  // the release's copy is still running
      // Should the release wait instead of marking its stream (an event made on
      // the wrong device cannot be recorded there), it ends when this opens.
      std::thread opener([&gate] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        gate.open();
      });
      PinnedBuffer buffer = pool.allocate(4096).value();
      pool.release(std::move(buffer), stream);
      EXPECT_EQ(pool.stats().pending_releases, 1U) << "the release waited for its stream";
      opener.join();
    }
    ASSERT_TRUE(cpu_device::synchronize(stream).has_value());
    EXPECT_EQ(pool.stats().pending_releases, 0U);
    EXPECT_EQ(pool.stats().quarantined_bytes, 0U);
    EXPECT_FALSE(pool.last_device_error().has_value())
        << pool.last_device_error()->call << ": " << pool.last_device_error()->name;
    EXPECT_EQ(pool.trim(), c.chunk_bytes);
    EXPECT_EQ(cpu_device::current_device(), 1 - device);
  }
  (void)cpu_device::set_current_device(0);
}

/// What a kernel on device 1 reads from a device-0 manager's slot; the CPU device's verdict.
Result<std::uint32_t> read_from_device_one(DeviceManager<TestTensor>& m, MessageToken t) {
  TestStream on_one(1);
  std::uint32_t seen = 0;
  const DeviceSlotView<TestTensor> view = m.device_view();
  EXPECT_TRUE(cpu_device::launch_host_task(on_one, [&seen, view, t] {
                seen = cpu_device::host_alias(&view[t])->data[0];
              }).has_value());
  if (auto done = cpu_device::synchronize(on_one); !done) return done.error();
  return seen;
}

TEST(MultiDevicePeers, AnotherDevicesKernelsReachTheSlotsOnlyWhenListedInPeerAccess) {
  if (!cpu_device::active() || cpu_device::settings().devices < 2) {
    GTEST_SKIP() << "needs the CPU device with LIMEN_CPU_DEVICES=2 (ctest sets it)";
  }
  for (const bool pools : {true, false}) {
    SCOPED_TRACE(pools ? "memory pool: cudaMemPoolSetAccess" : "cudaMalloc: peer access");
    fault_injection::reset();
    fault_injection::disable_memory_pools(!pools);
    ManagerConfig c;
    c.capacity = 4;
    c.peer_access = {1};
    DeviceManager<TestTensor> shared_with_one(c);
    const MessageToken t = shared_with_one.store(message(3)).value();
    (void)shared_with_one.read(t).value();  // the upload is done
    auto seen = read_from_device_one(shared_with_one, t);
    ASSERT_TRUE(seen.has_value()) << "a listed peer's kernel faulted";
    EXPECT_EQ(*seen, 3U);

    fault_injection::reset();  // no peer access left over
    fault_injection::disable_memory_pools(!pools);
    c.peer_access.clear();
    DeviceManager<TestTensor> private_to_zero(c);
    const MessageToken u = private_to_zero.store(message(4)).value();
    (void)private_to_zero.read(u).value();
    LIMEN_EXPECT_ERROR(read_from_device_one(private_to_zero, u), MemoryError::DeviceError);
    EXPECT_EQ(cpu_device::last_error()->code, 700) << "device 1's kernel should have faulted";
    EXPECT_EQ(private_to_zero.read(u).value()->payload, tensor(4)) << "device 0 is fine";
  }
  fault_injection::reset();
}

TEST(MultiDevicePeers, APeerThatIsNoDeviceIsUnsupported) {
  ManagerConfig c;
  c.capacity = 4;
  c.peer_access = {15};
  try {
    DeviceManager<TestTensor> m(c);
    ADD_FAILURE() << "constructed with a peer that does not exist";
  } catch (const MemoryErrorException& e) {
    EXPECT_EQ(e.error(), MemoryError::Unsupported);
    EXPECT_NE(std::string(e.what()).find("peer_access device 15"), std::string::npos) << e.what();
  }
  c.peer_access = {0};  // its own device: nothing to grant
  EXPECT_NO_THROW(DeviceManager<TestTensor>{c});
}

}  // namespace
}  // namespace limen::test
