// SPDX-License-Identifier: Apache-2.0
/**
 * @file slot_table.hpp
 * @brief Token bookkeeping shared by every manager: the slot state machine
 * (generations, borrow state, retains) over a sharded free list and counters.
 * It never touches payload memory.
 */
#pragma once

#include <limen/detail/fixed_array.hpp>
#include <limen/detail/free_list.hpp>
#include <limen/detail/slot_counters.hpp>
#include <limen/detail/slot_word.hpp>
#include <limen/detail/sync_policy.hpp>
#include <limen/guard.hpp>
#include <limen/result.hpp>
#include <limen/stats.hpp>
#include <limen/token.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace limen::detail {

/** @brief Whether a conflicting guard is waited for or reported as AlreadyBorrowed. */
enum class Wait : bool { No, Yes };

/** @brief What a shared lock is for: the header only, or the whole message. */
enum class SharedAccess : std::uint8_t { Header, Message, MessageWithShadow };

/** @brief The outcome of a shared lock taken with a host shadow (device-backed slots). */
enum class ShadowState : std::uint8_t { Ready, MustFill };

/**
 * @brief A stable per-thread home shard (0..MultiThreaded::shard_count - 1).
 *
 * Each thread takes the shard the fewest live threads use, and gives it back
 * when it exits, so up to shard_count threads at once never share a shard
 * (a plain counter would put the 1st and the 9th thread ever started together,
 * however many had exited).
 */
class ThreadHome {
 public:
  ThreadHome() noexcept : shard_(take()) {}
  ~ThreadHome() { users()[shard_].fetch_sub(1, std::memory_order_relaxed); }
  ThreadHome(const ThreadHome&) = delete;
  ThreadHome& operator=(const ThreadHome&) = delete;
  [[nodiscard]] std::uint32_t shard() const noexcept { return shard_; }

 private:
  static constexpr std::uint32_t count = MultiThreaded::shard_count;
  static std::atomic<std::uint32_t>* users() noexcept {
    static std::atomic<std::uint32_t> live[count] = {};
    return live;
  }
  static std::uint32_t take() noexcept {
    std::uint32_t best = 0;
    for (std::uint32_t s = 1; s < count; ++s) {
      if (users()[s].load(std::memory_order_relaxed) <
          users()[best].load(std::memory_order_relaxed)) {
        best = s;
      }
    }
    users()[best].fetch_add(1, std::memory_order_relaxed);
    return best;
  }

  std::uint32_t shard_;
};

/** @brief This thread's home shard (see ThreadHome). */
inline std::uint32_t this_thread_seed() noexcept {
  thread_local const ThreadHome home;
  return home.shard();
}

/** @brief Per-slot state: one word for the state machine, one link for the free list. */
template <class Sync>
struct alignas(Sync::line_align) SlotMeta {
  typename Sync::template Atomic<std::uint64_t> word{};
  typename Sync::template Atomic<std::uint32_t> next{};
};

/**
 * @brief What one shard's worker writes: its free stack and its counters, on
 * one cache line (with `MultiThreaded`), so threads with different homes
 * never write the same line.
 */
template <class Sync>
struct alignas(Sync::line_align) Shard {
  FreeStack<Sync> free;
  SlotCounters<Sync> counts;
};

/**
 * @brief The token state machine of one manager.
 *
 * All operations are O(1) in the capacity. With `MultiThreaded` every call is
 * safe from any thread at once and lock-free (waits happen only when a caller
 * asks to wait for a conflicting guard); with `SingleThreaded` the same code
 * runs on plain words. Callers pass a `home` shard; the free-list shard and
 * the counters it touches are picked from it, so threads with different homes
 * never write the same cache line.
 */
template <class Sync, template <class> class Storage>
class SlotTable {
  using Word = std::uint64_t;
  using Counters = SlotCounters<Sync>;
  static constexpr std::uint32_t empty_index = end_of_list;
  static constexpr std::uint32_t shards = Sync::shard_count;
  /// With one thread nothing else can see a slot between its steps: plain words, no CAS.
  static constexpr bool alone = !Sync::shared;

