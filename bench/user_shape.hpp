// SPDX-License-Identifier: Apache-2.0
// The host round trip in the shape a user writes it, for every contender:
// shared by bench/user_loop_bench.cpp (time) and bench/host_loop.cpp
// (instructions, the user-* modes), so both measure the same code.
//
// bench/host_bench.cpp times the round trip as one loop the compiler sees
// whole: the handle never leaves a register and the read is inlined next to
// the store. A user's code differs in three ways, and each round trip here
// does all three:
//  (a) the handle (token, index, pointer) goes through memory: it is pushed
//      into a small queue, the queue is handed to code the compiler cannot see
//      (hand_off, in another translation unit), and the consumer pops it back;
//  (b) the guard (or pointer) stays alive across a call into another
//      translation unit (process, noinline), which reads the payload and
//      returns a value the loop adds up and checks at the end;
//  (c) every result is checked: a failed store, read or free aborts.
// The pool itself is published once (its address escapes to the other
// translation unit), as a pool kept in a member or a global is, so the
// compiler must reload its state after every opaque call.
#pragma once

#include "floor_pools.hpp"
#include "mimalloc_local.hpp"

#include <limen/limen.hpp>

#if defined(LIMEN_BENCH_BOOST)
#include <boost/pool/object_pool.hpp>
#endif

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory_resource>
#include <new>
#include <vector>

namespace limen::bench {

template <std::size_t Bytes>
struct Payload {
  std::array<std::byte, Bytes> bytes{};
};

// --- Defined in bench/user_shape_process.cpp, out of the compiler's sight ----------------

/// The consumer's work: the payload's first and last 64-bit words, added.
[[gnu::noinline]] std::uint64_t process(const Message<Payload<64>>& message);
/// The consumer's work: the payload's first and last 64-bit words, added.
[[gnu::noinline]] std::uint64_t process(const Message<Payload<4096>>& message);
/// Where the producer hands the queue to the consumer (a notify, a callback); does nothing.
[[gnu::noinline]] void hand_off(void* queue);
/// Makes @p pool reachable from other code, as a member or a global is; once, before the loop.
[[gnu::noinline]] void publish(void* pool);

// --- The loop's inputs and its check ------------------------------------------------------

/// Four prebuilt source messages, rotated, and the sum process() must return over them.
template <class P>
class Sources {
 public:
  static constexpr std::size_t count = 4;

  Sources() : messages_(count) {
    for (std::size_t i = 0; i < count; ++i) {
      messages_[i].payload.bytes.front() = std::byte(i + 1);
      messages_[i].payload.bytes.back() = std::byte(2 * i + 1);
      per_message_[i] = process(messages_[i]);
    }
  }
  const Message<P>& operator[](std::size_t i) const { return messages_[i % count]; }

  /// What the process() results of round trips 0 .. n-1 add up to.
  [[nodiscard]] std::uint64_t expected(std::size_t n) const {
    std::uint64_t sum = 0;
    for (std::size_t i = 0; i < count; ++i) sum += per_message_[i] * (n / count + (i < n % count));
    return sum;
  }

 private:
  std::vector<Message<P>> messages_;
  std::array<std::uint64_t, count> per_message_{};
};

/// The producer's queue to the consumer: one handle in flight, kept in memory.
template <class T>
class HandOffQueue {
 public:
  void push(T item) { items_[tail_++ % items_.size()] = item; }
  T pop() { return items_[head_++ % items_.size()]; }

 private:
  std::array<T, 16> items_{};
  std::uint32_t head_ = 0;
  std::uint32_t tail_ = 0;
};

// --- The contenders, each as its user would write the round trip ----------------------------

/// A limen manager or handle: store, queue the token, read through the guard, free.
/// @p Hold is how the loop holds it: a manager by reference (it lives elsewhere), a
/// worker's ConcurrentHandle by value (the worker owns its handle, as the slot pools
/// below own their pool).
template <class M, class P, class Hold = M&>
class UserLimen {
 public:
  explicit UserLimen(Hold manager) : m_(static_cast<Hold&&>(manager)) { publish(&m_); }

  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    const auto stored = m_.store(source);
    if (!stored) std::abort();
    queue_.push(*stored);
    hand_off(&queue_);

    const MessageToken token = queue_.pop();
    std::uint64_t result = 0;
    {
      const auto guard = m_.read(token);
      if (!guard) std::abort();
      result = process(**guard);  // the guard holds the slot across the call
    }
    if (!m_.free(token)) std::abort();
    return result;
  }

 private:
  Hold m_;
  HandOffQueue<MessageToken> queue_;
};

/// FloorPool, AtomicFloorPool or CachedAtomicFloorPool: the index is the handle;
/// nothing to check.
template <class Pool, class P>
class UserSlotPool {
 public:
  UserSlotPool() { publish(&pool_); }

  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    queue_.push(pool_.store(source));
    hand_off(&queue_);

    const std::uint32_t index = queue_.pop();
    const std::uint64_t result = process(pool_.read(index));
    pool_.unlock_read(index);
    pool_.free(index);
    return result;
  }

 private:
  Pool pool_{256};
  HandOffQueue<std::uint32_t> queue_;
};

/// new and delete of the message (glibc's malloc underneath).
template <class P>
class UserNewDelete {
 public:
  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    queue_.push(new Message<P>(source));
    hand_off(&queue_);

    const Message<P>* message = queue_.pop();
    const std::uint64_t result = process(*message);
    delete message;
    return result;
  }

 private:
  HandOffQueue<Message<P>*> queue_;
};

/// std::pmr: a polymorphic_allocator over an unsynchronized_pool_resource.
template <class P>
class UserPmr {
 public:
  UserPmr() { publish(&resource_); }

  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    queue_.push(allocator_.template new_object<Message<P>>(source));
    hand_off(&queue_);

    Message<P>* message = queue_.pop();
    const std::uint64_t result = process(*message);
    allocator_.delete_object(message);
    return result;
  }

 private:
  std::pmr::unsynchronized_pool_resource resource_;
  std::pmr::polymorphic_allocator<> allocator_{&resource_};
  HandOffQueue<Message<P>*> queue_;
};

/// mimalloc's mi_malloc and mi_free (see mimalloc_local.hpp).
template <class P>
class UserMimalloc {
 public:
  explicit UserMimalloc(const Mimalloc& mi) : mi_(mi) {}

  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    void* raw = mi_.malloc(sizeof(Message<P>));
    if (raw == nullptr) std::abort();
    queue_.push(::new (raw) Message<P>(source));
    hand_off(&queue_);

    Message<P>* message = queue_.pop();
    const std::uint64_t result = process(*message);
    message->~Message();
    mi_.free(message);
    return result;
  }

 private:
  const Mimalloc& mi_;
  HandOffQueue<Message<P>*> queue_;
};

#if defined(LIMEN_BENCH_BOOST)
/// boost::object_pool: construct and destroy.
template <class P>
class UserBoostPool {
 public:
  UserBoostPool() { publish(&pool_); }

  [[gnu::always_inline]] std::uint64_t round_trip(const Message<P>& source) {
    Message<P>* stored = pool_.construct(source);
    if (stored == nullptr) std::abort();
    queue_.push(stored);
    hand_off(&queue_);

    Message<P>* message = queue_.pop();
    const std::uint64_t result = process(*message);
    pool_.destroy(message);
    return result;
  }

 private:
  boost::object_pool<Message<P>> pool_;
  HandOffQueue<Message<P>*> queue_;
};
#endif

}  // namespace limen::bench
