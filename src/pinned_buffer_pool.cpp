// SPDX-License-Identifier: Apache-2.0
// PinnedBufferPool (limen/pinned_buffer_pool.hpp): power-of-two size classes
// carved from chunks, a chunk per buffer above the chunk size, stream-ordered
// returns through recorded events, a byte limit, trim, and a pmr view.
#include "backend/pool_memory.hpp"

#include <limen/detail/nvtx.hpp>
#include <limen/memory_class.hpp>
#include <limen/pinned_buffer_pool.hpp>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace limen::detail {

/** @brief The pool's state: everything under one lock, driver calls only to grow. */
class PinnedPoolImpl {
 public:
  static constexpr std::size_t kPage = 4096;
  /// The largest chunk_bytes (its power of two must fit a size_t).
  static constexpr std::size_t kMaxChunk = std::size_t{1} << (sizeof(std::size_t) * 8 - 1);
  /// The largest buffer: it must round up to a whole page.
  static constexpr std::size_t kMaxBuffer = ~std::size_t{0} - (kPage - 1);

  PinnedPoolImpl(const PoolConfig& config, std::unique_ptr<PoolMemory> memory)
      : chunk_bytes_(std::bit_ceil(std::max<std::size_t>(config.chunk_bytes, kPage))),
        max_bytes_(config.max_bytes),
        memory_(std::move(memory)),
        nvtx_(config.name, MemoryClass::pinned_host()),
        resource_(*this),
        free_blocks_(class_count()) {}

  /// Work still using released buffers finishes before any chunk goes.
  ~PinnedPoolImpl() {
    for (const Pending& p : pending_) memory_->wait(p.event);
    for (Chunk& c : chunks_) {
      if (c.host == nullptr) continue;
      nvtx_.close_heap(c.heap);
      memory_->deallocate(c.host);
    }
  }

  PinnedPoolImpl(const PinnedPoolImpl&) = delete;
  PinnedPoolImpl& operator=(const PinnedPoolImpl&) = delete;

  Result<PinnedBlock> allocate(std::size_t bytes) {
    if (bytes > kMaxBuffer) return MemoryError::Unsupported;  // no page count can hold it
    std::lock_guard lock(mutex_);
    const std::uint32_t cls = class_of(bytes);
    auto block = cls == kLarge ? take_large(round_up(bytes, kPage)) : take_small(cls);
    if (!block) return block;
    Chunk& c = chunks_[block->chunk];
    ++c.live;
    stats_.bytes_in_use += block_bytes(*block);
    stats_.peak_bytes_in_use = std::max(stats_.peak_bytes_in_use, stats_.bytes_in_use);
    nvtx_.register_region_in(c.heap, block->host, block_bytes(*block));
    return block;
  }

  /**
   * @brief Returns @p block now, or (with a stream) once the work queued there
   * completes. A release on a capturing stream, or one whose work can be
   * neither marked nor waited for, quarantines the block (see the header).
   * Driver waits happen outside the pool's lock.
   */
  void release(const PinnedBlock& block, const StreamHandle* stream) noexcept {
    try {
      if (stream == nullptr) {
        std::lock_guard lock(mutex_);
        return give_back(block);
      }
      const auto capturing = memory_->capturing(*stream);
      if (capturing && !*capturing) {
        std::lock_guard lock(mutex_);
        if (auto event = memory_->record(*stream)) {
          pending_.push_back({block, *event});
          return;
        }
      }
      // Captured work runs when the graph is launched, whenever that is: the
      // block stays out of use for the pool's lifetime. Otherwise waiting for
      // the whole stream is the safe substitute for the event; if even that
      // fails, the copy's state is unknown until trim() syncs the device.
      const bool captured = capturing && *capturing;
      if (!captured && (memory_->synchronize(*stream) || memory_->health().lost())) {
        std::lock_guard lock(mutex_);
        return give_back(block);
      }
      std::lock_guard lock(mutex_);
      quarantine(block, captured);
    } catch (...) {  // out of memory tracking the block: it is simply never reused
    }
  }

  std::size_t trim() {
    reclaim_quarantine();
    std::lock_guard lock(mutex_);
    return trim_locked();
  }

