// PDPI: the signature dictionary parser, every shipped signature on
// hand-built payloads, the block behind a real FlowTracker, and per-class
// accuracy on the dev captures (labels from nDPI).
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "pcap_builder.hpp"
#include "pcapio.hpp"
#include "pdpi_signatures.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::testing;

namespace {

std::string error_of(const std::string& text) {
  try {
    pdpi::Database db(pdpi::parse(text, "t.sig"));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kHead = "netloom-signatures 1\n";

}  // namespace

// ------------------------------------------------------------------ parser

TEST(PdpiParser, ParsesAValidFile) {
  auto d = pdpi::parse(std::string(kHead) +
                           "# comment\n"
                           "\n"
                           "a  App  udp c2s udp=19 minlen=3 maxlen=9 len=4|5 port=53 noport=7 lenmod=2:3 "
                           "lenfield=0:le:-1|2 /^ab c/is\n"
                           "  b Other tcp any con=256,p2p=901 /x\\/y/\n"
                           "c Third any s2c - /^z/m\n",
                       "t.sig");
  ASSERT_EQ(d.sigs.size(), 3u);
  const auto& a = d.sigs[0];
  EXPECT_EQ(a.name, "a");
  EXPECT_EQ(a.app, "App");
  EXPECT_EQ(a.l4, pdpi::L4::udp);
  EXPECT_EQ(a.dir, pdpi::Dir::c2s);
  EXPECT_EQ(a.udp_type, 19);
  EXPECT_EQ(a.min_len, 3u);
  EXPECT_EQ(a.max_len, 9u);
  EXPECT_EQ(a.lens, (std::vector<std::uint32_t>{4, 5}));
  EXPECT_EQ(a.ports, (std::vector<std::uint16_t>{53}));
  EXPECT_EQ(a.noports, (std::vector<std::uint16_t>{7}));
  EXPECT_EQ(a.lenmod_base, 2u);
  EXPECT_EQ(a.lenmod_step, 3u);
  ASSERT_EQ(a.lenfields.size(), 1u);
  EXPECT_TRUE(a.lenfields[0].little);
  EXPECT_EQ(a.lenfields[0].deltas, (std::vector<int>{-1, 2}));
  EXPECT_EQ(a.pattern, "^ab c");
  EXPECT_EQ(a.flags_text, "is");
  EXPECT_EQ(a.line, 4u);
  EXPECT_EQ(d.sigs[1].con_type, 256u);
  EXPECT_EQ(d.sigs[1].p2p_type, 901);
  EXPECT_EQ(d.sigs[1].pattern, "x\\/y");
  EXPECT_EQ(d.sigs[1].line, 5u);
  EXPECT_EQ(d.sigs[2].dir, pdpi::Dir::s2c);
  EXPECT_EQ(d.sigs[2].udp_type, 0);
  pdpi::Database db(std::move(d));  // compiles
}

TEST(PdpiParser, ReportsEveryErrorWithItsLine) {
  const std::string h = kHead;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "t.sig:1: expected header 'netloom-signatures 1'"},
      {"netloom-signatures\n", "t.sig:1: expected header 'netloom-signatures 1'"},
      {"netloom-signatures 2\n", "t.sig:1: unsupported signature format version 2 (this netloom reads 1)"},
      {"signatures 1\n", "t.sig:1: expected header 'netloom-signatures 1'"},
      {h, "t.sig:1: no signatures"},
      {h + "#\na A udp any /x/\n", "t.sig:3: expected NAME APP L4 DIR CODES [OPTIONS] /REGEX/FLAGS"},
      {h + "a A sctp any - /x/\n", "t.sig:2: l4 must be tcp, udp or any, not 'sctp'"},
      {h + "a A udp up - /x/\n", "t.sig:2: direction must be any, c2s or s2c, not 'up'"},
      {h + "a A udp any foo=1 /x/\n", "t.sig:2: unknown code 'foo=1' (expected udp=N, con=N, p2p=N or -)"},
      {h + "a A udp any udp=32 /x/\n", "t.sig:2: bad udp type '32' (expected 1..31)"},
      {h + "a A tcp any p2p=12 /x/\n", "t.sig:2: bad p2p type '12' (expected 100..9999)"},
      {h + "a A udp any - size=3 /x/\n", "t.sig:2: unknown option 'size=3'"},
      {h + "a A udp any - minlen=x /x/\n", "t.sig:2: bad minlen 'x' (expected 0..65535)"},
      {h + "a A udp any - lenfield=1:xx:0 /x/\n",
       "t.sig:2: lenfield must be OFFSET:be|le:DELTA[|DELTA...], not '1:xx:0'"},
      {h + "a A udp any - lenmod=3 /x/\n", "t.sig:2: lenmod must be BASE:STEP, not '3'"},
      {h + "a A udp any - minlen=1\n", "t.sig:2: missing /REGEX/FLAGS"},
      {h + "a A udp any - /x\n", "t.sig:2: pattern must end with /FLAGS"},
      {h + "a A udp any - //\n", "t.sig:2: empty pattern"},
      {h + "a A udp any - /x/q\n", "t.sig:2: unknown regex flag 'q' (allowed: i, s, m)"},
      {h + "a A udp any - /x/\n\na B tcp any - /y/\n",
       "t.sig:4: duplicate signature name 'a' (first on line 2)"},
  };
  for (const auto& [text, msg] : cases) EXPECT_EQ(error_of(text), msg) << text;
}

