// SPDX-License-Identifier: Apache-2.0
// libFuzzer harness for PinnedBufferPool: each input picks a pool shape
// (chunk size, byte limit) and then drives it with allocations of edge and
// random sizes, immediate and stream-ordered releases, trims, pmr allocations,
// held device work and injected faults of every kind, sticky ones included.
//
// The reference is a model of what the pool promises, not of how it carves
// chunks: every live buffer keeps its own bytes (each is filled with its own
// pattern and checked before it goes back: an overlap or a reused pending
// buffer shows), sizes and alignment are as asked, errors are the documented
// ones for their cause (Unsupported only for impossible sizes, NoFreeSlots
// only under a byte limit, DeviceError only with a fault or a lost device),
// the limit is never exceeded, and when everything is back, the device idle
// and the pool trimmed, every counter returns to exactly zero.
#include "fuzz_support.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory_resource>
#include <vector>

namespace limen::fuzz {
namespace {

using fault_injection::FaultKind;

constexpr std::size_t kHuge = ~std::size_t{0} - 4095;  // above this no page count fits

struct Live {
  PinnedBuffer buffer;
  std::uint8_t tag = 0;
};

/// One pmr allocation: where, how much, its alignment and its fill.
struct PmrBlock {
  void* p = nullptr;
  std::size_t bytes = 0;
  std::size_t align = 0;
  std::uint8_t tag = 0;
};

bool filled_with(const std::byte* p, std::size_t n, std::uint8_t tag) {
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] != std::byte{tag}) return false;
  }
  return true;
}

class PoolDriver {
 public:
  PoolDriver(FuzzedDataProvider& in, PinnedBufferPool& pool, const PoolConfig& config)
      : in_(in), pool_(pool), config_(config) {
    stream_ = cpu_device::create_stream().value();
  }
  ~PoolDriver() { (void)cpu_device::destroy_stream(stream_); }
  PoolDriver(const PoolDriver&) = delete;
  PoolDriver& operator=(const PoolDriver&) = delete;

  void run() {
    static const bool tracing = std::getenv("LIMEN_FUZZ_TRACE") != nullptr;
    for (int step = 0; step < 64 && in_.remaining_bytes() > 0; ++step) {
      const int op = in_.ConsumeIntegralInRange<int>(0, 8);
      if (tracing) std::fprintf(stderr, "[pool fuzz] step %d: op %d\n", step, op);
      switch (op) {
        case 0: allocate(); break;
        case 1: give_back(/*ordered=*/false); break;
        case 2: give_back(/*ordered=*/true); break;
        case 3: trim(); break;
        case 4: pmr_allocate(); break;
        case 5: pmr_deallocate(); break;
        case 6: inject(); break;
        case 7: toggle_hold(); break;
        default: check_stats(); break;
      }
    }
    finish();
  }

