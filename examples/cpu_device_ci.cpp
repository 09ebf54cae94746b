// SPDX-License-Identifier: Apache-2.0
// An application's own CPU-only test, written the way its GPU code runs: a
// producer stores readings in device memory, a "kernel" doubles each one on a
// stream of the test's own (a host task on the CPU device, reaching device
// memory through host_alias), an event tells the host when it is done, and a
// consumer reads the results through limen, which waits for the lease's work.
// It runs under the deferred schedule, where every piece of stream work runs
// later on the stream's worker: a missing wait would show as a wrong value.
// On a GPU this program says so and exits: launch a real kernel there.
#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main() {
  if (!limen::cpu_device::active()) {
    std::printf("a CUDA device is present: this example is for CPU-only CI\n");
    return EXIT_SUCCESS;
  }
  limen::cpu_device::set_schedule(limen::cpu_device::Schedule::Deferred, /*seed=*/42);
  std::printf("%s\n", limen::cpu_device::describe().c_str());

  limen::ManagerConfig config;
  config.capacity = 16;
  config.name = "ci-example";
  limen::DeviceManager<float> manager(config);
  const limen::StreamHandle stream = limen::cpu_device::create_stream().value();
  const limen::cpu_device::EventHandle done = limen::cpu_device::create_event().value();

  std::vector<limen::MessageToken> tokens;
  for (int i = 0; i < 8; ++i) {
    tokens.push_back(manager.store(limen::Message<float>(static_cast<float>(i))).value());
  }
  {
    std::vector<limen::DeviceLease<float>> leases;  // the slots belong to the stream's work
    for (const auto t : tokens) leases.push_back(manager.lease(t, stream).value());
    for (const auto& lease : leases) {
      float* slot = lease.device_ptr();  // device memory: the host must not touch it
      limen::cpu_device::launch_host_task(stream, [slot] {
        *limen::cpu_device::host_alias(slot) *= 2.0F;  // the "kernel"
      }).value();
    }
    limen::cpu_device::record_event(done, stream).value();
  }  // the leases end: each slot's event is recorded after the kernel's work

  std::printf("kernel done when the leases ended: %s\n",
              limen::cpu_device::query_event(done).value() ? "yes" : "not yet");
  bool ok = true;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const float got = manager.read(tokens[i]).value()->payload;  // waits for the lease's work
    ok = ok && got == 2.0F * static_cast<float>(i);
    manager.free(tokens[i]).value();
  }
  limen::cpu_device::synchronize_event(done).value();
  limen::cpu_device::destroy_event(done).value();
  limen::cpu_device::destroy_stream(stream).value();
  std::printf("%zu readings doubled by the stream's work, read back %s\n", tokens.size(),
              ok ? "right" : "WRONG");
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
