// SPDX-License-Identifier: Apache-2.0
// limen-info: what this machine gives limen. Prints runtime_info() (CUDA
// compiled in, versions, devices, why the CPU device is in use), whether
// NVTX annotations are compiled in and a tool is attached, and a short
// store/read/free smoke test per memory class with its stats.
//
//   limen-info          human-readable
//   limen-info --json   one JSON object, for machines
#include <limen/limen.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Smoke {
  std::string memory_class;
  std::string backend;  // "host", "gpu" or "cpu-device"
  bool ok = false;
  std::string error;
  limen::ManagerStats stats;
};

struct Sample {
  std::uint64_t values[8];
};

/// Stores, reads back, changes, frees and checks 16 messages in one class.
Smoke smoke(limen::MemoryClass memory_class) {
  Smoke out;
  out.memory_class = memory_class.to_string();
  limen::ManagerConfig config;
  config.capacity = 16;
  config.name = "limen-info";
  auto made = limen::make_manager<Sample>(memory_class, config);
  if (!made) {
    out.error = std::string(limen::to_string(made.error()));
    return out;
  }
  auto& m = *made;
  out.backend = memory_class.kind() == limen::MemoryKind::Host ? "host"
                : m.emulated()                                 ? "cpu-device"
                                                               : "gpu";
  try {
    std::vector<limen::MessageToken> tokens;
    for (std::uint64_t i = 0; i < 16; ++i) {
      tokens.push_back(m.store(limen::Message<Sample>(Sample{{i, i, i, i, i, i, i, i}})).value());
    }
    bool ok = m.available() == 0;
    for (std::uint64_t i = 0; i < 16; ++i) {
      m.read_mut(tokens[i]).value()->payload.values[7] = i * 10;
      const auto read = m.read(tokens[i]).value();
      ok = ok && read->payload.values[0] == i && read->payload.values[7] == i * 10;
    }
    for (const auto t : tokens) m.free(t).value();
    out.ok = ok && m.available() == m.capacity();
    if (!ok) out.error = "payloads did not read back as written";
  } catch (const limen::MemoryErrorException& e) {
    out.error = e.what();
    if (auto cuda = m.last_device_error()) out.error += " (" + cuda->call + ": " + cuda->name + ")";
  }
  out.stats = m.stats();
  return out;
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

void print_json(const limen::RuntimeInfo& info, const std::vector<Smoke>& runs) {
  std::printf("{\"cuda_compiled\":%s,\"runtime_version\":%d,\"driver_version\":%d,",
              info.cuda_compiled ? "true" : "false", info.runtime_version, info.driver_version);
  std::printf("\"device_count\":%d,\"devices\":[", info.device_count);
  for (std::size_t i = 0; i < info.devices.size(); ++i) {
    const auto& d = info.devices[i];
    std::printf(
        "%s{\"ordinal\":%d,\"name\":%s,\"compute\":\"%d.%d\",\"memory_bytes\":%zu,"
        "\"managed\":%s,\"concurrent_managed_access\":%s,\"memory_pools\":%s}",
        i ? "," : "", d.ordinal, json_string(d.name).c_str(), d.compute_major, d.compute_minor,
        d.total_memory, d.managed_memory ? "true" : "false",
        d.concurrent_managed_access ? "true" : "false", d.memory_pools ? "true" : "false");
  }
  std::printf("],\"fallback_active\":%s,\"fallback_reason\":%s,",
              info.fallback_active ? "true" : "false", json_string(info.fallback_reason).c_str());
  const limen::cpu_device::Settings cpu = limen::cpu_device::settings();
  std::printf("\"cpu_device\":{\"active\":%s,\"schedule\":\"%s\",\"seed\":%llu,"
              "\"max_delay_us\":%u,\"devices\":%u},",
              info.fallback_active ? "true" : "false",
              cpu.schedule == limen::cpu_device::Schedule::Deferred ? "deferred" : "immediate",
              static_cast<unsigned long long>(cpu.seed), cpu.max_delay_us, cpu.devices);
  std::printf("\"nvtx_compiled\":%s,\"nvtx_tool_attached\":%s,\"smoke\":[",
              info.nvtx_compiled ? "true" : "false", info.nvtx_tool_attached ? "true" : "false");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const auto& r = runs[i];
    std::printf(
        "%s{\"class\":%s,\"backend\":%s,\"ok\":%s,\"error\":%s,\"stores\":%llu,"
        "\"frees\":%llu,\"bytes_host_to_device\":%llu,\"bytes_device_to_host\":%llu,"
        "\"synchronizations\":%llu}",
        i ? "," : "", json_string(r.memory_class).c_str(), json_string(r.backend).c_str(),
        r.ok ? "true" : "false", json_string(r.error).c_str(),
        static_cast<unsigned long long>(r.stats.stores),
        static_cast<unsigned long long>(r.stats.frees),
        static_cast<unsigned long long>(r.stats.bytes_host_to_device),
        static_cast<unsigned long long>(r.stats.bytes_device_to_host),
        static_cast<unsigned long long>(r.stats.synchronizations));
  }
  std::printf("]}\n");
}

void print_text(const limen::RuntimeInfo& info, const std::vector<Smoke>& runs) {
  std::printf("limen %d.%d.%d\n", LIMEN_VERSION_MAJOR, LIMEN_VERSION_MINOR, LIMEN_VERSION_PATCH);
  std::printf("CUDA compiled in : %s\n", info.cuda_compiled ? "yes" : "no");
  if (info.cuda_compiled) {
    std::printf("CUDA runtime     : %d\nCUDA driver      : %d\n", info.runtime_version,
                info.driver_version);
  }
  std::printf("devices          : %d\n", info.device_count);
  for (const auto& d : info.devices) {
    std::printf("  [%d] %s, compute %d.%d, %.1f GiB, managed %s, pools %s\n", d.ordinal,
                d.name.c_str(), d.compute_major, d.compute_minor,
                static_cast<double>(d.total_memory) / (1024.0 * 1024.0 * 1024.0),
                d.managed_memory ? "yes" : "no", d.memory_pools ? "yes" : "no");
  }
  std::printf("CPU device       : %s%s%s\n", info.fallback_active ? "active" : "off",
              info.fallback_active ? " - " : "", info.fallback_reason.c_str());
  if (info.fallback_active) std::printf("                   %s\n", limen::cpu_device::describe().c_str());
  std::printf("NVTX             : %s, tool %s\n",
              info.nvtx_compiled ? "compiled in" : "compiled out",
              info.nvtx_tool_attached ? "attached" : "not attached");
  std::printf("\nsmoke test (16 x store / read_mut / read / free):\n");
  for (const auto& r : runs) {
    std::printf("  %-12s %-13s %-4s h2d=%lluB d2h=%lluB syncs=%llu %s\n", r.memory_class.c_str(),
                r.backend.c_str(), r.ok ? "ok" : "FAIL",
                static_cast<unsigned long long>(r.stats.bytes_host_to_device),
                static_cast<unsigned long long>(r.stats.bytes_device_to_host),
                static_cast<unsigned long long>(r.stats.synchronizations), r.error.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      std::fprintf(stderr, "usage: %s [--json]\n", argv[0]);
      return 2;
    }
  }
  std::vector<Smoke> runs;
  for (const auto& c : {limen::MemoryClass::host(), limen::MemoryClass::pinned_host(),
                        limen::MemoryClass::device(0), limen::MemoryClass::shared()}) {
    runs.push_back(smoke(c));
  }
  const auto& info = limen::runtime_info();
  json ? print_json(info, runs) : print_text(info, runs);
  for (const auto& r : runs) {
    if (!r.ok) return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
