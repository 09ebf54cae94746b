#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Counts the locked read-modify-writes (x86 `lock`-prefixed instructions and
`xchg` with memory, which locks implicitly) that one round trip of a
limen_host_loop mode executes, under callgrind.

  python3 bench/locked_ops.py [build-dir] [mode ...]
      (default build/bench; modes concurrent, user-concurrent and
       user-cached-atomic-floor; -O3 and -O2 builds)

Callgrind runs the mode twice (100000 and 200000 round trips, with
--dump-instr=yes, so costs are kept per instruction); objdump lists the
binary's locked instructions; the difference of their execution counts over
the 100000 extra round trips is the answer, set-up cancelling out. The
binary is linked without PIE (bench/CMakeLists.txt), so callgrind's addresses
are objdump's.
"""
import os
import re
import subprocess
import sys
import tempfile

def locked_addresses(binary):
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", binary], check=True,
                         capture_output=True, text=True).stdout
    addresses = set()
    for line in out.splitlines():
        m = re.match(r"^\s*([0-9a-f]+):\s+(.*)$", line)
        if not m:
            continue
        text = m.group(2)
        if text.startswith("lock ") or (text.startswith("xchg") and "(" in text):
            addresses.add(int(m.group(1), 16))
    return addresses


def position(field, previous):
    """A callgrind instruction position: absolute, relative (+n / -n) or the same (*)."""
    if field == "*":
        return previous
    if field[0] == "+":
        return previous + int(field[1:], 0)
    if field[0] == "-":
        return previous - int(field[1:], 0)
    return int(field, 0)


def executions(binary, mode, n, addresses):
    """How many times the instructions at @p addresses ran in one run of @p n round trips."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=yes",
                        f"--callgrind-out-file={out}", binary, mode, str(n)],
                       check=True, capture_output=True)
        total = 0
        columns = 1  # position columns before the costs ("positions: instr line" has two)
        address = 0
        skip_next = False
        with open(out) as f:
            for line in f:
                if line.startswith("positions:"):
                    columns = len(line.split()) - 1
                    continue
                if line.startswith("calls="):
                    skip_next = True  # the next line is the call's inclusive cost
                    continue
                if not line.strip() or line[0] not in "+-*0123456789":
                    continue
                fields = line.split()
                address = position(fields[0], address)
                if skip_next:
                    skip_next = False
                    continue
                if address in addresses and len(fields) > columns:
                    total += int(fields[columns])
        return total


def main():
    args = sys.argv[1:]
    build = args.pop(0) if args and os.path.isdir(args[0]) else "build/bench"
    modes = args or ["concurrent", "user-concurrent", "user-cached-atomic-floor"]
    for suffix, flags in (("", "-O3"), ("_o2", "-O2")):
        binary = os.path.join(build, "bench", "limen_host_loop" + suffix)
        addresses = locked_addresses(binary)
        for mode in modes:
            a = executions(binary, mode, 100000, addresses)
            b = executions(binary, mode, 200000, addresses)
            print(f"{mode} ({flags}): {(b - a) / 100000:.2f} locked read-modify-writes"
                  " per round trip")


if __name__ == "__main__":
    main()
