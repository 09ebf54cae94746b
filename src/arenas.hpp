// Internal to src/: the two arena implementations and the hooks they share.
#pragma once

#include <limen/detail/arena.hpp>
#include <limen/fault_injection.hpp>

#include <cstdint>

namespace limen::detail {

/** @brief The CPU fallback: every class emulated on host memory. */
ArenaOrError make_emulated_arena(const ArenaSpec& spec);

#if defined(LIMEN_HAVE_CUDA)
/** @brief The real thing, on the device the spec names (known to exist). */
ArenaOrError make_cuda_arena(const ArenaSpec& spec);
#endif

/** @brief Consumes one injected fault of @p kind; true if the call must fail. */
bool take_fault(fault_injection::FaultKind kind) noexcept;

/** @brief The completion epoch a newly recorded emulated event must reach. */
std::uint64_t emulated_event_target() noexcept;
/** @brief Whether an emulated event with @p target has completed. */
bool emulated_event_complete(std::uint64_t target) noexcept;
/** @brief Blocks until an emulated event with @p target has completed. */
void wait_emulated_event(std::uint64_t target) noexcept;

}  // namespace limen::detail
