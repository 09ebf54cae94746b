// SPDX-License-Identifier: Apache-2.0
// Batches at their edges (issue 19): all or nothing whatever throws, a refused
// batch counted once, empty batches that do nothing, move-only payloads,
// device work that cannot be ordered (poisoned or quarantined slots), and a
// lost device's manager that tears down at once.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <stdexcept>
#include <vector>

namespace limen::test {
namespace {

using namespace std::chrono_literals;
using fault_injection::FaultKind;

/// A payload whose copy throws once the countdown reaches zero.
struct Fragile {
  static inline int copies_left = 1000;
  int value = 0;
  Fragile() = default;
  explicit Fragile(int v) : value(v) {}
  Fragile(const Fragile& other) : value(other.value) {
    if (--copies_left < 0) throw std::runtime_error("payload copy failed");
  }
  Fragile& operator=(const Fragile&) = default;
};

std::vector<Message<Fragile>> fragile_batch(int n) {
  std::vector<Message<Fragile>> out;
  for (int i = 0; i < n; ++i) out.emplace_back(Fragile(i));
  return out;
}

template <class M>
class HostBatches : public ::testing::Test {};
using HostManagers = ::testing::Types<HeapManager<Fragile>, ConcurrentManager<Fragile>,
                                      AnyOf<MemoryKind::Host, Fragile>>;
TYPED_TEST_SUITE(HostBatches, HostManagers);

TYPED_TEST(HostBatches, AThrowingCopyStoresNothing) {
  TypeParam m(8);
  const auto batch = fragile_batch(5);
  Fragile::copies_left = 3;  // the fourth copy throws
  EXPECT_THROW((void)m.store_batch(batch), std::runtime_error);
  Fragile::copies_left = 1000;
  EXPECT_EQ(m.available(), 8U) << "the messages copied before the throw were left behind";
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.stores, 0U);
  EXPECT_EQ(s.in_use, 0U);
  EXPECT_EQ(s.failed_stores, 1U);
  const auto tokens = m.store_batch(batch).value();  // every slot still usable
  ASSERT_EQ(tokens.size(), 5U);
  EXPECT_EQ(m.read(tokens[4]).value()->payload.value, 4);
}

TYPED_TEST(HostBatches, ARefusedBatchCountsOnceAndStoresNothing) {
  TypeParam m(4);
  LIMEN_EXPECT_ERROR(m.store_batch(fragile_batch(5)), MemoryError::NoFreeSlots);
  EXPECT_EQ(m.available(), 4U);
  EXPECT_EQ(m.stats().failed_stores, 1U);
  EXPECT_EQ(m.stats().stores, 0U);
}

TYPED_TEST(HostBatches, AnEmptyBatchDoesNothing) {
  TypeParam m(4);
  const auto tokens = m.store_batch(std::span<const Message<Fragile>>()).value();
  EXPECT_TRUE(tokens.empty());
  EXPECT_EQ(m.stats(), ManagerStats{});
}

// --- Move-only payloads: everything but batches --------------------------------------

using Owned = std::unique_ptr<int>;
template <class M, class P>
concept BatchStorable = requires(M& m, std::span<const Message<P>> b) { m.store_batch(b); };
static_assert(!BatchStorable<HeapManager<Owned>, Owned>,
              "a batch copies its messages: not for move-only payloads");
static_assert(!BatchStorable<ConcurrentManager<Owned>, Owned>);
static_assert(BatchStorable<HeapManager<int>, int>);

TEST(MoveOnlyPayloads, EveryManagerThatTakesThemWorks) {
  for (bool thread_safe : {false, true}) {
    ManagerConfig c;
    c.capacity = 4;
    c.thread_safe = thread_safe;
    auto any = make_manager<Owned>(MemoryClass::host(), c).value();
    const MessageToken t = any.store(Message<Owned>(std::make_unique<int>(7))).value();
    EXPECT_EQ(*any.read(t).value()->payload, 7);
    std::vector<Message<Owned>> batch;
    LIMEN_EXPECT_ERROR(any.store_batch(batch), MemoryError::Unsupported);
    EXPECT_TRUE(any.free(t).has_value());
  }
  HeapManager<Owned> heap(2);
  StaticManager<Owned, 2> fixed;
  ConcurrentManager<Owned> shared(2);
  auto handle = shared.scoped_handle();
  EXPECT_EQ(*heap.read(heap.store(Message<Owned>(std::make_unique<int>(1))).value()).value()
                 ->payload,
            1);
  EXPECT_EQ(*fixed.read(fixed.store(Message<Owned>(std::make_unique<int>(2))).value()).value()
                 ->payload,
            2);
  EXPECT_EQ(
      *handle.read(handle.store(Message<Owned>(std::make_unique<int>(3))).value()).value()->payload,
      3);
}

// --- Class managers: empty batches, unordered work -------------------------------------

template <class M>
class ClassBatches : public ::testing::Test {
 protected:
  void SetUp() override {
    fault_injection::reset();
    if (!cpu_device::active()) GTEST_SKIP() << "injected faults drive the CPU device";
  }
  void TearDown() override { fault_injection::reset(); }
};
using ClassManagers = ::testing::Types<PinnedManager<TestTensor>, DeviceManager<TestTensor>,
                                       SharedManager<TestTensor>,
                                       ThreadSafe<DeviceManager<TestTensor>>>;
TYPED_TEST_SUITE(ClassBatches, ClassManagers);

TYPED_TEST(ClassBatches, EmptyBatchesQueueNothingAndMakeNothing) {
  auto made = Maker<TypeParam>::make(8);
  TypeParam& m = *made;
  const ManagerStats before = m.stats();
  const auto queued = cpu_device::stats().work_queued;
  EXPECT_TRUE(m.store_batch(std::span<const Message<TestTensor>>()).value().empty());
  EXPECT_TRUE(m.gather(std::span<const MessageToken>(), nullptr, m.stream()).has_value());
  EXPECT_TRUE(m.scatter(nullptr, std::span<const MessageToken>(), m.stream()).has_value());
  EXPECT_EQ(m.stats(), before);
  EXPECT_EQ(cpu_device::stats().work_queued, queued);
}

// A scatter whose event cannot be recorded, nor a stream wait replace it, may
// still be writing its slots: like an unordered lease, it leaves them poisoned.
TYPED_TEST(ClassBatches, AScatterThatCannotBeOrderedPoisonsItsSlots) {
  auto made = Maker<TypeParam>::make(8);
  TypeParam& m = *made;
  const MessageToken keep = m.store(message(1)).value();
  const std::vector<MessageToken> hit{m.store(message(2)).value(), m.store(message(3)).value()};
  const std::vector<TestTensor> in{tensor(20), tensor(30)};
  // Every event record fails: the batch's, the spare one that would replace it
  // (and the staging pool's, which then keeps its buffer for good).
  fault_injection::inject_faults(FaultKind::EventRecord, 100);
  LIMEN_EXPECT_ERROR(m.scatter(in.data(), hit, m.stream()), MemoryError::DeviceError);
  fault_injection::clear_faults();
  for (MessageToken t : hit) LIMEN_EXPECT_ERROR(m.read(t), MemoryError::Poisoned);
  EXPECT_EQ(m.read(keep).value()->payload, tensor(1));
  for (MessageToken t : hit) EXPECT_TRUE(m.free(t).has_value());
  ASSERT_TRUE(cpu_device::synchronize(m.stream()).has_value());
}

TYPED_TEST(ClassBatches, AGatherThatCannotBeOrderedPoisonsItsSlotsToo) {
  auto made = Maker<TypeParam>::make(8);
  TypeParam& m = *made;
  const std::vector<MessageToken> tokens{m.store(message(2)).value(), m.store(message(3)).value()};
  std::vector<TestTensor> out(2);
  fault_injection::inject_faults(FaultKind::EventRecord, 100);
  LIMEN_EXPECT_ERROR(m.gather(tokens, out.data(), m.stream()), MemoryError::DeviceError);
  fault_injection::clear_faults();
  for (MessageToken t : tokens) LIMEN_EXPECT_ERROR(m.read_mut(t), MemoryError::Poisoned);
  ASSERT_TRUE(cpu_device::synchronize(m.stream()).has_value());
}

TYPED_TEST(ClassBatches, ABatchUploadThatCannotBeOrderedIsQuarantined) {
  auto made = Maker<TypeParam>::make(8);
  TypeParam& m = *made;
  if (m.memory_class().kind() != MemoryKind::Device) GTEST_SKIP() << "only device batches upload";
  const std::vector<Message<TestTensor>> batch{message(1), message(2), message(3)};
  fault_injection::inject_faults(FaultKind::EventRecord, 100);
  LIMEN_EXPECT_ERROR(m.store_batch(batch), MemoryError::DeviceError);
  fault_injection::clear_faults();
  const ManagerStats s = m.stats();
  EXPECT_EQ(s.quarantined, 3U);
  EXPECT_EQ(s.stores, 0U);
  EXPECT_EQ(s.failed_stores, 1U);
  EXPECT_EQ(m.available(), 5U) << "slots the upload may still write were handed out again";
  const auto again = m.store_batch(std::span(batch).first(2)).value();  // the rest still work
  EXPECT_EQ(m.read(again[1]).value()->payload, tensor(2));
  ASSERT_TRUE(cpu_device::synchronize(m.stream()).has_value());
}

// A lost device answers at once: tearing its manager down never waits for
// work that will never run (held here, and the device lost meanwhile).
TYPED_TEST(ClassBatches, ALostManagerWithHeldWorkTearsDownAtOnce) {
  auto m = Maker<TypeParam>::make(4);
  const MessageToken a = m->store(message(1)).value();
  const MessageToken b = m->store(message(2)).value();
  fault_injection::hold_events(true);
  { auto lease = m->lease(a).value(); }  // its work never completes while held
  fault_injection::inject_faults(FaultKind::EventQuery, 1, 700);  // lost at the next query
  EXPECT_TRUE(m->free(a).has_value());  // the query fails: lost; the free completes
  EXPECT_TRUE(m->free(b).has_value());
  auto destroyed = std::async(std::launch::async, [&] { m.reset(); });
  const bool at_once = destroyed.wait_for(2s) == std::future_status::ready;
  fault_injection::release_events();
  destroyed.wait();
  EXPECT_TRUE(at_once) << "destroying a lost manager waited for held work";
}

}  // namespace
}  // namespace limen::test