  PoolStats stats() {
    std::lock_guard lock(mutex_);
    collect_completed();
    PoolStats out = stats_;
    out.pending_releases = pending_.size();
    return out;
  }

  [[nodiscard]] bool emulated() const noexcept { return memory_->emulated(); }
  [[nodiscard]] std::optional<DeviceErrorInfo> last_error() const {
    return memory_->health().last_error();
  }
  std::pmr::memory_resource* resource() noexcept { return &resource_; }

  /// For the pmr view: a block aligned to @p alignment, or std::bad_alloc.
  void* allocate_raw(std::size_t bytes, std::size_t alignment) {
    if (alignment > kPage) throw std::bad_alloc();
    auto block = allocate(std::max(bytes, alignment));
    if (!block) throw std::bad_alloc();
    return block->host;
  }

  /// For the pmr view: returns the block at @p p at once.
  void deallocate_raw(void* p) noexcept {
    try {
      std::lock_guard lock(mutex_);
      auto it = by_address_.upper_bound(static_cast<std::byte*>(p));
      if (it == by_address_.begin()) return;
      --it;
      const Chunk& c = chunks_[it->second];
      auto* host = static_cast<std::byte*>(p);
      give_back({host, c.device + (host - c.host), it->second, c.size_class});
    } catch (...) {  // a foreign pointer or out of memory: nothing to give back
    }
  }

 private:
  static constexpr std::uint32_t kMinShift = 6;  // 64-byte buffers at the smallest
  static constexpr std::uint32_t kLarge = 0xFFFF;

  struct Chunk {
    std::byte* host = nullptr;  ///< null: this entry is free
    std::byte* device = nullptr;
    std::size_t bytes = 0;
    std::uint32_t size_class = kLarge;
    std::uint32_t live = 0;  ///< buffers out (or pending) from this chunk
    void* heap = nullptr;    ///< its NVTX heap
  };
  struct Pending {
    PinnedBlock block;
    std::uint32_t event;
  };

  static std::size_t round_up(std::size_t bytes, std::size_t to) noexcept {
    return bytes == 0 ? to : (bytes + to - 1) / to * to;
  }
  [[nodiscard]] std::uint32_t class_count() const noexcept {
    return static_cast<std::uint32_t>(std::bit_width(chunk_bytes_)) - kMinShift;
  }
  /// The size class of @p bytes: its power of two above 64 bytes, or kLarge above a chunk.
  [[nodiscard]] std::uint32_t class_of(std::size_t bytes) const noexcept {
    if (bytes > chunk_bytes_) return kLarge;
    const auto shift =
        static_cast<std::uint32_t>(std::bit_width(std::max<std::size_t>(bytes, 1) - 1));
    return std::max(shift, kMinShift) - kMinShift;
  }
  [[nodiscard]] std::size_t block_bytes(const PinnedBlock& b) const noexcept {
    return b.size_class == kLarge ? chunks_[b.chunk].bytes
                                  : std::size_t{1} << (b.size_class + kMinShift);
  }

  Result<PinnedBlock> take_small(std::uint32_t cls) {
    auto& free = free_blocks_[cls];
    if (free.empty()) collect_completed();
    if (free.empty()) {
      if (auto grown = add_chunk(chunk_bytes_, cls); !grown) return grown.error();
      ++stats_.misses;
    } else {
      ++stats_.hits;
    }
    const PinnedBlock block = free.back();
    free.pop_back();
    return block;
  }

  Result<PinnedBlock> take_large(std::size_t bytes) {
    auto fit = [&] {
      auto it = large_free_.lower_bound(bytes);
      return it != large_free_.end() && it->first <= 2 * bytes ? it : large_free_.end();
    };
    auto it = fit();
    if (it == large_free_.end()) {
      collect_completed();
      it = fit();
    }
    if (it == large_free_.end()) {
      auto grown = add_chunk(bytes, kLarge);
      if (!grown) return grown.error();
      ++stats_.misses;
      return chunk_block(*grown);
    }
    ++stats_.hits;
    const std::uint32_t id = it->second;
    large_free_.erase(it);
    return chunk_block(id);
  }

  PinnedBlock chunk_block(std::uint32_t id) const noexcept {
    const Chunk& c = chunks_[id];
    return {c.host, c.device, id, kLarge};
  }

