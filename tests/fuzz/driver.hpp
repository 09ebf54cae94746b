// SPDX-License-Identifier: Apache-2.0
// The differential fuzz driver: decodes bytes into manager operations (store,
// read, read_mut with a write, peek_header, retain, release, free, lease and
// lease end, held and released events, injected faults of every kind, stale,
// forged and foreign tokens, moves of guards and managers), runs each on the
// manager and on the reference model (model.hpp) and aborts on any
// difference in result, error code, payload or counter.
//
// Injected faults: the driver reads how many of each kind a call consumed and
// the model replays the call's sequence of device calls (as the backend makes
// them on the CPU device), taking a fault wherever the manager took one; a
// fault taken by one and not the other is a finding too. After a sticky fault
// every later device call fails without consuming anything, as on a GPU.
#pragma once

#include "fuzz_support.hpp"
#include "model.hpp"

#include <limen/fault_injection.hpp>
#include <limen/limen.hpp>

#include <fuzzer/FuzzedDataProvider.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace limen::fuzz {

using fault_injection::FaultKind;
constexpr std::size_t kKinds = 5;

/// Faults a call consumed, by kind, for the model to take one by one.
class Consumed {
 public:
  Consumed(const std::array<unsigned, kKinds>& before, const std::array<int, kKinds>& codes)
      : codes_(codes) {
    for (std::size_t k = 0; k < kKinds; ++k) {
      left_[k] = before[k] - fault_injection::pending_faults(static_cast<FaultKind>(k));
    }
  }
  /// The model reaches an emulated call of @p kind: did it fail here?
  bool take(FaultKind kind) {
    auto& n = left_[static_cast<std::size_t>(kind)];
    if (n == 0) return false;
    --n;
    return true;
  }
  [[nodiscard]] bool sticky(FaultKind kind) const {
    return codes_[static_cast<std::size_t>(kind)] == 700;
  }
  [[nodiscard]] bool all_taken() const {
    for (unsigned n : left_) {
      if (n != 0) return false;
    }
    return true;
  }

 private:
  std::array<unsigned, kKinds> left_{};
  std::array<int, kKinds> codes_;
};

/// What the driver needs to know about the manager type beyond the concept.
struct Traits {
  MemoryKind kind = MemoryKind::Host;  ///< Host: no backend, no faults, no leases
  bool may_wait = false;               ///< read()/read_mut() wait for a conflicting guard
  bool movable = true;
  bool wait_for_pending = true;
  bool exact_peak = true;  ///< every store samples the high-water mark
};

template <class M>
class Driver {
  using ReadGuard = typename M::ReadGuard;
  using WriteGuard = typename M::WriteGuard;
  using HeaderGuard = typename M::HeaderGuard;
  static constexpr bool has_leases = requires(M & m, MessageToken t) { m.lease(t); };
  using Lease = DeviceLease<Payload>;

  struct Held {
    std::uint32_t index = 0;
    std::uint64_t written = 0;  ///< for write guards and leases: the value they leave
    std::variant<ReadGuard, WriteGuard, HeaderGuard, std::optional<Lease>> guard;
  };

 public:
  Driver(FuzzedDataProvider& in, std::unique_ptr<M> manager, Traits traits)
      : in_(in), m_(std::move(manager)), traits_(traits), model_(m_->capacity()) {}

  ~Driver() {
    // Device work must finish before the manager goes (its destructor waits).
    fault_injection::clear_faults();
    fault_injection::release_events();
    held_.clear();
  }

  void run() {
    while (in_.remaining_bytes() > 0 && steps_++ < 400) step();
    fault_injection::clear_faults();
    model_faults_ = {};
    release_events();
    while (!held_.empty()) drop(held_.size() - 1);
    check_counters();
  }

 private:
  // --- Decoding ------------------------------------------------------------------

  /// LIMEN_FUZZ_TRACE=1 prints each step (to replay a finding by hand).
  static bool tracing() {
    static const bool on = std::getenv("LIMEN_FUZZ_TRACE") != nullptr;
    return on;
  }

