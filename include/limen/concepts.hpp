// SPDX-License-Identifier: Apache-2.0
/**
 * @file concepts.hpp
 * @brief The manager interface as concepts: HeaderStore, MemoryManager, ScopedManager.
 */
#pragma once

#include <limen/memory_class.hpp>
#include <limen/message.hpp>
#include <limen/result.hpp>
#include <limen/stats.hpp>
#include <limen/token.hpp>

#include <concepts>
#include <cstddef>

namespace limen {

/** @brief Gives read-only header access by token (what queues and edges need). */
template <class M>
concept HeaderStore = requires(const M& m, MessageToken t) {
  typename M::HeaderGuard;
  { m.peek_header(t) } -> std::same_as<Result<typename M::HeaderGuard>>;
  { *m.peek_header(t).value() } -> std::convertible_to<const MessageHeader&>;
};

/** @brief Stores `Message<P>` values in slots and resolves tokens back to them. */
template <class M, class P>
concept MemoryManager = HeaderStore<M> &&
    requires(M& m, const M& cm, Message<P> msg, MessageToken t) {
  typename M::ReadGuard;
  typename M::WriteGuard;
  { m.store(std::move(msg)) } -> std::same_as<Result<MessageToken>>;
  { cm.read(t) } -> std::same_as<Result<typename M::ReadGuard>>;
  { *cm.read(t).value() } -> std::convertible_to<const Message<P>&>;
  { m.read_mut(t) } -> std::same_as<Result<typename M::WriteGuard>>;
  { *m.read_mut(t).value() } -> std::same_as<Message<P>&>;
  { m.free(t) } -> std::same_as<Result<void>>;
  { m.retain(t) } -> std::same_as<Result<void>>;
  { m.release(t) } -> std::same_as<Result<void>>;
  { cm.available() } -> std::same_as<std::size_t>;
  { cm.capacity() } -> std::same_as<std::size_t>;
  { cm.memory_class() } -> std::same_as<MemoryClass>;
  { cm.stats() } -> std::same_as<ManagerStats>;
};

/** @brief A thread-safe manager that hands each worker a handle sharing its storage. */
template <class M, class P>
concept ScopedManager = MemoryManager<M, P> && requires(const M& cm) {
  {cm.scoped_handle()};
  requires MemoryManager<decltype(cm.scoped_handle()), P>;
};

}  // namespace limen
