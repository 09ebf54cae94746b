// SPDX-License-Identifier: Apache-2.0
// Compiled by CTest only: DeviceManager with a payload that is not trivially
// copyable must be rejected at compile time with limen's readable message.
// LIMEN_PAYLOAD is std::string for the failing case and int for the control.
#include <limen/device_manager.hpp>

#include <string>

int main() {
  limen::DeviceManager<LIMEN_PAYLOAD> manager(limen::ManagerConfig{});
  return static_cast<int>(manager.capacity() == 0);
}