  /// A new chunk of @p bytes for class @p cls (carved into its free list): its id.
  Result<std::uint32_t> add_chunk(std::size_t bytes, std::uint32_t cls) {
    if (over_limit(bytes)) {
      trim_locked();  // unused chunks of other classes make room
      if (over_limit(bytes)) return MemoryError::NoFreeSlots;
    }
    auto range = nvtx_.range(nvtx::Op::ChunkAlloc);
    auto memory = memory_->allocate(bytes);
    if (!memory) {
      nvtx_.mark(memory.error());
      return memory.error();
    }
    const std::uint32_t id = chunk_slot();
    chunks_[id] = {
        memory->host, memory->device, bytes, cls, 0, nvtx_.open_heap(memory->host, bytes)};
    by_address_[memory->host] = id;
    stats_.bytes_reserved += bytes;
    ++stats_.chunks;
    if (cls != kLarge) carve(id);
    return id;
  }

  /// Whether a chunk of @p bytes more would pass max_bytes (never overflowing).
  [[nodiscard]] bool over_limit(std::size_t bytes) const noexcept {
    return max_bytes_ != 0 &&
           (bytes > max_bytes_ || stats_.bytes_reserved > max_bytes_ - bytes);
  }

  std::uint32_t chunk_slot() {
    if (!free_chunk_ids_.empty()) {
      const std::uint32_t id = free_chunk_ids_.back();
      free_chunk_ids_.pop_back();
      return id;
    }
    chunks_.emplace_back();
    return static_cast<std::uint32_t>(chunks_.size() - 1);
  }

  /// Splits chunk @p id into blocks of its class, lowest address handed out first.
  void carve(std::uint32_t id) {
    const Chunk& c = chunks_[id];
    const std::size_t size = std::size_t{1} << (c.size_class + kMinShift);
    auto& free = free_blocks_[c.size_class];
    for (std::size_t offset = c.bytes; offset >= size; offset -= size) {
      free.push_back({c.host + offset - size, c.device + offset - size, id, c.size_class});
    }
  }

  void give_back(const PinnedBlock& block) {
    Chunk& c = chunks_[block.chunk];
    --c.live;
    stats_.bytes_in_use -= block_bytes(block);
    nvtx_.unregister_region_in(c.heap, block.host);
    if (block.size_class == kLarge) {
      large_free_.emplace(c.bytes, block.chunk);
    } else {
      free_blocks_[block.size_class].push_back(block);
    }
  }

  /// Returns pending blocks whose event completed; never blocks.
  void collect_completed() {
    std::erase_if(pending_, [this](const Pending& p) {
      auto done = memory_->done(p.event);
      if (!done || !*done) return false;  // a failed query keeps the block pending
      memory_->recycle(p.event);
      give_back(p.block);
      return true;
    });
  }

  /// Keeps @p block out of use (still live in its chunk, counted in quarantined_bytes).
  void quarantine(const PinnedBlock& block, bool captured) {
    (captured ? captured_ : unordered_).push_back(block);
    stats_.quarantined_bytes += block_bytes(block);
  }

  /// Blocks whose release could not be ordered come back once the whole device
  /// has been synchronized (all work that might use them has then finished).
  void reclaim_quarantine() {
    std::vector<PinnedBlock> waiting;
    {
      std::lock_guard lock(mutex_);
      waiting.swap(unordered_);
    }
    if (waiting.empty()) return;
    const bool synced = memory_->synchronize_device().has_value() || memory_->health().lost();
    std::lock_guard lock(mutex_);
    for (const PinnedBlock& b : waiting) {
      if (synced) {
        stats_.quarantined_bytes -= block_bytes(b);
        give_back(b);
      } else {
        unordered_.push_back(b);
      }
    }
  }

  std::size_t trim_locked() {
    collect_completed();
    std::size_t freed = 0;
    for (std::uint32_t id = 0; id < chunks_.size(); ++id) {
      Chunk& c = chunks_[id];
      if (c.host == nullptr || c.live != 0) continue;
      if (c.size_class == kLarge) {
        std::erase_if(large_free_, [id](const auto& entry) { return entry.second == id; });
      } else {
        std::erase_if(free_blocks_[c.size_class],
                      [id](const PinnedBlock& b) { return b.chunk == id; });
      }
      by_address_.erase(c.host);
      nvtx_.close_heap(c.heap);
      memory_->deallocate(c.host);
      freed += c.bytes;
      stats_.bytes_reserved -= c.bytes;
      --stats_.chunks;
      c = Chunk{};
      free_chunk_ids_.push_back(id);
    }
    return freed;
  }

