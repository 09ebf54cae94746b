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
#include <limen/detail/slot_shards.hpp>
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

/** @brief Per-slot state: one word for the state machine, one link for the free list. */
template <class Sync>
struct alignas(Sync::line_align) SlotMeta {
  typename Sync::template Atomic<std::uint64_t> word{};
  typename Sync::template Atomic<std::uint32_t> next{};
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
  using AtomicWord = typename Sync::template Atomic<Word>;
  static constexpr std::uint32_t empty_index = end_of_list;
  /// With one thread nothing else can see a slot between its steps: plain words, no CAS.
  static constexpr bool alone = !Sync::concurrent;

 public:
  using Meta = SlotMeta<Sync>;

  /** @brief The largest capacity a token index can address (the all-ones index is invalid). */
  static constexpr std::size_t max_capacity = empty_index - 1;

  explicit SlotTable(std::size_t capacity) : meta_(capacity), capacity_(capacity) {
    for (std::size_t i = 0; i < capacity; ++i) {
      meta_[i].next.store(i + 1 < capacity ? static_cast<std::uint32_t>(i + 1) : empty_index);
    }
    if (capacity > 0) shards_.reset(0);
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
        shards_(std::move(other.shards_)) {}
  SlotTable& operator=(SlotTable&& other) noexcept requires(alone) {
    meta_ = std::move(other.meta_);
    capacity_ = std::exchange(other.capacity_, 0);
    shards_ = std::move(other.shards_);
    return *this;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

  /**
   * @brief Takes a free slot for a new message; the slot stays invisible until publish().
   * NoFreeSlots is not counted here: the caller counts every failed store once.
   * @param stole set when the home shard was empty and another shard gave the slot.
   */
  Result<MessageToken> allocate(std::uint32_t home, bool* stole = nullptr) noexcept {
    auto* cache = shards_.cache_of(home);
    const std::uint32_t index =
        cache != nullptr ? shards_.pop_cached(*cache, home, stole, links())
                         : pop_shared(home, stole);
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

  /** @brief Alone: allocate() and publish() in one step (a copy that cannot fail); false if full.
   */
  bool allocate_published(std::uint32_t home, MessageToken& token) noexcept requires(alone) {
    const std::uint32_t index = shards_.pop_any(home, nullptr, links());
    if (index == empty_index) [[unlikely]]
      return false;
    auto& word = meta_[index].word;
    const std::uint32_t generation = slot_word::generation(word.load()) + 1;
    word.store(slot_word::make(generation, slot_word::Phase::Occupied));
    shards_.count_store(home);
    shards_.sample_peak(capacity_);
    token = MessageToken{index, generation};
    return true;
  }

  /// A worker handle's home naming a slot cache of up to capacity / 16 slots (at most 32;
  /// all caches at most capacity / 2), or @p home when none can be spared (ShardSet::open_cache).
  [[nodiscard]] std::uint32_t open_cache(std::uint32_t home) noexcept {
    return shards_.open_cache(home, static_cast<std::uint32_t>(capacity_ / 16),
                              static_cast<std::uint32_t>(capacity_ / 2));
  }
  /** @brief The home the calling thread may use (see ShardSet::caller_home). */
  [[nodiscard]] std::uint32_t caller_home(std::uint32_t home) noexcept {
    return shards_.caller_home(home);
  }
  /** @brief Returns the cached slots of the handle homed at @p home and frees its cache. */
  void close_cache(std::uint32_t home) noexcept { shards_.close_cache(home, links()); }

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
    shards_.count_store(home);
    if constexpr (alone) {
      shards_.sample_peak(capacity_);  // one compare
    } else if (sample_peak_now || (token.generation() & 1023U) == 1U) {
      shards_.sample_peak_sharded(capacity_);
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
   * `MessageWithHostView` also elects one reader to refresh the host view of a
   * backend-served slot: it gets `MustFill` and must call finish_fill(); the others
   * wait for it, then get `Ready`.
   */
  Result<HostViewState> lock_shared(MessageToken token, Wait wait, ReadAccess access) noexcept {
    if (token.index() >= capacity_) [[unlikely]]
      return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    Word w = word.load(std::memory_order_acquire);
    if constexpr (alone) {
      return lock_shared_from(word, w, token, wait, access);
    } else {
      // The usual case (whatever the other readers and the retains) in one
      // compare-and-swap; every other case out of line.
      Word next;
      bool fill;
      if (reader_step(w, expected, access, next, fill) && WordOps<Sync>::exchange(word, w, next))
          [[likely]]
        return fill ? HostViewState::MustFill : HostViewState::Ready;
      return lock_shared_contended(word, w, token, wait, access);
    }
  }

  /** @brief Ends the shadow refresh a `MustFill` reader did; @p ok marks the shadow fresh. */
  void finish_fill(std::uint32_t index, bool ok) noexcept {
    WordOps<Sync>::update(meta_[index].word, [ok](Word w) {
      return (w & ~slot_word::filling_bit) | (ok ? slot_word::fresh_bit : 0);
    });
  }

  /**
   * @brief The owner and release of a shared access of host slot @p index: its
   * word and a release guards recognise (slot_word::release_*_reader).
   */
  std::pair<void*, ReleaseFn> reader_release(std::uint32_t index) noexcept {
    if constexpr (alone) return {&meta_[index].word, &slot_word::release_plain_reader};
    return {&meta_[index].word, &slot_word::release_atomic_reader};
  }
  /**
   * @brief The same for an exclusive access that never poisons (host memory):
   * alone, the word and its plain release; shared, @p owner and its own @p
   * shared release (which must wake sleepers).
   */
  std::pair<void*, ReleaseFn> writer_release(std::uint32_t index, void* owner,
                                             ReleaseFn shared) noexcept {
    if constexpr (alone) return {&meta_[index].word, &slot_word::release_plain_writer};
    return {owner, shared};
  }

  /** @brief Ends one shared access; the last reader leaves the shadow stale. */
  void unlock_shared(std::uint32_t index) noexcept {
    WordOps<Sync>::update(meta_[index].word, [](Word old) {
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
    if constexpr (alone) {
      return lock_exclusive_from(word, w, token, wait);
    } else {
      // The usual case (nothing but the retains) in one compare-and-swap.
      if ((w & slot_word::exclusive_mask) == expected &&
          WordOps<Sync>::exchange(word, w, (w | slot_word::writer_bit) & ~slot_word::fresh_bit))
          [[likely]]
        return {};
      return lock_exclusive_contended(word, w, token, wait);
    }
  }

  /** @brief Ends exclusive access; @p poison marks the contents untrustworthy. */
  void unlock_exclusive(std::uint32_t index, bool poison) noexcept {
    WordOps<Sync>::update(meta_[index].word, [poison](Word w) {
      return (w & ~slot_word::writer_bit) | (poison ? slot_word::poisoned_bit : 0);
    });
  }

  /**
   * @brief What begin_free() would refuse @p token with right now, if anything;
   * changes nothing (callers decide whether a free can complete first).
   */
  [[nodiscard]] std::optional<MemoryError> check_free(MessageToken token) const noexcept {
    if (token.index() >= capacity_) return MemoryError::BadToken;
    return slot_word::free_error(token.generation(),
                                 meta_[token.index()].word.load(std::memory_order_acquire));
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
    const Word next = slot_word::make(token.generation(), slot_word::Phase::Reserved);
    Word w;
    if (WordOps<Sync>::take_usual(word, w, expected, next)) [[likely]]
      return {};
    if constexpr (alone) {
      return begin_free_from(word, w, token);
    } else {
      return begin_free_contended(word, w, token);
    }
  }

  /** @brief Puts a slot whose free began back on the free list; counts the free. */
  void finish_free(std::uint32_t index, std::uint32_t home) noexcept {
    auto& word = meta_[index].word;
    word.store(slot_word::with_phase(word.load(std::memory_order_relaxed), slot_word::Phase::Free),
               std::memory_order_release);
    // A handle keeps what it frees, whoever stored it: a consumer's full cache
    // gives half back to its own shard in one exchange, where a producer's
    // refill finds it (one exchange per batch on each side, not one per slot).
    auto* cache = shards_.cache_of(home);
    if (cache != nullptr) {
      shards_.push_cached(*cache, index, home, links());
    } else {
      push_shared(index, home);
    }
    shards_.count_free(home);
  }

  /**
   * @brief Completes a free whose slot device work still uses: the free counts
   * now, the slot stays hidden and unavailable until recycle_deferred().
   */
  void defer_free(std::uint32_t home) noexcept {
    shards_.add_pending();
    shards_.count_free(home);
  }

  /**
   * @brief Completes a free whose slot must never be used again (device work
   * nothing can order may still write it): the free counts, the slot stays
   * hidden for good.
   */
  void keep_freed(std::uint32_t home) noexcept { shards_.count_free(home); }

  /** @brief Makes a deferred slot (its device work done) available again. */
  void recycle_deferred(std::uint32_t index, std::uint32_t home) noexcept {
    auto& word = meta_[index].word;
    word.store(slot_word::with_phase(word.load(std::memory_order_relaxed), slot_word::Phase::Free),
               std::memory_order_release);
    push(index, home);
    shards_.remove_pending();
  }

  /** @brief Freed slots still waiting for device work (see defer_free()). */
  [[nodiscard]] std::uint64_t pending() const noexcept { return shards_.pending(); }

  /** @brief Marks the token as held by a queue: `free` returns QueueOwned until release(). */
  Result<void> retain(MessageToken token) noexcept { return change_retains(token, +1); }

  /** @brief Undoes one retain(); `BadToken` if the token holds none. */
  Result<void> release(MessageToken token) noexcept { return change_retains(token, -1); }

  /** @brief Whether slot @p index holds a published message (for teardown). */
  [[nodiscard]] bool occupied(std::size_t index) const noexcept {
    return slot_word::phase(meta_[index].word.load(std::memory_order_acquire)) ==
           slot_word::Phase::Occupied;
  }

  /** @brief Reusable slots (not in use, not pending); exact when no operation is in progress. */
  [[nodiscard]] std::size_t available() const noexcept {
    const std::uint64_t taken = in_use() + pending();
    return taken < capacity_ ? capacity_ - static_cast<std::size_t>(taken) : 0;
  }

  /** @brief Occupied slots; exact whenever no operation is in progress. */
  [[nodiscard]] std::uint64_t in_use() const noexcept { return shards_.in_use(capacity_); }

  /** @brief Counts a store that failed (whatever the reason). */
  void count_failed_store(std::uint32_t home) noexcept { shards_.count_failed_store(home); }

  /** @brief A snapshot of the counters (summed over shards). */
  [[nodiscard]] ManagerStats stats() const noexcept { return shards_.stats(capacity_); }

 private:
  static constexpr bool should_wait(Wait wait) noexcept {
    return Sync::can_wait && wait == Wait::Yes;
  }

  /**
   * @brief A shared access's usual case: word @p w names the message (@p
   * expected) with no writer and room for a reader (and, for a message, not
   * poisoned and no host-view refresh under way). Then @p next is @p w with one
   * more reader, plus the filling bit when this reader must refresh the host
   * view (@p fill).
   */
  static bool reader_step(Word w, Word expected, ReadAccess access, Word& next,
                          bool& fill) noexcept {
    const Word mask =
        access == ReadAccess::Header ? slot_word::header_mask : slot_word::message_mask;
    // Alone (no waiters bit ever set), a full reader count carries into the
    // waiters bit, which the mask then sees: one compare.
    const Word counted = w + slot_word::one_reader;
    const bool usual = alone ? (counted & (mask | slot_word::waiters_bit)) == expected
                             : (w & (mask | slot_word::waiters_bit)) == expected &&
                                   slot_word::readers(w) != slot_word::max_readers;
    fill = access == ReadAccess::MessageWithHostView && !slot_word::has(w, slot_word::fresh_bit);
    next = counted + (fill ? slot_word::filling_bit : 0);
    return usual;
  }

  /**
   * @brief lock_shared() from word value @p w on: the whole path (alone), or
   * what follows a compare-and-swap that found another value (shared).
   */
  [[gnu::always_inline]] Result<HostViewState> lock_shared_from(AtomicWord& word, Word w,
                                                                MessageToken token, Wait wait,
                                                                ReadAccess access) noexcept {
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    for (;;) {
      Word next;
      bool fill;
      if (reader_step(w, expected, access, next, fill)) [[likely]] {
        if (WordOps<Sync>::exchange(word, w, next))
          return fill ? HostViewState::MustFill : HostViewState::Ready;
        continue;
      }
      if (auto error = slot_word::token_error(token.generation(), w)) return *error;
      if (access != ReadAccess::Header && slot_word::has(w, slot_word::poisoned_bit)) {
        return MemoryError::Poisoned;
      }
      if (slot_word::readers(w) == slot_word::max_readers) return MemoryError::AlreadyBorrowed;
      const bool must_wait =
          slot_word::has(w, slot_word::writer_bit) || slot_word::has(w, slot_word::filling_bit);
      if (!must_wait) {  // only the waiters bit differed: take the reader as usual
        if (WordOps<Sync>::exchange(word, w, next))
          return fill ? HostViewState::MustFill : HostViewState::Ready;
        continue;
      }
      // A writer holds the slot, or a reader is refreshing its shadow.
      if (!should_wait(wait)) return MemoryError::AlreadyBorrowed;
      w = WordOps<Sync>::sleep_on(word, w);
    }
  }
  /// Shared: the rest of lock_shared() out of line, so that the usual path inlines.
  [[gnu::noinline]] Result<HostViewState> lock_shared_contended(AtomicWord& word, Word w,
                                                                MessageToken token, Wait wait,
                                                                ReadAccess access) noexcept {
    return lock_shared_from(word, w, token, wait, access);
  }

  /** @brief lock_exclusive() from word value @p w on (see lock_shared_from()). */
  [[gnu::always_inline]] Result<void> lock_exclusive_from(AtomicWord& word, Word w,
                                                          MessageToken token, Wait wait) noexcept {
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    for (;;) {
      if ((w & slot_word::exclusive_mask) == expected) [[likely]] {
        if (WordOps<Sync>::exchange(word, w, (w | slot_word::writer_bit) & ~slot_word::fresh_bit))
          return {};
        continue;
      }
      if (auto error = slot_word::token_error(token.generation(), w)) return *error;
      if (slot_word::has(w, slot_word::poisoned_bit)) return MemoryError::Poisoned;
      if (!should_wait(wait)) return MemoryError::AlreadyBorrowed;  // a writer or readers
      w = WordOps<Sync>::sleep_on(word, w);
    }
  }
  [[gnu::noinline]] Result<void> lock_exclusive_contended(AtomicWord& word, Word w,
                                                          MessageToken token, Wait wait) noexcept {
    return lock_exclusive_from(word, w, token, wait);
  }

  /** @brief begin_free() from word value @p w on (see lock_shared_from()). */
  [[gnu::always_inline]] Result<void> begin_free_from(AtomicWord& word, Word w,
                                                      MessageToken token) noexcept {
    const Word expected = slot_word::make(token.generation(), slot_word::Phase::Occupied);
    const Word next = slot_word::make(token.generation(), slot_word::Phase::Reserved);
    for (;;) {
      if ((w & slot_word::free_mask) != expected) [[unlikely]] {
        if (auto error = slot_word::free_error(token.generation(), w)) return *error;
      }
      if (WordOps<Sync>::exchange(word, w, next)) return {};
    }
  }
  [[gnu::noinline]] Result<void> begin_free_contended(AtomicWord& word, Word w,
                                                      MessageToken token) noexcept {
    return begin_free_from(word, w, token);
  }

  Result<void> change_retains(MessageToken token, int delta) noexcept {
    if (token.index() >= capacity_) return MemoryError::BadToken;
    auto& word = meta_[token.index()].word;
    Word w = word.load(std::memory_order_acquire);
    for (;;) {
      if (auto error = slot_word::token_error(token.generation(), w)) return *error;
      const std::uint64_t count = slot_word::retains(w);
      if (delta > 0 && count == slot_word::max_retains) return MemoryError::AlreadyBorrowed;
      if (delta < 0 && count == 0) return MemoryError::BadToken;
      const Word next = delta > 0 ? w + slot_word::one_retain : w - slot_word::one_retain;
      if (WordOps<Sync>::exchange(word, w, next)) return {};
    }
  }

  /** @brief Slot @p index's free-list link. */
  auto links() noexcept {
    return [this](std::uint32_t index) -> auto& {
      return meta_[index].next;
    };
  }

  void push(std::uint32_t index, std::uint32_t home) noexcept {
    shards_.push(index, home, links());
  }

  // The shared free lists' compare-and-swap loops: inline alone (the only path),
  // out of line when shared (a handle's cache is the usual path, and a store or a
  // free must stay small enough to inline at -O2).
  std::uint32_t pop_shared(std::uint32_t home, bool* stole) noexcept {
    if constexpr (alone) {
      return shards_.pop_any(home, stole, links());
    } else {
      return pop_out_of_line(home, stole);
    }
  }
  void push_shared(std::uint32_t index, std::uint32_t home) noexcept {
    if constexpr (alone) {
      push(index, home);
    } else {
      push_out_of_line(index, home);
    }
  }
  [[gnu::noinline]] std::uint32_t pop_out_of_line(std::uint32_t home, bool* stole) noexcept {
    return shards_.pop_any(home, stole, links());
  }
  [[gnu::noinline]] void push_out_of_line(std::uint32_t index, std::uint32_t home) noexcept {
    push(index, home);
  }

  Storage<Meta> meta_;
  std::size_t capacity_;
  ShardSet<Sync> shards_;
};

}  // namespace limen::detail