TEST(PdpiParser, MapsHyperscanErrorsToTheLine) {
  const std::string e = error_of(std::string(kHead) + "ok A udp any - /^abc/\n# c\nbad A udp any - /a(b/\n");
  EXPECT_EQ(e.rfind("t.sig:4: signature 'bad': ", 0), 0u) << e;
  EXPECT_NE(e.find("parenthes"), std::string::npos) << e;  // Hyperscan's own words
}

TEST(PdpiParser, ShippedDictionaryCompiles) {
  pdpi::Database db(pdpi::load(NETLOOM_PDPI_SIGNATURES));
  EXPECT_GE(db.dictionary().sigs.size(), 50u);
}

// ------------------------------------------------------ shipped signatures

namespace {

struct Probe {
  Bytes payload;
  bool udp = true;
  std::uint8_t dir = 0;
  std::uint16_t sport = 40000, dport = 40001;
};

class Shipped : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = std::make_shared<const pdpi::Database>(pdpi::load(NETLOOM_PDPI_SIGNATURES));
  }
  std::string hit(const Probe& p) {
    pdpi::Scanner s(db_);
    pdpi::PacketView v{p.payload.data(), static_cast<std::uint32_t>(p.payload.size()), p.udp, p.dir, p.sport,
                       p.dport};
    int i = s.match(v);
    return i < 0 ? "-" : db_->dictionary().sigs[static_cast<std::size_t>(i)].name;
  }
  static std::shared_ptr<const pdpi::Database> db_;
};
std::shared_ptr<const pdpi::Database> Shipped::db_;

Bytes str(const std::string& s) { return Bytes(s.begin(), s.end()); }
Bytes hex(std::initializer_list<int> v) {
  Bytes b;
  for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
  return b;
}
Bytes pad(Bytes b, std::size_t n, std::uint8_t fill = 0x55) {
  b.resize(n, fill);
  return b;
}
Bytes dns_query(const std::string& first_label) {
  Bytes b = hex({0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0});
  b.push_back(static_cast<std::uint8_t>(first_label.size()));
  for (char c : first_label) b.push_back(static_cast<std::uint8_t>(c));
  append(b, hex({3, 'c', 'o', 'm', 0, 0, 1, 0, 1}));
  return b;
}
void set16be(Bytes& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>(v >> 8);
  b[at + 1] = static_cast<std::uint8_t>(v);
}
void set16le(Bytes& b, std::size_t at, unsigned v) {
  b[at] = static_cast<std::uint8_t>(v);
  b[at + 1] = static_cast<std::uint8_t>(v >> 8);
}
Bytes stun(bool cookie) {
  Bytes b = pad(hex({0x00, 0x01, 0, 0}), 28);
  set16be(b, 2, 8);
  if (cookie) {
    b[4] = 0x21, b[5] = 0x12, b[6] = 0xa4, b[7] = 0x42;
  }
  return b;
}
Bytes edk_tcp(std::uint8_t proto, std::uint8_t opcode, std::size_t n) {
  Bytes b = pad(hex({proto, 0, 0, 0, 0, opcode}), n);
  set16le(b, 1, static_cast<unsigned>(n - 5));
  return b;
}
Bytes gnutella_msg(std::uint8_t type, std::size_t body) {
  Bytes b = pad({}, 16, 0xab);
  append(b, hex({type, 7, 0, 0, 0, 0, 0}));
  set16le(b, 19, static_cast<unsigned>(body));
  return pad(b, 23 + body, 0x41);
}
Bytes ipv6_head(std::uint8_t next, std::uint8_t pfx0 = 0x20, std::uint8_t pfx1 = 0x01) {
  Bytes b = hex({0x60, 0, 0, 0, 0, 0, next, 64, pfx0, pfx1, 0, 0});
  return pad(b, 40, 0x11);
}
Bytes quic_initial(std::uint32_t version, std::uint8_t first = 0xc3) {
  Bytes b = hex({first, static_cast<int>(version >> 24), static_cast<int>((version >> 16) & 0xff),
                 static_cast<int>((version >> 8) & 0xff), static_cast<int>(version & 0xff), 8});
  return pad(b, 1250, 0x9c);
}

}  // namespace

