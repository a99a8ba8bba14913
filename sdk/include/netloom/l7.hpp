// Tstat's layer-7 flow types (l7types.h ids, spec §4.4): the one number per
// flow that histograms, RRDs and per-class counters are indexed by, derived
// from the classifiers' codes in FlowLabels with Tstat's priorities.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

#include "netloom/flow.hpp"

namespace netloom::l7 {

enum Id : std::uint8_t {
  HTTP = 0,
  RTP,
  RTCP,
  ICY,
  RTSP,
  SKYPE_E2E,
  SKYPE_E2O,
  SKYPE_TCP,
  MSN,
  XMPP,
  YMSG,
  EDK,
  KAD,
  KADU,
  GNU,
  BIT,
  UTP,
  DC,
  APPLE,
  SOUL,
  WINMX,
  ARES,
  MUTE,
  WASTE,
  XDCC,
  SMTP,
  POP3,
  IMAP,
  OBF,
  PPLIVE,
  SOPCAST,
  TVANTS,
  SKYPE_SIG,
  SSL,
  OBF_KAD,
  KAZAA,
  DNS,
  SSH,
  RTMP,
  MSE,
  VOD,
  PPSTREAM,
  TEREDO,
  SIP,
  DTLS,
  QUIC,
  FB0,
  MTURN,
  SYE,
  UNKNOWN
};
inline constexpr unsigned kCount = 50;  // Tstat's L7_FLOW_TOT

inline constexpr std::array<std::string_view, kCount> kNames = {
    "HTTP",  "RTP",  "RTCP",   "ICY",     "RTSP",   "SKYPE_E2E", "SKYPE_E2O", "SKYPE_TCP", "MSN",
    "XMPP",  "YMSG", "EDK",    "KAD",     "KADU",   "GNU",       "BIT",       "UTP",       "DC",
    "APPLE", "SOUL", "WINMX",  "ARES",    "MUTE",   "WASTE",     "XDCC",      "SMTP",      "POP3",
    "IMAP",  "OBF",  "PPLIVE", "SOPCAST", "TVANTS", "SKYPE_SIG", "SSL",       "OBF_KAD",   "KAZAA",
    "DNS",   "SSH",  "RTMP",   "MSE",     "VOD",    "PPSTREAM",  "TEREDO",    "SIP",       "DTLS",
    "QUIC",  "FB0",  "MTURN",  "SYE",     "UNKNOWN"};

inline std::string_view name(unsigned id) noexcept { return id < kCount ? kNames[id] : "UNKNOWN"; }

// TCP con_type bits (Tstat protocol.h).
namespace con {
inline constexpr std::uint32_t HTTP = 1, RTSP = 2, RTP = 4, ICY = 8, RTCP = 16, MSN = 32, YMSG = 64,
                               XMPP = 128, P2P = 256, SKYPE = 512, SMTP = 1024, POP3 = 2048, IMAP = 4096,
                               SSL = 8192, OBF = 16384, SSH = 32768, RTMP = 65536, MSE = 131072, FB0 = 262144;
// Setting one of these clears the behavioural OBF and MSE guesses.
inline constexpr std::uint32_t kWeakGuesses = OBF | MSE;
}  // namespace con

// UDP c_type / s_type values (Tstat enum udp_type).
namespace udp {
enum : std::uint16_t {
  UNKNOWN = 0,
  FIRST_RTP,
  FIRST_RTCP,
  RTP,
  RTCP,
  SKYPE_E2E,
  SKYPE_OUT,
  SKYPE_SIG,
  EDK,
  KAD,
  KADU,
  GNUTELLA,
  BITTORRENT,
  DC,
  KAZAA,
  PPLIVE,
  SOPCAST,
  TVANTS,
  OKAD,
  DNS,
  UTP,
  UTPBT,
  VOD,
  PPSTREAM,
  TEREDO,
  SIP,
  DTLS,
  QUIC,
  FIRST_RTP_PLUS,
  RTP_PLUS,
  MTURN,
  SYE
};
}

// L7 id of an ipp2p protocol code (p2p_type / 100).
inline Id of_ipp2p(unsigned code) noexcept {
  switch (code) {
    case 1:
    case 3:
      return EDK;
    case 2:
    case 8:
      return KAZAA;
    case 4:
    case 5:
      return DC;
    case 6:
    case 7:
      return GNU;
    case 9:
      return BIT;
    case 10:
      return APPLE;
    case 11:
      return SOUL;
    case 12:
      return WINMX;
    case 13:
      return ARES;
    case 14:
      return MUTE;
    case 15:
      return WASTE;
    case 16:
      return XDCC;
    case 17:
      return KAD;
    case 18:
      return KADU;
    case 19:
      return PPLIVE;
    case 20:
      return SOPCAST;
    case 21:
      return TVANTS;
    case 22:
      return DNS;
    case 23:
      return PPSTREAM;
    case 24:
      return TEREDO;
    case 25:
      return SIP;
    case 26:
      return DTLS;
    case 27:
      return QUIC;
    case 28:
      return MTURN;
    default:
      return UNKNOWN;
  }
}

// L7 id of one UDP direction's type.
inline Id of_udp_type(std::uint16_t t) noexcept {
  switch (t) {
    case udp::FIRST_RTP:
    case udp::RTP:
    case udp::FIRST_RTP_PLUS:
    case udp::RTP_PLUS:
      return RTP;
    case udp::FIRST_RTCP:
    case udp::RTCP:
      return RTCP;
    case udp::SKYPE_E2E:
      return SKYPE_E2E;
    case udp::SKYPE_OUT:
      return SKYPE_E2O;
    case udp::SKYPE_SIG:
      return SKYPE_SIG;
    case udp::EDK:
      return EDK;
    case udp::KAD:
      return KAD;
    case udp::KADU:
      return KADU;
    case udp::GNUTELLA:
      return GNU;
    case udp::BITTORRENT:
      return BIT;
    case udp::DC:
      return DC;
    case udp::KAZAA:
      return KAZAA;
    case udp::PPLIVE:
      return PPLIVE;
    case udp::SOPCAST:
      return SOPCAST;
    case udp::TVANTS:
      return TVANTS;
    case udp::OKAD:
      return OBF_KAD;
    case udp::DNS:
      return DNS;
    case udp::UTP:
    case udp::UTPBT:
      return UTP;
    case udp::VOD:
      return VOD;
    case udp::PPSTREAM:
      return PPSTREAM;
    case udp::TEREDO:
      return TEREDO;
    case udp::SIP:
      return SIP;
    case udp::DTLS:
      return DTLS;
    case udp::QUIC:
      return QUIC;
    case udp::MTURN:
      return MTURN;
    case udp::SYE:
      return SYE;
    default:
      return UNKNOWN;
  }
}

// A TCP flow's L7 id from its con_type and p2p_type, with Tstat's priority
// (map_flow_type: later wins) MSE < OBF < RTMP < HTTP < RTSP < RTP < ICY <
// RTCP < MSN < YMSG < XMPP < SMTP < POP3 < IMAP < SSL < SSH < FB0 < P2P < SKYPE.
inline Id of_tcp(const FlowLabels& l) noexcept {
  const std::uint32_t c = l.con_type;
  if (c & con::SKYPE) return SKYPE_TCP;
  if (c & con::P2P) {
    const Id p = of_ipp2p(l.p2p_type / 100u);
    if (p != UNKNOWN) return p;
  }
  struct Step {
    std::uint32_t bit;
    Id id;
  };
  static constexpr Step kOrder[] = {
      {con::FB0, FB0},   {con::SSH, SSH},   {con::SSL, SSL},   {con::IMAP, IMAP}, {con::POP3, POP3},
      {con::SMTP, SMTP}, {con::XMPP, XMPP}, {con::YMSG, YMSG}, {con::MSN, MSN},   {con::RTCP, RTCP},
      {con::ICY, ICY},   {con::RTP, RTP},   {con::RTSP, RTSP}, {con::HTTP, HTTP}, {con::RTMP, RTMP},
      {con::OBF, OBF},   {con::MSE, MSE}};
  for (const Step& s : kOrder)
    if (c & s.bit) return s.id;
  return UNKNOWN;
}

// A UDP flow's L7 id: the client direction's type if known, else the server's.
inline Id of_udp(const FlowLabels& l) noexcept {
  const Id c = of_udp_type(l.udp_type[0]);
  return c != UNKNOWN ? c : of_udp_type(l.udp_type[1]);
}

inline Id of(const FlowRecord& r) noexcept {
  if (r.key.l4_proto == 6) return of_tcp(r.labels);
  if (r.key.l4_proto == 17) return of_udp(r.labels);
  return UNKNOWN;
}

}  // namespace netloom::l7
