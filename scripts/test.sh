#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds with -Werror, runs
# every test; then the same suite under AddressSanitizer + UndefinedBehaviorSanitizer;
# then a short fuzz pass (scripts/fuzz.sh: every libFuzzer target for 20 s).
# NETLOOM_SKIP_SANITIZE=1 skips the sanitizer pass, NETLOOM_SKIP_FUZZ=1 the
# fuzz pass (e.g. for a quick local run).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# The tests compile signature databases into a cache of their own, not the user's.
export NETLOOM_CACHE_DIR=${NETLOOM_CACHE_DIR:-$(pwd)/build/cache}
export NETLOOM_CORPUS=${NETLOOM_CORPUS:-$(pwd)/../shared/corpus}
[ -d "$NETLOOM_CORPUS" ] || echo "netloom: no corpus at $NETLOOM_CORPUS: corpus tests will be skipped" >&2

./scripts/build.sh build -DNETLOOM_WERROR=ON
ctest --test-dir build --no-tests=error --output-on-failure -j "$(nproc)" --timeout 300

if [ "${NETLOOM_SKIP_SANITIZE:-0}" != 1 ]; then
  ./scripts/build.sh build-asan -DNETLOOM_WERROR=ON -DNETLOOM_SANITIZE=ON -DNETLOOM_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    LSAN_OPTIONS=suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0 \
    ctest --test-dir build-asan --no-tests=error --output-on-failure -j "$(nproc)" --timeout 600
fi
if [ "${NETLOOM_SKIP_FUZZ:-0}" != 1 ]; then
  # Skipped, with a message, where clang-14/libFuzzer cannot be installed.
  NETLOOM_FUZZ_OPTIONAL=1 NETLOOM_FUZZ_NO_DEPS=1 ./scripts/fuzz.sh 20
fi
echo "netloom: all tests passed"
