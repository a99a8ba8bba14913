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
./build/netloom run compositions/tstat.xml -D input=data/demo.pcap -D out="$out"
dir=$(find "$out" -mindepth 1 -maxdepth 1 -type d | head -n 1)
echo
echo "netloom: Tstat-format logs written to $(pwd)/$dir:"
for f in "$dir"/log_*; do
  printf '  %-22s %5d flows\n' "$(basename "$f")" "$(($(wc -l <"$f") - 1))"
done