  void step() {
    const int op = in_.ConsumeIntegralInRange<int>(0, 17);
    if (tracing()) {
      static const char* const names[] = {"store", "store", "read", "read_mut", "peek_header",
                                          "free", "retain", "release", "drop_some", "move_guard",
                                          "lease", "write_through_lease", "hold_or_release",
                                          "inject", "check_counters", "move_manager", "free",
                                          "store"};
      std::fprintf(stderr, "[fuzz] step %d: %s (free %zu, pending %zu, holding %d, held %d)\n",
                   steps_, names[op], model_.free_slots(), model_.pending(), model_.holding,
                   model_.stream_held);
    }
    switch (op) {
      case 0:
      case 1: return store();
      case 2: return read();
      case 3: return read_mut();
      case 4: return peek_header();
      case 5: return free_token();
      case 6: return retain_or_release(true);
      case 7: return retain_or_release(false);
      case 8: return drop_some();
      case 9: return move_guard();
      case 10: return lease();
      case 11: return write_through_lease();
      case 12: return hold_or_release();
      case 13: return inject();
      case 14: return check_counters();
      case 15: return move_manager();
      case 16: return free_token();
      default: return store();
    }
  }

  /// A token to try: one handed out (live or stale), forged, or invalid.
  MessageToken token() {
    const int how = in_.ConsumeIntegralInRange<int>(0, 9);
    if (how < 7 && !issued_.empty()) {
      return issued_[in_.ConsumeIntegralInRange<std::size_t>(0, issued_.size() - 1)];
    }
    if (how == 9) return MessageToken::invalid();
    const auto index = in_.ConsumeIntegralInRange<std::uint32_t>(0, 9);
    const auto generation = in_.ConsumeIntegralInRange<std::uint32_t>(0, 4);
    return MessageToken{index, generation};
  }

  // --- Faults --------------------------------------------------------------------

  [[nodiscard]] bool classy() const noexcept { return traits_.kind != MemoryKind::Host; }

  std::array<unsigned, kKinds> fault_counts() const {
    std::array<unsigned, kKinds> n{};
    for (std::size_t k = 0; k < kKinds; ++k) {
      n[k] = fault_injection::pending_faults(static_cast<FaultKind>(k));
    }
    return n;
  }

  /// Runs @p call on the manager, then @p replay on the model with the faults it consumed.
  template <class Call, class Replay>
  void with_faults(Call call, Replay replay) {
    const auto before = fault_counts();
    auto result = call();
    Consumed consumed(before, model_faults_);
    replay(result, consumed);
    LIMEN_FUZZ_CHECK(consumed.all_taken(), "the manager consumed a fault the model did not expect");
  }

  /// The model took fault @p kind: the call failed with DeviceError, unless sticky
  /// (the device is lost; some calls then carry on).
  bool fails_here(Consumed& c, FaultKind kind) {
    if (!c.take(kind)) return false;
    if (c.sticky(kind)) model_.lost = true;
    return true;
  }

  // --- The backend, as the model replays it --------------------------------------

  /// A failed event record's substitute: a spare event recorded on the stream and
  /// waited for. True when it worked (the slot's work is then done).
  bool model_substitute_wait(Consumed& c) {
    if (model_.lost || fails_here(c, FaultKind::EventRecord)) return false;
    return !model_.lost && !fails_here(c, FaultKind::Synchronize);
  }

  /// record_copy: the copy just queued becomes the slot's own work; false when
  /// neither its event nor the substitute could be recorded.
  bool model_record_copy(SlotModel& s, Consumed& c) {
    if (fails_here(c, FaultKind::EventRecord)) {
      if (!model_substitute_wait(c)) return false;
      s.lease_work = s.own_work = s.work_held = false;
      return true;
    }
    s.own_work = true;
    s.lease_work = s.work_held = false;
    return true;
  }

  /// prepare_host_access: the error it returns, if any.
  std::optional<MemoryError> model_host_access(std::uint32_t i, Consumed& c) {
    SlotModel& s = model_.slot(i);
    if (model_.lost) return MemoryError::DeviceError;
    if (traits_.kind == MemoryKind::PinnedHost) {
      if (!s.lease_work) return std::nullopt;  // wait_work on the lease's event
      if (fails_here(c, FaultKind::Synchronize) || model_.lost) return MemoryError::DeviceError;
      s.lease_work = s.work_held = false;
      return std::nullopt;
    }
    // Device and managed: the copy stream waits for the lease's event (no host
    // wait), copies or prefetches, records the slot's event and waits for it once.
    if (fails_here(c, FaultKind::Copy)) return MemoryError::DeviceError;
    if (!model_record_copy(s, c)) return MemoryError::DeviceError;
    if (!s.own_work) return std::nullopt;  // the substitute wait covered it
    if (fails_here(c, FaultKind::Synchronize)) return MemoryError::DeviceError;
    s.own_work = false;
    return std::nullopt;
  }