 public:
  using Meta = SlotMeta<Sync>;

  /** @brief The largest capacity a token index can address (the all-ones index is invalid). */
  static constexpr std::size_t max_capacity = empty_index - 1;

  explicit SlotTable(std::size_t capacity) : meta_(capacity), capacity_(capacity) {
    for (std::size_t i = 0; i < capacity; ++i) {
      meta_[i].next.store(i + 1 < capacity ? static_cast<std::uint32_t>(i + 1) : empty_index);
    }
    if (capacity > 0) shard_[0].free.reset(0);
  }

  SlotTable(const SlotTable&) = delete;
  SlotTable& operator=(const SlotTable&) = delete;

  /**
   * @brief Single-threaded tables move (the slot words stay where they are, so
   * guards stay valid); @p other is left with no slot and zero counters.
   */
  SlotTable(SlotTable&& other) noexcept requires(alone)
      : meta_(std::move(other.meta_)),
        capacity_(std::exchange(other.capacity_, 0)),
        peak_(std::exchange(other.peak_, {})),
        pending_(std::exchange(other.pending_, {})) {
    for (std::uint32_t s = 0; s < shards; ++s) shard_[s] = std::exchange(other.shard_[s], {});
  }
  SlotTable& operator=(SlotTable&& other) noexcept requires(alone) {
    meta_ = std::move(other.meta_);
    capacity_ = std::exchange(other.capacity_, 0);
    peak_ = std::exchange(other.peak_, {});
    pending_ = std::exchange(other.pending_, {});
    for (std::uint32_t s = 0; s < shards; ++s) shard_[s] = std::exchange(other.shard_[s], {});
    return *this;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  /**
   * @brief Takes a free slot for a new message; the slot stays invisible until publish().
   * NoFreeSlots is not counted here: the caller counts every failed store once.
   * @param stole set when the home shard was empty and another shard gave the slot.
   */
  Result<MessageToken> allocate(std::uint32_t home, bool* stole = nullptr) noexcept {
    const std::uint32_t index = pop_any(home, stole);
    if (index == empty_index) [[unlikely]]
      return MemoryError::NoFreeSlots;
    auto& word = meta_[index].word;
    const std::uint32_t generation =
        slot_word::generation(word.load(std::memory_order_relaxed)) + 1;
    // Other threads must see the slot taken at once; alone, publish() writes the word.
    if constexpr (!alone) {
      word.store(slot_word::make(generation, slot_word::Phase::Reserved),
                 std::memory_order_relaxed);
    }
    return MessageToken{index, generation};
  }

  /**
   * @brief Makes an allocated slot visible to @p token and counts the store.
   * @param sample_peak_now update the high-water mark. Single-threaded tables
   *        always do (it is one compare); sharded ones when asked, and on the
   *        first and then every 1024th use of each slot, so the mark stays close
   *        without every store reading every shard.
   */
  void publish(MessageToken token, std::uint32_t home, bool sample_peak_now) noexcept {
    meta_[token.index()].word.store(slot_word::make(token.generation(), slot_word::Phase::Occupied),
                                    std::memory_order_release);
    Counters::bump(shard(home).counts.stores);
    if constexpr (alone) {
      const std::uint64_t live = in_use();
      if (live > peak_.load()) peak_.store(live);
    } else if (sample_peak_now || (token.generation() & 1023U) == 1U) {
      sample_peak();
    }
  }

  /** @brief Returns an allocated, unpublished slot (its payload failed to construct). */
  void abandon(std::uint32_t index, std::uint32_t home) noexcept {
    if constexpr (!alone) {
      auto& word = meta_[index].word;
      word.store(
          slot_word::with_phase(word.load(std::memory_order_relaxed), slot_word::Phase::Free),
          std::memory_order_release);
    }
    push(index, home);
  }

  /**
   * @brief Takes shared access to the slot @p token names.
   *
   * `MessageWithShadow` also elects one reader to refresh the host shadow of a
   * device slot: it gets `MustFill` and must call finish_fill(); the others
   * wait for it, then get `Ready`.
   */
  Result<ShadowState> lock_shared(MessageToken token, Wait wait, SharedAccess access) noexcept {
    if (token.index() >= capacity_) [[unlikely]]
      return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    // The usual case in one compare: this message, occupied, no writer (and for
    // messages: not poisoned, no shadow refresh under way).
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    const Word mask = access == SharedAccess::Header ? header_mask : message_mask;
    Word w = word.load(std::memory_order_acquire);
    for (;;) {
      // One more reader. Alone (no waiters bit ever set), a full reader count
      // carries into the waiters bit, which the mask then sees: one compare.
      const Word counted = w + slot_word::one_reader;
      const bool usual = alone ? (counted & (mask | slot_word::waiters_bit)) == expected
                               : (w & (mask | slot_word::waiters_bit)) == expected &&
                                     slot_word::readers(w) != slot_word::max_readers;
      if (usual) [[likely]] {
        const bool fill =
            access == SharedAccess::MessageWithShadow && !slot_word::has(w, slot_word::fresh_bit);
        const Word next = counted + (fill ? slot_word::filling_bit : 0);
        if (exchange(word, w, next)) return fill ? ShadowState::MustFill : ShadowState::Ready;
        continue;
      }
      if (auto error = validate(token, w)) return *error;
      if (access != SharedAccess::Header && slot_word::has(w, slot_word::poisoned_bit)) {
        return MemoryError::Poisoned;
      }
      if (slot_word::readers(w) == slot_word::max_readers) return MemoryError::AlreadyBorrowed;
      const bool must_wait =
          slot_word::has(w, slot_word::writer_bit) || slot_word::has(w, slot_word::filling_bit);
      if (!must_wait) {  // only the waiters bit differed: take the reader as usual
        const bool fill =
            access == SharedAccess::MessageWithShadow && !slot_word::has(w, slot_word::fresh_bit);
        if (exchange(word, w, counted + (fill ? slot_word::filling_bit : 0))) {
          return fill ? ShadowState::MustFill : ShadowState::Ready;
        }
        continue;
      }
      // A writer holds the slot, or a reader is refreshing its shadow.
      if (!should_wait(wait)) return MemoryError::AlreadyBorrowed;
      w = sleep_on(word, w);
    }
  }

  /** @brief Ends the shadow refresh a `MustFill` reader did; @p ok marks the shadow fresh. */
  void finish_fill(std::uint32_t index, bool ok) noexcept {
    update(index, [ok](Word w) {
      return (w & ~slot_word::filling_bit) | (ok ? slot_word::fresh_bit : 0);
    });
  }

  /**
   * @brief The guard release and its owner for a shared access of slot @p index
   * without a shadow: alone, the word itself and one subtraction (see
   * release_plain_reader); shared, @p owner and its own @p shared release.
   */
  std::pair<void*, ReleaseFn> reader_release(std::uint32_t index, void* owner,
                                             ReleaseFn shared) noexcept {
    if constexpr (alone) return {&meta_[index].word, &release_plain_reader};
    return {owner, shared};
  }
  /** @brief The same for an exclusive access that never poisons (host memory). */
  std::pair<void*, ReleaseFn> writer_release(std::uint32_t index, void* owner,
                                             ReleaseFn shared) noexcept {
    if constexpr (alone) return {&meta_[index].word, &release_plain_writer};
    return {owner, shared};
  }

  /** @brief Ends one shared access of a slot without a shadow (host memory). */
  void unlock_reader(std::uint32_t index) noexcept {
    auto& word = meta_[index].word;
    if constexpr (alone) {
      word.store(word.load() - slot_word::one_reader);
    } else {
      // One read-modify-write, no loop: only a sleeper (rare) costs more.
      const Word old = word.fetch_sub(slot_word::one_reader, std::memory_order_release);
      if (slot_word::has(old, slot_word::waiters_bit)) [[unlikely]] {
        word.fetch_and(~slot_word::waiters_bit, std::memory_order_relaxed);
        word.notify_all();
      }
    }
  }

  /** @brief Ends one shared access; the last reader leaves the shadow stale. */
  void unlock_shared(std::uint32_t index) noexcept {
    update(index, [](Word old) {
      const Word next = old - slot_word::one_reader;
      return slot_word::readers(next) == 0 ? next & ~slot_word::fresh_bit : next;
    });
  }

  /** @brief Takes exclusive access to the slot @p token names. */
  Result<void> lock_exclusive(MessageToken token, Wait wait) noexcept {
    if (token.index() >= capacity_) [[unlikely]]
      return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    Word w = word.load(std::memory_order_acquire);
    for (;;) {
      if ((w & exclusive_mask) == expected) [[likely]] {
        if (exchange(word, w, (w | slot_word::writer_bit) & ~slot_word::fresh_bit)) return {};
        continue;
      }
      if (auto error = validate(token, w)) return *error;
      if (slot_word::has(w, slot_word::poisoned_bit)) return MemoryError::Poisoned;
      if (!should_wait(wait)) return MemoryError::AlreadyBorrowed;  // a writer or readers
      w = sleep_on(word, w);
    }
  }

  /** @brief Ends exclusive access; @p poison marks the contents untrustworthy. */
  void unlock_exclusive(std::uint32_t index, bool poison) noexcept {
    update(index, [poison](Word w) {
      return (w & ~slot_word::writer_bit) | (poison ? slot_word::poisoned_bit : 0);
    });
  }

  /**
   * @brief What begin_free() would refuse @p token with right now, if anything;
   * changes nothing (callers decide whether a free can complete first).
   */
  [[nodiscard]] std::optional<MemoryError> check_free(MessageToken token) const noexcept {
    if (token.index() >= capacity_) return MemoryError::BadToken;
    return free_error(token, meta_[token.index()].word.load(std::memory_order_acquire));
  }

  /**
   * @brief Starts freeing: checks no guard lives and nothing is retained, then
   * hides the slot from tokens. Never waits. The caller destroys the payload,
   * then calls finish_free() (or defer_free()).
   */
  Result<void> begin_free(MessageToken token) noexcept {
    if (token.index() >= capacity_) [[unlikely]]
      return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    Word w = word.load(std::memory_order_acquire);
    for (;;) {
      if ((w & free_mask) != expected) [[unlikely]] {
        if (auto error = free_error(token, w)) return *error;
      }
      const Word next = slot_word::make(token.generation(), slot_word::Phase::Reserved);
      if (exchange(word, w, next)) return {};
    }
  }

  /** @brief Puts a slot whose free began back on the free list; counts the free. */
  void finish_free(std::uint32_t index, std::uint32_t home) noexcept {
    auto& word = meta_[index].word;
    word.store(slot_word::with_phase(word.load(std::memory_order_relaxed), slot_word::Phase::Free),
               std::memory_order_release);
    push(index, home);
    count_free(home);
  }

  /**
   * @brief Completes a free whose slot device work still uses: the free counts
   * now, the slot stays hidden and unavailable until recycle_deferred().
   */
  void defer_free(std::uint32_t home) noexcept {
    pending_.fetch_add(1, std::memory_order_relaxed);
    count_free(home);
  }

  /**
   * @brief Completes a free whose slot must never be used again (device work
   * nothing can order may still write it): the free counts, the slot stays
   * hidden for good.
   */
  void keep_freed(std::uint32_t home) noexcept { count_free(home); }

  /** @brief Makes a deferred slot (its device work done) available again. */
  void recycle_deferred(std::uint32_t index, std::uint32_t home) noexcept {
    auto& word = meta_[index].word;
    word.store(slot_word::with_phase(word.load(std::memory_order_relaxed), slot_word::Phase::Free),
               std::memory_order_release);
    push(index, home);
    pending_.fetch_sub(1, std::memory_order_relaxed);
  }

  /** @brief Freed slots still waiting for device work (see defer_free()). */
  [[nodiscard]] std::uint64_t pending() const noexcept {
    return pending_.load(std::memory_order_relaxed);
  }

  /** @brief Marks the token as held by a queue: `free` returns QueueOwned until release(). */
  Result<void> retain(MessageToken token) noexcept { return change_retains(token, +1); }

  /** @brief Undoes one retain(); `BadToken` if the token holds none. */
  Result<void> release(MessageToken token) noexcept { return change_retains(token, -1); }

  /** @brief Whether slot @p index holds a published message (for teardown). */
  [[nodiscard]] bool occupied(std::size_t index) const noexcept {
    return slot_word::phase(meta_[index].word.load(std::memory_order_acquire)) ==
           slot_word::Phase::Occupied;
  }

  /** @brief Reusable slots (not in use, not pending); exact whenever no operation is in progress.
   */
  [[nodiscard]] std::size_t available() const noexcept {
    const std::uint64_t taken = in_use() + pending();
    return taken < capacity_ ? capacity_ - static_cast<std::size_t>(taken) : 0;
  }

  /** @brief Occupied slots; exact whenever no operation is in progress. */
  [[nodiscard]] std::uint64_t in_use() const noexcept {
    if constexpr (alone) {
      // Alone the counters are exact: every store is published, every free counted.
      return shard_[0].counts.stores.load() - shard_[0].counts.frees.load();
    } else {
      std::uint64_t stored = 0;
      std::uint64_t freed = 0;
      // Stores first, frees second: frees counted later only lower the result, so
      // under concurrency it can lag the truth but never exceed it.
      for (const auto& s : shard_) stored += s.counts.stores.load(std::memory_order_acquire);
      for (const auto& s : shard_) freed += s.counts.frees.load(std::memory_order_acquire);
      const std::uint64_t used = stored > freed ? stored - freed : 0;
      return used < capacity_ ? used : capacity_;
    }
  }

  /** @brief Raises the high-water mark to the current `in_use()`. */
  void sample_peak() noexcept {
    const std::uint64_t now = in_use();
    std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed,
                                                      std::memory_order_relaxed)) {
    }
  }

  /** @brief Counts a store that failed (whatever the reason). */
  void count_failed_store(std::uint32_t home) noexcept {
    Counters::bump(shard(home).counts.failed_stores);
  }

  /** @brief A snapshot of the counters (summed over shards). */
  [[nodiscard]] ManagerStats stats() const noexcept {
    ManagerStats out;
    for (const auto& s : shard_) s.counts.add_to(out);
    out.in_use = in_use();
    out.pending_frees = pending();
    const std::uint64_t peak = peak_.load(std::memory_order_relaxed);
    out.peak_in_use = peak > out.in_use ? peak : out.in_use;
    return out;
  }

 private:
  // What a fast-path word must match, besides the generation and the Occupied phase.
  static constexpr Word base_mask = slot_word::generation_mask | slot_word::phase_mask;
  /// Header guards: no writer.
  static constexpr Word header_mask = base_mask | slot_word::writer_bit;
  /// Message guards: no writer, not poisoned, no shadow refresh under way.
  static constexpr Word message_mask =
      header_mask | slot_word::poisoned_bit | slot_word::filling_bit;
  /// Write guards and leases: nothing else at all.
  static constexpr Word exclusive_mask =
      message_mask | (slot_word::max_readers << slot_word::readers_shift);
  /// Frees: no guard, no retain (poison does not matter).
  static constexpr Word free_mask = base_mask | slot_word::writer_bit |
                                    (slot_word::max_readers << slot_word::readers_shift) |
                                    (slot_word::max_retains << slot_word::retains_shift);

  static constexpr bool should_wait(Wait wait) noexcept {
    return Sync::can_wait && wait == Wait::Yes;
  }

  /** @brief The error @p token has against word @p w (its index is known in range), if any. */
  [[nodiscard]] static std::optional<MemoryError> validate(MessageToken token, Word w) noexcept {
    if (slot_word::phase(w) != slot_word::Phase::Occupied) return MemoryError::NotAllocated;
    if (slot_word::generation(w) != token.generation()) return MemoryError::StaleToken;
    return std::nullopt;
  }

  /** @brief Why a free of @p token meets word @p w with a refusal, if it does. */
  [[nodiscard]] static std::optional<MemoryError> free_error(MessageToken token, Word w) noexcept {
    if (auto error = validate(token, w)) return error;
    if (slot_word::has(w, slot_word::writer_bit) || slot_word::readers(w) != 0) {
      return MemoryError::BorrowActive;
    }
    if (slot_word::retains(w) != 0) return MemoryError::QueueOwned;
    return std::nullopt;
  }

  /**
   * @brief Replaces @p word's value @p w with @p next: a compare-and-swap when
   * shared (false, with @p w refreshed, if another thread changed it), a store alone.
   */
  template <class AtomicWord>
  static bool exchange(AtomicWord& word, Word& w, Word next) noexcept {
    if constexpr (alone) {
      word.store(next);
      return true;
    } else {
      return word.compare_exchange_weak(w, next, std::memory_order_acquire,
                                        std::memory_order_acquire);
    }
  }

  void count_free(std::uint32_t home) noexcept { Counters::bump(shard(home).counts.frees); }

  /**
   * @brief Applies a releasing @p change to slot @p index's word atomically and
   * wakes sleepers if any announced themselves. Every waiter re-checks and
   * re-announces, so clearing the bit here loses nobody.
   */
  template <class Change>
  void update(std::uint32_t index, Change change) noexcept {
    auto& word = meta_[index].word;
    if constexpr (alone) {
      word.store(change(word.load()));
    } else {
      Word w = word.load(std::memory_order_relaxed);
      while (!word.compare_exchange_weak(w, change(w) & ~slot_word::waiters_bit,
                                         std::memory_order_acq_rel, std::memory_order_relaxed)) {
      }
      if (slot_word::has(w, slot_word::waiters_bit)) word.notify_all();
    }
  }

  /**
   * @brief Announces a sleeper on @p word (seen as @p w), sleeps until it changes,
   * and returns its new value. Only reached with `MultiThreaded`.
   */
  template <class AtomicWord>
  static Word sleep_on(AtomicWord& word, Word w) noexcept {
    const Word announced = w | slot_word::waiters_bit;
    if (w == announced || word.compare_exchange_strong(w, announced, std::memory_order_acquire,
                                                       std::memory_order_acquire)) {
      word.wait(announced, std::memory_order_acquire);
      return word.load(std::memory_order_acquire);
    }
    return w;  // the word changed meanwhile: re-check it
  }

  Result<void> change_retains(MessageToken token, int delta) noexcept {
    if (token.index() >= capacity_) return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    Word w = word.load(std::memory_order_acquire);
    for (;;) {
      if (auto error = validate(token, w)) return *error;
      const std::uint64_t count = slot_word::retains(w);
      if (delta > 0 && count == slot_word::max_retains) return MemoryError::AlreadyBorrowed;
      if (delta < 0 && count == 0) return MemoryError::BadToken;
      const Word next = delta > 0 ? w + slot_word::one_retain : w - slot_word::one_retain;
      if (exchange(word, w, next)) return {};
    }
  }

  Shard<Sync>& shard(std::uint32_t home) noexcept { return shard_[home % shards]; }

  /** @brief Slot @p index's free-list link. */
  auto links() noexcept {
    return [this](std::uint32_t index) -> auto& {
      return meta_[index].next;
    };
  }

  /** @brief Pops from the home shard, then from the others in turn. */
  std::uint32_t pop_any(std::uint32_t home, bool* stole) noexcept {
    for (std::uint32_t i = 0; i < shards; ++i) {
      const std::uint32_t index = shard_[(home + i) % shards].free.pop(links());
      if (index != empty_index) [[likely]] {
        if (stole != nullptr) *stole = i != 0;
        return index;
      }
    }
    return empty_index;
  }

  void push(std::uint32_t index, std::uint32_t home) noexcept {
    shard(home).free.push(index, links());
  }

  Storage<Meta> meta_;
  std::size_t capacity_;
  Shard<Sync> shard_[shards];
  typename Sync::template Atomic<std::uint64_t> peak_{};
  typename Sync::template Atomic<std::uint64_t> pending_{};
};

}  // namespace limen::detail
