// bench_plain_loop FILE: the baseline of the pipeline benchmark. Reads a capture
// with libpcap's pcap_next_ex and only counts packets and bytes.
#include <pcap/pcap.h>

#include <chrono>
#include <cstdio>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: bench_plain_loop FILE.pcap\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(argv[1], err);
  if (p == nullptr) {
    std::fprintf(stderr, "bench_plain_loop: %s\n", err);
    return 1;
  }
  unsigned long long packets = 0, bytes = 0;
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
    ++packets;
    bytes += h->caplen;
  }
  if (rc == PCAP_ERROR) std::fprintf(stderr, "bench_plain_loop: %s\n", pcap_geterr(p));
  pcap_close(p);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("packets=%llu bytes=%llu seconds=%.6f\n", packets, bytes, secs);
  return rc == PCAP_ERROR ? 1 : 0;
}
