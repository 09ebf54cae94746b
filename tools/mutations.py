#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Mutation check of limen's ordering: every host wait, stream wait, event
record and event wait in the backends and the pinned pool must be covered by a
test that fails without it.

For each mutation below the script edits one call out of the source, rebuilds
the test program, runs the whole suite on the CPU device under the deferred
schedule (where work runs later, on the streams' workers), and restores the
file. A mutation is *killed* when the run fails (a failed test, a crash or a
hang); a *survivor* means the wait could be deleted without any test noticing.

    python3 tools/mutations.py                 # every mutation (about 10 minutes on 2 cores)
    python3 tools/mutations.py --only 1,4      # some of them
    python3 tools/mutations.py --list          # just the table of mutations

It builds in build/mutations (the cpu preset's flags, CPU device only) and
prints a markdown table: mutation, result, the first failing tests. Exits 1 if
any mutation survives.
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build", "mutations")

# (file, exact text, replacement, what the mutation removes)
MUTATIONS = [
    ("src/backend/slot_backend.cpp",
     'LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(stream.native(), event_of(slot)));',
     "",
     "lease: the lease's stream waits for the slot's earlier work (stream wait)"),
    ("src/backend/slot_backend.cpp",
     "const device::Status recorded = api_.event_record(events_[slot].get(), stream.native());",
     "const device::Status recorded = device::status::success;",
     "lease end: the slot's event recorded on the lease's stream (event record)"),
    ("src/backend/slot_backend.cpp",
     'const device::Status status = api_.event_synchronize(event_of(slot));',
     "const device::Status status = device::status::success;",
     "wait_work: the host waits for the slot's event (host wait; pinned reads, pending reuse)"),
    ("src/backend/slot_backend.cpp",
     'LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(copy_stream(), event_of(slot)));',
     "",
     "device/managed read: the copy stream waits for the lease's event (stream wait)"),
    ("src/backend/slot_backend.cpp",
     "const device::Status recorded = api_.event_record(events_[slot].get(), copy_stream());",
     "const device::Status recorded = device::status::success;",
     "store / write-back / read: the slot's event recorded after the copy (event record)"),
    ("src/backend/slot_backend.cpp",
     'LIMEN_DEVICE_TRY("cudaEventSynchronize", api_.event_synchronize(events_[slot].get()));',
     "",
     "device/managed read: the host waits for the copy into the shadow (host wait)"),
    ("src/backend/slot_backend.cpp",
     'if (events_[i] && work_epoch(slot) != 0) quietly(api_, api_.event_synchronize(event_of(slot)));',
     "",
     "teardown: the destructor waits for each slot's work before freeing memory (host wait)"),
    ("src/backend/slot_backend.cpp",
     '  LIMEN_DEVICE_TRY("cudaEventRecord", api_.event_record(spare_event_.get(), stream));\n  if (!counted)',
     "  if (!counted)",
     "substitute wait: the spare event recorded on the stream (event record)"),
    ("src/backend/slot_backend.cpp",
     '  auto range = nvtx().range(nvtx::Op::Sync);\n  LIMEN_DEVICE_TRY("cudaEventSynchronize", api_.event_synchronize(spare_event_.get()));\n  count_sync();',
     "  auto range = nvtx().range(nvtx::Op::Sync);\n  count_sync();",
     "substitute wait: the host waits for the spare event (host wait)"),
    ("src/backend/device_backend.cpp",
     "if (auto waited = wait_stream(copy_stream(), /*counted=*/false); !waited) return waited;",
     "",
     "device construction: the host waits for the zeroing of fresh slots (host wait)"),
    ("src/backend/slot_backend_batch.cpp",
     'LIMEN_DEVICE_TRY("cudaStreamWaitEvent", api_.stream_wait_event(stream.native(), event));',
     "",
     "batch: the batch's stream waits for each slot's earlier work (stream wait)"),
    ("src/backend/slot_backend_batch.cpp",
     "const device::Status recorded = api_.event_record(event, stream.native());",
     "const device::Status recorded = device::status::success;",
     "batch end: one event recorded after the batch's work (event record)"),
    ("src/backend/slot_backend_batch.cpp",
     "indices->reset(stream);  // back to the pool once the kernel has read it",
     "indices->reset();",
     "gather/scatter: the staged indices return to the pool only after the kernel (stream-ordered release)"),
    ("src/backend/device_backend.cpp",
     "buffer->reset(stream);  // back to its pool once the copy that reads it is done",
     "buffer->reset();",
     "device store_batch: the staging buffer returns only after the upload (stream-ordered release)"),
    ("src/backend/pool_memory.cpp",
     "if (const device::Status status = api_.event_record(events_[*id].get(), stream.native());",
     "if (const device::Status status = device::status::success;",
     "pinned pool release: the event recorded on the releasing stream (event record)"),
    ("src/backend/pool_memory.cpp",
     "  if (const device::Status s = api_.event_synchronize(spare_.get());\n"
     "      s != device::status::success) {",
     "  if (const device::Status s = device::status::success;\n"
     "      s != device::status::success) {",
     "pinned pool release substitute: the host waits for the stream (host wait)"),
    ("src/backend/pool_memory.cpp",
     "  quietly(api_, api_.event_synchronize(events_[id].get()));",
     "",
     "pinned pool teardown: waits for pending releases before freeing chunks (host wait)"),
    ("include/limen/detail/backend_core.hpp",
     "      if (auto waited = backend_->wait_work(oldest); !waited) return waited;",
     "",
     "store: waits for the oldest pending slot's work before reusing it (host wait)"),
    ("include/limen/detail/backend_core.hpp",
     "      auto polled = backend_->work_done(index);\n      if (!polled) return fail(polled.error());\n      done = *polled;",
     "      done = true;",
     "free: a slot whose work is in flight is freed stream-ordered (event query)"),
    # Graph capture and several devices (the CPU device models both).
    ("src/backend/slot_backend.cpp",
     "  // order host access after it: Unsupported, and the core sets the slot aside.\n"
     "  if (auto refused = refuse_capture(stream); !refused) return refused;",
     "",
     "lease end on a capturing stream: refused, the slot poisoned and set aside (capture check)"),
    ("src/backend/slot_backend.cpp",
     "Result<void> SlotBackend::end_device_use(std::uint32_t slot, StreamHandle stream) noexcept {\n"
     "  if (lost()) return MemoryError::DeviceError;\n  LIMEN_ON_DEVICE();",
     "Result<void> SlotBackend::end_device_use(std::uint32_t slot, StreamHandle stream) noexcept {\n"
     "  if (lost()) return MemoryError::DeviceError;",
     "lease end: the event is recorded under the manager's device (device scope)"),
    ("src/backend/slot_backend_batch.cpp",
     "Result<void> SlotBackend::end_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {\n"
     "  LIMEN_ON_DEVICE();",
     "Result<void> SlotBackend::end_batch(std::span<const std::uint32_t> slots, StreamHandle stream) {",
     "batch end: the batch's event is recorded under the manager's device (device scope)"),
    ("src/backend/pool_memory.cpp",
     "  if (health_.lost()) return MemoryError::DeviceError;\n  const DeviceScope scope(api_, ordinal_);",
     "  if (health_.lost()) return MemoryError::DeviceError;\n"
     "  const DeviceScope scope(api_, ordinal_, /*only_device=*/true);",
     "pinned pool release: the event is made and recorded under the pool's device (device scope)"),
    ("src/backend/device_backend.cpp",
     'LIMEN_DEVICE_TRY("cudaMemPoolSetAccess", api_.pool_set_access(pool, peer));',
     "(void)peer;",
     "peer access: the slots' pool grants each listed peer access (cudaMemPoolSetAccess)"),
]


def run(cmd, **kw):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, **kw)


def configure():
    if os.path.exists(os.path.join(BUILD, "build.ninja")):
        return
    r = run(["cmake", "-S", ".", "-B", BUILD, "-G", "Ninja", "-DLIMEN_CUDA=OFF",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g0",
             "-DLIMEN_BUILD_EXAMPLES=OFF"])
    if r.returncode != 0:
        sys.exit("configure failed:\n" + r.stdout + r.stderr)


def build():
    r = run(["cmake", "--build", BUILD, "--target", "limen_tests"])
    return r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


def suite(seed):
    env = dict(os.environ, LIMEN_CPU_DEVICE_SCHEDULE="deferred", LIMEN_CPU_DEVICE_SEED=str(seed),
               LIMEN_CPU_DEVICES="2")
    exe = os.path.join(BUILD, "tests", "limen_tests")
    try:
        r = subprocess.run([exe], cwd=BUILD, env=env, capture_output=True,
                           text=True, timeout=180)
        out, code = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return False, "hang (timed out): " + last_started(out)
    if code == 0:
        return True, ""
    failed = re.findall(r"\[  FAILED  \] ([^\s,]+)", out)
    failed = [f for f in dict.fromkeys(failed) if "." in f]
    if failed:
        return False, ", ".join(failed[:3]) + (f" (+{len(failed) - 3})" if len(failed) > 3 else "")
    return False, f"crash (exit {code}) in " + last_started(out)


def last_started(out):
    runs = re.findall(r"\[ RUN      \] (\S+)", out)
    return runs[-1] if runs else "?"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated mutation numbers (1-based)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--seeds", default="1,2", help="deferred-schedule seeds to try")
    args = parser.parse_args()
    chosen = range(1, len(MUTATIONS) + 1)
    if args.only:
        chosen = [int(x) for x in args.only.split(",")]
    if args.list:
        for i in chosen:
            print(f"{i:2}. {MUTATIONS[i - 1][3]}  ({MUTATIONS[i - 1][0]})")
        return 0
    for path, text, _, what in MUTATIONS:
        if open(os.path.join(ROOT, path)).read().count(text) != 1:
            sys.exit(f"mutation '{what}': the text to remove is not exactly once in {path}")
    configure()
    ok, log = build()
    if not ok:
        sys.exit("the unmutated tree does not build:\n" + log)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows, survivors, start = [], 0, time.time()
    for i in chosen:
        path, text, replacement, what = MUTATIONS[i - 1]
        full = os.path.join(ROOT, path)
        original = open(full).read()
        try:
            open(full, "w").write(original.replace(text, replacement))
            built, log = build()
            if not built:
                rows.append((i, what, "build failed", log.strip().splitlines()[-1:]))
                continue
            result, detail = True, ""
            for seed in seeds:
                result, detail = suite(seed)
                if not result:
                    detail = f"seed {seed}: {detail}"
                    break
            rows.append((i, what, "survived" if result else "killed", detail))
            survivors += 1 if result else 0
            print(f"{i:2} {'SURVIVED' if result else 'killed  '} {what}  {detail}", flush=True)
        finally:
            open(full, "w").write(original)
    build()
    print(f"\n| # | mutation | result | failing tests |\n|---|---|---|---|")
    for i, what, result, detail in rows:
        print(f"| {i} | {what} | {result} | {detail} |")
    print(f"\n{len(rows) - survivors} of {len(rows)} killed in {time.time() - start:.0f} s")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
