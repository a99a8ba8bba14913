#!/usr/bin/env bash
# bench/run-suite.sh [--ncopies N] [--runs R] [--build DIR]: the whole-pipeline
# benchmark suite (docs/performance.md). Builds the benchmark trace with
# ../shared/tools/make-bench-trace.sh if needed, then, each against the plain
# libpcap read loop in alternating pairs (bench/run-pipeline.sh):
#   count   compositions/count.xml   read + decode + count
#   flows   compositions/flows.xml   flow tracker + Tstat logs
#   tstat   compositions/tstat.xml   the whole Tstat pipeline
#   ndpi    nDPI's ndpiReader on the same file, when installed (libndpi-bin)
# and prints one table of medians, paired ratios and peak RSS.
# Flow-sharded runs (replicas) are not part of it yet: see docs/performance.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ncopies=32 runs=5 build=$here/../build
while [ $# -gt 0 ]; do
  case $1 in
    --ncopies) ncopies=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    *) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
out=$(mktemp -d "${TMPDIR:-/tmp}/netloom-suite.XXXXXX")
trap 'rm -rf "$out"' EXIT
cases=(count flows tstat)
command -v ndpiReader >/dev/null && cases+=(ndpi)
for c in "${cases[@]}"; do
  echo "== $c" >&2
  args=(--ncopies "$ncopies" --runs "$runs" --build "$build")
  if [ "$c" = ndpi ]; then args+=(--peer ndpi); else args+=(--composition "$here/../compositions/$c.xml"); fi
  "$here/run-pipeline.sh" "${args[@]}" >"$out/$c.txt" 2>&1 || { cat "$out/$c.txt" >&2; exit 1; }
done
printf '\nmachine: %s, %s CPUs; %s\n' "$(uname -m)" "$(nproc)" "$(date -u +%F)"
printf '%-8s %10s %14s %8s %14s\n' case plain_s median_s ratio peak_rss_kib
for c in "${cases[@]}"; do
  f=$out/$c.txt
  plain=$(sed -n 's/^median plain loop: *\([0-9.]*\) s.*/\1/p' "$f")
  med=$(sed -n 's/^median \(netloom\|ndpiReader\): *\([0-9.]*\) s.*/\2/p' "$f")
  rss=$(sed -n 's/^median \(netloom\|ndpiReader\):.*peak RSS \([0-9?]*\) KiB.*/\2/p' "$f")
  ratio=$(sed -n 's/^median paired ratio: *\([0-9.]*\).*/\1/p' "$f")
  printf '%-8s %10s %14s %8s %14s\n' "$c" "$plain" "$med" "$ratio" "$rss"
done
