// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for batches under faults: store_batch, gather and scatter
// on a pinned, device or shared manager, mixed with reads and frees, while
// faults of every kind (sticky ones too) are injected at any step.
//
// The reference is the batch contract rather than a replay of the backend's
// device calls (driver.hpp does that for the per-message calls): a batch is
// all or nothing (a refused store_batch leaves every slot where it was, except
// slots it quarantined, which stats().quarantined counts); a gather or scatter
// that succeeded moved exactly the model's values; one that failed with
// Poisoned left every slot it named poisoned, one that failed otherwise left
// them as they were; DeviceError and Poisoned need a fault or a lost device;
// and at the end every slot is either free again or quarantined.
#include "fuzz_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace limen::fuzz {
namespace {

using fault_injection::FaultKind;

constexpr std::array<FaultKind, 5> kKinds = {FaultKind::Allocation, FaultKind::Copy,
                                             FaultKind::Synchronize, FaultKind::EventRecord,
                                             FaultKind::EventQuery};

/// What the model knows of one live message. After a gather or scatter failed
/// with DeviceError the model cannot tell whether its work was left unordered
/// (the slot is then poisoned) or never ran, or, for a scatter copied item by
/// item, whether this item's copy landed: the next read settles it.
struct Slot {
  std::uint64_t value = 0;
  bool poisoned = false;
  bool maybe_poisoned = false;
  std::optional<std::uint64_t> maybe_value;  ///< a failed scatter's value, perhaps written
  bool unknown = false;  ///< two failed scatters in a row: any whole item they wrote
};

template <class M>
class BatchDriver {
 public:
  BatchDriver(FuzzedDataProvider& in, std::size_t capacity) : in_(in), capacity_(capacity) {
    ManagerConfig c;
    c.capacity = capacity;
    c.thread_safe = in.ConsumeBool();
    c.name = "batch-fuzz";
    m_ = std::make_unique<M>(c);
    stream_ = cpu_device::create_stream().value();
  }
  ~BatchDriver() {
    fault_injection::clear_faults();
    (void)cpu_device::synchronize(stream_);
    m_.reset();
    (void)cpu_device::destroy_stream(stream_);
  }
  BatchDriver(const BatchDriver&) = delete;
  BatchDriver& operator=(const BatchDriver&) = delete;

  void run() {
    for (int step = 0; step < 48 && in_.remaining_bytes() > 0; ++step) {
      switch (in_.ConsumeIntegralInRange<int>(0, 6)) {
        case 0: store_batch(); break;
        case 1: gather(); break;
        case 2: scatter(); break;
        case 3: read(); break;
        case 4: free_one(); break;
        case 5: inject(); break;
        default: store_batch(); break;
      }
    }
    finish();
  }

 private:
  // --- Faults -----------------------------------------------------------------------

  unsigned pending() const {
    unsigned n = 0;
    for (std::size_t k = 0; k < kKinds.size(); ++k) n += fault_injection::pending_faults(kKinds[k]);
    return n;
  }
  bool lost() const { return runtime_info().device_lost(0).has_value(); }

  /// Runs @p f with no fault pending (the harness's own waits take none), then restores them.
  template <class F>
  void quietly(F f) {
    std::array<unsigned, kKinds.size()> left{};
    for (std::size_t k = 0; k < kKinds.size(); ++k)
      left[k] = fault_injection::pending_faults(kKinds[k]);
    fault_injection::clear_faults();
    f();
    for (std::size_t k = 0; k < kKinds.size(); ++k) {
      if (left[k] != 0) fault_injection::inject_faults(kKinds[k], left[k], codes_[k]);
    }
  }

  void inject() {
    const std::size_t k = in_.ConsumeIntegralInRange<std::size_t>(0, kKinds.size() - 1);
    const bool sticky = in_.ConsumeIntegralInRange<int>(0, 15) == 0;
    codes_[k] = sticky ? 700 : fault_injection::default_fault_code;
    fault_injection::inject_faults(kKinds[k], in_.ConsumeIntegralInRange<unsigned>(1, 6),
                                   codes_[k]);
  }

