/**
 * @file class_core.hpp
 * @brief The storage engine of the pinned, device and shared managers.
 */
#pragma once

#include <limen/detail/arena.hpp>
#include <limen/detail/fixed_array.hpp>
#include <limen/detail/nvtx.hpp>
#include <limen/detail/slot_table.hpp>
#include <limen/device_lease.hpp>
#include <limen/device_view.hpp>
#include <limen/guard.hpp>
#include <limen/message.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>
#include <utility>

namespace limen::detail {

/**
 * @brief Alignment of every slot: a cache line, or more when the message needs it.
 * CUDA pools return 256-byte aligned blocks and pinned/managed allocations are
 * page aligned; arenas over-allocate when a payload asks for more.
 */
template <class P>
inline constexpr std::size_t slot_alignment = alignof(Message<P>) > 64 ? alignof(Message<P>) : 64;

/** @brief Bytes per slot: a whole Message<P>, rounded up so slots never share a line. */
template <class P>
inline constexpr std::size_t slot_stride =
    (sizeof(Message<P>) + slot_alignment<P> - 1) / slot_alignment<P> * slot_alignment<P>;

/**
 * @brief Freed slots whose device work has not finished, oldest first.
 *
 * A ring over preallocated storage (a slot is pending at most once), so
 * deferring a free allocates nothing. Touched only when device work is in
 * flight, so a mutex costs the other paths nothing.
 */
class PendingRing {
 public:
  explicit PendingRing(std::size_t capacity) : slots_(capacity) {}

  void push(std::uint32_t index) {
    std::lock_guard lock(mutex_);
    slots_[(head_ + count_) % slots_.size()] = index;
    ++count_;
  }

  /** @brief Pops oldest slots while @p done says their work finished; calls @p recycle on each. */
  template <class Done, class Recycle>
  void pop_completed(Done done, Recycle recycle) {
    std::lock_guard lock(mutex_);
    while (count_ > 0 && done(slots_[head_])) {
      recycle(slots_[head_]);
      head_ = (head_ + 1) % slots_.size();
      --count_;
    }
  }

  /** @brief Pops @p index if it is still the oldest pending slot; calls @p recycle on it. */
  template <class Recycle>
  void pop_if_oldest(std::uint32_t index, Recycle recycle) {
    std::lock_guard lock(mutex_);
    if (count_ == 0 || slots_[head_] != index) return;  // another thread recycled it
    recycle(index);
    head_ = (head_ + 1) % slots_.size();
    --count_;
  }

  /** @brief The oldest pending slot, if any. */
  [[nodiscard]] bool oldest(std::uint32_t& index) {
    std::lock_guard lock(mutex_);
    if (count_ == 0) return false;
    index = slots_[head_];
    return true;
  }

 private:
  std::mutex mutex_;
  HeapArray<std::uint32_t> slots_;
  std::size_t head_ = 0;
  std::size_t count_ = 0;
};

/**
 * @brief Messages of a trivially copyable P in an arena, addressed by tokens.
 *
 * Headers are kept on the host (`headers_`) for every class, so peek_header
 * never touches pinned, managed or device memory and never waits. Whole
 * messages live in the arena's slots; for device memory the host works on a
 * pinned shadow of each slot, filled by the first reader (one copy for all
 * concurrent readers) and written back when a write guard ends.
 *
 * Device work reaches slots through leases. A lease's end records the slot's
 * event ("in flight"); host access first waits for it, and a free of an
 * in-flight slot is deferred until the event completes (stream-ordered free).
 */
template <class P, class Sync>
class ClassCore {
  using Table = SlotTable<Sync, HeapArray>;
  /// Per slot: 0 when no device work is in flight, else a number that changes with every lease end.
  using Epoch = typename Sync::template Atomic<std::uint32_t>;

