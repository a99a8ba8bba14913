// netloom's IPFIX record layout: which information elements carry which
// FlowRecord fields (docs/ipfix.md has the table), the four templates the
// exporter sends, and the way back from any exporter's data record to a
// FlowRecord.
#pragma once
#include <netloom/flow.hpp>
#include <vector>

#include "ipfix_codec.hpp"

namespace netloom::ipfix {

// Private enterprise number of netloom's own information elements. 32473 is
// the number IANA reserves for documentation and examples (RFC 5612): a
// placeholder until netloom registers a PEN of its own. Collectors that do not
// know it skip these fields.
inline constexpr std::uint32_t kNetloomPen = 32473;

// IANA information elements (RFC 7012 and the IANA registry).
namespace iana {
inline constexpr std::uint16_t octetDeltaCount = 1, packetDeltaCount = 2, protocolIdentifier = 4,
                               tcpControlBits = 6, sourceTransportPort = 7, sourceIPv4Address = 8,
                               destinationTransportPort = 11, destinationIPv4Address = 12,
                               sourceIPv6Address = 27, destinationIPv6Address = 28, octetTotalCount = 85,
                               packetTotalCount = 86, flowEndReason = 136, flowStartSeconds = 150,
                               flowEndSeconds = 151, flowStartMilliseconds = 152, flowEndMilliseconds = 153,
                               flowStartMicroseconds = 154, flowEndMicroseconds = 155,
                               flowStartNanoseconds = 156, flowEndNanoseconds = 157, initiatorOctets = 231,
                               responderOctets = 232, initiatorPackets = 298, responderPackets = 299;
}  // namespace iana

// netloom's enterprise-specific elements (PEN kNetloomPen).
namespace nl {
inline constexpr std::uint16_t appLabel = 1;             // string: FlowLabels::app
inline constexpr std::uint16_t tstatConType = 2;         // unsigned32: FlowLabels::con_type
inline constexpr std::uint16_t tstatP2PType = 3;         // unsigned16: FlowLabels::p2p_type
inline constexpr std::uint16_t tstatHttpType = 4;        // unsigned16: FlowLabels::http_type
inline constexpr std::uint16_t tstatUdpTypeClient = 5;   // unsigned16: FlowLabels::udp_type[0]
inline constexpr std::uint16_t tstatUdpTypeServer = 6;   // unsigned16: FlowLabels::udp_type[1]
inline constexpr std::uint16_t flowFlags = 7;            // unsigned16: see kFlag*
inline constexpr std::uint16_t flowEnd = 8;              // unsigned8: netloom's FlowEnd code
inline constexpr std::uint16_t rttAvgClient = 9;         // float64, µs: rtt_sum_us / rtt_cnt of tcp[0]
inline constexpr std::uint16_t rttMinClient = 10;        // float64, µs
inline constexpr std::uint16_t rttMaxClient = 11;        // float64, µs
inline constexpr std::uint16_t rttSamplesClient = 12;    // unsigned64
inline constexpr std::uint16_t rttAvgServer = 13;        // float64, µs: tcp[1]
inline constexpr std::uint16_t rttMinServer = 14;        // float64, µs
inline constexpr std::uint16_t rttMaxServer = 15;        // float64, µs
inline constexpr std::uint16_t rttSamplesServer = 16;    // unsigned64
inline constexpr std::uint16_t firstPayloadClient = 17;  // unsigned64, ns since the epoch (0: never)
inline constexpr std::uint16_t lastPayloadClient = 18;   // unsigned64, ns
inline constexpr std::uint16_t firstPayloadServer = 19;  // unsigned64, ns
inline constexpr std::uint16_t lastPayloadServer = 20;   // unsigned64, ns
inline constexpr std::uint16_t firstAckClient = 21;      // unsigned64, ns
inline constexpr std::uint16_t firstAckServer = 22;      // unsigned64, ns
inline constexpr std::uint16_t firstPacketClient = 23;   // unsigned64, ns: udp[0].first_ns
inline constexpr std::uint16_t lastPacketClient = 24;    // unsigned64, ns
inline constexpr std::uint16_t firstPacketServer = 25;   // unsigned64, ns: udp[1]
inline constexpr std::uint16_t lastPacketServer = 26;    // unsigned64, ns
inline constexpr std::uint16_t tlsServerName = 27;       // string: L7Facts::tls_sni
inline constexpr std::uint16_t httpHost = 28;            // string: L7Facts::http_host
}  // namespace nl

// flowFlags bits.
inline constexpr std::uint16_t kFlagClientInternal = 1, kFlagServerInternal = 2, kFlagClientCrypto = 4,
                               kFlagServerCrypto = 8, kFlagComplete = 16, kFlagMidstream = 32;

// Strings longer than this are cut (a record must fit in one message).
inline constexpr std::size_t kMaxString = 255;

// Template IDs of the four layouts.
enum class Layout : std::uint16_t { tcp4 = 256, tcp6 = 257, udp4 = 258, udp6 = 259 };

const std::vector<Template>& export_templates();
const Template& export_template(Layout l);
Layout layout_of(const FlowRecord& r);
// Appends r as a data record of layout l's template.
void put_record(Bytes& b, const FlowRecord& r, Layout l);
// Bytes put_record would append.
std::size_t record_len(const FlowRecord& r, Layout l);

// RFC 5102 flowEndReason for a FlowEnd, and back.
std::uint8_t end_reason(FlowEnd e);
FlowEnd flow_end_from_reason(std::uint8_t reason);

// tcpControlBits: the flags seen in either direction, from the per-direction
// counters (FIN, SYN, RST, PSH, ACK).
std::uint16_t tcp_flags(const FlowRecord& r);

// A data record of any exporter's template as a FlowRecord: the 5-tuple,
// counters and times from the IANA elements (forward = client, RFC 5103
// reverse elements = server), the rest from netloom's elements when present.
// False when the record has no IP addresses (not a flow). `skipped` counts
// the fields not understood.
bool flow_from_record(const Template& t, const std::vector<Value>& values, FlowRecord& out,
                      std::uint64_t* skipped = nullptr);

}  // namespace netloom::ipfix
