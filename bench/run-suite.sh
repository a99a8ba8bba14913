#!/usr/bin/env bash
# bench/run-suite.sh [--ncopies N] [--runs R] [--build DIR]: the whole-pipeline
# benchmark suite (docs/performance.md). Builds the benchmark trace with
# ../shared/tools/make-bench-trace.sh if needed, then, each against the plain
# libpcap read loop in alternating pairs (bench/run-pipeline.sh):
#   count   compositions/count.xml   read + decode + count
#   flows   compositions/flows.xml   flow tracker + Tstat logs
#   tstat   compositions/tstat.xml   the whole Tstat pipeline, one thread
#   tstat2  the same with -D replicas=2: tracker and classifiers flow-sharded
#           over two instances (threads = cores)
#   ndpi    nDPI's ndpiReader on the same file, when installed (libndpi-bin)
# and prints one table of medians, paired ratios and peak RSS, the speed-up
# of tstat2 over tstat, and the memory per flow (peak RSS of tstat above that
# of count, divided by the flows the trace holds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ncopies=32 runs=5 build=$here/../build
while [ $# -gt 0 ]; do
  case $1 in
    --ncopies) ncopies=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    *) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
out=$(mktemp -d "${TMPDIR:-/tmp}/netloom-suite.XXXXXX")
trap 'rm -rf "$out"' EXIT
cases=(count flows tstat tstat2)
command -v ndpiReader >/dev/null && cases+=(ndpi)
for c in "${cases[@]}"; do
  echo "== $c" >&2
  args=(--ncopies "$ncopies" --runs "$runs" --build "$build")
  case $c in
    ndpi) args+=(--peer ndpi) ;;
    tstat2) args+=(--composition "$here/../compositions/tstat.xml" -D replicas=2) ;;
    *) args+=(--composition "$here/../compositions/$c.xml") ;;
  esac
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
median() { sed -n 's/^median \(netloom\|ndpiReader\): *\([0-9.]*\) s.*/\2/p' "$out/$1.txt"; }
rss() { sed -n 's/^median \(netloom\|ndpiReader\):.*peak RSS \([0-9?]*\) KiB.*/\2/p' "$out/$1.txt"; }
awk -v a="$(median tstat)" -v b="$(median tstat2)" 'BEGIN { if (b > 0) printf "speed-up with 2 replicas: %.2fx\n", a / b }'
trace=/tmp/netloom-bench-n$ncopies.pcap  # where run-pipeline.sh builds it
flows=$("$build/netloom" run "$here/../compositions/flows.xml" -D "input=$trace" -D "out=$out/flows-count" 2>&1 |
  sed -n 's/.*flows_opened=\([0-9]*\).*/\1/p' | head -1)
awk -v t="$(rss tstat)" -v c="$(rss count)" -v f="$flows" \
  'BEGIN { if (f > 0 && t > c) printf "memory per flow (tstat above count): %.0f B over %d flows\n", (t - c) * 1024 / f, f }'