 public:
  ClassCore(MemoryClass memory_class, std::unique_ptr<Arena> arena, std::size_t capacity,
            bool wait_for_pending, std::string_view name)
      : table_(capacity),
        headers_(capacity),
        in_flight_(capacity),
        pending_(capacity),
        arena_(std::move(arena)),
        class_(memory_class),
        kind_(memory_class.kind()),
        wait_for_pending_(wait_for_pending),
        nvtx_(name, memory_class) {
    // Tools see the pool (device, pinned or managed) as one heap, each stored message as a region.
    if (capacity > 0) nvtx_.register_heap(arena_->device_base(), capacity * stride);
  }

  ClassCore(const ClassCore&) = delete;
  ClassCore& operator=(const ClassCore&) = delete;

  /** @brief Copies @p message into a free slot (P is trivially copyable: a move is a copy). */
  Result<MessageToken> store(const Message<P>& message, std::uint32_t home, bool sample_peak) {
    auto range = nvtx_.range(nvtx::Op::Store);
    auto token = store_message(message, home, sample_peak);
    if (!token) nvtx_.mark(token.error());
    return token;
  }

  Result<ReadGuard<P>> read(MessageToken token, Wait wait) const {
    auto state = table_.lock_shared(token, wait, SharedAccess::MessageWithShadow);
    if (!state) {
      if (state.error() == MemoryError::Poisoned) nvtx_.mark(state.error());
      return state.error();
    }
    const std::uint32_t index = token.index();
    if (*state == ShadowState::MustFill) {
      auto filled = settle(index);
      if (filled) filled = refresh_host_copy(index);
      table_.finish_fill(index, filled.has_value());
      if (!filled) {
        table_.unlock_shared(index);
        nvtx_.mark(filled.error());
        return filled.error();
      }
    }
    return ReadGuard<P>(host_message(index), self(), index, &release_shared);
  }

  Result<WriteGuard<P>> read_mut(MessageToken token, Wait wait) {
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const std::uint32_t index = token.index();
    auto ready = settle(index);
    if (ready) ready = refresh_host_copy(index);
    if (!ready) {
      table_.unlock_exclusive(index, false);
      nvtx_.mark(ready.error());
      return ready.error();
    }
    return WriteGuard<P>(host_message(index), this, index, &release_exclusive);
  }

  Result<HeaderGuard> peek_header(MessageToken token, Wait wait) const {
    auto locked = table_.lock_shared(token, wait, SharedAccess::Header);
    if (!locked) return locked.error();
    return HeaderGuard(&headers_[token.index()], self(), token.index(), &release_shared);
  }

  /** @brief Lends the slot to work on @p stream (see DeviceLease). */
  Result<DeviceLease<P>> lease(MessageToken token, StreamHandle stream, Wait wait) {
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const std::uint32_t index = token.index();
    Result<void> ready;
    if (in_flight_[index].load(std::memory_order_acquire) != 0) {
      ready = arena_->stream_wait_event(index, stream);  // earlier device work first
    }
    if (ready && kind_ == MemoryKind::Shared) {
      ready = arena_->prefetch_to_device(index * stride, stride, stream);
    }
    if (!ready) {
      table_.unlock_exclusive(index, false);
      return ready.error();
    }
    return DeviceLease<P>(device_payload(index), stream, this, index, &end_lease);
  }

  /**
   * @brief Frees now; a slot device work still uses becomes reusable when that work ends.
   *
   * Whether the free can complete is decided before the slot is hidden, so a
   * failing event query leaves the message visible (and stored) for everyone.
   */
  Result<void> free(MessageToken token, std::uint32_t home) {
    auto range = nvtx_.range(nvtx::Op::Free);
    if (auto refused = table_.check_free(token)) return *refused;
    const std::uint32_t index = token.index();
    const std::uint32_t epoch = in_flight_[index].load(std::memory_order_acquire);
    bool done = true;
    if (epoch != 0) {
      auto polled = arena_->event_done(index);
      if (!polled) {
        nvtx_.mark(polled.error());
        return polled.error();
      }
      done = *polled;
    }
    if (auto begun = table_.begin_free(token); !begun) return begun;
    nvtx_.unregister_region(device_payload(index));
    // A lease that ended between the query and begin_free queued work the query
    // did not see; defer the free (always safe) unless that work was waited for.
    if (const std::uint32_t now = in_flight_[index].load(std::memory_order_acquire); now != epoch) {
      done = now == 0;
    }
    if (!done) {
      table_.defer_free(home);
      pending_.push(index);
      return {};
    }
    in_flight_[index].store(0, std::memory_order_release);
    table_.finish_free(index, home);
    return {};
  }