TEST_F(Shipped, Naming) {
  EXPECT_EQ(hit({dns_query("www")}), "dns");
  EXPECT_EQ(hit({dns_query("www"), true, 0, 5353, 5353}), "mdns");
  EXPECT_EQ(hit({dns_query("-x")}), "-");          // label must start alphanumeric
  EXPECT_EQ(hit({dns_query("www"), false}), "-");  // UDP only
  Bytes three = dns_query("www");
  three[5] = 3;
  EXPECT_EQ(hit({three}), "-");  // three questions
}

TEST_F(Shipped, StunAndTurn) {
  EXPECT_EQ(hit({stun(true)}), "stun");
  EXPECT_EQ(hit({stun(false)}), "stun-classic");
  Bytes bad = stun(true);
  set16be(bad, 2, 12);  // length field disagrees
  EXPECT_EQ(hit({bad}), "-");
  Bytes mt = pad(hex({0xff, 0x10, 0, 0}), 40);
  set16be(mt, 2, 36);
  EXPECT_EQ(hit({mt}), "mturn");
  set16be(mt, 2, 40);
  EXPECT_EQ(hit({mt}), "-");
}

TEST_F(Shipped, BitTorrentUdp) {
  EXPECT_EQ(hit({str("d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe")}), "bt-dht");
  EXPECT_EQ(hit({str("d1:rd2:id20:abcdefghij0123456789e1:t2:aa1:y1:re")}), "bt-dht");
  EXPECT_EQ(hit({str("d1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee")}), "bt-dht-krpc");
  EXPECT_EQ(hit({str("d1:xd2:id20:abcdefghij0123456789e")}), "-");
  EXPECT_EQ(hit({pad(hex({0x80, 1, 2, 3, 4, 5, 6, 7, 0, 0, 4, 0x02}), 40)}), "bt-vuze-req");
  EXPECT_EQ(hit({pad(hex({0x00, 1, 2, 3, 4, 5, 6, 7, 0, 0, 4, 0x02}), 40)}), "-");
  EXPECT_EQ(hit({pad(hex({0, 0, 4, 0x05, 1, 2, 3, 4, 0x90}), 40)}), "bt-vuze-reply");
  EXPECT_EQ(hit({pad(hex({0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80}), 16)}), "bt-tracker-udp");
  EXPECT_EQ(hit({pad(hex({0, 0, 4, 0x17, 0x27, 0x10, 0x19, 0x80}), 17)}), "-");
  Bytes utp = pad(hex({0x01, 0x00}), 20, 0);
  append(utp, str("\x13"
                  "BitTorrent protocol"));
  EXPECT_EQ(hit({pad(utp, 88)}), "utp-bt");
  EXPECT_EQ(hit({pad(hex({0x41, 0x00, 0x12, 0x34}), 20)}), "utp-syn");
  EXPECT_EQ(hit({pad(hex({0x41, 0x00, 0x12, 0x34}), 21)}), "-");
}

TEST_F(Shipped, EdonkeyKadUdp) {
  EXPECT_EQ(hit({pad(hex({0xe3, 0x92}), 10)}), "edk-srv");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x96}), 6)}), "edk-srv-96");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x96}), 7)}), "-");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x97}), 18)}), "edk-srv-97");
  EXPECT_EQ(hit({pad(hex({0xe3, 0xa2, 0xff, 0xf0}), 6)}), "edk-srv-a2");
  EXPECT_EQ(hit({pad(hex({0xe3, 0xa3, 0xff, 0xf0}), 60)}), "edk-srv-a3");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x9a}), 34)}), "edk-srv-9a");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x9a}), 35)}), "-");
  EXPECT_EQ(hit({pad(hex({0xe3, 0x9b}), 31)}), "edk-srv-9b");
  EXPECT_EQ(hit({pad(hex({0xc5, 0x90}), 30)}), "emule-ext");
  EXPECT_EQ(hit({pad(hex({0xc5, 0xfe}), 3)}), "emule-ext-fe");
  EXPECT_EQ(hit({pad(hex({0xc5, 0x92}), 2)}), "emule-ext-92");
  EXPECT_EQ(hit({pad(hex({0xc5, 0x95}), 21)}), "emule-ext-95");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x01}), 2)}), "kad-bootstrap");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x09}), 23 + 50)}), "kad-bootstrap-res");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x11}), 30)}), "kad-hello");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x21, 0x0b}), 35)}), "kad-req");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x21, 0x00}), 35)}), "-");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x29}), 19 + 75)}), "kad-res");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x29}), 19 + 74)}), "-");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x60}), 2)}), "kad-ping");
  EXPECT_EQ(hit({pad(hex({0xe4, 0x50}), 4)}), "kad-firewalled");
  EXPECT_EQ(hit({pad(hex({0xa4, 0x00}), 27)}), "kadu-bootstrap");
  EXPECT_EQ(hit({pad(hex({0xa4, 0x19}), 40)}), "kadu-hello");
  EXPECT_EQ(hit({pad(hex({0xa4, 0x21, 0x02}), 35)}), "kadu-req");
  EXPECT_EQ(hit({pad(hex({0xa4, 0x29}), 19)}), "kadu-res");
  EXPECT_EQ(hit({pad(hex({0xa4, 0x61}), 2)}), "kadu-ping");
  EXPECT_EQ(hit({pad(hex({0xe5, 0x29, 0x78, 0xda}), 40)}), "kad-packed");
  EXPECT_EQ(hit({pad(hex({0xa5, 0x29, 0x78, 0x9c}), 40)}), "kadu-packed");
  EXPECT_EQ(hit({pad(hex({0xa5, 0x29, 0x78, 0x00}), 40)}), "-");
}

