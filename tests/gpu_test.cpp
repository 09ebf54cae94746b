// SPDX-License-Identifier: Apache-2.0
// Tests that need a real GPU (label "gpu"). Each skips, saying why, when the
// CUDA probe found no usable device; on a GPU machine they check that every
// manager really runs there, the real allocations and mappings, graph
// capture, that blocking waits do not burn a core, that the hot path makes no
// allocation call, and what a sticky error does. The ordering tests with
// kernels on leased slots and batches are in device_test.cpp, which this
// program runs too (and CI runs on the CPU device).
#include "gpu_kernels.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <cuda_runtime_api.h>
#include <cupti.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

#define LIMEN_REQUIRE_GPU()                                                        \
  do {                                                                             \
    if (runtime_info().fallback_active) {                                          \
      GTEST_SKIP() << "no usable CUDA device: " << runtime_info().fallback_reason; \
    }                                                                              \
  } while (0)

constexpr std::uint64_t kMillisecond = 1'000'000;  // in nanoseconds

ManagerConfig gpu_config(std::size_t capacity = 64) {
  ManagerConfig c;
  c.capacity = capacity;
  c.fallback = Fallback::Fail;  // a GPU test must never pass on the CPU fallback
  c.name = "gpu-test";
  return c;
}

cudaPointerAttributes attributes_of(const void* p) {
  cudaPointerAttributes attr{};
  EXPECT_EQ(cudaPointerGetAttributes(&attr, p), cudaSuccess);
  return attr;
}

/// A non-blocking stream of the test's own: leases on it are ordered only by limen's events.
class SideStream {
 public:
  SideStream() {
    EXPECT_EQ(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), cudaSuccess);
  }
  ~SideStream() {
    (void)cudaStreamSynchronize(stream_);
    (void)cudaStreamDestroy(stream_);
  }
  SideStream(const SideStream&) = delete;
  SideStream& operator=(const SideStream&) = delete;
  [[nodiscard]] StreamHandle handle() const noexcept { return StreamHandle{stream_}; }

 private:
  cudaStream_t stream_ = nullptr;
};

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

TEST(Gpu, RuntimeInfoNamesTheDevices) {
  LIMEN_REQUIRE_GPU();
  const RuntimeInfo& info = runtime_info();
  EXPECT_TRUE(info.cuda_compiled);
  EXPECT_GT(info.driver_version, 0);
  ASSERT_GT(info.device_count, 0);
  EXPECT_FALSE(info.devices[0].name.empty());
  EXPECT_TRUE(info.fallback_reason.empty());
  EXPECT_FALSE(info.device_lost(0).has_value());
}

// A CUDA build on a machine with a working device must never hand out a
// manager or pool on the CPU device (a configuration slip once made every
// manager run on the fallback while limen-info reported the GPU).
TEST(Gpu, EveryManagerAndPoolRunsOnTheGpu) {
  LIMEN_REQUIRE_GPU();
  EXPECT_FALSE(PinnedManager<TestTensor>(gpu_config()).emulated());
  EXPECT_FALSE(DeviceManager<TestTensor>(gpu_config()).emulated());
  EXPECT_FALSE(SharedManager<TestTensor>(gpu_config()).emulated());
  EXPECT_FALSE(make_manager<TestTensor>(MemoryClass::device(0), gpu_config()).value().emulated());
  EXPECT_FALSE(PinnedBufferPool().emulated());
  EXPECT_FALSE(cpu_device::active());
}

TEST(Gpu, PinnedSlotsArePageLockedAndMapped) {
  LIMEN_REQUIRE_GPU();
  PinnedManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(3)).value();
  auto guard = m.read(t).value();
  const cudaPointerAttributes attr = attributes_of(guard.get());
  EXPECT_EQ(attr.type, cudaMemoryTypeHost);
  EXPECT_NE(attr.devicePointer, nullptr) << "pinned slots must be mapped into the device space";
}