  /// commit_host_write on @p s: false when it failed.
  bool model_commit(SlotModel& s, Consumed& c) {
    if (model_.lost) return false;
    if (traits_.kind != MemoryKind::Device) return true;
    if (fails_here(c, FaultKind::Copy)) return false;
    return model_record_copy(s, c);
  }

  /// work_done: the answer, or nothing when the query failed.
  std::optional<bool> model_work_done(std::uint32_t i, Consumed& c) {
    const SlotModel& s = model_.slot(i);
    if (model_.lost || (!s.lease_work && !s.own_work)) return true;
    if (fails_here(c, FaultKind::EventQuery)) {
      if (model_.lost) return true;
      return std::nullopt;
    }
    return !(s.lease_work && s.work_held);
  }

  /// The non-blocking recycling of available(), stats() and store.
  void model_recycle(Consumed& c) {
    while (model_.has_pending()) {
      const auto done = model_work_done(model_.oldest_pending(), c);
      if (!done || !*done) return;
      model_.recycle_oldest();
    }
  }

  // --- Operations ------------------------------------------------------------------

  void store() {
    const std::uint64_t v = in_.ConsumeIntegral<std::uint64_t>();
    MessageHeader h{};
    h.trace_id = v ^ 0x55;
    const Message<Payload> message(h, pattern(v));
    if (classy() && model_.store_would_block(traits_.wait_for_pending)) return;
    with_faults([&] { return m_->store(message); },
                [&](const Result<MessageToken>& r, Consumed& c) { replay_store(r, c, v); });
  }

  void replay_store(const Result<MessageToken>& r, Consumed& c, std::uint64_t v) {
    const auto fail = [&](MemoryError e) {
      LIMEN_FUZZ_CHECK(!r && r.error() == e, "store: wrong error");
      ++model_.failed_stores;
    };
    if (!m_has_core_) {
      LIMEN_FUZZ_CHECK(!r && r.error() == MemoryError::Unsupported,
                       "store on a moved-from manager");
      return;
    }
    if (classy()) {
      if (model_.lost) return fail(MemoryError::DeviceError);
      if (model_.has_pending()) {
        if (traits_.wait_for_pending && model_.free_slots() == 0) {
          const std::uint32_t oldest = model_.oldest_pending();
          const SlotModel& s = model_.slot(oldest);
          if ((s.lease_work || s.own_work) && !model_.lost) {
            if (fails_here(c, FaultKind::Synchronize) && !model_.lost) {
              return fail(MemoryError::DeviceError);
            }
          }
          model_.recycle_oldest();
        }
        model_recycle(c);
      }
    }
    if (model_.free_slots() == 0) return fail(MemoryError::NoFreeSlots);
    LIMEN_FUZZ_CHECK(r.has_value() || classy(), "store failed with a free slot");
    if (!r) {
      // Only the upload can fail now: the slot went back, the store counts as failed.
      LIMEN_FUZZ_CHECK(r.error() == MemoryError::DeviceError, "store: wrong error");
      SlotModel scratch;
      LIMEN_FUZZ_CHECK(!model_commit(scratch, c), "store failed although the upload succeeded");
      ++model_.failed_stores;
      return;
    }
    const MessageToken t = *r;
    LIMEN_FUZZ_CHECK(t.index() < model_.capacity(), "token out of range");
    SlotModel& s = model_.slot(t.index());
    LIMEN_FUZZ_CHECK(s.state == SlotModel::State::Free, "store reused a slot that was not free");
    LIMEN_FUZZ_CHECK(t.generation() > s.generation, "generation did not advance");
    SlotModel fresh;
    LIMEN_FUZZ_CHECK(!classy() || model_commit(fresh, c), "store succeeded though its upload failed");
    s = fresh;
    s.state = SlotModel::State::Live;
    s.generation = t.generation();
    s.value = v;
    s.trace = v ^ 0x55;
    ++model_.stores;
    const std::uint64_t live = model_.live_slots();
    if (live > model_.peak) model_.peak = live;
    issued_.push_back(t);
  }