TEST_F(Shipped, Gnutella) {
  EXPECT_EQ(hit({pad(str("GND"), 20, 0)}), "gnutella-gnd");
  EXPECT_EQ(hit({str("GNUTELLA CONNECT/0.6\r\n")}), "gnutella-gnd");
  EXPECT_EQ(hit({gnutella_msg(0x80, 30)}), "gnutella-msg");
  Bytes wrong = gnutella_msg(0x80, 30);
  wrong.push_back(0);  // length field now disagrees
  EXPECT_EQ(hit({wrong}), "-");
  EXPECT_EQ(hit({str("GNUTELLA CONNECT/0.6\r\nUser-Agent: x\r\n\r\n"), false}), "gnutella-hs");
  EXPECT_EQ(hit({str("GNUTELLA/0.6 200 OK\r\n\r\n"), false}), "gnutella-hs");
  EXPECT_EQ(hit({str("GNUTELLA/1.0 200 OK\r\n\r\n"), false}), "-");
  EXPECT_EQ(hit({str("GET /uri-res/N2R?urn:sha1:ABCDEF HTTP/1.1\r\n"), false}), "gnutella-get");
  EXPECT_EQ(hit({str("GET /get/12/file.mp3 HTTP/1.1\r\n"), false}), "gnutella-get");
  EXPECT_EQ(hit({str("GET /get/12/file.mp3 HTTP/1.1\r\n"), false, 1}), "-");  // c2s only
  EXPECT_EQ(hit({str("GIV 7:0123456789ABCDEF0123456789abcdef/file\n\n"), false}), "gnutella-giv");
}

TEST_F(Shipped, P2PTV) {
  EXPECT_EQ(hit({pad(hex({0xe9, 0x03, 1, 2, 0x98, 0xab, 0x01, 0x02}), 30)}), "pplive");
  EXPECT_EQ(hit({pad(hex({0xe9, 0x03, 1, 2, 0x98, 0xab, 0x01, 0x02}), 30), true, 0, 53, 4000}), "-");
  Bytes sa = pad(hex({0x00, 7, 0x01, 0, 0, 0, 0, 0, 0x06, 0x01}), 40);
  set16be(sa, 10, 32);
  EXPECT_EQ(hit({sa}), "sopcast-a");
  set16be(sa, 10, 33);
  EXPECT_EQ(hit({sa}), "-");
  Bytes sb = pad(hex({0xff, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x00}), 30);
  set16be(sb, 10, 22);
  EXPECT_EQ(hit({sb}), "sopcast-b");
  EXPECT_EQ(hit({pad(hex({0x04, 0, 0x07, 0, 9, 9, 0, 0, 0x53, 0x53, 0, 0x12, 0}), 40)}), "tvants");
  EXPECT_EQ(hit({pad(hex({0x04, 0, 0x07, 0, 9, 9, 0, 0, 0x53, 0x53, 0, 0x14, 0}), 40)}), "-");
  Bytes pps = pad(hex({0, 0, 0x43}), 50);
  set16le(pps, 0, 46);
  EXPECT_EQ(hit({pps}), "ppstream");
  set16le(pps, 0, 47);
  EXPECT_EQ(hit({pps}), "-");
}

TEST_F(Shipped, TunnelsVoipDtls) {
  EXPECT_EQ(hit({ipv6_head(6)}), "teredo");
  Bytes orig = hex({0, 0, 0x12, 0x34, 1, 2, 3, 4});
  append(orig, ipv6_head(17));
  EXPECT_EQ(hit({orig}), "teredo");
  EXPECT_EQ(hit({ipv6_head(6, 0x20, 0x02)}), "-");  // 6to4, not Teredo
  Bytes bubble = ipv6_head(59, 0xfe, 0x80);
  EXPECT_EQ(hit({bubble}), "teredo-bubble");
  EXPECT_EQ(hit({str("INVITE sip:bob@example.com SIP/2.0\r\nVia: x\r\n")}), "sip");
  EXPECT_EQ(hit({str("SIP/2.0 200 OK\r\nVia: x\r\n")}), "sip");
  EXPECT_EQ(hit({str("REGISTER sip:example.com SIP/2.0\r\n"), false}), "sip");
  EXPECT_EQ(hit({str("INVITE http://example.com HTTP/1.1\r\n")}), "-");
  EXPECT_EQ(hit({pad(hex({0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x80, 0x01}), 141)}),
            "dtls-handshake");
  EXPECT_EQ(hit({pad(hex({0x16, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0x40, 0x80, 0x01}), 141)}), "-");
  Bytes app = pad(hex({0x17, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 7}), 113);
  set16be(app, 11, 100);
  EXPECT_EQ(hit({app}), "dtls-record");
  set16be(app, 11, 101);
  EXPECT_EQ(hit({app}), "-");
}