TEST(Gpu, SharedSlotsAreManagedMemory) {
  LIMEN_REQUIRE_GPU();
  SharedManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(4)).value();
  auto guard = m.read(t).value();
  EXPECT_EQ(attributes_of(guard.get()).type, cudaMemoryTypeManaged);
  EXPECT_EQ(guard->payload, tensor(4));
  EXPECT_EQ(m.stats().synchronizations, 1U);  // the prefetch before the read
}

TEST(Gpu, DeviceSlotsRoundTripThroughRealCopies) {
  LIMEN_REQUIRE_GPU();
  DeviceManager<TestTensor> m(gpu_config());
  EXPECT_FALSE(m.emulated());
  const MessageToken t = m.store(message(5)).value();
  EXPECT_EQ(m.stats().synchronizations, 0U) << "a store must not wait for the GPU";
  { m.read_mut(t).value()->payload.data[8] = 50; }
  auto guard = m.read(t).value();
  // The guard points into pinned host memory (the shadow), never device memory.
  EXPECT_EQ(attributes_of(guard.get()).type, cudaMemoryTypeHost);
  EXPECT_EQ(attributes_of(m.device_view().base()).type, cudaMemoryTypeDevice);
  EXPECT_EQ(guard->payload.data[8], 50U);
  EXPECT_EQ(guard->payload.data[0], 5U);
  EXPECT_GT(m.stats().bytes_device_to_host, 0U);
}

// --- Kernels on leased slots --------------------------------------------------

template <class M>
class GpuLeases : public ::testing::Test {};
using LeasedManagers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                        SharedManager<TestTensor>>;
TYPED_TEST_SUITE(GpuLeases, LeasedManagers);

TYPED_TEST(GpuLeases, LeasesOnACapturingStreamAreRefused) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  ASSERT_EQ(cudaStreamBeginCapture(side.handle().native(), cudaStreamCaptureModeRelaxed),
            cudaSuccess);
  LIMEN_EXPECT_ERROR(m.lease(t, side.handle()), MemoryError::Unsupported);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(side.handle().native(), &graph), cudaSuccess);
  (void)cudaGraphDestroy(graph);
  EXPECT_EQ(m.read(t).value()->payload, tensor(1));  // the refusal changed nothing
}

// The contract (README, "Graph capture"): a lease that ends during a capture
// leaves its slot poisoned, and once freed the slot is never reused.
TYPED_TEST(GpuLeases, ALeaseEndedDuringCaptureLeavesItsSlotPoisoned) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  const std::size_t available = m.available();
  cudaGraph_t graph = nullptr;
  {
    auto lease = m.lease(t, side.handle()).value();
    ASSERT_EQ(cudaStreamBeginCapture(side.handle().native(), cudaStreamCaptureModeRelaxed),
              cudaSuccess);
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 6, kMillisecond, lease.stream()), 0);
  }  // ends during the capture
  ASSERT_EQ(cudaStreamEndCapture(side.handle().native(), &graph), cudaSuccess)
      << "ending the lease broke the capture";
  LIMEN_EXPECT_ERROR(m.read(t), MemoryError::Poisoned);
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.stats().quarantined, 1U);
  EXPECT_EQ(m.available(), available) << "a slot the graph may write was handed out again";
  (void)cudaGraphDestroy(graph);
}

// The pattern that works: lease before the capture, launch the graph, end the
// lease on the launch stream after the last launch; host access waits for it.
TYPED_TEST(GpuLeases, ALeaseEndedAfterTheGraphsLaunchesOrdersHostAccessAfterThem) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  SideStream capture_stream;
  SideStream launches;
  const MessageToken t = m.store(message(1)).value();
  cudaGraph_t graph = nullptr;
  auto lease = m.lease(t, capture_stream.handle()).value();
  ASSERT_EQ(cudaStreamBeginCapture(capture_stream.handle().native(), cudaStreamCaptureModeRelaxed),
            cudaSuccess);
  ASSERT_EQ(
      kernels::spin_then_fill(lease.device_ptr(), 6, 50 * kMillisecond, capture_stream.handle()),
      0);
  ASSERT_EQ(cudaStreamEndCapture(capture_stream.handle().native(), &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, launches.handle().native()), cudaSuccess);
  ASSERT_EQ(cudaGraphLaunch(exec, launches.handle().native()), cudaSuccess);
  lease.reset(launches.handle());  // the slot's event follows both launches
  EXPECT_EQ(m.read(t).value()->payload, tensor(6)) << "the read did not wait for the graph";
  ASSERT_TRUE(m.free(t).has_value());
  (void)cudaGraphExecDestroy(exec);
  (void)cudaGraphDestroy(graph);
}

