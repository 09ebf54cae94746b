#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs the limen built in BUILD_DIR into a fresh prefix, then builds and runs
# the consumer program against it twice: with find_package(limen) and with
# pkg-config.   bash tests/consumer/run.sh build/cpu
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: run.sh BUILD_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
echo "== consumer (CMake find_package) against $build"
cmake -S tests/consumer -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
"$work/build/limen_consumer"
echo "== consumer (pkg-config) against $build"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046  # the flags are words
c++ tests/consumer/main.cpp -o "$work/consumer_pc" $(pkg-config --cflags --libs limen)
"$work/consumer_pc"