TEST_F(Shipped, Quic) {
  EXPECT_EQ(hit({quic_initial(0x00000001)}), "quic-initial");
  EXPECT_EQ(hit({quic_initial(0xff00001d)}), "quic-initial");
  EXPECT_EQ(hit({quic_initial(0x6b3343cf, 0xd3)}), "quic-v2");
  EXPECT_EQ(hit({quic_initial(0x00000002)}), "-");
  EXPECT_EQ(hit({quic_initial(0x00000001, 0x43)}), "-");  // short header
  Bytes g = pad(hex({0x0d, 1, 2, 3, 4, 5, 6, 7, 8, 'Q', '0', '4', '3'}), 1350);
  EXPECT_EQ(hit({g}), "gquic-old");
  EXPECT_EQ(hit({g, true, 1}), "-");
  EXPECT_EQ(hit({pad(hex({0xc3, 'Q', '0', '5', '0', 8}), 1350)}), "gquic-long");
}

TEST_F(Shipped, TcpP2P) {
  EXPECT_EQ(hit({pad(str("\x13"
                         "BitTorrent protocol"),
                     68, 0),
                 false}),
            "bt-handshake");
  EXPECT_EQ(hit({pad(str("\x13"
                         "BitTorrent protocol"),
                     68, 0),
                 true}),
            "-");  // TCP only
  EXPECT_EQ(hit({str("GET /announce?info_hash=%12%34&peer_id=x HTTP/1.1\r\n"), false}), "bt-tracker");
  EXPECT_EQ(hit({str("GET /announce.php?passkey=abc HTTP/1.1\r\n"), false}), "bt-tracker");
  EXPECT_EQ(hit({str("GET /announcements?x=1 HTTP/1.1\r\n"), false}), "-");
  EXPECT_EQ(hit({hex({0, 0, 0, 0x0d, 0x06, 0, 0, 0, 5, 0, 1, 0, 0, 0, 0, 0x40, 0}), false}), "bt-request");
  EXPECT_EQ(hit({edk_tcp(0xe3, 0x01, 80), false}), "edk-hello");
  EXPECT_EQ(hit({edk_tcp(0xc5, 0x01, 80), false}), "edk-hello-emule");
  EXPECT_EQ(hit({edk_tcp(0xd4, 0x40, 80), false}), "edk-part-packed");
  EXPECT_EQ(hit({edk_tcp(0xe3, 0x46, 80), false}), "edk-part");
  EXPECT_EQ(hit({edk_tcp(0xe3, 0x58, 40), false}), "edk-msg");
  Bytes longer = edk_tcp(0xe3, 0x58, 40);
  set16le(longer, 1, 1000);
  EXPECT_EQ(hit({longer, false}), "edk-long");
  Bytes junk = edk_tcp(0xe3, 0x33, 40);
  set16le(junk, 1, 1000);
  EXPECT_EQ(hit({junk, false}), "-");
  EXPECT_EQ(hit({edk_tcp(0xe3, 0x01, 20), false}), "-");  // Tstat: payload > 20
}

// Random-looking payloads must not hit anything (guards against loose patterns).
TEST_F(Shipped, PseudoRandomPayloadsStayUnknown) {
  std::uint32_t x = 12345;
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes b(20 + i % 1300);
    for (auto& c : b) {
      x = x * 1103515245u + 12345u;
      c = static_cast<std::uint8_t>(x >> 16);
    }
    Probe p{b, i % 2 == 0, static_cast<std::uint8_t>(i % 3 == 0)};
    if (hit(p) != "-") ++hits;
  }
  EXPECT_LE(hits, 2);
}

// --------------------------------------------------- the block, end to end

namespace {

constexpr std::uint64_t kSec = 1000000000ULL;

struct Collect : Emit {
  std::vector<std::shared_ptr<PacketBatch>> batches;
  std::vector<FlowRecord> records;
  std::vector<ClassificationEvent> events;
  void operator()(unsigned port, MessagePtr msg) override {
    if (port == 0)
      batches.push_back(std::static_pointer_cast<PacketBatch>(msg));
    else if (port == 1)
      for (const auto& r : msg->as<FlowBatch>().records) records.push_back(r);
    else
      for (const auto& e : msg->as<ClassificationBatch>().events) events.push_back(e);
  }
};

test::PluginFile& flow_plugin() {
  static test::PluginFile p("netloom_flow.so");
  return p;
}
test::PluginFile& pdpi_plugin() {
  static test::PluginFile p("netloom_pdpi.so");
  return p;
}

// FlowTracker -> PDPI, fed like the runtime feeds them (packet-time timers).
struct Chain {
  test::FakeContext tctx, pctx;
  std::unique_ptr<Block> tracker, pdpi;
  Collect mid, out;
  std::uint64_t clock = 0;

