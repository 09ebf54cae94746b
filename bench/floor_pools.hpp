// SPDX-License-Identifier: Apache-2.0
// The two yardsticks the host benchmarks measure limen against: an unchecked
// slot pool (the floor) and the same pool plus the atomic steps any
// thread-safe pool makes (the atomic floor). Shared by bench/host_bench.cpp
// and the user-shaped loops (bench/user_shape.hpp).
#pragma once

#include <limen/message.hpp>

#include <atomic>
#include <cstdint>
#include <vector>

namespace limen::bench {

// --- The floor: an unchecked slot pool ---------------------------------------------

template <class P>
class FloorPool {
 public:
  explicit FloorPool(std::uint32_t capacity) : slots_(capacity), next_(capacity) {
    for (std::uint32_t i = 0; i < capacity; ++i) next_[i] = i + 1;
  }
  std::uint32_t store(const limen::Message<P>& m) {
    const std::uint32_t i = head_;
    head_ = next_[i];
    slots_[i] = m;
    return i;
  }
  const limen::Message<P>& read(std::uint32_t i) const { return slots_[i]; }
  void unlock_read(std::uint32_t) const {}
  void free(std::uint32_t i) {
    next_[i] = head_;
    head_ = i;
  }

 private:
  std::vector<limen::Message<P>> slots_;
  std::vector<std::uint32_t> next_;
  std::uint32_t head_ = 0;
};

// --- The atomic floor: the floor plus the atomic steps any thread-safe pool makes -----
//
// What a round trip costs at the least when any thread may store, read and free
// any handle: a lock-free pop and push (one compare-and-swap each), a slot word
// that a read takes and drops atomically (compare-and-swap, fetch_sub) and that a
// free claims only when no reader holds it (compare-and-swap), and two shared
// counters (fetch_add). Seven uncontended read-modify-writes, no other checks.
// It is a yardstick for ConcurrentManager, not a usable pool (no ABA protection
// beyond the tag, no waiting, no error paths).

// The slot words both atomic floors share: 0 free, `occupied` plus a reader count.
class AtomicSlotWords {
 public:
  explicit AtomicSlotWords(std::uint32_t capacity) : words_(capacity) {}
  void publish(std::uint32_t i) { words_[i].store(occupied, std::memory_order_release); }
  /// Takes a reader (one compare-and-swap when uncontended).
  void lock_read(std::uint32_t i) {
    std::uint64_t w = occupied;
    while (!words_[i].compare_exchange_weak(w, w + 1, std::memory_order_acquire)) w = occupied;
  }
  void unlock_read(std::uint32_t i) { words_[i].fetch_sub(1, std::memory_order_release); }
  /// Claims the slot for a free once no reader holds it (one compare-and-swap).
  void claim(std::uint32_t i) {
    std::uint64_t w = occupied;
    while (!words_[i].compare_exchange_weak(w, 0, std::memory_order_acq_rel)) w = occupied;
  }

 private:
  static constexpr std::uint64_t occupied = 1ULL << 32;
  std::vector<std::atomic<std::uint64_t>> words_;
};

template <class P>
class AtomicFloorPool {
 public:
  explicit AtomicFloorPool(std::uint32_t capacity)
      : slots_(capacity), next_(capacity), words_(capacity) {
    for (std::uint32_t i = 0; i < capacity; ++i) next_[i] = i + 1;
  }
  std::uint32_t store(const limen::Message<P>& m) {
    std::uint64_t head = head_.load(std::memory_order_acquire);
    std::uint32_t i = 0;
    do {
      i = static_cast<std::uint32_t>(head);
    } while (!head_.compare_exchange_weak(head, pack(head, next_[i]), std::memory_order_acq_rel));
    slots_[i] = m;
    words_.publish(i);
    stores_.fetch_add(1, std::memory_order_relaxed);
    return i;
  }
  const limen::Message<P>& read(std::uint32_t i) {
    words_.lock_read(i);
    return slots_[i];
  }
  void unlock_read(std::uint32_t i) { words_.unlock_read(i); }
  void free(std::uint32_t i) {
    words_.claim(i);
    std::uint64_t head = head_.load(std::memory_order_relaxed);
    do {
      next_[i] = static_cast<std::uint32_t>(head);
    } while (!head_.compare_exchange_weak(head, pack(head, i), std::memory_order_release));
    frees_.fetch_add(1, std::memory_order_relaxed);
  }

 private:
  static std::uint64_t pack(std::uint64_t old_head, std::uint32_t index) {
    return (((old_head >> 32) + 1) << 32) | index;
  }

  std::vector<limen::Message<P>> slots_;
  std::vector<std::uint32_t> next_;
  AtomicSlotWords words_;
  alignas(64) std::atomic<std::uint64_t> head_{0};
  alignas(64) std::atomic<std::uint64_t> stores_{0};
  std::atomic<std::uint64_t> frees_{0};
};

// --- The cached atomic floor: the floor plus only the steps the contract needs -----
//
// What a round trip costs at the least when the free list and the counters stay
// with one worker (a thread-local cache, as ConcurrentHandle keeps) but any
// thread may still read and free any handle: the slot word taken and dropped by
// a read (compare-and-swap, fetch_sub) and claimed by a free (compare-and-swap).
// Three uncontended read-modify-writes, no other checks: the bound for a
// thread-safe pool whose worker stores and frees its own slots. A yardstick,
// not a usable pool (one worker only, no error paths).

template <class P>
class CachedAtomicFloorPool {
 public:
  explicit CachedAtomicFloorPool(std::uint32_t capacity) : pool_(capacity), words_(capacity) {}
  std::uint32_t store(const limen::Message<P>& m) {
    const std::uint32_t i = pool_.store(m);  // the worker's own free list
    words_.publish(i);
    ++stores_;
    return i;
  }
  const limen::Message<P>& read(std::uint32_t i) {
    words_.lock_read(i);
    return pool_.read(i);
  }
  void unlock_read(std::uint32_t i) { words_.unlock_read(i); }
  void free(std::uint32_t i) {
    words_.claim(i);
    pool_.free(i);
    ++frees_;
  }

 private:
  FloorPool<P> pool_;
  AtomicSlotWords words_;
  std::uint64_t stores_ = 0;
  std::uint64_t frees_ = 0;
};

}  // namespace limen::bench
