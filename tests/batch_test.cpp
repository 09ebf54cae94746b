// SPDX-License-Identifier: Apache-2.0
// Batches: store_batch round trips for several payload and batch sizes, all or
// nothing when slots run out or a copy fails, gather and scatter checked
// element by element against the per-message path on random data, refusals
// that leave everything as it was, and slots in flight until a batch is done.
#include "device_work.hpp"
#include "test_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace limen::test {
namespace {

using fault_injection::FaultKind;

/// A payload of N bytes whose every byte depends on a seed.
template <std::size_t N>
struct Bytes {
  std::array<std::uint8_t, N> data{};
  static Bytes from(std::uint32_t seed) {
    Bytes b;
    for (std::size_t i = 0; i < N; ++i) b.data[i] = static_cast<std::uint8_t>(seed * 31 + i * 7);
    return b;
  }
  friend bool operator==(const Bytes&, const Bytes&) = default;
};

template <class M, class P>
struct Case {
  using Manager = M;
  using Payload = P;
};

template <class C>
class Batches : public ::testing::Test {
 protected:
  using M = typename C::Manager;
  using P = typename C::Payload;
  static constexpr std::size_t kCapacity = 16;

  void SetUp() override {
    fault_injection::reset();
    if (!runtime_info().fallback_active) {
      GTEST_SKIP() << "device arrays are host memory only in the fallback; see gpu_test.cpp";
    }
  }
  void TearDown() override { fault_injection::reset(); }

  static std::unique_ptr<M> make() { return Maker<M>::make(kCapacity); }

  static std::vector<Message<P>> messages(std::size_t n, std::uint32_t seed) {
    std::vector<Message<P>> out;
    for (std::size_t i = 0; i < n; ++i) {
      MessageHeader h{};
      h.trace_id = seed + i;
      out.emplace_back(h, P::from(static_cast<std::uint32_t>(seed + i)));
    }
    return out;
  }
};

using AllCases = ::testing::Types<
    Case<DeviceManager<Bytes<1>>, Bytes<1>>, Case<DeviceManager<Bytes<13>>, Bytes<13>>,
    Case<DeviceManager<Bytes<64>>, Bytes<64>>, Case<DeviceManager<Bytes<4096>>, Bytes<4096>>,
    Case<PinnedManager<Bytes<13>>, Bytes<13>>, Case<PinnedManager<Bytes<64>>, Bytes<64>>,
    Case<SharedManager<Bytes<100>>, Bytes<100>>,
    Case<ThreadSafe<DeviceManager<Bytes<64>>>, Bytes<64>>,
    Case<AnyOf<MemoryKind::Device, Bytes<64>>, Bytes<64>>,
    Case<AnyOf<MemoryKind::Host, Bytes<13>>, Bytes<13>>>;
TYPED_TEST_SUITE(Batches, AllCases);

TYPED_TEST(Batches, StoreBatchRoundTripsForEveryBatchSize) {
  auto m = this->make();
  for (std::size_t n : {std::size_t{1}, std::size_t{7}, this->kCapacity}) {
    const auto in = this->messages(n, static_cast<std::uint32_t>(n * 100));
    const auto tokens = m->store_batch(in).value();
    ASSERT_EQ(tokens.size(), n);
    EXPECT_EQ(m->available(), this->kCapacity - n);
    for (std::size_t i = 0; i < n; ++i) {
      auto r = m->read(tokens[i]).value();
      EXPECT_EQ(r->payload, in[i].payload) << "message " << i << " of " << n;
      EXPECT_EQ(r->header.trace_id, in[i].header.trace_id);
      EXPECT_EQ(r->header.memory_class, m->memory_class());
      EXPECT_EQ(m->peek_header(tokens[i]).value()->trace_id, in[i].header.trace_id);
    }
    for (MessageToken t : tokens) ASSERT_TRUE(m->free(t).has_value());
  }
  EXPECT_EQ(m->stats().stores, 1U + 7U + this->kCapacity);
}

// A new manager's slots are zeroed on its copy stream; a batch on another
// stream right after construction must land after those zeroes, never under
// them. Under the deferred schedule the zeroing runs late unless construction
// waits for it: many fresh managers make that race show.
TYPED_TEST(Batches, ABatchRightAfterConstructionIsNeverZeroedAway) {
  for (int round = 0; round < 40; ++round) {
    auto m = this->make();
    TestStream other;
    const auto in = this->messages(this->kCapacity, static_cast<std::uint32_t>(round + 1));
    const auto tokens = m->store_batch(in, other).value();
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      ASSERT_EQ(m->read(tokens[i]).value()->payload, in[i].payload)
          << "round " << round << ", message " << i;
    }
  }
}