  Result<void> retain(MessageToken token) { return table_.retain(token); }
  Result<void> release(MessageToken token) { return table_.release(token); }

  /** @brief Reusable slots; pending slots whose work has completed count as reusable. */
  [[nodiscard]] std::size_t available() const noexcept {
    recycle_completed(this_thread_seed());
    return table_.available();
  }
  [[nodiscard]] std::size_t capacity() const noexcept { return table_.capacity(); }
  [[nodiscard]] MemoryClass memory_class() const noexcept { return class_; }
  [[nodiscard]] ManagerStats stats() const noexcept {
    recycle_completed(this_thread_seed());
    return table_.stats();
  }
  [[nodiscard]] const Arena& arena() const noexcept { return *arena_; }

  [[nodiscard]] DeviceSlotView<P> device_view() const noexcept {
    return DeviceSlotView<P>(arena_->device_base() + payload_offset(0), stride,
                             static_cast<std::uint32_t>(table_.capacity()));
  }

 private:
  static constexpr std::size_t stride = slot_stride<P>;

  void* self() const noexcept { return const_cast<ClassCore*>(this); }

  Message<P>* host_message(std::uint32_t index) const noexcept {
    return std::launder(reinterpret_cast<Message<P>*>(arena_->host_base() + index * stride));
  }
  /** @brief Where slot @p index's payload starts, from the start of the arena. */
  std::size_t payload_offset(std::uint32_t index) const noexcept {
    const auto* first = reinterpret_cast<const std::byte*>(&host_message(0)->payload);
    return index * stride + static_cast<std::size_t>(first - arena_->host_base());
  }
  P* device_payload(std::uint32_t index) const noexcept {
    return reinterpret_cast<P*>(arena_->device_base() + payload_offset(index));
  }

  /** @brief store() without the annotation. */
  Result<MessageToken> store_message(const Message<P>& message, std::uint32_t home,
                                     bool sample_peak) {
    if (auto reclaimed = reclaim(home); !reclaimed) {
      table_.count_failed_store(home);
      return reclaimed.error();
    }
    bool stole = false;
    auto token = table_.allocate(home, &stole);
    if (!token) return token;  // counted by the table
    const std::uint32_t index = token->index();
    Message<P>* stored = ::new (static_cast<void*>(host_message(index))) Message<P>(message);
    stored->header.memory_class = class_;
    headers_[index] = stored->header;
    if (kind_ == MemoryKind::Device) {
      if (auto copied = to_device(index, home); !copied) {
        table_.abandon(index, home);
        table_.count_failed_store(home);
        return copied.error();
      }
    }
    nvtx_.register_region(device_payload(index), sizeof(P));
    table_.publish(index, home, sample_peak || stole);
    return token;
  }

  /** @brief Waits for the slot's in-flight device work, if any (the host-side sync). */
  Result<void> settle(std::uint32_t index) const {
    if (in_flight_[index].load(std::memory_order_acquire) == 0) return {};
    auto range = nvtx_.range(nvtx::Op::Sync);
    if (auto waited = arena_->wait_event(index); !waited) return waited;
    table_.count_synchronization(this_thread_seed());
    in_flight_[index].store(0, std::memory_order_release);
    return {};
  }

  /** @brief Makes the host view of slot @p index current: a device copy or a prefetch. */
  Result<void> refresh_host_copy(std::uint32_t index) const {
    const std::uint32_t home = this_thread_seed();
    if (kind_ == MemoryKind::Device) {
      auto range = nvtx_.range(nvtx::Op::CopyToHost);
      if (auto copied = arena_->copy_to_host(payload_offset(index), sizeof(P)); !copied) {
        return copied;
      }
      table_.count_to_host(home, sizeof(P));
      table_.count_synchronization(home);
      host_message(index)->header = headers_[index];
    } else if (kind_ == MemoryKind::Shared) {
      auto range = nvtx_.range(nvtx::Op::Prefetch);
      if (auto fetched = arena_->prefetch_to_host(index * stride, stride); !fetched) return fetched;
      table_.count_synchronization(home);
    }
    return {};
  }

