// SPDX-License-Identifier: Apache-2.0
/**
 * @file host_core.hpp
 * @brief The storage engine of the host managers: a slot table plus host slots.
 */
#pragma once

#include <limen/detail/fixed_array.hpp>
#include <limen/detail/nvtx.hpp>
#include <limen/detail/slot_table.hpp>
#include <limen/guard.hpp>
#include <limen/memory_class.hpp>
#include <limen/message.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace limen::detail {

/**
 * @brief Messages of any movable P in host slots, addressed by tokens.
 *
 * Thread safety follows `Sync`. Guards point at this object, so it never
 * moves: managers own it in place (StaticManager) or on the heap.
 */
template <class P, class Sync, template <class> class Storage>
class HostCore {
  using Table = SlotTable<Sync, Storage>;

 public:
  /**
   * @brief @p capacity slots; throws MemoryErrorException: Unsupported when the
   * capacity or its size in bytes is out of range, OutOfMemory when the host
   * cannot allocate it.
   */
  HostCore(std::size_t capacity, MemoryClass memory_class, std::string_view name)
      : slots_(checked_capacity(capacity)),
        table_(capacity),
        class_(memory_class),
        nvtx_(name, memory_class) {
    if (capacity > 0) nvtx_.register_heap(slots_[0].bytes, capacity * sizeof(slots_[0]));
  }

  HostCore(const HostCore&) = delete;
  HostCore& operator=(const HostCore&) = delete;

  /**
   * @brief Single-threaded cores on the heap move: the slots and their words
   * stay where they are (guards stay valid); @p other is left vacant: no slot,
   * every token BadToken, a store Unsupported.
   */
  HostCore(HostCore&& other) noexcept requires(!Sync::concurrent)
      : slots_(std::move(other.slots_)),
        table_(std::move(other.table_)),
        class_(other.class_),
        nvtx_(std::move(other.nvtx_)),
        vacant_(std::exchange(other.vacant_, true)) {}
  HostCore& operator=(HostCore&& other) noexcept requires(!Sync::concurrent) {
    if (this != &other) {
      destroy_messages();
      std::destroy_at(&nvtx_);
      slots_ = std::move(other.slots_);
      table_ = std::move(other.table_);
      class_ = other.class_;
      std::construct_at(&nvtx_, std::move(other.nvtx_));
      vacant_ = std::exchange(other.vacant_, true);
    }
    return *this;
  }

  /**
   * @brief The core a moved-from manager points at: no slot, so every token is
   * BadToken and a store is Unsupported, with no check on any hot path. It is
   * never written (a store finds no slot before touching anything), so one
   * per type serves every thread.
   */
  static HostCore& vacant() {
    static HostCore core(VacantTag{});
    return core;
  }

  ~HostCore() { destroy_messages(); }

  /**
   * @brief Copies or moves @p message (a Message<P> lvalue or rvalue) into a
   * free slot; a throwing copy or move leaves the core unchanged.
   */
  template <class M>
  Result<MessageToken> store(M&& message, std::uint32_t home, bool sample_peak) {
    // One branch when no NVTX tool listens; the annotated path is out of line so
    // the plain one carries no opaque call (see bench/nvtx_bench.cpp).
    if (nvtx_.active()) [[unlikely]]
      return store_annotated(std::forward<M>(message), home, sample_peak);
    return store_plain(std::forward<M>(message), home, sample_peak);
  }

