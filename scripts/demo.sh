#!/usr/bin/env bash
# The main job on the capture shipped in the repo: installs what is missing,
# builds Release into build/, runs the Tstat pipeline (compositions/tstat.xml:
# flow tracking, payload and behavioural classification, Tstat's logs) on
# data/demo.pcap, then says where the logs are.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh build
out=out/demo
rm -rf "$out"
./build/netloom run compositions/tstat.xml -D input=data/demo.pcap -D out="$out" -D dump_udp=unknown,dns
dir=$(find "$out" -mindepth 1 -maxdepth 1 -type d -name '*.out' | head -n 1)
echo
echo "netloom: Tstat-format logs written to $(pwd)/$dir:"
for f in "$dir"/log_*; do
  n=$(wc -l <"$f")
  [ "$(basename "$f")" = log_skype_complete ] || n=$((n - 1))  # the others start with a header
  printf '  %-22s %5d flows\n' "$(basename "$f")" "$n"
done
echo "  histograms: $(find "$dir" -mindepth 2 -type f -path '*/LAST/*' | wc -l) files in $dir/LAST (and one directory per 300 s window)"
echo "  pcap dumps: $(find "$dir" -name '*.pcap' | wc -l) file(s) in $dir/traces00"
echo "  RRD archives: $(find "$out/rrd" -name '*.rrd' | wc -l) files in $(pwd)/$out/rrd (graphs: build/netloom report $out/rrd $out/report)"
