// Tstat's Skype detector re-created from the behaviour spec (§7).
#include "bayes_skype.hpp"

#include <cstring>

namespace netloom::bayes::skype {

Configs load_configs(const std::string& dir) {
  Configs c{load_config(dir + "/pktsize.conf"), load_config(dir + "/avgipg.conf")};
  if (c.pktsize.feature != Feature::pktsize)
    throw ConfigError(c.pktsize.file + ": FEATURE is " + feature_name(c.pktsize.feature) +
                      ", expected PKTSIZE");
  if (c.avgipg.feature != Feature::avgipg)
    throw ConfigError(c.avgipg.file + ": FEATURE is " + feature_name(c.avgipg.feature) + ", expected AVGIPG");
  return c;
}

namespace {
bool video_only(std::uint32_t len) { return (len >= 400 && len <= 490) || (len >= 800 && len <= 980); }
}  // namespace

void Direction::features(std::uint32_t len, std::uint64_t ts, bool pktsize_sample) {
  if (pktsize_sample) pkt_.add(len);
  if (video_only(len)) {
    ++video;
    return;
  }
  ++audio;
  if (ipg_count_ == 0 && ipg_start_ns_ == 0) ipg_start_ns_ = ts;
  if (++ipg_count_ == 30) {
    const std::uint64_t ms = ts > ipg_start_ns_ ? (ts - ipg_start_ns_) / 1000000ULL : 0;
    ipg_.add(static_cast<long>(ms / 30));
    ipg_start_ns_ = ts;
    ipg_count_ = 0;
  }
}

void Direction::add_udp(const std::uint8_t* p, std::uint32_t len, std::uint64_t ts) {
  if (pkts == 0) first_ns = ts;
  last_ns = ts;
  ++pkts;
  bytes += len;
  // §7.3 deterministic typing
  if (len >= 4 && have_prev_ && std::memcmp(prev_, p, 4) == 0) {
    ++out;
  } else if (len >= 3) {
    const std::uint8_t f = p[2] & 0x8F;
    if (f == 0x07 && len == 11)
      ++nak;
    else if (f == 0x02)
      ++fun2;
    else if (f == 0x03)
      ++fun3;
    else if (f == 0x0D)
      ++(len > 4 ? e2e : fun3);
    else
      ++unknown;
  } else {
    ++unknown;
  }
  if (len >= 4) {
    std::memcpy(prev_, p, 4);
    have_prev_ = true;
  }
  chi_.add(p, len);
  features(len, ts, len < 400);
}

void Direction::add_tcp(const std::uint8_t* p, std::uint32_t len, std::uint64_t ts) {
  if (pkts == 0) first_ns = ts;
  last_ns = ts;
  ++pkts;
  if (len == 0) return;
  bytes += len;
  chi_.add(p, len);
  features(len, ts, true);
}

std::uint16_t Direction::udp_type(std::uint16_t cur) const {
  if (frozen_ >= 0) return static_cast<std::uint16_t>(frozen_);
  if (pkts < p_->min_dir_packets) return cur;
  if (cur != kUdpUnknown && cur != kUdpFirstRtp && cur != kUdpFirstRtpPlus) return cur;
  const double share = p_->type_share * static_cast<double>(pkts);
  if (e2e > p_->type_min_packets && static_cast<double>(e2e) > share) return kUdpSkypeE2E;
  if (out > p_->type_min_packets && static_cast<double>(out) > share) return kUdpSkypeOut;
  if (static_cast<double>(e2e + out + nak + fun2 + fun3) > share) return kUdpSkypeSig;
  return cur;
}

void Direction::maybe_freeze(std::uint16_t cur) {
  if (frozen_ >= 0 || pkts <= p_->early_packets || last_ns - first_ns <= p_->early_ns) return;
  frozen_ = udp_type(cur);
}

int Direction::bayes_flag() const {
  const bool a = pktsize_passes(), b = avgipg_passes();
  return a && b ? 1 : a ? -1 : b ? -2 : 0;
}

ChiClass Direction::chi_udp_class() const {
  return chi_udp(chi_.all(), p_->chi_threshold, p_->chi_func_threshold);
}
ChiClass Direction::chi_tcp_class() const {
  return chi_tcp(chi_.all(), chi_.samples(), p_->chi_threshold, p_->tcp_min_samples);
}

Verdict decide_udp(const Direction& d, std::uint16_t current, const Params& p) {
  (void)p;
  Verdict v;
  const std::uint16_t det = d.udp_type(current);
  v.udp_type = det;
  // The chi-square test (16 statistics over the nibble table) only matters
  // for a direction typed SKYPE_E2E/SKYPE_OUT: most flows stop here.
  if (det != kUdpSkypeE2E && det != kUdpSkypeOut) return v;
  const ChiClass chi = d.chi_udp_class();
  const bool chi_agrees = chi != ChiClass::not_skype;
  if (!chi_agrees) v.udp_type = current;
  if (chi_agrees && d.bayes_flag() == 1) {
    v.skype = true;
    v.l7 = static_cast<int>(chi);
  }
  return v;
}

Verdict decide_tcp(const Direction& d, const Params& p) {
  (void)p;
  Verdict v;
  if (d.bayes_flag() == 1 && d.chi_tcp_class() == ChiClass::tcp) {
    v.skype = true;
    v.l7 = kL7SkypeTcp;
  }
  return v;
}

}  // namespace netloom::bayes::skype