  /// The conflict a shared (read/header) lock meets, if any.
  std::optional<MemoryError> shared_conflict(const SlotModel& s, bool message) const {
    if (message && s.poisoned) return MemoryError::Poisoned;
    if (s.writer) return MemoryError::AlreadyBorrowed;
    return std::nullopt;
  }
  std::optional<MemoryError> exclusive_conflict(const SlotModel& s) const {
    if (s.poisoned) return MemoryError::Poisoned;
    if (s.writer || s.readers > 0) return MemoryError::AlreadyBorrowed;
    return std::nullopt;
  }

  /// Whether the manager may be called in a way that waits: only when the model sees no conflict.
  bool use_waiting_call(std::optional<MemoryError> conflict) {
    if (!traits_.may_wait) return true;  // never waits: read() reports the conflict
    return !conflict && in_.ConsumeBool();
  }

  void read() {
    const MessageToken t = token();
    const bool keep = in_.ConsumeBool();
    std::optional<MemoryError> expected;
    if (classy() && model_.lost) expected = MemoryError::DeviceError;
    if (!expected) expected = model_.token_error(t);
    SlotModel* s = expected ? nullptr : &model_.slot(t.index());
    if (s != nullptr) expected = shared_conflict(*s, true);
    if (s != nullptr && !expected && !s->fresh && model_.would_block(t.index())) return;
    const bool waiting = use_waiting_call(expected);
    if (!m_has_core_) expected = MemoryError::BadToken;
    with_faults([&] { return waiting ? m_->read(t) : try_read(t); },
                [&](Result<ReadGuard>& r, Consumed& c) {
                  if (!expected && s != nullptr && classy() && !s->fresh) {
                    expected = model_host_access(t.index(), c);
                    if (!expected) s->fresh = true;
                  }
                  check_error(r, expected, "read");
                  if (!r) return;
                  check_payload((*r)->payload, (*r)->header, *s, "read");
                  ++s->readers;
                  if (keep) {
                    held_.push_back({t.index(), 0, std::move(*r)});
                  } else {
                    release_reader(*s);
                  }
                });
  }

  void read_mut() {
    const MessageToken t = token();
    const bool keep = in_.ConsumeBool();
    const std::uint64_t v = in_.ConsumeIntegral<std::uint64_t>();
    std::optional<MemoryError> expected;
    if (classy() && model_.lost) expected = MemoryError::DeviceError;
    if (!expected) expected = model_.token_error(t);
    SlotModel* s = expected ? nullptr : &model_.slot(t.index());
    if (s != nullptr) expected = exclusive_conflict(*s);
    if (s != nullptr && !expected && model_.would_block(t.index())) return;
    const bool waiting = use_waiting_call(expected);
    if (!m_has_core_) expected = MemoryError::BadToken;
    with_faults([&] { return waiting ? m_->read_mut(t) : try_read_mut(t); },
                [&](Result<WriteGuard>& r, Consumed& c) {
                  if (!expected && s != nullptr) {
                    s->fresh = false;
                    if (classy()) expected = model_host_access(t.index(), c);
                  }
                  check_error(r, expected, "read_mut");
                  if (!r) return;
                  check_payload((*r)->payload, (*r)->header, *s, "read_mut");
                  (*r)->payload = pattern(v);
                  (*r)->header.trace_id = v ^ 0x55;
                  s->writer = true;
                  held_.push_back({t.index(), v, std::move(*r)});
                  if (!keep) drop(held_.size() - 1);
                });
  }

  void peek_header() {
    const MessageToken t = token();
    const bool keep = in_.ConsumeBool();
    std::optional<MemoryError> expected = model_.token_error(t);
    SlotModel* s = expected ? nullptr : &model_.slot(t.index());
    if (s != nullptr) expected = shared_conflict(*s, false);
    if (traits_.may_wait && expected == MemoryError::AlreadyBorrowed) return;  // it would wait
    const bool waiting = use_waiting_call(expected);
    if (!m_has_core_) expected = MemoryError::BadToken;
    auto r = waiting ? m_->peek_header(t) : try_peek(t);
    check_error(r, expected, "peek_header");
    if (!r) return;
    LIMEN_FUZZ_CHECK((*r)->trace_id == s->trace, "peek_header: wrong header");
    LIMEN_FUZZ_CHECK((*r)->payload_size_bytes == sizeof(Payload), "peek_header: wrong size");
    ++s->readers;
    if (keep) {
      held_.push_back({t.index(), 0, std::move(*r)});
    } else {
      r = MemoryError::BadToken;  // drops the guard
      release_reader(*s);
    }
  }

