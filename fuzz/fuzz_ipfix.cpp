// Target: the IPFIX collector's decoder (blocks/export/ipfix_codec) and the
// mapping of data records to FlowRecords (ipfix_flow), what IPFIXSource runs
// on every datagram or framed TCP message another host sends it.
// Input (fuzz_input.hpp framing): one record per message. Record header:
// bit 0 UDP (else TCP), bits 1-2 the transport session (four exporters, so
// templates of one session must never serve another), bit 3 end the session
// after this message (a TCP disconnect), bit 4 expire UDP templates first
// (as if 31 minutes had passed).
//
// Invariants besides memory safety: a malformed message ends in one
// DecodeError with a message; every record delivered has one value per
// template field, each inside the message; a record that maps to a flow has
// an IP version of 4 or 6; the decoder never holds more templates than its
// limits allow.
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "ipfix_codec.hpp"
#include "ipfix_flow.hpp"

using namespace netloom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ipfix::Decoder::Options opt;
  opt.max_templates = 64;  // small limits, so the fuzzer can reach them
  opt.max_total_templates = 128;
  opt.max_fields = 64;
  ipfix::Decoder dec(opt);
  fuzz::Input in(data, size);
  auto now = ipfix::Decoder::Clock::time_point{} + std::chrono::hours(1);
  static const char* const kSessions[] = {"udp 192.0.2.1:4739", "udp 192.0.2.2:4739", "tcp 192.0.2.1:50000",
                                          "tcp 198.51.100.7:50001"};
  while (!in.empty()) {
    const std::uint8_t h = in.u8();
    const std::vector<std::uint8_t> msg = in.take(in.u16());
    const bool udp = h & 1;
    const std::string session = kSessions[(h >> 1) & 3];
    if (h & 16) {
      now += std::chrono::minutes(31);
      dec.expire(now);
    }
    const std::uint8_t* begin = msg.data();
    const std::uint8_t* end = begin + msg.size();
    try {
      dec.decode(
          session, udp, msg.data(), msg.size(),
          [&](const ipfix::Template& t, const std::vector<ipfix::Value>& values) {
            FUZZ_CHECK(values.size() == t.fields.size());
            for (const ipfix::Value& v : values)
              FUZZ_CHECK(v.len == 0 || (v.data >= begin && v.data + v.len <= end));
            FlowRecord r;
            std::uint64_t skipped = 0;
            if (ipfix::flow_from_record(t, values, r, &skipped))
              FUZZ_CHECK(r.key.ip_version == 4 || r.key.ip_version == 6);
          },
          now);
    } catch (const ipfix::DecodeError& e) {
      FUZZ_CHECK(e.what()[0] != '\0');
    }
    FUZZ_CHECK(dec.template_count() <= opt.max_total_templates);
    if (h & 8) dec.end_session(session);
  }
  return 0;
}
