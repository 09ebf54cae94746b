/**
 * @file class_core.hpp
 * @brief The storage engine of the pinned, device and shared managers.
 */
#pragma once

#include <limen/detail/arena.hpp>
#include <limen/detail/fixed_array.hpp>
#include <limen/detail/slot_table.hpp>
#include <limen/guard.hpp>
#include <limen/message.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

namespace limen::detail {

/** @brief Bytes per slot: a whole Message<P>, rounded up to 64 so slots never share a line. */
template <class P>
inline constexpr std::size_t slot_stride = (sizeof(Message<P>) + 63) / 64 * 64;

/**
 * @brief Messages of a trivially copyable P in an arena, addressed by tokens.
 *
 * Headers are kept on the host (`headers_`) for every class, so peek_header
 * never touches pinned, managed or device memory. Whole messages live in the
 * arena's slots; for device memory the host works on a pinned shadow of each
 * slot, filled by the first reader (one copy for all concurrent readers) and
 * written back when a write guard ends.
 */
template <class P, class Sync>
class ClassCore {
  using Table = SlotTable<Sync, HeapArray>;

 public:
  ClassCore(MemoryClass memory_class, std::unique_ptr<Arena> arena, std::size_t capacity)
      : table_(capacity),
        headers_(capacity),
        arena_(std::move(arena)),
        class_(memory_class),
        kind_(memory_class.kind()) {}

  ClassCore(const ClassCore&) = delete;
  ClassCore& operator=(const ClassCore&) = delete;

  Result<MessageToken> store(Message<P>&& message, std::uint32_t home, bool sample_peak) {
    bool stole = false;
    auto token = table_.allocate(home, &stole);
    if (!token) return token;
    const std::uint32_t index = token->index();
    message.header.memory_class = class_;
    headers_[index] = message.header;
    ::new (static_cast<void*>(host_message(index))) Message<P>(message);
    if (kind_ == MemoryKind::Device) {
      if (auto copied = to_device(index, home); !copied) {
        table_.abandon(index, home);
        return copied.error();
      }
    }
    table_.publish(index, home, sample_peak || stole);
    return token;
  }

  Result<ReadGuard<P>> read(MessageToken token, Wait wait) const {
    auto state = table_.lock_shared(token, wait, SharedAccess::MessageWithShadow);
    if (!state) return state.error();
    const std::uint32_t index = token.index();
    if (*state == ShadowState::MustFill) {
      auto filled = refresh_host_copy(index);
      table_.finish_fill(index, filled.has_value());
      if (!filled) {
        table_.unlock_shared(index);
        return filled.error();
      }
    }
    return ReadGuard<P>(host_message(index), self(), index, &release_shared);
  }

  Result<WriteGuard<P>> read_mut(MessageToken token, Wait wait) {
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const std::uint32_t index = token.index();
    if (auto filled = refresh_host_copy(index); !filled) {
      table_.unlock_exclusive(index, false);
      return filled.error();
    }
    return WriteGuard<P>(host_message(index), this, index, &release_exclusive);
  }

  Result<HeaderGuard> peek_header(MessageToken token, Wait wait) const {
    auto locked = table_.lock_shared(token, wait, SharedAccess::Header);
    if (!locked) return locked.error();
    return HeaderGuard(&headers_[token.index()], self(), token.index(), &release_header);
  }

  Result<void> free(MessageToken token, std::uint32_t home) {
    auto begun = table_.begin_free(token);
    if (!begun) return begun;
    table_.finish_free(token.index(), home);
    return {};
  }

  Result<void> retain(MessageToken token) { return table_.retain(token); }
  Result<void> release(MessageToken token) { return table_.release(token); }

  [[nodiscard]] std::size_t available() const noexcept { return table_.available(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return table_.capacity(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return class_; }
  [[nodiscard]] ManagerStats stats() const noexcept { return table_.stats(); }
  [[nodiscard]] const Arena& arena() const noexcept { return *arena_; }

 private:
  static constexpr std::size_t stride = slot_stride<P>;

  void* self() const noexcept { return const_cast<ClassCore*>(this); }

  Message<P>* host_message(std::uint32_t index) const noexcept {
    return std::launder(reinterpret_cast<Message<P>*>(arena_->host_base() + index * stride));
  }
  std::size_t payload_offset(std::uint32_t index) const noexcept {
    const Message<P>* m = host_message(index);
    return index * stride + static_cast<std::size_t>(reinterpret_cast<const std::byte*>(&m->payload) -
                                                     reinterpret_cast<const std::byte*>(m));
  }

  /** @brief Makes the host view of slot @p index current: a device copy or a prefetch. */
  Result<void> refresh_host_copy(std::uint32_t index) const {
    const std::uint32_t home = this_thread_seed();
    if (kind_ == MemoryKind::Device) {
      if (auto copied = arena_->copy_to_host(payload_offset(index), sizeof(P)); !copied) {
        return copied;
      }
      table_.count_to_host(home, sizeof(P));
      table_.count_synchronization(home);
      host_message(index)->header = headers_[index];
    } else if (kind_ == MemoryKind::Shared) {
      if (auto fetched = arena_->prefetch_to_host(index * stride, stride); !fetched) return fetched;
      table_.count_synchronization(home);
    }
    return {};
  }

  Result<void> to_device(std::uint32_t index, std::uint32_t home) {
    if (auto copied = arena_->copy_to_device(payload_offset(index), sizeof(P)); !copied) {
      return copied;
    }
    table_.count_to_device(home, sizeof(P));
    table_.count_synchronization(home);
    return {};
  }

  static void release_shared(void* owner, std::uint32_t index) noexcept {
    static_cast<ClassCore*>(owner)->table_.unlock_shared(index);
  }
  static void release_header(void* owner, std::uint32_t index) noexcept {
    static_cast<ClassCore*>(owner)->table_.unlock_shared(index);
  }

  /** @brief Ends a write guard: headers back to the host table, payload back to the device. */
  static void release_exclusive(void* owner, std::uint32_t index) noexcept {
    auto& core = *static_cast<ClassCore*>(owner);
    core.headers_[index] = core.host_message(index)->header;
    bool poison = false;
    if (core.kind_ == MemoryKind::Device) {
      // A failed write-back leaves the device copy stale: poison it rather than serve it.
      poison = !core.to_device(index, this_thread_seed()).has_value();
    }
    core.table_.unlock_exclusive(index, poison);
  }

  mutable Table table_;
  HeapArray<MessageHeader> headers_;
  std::unique_ptr<Arena> arena_;
  MemoryClass class_;
  MemoryKind kind_;
};

}  // namespace limen::detail
