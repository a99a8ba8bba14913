#!/usr/bin/env bash
# Installs the Debian 12 packages netloom builds and tests with (only the
# missing ones; uses sudo when not root).
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libpcap-dev libpugixml-dev libtbb-dev libboost-dev libboost-filesystem-dev zlib1g-dev
  libcli11-dev libwiretap-dev libwsutil-dev libglib2.0-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhyperscan-dev
  librrd-dev rrdtool
  libcpp-httplib-dev
  libssl-dev
  # scripts/fuzz.sh: clang with libFuzzer's runtime
  clang-14 libclang-rt-14-dev
  # IPFIX tests: nfcapd/nfdump as the reference collector
  nfdump
  # KafkaSink
  librdkafka-dev
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "netloom: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
