#!/usr/bin/env bash
# Developer shortcut: compile only the given test files (plus a cached Catch2 main) and run them.
#   scripts/dev-test.sh tests/process/vp_test.cpp [-- catch2 args]
# The full suite is built by CMake (README); this is for quick iteration on one component.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${DLOGP_DEV_CACHE:-/tmp/dlogp-dev}
mkdir -p "$cache"
flags="-std=c++20 -O2 -g -fopenmp -Wall -Wextra -I$root/include -I$root/tests -I/usr/include/eigen3 -DDLOGP_SOURCE_DIR=\"$root\" -DDLOGP_BINARY_DIR=\"$cache\""
[ -f "$cache/catch_main.o" ] || g++ $flags -c "$root/tests/main.cpp" -o "$cache/catch_main.o"
files=(); args=()
seen=0
for a in "$@"; do
  if [ "$a" = "--" ]; then seen=1; continue; fi
  if [ $seen = 0 ]; then files+=("$a"); else args+=("$a"); fi
done
exe="$cache/t_$(echo "${files[*]}" | md5sum | cut -c1-8)"
g++ $flags "${files[@]}" "$cache/catch_main.o" -o "$exe"
"$exe" "${args[@]}"