  /// An error a call returned is one it may return: @p faulted says whether it took a fault.
  void check_error(MemoryError e, bool faulted, const char* what) {
    static const bool tracing = std::getenv("LIMEN_FUZZ_TRACE") != nullptr;
    if (tracing) {
      std::fprintf(stderr, "[batch fuzz] %s: %s\n", what, std::string(to_string(e)).c_str());
    }
    if (e == MemoryError::DeviceError || e == MemoryError::Poisoned) {
      LIMEN_FUZZ_CHECK(faulted || lost(), what);
    }
  }

  // --- Tokens -------------------------------------------------------------------------

  std::vector<MessageToken> some_tokens() {
    std::vector<MessageToken> out;
    if (live_.empty()) return out;
    const std::size_t n = in_.ConsumeIntegralInRange<std::size_t>(1, live_.size());
    std::vector<MessageToken> all;
    for (const auto& [t, s] : live_) all.push_back(t);
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t at = in_.ConsumeIntegralInRange<std::size_t>(0, all.size() - 1);
      out.push_back(all[at]);
      all.erase(all.begin() + static_cast<std::ptrdiff_t>(at));
    }
    return out;
  }

  bool any_poisoned(const std::vector<MessageToken>& tokens) const {
    for (const MessageToken t : tokens) {
      if (live_.at(t).poisoned || live_.at(t).maybe_poisoned) return true;
    }
    return false;
  }

  // --- Operations ---------------------------------------------------------------------

  void store_batch() {
    const std::size_t k = in_.ConsumeIntegralInRange<std::size_t>(0, capacity_ + 1);
    std::vector<Message<Payload>> messages;
    std::vector<std::uint64_t> values;
    for (std::size_t i = 0; i < k; ++i) {
      values.push_back(next_++);
      messages.emplace_back(MessageHeader{}, pattern(values.back()));
    }
    const std::size_t available = m_->available();
    const std::uint64_t quarantined = m_->stats().quarantined;
    const unsigned before = pending();
    auto stored = m_->store_batch(messages, stream_);
    const bool faulted = pending() < before;
    if (stored) {
      LIMEN_FUZZ_CHECK(stored->size() == k, "store_batch stored another number of messages");
      for (std::size_t i = 0; i < k; ++i)
        live_[(*stored)[i]] = Slot{values[i], false, false, std::nullopt, false};
      return;
    }
    check_error(stored.error(), faulted, "store_batch failed without a fault");
    LIMEN_FUZZ_CHECK(stored.error() != MemoryError::NoFreeSlots || k > available,
                     "NoFreeSlots with room for the batch");
    const std::uint64_t newly = m_->stats().quarantined - quarantined;
    LIMEN_FUZZ_CHECK(m_->available() + newly >= available,
                     "a refused batch kept slots it did not quarantine");
  }