// cudaStreamPerThread passed explicitly: the calling thread's default stream.
TYPED_TEST(GpuLeases, ALeaseOnThePerThreadDefaultStreamOrdersHostAccess) {
  LIMEN_REQUIRE_GPU();
  TypeParam m(gpu_config());
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, StreamHandle::per_thread()).value();
    EXPECT_EQ(lease.stream().native(), cudaStreamPerThread);
    ASSERT_EQ(kernels::spin_then_fill(lease.device_ptr(), 8, 50 * kMillisecond, lease.stream()), 0);
  }
  EXPECT_EQ(m.read(t).value()->payload, tensor(8)) << "the read did not wait for the kernel";
}

// --- Waiting ---------------------------------------------------------------------

/// CPU time the calling thread spends reading a slot whose 300 ms kernel is running.
double cpu_seconds_waiting(HostWait wait) {
  ManagerConfig c = gpu_config();
  c.host_wait = wait;
  DeviceManager<TestTensor> m(c);
  SideStream side;
  const MessageToken t = m.store(message(1)).value();
  {
    auto lease = m.lease(t, side.handle()).value();
    EXPECT_EQ(kernels::spin_then_fill(lease.device_ptr(), 2, 300 * kMillisecond, lease.stream()),
              0);
  }
  const double before = cpu_seconds();
  EXPECT_EQ(m.read(t).value()->payload, tensor(2));
  return cpu_seconds() - before;
}

TEST(Gpu, BlockingWaitsDoNotBurnACore) {
  LIMEN_REQUIRE_GPU();
  EXPECT_LT(cpu_seconds_waiting(HostWait::Block), 0.1);
  // The control: a spinning wait does burn the core (so the measure can fail).
  EXPECT_GT(cpu_seconds_waiting(HostWait::Spin), 0.15);
}

// --- The hot path makes no allocation call (counted with CUPTI callbacks) ---

std::atomic<int> allocation_calls{0};
std::atomic<int> plain_malloc_calls{0};

void CUPTIAPI count_allocations(void*, CUpti_CallbackDomain domain, CUpti_CallbackId id,
                                const void* data) {
  const auto* info = static_cast<const CUpti_CallbackData*>(data);
  if (domain != CUPTI_CB_DOMAIN_RUNTIME_API || info->callbackSite != CUPTI_API_ENTER) return;
  switch (id) {
    case CUPTI_RUNTIME_TRACE_CBID_cudaMalloc_v3020:
      plain_malloc_calls.fetch_add(1);
      allocation_calls.fetch_add(1);
      break;
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocPitch_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocHost_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaHostAlloc_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocManaged_v6000:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMemPoolCreate_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaMallocFromPoolAsync_v11020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaEventCreate_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaEventCreateWithFlags_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaStreamCreate_v3020:
    case CUPTI_RUNTIME_TRACE_CBID_cudaStreamCreateWithFlags_v5000:
      allocation_calls.fetch_add(1);
      break;
    default: break;
  }
}

