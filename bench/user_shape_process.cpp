// SPDX-License-Identifier: Apache-2.0
// The user-shaped loops' consumer and hand-off (bench/user_shape.hpp), in a
// translation unit of their own so that the loops cannot see into them: the
// compiler must keep the guard alive across process(), and store the handle
// to memory and load it back around hand_off().
#include "user_shape.hpp"

#include <cstring>

namespace limen::bench {
namespace {

template <class P>
std::uint64_t first_plus_last(const Message<P>& message) {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  const auto& bytes = message.payload.bytes;
  std::memcpy(&first, bytes.data(), sizeof first);
  std::memcpy(&last, bytes.data() + bytes.size() - sizeof last, sizeof last);
  return first + last;
}

/// Where publish() puts the pools: somewhere the compiler must assume is read.
void* volatile published = nullptr;

}  // namespace

std::uint64_t process(const Message<Payload<64>>& message) {
  return first_plus_last(message);
}

std::uint64_t process(const Message<Payload<4096>>& message) {
  return first_plus_last(message);
}

void hand_off(void* queue) {
  asm volatile("" : : "r"(queue) : "memory");
}

void publish(void* pool) {
  published = pool;
}

}  // namespace limen::bench
