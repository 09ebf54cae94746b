// SPDX-License-Identifier: Apache-2.0
// A kernel consuming leased slots: messages stored in device memory, each
// lent to work on one stream with lease(), a kernel scaling them through the
// manager's device view, and the host reading the results without
// synchronizing by hand (each read waits for its slot's event). Without a GPU
// the same transform runs as a host task on the CPU device's stream.
#include "demo_kernels.hpp"

#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main() {
  using limen::demo::Reading;
  limen::ManagerConfig config;
  config.capacity = 8;
  config.name = "lease-example";
  limen::DeviceManager<Reading> manager(config);

  std::vector<limen::MessageToken> tokens;
  limen::demo::TokenBatch batch;
  for (int i = 1; i <= 4; ++i) {
    const float v = static_cast<float>(i);
    tokens.push_back(manager.store(limen::Message<Reading>(Reading{{v, v, v, v}})).value());
    batch.index[batch.count++] = tokens.back().index();
  }

  const char* where = limen::demo::where_kernels_run();
  {
    std::vector<limen::DeviceLease<Reading>> leases;  // the slots belong to the stream's work
    for (const auto t : tokens) leases.push_back(manager.lease(t).value());
    if (limen::demo::scale(manager.device_view(), batch, 3.0F, manager.stream()) != 0) {
      return EXIT_FAILURE;
    }
  }  // leases end: each slot's event is recorded on the stream

  bool ok = true;
  std::printf("scaled x3 on %s:", where);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float got = manager.read(tokens[i]).value()->payload.values[0];  // waits for the kernel
    std::printf(" %.0f", static_cast<double>(got));
    ok = ok && got == 3.0F * static_cast<float>(i + 1);
    manager.free(tokens[i]).value();
  }
  std::printf("\n");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