  Result<void> to_device(std::uint32_t index, std::uint32_t home) {
    auto range = nvtx_.range(nvtx::Op::CopyToDevice);
    if (auto copied = arena_->copy_to_device(payload_offset(index), sizeof(P)); !copied) {
      return copied;
    }
    table_.count_to_device(home, sizeof(P));
    table_.count_synchronization(home);
    return {};
  }

  /**
   * @brief Before a store: recycles pending slots whose work finished. When
   * nothing is free but slots are pending and the configuration allows, waits
   * for the oldest first; a successful wait proves it done, so it is recycled
   * whatever later queries say.
   */
  Result<void> reclaim(std::uint32_t home) {
    if (table_.pending() == 0) return {};
    std::uint32_t oldest = 0;
    if (wait_for_pending_ && table_.available() == 0 && pending_.oldest(oldest)) {
      auto range = nvtx_.range(nvtx::Op::Sync);
      if (auto waited = arena_->wait_event(oldest); !waited) return waited;
      table_.count_synchronization(home);
      pending_.pop_if_oldest(oldest, [this, home](std::uint32_t index) { recycle(index, home); });
    }
    recycle_completed(home);
    return {};
  }

  /** @brief Recycles pending slots whose work has completed; never blocks, cheap when none. */
  void recycle_completed(std::uint32_t home) const noexcept {
    if (table_.pending() == 0) return;
    pending_.pop_completed(
        [this](std::uint32_t index) {
          auto done = arena_->event_done(index);
          return done.has_value() && *done;  // a failed query keeps the slot pending
        },
        [this, home](std::uint32_t index) { recycle(index, home); });
  }

  void recycle(std::uint32_t index, std::uint32_t home) const noexcept {
    in_flight_[index].store(0, std::memory_order_release);
    table_.recycle_deferred(index, home);
  }

  static void release_shared(void* owner, std::uint32_t index) noexcept {
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
      if (poison) core.nvtx_.mark(MemoryError::Poisoned);
    }
    core.table_.unlock_exclusive(index, poison);
  }

  /**
   * @brief Ends a lease: the slot's event marks where the lease's work ends.
   * If the event cannot be recorded, waiting for the whole stream is the safe
   * substitute; if even that fails, the slot's contents are unknown: poisoned.
   */
  static void end_lease(void* owner, std::uint32_t index, StreamHandle stream) noexcept {
    auto& core = *static_cast<ClassCore*>(owner);
    auto range = core.nvtx_.range(nvtx::Op::LeaseEnd);
    bool poison = false;
    if (core.arena_->record_event(index, stream)) {
      core.mark_in_flight(index);
    } else if (core.arena_->synchronize(stream)) {
      core.table_.count_synchronization(this_thread_seed());
      core.in_flight_[index].store(0, std::memory_order_release);
    } else {
      poison = true;
      core.nvtx_.mark(MemoryError::Poisoned);
    }
    core.table_.unlock_exclusive(index, poison);
  }

  /** @brief Marks new device work on slot @p index: a fresh, non-zero epoch. */
  void mark_in_flight(std::uint32_t index) noexcept {
    std::uint32_t next = in_flight_[index].load(std::memory_order_relaxed) + 1;
    if (next == 0) next = 1;
    in_flight_[index].store(next, std::memory_order_release);
  }

  mutable Table table_;
  HeapArray<MessageHeader> headers_;
  mutable HeapArray<Epoch> in_flight_;
  mutable PendingRing pending_;
  std::unique_ptr<Arena> arena_;
  MemoryClass class_;
  MemoryKind kind_;
  bool wait_for_pending_;
  nvtx::Annotator nvtx_;
};

}  // namespace limen::detail