 private:
  std::size_t size() {
    static constexpr std::size_t edges[] = {0, 1, 15, 16, 4095, 4096, 4097, 65536, 65537};
    switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
      case 0: return edges[in_.ConsumeIntegralInRange<std::size_t>(0, std::size(edges) - 1)];
      case 1: return config_.chunk_bytes + in_.ConsumeIntegralInRange<std::size_t>(0, 2) - 1;
      case 2: return kHuge + in_.ConsumeIntegralInRange<std::size_t>(0, 4095);  // impossible
      case 3: return kHuge - in_.ConsumeIntegralInRange<std::size_t>(0, 1);     // just possible
      default: return in_.ConsumeIntegralInRange<std::size_t>(0, 2 * config_.chunk_bytes);
    }
  }

  bool faults_pending() const {
    for (const FaultKind k : {FaultKind::Allocation, FaultKind::EventRecord, FaultKind::Synchronize,
                              FaultKind::EventQuery}) {
      if (fault_injection::pending_faults(k) != 0) return true;
    }
    return false;
  }

  void allocate() {
    const std::size_t bytes = size();
    const unsigned faults_before = fault_injection::pending_faults(FaultKind::Allocation);
    auto got = pool_.allocate(bytes);
    const bool faulted = fault_injection::pending_faults(FaultKind::Allocation) < faults_before;
    if (bytes > kHuge) {
      LIMEN_FUZZ_CHECK(!got && got.error() == MemoryError::Unsupported,
                       "an impossible size was not Unsupported");
      return;
    }
    if (!got) {
      const MemoryError e = got.error();
      LIMEN_FUZZ_CHECK(e != MemoryError::Unsupported, "a possible size was Unsupported");
      LIMEN_FUZZ_CHECK(e != MemoryError::NoFreeSlots || config_.max_bytes != 0,
                       "NoFreeSlots without a byte limit");
      // The driver may refuse a chunk near the address space's size: DeviceError too.
      LIMEN_FUZZ_CHECK(e != MemoryError::DeviceError || faulted || sticky_ || bytes >= kHuge - 1,
                       "DeviceError without a fault");
      LIMEN_FUZZ_CHECK(e == MemoryError::NoFreeSlots || e == MemoryError::DeviceError ||
                           e == MemoryError::OutOfMemory,
                       "an allocation failed with an undocumented error");
      return;
    }
    LIMEN_FUZZ_CHECK(!faulted, "an allocation that took a fault succeeded");
    LIMEN_FUZZ_CHECK(got->size() == bytes, "the buffer's size is not the size asked for");
    LIMEN_FUZZ_CHECK(got->data() != nullptr && got->device_ptr() != nullptr, "a null buffer");
    LIMEN_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(got->data()) % 16 == 0, "misaligned");
    const auto tag = static_cast<std::uint8_t>(++tags_);
    std::memset(got->data(), tag, bytes);
    live_.push_back({std::move(*got), tag});
    check_limit();
  }

  void give_back(bool ordered) {
    if (live_.empty()) return;
    const std::size_t i = in_.ConsumeIntegralInRange<std::size_t>(0, live_.size() - 1);
    Live& l = live_[i];
    LIMEN_FUZZ_CHECK(filled_with(l.buffer.data(), l.buffer.size(), l.tag),
                     "a live buffer's bytes changed: another buffer shares them");
    if (ordered) {
      // Device work reads the buffer; the release must not hand it out before that ran.
      const std::byte* data = l.buffer.data();
      const std::size_t n = l.buffer.size();
      const std::uint8_t tag = l.tag;
      (void)cpu_device::launch_host_task(stream_, [data, n, tag] {
        if (!filled_with(data, n, tag)) finding("a buffer was reused before its work ran", 0);
      });
      pool_.release(std::move(l.buffer), stream_);
    } else {
      l.buffer.reset();
    }
    live_.erase(live_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void trim() {
    // trim() waits for the whole device to bring quarantined buffers back: with
    // work held (a kernel that never ends until released) that wait would too.
    if (held_ && pool_.stats().quarantined_bytes != 0) return;
    (void)pool_.trim();
  }

  void pmr_allocate() {
    const std::size_t bytes = in_.ConsumeIntegralInRange<std::size_t>(1, 3 * 4096);
    const std::size_t align = std::size_t{1} << in_.ConsumeIntegralInRange<int>(0, 12);
    try {
      void* p = pool_.resource()->allocate(bytes, align);
      LIMEN_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(p) % align == 0, "pmr misaligned");
      const auto tag = static_cast<std::uint8_t>(++tags_);
      std::memset(p, tag, bytes);
      pmr_.push_back({p, bytes, align, tag});
    } catch (const std::bad_alloc&) {  // the resource's answer to any failure
    }
  }

  void pmr_deallocate() {
    if (pmr_.empty()) return;
    const std::size_t i = in_.ConsumeIntegralInRange<std::size_t>(0, pmr_.size() - 1);
    const PmrBlock b = pmr_[i];
    LIMEN_FUZZ_CHECK(filled_with(static_cast<const std::byte*>(b.p), b.bytes, b.tag),
                     "a pmr block's bytes changed");
    pool_.resource()->deallocate(b.p, b.bytes, b.align);
    pmr_.erase(pmr_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void inject() {
    if (held_) return;  // a release's substitute wait would wait for held work for ever
    static constexpr FaultKind kinds[] = {FaultKind::Allocation, FaultKind::EventRecord,
                                          FaultKind::Synchronize, FaultKind::EventQuery};
    const FaultKind kind = kinds[in_.ConsumeIntegralInRange<int>(0, 3)];
    const unsigned count = in_.ConsumeIntegralInRange<unsigned>(1, 3);
    const bool sticky = in_.ConsumeIntegralInRange<int>(0, 15) == 0;
    if (sticky) sticky_ = true;  // the device is lost from the first one on
    fault_injection::inject_faults(kind, count, sticky ? 700 : fault_injection::default_fault_code);
  }

  void toggle_hold() {
    if (held_) {
      fault_injection::hold_events(false);
      fault_injection::release_events();
      held_ = false;
    } else if (!faults_pending()) {
      fault_injection::hold_events(true);
      held_ = true;
    }
  }

  void check_limit() {
    if (config_.max_bytes == 0) return;
    LIMEN_FUZZ_CHECK(pool_.stats().bytes_reserved <= config_.max_bytes,
                     "the byte limit was passed");
  }

  void check_stats() {
    const PoolStats s = pool_.stats();
    std::uint64_t live_bytes = 0;
    for (const Live& l : live_) live_bytes += l.buffer.size();
    for (const PmrBlock& b : pmr_) live_bytes += b.bytes;
    LIMEN_FUZZ_CHECK(s.bytes_in_use >= live_bytes, "bytes_in_use below the live buffers");
    LIMEN_FUZZ_CHECK(s.bytes_in_use <= s.bytes_reserved, "more bytes in use than reserved");
    LIMEN_FUZZ_CHECK(s.peak_bytes_in_use >= s.bytes_in_use, "the peak is below the use");
    LIMEN_FUZZ_CHECK(s.quarantined_bytes <= s.bytes_in_use, "quarantine outside bytes_in_use");
    check_limit();
  }

  /// Everything back, the device idle, the pool trimmed: every counter at zero.
  void finish() {
    fault_injection::hold_events(false);
    fault_injection::release_events();
    fault_injection::clear_faults();
    for (Live& l : live_) {
      LIMEN_FUZZ_CHECK(filled_with(l.buffer.data(), l.buffer.size(), l.tag),
                       "a live buffer's bytes changed");
      l.buffer.reset();
    }
    live_.clear();
    while (!pmr_.empty()) pmr_deallocate_last();
    // A sticky fault injected but never taken leaves the device working.
    const bool lost = runtime_info().device_lost(0).has_value();
    if (!lost) LIMEN_FUZZ_CHECK(cpu_device::synchronize(stream_).has_value(), "the stream failed");
    (void)pool_.trim();  // brings back quarantined buffers after a device-wide wait
    const PoolStats s = pool_.stats();
    LIMEN_FUZZ_CHECK(s.pending_releases == 0, "releases still pending at the end");
    if (lost) return;  // a lost device cannot confirm that quarantined work is over
    LIMEN_FUZZ_CHECK(s.bytes_in_use == 0, "bytes still in use with every buffer back");
    LIMEN_FUZZ_CHECK(s.quarantined_bytes == 0, "bytes still quarantined after trim");
    LIMEN_FUZZ_CHECK(s.bytes_reserved == 0 && s.chunks == 0, "chunks left after trim");
  }

  void pmr_deallocate_last() {
    const PmrBlock b = pmr_.back();
    pool_.resource()->deallocate(b.p, b.bytes, b.align);
    pmr_.pop_back();
  }

  FuzzedDataProvider& in_;
  PinnedBufferPool& pool_;
  PoolConfig config_;
  StreamHandle stream_;
  std::vector<Live> live_;
  std::vector<PmrBlock> pmr_;
  unsigned tags_ = 0;
  bool held_ = false;
  bool sticky_ = false;
};

void run(FuzzedDataProvider& in) {
  PoolConfig config;
  config.chunk_bytes = std::size_t{4096} << in.ConsumeIntegralInRange<int>(0, 6);
  config.max_bytes = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::size_t>(1, 1 << 20);
  config.name = "fuzz";
  if (std::getenv("LIMEN_FUZZ_TRACE") != nullptr) {
    std::fprintf(stderr, "[pool fuzz] chunk %zu, max_bytes %zu\n", config.chunk_bytes,
                 config.max_bytes);
  }
  PinnedBufferPool pool(config);
  PoolDriver(in, pool, config).run();
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
