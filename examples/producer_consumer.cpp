// SPDX-License-Identifier: Apache-2.0
// A producer and a consumer thread sharing one ConcurrentManager: the producer
// stores readings and passes their tokens through a queue; the consumer reads
// each one and frees it. Each thread works through its own scoped handle, so
// they never write the same cache line. Prints what it moved and exits 0.
#include <limen/limen.hpp>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

namespace {

struct Reading {
  double value;
};

/// A minimal blocking queue of tokens (8 bytes each: cheap to pass around).
class TokenQueue {
 public:
  void push(limen::MessageToken t) {
    {
      std::lock_guard lock(mutex_);
      tokens_.push_back(t);
    }
    ready_.notify_one();
  }
  limen::MessageToken pop() {
    std::unique_lock lock(mutex_);
    ready_.wait(lock, [this] { return !tokens_.empty(); });
    const limen::MessageToken t = tokens_.front();
    tokens_.pop_front();
    return t;
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<limen::MessageToken> tokens_;
};

}  // namespace

int main() {
  constexpr int count = 10000;
  limen::ConcurrentManager<Reading> manager(64);
  TokenQueue queue;

  std::thread producer([handle = manager.scoped_handle(), &queue]() mutable {
    for (int i = 0; i < count; ++i) {
      limen::MessageHeader header{};
      header.sequence = static_cast<std::uint64_t>(i);
      // A full manager means the consumer is behind: wait for a slot.
      for (;;) {
        auto t = handle.store(limen::Message<Reading>(header, Reading{i * 0.5}));
        if (t) {
          queue.push(*t);
          break;
        }
        std::this_thread::yield();
      }
    }
    queue.push(limen::MessageToken::invalid());  // end of stream
  });

  double sum = 0;
  int received = 0;
  std::thread consumer([handle = manager.scoped_handle(), &queue, &sum, &received]() mutable {
    for (auto t = queue.pop(); !t.is_invalid(); t = queue.pop()) {
      sum += handle.read(t).value()->payload.value;
      handle.free(t).value();
      ++received;
    }
  });

  producer.join();
  consumer.join();
  const double expected = 0.5 * count * (count - 1) / 2;
  const limen::ManagerStats s = manager.stats();
  std::printf(
      "producer/consumer: %d readings through 64 slots, sum %.1f (expected %.1f), "
      "peak %llu in use, %zu free at the end\n",
      received, sum, expected, static_cast<unsigned long long>(s.peak_in_use), manager.available());
  return received == count && sum == expected && manager.available() == 64 ? EXIT_SUCCESS
                                                                           : EXIT_FAILURE;
}