  std::size_t chunk_bytes_;
  std::size_t max_bytes_;
  std::unique_ptr<PoolMemory> memory_;
  nvtx::Annotator nvtx_;
  PinnedMemoryResource resource_;
  std::mutex mutex_;
  std::vector<Chunk> chunks_;
  std::vector<std::uint32_t> free_chunk_ids_;
  std::vector<std::vector<PinnedBlock>> free_blocks_;     ///< per size class
  std::multimap<std::size_t, std::uint32_t> large_free_;  ///< chunk bytes -> chunk id
  std::map<std::byte*, std::uint32_t> by_address_;        ///< chunk start -> chunk id
  std::vector<Pending> pending_;
  std::vector<PinnedBlock> unordered_;  ///< quarantined until trim() syncs the device
  std::vector<PinnedBlock> captured_;   ///< quarantined for the pool's lifetime
  PoolStats stats_;
};

}  // namespace limen::detail

namespace limen {

void PinnedBuffer::reset() noexcept {
  if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(block_, nullptr);
}

void PinnedBuffer::reset(StreamHandle stream) noexcept {
  if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(block_, &stream);
}

PinnedBufferPool::PinnedBufferPool(PoolConfig config) {
  if (config.chunk_bytes > detail::PinnedPoolImpl::kMaxChunk) {
    throw MemoryErrorException(MemoryError::Unsupported,
                               "PoolConfig::chunk_bytes " + std::to_string(config.chunk_bytes) +
                                   " is above 2^63");
  }
  auto made = detail::make_pool_memory(config);
  if (!made.memory) throw MemoryErrorException(made.error, made.why);
  try {
    impl_ = std::make_unique<detail::PinnedPoolImpl>(config, std::move(made.memory));
  } catch (const std::bad_alloc&) {
    throw MemoryErrorException(MemoryError::OutOfMemory, "the pool's host bookkeeping");
  }
}

Result<PinnedBufferPool> PinnedBufferPool::create(PoolConfig config) {
  try {
    return PinnedBufferPool(std::move(config));
  } catch (const MemoryErrorException& e) {
    return e.error();
  }
}

PinnedBufferPool::PinnedBufferPool(PinnedBufferPool&& other) noexcept = default;
PinnedBufferPool& PinnedBufferPool::operator=(PinnedBufferPool&& other) noexcept = default;
PinnedBufferPool::~PinnedBufferPool() = default;

Result<PinnedBuffer> PinnedBufferPool::allocate(std::size_t bytes) {
  if (!impl_) return MemoryError::Unsupported;
  auto block = impl_->allocate(bytes);
  if (!block) return block.error();
  return PinnedBuffer(impl_.get(), *block, bytes);
}

void PinnedBufferPool::release(PinnedBuffer&& buffer, StreamHandle stream) noexcept {
  buffer.reset(stream);
}

std::size_t PinnedBufferPool::trim() {
  return impl_ ? impl_->trim() : 0;
}

PoolStats PinnedBufferPool::stats() const {
  return impl_ ? impl_->stats() : PoolStats{};
}

bool PinnedBufferPool::emulated() const noexcept {
  return impl_ && impl_->emulated();
}

std::optional<DeviceErrorInfo> PinnedBufferPool::last_device_error() const {
  return impl_ ? impl_->last_error() : std::nullopt;
}

std::pmr::memory_resource* PinnedBufferPool::resource() noexcept {
  return impl_ ? impl_->resource() : std::pmr::null_memory_resource();
}

void* PinnedMemoryResource::do_allocate(std::size_t bytes, std::size_t alignment) {
  return pool_->allocate_raw(bytes, alignment);
}

void PinnedMemoryResource::do_deallocate(void* p, std::size_t, std::size_t) {
  pool_->deallocate_raw(p);
}

}  // namespace limen
