// SPDX-License-Identifier: Apache-2.0
/**
 * @file backend_core.hpp
 * @brief The storage engine of the backend-served managers: pinned, device and managed memory.
 */
#pragma once

#include <limen/detail/backend.hpp>
#include <limen/detail/core_interface.hpp>
#include <limen/detail/fixed_array.hpp>
#include <limen/detail/pending_ring.hpp>
#include <limen/detail/slot_table.hpp>
#include <limen/detail/thread_home.hpp>
#include <limen/device_lease.hpp>
#include <limen/device_view.hpp>
#include <limen/guard.hpp>
#include <limen/message.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace limen::detail {

/**
 * @brief Alignment of every slot: a cache line, or more when the message needs it.
 * CUDA pools return 256-byte aligned blocks and pinned/managed allocations are
 * page aligned; backends over-allocate when a payload asks for more.
 */
template <class P>
inline constexpr std::size_t slot_alignment = alignof(Message<P>) > 64 ? alignof(Message<P>) : 64;

/** @brief Bytes per slot: a whole Message<P>, rounded up so slots never share a line. */
template <class P>
inline constexpr std::size_t slot_stride =
    (sizeof(Message<P>) + slot_alignment<P> - 1) / slot_alignment<P>* slot_alignment<P>;

/**
 * @brief Where the payload starts inside a Message<P>. offsetof is exact for
 * any class without virtual bases (Message has none), but compilers warn when
 * P makes Message<P> not standard-layout: that warning says nothing here.
 */
template <class P>
constexpr std::size_t payload_offset() noexcept {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
#endif
  return offsetof(Message<P>, payload);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}

/** @brief The slot layout of Message<P> for @p capacity slots. */
template <class P>
SlotLayout slot_layout(std::size_t capacity) noexcept {
  return {capacity, slot_stride<P>, slot_alignment<P>, payload_offset<P>(), sizeof(P)};
}

/**
 * @brief Messages of a trivially copyable P in a backend, addressed by tokens.
 *
 * Headers are kept on the host (`headers_`) for every class, so peek_header
 * never touches pinned, managed or device memory and never waits. Whole
 * messages live in the backend's slots; what host access costs per class
 * (nothing, a copy into a shadow, a prefetch) is the backend's business.
 *
 * Device work reaches slots through leases. A lease's end marks the slot's
 * work; host access first waits for it, and a free of a slot with work in
 * flight is deferred until it completes (stream-ordered free).
 */
template <class P, class Sync>
class BackendCore final : public BackendCoreInterface<P> {
  using Table = SlotTable<Sync, HeapArray>;

 public:
  BackendCore(MemoryClass memory_class, std::unique_ptr<Backend> backend, bool wait_for_pending)
      : table_(backend->layout().capacity),
        headers_(backend->layout().capacity),
        lease_streams_(backend->layout().capacity),
        set_aside_(backend->layout().capacity),
        pending_(backend->layout().capacity),
        backend_(std::move(backend)),
        class_(memory_class),
        wait_for_pending_(wait_for_pending) {
    const std::size_t capacity = table_.capacity();
    for (std::size_t i = 0; i < capacity; ++i) set_aside_[i] = false;
    // Tools see the pool (device, pinned or managed) as one heap, each stored message as a region.
    if (capacity > 0)
      backend_->nvtx().register_heap(backend_->device_base(), capacity * slot_stride<P>);
  }

  BackendCore(const BackendCore&) = delete;
  BackendCore& operator=(const BackendCore&) = delete;
  ~BackendCore() override = default;

  [[nodiscard]] const Backend& backend() const noexcept { return *backend_; }

 private:
  // The manager interface (CoreInterface, BackendCoreInterface): what each call does here.
  Result<MessageToken> do_store(Message<P>&& message, std::uint32_t home,
                                bool sample_peak) override {
    return do_store_copy(message, home, sample_peak);  // trivially copyable: a move is a copy
  }

  /** @brief Copies @p message into a free slot (P is trivially copyable: a move is a copy). */
  Result<MessageToken> do_store_copy(const Message<P>& message, std::uint32_t home,
                                     bool sample_peak) override {
    auto range = nvtx().range(nvtx::Op::Store);
    auto token = store_message(message, home, sample_peak);
    if (!token) {
      table_.count_failed_store(home);
      nvtx().mark(token.error());
    }
    return token;
  }

