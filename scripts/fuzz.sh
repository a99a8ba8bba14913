#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS_PER_TARGET] (default 60): builds the libFuzzer
# targets of fuzz/ with clang-14 (ASan + UBSan) in build-fuzz/clang, generates
# their seed corpora from the repository and the shared captures, runs every
# target for SECONDS_PER_TARGET, two at a time, and prints executions and
# coverage per target. Exits non-zero if any target crashed, leaked, hung or
# ran out of memory; the input that did it is kept and named.
#
# Environment:
#   NETLOOM_FUZZ_TARGETS   targets to run (default: all), e.g. "decode capture"
#   NETLOOM_FUZZ_JOBS      targets run at once (default 2)
#   NETLOOM_FUZZ_OPTIONAL  1: without clang-14/libFuzzer, say so and exit 0
#   NETLOOM_FUZZ_NO_DEPS   1: do not run scripts/deps.sh
#   NETLOOM_CORPUS         the shared captures (default ../shared/corpus)
# Corpora grow across runs in build-fuzz/clang/corpus/<target>; crashing
# inputs are written to build-fuzz/clang/crashes/<target>/. Reproduce one with
#   build-fuzz/clang/fuzz_<target> <input>
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${1:-60}
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [seconds-per-target]" >&2; exit 2; }
jobs=${NETLOOM_FUZZ_JOBS:-2}
build=$root/build-fuzz/clang
corpus_root=${NETLOOM_CORPUS:-$root/../shared/corpus}
all_targets=(decode capture composition pdpi_signatures pdpi_match bayes_config fsmdpi ipfix)
read -r -a targets <<<"${NETLOOM_FUZZ_TARGETS:-${all_targets[*]}}"

[ "${NETLOOM_FUZZ_NO_DEPS:-0}" = 1 ] || ./scripts/deps.sh

# libFuzzer comes with clang's runtime (Debian: libclang-rt-14-dev).
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' \
  >"$probe/p.cpp"
if ! command -v clang++-14 >/dev/null ||
  ! clang++-14 -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>/dev/null; then
  echo "netloom: clang-14 with libFuzzer is not available (scripts/deps.sh installs clang-14 and libclang-rt-14-dev)" >&2
  [ "${NETLOOM_FUZZ_OPTIONAL:-0}" = 1 ] && exit 0
  exit 1
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S fuzz -B "$build" "${generator[@]}" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
fi
if ! cmake --build "$build" -j "$(nproc)" >"$build/build.log" 2>&1; then
  cat "$build/build.log" >&2
  echo "netloom: the fuzz build failed" >&2
  exit 1
fi
for t in "${targets[@]}"; do [ -x "$build/fuzz_$t" ] || { echo "netloom: no fuzz target '$t'" >&2; exit 1; }; done

# Seeds are regenerated every time (the captures are read in place).
rm -rf "$build/seeds"
"$build/make_seeds" "$build/seeds" "$root" "$corpus_root" | sed 's/^/seeds: /'

# Largest input per target: frames, whole (shortened) captures, flows, texts.
declare -A max_len=([decode]=4096 [capture]=65536 [composition]=16384 [pdpi_signatures]=16384
  [pdpi_match]=32768 [bayes_config]=16384 [fsmdpi]=65536 [ipfix]=65536)

run_target() {
  local t=$1
  local dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  local rc=0
  UBSAN_OPTIONS=print_stacktrace=1 "$build/fuzz_$t" "$build/corpus/$t" "$build/seeds/$t" \
    -max_total_time="$seconds" -max_len="${max_len[$t]}" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/crashes/$t/" "${dict[@]}" \
    >"$build/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$t.status"
}

mkdir -p "$build/logs"
rm -f "$build"/logs/*
echo "netloom: fuzzing ${#targets[@]} targets for ${seconds}s each, $jobs at a time"
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait || true

failed=0
printf '%-16s %8s %12s %9s %6s %7s %8s  %s\n' target seconds executions exec/s cov features corpus result
for t in "${targets[@]}"; do
  log=$build/logs/$t.log
  status=$(cat "$build/logs/$t.status" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$line")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$line")
  corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$line")
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  result=ok
  if [ "$status" != 0 ]; then
    failed=1
    input=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    why=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|invariant failed' "$log" || true)
    result="FAILED: ${why:-exit status $status}; input kept at ${input:-(none written)}; log $log"
  fi
  eps=-
  [ -n "$execs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && eps=$((execs / secs))
  printf '%-16s %8s %12s %9s %6s %7s %8s  %s\n' "$t" "${secs:--}" "${execs:--}" "$eps" "${cov:--}" "${ft:--}" \
    "${corp:--}" "$result"
done
if [ "$failed" = 1 ]; then
  echo "netloom: fuzzing found a problem (reproduce: $build/fuzz_<target> <input>)" >&2
  exit 1
fi
echo "netloom: fuzzing passed"
