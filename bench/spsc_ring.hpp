// SPDX-License-Identifier: Apache-2.0
// A bounded single-producer single-consumer ring: the queue that carries
// handles from a producer thread to a consumer thread in the producer->consumer
// benchmarks (bench/concurrent_bench.cpp). One release store per push and per
// pop; each side re-reads the other's index only when its cached copy says the
// ring is full (or empty).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <thread>

namespace limen::bench {

template <class T, std::size_t N>
class SpscRing {
  static_assert(N > 0 && (N & (N - 1)) == 0, "N must be a power of two");

 public:
  /// Producer only: false when the ring is full.
  bool try_push(const T& item) {
    const std::size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_seen_ == N) {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (tail - head_seen_ == N) return false;
    }
    items_[tail % N] = item;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  /// Consumer only: false when the ring is empty.
  bool try_pop(T& item) {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_seen_) {
      tail_seen_ = tail_.load(std::memory_order_acquire);
      if (head == tail_seen_) return false;
    }
    item = items_[head % N];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

 private:
  alignas(64) std::atomic<std::size_t> head_{0};  // written by the consumer
  std::size_t tail_seen_ = 0;                     // the consumer's copy of tail_
  alignas(64) std::atomic<std::size_t> tail_{0};  // written by the producer
  std::size_t head_seen_ = 0;                     // the producer's copy of head_
  alignas(64) std::array<T, N> items_{};
};

/// Waits until @p ready() holds: a busy wait (the pause instruction where there is
/// one) that yields the core after a while, so that a producer and a consumer that
/// share a core (a busy machine) still make progress at more than one item per
/// time slice.
template <class Ready>
void wait_until(Ready ready) {
  for (unsigned spins = 0; !ready(); ++spins) {
    if (spins < 256) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      asm volatile("yield");
#endif
    } else {
      std::this_thread::yield();
    }
  }
}

}  // namespace limen::bench
