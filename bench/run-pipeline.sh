#!/usr/bin/env bash
# bench/run-pipeline.sh: time `netloom run compositions/count.xml` against a
# plain libpcap read loop on the large benchmark trace, in alternating pairs.
#
#   bench/run-pipeline.sh [--ncopies N] [--runs R] [--trace PATH] [--build DIR]
#                         [--composition XML] [-D name=value]... [--max-ratio X]
#
#   --ncopies N     copies of every seed capture in the trace (default 32: ~3.4 M
#                   packets, 1.1 GB; 2-4 is enough for a quick run)
#   --runs R        rounds; each round runs the plain loop, then netloom (default 5)
#   --trace PATH    trace to use; built there with make-bench-trace.sh when missing
#                   (default /tmp/netloom-bench-nN.pcap, reused across runs)
#   --build DIR     build tree holding netloom and bench/bench_plain_loop (default build)
#   --composition   composition to time (default compositions/count.xml); it gets
#                   -D input=TRACE -D out=WORKDIR/out.ROUND, and prints its packet count
#   -D name=value   an extra deployment variable for the composition (repeatable)
#   --max-ratio X   exit 1 when the median paired ratio netloom/plain exceeds X
#   --peer ndpi     time nDPI's ndpiReader (Debian libndpi-bin) on the trace instead
#                   of netloom: its full DPI of every flow, same pairing and report
#
# Needs bash, awk, GNU date and, for peak RSS, /usr/bin/time (GNU time); no python
# except to build the trace (the shared make-bench-trace.sh uses python3).
# Exit: 0 ok, 1 ratio above --max-ratio, 2 usage/setup error, 3 packet counts differ
# or a run failed.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
shared=${NETLOOM_SHARED:-$root/../shared}
ncopies=32
runs=5
trace=
build=$root/build
composition=$root/compositions/count.xml
extra_defines=
max_ratio=
peer=

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --ncopies) ncopies=${2:?}; shift 2 ;;
    --runs) runs=${2:?}; shift 2 ;;
    --trace) trace=${2:?}; shift 2 ;;
    --build) build=${2:?}; shift 2 ;;
    --composition) composition=${2:?}; shift 2 ;;
    -D) extra_defines="$extra_defines -D ${2:?}"; shift 2 ;;
    --max-ratio) max_ratio=${2:?}; shift 2 ;;
    --peer) peer=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    *) echo "run-pipeline.sh: unknown argument '$1'" >&2; usage ;;
  esac
done
case $ncopies$runs in *[!0-9]*) echo "run-pipeline.sh: --ncopies and --runs take integers" >&2; exit 2 ;; esac
[ "$runs" -ge 1 ] || { echo "run-pipeline.sh: --runs must be >= 1" >&2; exit 2; }
trace=${trace:-/tmp/netloom-bench-n$ncopies.pcap}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run-pipeline.sh: no build directory $build" >&2; exit 2; }
plain=$build/bench/bench_plain_loop
netloom=$build/netloom
who=netloom
if [ "${peer:-}" = ndpi ]; then
  who=ndpiReader
  netloom=$(command -v ndpiReader) || { echo "run-pipeline.sh: ndpiReader not installed (apt-get install libndpi-bin)" >&2; exit 2; }
elif [ -n "${peer:-}" ]; then
  echo "run-pipeline.sh: unknown --peer '$peer' (known: ndpi)" >&2; exit 2
fi
for exe in "$plain" "$netloom"; do
  if [ ! -x "$exe" ]; then
    echo "run-pipeline.sh: $exe missing; build it: cmake --build $build --target bench_plain_loop netloom" >&2
    exit 2
  fi
done

if [ ! -s "$trace" ]; then
  echo "building $trace (NCOPIES=$ncopies) with $shared/tools/make-bench-trace.sh ..." >&2
  "$shared/tools/make-bench-trace.sh" "$trace.partial" "$ncopies" >&2
  mv "$trace.partial" "$trace"
fi