  Result<ReadGuard<P>> do_read(MessageToken token, Wait wait) const override {
    if (backend_->lost()) return fail(MemoryError::DeviceError);
    auto state = table_.lock_shared(token, wait, ReadAccess::MessageWithHostView);
    if (!state) {
      if (state.error() == MemoryError::Poisoned) nvtx().mark(state.error());
      return state.error();
    }
    const std::uint32_t index = token.index();
    if (*state == HostViewState::MustFill) {
      auto prepared = backend_->prepare_host_access(index);
      table_.finish_fill(index, prepared.has_value());
      if (!prepared) {
        table_.unlock_shared(index);
        return fail(prepared.error());
      }
    }
    return ReadGuard<P>(host_message(index), self(), index, &release_shared);
  }

  Result<WriteGuard<P>> do_read_mut(MessageToken token, Wait wait) override {
    if (backend_->lost()) return fail(MemoryError::DeviceError);
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const std::uint32_t index = token.index();
    if (auto prepared = backend_->prepare_host_access(index); !prepared) {
      table_.unlock_exclusive(index, false);
      return fail(prepared.error());
    }
    return WriteGuard<P>(host_message(index), this, index, &release_exclusive);
  }

  Result<HeaderGuard> do_peek_header(MessageToken token, Wait wait) const override {
    auto locked = table_.lock_shared(token, wait, ReadAccess::Header);
    if (!locked) return locked.error();
    return HeaderGuard(&headers_[token.index()], self(), token.index(), &release_shared);
  }

  /** @brief Lends the slot to work on @p stream (see DeviceLease). */
  Result<DeviceLease<P>> do_lease(MessageToken token, StreamHandle stream, Wait wait) override {
    auto locked = table_.lock_exclusive(token, wait);
    if (!locked) return locked.error();
    const std::uint32_t index = token.index();
    if (auto ready = backend_->prepare_device_use(index, stream); !ready) {
      table_.unlock_exclusive(index, false);
      return fail(ready.error());
    }
    lease_streams_[index] = stream;  // read back when the lease ends (reset(stream) changes it)
    auto* payload = reinterpret_cast<P*>(backend_->device_payload(index));
    return DeviceLease<P>(payload, stream, &lease_streams_[index], this, index, &end_lease);
  }

