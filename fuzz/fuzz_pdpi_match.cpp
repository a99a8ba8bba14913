// Target: the PDPI matcher (pdpi::Scanner::match) with the shipped dictionary
// (blocks/classifiers/signatures/tstat.sig), fed the payloads of one flow.
// Input (fuzz_input.hpp framing): a header byte (bit 0: UDP), the client and
// server ports (16 bits each), then one record per payload packet (header
// bit 0: the direction, 1 = server to client). Each payload is scanned the
// way the PDPI block scans a packet; a match must satisfy its signature's
// constraints.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "pdpi_signatures.hpp"

using namespace netloom;

namespace {
std::unique_ptr<pdpi::Scanner> g_scanner;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  try {
    auto db = std::make_shared<const pdpi::Database>(pdpi::load(NETLOOM_FUZZ_SIGNATURES));
    g_scanner = std::make_unique<pdpi::Scanner>(db);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_pdpi_match: %s\n", e.what());
    std::abort();
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const bool udp = in.u8() & 1;
  const std::uint16_t client_port = in.u16(), server_port = in.u16();
  const std::size_t nsigs = g_scanner->database().dictionary().sigs.size();
  fuzz::Record r;
  for (int n = 0; n < 256 && fuzz::next_record(in, r); ++n) {
    const std::uint8_t dir = r.header & 1;
    pdpi::PacketView v{r.bytes.data(),
                       static_cast<std::uint32_t>(r.bytes.size()),
                       udp,
                       dir,
                       dir ? server_port : client_port,
                       dir ? client_port : server_port};
    const int hit = g_scanner->match(v);
    FUZZ_CHECK(hit >= -1 && hit < static_cast<int>(nsigs));
    if (hit >= 0) FUZZ_CHECK(g_scanner->database().constraints_hold(static_cast<std::size_t>(hit), v));
  }
  return 0;
}
