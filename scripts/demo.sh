#!/usr/bin/env bash
# The main job on the capture shipped in the repo: installs what is missing,
# builds Release into build/, runs the pipeline and says where the output is.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
./scripts/build.sh build
mkdir -p out
./build/netloom run compositions/count.xml -D input=data/demo.pcap -D out=out/counts.json
echo
echo "netloom: output written to $(pwd)/out/counts.json"
cat out/counts.json