  /**
   * @brief Frees now; a slot device work still uses becomes reusable when that work ends.
   *
   * Whether the free can complete is decided before the slot is hidden, so a
   * failing event query leaves the message visible (and stored) for everyone.
   */
  Result<void> do_free(MessageToken token, std::uint32_t home) override {
    auto range = nvtx().range(nvtx::Op::Free);
    if (auto refused = table_.check_free(token)) return *refused;
    const std::uint32_t index = token.index();
    const std::uint32_t epoch = backend_->work_epoch(index);
    bool done = true;
    if (epoch != 0) {
      auto polled = backend_->work_done(index);
      if (!polled) return fail(polled.error());
      done = *polled;
    }
    if (auto begun = table_.begin_free(token); !begun) return begun;
    nvtx().unregister_region(backend_->device_payload(index));
    if (set_aside_[index]) {  // a graph may write it at any launch: never reused
      table_.keep_freed(home);
      quarantined_.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    // A lease that ended between the query and begin_free queued work the query
    // did not see; defer the free (always safe) unless that work was waited for.
    if (const std::uint32_t now = backend_->work_epoch(index); now != epoch) {
      done = now == 0 || backend_->lost();
    }
    if (!done) {
      table_.defer_free(home);
      pending_.push(index);
      return {};
    }
    backend_->retire_work(index, backend_->work_epoch(index));
    table_.finish_free(index, home);
    return {};
  }

  /** @brief Stores every message of @p messages or none (BackendManager::store_batch). */
  Result<std::vector<MessageToken>> do_store_batch(std::span<const Message<P>> messages,
                                                   const StreamHandle* stream,
                                                   std::uint32_t home) override {
    if (messages.empty()) return std::vector<MessageToken>{};  // nothing queued, nothing made
    auto range = nvtx().range(nvtx::Op::Batch);
    auto stored = store_all(messages, stream != nullptr ? *stream : backend_->stream(), home);
    if (!stored) {
      table_.count_failed_store(home);
      nvtx().mark(stored.error());
    }
    return stored;
  }

  /** @brief The payloads of @p tokens into @p out, on @p stream (BackendManager::gather). */
  Result<void> do_gather(std::span<const MessageToken> tokens, P* out,
                         StreamHandle stream) override {
    return on_slots(tokens, [&](std::span<const std::uint32_t> slots) {
      return backend_->gather(slots, reinterpret_cast<std::byte*>(out), stream);
    });
  }

  /** @brief @p in's payloads into the slots of @p tokens, on @p stream (BackendManager::scatter).
   */
  Result<void> do_scatter(const P* in, std::span<const MessageToken> tokens,
                          StreamHandle stream) override {
    return on_slots(tokens, [&](std::span<const std::uint32_t> slots) {
      return backend_->scatter(reinterpret_cast<const std::byte*>(in), slots, stream);
    });
  }

  Result<void> do_retain(MessageToken token) override { return table_.retain(token); }
  Result<void> do_release(MessageToken token) override { return table_.release(token); }

  /** @brief Reusable slots; pending slots whose work has completed count as reusable. */
  std::size_t do_available() const noexcept override {
    recycle_completed(this_thread_seed());
    const std::size_t free = table_.available();
    const auto set_aside = static_cast<std::size_t>(quarantined_.load(std::memory_order_relaxed));
    return free > set_aside ? free - set_aside : 0;
  }
  std::size_t do_capacity() const noexcept override { return table_.capacity(); }
  ManagerStats do_stats() const noexcept override {
    recycle_completed(this_thread_seed());
    ManagerStats out = table_.stats();
    backend_->add_traffic(out);
    out.quarantined = quarantined_.load(std::memory_order_relaxed);
    return out;
  }
  MemoryClass do_memory_class() const noexcept override { return class_; }
  bool do_emulated() const noexcept override { return backend_->emulated(); }
  std::optional<DeviceErrorInfo> do_last_device_error() const override {
    return backend_->last_error();
  }
  StreamHandle do_stream() const noexcept override { return backend_->stream(); }

  DeviceSlotView<P> do_device_view() const noexcept override {
    return DeviceSlotView<P>(backend_->device_payload(0), slot_stride<P>,
                             static_cast<std::uint32_t>(table_.capacity()));
  }

  void* self() const noexcept { return const_cast<BackendCore*>(this); }
  const nvtx::Annotator& nvtx() const noexcept { return backend_->nvtx(); }

  /** @brief Marks @p error in NVTX and returns it. */
  MemoryError fail(MemoryError error) const noexcept {
    nvtx().mark(error);
    return error;
  }

  Message<P>* host_message(std::uint32_t index) const noexcept {
    return std::launder(reinterpret_cast<Message<P>*>(backend_->host_slot(index)));
  }

  /** @brief store() without the annotation. */
  Result<MessageToken> store_message(const Message<P>& message, std::uint32_t home,
                                     bool sample_peak) {
    if (backend_->lost()) return MemoryError::DeviceError;
    if (auto reclaimed = reclaim(home); !reclaimed) return reclaimed.error();
    bool stole = false;
    auto token = table_.allocate(home, &stole);
    if (!token) return token;  // NoFreeSlots
    const std::uint32_t index = token->index();
    Message<P>* stored = ::new (static_cast<void*>(host_message(index))) Message<P>(message);
    stored->header.memory_class = class_;
    headers_[index] = stored->header;
    if (auto committed = backend_->commit_host_write(index); !committed) {
      table_.abandon(index, home);
      return committed.error();
    }
    nvtx().register_region(backend_->device_payload(index), sizeof(P));
    table_.publish(*token, home, sample_peak || stole);
    return token;
  }

  /** @brief store_batch() without the annotation: all slots first, then one upload. */
  Result<std::vector<MessageToken>> store_all(std::span<const Message<P>> messages,
                                              StreamHandle stream, std::uint32_t home) {
    if (backend_->lost()) return MemoryError::DeviceError;
    if (auto reclaimed = reclaim(home); !reclaimed) return reclaimed.error();
    std::vector<MessageToken> tokens;
    std::vector<std::uint32_t> slots;
    tokens.reserve(messages.size());
    slots.reserve(messages.size());
    const auto give_back = [&] {
      for (std::uint32_t slot : slots) table_.abandon(slot, home);
    };
    for (std::size_t i = 0; i < messages.size(); ++i) {
      auto token = table_.allocate(home, nullptr);
      if (!token) {
        give_back();
        return token.error();  // NoFreeSlots: nothing stored
      }
      tokens.push_back(*token);
      slots.push_back(token->index());
      write_header(token->index(), messages[i].header);
    }
    const auto* first = reinterpret_cast<const std::byte*>(messages.data());
    if (auto uploaded = backend_->upload_batch(slots, first, sizeof(Message<P>), stream);
        !uploaded) {
      if (uploaded.error() != MemoryError::Poisoned) {
        give_back();
        return uploaded.error();
      }
      // Queued, but neither marked nor waited for: the upload may still write
      // these slots at any time. They are never handed out, nor ever reused.
      quarantined_.fetch_add(slots.size(), std::memory_order_relaxed);
      return MemoryError::DeviceError;
    }
    for (MessageToken token : tokens) {
      nvtx().register_region(backend_->device_payload(token.index()), sizeof(P));
      table_.publish(token, home, true);
    }
    return tokens;
  }

  /** @brief Sets slot @p index's header (on the host) without touching its payload. */
  void write_header(std::uint32_t index, MessageHeader header) noexcept {
    header.memory_class = class_;
    // Message<P> is trivially copyable: copying the bytes in makes the header live.
    std::memcpy(static_cast<void*>(backend_->host_slot(index)), &header, sizeof(header));
    headers_[index] = header;
  }

  /**
   * @brief Runs batch @p work on the slots of @p tokens, each held exclusively
   * meanwhile (like a lease): all or nothing, a conflicting guard or a bad
   * token refuses the whole batch before anything is queued.
   */
  template <class Work>
  Result<void> on_slots(std::span<const MessageToken> tokens, Work work) {
    if (tokens.empty()) return {};  // nothing queued, no event recorded
    auto range = nvtx().range(nvtx::Op::Batch);
    if (backend_->lost()) return fail(MemoryError::DeviceError);
    std::vector<std::uint32_t> slots;
    slots.reserve(tokens.size());
    const auto unlock_all = [&] {
      for (std::uint32_t slot : slots) table_.unlock_exclusive(slot, false);
    };
    for (MessageToken token : tokens) {
      if (auto locked = table_.lock_exclusive(token, Wait::No); !locked) {
        unlock_all();
        return fail(locked.error());
      }
      slots.push_back(token.index());
    }
    auto done = work(std::span<const std::uint32_t>(slots));
    // Work queued but neither marked nor waited for may still touch the slots:
    // like a lease that cannot be ordered, it leaves them poisoned.
    const bool unordered = !done && done.error() == MemoryError::Poisoned;
    for (std::uint32_t slot : slots) table_.unlock_exclusive(slot, unordered);
    if (!done) return fail(unordered ? MemoryError::DeviceError : done.error());
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
      if (auto waited = backend_->wait_work(oldest); !waited) return waited;
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
          auto done = backend_->work_done(index);
          return done.has_value() && *done;  // a failed query keeps the slot pending
        },
        [this, home](std::uint32_t index) { recycle(index, home); });
  }

  void recycle(std::uint32_t index, std::uint32_t home) const noexcept {
    backend_->retire_work(index, backend_->work_epoch(index));
    table_.recycle_deferred(index, home);
  }

  static void release_shared(void* owner, std::uint32_t index) noexcept {
    static_cast<BackendCore*>(owner)->table_.unlock_shared(index);
  }

  /** @brief Ends a write guard: the header back to the host table, the write published. */
  static void release_exclusive(void* owner, std::uint32_t index) noexcept {
    auto& core = *static_cast<BackendCore*>(owner);
    core.headers_[index] = core.host_message(index)->header;
    // A write that cannot be published leaves the device copy stale: poison it
    // rather than serve it.
    const bool poison = !core.backend_->commit_host_write(index).has_value();
    if (poison) core.nvtx().mark(MemoryError::Poisoned);
    core.table_.unlock_exclusive(index, poison);
  }

  /**
   * @brief Ends a lease: the backend marks where the lease's work ends. If it
   * cannot order that work at all, the slot's contents are unknown: poisoned.
   */
  static void end_lease(void* owner, std::uint32_t index) noexcept {
    auto& core = *static_cast<BackendCore*>(owner);
    auto range = core.nvtx().range(nvtx::Op::LeaseEnd);
    const StreamHandle stream = core.lease_streams_[index];
    const auto ended = core.backend_->end_device_use(index, stream);
    const bool poison = !ended.has_value();
    // Ended on a capturing stream: a graph holds the slot's kernels (README,
    // "Graph capture"), so once freed it is set aside for good.
    if (!ended && ended.error() == MemoryError::Unsupported) core.set_aside_[index] = true;
    if (poison) core.nvtx().mark(MemoryError::Poisoned);
    core.table_.unlock_exclusive(index, poison);
  }

  mutable Table table_;
  HeapArray<MessageHeader> headers_;
  HeapArray<StreamHandle> lease_streams_;  ///< the stream each slot's live lease ends on
  /// Slots whose lease ended during a capture: never reused once freed.
  HeapArray<bool> set_aside_;
  mutable PendingRing pending_;
  std::atomic<std::uint64_t> quarantined_{0};
  std::unique_ptr<Backend> backend_;
  MemoryClass class_;
  bool wait_for_pending_;
};

}  // namespace limen::detail