TYPED_TEST(Batches, MoreMessagesThanFreeSlotsStoresNothing) {
  auto m = this->make();
  const MessageToken kept = m->store(this->messages(1, 5)[0]).value();
  const ManagerStats before = m->stats();
  auto refused = m->store_batch(this->messages(this->kCapacity, 9));
  LIMEN_EXPECT_ERROR(refused, MemoryError::NoFreeSlots);
  EXPECT_EQ(m->available(), this->kCapacity - 1);
  EXPECT_EQ(m->stats().stores, before.stores);
  EXPECT_EQ(m->read(kept).value()->payload, TestFixture::P::from(5));
  EXPECT_EQ(m->store_batch(this->messages(this->kCapacity - 1, 1)).value().size(),
            this->kCapacity - 1);  // and every slot is still usable
}

TYPED_TEST(Batches, AnInjectedFaultStoresNothingAndLeaksNothing) {
  auto m = this->make();
  if (m->memory_class().kind() != MemoryKind::Device) GTEST_SKIP() << "only device batches copy";
  fault_injection::inject_faults(FaultKind::Copy, 1);
  LIMEN_EXPECT_ERROR(m->store_batch(this->messages(5, 1)), MemoryError::DeviceError);
  EXPECT_EQ(m->available(), this->kCapacity);
  EXPECT_EQ(m->stats().stores, 0U);
  EXPECT_EQ(m->stats().failed_stores, 1U);
  // A failed event record falls back to waiting for the stream: the batch lands.
  fault_injection::inject_faults(FaultKind::EventRecord, 1);
  const auto tokens = m->store_batch(this->messages(5, 2)).value();
  EXPECT_EQ(m->read(tokens[4]).value()->payload, TestFixture::P::from(6));
}

// Two batches queued back to back behind held work: each keeps its own staging
// buffer until its upload has read it.
TYPED_TEST(Batches, BackToBackBatchesNeverShareAStagingBuffer) {
  auto m = this->make();
  if (m->memory_class().kind() != MemoryKind::Device) GTEST_SKIP() << "only device batches stage";
  const TestStream stream;
  const auto first = this->messages(4, 100);
  const auto second = this->messages(4, 200);
  std::vector<MessageToken> a;
  std::vector<MessageToken> b;
  {
    Gate gate(stream);  // the uploads wait behind it
    a = m->store_batch(first, stream).value();
    b = m->store_batch(second, stream).value();
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(m->read(a[i]).value()->payload, first[i].payload) << "first batch, message " << i;
    EXPECT_EQ(m->read(b[i]).value()->payload, second[i].payload) << "second batch, message " << i;
  }
}

// --- gather and scatter (class managers) -------------------------------------------

template <class C>
class GatherScatter : public Batches<C> {};
using GatherCases = ::testing::Types<
    Case<DeviceManager<Bytes<13>>, Bytes<13>>, Case<DeviceManager<Bytes<64>>, Bytes<64>>,
    Case<DeviceManager<Bytes<4096>>, Bytes<4096>>, Case<PinnedManager<Bytes<64>>, Bytes<64>>,
    Case<SharedManager<Bytes<7>>, Bytes<7>>, Case<ThreadSafe<DeviceManager<Bytes<64>>>, Bytes<64>>>;
TYPED_TEST_SUITE(GatherScatter, GatherCases);