  explicit Chain(const std::map<std::string, ParamValue>& over = {}) {
    tctx.id = "trk";
    tctx.batch = 256;
    pctx.id = "pdpi";
    tracker = test::make_block(flow_plugin().factory(), tctx, {{"gc_trigger", std::string("new_flow")}});
    pctx.slots = tctx.slots;
    pdpi = test::make_block(pdpi_plugin().factory(), pctx, over);
  }
  void pass() {
    for (auto& b : mid.batches) pdpi->receive(0, b, out);
    mid.batches.clear();
  }
  void feed(std::shared_ptr<PacketBatch> b) {
    if (!b->packets.empty()) {
      b->clock_ns = b->packets.back().ts_ns;
      const std::uint64_t t = b->packets.front().ts_ns;
      if (t > clock) {
        clock = t;
        for (auto& tm : tctx.timers) {
          if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
          while (tm.next <= t) {
            tracker->on_timer(tm.id, tm.next, mid);
            tm.next += tm.period;
          }
        }
      }
    }
    tracker->receive(0, b, mid);
    pass();
  }
  void flush() {
    tracker->flush(mid);
    pass();
    pdpi->flush(out);
  }
};

std::shared_ptr<PacketBatch> batch_of(const std::vector<std::pair<std::uint64_t, Bytes>>& frames) {
  auto b = std::make_shared<PacketBatch>();
  std::size_t total = 0;
  for (const auto& f : frames) total += f.second.size();
  b->buffer.reserve(total + 1);
  for (const auto& [ts, bytes] : frames) {
    Packet& p = b->append(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    p.ts_ns = ts;
    p.wirelen = p.caplen;
    p.linktype = 1;
    decode::decode_packet(p);
  }
  return b;
}

Bytes udp4(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, const Bytes& pl) {
  return eth(kEtherIpv4, ipv4(s, d, kIpUdp, udp(sp, dp, pl)));
}

}  // namespace

TEST(PdpiBlock, DescribesItself) {
  BlockInfo info = pdpi_plugin().factory().info();
  EXPECT_EQ(info.type, "PDPI");
  EXPECT_EQ(info.threading, Threading::replicable);
  ASSERT_EQ(info.inputs.size(), 1u);
  ASSERT_EQ(info.outputs.size(), 3u);
  EXPECT_EQ(info.outputs[1].type, "FlowBatch");
  EXPECT_EQ(info.outputs[2].type, "ClassificationBatch");
  test::FakeContext ctx;
  EXPECT_THROW(
      test::make_block(pdpi_plugin().factory(), ctx, {{"signatures", std::string("/nonexistent.sig")}}),
      ConfigError);
}

TEST(PdpiBlock, LabelsEachUdpDirectionAndForwardsTheBatch) {
  Chain c;
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Bytes resp = dns_query("www");
  resp[2] = 0x81;
  auto b = batch_of({{1 * kSec, udp4(A, 5000, B, 53, dns_query("www"))},
                     {1 * kSec + 1000, udp4(B, 53, A, 5000, resp)},
                     {2 * kSec, udp4(A, 6000, B, 3478, stun(true))},
                     {3 * kSec, udp4(A, 7000, B, 7001, filler(100))}});
  c.feed(b);
  c.flush();
  ASSERT_FALSE(c.out.batches.empty());
  EXPECT_EQ(c.out.batches.front().get(), b.get());  // the same message, forwarded
  ASSERT_EQ(c.out.records.size(), 3u);
  std::map<std::uint16_t, FlowLabels> by_port;
  for (const auto& r : c.out.records) by_port[r.key.server_port] = r.labels;
  EXPECT_EQ(by_port[53].udp_type, (std::array<std::uint16_t, 2>{19, 19}));
  EXPECT_EQ(by_port[53].app, "DNS");
  EXPECT_EQ(by_port[3478].udp_type, (std::array<std::uint16_t, 2>{0, 0}));  // STUN: no Tstat code
  EXPECT_EQ(by_port[3478].app, "STUN");
  EXPECT_EQ(by_port[7001].app, "");
  EXPECT_EQ(c.pctx.value("flows_inspected"), 3u);
  EXPECT_EQ(c.pctx.value("flows_classified"), 2u);
  EXPECT_EQ(c.pctx.value("packets_scanned"), 4u);
}

TEST(PdpiBlock, TcpP2PSetsConTypeAndP2PType) {
  Chain c;
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  auto seg = [&](bool c2s, std::uint8_t fl, std::uint32_t seq, std::uint32_t ack, const Bytes& pl) {
    return c2s ? eth(kEtherIpv4, ipv4(A, B, kIpTcp, tcp(40000, 6881, fl, pl, 0, seq, ack)))
               : eth(kEtherIpv4, ipv4(B, A, kIpTcp, tcp(6881, 40000, fl, pl, 0, seq, ack)));
  };
  Bytes hs = pad(str("\x13"
                     "BitTorrent protocol"),
                 68, 0);
  c.feed(batch_of({{kSec, seg(true, kTcpSyn, 100, 0, {})},
                   {kSec + 10, seg(false, kTcpSyn | kTcpAck, 500, 101, {})},
                   {kSec + 20, seg(true, kTcpAck, 101, 501, {})},
                   {kSec + 30, seg(true, kTcpAck | kTcpPsh, 101, 501, filler(30))},
                   {kSec + 40, seg(true, kTcpAck | kTcpPsh, 131, 501, hs)}}));
  c.flush();
  ASSERT_EQ(c.out.records.size(), 1u);
  EXPECT_EQ(c.out.records[0].labels.con_type, 256u);
  EXPECT_EQ(c.out.records[0].labels.p2p_type, 901);
  EXPECT_EQ(c.out.records[0].labels.app, "BitTorrent");
  EXPECT_EQ(c.pctx.value("packets_scanned"), 2u);
}

TEST(PdpiBlock, StopsAfterThePacketBudget) {
  Chain c({{"max_packets", std::int64_t{2}}});
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  c.feed(batch_of({{kSec, udp4(A, 5000, B, 5001, filler(40))},
                   {kSec + 1, udp4(A, 5000, B, 5001, filler(40))},
                   {kSec + 2, udp4(A, 5000, B, 5001, dns_query("late"))}}));
  c.flush();
  ASSERT_EQ(c.out.records.size(), 1u);
  EXPECT_EQ(c.out.records[0].labels.udp_type[0], 0);
  EXPECT_EQ(c.pctx.value("packets_scanned"), 2u);
}

// A flow with nothing left to scan is marked done (FlowContext::done), so
// that its next packets are skipped without reading PDPI's state.
TEST(PdpiBlock, MarksAFlowDoneWhenNothingIsLeftToScan) {
  Chain c({{"max_packets", std::int64_t{2}}});
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  c.feed(
      batch_of({{kSec, udp4(A, 5000, B, 5001, filler(40))}, {kSec + 1, udp4(A, 5000, B, 5001, filler(40))}}));
  ASSERT_FALSE(c.out.batches.empty());
  const FlowContext* f = c.out.batches.back()->packets[0].flow;
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->done, 0u);  // the other direction has not been scanned yet
  c.feed(batch_of({{kSec + 2, udp4(B, 5001, A, 5000, dns_query("one"))},
                   {kSec + 3, udp4(A, 5000, B, 5001, dns_query("late"))}}));
  EXPECT_NE(f->done, 0u);  // client: past its budget; server: classified
  c.feed(batch_of({{kSec + 4, udp4(B, 5001, A, 5000, dns_query("two"))}}));
  c.flush();
  ASSERT_EQ(c.out.records.size(), 1u);
  EXPECT_EQ(c.out.records[0].labels.udp_type, (std::array<std::uint16_t, 2>{0, 19}));
  EXPECT_EQ(c.pctx.value("packets_scanned"), 3u);
}