  void free_token() {
    const MessageToken t = token();
    std::optional<MemoryError> expected = model_.token_error(t);
    SlotModel* s = expected ? nullptr : &model_.slot(t.index());
    if (s != nullptr && (s->writer || s->readers > 0)) expected = MemoryError::BorrowActive;
    if (s != nullptr && !expected && s->retains > 0) expected = MemoryError::QueueOwned;
    if (!m_has_core_) expected = MemoryError::BadToken;
    with_faults([&] { return m_->free(t); },
                [&](Result<void>& r, Consumed& c) {
                  bool done = true;
                  if (!expected && classy()) {
                    const auto polled = model_work_done(t.index(), c);
                    if (!polled) expected = MemoryError::DeviceError;
                    done = polled.value_or(true);
                  }
                  check_error(r, expected, "free");
                  if (r) model_.free_slot(t.index(), done);
                });
  }

  void retain_or_release(bool retain) {
    const MessageToken t = token();
    std::optional<MemoryError> expected = model_.token_error(t);
    SlotModel* s = expected ? nullptr : &model_.slot(t.index());
    if (s != nullptr && retain && s->retains == 1023) expected = MemoryError::AlreadyBorrowed;
    if (s != nullptr && !retain && s->retains == 0) expected = MemoryError::BadToken;
    if (!m_has_core_) expected = MemoryError::BadToken;
    auto r = retain ? m_->retain(t) : m_->release(t);
    check_error(r, expected, retain ? "retain" : "release");
    if (r) s->retains += retain ? 1 : -1;
  }

  void lease() {
    if constexpr (has_leases) {
      const MessageToken t = token();
      std::optional<MemoryError> expected = model_.token_error(t);
      SlotModel* s = expected ? nullptr : &model_.slot(t.index());
      if (s != nullptr) expected = exclusive_conflict(*s);
      if (s != nullptr && !expected && (s->lease_work && s->work_held) && !model_.lost) return;
      const bool waiting = use_waiting_call(expected);
      if (!m_has_core_) expected = MemoryError::BadToken;
      if (!expected && s != nullptr && model_.lost) expected = MemoryError::DeviceError;
      with_faults([&] { return waiting ? m_->lease(t) : m_->try_lease(t, m_->stream()); },
                  [&](Result<Lease>& r, Consumed& c) {
                    // A managed slot is prefetched to the device on the lease's stream.
                    if (!expected && traits_.kind == MemoryKind::Shared &&
                        fails_here(c, FaultKind::Copy)) {
                      expected = MemoryError::DeviceError;
                    }
                    check_error(r, expected, "lease");
                    if (!r) return;
                    s->fresh = false;
                    s->writer = true;
                    held_.push_back({t.index(), s->value, std::optional<Lease>(std::move(*r))});
                  });
    } else {
      store();
    }
  }

  /// The "kernel" of a live lease writes the payload: a host task on the lease's stream.
  void write_through_lease() {
    for (auto& h : held_) {
      if (auto* lease = std::get_if<std::optional<Lease>>(&h.guard); lease && *lease) {
        h.written = in_.ConsumeIntegral<std::uint64_t>();
        Payload* target = (*lease)->device_ptr();
        const Payload value = pattern(h.written);
        const auto queued = cpu_device::launch_host_task(
            (*lease)->stream(), [target, value] { *cpu_device::host_alias(target) = value; });
        LIMEN_FUZZ_CHECK(queued.has_value() || model_.lost, "a host task was refused");
        // The model's device work finishes at once unless held: so must the task.
        if (model_.holding) model_.stream_held = true;
        if (queued && !model_.stream_held) synchronize_without_faults((*lease)->stream());
        return;
      }
    }
  }

  /// Waits for @p stream with the pending faults set aside: the model's calls
  /// are the manager's, and this wait is the harness's own.
  void synchronize_without_faults(StreamHandle stream) {
    const auto pending = fault_counts();
    fault_injection::clear_faults();
    (void)cpu_device::synchronize(stream);
    for (std::size_t k = 0; k < kKinds; ++k) {
      if (pending[k] != 0) {
        fault_injection::inject_faults(static_cast<FaultKind>(k), pending[k], model_faults_[k]);
      }
    }
  }

