#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Checks (or, with --fix, adds) the SPDX license line at the top of every
tracked source file. ctest runs the check: a new file without it fails.

    python3 tools/spdx.py [--fix]
"""
import pathlib
import subprocess
import sys

LINE = "SPDX-License-Identifier: Apache-2.0"
SLASH = (".hpp", ".cpp", ".cu", ".cuh", ".hpp.in")
HASH = (".cmake", ".sh", ".py", ".txt", ".in", ".yml", ".yaml")
HASH_NAMES = {"CMakeLists.txt", ".gitignore", ".clang-format", "run", "Doxyfile.in"}
SKIP_DIRS = ("tests/fuzz/corpus/",)


def comment_for(path: pathlib.Path):
    name = path.name
    if any(name.endswith(s) for s in SLASH):
        return "// "
    if name.endswith(".md"):
        return "<!-- "
    if name in HASH_NAMES or any(name.endswith(s) for s in HASH):
        return "# "
    return None


def main() -> int:
    fix = "--fix" in sys.argv
    files = subprocess.run(["git", "ls-files"], capture_output=True, text=True, check=True)
    missing = []
    for name in files.stdout.split():
        if name.startswith(SKIP_DIRS) or name == "LICENSE":
            continue
        path = pathlib.Path(name)
        prefix = comment_for(path)
        if prefix is None or not path.exists():
            continue
        text = path.read_text()
        if LINE in "\n".join(text.splitlines()[:3]):
            continue
        missing.append(name)
        if fix:
            line = prefix + LINE + (" -->" if prefix == "<!-- " else "") + "\n"
            if text.startswith("#!"):
                first, _, rest = text.partition("\n")
                path.write_text(first + "\n" + line + rest)
            else:
                path.write_text(line + text)
    if missing and not fix:
        print("files without an SPDX line:\n  " + "\n  ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
