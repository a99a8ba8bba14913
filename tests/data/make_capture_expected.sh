#!/bin/sh
# Regenerates tests/data/capture_expected.csv from independent tools (tshark,
# Wireshark 4.0), never from netloom itself.
#
#   tests/data/make_capture_expected.sh [CORPUS] > tests/data/capture_expected.csv
#
# Columns:
#   file      path relative to the corpus root
#   packets   packet records tshark reads before the end or the first error
#             (frames with an encapsulation: pcapng custom blocks and other
#             non-packet records, which tshark lists as frames too, are not
#             packets and netloom skips them)
#   cap_bytes sum of their captured lengths (frame.cap_len)
#   status    ok | error (tshark reported a problem with the file)
#   error     for status=error, the kind netloom must report, mapped from
#             tshark's message: not-a-capture -> "not a pcap or pcapng
#             capture", cut short -> "truncated", unsupported record data ->
#             "unsupported"; netloom's text must contain it.
set -eu
corpus=${1:-${NETLOOM_CORPUS:-$(dirname "$0")/../../../shared/corpus}}
cd "$corpus"
echo "file,packets,cap_bytes,status,error"
for f in $(ls formats/*.pcap formats/pcapng/le/*.pcapng formats/pcapng/be/*.pcapng \
              dev/*.pcap dev/*.pcapng | LC_ALL=C sort); do
  err=$(mktemp)
  counts=$(tshark -r "$f" -T fields -E separator=/t -e frame.encap_type -e frame.cap_len 2>"$err" |
           awk -F'\t' '$1 != "" {n++; b+=$2} END {printf "%d,%d", n, b}')
  msg=$(grep -v '^Running as user' "$err" | tr '\n' ' ' || true)
  rm -f "$err"
  status=ok
  kind=
  if [ -n "$msg" ]; then
    status=error
    case "$msg" in
      *"isn't a capture file"*) kind="not a pcap or pcapng capture" ;;
      *"cut short in the middle of a packet"*) kind="truncated" ;;
      *"doesn't support"*) kind="unsupported" ;;
      *) kind="?"; echo "unmapped tshark message for $f: $msg" >&2 ;;
    esac
  fi
  echo "$f,$counts,$status,$kind"
done