TYPED_TEST(GatherScatter, AgreeWithThePerMessagePathOnRandomData) {
  using Item = typename TestFixture::P;
  auto m = this->make();
  std::mt19937 rng(42);
  std::vector<MessageToken> tokens;
  for (int i = 0; i < 12; ++i)
    tokens.push_back(
        m->store(Message<Item>(Item::from(static_cast<std::uint32_t>(rng())))).value());
  std::shuffle(tokens.begin(), tokens.end(), rng);  // not contiguous, not in slot order
  tokens.resize(9);
  std::vector<Item> out(tokens.size());
  ASSERT_TRUE(m->gather(tokens, out.data(), m->stream()).has_value());
  ASSERT_TRUE(cpu_device::synchronize(m->stream()).has_value());  // the gather is stream work
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(out[i], m->read(tokens[i]).value()->payload) << "gathered element " << i;
  }
  std::vector<Item> in(tokens.size());
  for (auto& p : in) p = Item::from(static_cast<std::uint32_t>(rng()));
  ASSERT_TRUE(m->scatter(in.data(), tokens, m->stream()).has_value());
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    EXPECT_EQ(m->read(tokens[i]).value()->payload, in[i]) << "scattered element " << i;
  }
}

TYPED_TEST(GatherScatter, RefusalsDoNothing) {
  using Item = typename TestFixture::P;
  auto m = this->make();
  const MessageToken a = m->store(Message<Item>(Item::from(1))).value();
  const MessageToken b = m->store(Message<Item>(Item::from(2))).value();
  const MessageToken stale = m->store(Message<Item>(Item::from(3))).value();
  ASSERT_TRUE(m->free(stale).has_value());
  std::vector<Item> out(2, Item::from(99));
  const std::vector<Item> untouched = out;
  const MessageToken foreign{static_cast<std::uint32_t>(this->kCapacity + 3), 1};
  for (const auto& tokens :
       std::vector<std::vector<MessageToken>>{{a, stale}, {a, foreign}, {a, a}}) {
    EXPECT_FALSE(m->gather(tokens, out.data(), m->stream()).has_value());
    EXPECT_FALSE(m->scatter(out.data(), tokens, m->stream()).has_value());
    EXPECT_EQ(out, untouched);
  }
  {
    auto reader = m->read(b).value();  // a borrowed slot
    const std::vector<MessageToken> tokens{a, b};
    LIMEN_EXPECT_ERROR(m->gather(tokens, out.data(), m->stream()), MemoryError::AlreadyBorrowed);
    EXPECT_EQ(out, untouched);
  }
  EXPECT_EQ(m->read(a).value()->payload, Item::from(1));  // nothing was locked or changed
  { auto writer = m->read_mut(a).value(); }
}

// Two gathers queued back to back behind held work: each kernel reads the slot
// indices it was given, not the next batch's.
TYPED_TEST(GatherScatter, BackToBackGathersKeepTheirOwnIndices) {
  using Item = typename TestFixture::P;
  auto m = this->make();
  std::vector<MessageToken> tokens;
  for (std::uint32_t i = 0; i < 8; ++i) {
    tokens.push_back(m->store(Message<Item>(Item::from(i))).value());
  }
  const std::vector<MessageToken> first(tokens.begin(), tokens.begin() + 4);
  const std::vector<MessageToken> second(tokens.begin() + 4, tokens.end());
  std::vector<Item> out_first(4);
  std::vector<Item> out_second(4);
  const TestStream stream;
  {
    Gate gate(stream);
    ASSERT_TRUE(m->gather(first, out_first.data(), stream).has_value());
    ASSERT_TRUE(m->gather(second, out_second.data(), stream).has_value());
  }
  ASSERT_TRUE(cpu_device::synchronize(stream).has_value());
  for (std::uint32_t i = 0; i < 4; ++i) {
    EXPECT_EQ(out_first[i], Item::from(i)) << "first gather, element " << i;
    EXPECT_EQ(out_second[i], Item::from(i + 4)) << "second gather, element " << i;
  }
}

TYPED_TEST(GatherScatter, SlotsStayInFlightUntilTheBatchCompletes) {
  using Item = typename TestFixture::P;
  ManagerConfig c;
  c.capacity = this->kCapacity;
  c.wait_for_pending_frees = false;
  typename TestFixture::M m(c);
  const MessageToken t = m.store(Message<Item>(Item::from(1))).value();
  std::vector<Item> out(1);
  fault_injection::hold_events(true);  // the gather kernel is still running
  ASSERT_TRUE(m.gather(std::span<const MessageToken>(&t, 1), out.data(), m.stream()).has_value());
  ASSERT_TRUE(m.free(t).has_value());
  EXPECT_EQ(m.stats().pending_frees, 1U) << "the slot was freed under the gather";
  fault_injection::release_events();
  EXPECT_EQ(m.available(), this->kCapacity);
}

}  // namespace
}  // namespace limen::test