  void hold_or_release() {
    if (!classy()) return;
    if (in_.ConsumeBool()) {
      model_.holding = !model_.holding;
      fault_injection::hold_events(model_.holding);
    } else {
      release_events();
    }
  }

  void release_events() {
    fault_injection::release_events();
    model_.release_events();
  }

  void inject() {
    if (!classy()) return;
    const auto kind = static_cast<FaultKind>(in_.ConsumeIntegralInRange<int>(1, 4));
    const unsigned count = in_.ConsumeIntegralInRange<unsigned>(1, 2);
    const int code = in_.ConsumeIntegralInRange<int>(0, 15) == 0 ? 700 : 999;
    fault_injection::inject_faults(kind, count, code);
    model_faults_[static_cast<std::size_t>(kind)] = code;
  }

  void check_counters() {
    std::size_t available = 0;
    with_faults([&] { return available = m_->available(), 0; },
                [&](int, Consumed& c) {
                  if (classy()) model_recycle(c);
                });
    const std::size_t expected = m_has_core_ ? model_.free_slots() : 0;
    if (available != expected) {
      std::fprintf(stderr, "available() is %zu, the model says %zu (%zu pending)\n", available,
                   expected, model_.pending());
    }
    LIMEN_FUZZ_CHECK(available == expected, "available() differs");
    ManagerStats stats;
    with_faults([&] { return stats = m_->stats(), 0; },
                [&](int, Consumed& c) {
                  if (classy()) model_recycle(c);
                });
    if (!m_has_core_) {
      LIMEN_FUZZ_CHECK(stats == ManagerStats{}, "a moved-from manager has counters");
      return;
    }
    LIMEN_FUZZ_CHECK(stats.stores == model_.stores, "stats().stores differs");
    LIMEN_FUZZ_CHECK(stats.frees == model_.frees, "stats().frees differs");
    LIMEN_FUZZ_CHECK(stats.failed_stores == model_.failed_stores, "stats().failed_stores differs");
    LIMEN_FUZZ_CHECK(stats.in_use == model_.live_slots(), "stats().in_use differs");
    LIMEN_FUZZ_CHECK(stats.pending_frees == model_.pending(), "stats().pending_frees differs");
    if (traits_.exact_peak) {
      LIMEN_FUZZ_CHECK(stats.peak_in_use == model_.peak, "stats().peak_in_use differs");
    } else {
      LIMEN_FUZZ_CHECK(stats.peak_in_use <= model_.peak, "stats().peak_in_use above the truth");
    }
    LIMEN_FUZZ_CHECK(m_->capacity() == model_.capacity(), "capacity() differs");
  }

  void move_guard() {
    if (held_.empty()) return;
    const auto i = in_.ConsumeIntegralInRange<std::size_t>(0, held_.size() - 1);
    Held moved{held_[i].index, held_[i].written, std::move(held_[i].guard)};
    held_.erase(held_.begin() + static_cast<long>(i));
    held_.push_back(std::move(moved));
  }

  void move_manager() {
    if constexpr (std::is_move_constructible_v<M> && std::is_move_assignable_v<M>) {
      if (!traits_.movable) return;
      auto moved = std::make_unique<M>(std::move(*m_));
      check_moved_from();
      *m_ = std::move(*moved);  // back: the guards still point at the same state
    }
  }

  void check_moved_from() {
    const MessageToken t = token();
    LIMEN_FUZZ_CHECK(m_->capacity() == 0 && m_->available() == 0, "moved-from manager not empty");
    auto r = m_->read(t);
    LIMEN_FUZZ_CHECK(!r && r.error() == MemoryError::BadToken, "moved-from read");
    auto s = m_->store(Message<Payload>(pattern(1)));
    LIMEN_FUZZ_CHECK(!s && s.error() == MemoryError::Unsupported, "moved-from store");
  }

  void drop_some() {
    if (held_.empty()) return;
    drop(in_.ConsumeIntegralInRange<std::size_t>(0, held_.size() - 1));
  }