/// Subscribes to runtime API callbacks for its lifetime.
class AllocationCounter {
 public:
  AllocationCounter() {
    allocation_calls.store(0);
    plain_malloc_calls.store(0);
    ok_ = cuptiSubscribe(&subscriber_, reinterpret_cast<CUpti_CallbackFunc>(&count_allocations),
                         nullptr) == CUPTI_SUCCESS &&
          cuptiEnableDomain(1, subscriber_, CUPTI_CB_DOMAIN_RUNTIME_API) == CUPTI_SUCCESS;
  }
  ~AllocationCounter() {
    if (subscriber_ != nullptr) (void)cuptiUnsubscribe(subscriber_);
  }
  AllocationCounter(const AllocationCounter&) = delete;
  AllocationCounter& operator=(const AllocationCounter&) = delete;
  [[nodiscard]] bool ok() const noexcept { return ok_; }

 private:
  CUpti_SubscriberHandle subscriber_ = nullptr;
  bool ok_ = false;
};

template <class M>
void exercise_hot_path(M& m) {
  for (std::uint32_t i = 0; i < 200; ++i) {
    const MessageToken t = m.store(message(i)).value();
    { auto r = m.read(t).value(); }
    { m.read_mut(t).value()->payload.data[0] = i + 1; }
    { auto h = m.peek_header(t).value(); }
    { auto lease = m.lease(t).value(); }
    { auto r = m.read(t).value(); }  // waits for the lease's event
    ASSERT_TRUE(m.free(t).has_value());
  }
}

TEST(Gpu, HotPathMakesNoAllocationCall) {
  LIMEN_REQUIRE_GPU();
  AllocationCounter counter;
  ASSERT_TRUE(counter.ok()) << "CUPTI subscription failed (is another profiler attached?)";
  PinnedManager<TestTensor> pinned(gpu_config());
  DeviceManager<TestTensor> device(gpu_config());
  SharedManager<TestTensor> shared(gpu_config());
  // Construction allocates: this also proves the counter sees allocation calls.
  EXPECT_GT(allocation_calls.load(), 0);
  allocation_calls.store(0);
  exercise_hot_path(pinned);
  exercise_hot_path(device);
  exercise_hot_path(shared);
  EXPECT_EQ(allocation_calls.load(), 0) << "store/read/read_mut/peek_header/free allocated";
}

TEST(Gpu, DeviceMemoryWithoutPoolsUsesOnePlainAllocation) {
  LIMEN_REQUIRE_GPU();
  AllocationCounter counter;
  ASSERT_TRUE(counter.ok());
  fault_injection::disable_memory_pools(true);
  DeviceManager<TestTensor> m(gpu_config());
  fault_injection::disable_memory_pools(false);
  EXPECT_EQ(plain_malloc_calls.load(), 1);
  const MessageToken t = m.store(message(4)).value();
  EXPECT_EQ(m.read(t).value()->payload, tensor(4));
  EXPECT_EQ(attributes_of(m.device_view().base()).type, cudaMemoryTypeDevice);
}

// --- A sticky error: the device is lost to the process ---------------------------

/// Runs in a child process (a faulting kernel poisons the whole CUDA context).
[[noreturn]] void lose_the_device() {
  DeviceManager<TestTensor> m(gpu_config(4));
  const MessageToken a = m.store(message(1)).value();
  const MessageToken b = m.store(message(2)).value();
  {
    auto lease = m.lease(a).value();
    if (kernels::fault_illegal_address(lease.stream()) != 0) std::exit(2);
  }
  auto read = m.read(a);
  const auto cause = m.last_device_error();
  const bool lost_read = !read && read.error() == MemoryError::DeviceError;
  const bool named = cause && cause->code == 700;  // cudaErrorIllegalAddress
  const bool store_fails = !m.store(message(3)) && !m.read(b);
  const bool frees_complete = m.free(a).has_value() && m.free(b).has_value();
  const bool reported = runtime_info().device_lost(0).has_value();
  const bool drained = m.available() == m.capacity();
  std::exit(lost_read && named && store_fails && frees_complete && reported && drained ? 0 : 3);
}

TEST(GpuDeathTest, AStickyErrorMarksTheDeviceLost) {
  LIMEN_REQUIRE_GPU();
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: CUDA and fork don't mix
  EXPECT_EXIT(lose_the_device(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace limen::test
