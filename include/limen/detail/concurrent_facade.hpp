// SPDX-License-Identifier: Apache-2.0
/**
 * @file concurrent_facade.hpp
 * @brief The calls only thread-safe managers have: try_read and try_read_mut.
 */
#pragma once

#include <limen/detail/manager_facade.hpp>

namespace limen::detail {

/** @brief ManagerFacade plus the non-waiting guards of managers that otherwise wait. */
template <class Holder, class P>
class ConcurrentFacade : public ManagerFacade<Holder, P> {
 public:
  /** @brief Like read(), but AlreadyBorrowed instead of waiting for a writer. */
  Result<ReadGuard<P>> try_read(MessageToken token) const {
    return this->on_token([&](auto& core) { return core.read(token, Wait::No); });
  }
  /** @brief Like read_mut(), but AlreadyBorrowed instead of waiting for guards. */
  Result<WriteGuard<P>> try_read_mut(MessageToken token) {
    return this->on_token([&](auto& core) { return core.read_mut(token, Wait::No); });
  }

 protected:
  using ManagerFacade<Holder, P>::ManagerFacade;
};

}  // namespace limen::detail