  void gather() {
    const std::vector<MessageToken> tokens = some_tokens();
    if (tokens.empty()) return;
    std::vector<Payload> out(tokens.size());
    const unsigned before = pending();
    auto done = m_->gather(tokens, out.data(), stream_);
    const bool faulted = pending() < before;
    quietly([&] { (void)cpu_device::synchronize(stream_); });
    if (done) {
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        Slot& s = live_.at(tokens[i]);
        LIMEN_FUZZ_CHECK(!s.poisoned, "a gather of poisoned slots succeeded");
        settle(s, out[i], "gather: wrong item");
      }
      return;
    }
    if (done.error() == MemoryError::Poisoned && any_poisoned(tokens)) return;
    check_error(done.error(), faulted, "gather failed without a fault");
    failed(tokens, done.error());
  }

  /// @p got is what a slot holds: it settles a slot the model was unsure of.
  void settle(Slot& s, const Payload& got, const char* what) {
    if (s.unknown) s.value = got.words[0];  // still a whole item, never a torn one
    if (s.maybe_value && holds(got, *s.maybe_value)) s.value = *s.maybe_value;
    LIMEN_FUZZ_CHECK(holds(got, s.value), what);
    s.maybe_value.reset();
    s.maybe_poisoned = false;
    s.unknown = false;
  }

  /// A gather or scatter over @p tokens failed with @p e.
  void failed(const std::vector<MessageToken>& tokens, MemoryError e) {
    for (const MessageToken t : tokens) {
      Slot& s = live_.at(t);
      if (e == MemoryError::Poisoned) s.poisoned = true;
      if (e == MemoryError::DeviceError) s.maybe_poisoned = true;
    }
  }

  void scatter() {
    const std::vector<MessageToken> tokens = some_tokens();
    if (tokens.empty()) return;
    std::vector<Payload> in(tokens.size());
    std::vector<std::uint64_t> values;
    for (auto& i : in) {
      values.push_back(next_++);
      i = pattern(values.back());
    }
    const unsigned before = pending();
    auto done = m_->scatter(in.data(), tokens, stream_);
    const bool faulted = pending() < before;
    quietly([&] { (void)cpu_device::synchronize(stream_); });  // `in` must outlive the kernel
    if (done) {
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        Slot& s = live_.at(tokens[i]);
        LIMEN_FUZZ_CHECK(!s.poisoned, "a scatter into poisoned slots succeeded");
        s = Slot{values[i], false, false, std::nullopt, false};  // a settled, fresh value
      }
      return;
    }
    if (done.error() == MemoryError::Poisoned && any_poisoned(tokens)) return;
    check_error(done.error(), faulted, "scatter failed without a fault");
    failed(tokens, done.error());
    if (done.error() == MemoryError::DeviceError) {
      for (std::size_t i = 0; i < tokens.size(); ++i) {
        Slot& slot = live_.at(tokens[i]);
        if (slot.maybe_value) slot.unknown = true;
        slot.maybe_value = values[i];
      }
    }
  }

  void read() {
    const std::vector<MessageToken> tokens = some_tokens();
    if (tokens.empty()) return;
    const MessageToken t = tokens.front();
    Slot& s = live_.at(t);
    const unsigned before = pending();
    auto r = m_->read(t);
    const bool faulted = pending() < before;
    if (r) {
      LIMEN_FUZZ_CHECK(!s.poisoned, "a poisoned slot was readable");
      settle(s, (*r)->payload, "read: a batch left the wrong payload");
      return;
    }
    if (s.poisoned) {
      LIMEN_FUZZ_CHECK(r.error() == MemoryError::Poisoned || lost(), "poisoned slot: wrong error");
      return;
    }
    if (s.maybe_poisoned && r.error() == MemoryError::Poisoned) {
      if (std::getenv("LIMEN_FUZZ_TRACE") != nullptr) {
        std::fprintf(stderr, "[batch fuzz] read: poisoned by a failed batch\n");
      }
      s.poisoned = true;  // the failed batch's work was left unordered
      return;
    }
    LIMEN_FUZZ_CHECK(r.error() != MemoryError::Poisoned || faulted,
                     "a slot no failure touched is poisoned");
    check_error(r.error(), faulted, "read failed without a fault");
  }

  void free_one() {
    const std::vector<MessageToken> tokens = some_tokens();
    if (tokens.empty()) return;
    const unsigned before = pending();
    auto freed = m_->free(tokens.front());
    if (freed) {
      live_.erase(tokens.front());
      return;
    }
    check_error(freed.error(), pending() < before, "free failed without a fault");
  }

  /// Every message freed: each slot is free again or quarantined.
  void finish() {
    fault_injection::clear_faults();
    (void)cpu_device::synchronize(stream_);
    for (const auto& [t, s] : live_) {
      LIMEN_FUZZ_CHECK(m_->free(t).has_value() || lost(), "a message could not be freed");
    }
    live_.clear();
    if (lost()) return;
    (void)cpu_device::synchronize_device();
    const std::size_t available = m_->available();
    LIMEN_FUZZ_CHECK(available + m_->stats().quarantined == capacity_,
                     "slots lost: neither free nor quarantined");
  }

  FuzzedDataProvider& in_;
  std::size_t capacity_;
  std::unique_ptr<M> m_;
  StreamHandle stream_;
  std::unordered_map<MessageToken, Slot> live_;  // std::hash<MessageToken> is limen's
  std::array<int, kKinds.size()> codes_{};
  std::uint64_t next_ = 1;
};

void run(FuzzedDataProvider& in) {
  const std::size_t capacity = in.ConsumeIntegralInRange<std::size_t>(1, 12);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: BatchDriver<PinnedManager<Payload>>(in, capacity).run(); break;
    case 1: BatchDriver<DeviceManager<Payload>>(in, capacity).run(); break;
    default: BatchDriver<SharedManager<Payload>>(in, capacity).run(); break;
  }
}

}  // namespace
}  // namespace limen::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FuzzedDataProvider in(data, size);
  limen::fault_injection::reset();
  limen::fuzz::run(in);
  limen::fault_injection::reset();
  return 0;
}