have_time=0
[ -x /usr/bin/time ] && /usr/bin/time -f %M true 2>/dev/null && have_time=1
work=$(mktemp -d "${TMPDIR:-/tmp}/netloom-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run NAME CMD...: times CMD with a monotonic-enough clock (date +%s.%N, wall time),
# peak RSS from GNU time. Sets $secs and $rss_kb; CMD's stdout goes to $work/NAME.out.
run() {
  local name=$1; shift
  local t0 t1 rc=0
  t0=$(date +%s.%N)
  if [ $have_time = 1 ]; then
    /usr/bin/time -f %M -o "$work/$name.rss" "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  else
    "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  fi
  t1=$(date +%s.%N)
  if [ $rc != 0 ]; then
    echo "run-pipeline.sh: '$*' failed (exit $rc):" >&2
    tail -n 20 "$work/$name.err" >&2
    exit 3
  fi
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
  rss_kb=$( [ $have_time = 1 ] && tail -n 1 "$work/$name.rss" || echo "?")
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

size=$(wc -c <"$trace")
echo "trace: $trace ($((size / 1048576)) MiB)"
echo "warming the page cache ..." >&2
cat "$trace" >/dev/null
cat "$trace" >/dev/null

printf '%-6s %10s %10s %8s %12s %12s\n' round plain_s netloom_s ratio plain_rss_kb netloom_rss_kb
: >"$work/plain.times"; : >"$work/netloom.times"; : >"$work/ratios"
plain_rss_max=0; netloom_rss_max=0; packets=
for i in $(seq 1 "$runs"); do
  run plain "$plain" "$trace"
  p_secs=$secs; p_rss=$rss_kb
  p_packets=$(sed -n 's/.*packets=\([0-9]*\).*/\1/p' "$work/plain.out")
  # A fresh output directory per round, all removed at the end: deleting
  # the previous round's ~1 400 files right before a run makes ext4 search
  # its inode tables for recently deleted inodes at every file creation, a
  # cost no probe writing new windows pays.
  if [ "${peer:-}" = ndpi ]; then
    # ndpiReader's summary: "IP packets: I of N packets total".
    run netloom "$netloom" -i "$trace"
    n_packets=$(sed -n 's/.* of \([0-9]*\) packets total.*/\1/p' "$work/netloom.out" | head -n 1)
  else
    run netloom "$netloom" run "$composition" -D "input=$trace" -D "out=$work/out.$i" $extra_defines
    # The run summary: "netloom: X finished in S s: N packets from the sources"
    n_packets=$(sed -n 's/.* finished in .*: \([0-9]*\) packets from the sources.*/\1/p' "$work/netloom.err" | head -n 1)
  fi
  n_secs=$secs; n_rss=$rss_kb
  if [ -z "$p_packets" ] || [ "$p_packets" != "$n_packets" ]; then
    echo "run-pipeline.sh: packet counts differ: plain loop ${p_packets:-?}, netloom ${n_packets:-?}" >&2
    cat "$work/netloom.err" >&2 2>/dev/null || true
    exit 3
  fi
  packets=$p_packets
  ratio=$(awk -v n="$n_secs" -v p="$p_secs" 'BEGIN { printf "%.3f", (p > 0 ? n / p : 0) }')
  echo "$p_secs" >>"$work/plain.times"; echo "$n_secs" >>"$work/netloom.times"; echo "$ratio" >>"$work/ratios"
  [ "$p_rss" != "?" ] && [ "$p_rss" -gt "$plain_rss_max" ] && plain_rss_max=$p_rss
  [ "$n_rss" != "?" ] && [ "$n_rss" -gt "$netloom_rss_max" ] && netloom_rss_max=$n_rss
  printf '%-6s %10s %10s %8s %12s %12s\n' "$i" "$p_secs" "$n_secs" "$ratio" "$p_rss" "$n_rss"
done

med_ratio=$(median <"$work/ratios")
med_plain=$(median <"$work/plain.times")
med_netloom=$(median <"$work/netloom.times")
pps() { awk -v n="$packets" -v s="$1" 'BEGIN { if (s > 0) printf "%.2f M", n / s / 1e6; else print "?" }'; }
echo
echo "packets:               $packets (same count from both)"
echo "median plain loop:     ${med_plain} s  ($(pps "$med_plain") packets/s), peak RSS ${plain_rss_max} KiB"
echo "median ${who}: ${med_netloom} s  ($(pps "$med_netloom") packets/s), peak RSS ${netloom_rss_max} KiB"
echo "median paired ratio:   ${med_ratio} ($who / plain loop, $runs rounds)"
if [ -n "$max_ratio" ]; then
  if awk -v r="$med_ratio" -v m="$max_ratio" 'BEGIN { exit !(r > m) }'; then
    echo "FAIL: median ratio $med_ratio exceeds --max-ratio $max_ratio" >&2
    exit 1
  fi
  echo "ok: median ratio $med_ratio <= --max-ratio $max_ratio"
fi