  /**
   * @brief Copies every message of @p messages into free slots and returns
   * their tokens in order, or stores none: NoFreeSlots when fewer slots are
   * free; a copy that throws takes the others back (and is counted) before
   * the exception propagates. A failed batch counts as one failed store.
   */
  Result<std::vector<MessageToken>> store_batch(
      std::span<const Message<P>> messages,
      std::uint32_t home) requires std::copy_constructible<P> {
    if (vacant_) return MemoryError::Unsupported;
    std::vector<MessageToken> tokens;
    if (messages.empty()) return tokens;
    auto range = nvtx_.range(nvtx::Op::Batch);
    tokens.reserve(messages.size());
    std::size_t built = 0;
    const auto give_back = [&] {
      for (std::size_t i = 0; i < built; ++i) std::destroy_at(slots_[tokens[i].index()].get());
      for (MessageToken t : tokens) table_.abandon(t.index(), home);
      table_.count_failed_store(home);
    };
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto token = table_.allocate(home, nullptr);
      if (!token) {
        give_back();
        nvtx_.mark(MemoryError::NoFreeSlots);
        return MemoryError::NoFreeSlots;
      }
      tokens.push_back(*token);
    }
    try {
      for (; built < messages.size(); ++built) {
        void* slot = slots_[tokens[built].index()].bytes;
        (::new (slot) Message<P>(messages[built]))->header.memory_class = class_;
      }
    } catch (...) {
      give_back();
      throw;
    }
    for (MessageToken t : tokens) {
      table_.publish(t, home, true);
      nvtx_.register_region(slots_[t.index()].bytes, sizeof(Message<P>));
    }
    return tokens;
  }

  Result<ReadGuard<P>> read(MessageToken token, Wait wait) const {
    auto locked = table_.lock_shared(token, wait, ReadAccess::Message);
    if (!locked) return locked.error();
    const auto [owner, release] = table_.reader_release(token.index());
    return ReadGuard<P>(slots_[token.index()].get(), owner, token.index(), release);
  }

  Result<WriteGuard<P>> read_mut(MessageToken token, Wait wait) {
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const auto [owner, release] = table_.writer_release(token.index(), this, &release_exclusive);
    return WriteGuard<P>(slots_[token.index()].get(), owner, token.index(), release);
  }

  Result<HeaderGuard> peek_header(MessageToken token, Wait wait) const {
    auto locked = table_.lock_shared(token, wait, ReadAccess::Header);
    if (!locked) return locked.error();
    const auto [owner, release] = table_.reader_release(token.index());
    return HeaderGuard(&slots_[token.index()].get()->header, owner, token.index(), release);
  }

  /** @brief Destroys the message now; never waits for guards. */
  Result<void> free(MessageToken token, std::uint32_t home) {
    if (nvtx_.active()) [[unlikely]]
      return free_annotated(token, home);
    return free_plain(token, home);
  }

  Result<void> retain(MessageToken token) { return table_.retain(token); }
  Result<void> release(MessageToken token) { return table_.release(token); }

  [[nodiscard]] std::size_t available() const noexcept { return table_.available(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return table_.capacity(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return class_; }
  [[nodiscard]] ManagerStats stats() const noexcept { return table_.stats(); }

  /** @brief A worker handle's home with a slot cache of its own (see SlotTable::open_cache). */
  [[nodiscard]] std::uint32_t open_cache(std::uint32_t home) noexcept {
    return table_.open_cache(home);
  }
  /** @brief The home this thread uses for a handle homed at @p home (see SlotTable). */
  [[nodiscard]] std::uint32_t caller_home(std::uint32_t home) noexcept {
    return table_.caller_home(home);
  }
  /** @brief Gives the handle's cached slots back (see SlotTable::close_cache). */
  void close_cache(std::uint32_t home) noexcept { table_.close_cache(home); }

 private:
  using Slot = RawSlot<Message<P>, Sync::line_align>;

  /// The slots are allocated first (the largest array, so an impossible size fails
  /// before anything else is touched); this checks what they and the table need.
  static std::size_t checked_capacity(std::size_t capacity) {
    if (capacity > Table::max_capacity) {
      throw MemoryErrorException(MemoryError::Unsupported, "capacity exceeds 2^32 - 2 slots");
    }
    if (!checked_product(capacity, sizeof(Slot) + sizeof(typename Table::Meta))) {
      throw MemoryErrorException(MemoryError::Unsupported,
                                 "capacity x slot size overflows the address space");
    }
    return capacity;
  }

  void destroy_messages() noexcept {
    for (std::size_t i = 0; i < table_.capacity(); ++i) {
      if (table_.occupied(i)) std::destroy_at(slots_[i].get());
    }
  }

  struct VacantTag {};
  explicit HostCore(VacantTag)
      : slots_(0),
        table_(0),
        class_(MemoryClass::host()),
        nvtx_("moved-from", class_),
        vacant_(true) {}

  /** @brief The answer to a store that found no slot (counted unless this is vacant()). */
  [[gnu::cold, gnu::noinline]] Result<MessageToken> no_slot(std::uint32_t home) noexcept {
    if (vacant_) return MemoryError::Unsupported;
    table_.count_failed_store(home);
    return MemoryError::NoFreeSlots;
  }

  template <class M>
  [[gnu::always_inline]] Result<MessageToken> store_plain(M&& message, std::uint32_t home,
                                                          bool sample_peak) {
    const MemoryClass memory_class = class_;
    if constexpr (!Sync::concurrent && std::is_nothrow_constructible_v<Message<P>, M&&>) {
      // Alone and unable to fail: the bookkeeping first, in one step, the copy
      // last, so no table field is reloaded after a byte copy the compiler must
      // assume aliases it.
      MessageToken token;
      if (!table_.allocate_published(home, token)) [[unlikely]]
        return no_slot(home);
      void* slot = slots_[token.index()].bytes;
      (::new (slot) Message<P>(std::forward<M>(message)))->header.memory_class = memory_class;
      return token;
    } else {
      bool stole = false;
      auto token = table_.allocate(home, &stole);
      if (!token) [[unlikely]]
        return no_slot(home);
      void* slot = slots_[token->index()].bytes;
      try {
        (::new (slot) Message<P>(std::forward<M>(message)))->header.memory_class = memory_class;
      } catch (...) {
        table_.abandon(token->index(), home);
        throw;
      }
      table_.publish(*token, home, sample_peak || stole);
      return token;
    }
  }

  template <class M>
  [[gnu::noinline, gnu::cold]] Result<MessageToken> store_annotated(M&& message, std::uint32_t home,
                                                                    bool sample_peak) {
    auto range = nvtx_.range(nvtx::Op::Store);
    auto token = store_plain(std::forward<M>(message), home, sample_peak);
    if (token) {
      nvtx_.register_region(slots_[token->index()].bytes, sizeof(Message<P>));
    } else {
      nvtx_.mark(token.error());
    }
    return token;
  }

  [[gnu::always_inline]] Result<void> free_plain(MessageToken token, std::uint32_t home) {
    auto begun = table_.begin_free(token);
    if (!begun) return begun;
    std::destroy_at(slots_[token.index()].get());
    table_.finish_free(token.index(), home);
    return {};
  }

  [[gnu::noinline, gnu::cold]] Result<void> free_annotated(MessageToken token, std::uint32_t home) {
    auto range = nvtx_.range(nvtx::Op::Free);
    auto freed = free_plain(token, home);
    if (freed) nvtx_.unregister_region(slots_[token.index()].bytes);
    return freed;
  }

  [[gnu::always_inline]] static void release_exclusive(void* owner, std::uint32_t index) noexcept {
    static_cast<HostCore*>(owner)->table_.unlock_exclusive(index, false);
  }

  Storage<Slot> slots_;
  // Read guards are taken and released through a const manager: borrow state is mutable.
  mutable Table table_;
  MemoryClass class_;
  nvtx::Annotator nvtx_;
  bool vacant_ = false;
};

}  // namespace limen::detail