  /// Ends held guard @p i on the manager and in the model.
  void drop(std::size_t i) {
    Held h = std::move(held_[i]);
    held_.erase(held_.begin() + static_cast<long>(i));
    SlotModel& s = model_.slot(h.index);
    if (auto* g = std::get_if<ReadGuard>(&h.guard)) {
      if (*g) check_payload((*g)->payload, (*g)->header, s, "held read guard");
      g->reset();
      return release_reader(s);
    }
    if (auto* g = std::get_if<HeaderGuard>(&h.guard)) {
      g->reset();
      return release_reader(s);
    }
    if (auto* g = std::get_if<WriteGuard>(&h.guard)) {
      if (!*g) return;
      with_faults([&] { return g->reset(), 0; },
                  [&](int, Consumed& c) {
                    s.writer = false;
                    s.value = h.written;
                    s.trace = h.written ^ 0x55;
                    if (classy() && !model_commit(s, c)) s.poisoned = true;
                  });
      return;
    }
    auto& lease = std::get<std::optional<Lease>>(h.guard);
    if (!lease || !*lease) return;
    // A failed record falls back to waiting for the whole stream (through a
    // spare event recorded there): never while work on it is held, or held
    // from now on, or the harness would wait for itself forever.
    if (fault_injection::pending_faults(FaultKind::EventRecord) > 0) {
      if (model_.holding) {
        model_.holding = false;
        fault_injection::hold_events(false);
      }
      release_events();
    }
    with_faults([&] { return lease->reset(), 0; }, [&](int, Consumed& c) { end_lease(h, s, c); });
  }

  void end_lease(const Held& h, SlotModel& s, Consumed& c) {
    s.writer = false;
    s.value = h.written;
    if (model_.lost) {
      s.poisoned = true;
      return;
    }
    if (fails_here(c, FaultKind::EventRecord)) {  // falls back to waiting for the stream
      if (!model_substitute_wait(c)) {
        s.poisoned = true;
        return;
      }
      s.lease_work = false;
      s.own_work = false;
      return;
    }
    s.lease_work = true;
    s.own_work = false;
    if (model_.holding) model_.stream_held = true;
    s.work_held = model_.stream_held;  // held, or queued behind held work
  }

  void release_reader(SlotModel& s) {
    if (--s.readers == 0) s.fresh = false;
  }

  // --- Helpers -----------------------------------------------------------------------

  auto try_read(MessageToken t) {
    if constexpr (requires { m_->try_read(t); }) {
      return m_->try_read(t);
    } else {
      return m_->read(t);
    }
  }
  auto try_read_mut(MessageToken t) {
    if constexpr (requires { m_->try_read_mut(t); }) {
      return m_->try_read_mut(t);
    } else {
      return m_->read_mut(t);
    }
  }
  /// peek_header has no non-waiting form: it waits only for a writer, which the model predicts.
  auto try_peek(MessageToken t) { return m_->peek_header(t); }

  template <class R>
  void check_error(const R& r, std::optional<MemoryError> expected, const char* what) {
    if (expected) {
      if (r.has_value() || r.error() != *expected) {
        std::fprintf(stderr, "%s: expected %s, got %s\n", what,
                     std::string(to_string(*expected)).c_str(),
                     r.has_value() ? "success" : std::string(to_string(r.error())).c_str());
        finding("wrong result");
      }
    } else if (!r.has_value()) {
      std::fprintf(stderr, "%s: expected success, got %s\n", what,
                   std::string(to_string(r.error())).c_str());
      if constexpr (requires { m_->last_device_error(); }) {
        if (auto e = m_->last_device_error()) {
          std::fprintf(stderr, "  last device error: %s %s (%d) at %s\n", e->call.c_str(),
                       e->name.c_str(), e->code, e->where.c_str());
        }
      }
      finding("unexpected error");
    }
  }

  void check_payload(const Payload& p, const MessageHeader& h, const SlotModel& s,
                     const char* what) {
    if (!holds(p, s.value)) finding(what);
    LIMEN_FUZZ_CHECK(h.trace_id == s.trace, "wrong header through a guard");
    LIMEN_FUZZ_CHECK(h.memory_class == m_->memory_class(), "wrong memory class in a header");
  }

  FuzzedDataProvider& in_;
  std::unique_ptr<M> m_;
  Traits traits_;
  Model model_;
  std::vector<Held> held_;
  std::vector<MessageToken> issued_;
  std::array<int, kKinds> model_faults_{999, 999, 999, 999, 999};
  bool m_has_core_ = true;  ///< false only while the manager is moved away
  int steps_ = 0;
};

}  // namespace limen::fuzz