// ------------------------------------------------- accuracy on dev captures

namespace {

std::string ip_text(const IpAddr& a, int ver) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ver == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
  return ver == 6 ? "[" + std::string(buf) + "]" : std::string(buf);
}

std::vector<std::string> csv(const std::string& line) {
  std::vector<std::string> out{""};
  bool quoted = false;
  for (char ch : line) {
    if (ch == '"')
      quoted = !quoted;
    else if (ch == ',' && !quoted)
      out.emplace_back();
    else if (ch != '\r')
      out.back() += ch;
  }
  return out;
}

// nDPI classes of each labelled flow: "L4 a:p b:p" (both orientations) -> classes.
struct Truth {
  std::set<std::string> classes;
  std::string label;  // nDPI's own name (counts as right for apps outside the class list, e.g. LLMNR)
};
std::map<std::string, Truth> read_labels(const fs::path& file) {
  std::map<std::string, Truth> out;
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  auto head = csv(line);
  auto col = [&](const char* n) { return std::find(head.begin(), head.end(), n) - head.begin(); };
  const auto l4 = col("l4"), cl = col("client"), sv = col("server"), cls = col("classes"), lb = col("label");
  while (std::getline(in, line)) {
    auto f = csv(line);
    if (f.size() <= static_cast<std::size_t>(cls)) continue;
    std::set<std::string> classes;
    std::stringstream ss(f[cls]);
    for (std::string c; std::getline(ss, c, ';');)
      if (!c.empty()) classes.insert(c);
    out[f[l4] + " " + f[cl] + " " + f[sv]] = {classes, f[lb]};
    out[f[l4] + " " + f[sv] + " " + f[cl]] = {classes, f[lb]};
  }
  return out;
}

// Which corpus class an app name counts for.
std::string class_of(const std::string& app) { return app; }

struct Score {
  std::uint64_t tp = 0, fp = 0, fn = 0;
};

