// SPDX-License-Identifier: Apache-2.0
// The reference model the differential fuzzers check limen against: what each
// slot holds, which guards and device work use it, and what every call must
// return. It knows the contract (error precedence, guard conflicts, stream-
// ordered free, device loss), not the implementation: where an outcome depends
// on which injected fault a call met, the harness tells it which faults the
// call consumed.
#pragma once

#include <limen/error.hpp>
#include <limen/token.hpp>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace limen::fuzz {

/// What a slot is doing, as the contract describes it.
struct SlotModel {
  enum class State : std::uint8_t { Free, Live, Pending };
  State state = State::Free;
  std::uint32_t generation = 0;  ///< of the live message, or of the last one
  std::uint64_t value = 0;       ///< the payload's fill
  std::uint64_t trace = 0;       ///< the header's trace_id
  int readers = 0;               ///< read and header guards
  bool writer = false;           ///< a write guard or a lease
  int retains = 0;
  bool poisoned = false;
  bool fresh = false;       ///< readers share a host view that needs no refresh
  bool lease_work = false;  ///< a lease's work still uses the slot
  bool work_held = false;   ///< ... and it has not completed
  bool own_work = false;    ///< the backend's own upload (device class) is the slot's work
};

/// The whole manager.
class Model {
 public:
  explicit Model(std::size_t capacity) : slots_(capacity) {}

  [[nodiscard]] std::size_t capacity() const noexcept { return slots_.size(); }
  SlotModel& slot(std::uint32_t index) { return slots_[index]; }
  [[nodiscard]] const SlotModel& slot(std::uint32_t index) const { return slots_[index]; }

  /// The error any token-taking call gives before looking at guards, if any.
  [[nodiscard]] std::optional<MemoryError> token_error(MessageToken t) const {
    if (t.is_invalid() || t.index() >= slots_.size()) return MemoryError::BadToken;
    const SlotModel& s = slots_[t.index()];
    if (s.state != SlotModel::State::Live) return MemoryError::NotAllocated;
    if (s.generation != t.generation()) return MemoryError::StaleToken;
    return std::nullopt;
  }

  /// Whether host access to the slot would wait for held device work (the harness skips it).
  [[nodiscard]] bool would_block(std::uint32_t index) const {
    const SlotModel& s = slots_[index];
    return s.lease_work && s.work_held && !lost;
  }

  [[nodiscard]] std::size_t free_slots() const {
    std::size_t n = 0;
    for (const auto& s : slots_) n += s.state == SlotModel::State::Free ? 1 : 0;
    return n;
  }
  [[nodiscard]] std::size_t live_slots() const {
    std::size_t n = 0;
    for (const auto& s : slots_) n += s.state == SlotModel::State::Live ? 1 : 0;
    return n;
  }

  /// A store that must wait for the oldest pending slot's held work (the harness skips it).
  [[nodiscard]] bool store_would_block(bool wait_for_pending) const {
    if (!wait_for_pending || lost || pending_.empty() || free_slots() != 0) return false;
    return slot(pending_.front()).work_held;
  }

  /// A free that completes: at once, or pending until the slot's work does.
  void free_slot(std::uint32_t index, bool done) {
    SlotModel& s = slots_[index];
    s.fresh = false;
    ++frees;
    if (!done) {
      s.state = SlotModel::State::Pending;
      pending_.push_back(index);
      return;
    }
    s.state = SlotModel::State::Free;
    s.lease_work = false;
    s.own_work = false;
  }

  /// The oldest pending slot becomes free (its work completed).
  void recycle_oldest() {
    SlotModel& s = slots_[pending_.front()];
    s.state = SlotModel::State::Free;
    s.lease_work = false;
    s.work_held = false;
    s.own_work = false;
    pending_.pop_front();
  }
  [[nodiscard]] std::uint32_t oldest_pending() const { return pending_.front(); }

  [[nodiscard]] std::size_t pending() const noexcept { return pending_.size(); }
  [[nodiscard]] bool has_pending() const noexcept { return !pending_.empty(); }

  /// Every held event completes.
  void release_events() {
    for (auto& s : slots_) s.work_held = false;
    stream_held = false;
  }

  std::uint64_t stores = 0;
  std::uint64_t frees = 0;
  std::uint64_t failed_stores = 0;
  std::uint64_t peak = 0;
  bool holding = false;  ///< events recorded now stay incomplete until released
  /// Work held on the manager's stream is not released yet: everything queued
  /// there after it waits too (a stream runs its work in order).
  bool stream_held = false;
  bool lost = false;     ///< a sticky error made the device unusable

 private:
  std::vector<SlotModel> slots_;
  std::deque<std::uint32_t> pending_;
};

}  // namespace limen::fuzz
