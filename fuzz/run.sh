#!/usr/bin/env bash
# Builds the libFuzzer targets with clang++ (-fsanitize=fuzzer,address,undefined) and runs each
# for DURATION seconds. Exit status 1 when a target finds a crash, a sanitizer report, a leak, a
# hang or an out-of-memory; the input is saved under build/fuzz/artifacts/ (docs/fuzzing.md).
#   fuzz/run.sh [DURATION=60] [TARGET...]      targets: spec_fuzzer weights_fuzzer npy_fuzzer
# Environment: CXX (default clang++), DLOGP_FUZZ_DIR (default build/fuzz), DLOGP_FUZZ_ARGS
# (extra libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
duration=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(spec_fuzzer weights_fuzzer npy_fuzzer)
out=${DLOGP_FUZZ_DIR:-$root/build/fuzz}
cxx=${CXX:-clang++}
case "$(basename "$cxx")" in clang++*) ;; *) cxx=clang++ ;; esac  # libFuzzer needs clang
mkdir -p "$out/artifacts"

flags=(-std=c++20 -gline-tables-only -O1 -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$root/include" -I/usr/include/eigen3)

build() {  # build NAME: rebuild when the source or any header is newer than the binary
  local name=$1 exe="$out/$1"
  if [ -x "$exe" ] && [ -z "$(find "$root/fuzz/$name.cpp" "$root/include" \
                                  -newer "$exe" -name '*.?pp' -print -quit)" ]; then
    return
  fi
  echo "==== build $name"
  local t0=$(date +%s)
  "$cxx" "${flags[@]}" "$root/fuzz/$name.cpp" -o "$exe.tmp"
  mv "$exe.tmp" "$exe"
  echo "     built in $(( $(date +%s) - t0 ))s"
}

seed() {  # seed NAME DIR: the checked-in seeds plus generated ones
  local name=$1 dir=$2
  mkdir -p "$dir"
  case $name in
    spec_fuzzer)
      cp "$root"/examples/specs/*.json "$dir"/
      cp "$root"/fuzz/corpus/spec/* "$dir"/ 2>/dev/null || true ;;
    weights_fuzzer)
      /usr/bin/python3 "$root/fuzz/make_weights_seeds.py" "$dir"
      cp "$root"/fuzz/corpus/weights/* "$dir"/ 2>/dev/null || true ;;
    npy_fuzzer)
      /usr/bin/python3 "$root/fuzz/make_npy_seeds.py" "$dir"
      cp "$root"/fuzz/corpus/npy/* "$dir"/ 2>/dev/null || true ;;
  esac
}

status=0
for name in "${targets[@]}"; do
  [ -f "$root/fuzz/$name.cpp" ] || { echo "fuzz/run.sh: no target $name" >&2; exit 2; }
  build "$name"
  seeds="$out/seeds-$name"
  corpus="$out/corpus-$name"  # grows across runs (new interesting inputs)
  rm -rf "$seeds"
  seed "$name" "$seeds"
  mkdir -p "$corpus"
  dict=()
  [ -f "$root/fuzz/${name%_fuzzer}.dict" ] && dict=(-dict="$root/fuzz/${name%_fuzzer}.dict")
  echo "==== run $name for ${duration}s"
  # -timeout: one input taking 25 s is a hang; -rss_limit_mb: more than 2 GB is a finding.
  # shellcheck disable=SC2086
  if ! "$out/$name" "$corpus" "$seeds" "${dict[@]}" \
        -max_total_time="$duration" -timeout=25 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$out/artifacts/$name-" ${DLOGP_FUZZ_ARGS:-} \
        > "$out/$name.log" 2>&1; then
    status=1
    echo "!!!! $name FAILED; last lines of $out/$name.log:"
    tail -n 40 "$out/$name.log"
    echo "!!!! reproduce: $out/$name $out/artifacts/$name-<crash file>"
  else
    grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)" "$out/$name.log" || true
    echo "     $name: no crash in ${duration}s ($(ls "$corpus" | wc -l) corpus inputs)"
  fi
done
exit $status