std::vector<FlowRecord> classify_capture(const fs::path& capture) {
  Chain c;
  test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) { c.feed(b); });
  c.flush();
  c.out.batches.clear();
  return c.out.records;
}

}  // namespace

TEST(PdpiCorpus, PerClassAccuracyOnDevCaptures) {
  const fs::path dev = test::corpus_root() / "dev";
  if (!fs::is_directory(dev)) GTEST_SKIP() << "corpus not found at " << dev << " (set NETLOOM_CORPUS)";
  std::map<std::string, Score> score;
  std::map<std::string, std::vector<std::string>> fps;
  std::uint64_t matched = 0, unmatched = 0;
  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(dev))
    if (e.path().extension() == ".pcap" || e.path().extension() == ".pcapng") captures.push_back(e.path());
  std::sort(captures.begin(), captures.end());
  for (const auto& cap : captures) {
    const fs::path lab = cap.string() + ".labels.csv";
    if (!fs::exists(lab)) continue;
    auto labels = read_labels(lab);
    for (const FlowRecord& r : classify_capture(cap)) {
      const int v = r.key.ip_version;
      const std::string l4 = r.key.l4_proto == 17 ? "UDP" : r.key.l4_proto == 6 ? "TCP" : "";
      if (l4.empty()) continue;
      const std::string key = l4 + " " + ip_text(r.key.client, v) + ":" + std::to_string(r.key.client_port) +
                              " " + ip_text(r.key.server, v) + ":" + std::to_string(r.key.server_port);
      auto it = labels.find(key);
      if (it == labels.end()) {
        ++unmatched;
        continue;
      }
      ++matched;
      const std::string got = r.labels.app.empty() ? "" : class_of(r.labels.app);
      for (const auto& truth : it->second.classes)
        if (truth != got) ++score[truth].fn;
      if (!got.empty()) {
        if (it->second.classes.count(got) || it->second.label == got)
          ++score[got].tp;
        else {
          ++score[got].fp;
          fps[got].push_back(cap.filename().string() + " " + key);
        }
      }
    }
  }
  std::ostringstream table;
  table << "class        tp   fp   fn  precision  recall\n";
  for (const auto& [cls, s] : score) {
    const double p = s.tp + s.fp ? double(s.tp) / double(s.tp + s.fp) : 0,
                 rc = s.tp + s.fn ? double(s.tp) / double(s.tp + s.fn) : 0;
    table << std::left << std::setw(11) << cls << std::right << std::setw(5) << s.tp << std::setw(5) << s.fp
          << std::setw(5) << s.fn << std::fixed << std::setprecision(2) << std::setw(11) << p << std::setw(8)
          << rc << "\n";
  }
  for (const auto& [cls, list] : fps)
    for (const auto& l : list) table << "FP " << cls << ": " << l << "\n";
  std::cout << table.str() << "flows matched to labels: " << matched << ", unlabelled: " << unmatched << "\n";

  // Minimum recall and maximum false positives per covered class (measured, with a margin).
  struct Bound {
    double min_recall;
    std::uint64_t max_fp;
  };
  const std::map<std::string, Bound> bounds = {
      // measured 54/54, 0 FP
      {"DNS", {0.95, 2}},
      {"MDNS", {0.90, 1}},     // 11/11
      {"LLMNR", {0.0, 1}},     // not a corpus class; its 3 flows are nDPI's LLMNR
      {"QUIC", {0.95, 2}},     // 64/65 (the miss: dlt_ppp's single flow)
      {"SIP", {0.80, 1}},      // 5/5
      {"STUN", {0.90, 5}},     // 18/18, 3 FP (WhatsApp relay flows nDPI calls Unknown/RTP)
      {"Teredo", {0.99, 1}},   // 2/2
      {"DTLS", {0.75, 1}},     // 4/5
      {"eDonkey", {0.99, 1}},  // 1/1 (TCP)
      // 47/330 (most labelled flows start mid-stream or carry no signature in
      // their first packets); the 198 "false positives" are UDP flows to the
      // Gnutella client port whose GUID-framed messages nDPI left Unknown.
      {"Gnutella", {0.12, 210}},
      // bittorrent.pcap starts mid-connection: the flow tracker opens no TCP
      // flow without a SYN, so only 1 labelled flow reaches PDPI (missed).
      {"BitTorrent", {0.0, 2}},
      {"P2PTV", {0.0, 2}},
  };
  for (const auto& [cls, b] : bounds) {
    const Score& s = score[cls];
    const double rc = s.tp + s.fn ? double(s.tp) / double(s.tp + s.fn) : 1.0;
    EXPECT_GE(rc, b.min_recall) << cls;
    EXPECT_LE(s.fp, b.max_fp) << cls;
  }
  for (const auto& [cls, s] : score)
    if (!bounds.count(cls) && s.fp) ADD_FAILURE() << "unexpected predictions of " << cls << ": " << s.fp;
}
