// Anonymizer: Tstat's two privacy modes for what the sinks after it write:
// prefix-preserving Crypto-PAn (-Y, keys from --keyvalue/--keyfile/--keybase64
// or generated and saved as CPanKey_<date>, whitelist -W) or the XOR mask of
// internal IPv4 addresses (-A), plus strict privacy (-0). See docs/privacy.md.
#include <ctime>
#include <memory>
#include <netloom/netloom.hpp>
#include <string>

#include "anon_key.hpp"
#include "anonymizer.hpp"

namespace netloom::privacy {
namespace {

class AnonymizerBlock final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "Anonymizer";
    i.summary =
        "anonymizes addresses in flow records (and optionally packets) with Crypto-PAn or Tstat's XOR mask";
    i.description =
        "Placed before the sinks (e.g. classifier.out -> anon.in, anon.out -> logs.flows), it rewrites the "
        "record of every flow whose `closed` or `interim` event passes: FlowRecord::key.client/server are "
        "replaced and FlowRecord::crypto[end] set (the logs' c_iscrypto/s_iscrypto). The event is pointed "
        "at a private copy of the record, so blocks on other branches keep seeing the clear one. Which "
        "ends: `ends` (internal ends as Tstat's -A, all, or the `crypto_nets` as Tstat's -Y), minus the "
        "`whitelist` networks (Tstat's -W). mode `cryptopan`: prefix-preserving Crypto-PAn (IPv4 and "
        "IPv6) with a 32-byte key from `key`, `key_file` or `key_base64_file`, or generated at random and "
        "saved to `key_dir`/CPanKey_<date>; translations are cached (`cache_size`). mode `xor`: internal "
        "IPv4 addresses XOR `xor_mask` (Tstat's -A; IPv6 is left in clear and counted). With `packets` "
        "the IP headers inside the packet bytes are rewritten too (and Packet::src/dst), with the IPv4 "
        "header and TCP/UDP/ICMPv6 checksums updated, so a PcapSink after it dumps anonymized packets. "
        "`strict` (Tstat's -0) clears payload-derived strings from records. The `records` port does the "
        "same for FlowBatch records (record-only chains). See docs/privacy.md.";
    i.inputs = {in<PacketBatch>("in", "packets with flow events (after the flow tracker and classifiers)")
                    .writes()
                    .optional(),
                in<FlowBatch>("records", "flow records (a tracker's or classifier's records port)")
                    .writes()
                    .optional()};
    i.outputs = {
        out<PacketBatch>("out", "the same packets; closed/interim flow events carry anonymized records"),
        out<FlowBatch>("records", "the records of `records`, anonymized")};
    i.params = {
        param<std::string>("mode", "cryptopan",
                           "cryptopan: prefix-preserving Crypto-PAn (Tstat -Y); xor: XOR mask on internal "
                           "IPv4 addresses (Tstat -A)")
            .one_of({"cryptopan", "xor"}),
        param<std::string>(
            "ends", "internal",
            "addresses to anonymize: internal (ends inside the flow tracker's net_file), "
            "all, or crypto_nets (addresses inside `crypto_nets`/`crypto_nets_file`, Tstat -Y)")
            .one_of({"internal", "all", "crypto_nets"}),
        param<std::string>("key", "", "Crypto-PAn key as text, 1..32 bytes, zero-padded (Tstat --keyvalue)"),
        param<std::string>("key_file", "",
                           "file holding the key: exactly 32 raw bytes, or a text line of 1..32 bytes, "
                           "zero-padded (Tstat --keyfile)"),
        param<std::string>("key_base64_file", "",
                           "file whose first line is the 32-byte key in Base64 (Tstat --keybase64; the "
                           "CPanKey_ files)"),
        param<std::string>("key_dir", "",
                           "directory where the key in use is saved as CPanKey_YYYY_MM_DD_HH_MM (Base64, "
                           "mode 0600, never overwriting); without key/key_file/key_base64_file a random "
                           "key is generated and saved here"),
        param<std::int64_t>("xor_mask", 0, "mode xor: the 32-bit mask (0x... accepted)")
            .range(0, 4294967295.0),
        param<std::string>("whitelist_file", "", "Tstat -W net file: networks left in clear"),
        param<std::string>("whitelist", "",
                           "networks left in clear, comma-separated (a.b.c.d/len, ipv6/len)"),
        param<std::string>("crypto_nets_file", "",
                           "ends=crypto_nets: Tstat -Y net file of networks to anonymize"),
        param<std::string>("crypto_nets", "", "ends=crypto_nets: networks to anonymize, comma-separated"),
        param<std::string>("net_file", "",
                           "packets=true: Tstat -N file telling which addresses of packets without a flow, "
                           "and of tunnels' outer headers, are internal (empty: all internal)"),
        param<bool>("packets", false,
                    "also rewrite the IP addresses inside the packet bytes (checksums updated) and "
                    "Packet::src/dst"),
        param<bool>("strict", false,
                    "Tstat -0: clear payload-derived strings (HTTP Host, TLS SNI and certificate CN, "
                    "banners) from records"),
        param<std::int64_t>("cache_size", 130000,
                            "Crypto-PAn translations kept (least recently used dropped; 0: no cache)")
            .range(0, 100000000),
    };
    i.counters = {
        {"records", "flow records anonymized (closed/interim events and `records` input)"},
        {"addresses_anonymized", "addresses replaced, in records and packet headers (each occurrence)"},
        {"whitelisted", "addresses that policy would anonymize, left in clear by the whitelist"},
        {"not_maskable", "mode xor: IPv6 addresses left in clear (Tstat's -A is IPv4 only)"},
        {"cache_hits", "Crypto-PAn translations found in the cache"},
        {"cache_misses", "Crypto-PAn translations computed (32 AES blocks per IPv4 address, 128 per IPv6)"},
        {"packets_rewritten", "packets=true: packets with at least one address replaced"},
        {"packets_not_ip", "packets=true: packets without a complete IP header, forwarded as captured"},
        {"strings_cleared", "strict: non-empty payload-derived strings cleared from records"},
    };
    i.threading = Threading::serial;
    return i;
  }

  void configure(const Params& p, Context& ctx) override {
    Policy pol;
    const bool xor_mode = p.get_string("mode") == "xor";
    pol.mode = xor_mode ? Mode::xor_mask : Mode::cryptopan;
    const std::string& ends = p.get_string("ends");
    pol.ends = ends == "all" ? Ends::all : ends == "crypto_nets" ? Ends::crypto_nets : Ends::internal;
    pol.xor_mask = static_cast<std::uint32_t>(p.get_int("xor_mask"));
    pol.strict = p.get_bool("strict");
    pol.cache_size = static_cast<std::size_t>(p.get_int("cache_size"));
    packets_ = p.get_bool("packets");

    const std::string &key = p.get_string("key"), &key_file = p.get_string("key_file"),
                      &key_b64 = p.get_string("key_base64_file"), &key_dir = p.get_string("key_dir");
    const int sources = !key.empty() + !key_file.empty() + !key_b64.empty();
    if (xor_mode) {
      if (sources || !key_dir.empty())
        throw ConfigError(
            "parameters 'key', 'key_file', 'key_base64_file' and 'key_dir' apply to mode 'cryptopan'");
      if (pol.xor_mask == 0) throw ConfigError("mode 'xor' needs a nonzero 'xor_mask'");
    } else {
      if (pol.xor_mask != 0) throw ConfigError("parameter 'xor_mask' applies to mode 'xor'");
      if (sources > 1)
        throw ConfigError(
            "give only one of 'key', 'key_file' and 'key_base64_file' (Tstat's --keyvalue, --keyfile, "
            "--keybase64)");
      if (sources == 0 && key_dir.empty())
        throw ConfigError(
            "no Crypto-PAn key: set 'key', 'key_file' or 'key_base64_file', or 'key_dir' to generate a "
            "random key saved there");
      if (!key.empty())
        pol.key = key_from_text(key, "parameter 'key'");
      else if (!key_file.empty())
        pol.key = load_key_file(key_file);
      else if (!key_b64.empty())
        pol.key = load_key_base64_file(key_b64);
      else
        pol.key = generate_key();
    }

    if (const std::string& f = p.get_string("whitelist_file"); !f.empty())
      pol.whitelists.push_back(flow::NetList::load(f));
    if (const std::string& l = p.get_string("whitelist"); !l.empty())
      pol.whitelists.push_back(parse_list(l, "whitelist"));
    const std::string &cn_file = p.get_string("crypto_nets_file"), &cn = p.get_string("crypto_nets");
    if (pol.ends == Ends::crypto_nets) {
      if (cn_file.empty() == cn.empty())
        throw ConfigError("ends 'crypto_nets' needs one of 'crypto_nets_file' and 'crypto_nets'");
      pol.crypto_nets = cn_file.empty() ? parse_list(cn, "crypto_nets") : flow::NetList::load(cn_file);
      if (pol.crypto_nets.v4_entries() + pol.crypto_nets.v6_entries() == 0)
        throw ConfigError((cn_file.empty() ? "parameter 'crypto_nets'" : cn_file) + ": no network listed");
    } else if (!cn_file.empty() || !cn.empty()) {
      throw ConfigError("parameters 'crypto_nets' and 'crypto_nets_file' apply to ends 'crypto_nets'");
    }
    if (const std::string& f = p.get_string("net_file"); !f.empty())
      pol.internal_nets = flow::NetList::load(f);

    // Last, once everything else is known to be right: no key file is left
    // behind by a configuration that fails.
    if (!xor_mode && !key_dir.empty()) {
      key_path_ = save_key(key_dir, pol.key, std::time(nullptr));
      ctx.log(LogLevel::info,
              (sources ? "Crypto-PAn key saved to " : "random Crypto-PAn key generated and saved to ") +
                  key_path_);
    }
    anon_ = std::make_unique<Anonymizer>(std::move(pol));
    c_.records = &ctx.counter("records");
    c_.anonymized = &ctx.counter("addresses_anonymized");
    c_.whitelisted = &ctx.counter("whitelisted");
    c_.not_maskable = &ctx.counter("not_maskable");
    c_.hits = &ctx.counter("cache_hits");
    c_.misses = &ctx.counter("cache_misses");
    c_.rewritten = &ctx.counter("packets_rewritten");
    c_.not_ip = &ctx.counter("packets_not_ip");
    c_.strings = &ctx.counter("strings_cleared");
  }

  void receive(unsigned port, const MessagePtr& msg, Emit& emit) override {
    if (port == 1) {
      auto& fb = msg->as<FlowBatch>();
      for (FlowRecord& r : fb.records) anon_->apply(r);
      c_.records->add(fb.records.size());
      publish();
      emit(1, msg);
      return;
    }
    auto& b = msg->as<PacketBatch>();
    std::uint64_t records = 0;
    for (FlowEvent& ev : b.events) {
      if (!ev.flow || ev.kind == FlowEvent::Kind::opened) continue;
      // The tracker's context is shared with every branch (and still live
      // for interim events): the event gets a private copy, kept alive by
      // the batch like the contexts it retires.
      auto copy = std::make_shared<FlowContext>();
      copy->record = ev.flow->record;
      anon_->apply(copy->record);
      ev.flow = copy.get();
      b.retired.push_back(std::move(copy));
      ++records;
    }
    c_.records->add(records);
    if (packets_) {
      std::uint64_t rewritten = 0, not_ip = 0;
      for (Packet& pk : b.packets) {
        const auto r = anon_->apply(pk);
        if (!r)
          ++not_ip;
        else if (*r)
          ++rewritten;
      }
      c_.rewritten->add(rewritten);
      c_.not_ip->add(not_ip);
    }
    publish();
    emit(0, msg);
  }

  std::string summary() const override {
    const Stats& s = anon_->stats();
    std::string out = std::to_string(s.anonymized) + " addresses anonymized in " +
                      std::to_string(c_.records->value()) + " records";
    if (packets_) out += " and " + std::to_string(c_.rewritten->value()) + " packets";
    if (anon_->policy().mode == Mode::cryptopan)
      out +=
          "; cache " + std::to_string(s.cache_hits) + " hits, " + std::to_string(s.cache_misses) + " misses";
    if (!key_path_.empty()) out += "; key in " + key_path_;
    return out;
  }

 private:
  // A comma/blank-separated list in the net file syntax: entry N becomes
  // line N, so errors read "parameter 'whitelist' entry:N: ...".
  static flow::NetList parse_list(const std::string& text, const char* param) {
    std::string lines, tok;
    auto end_token = [&] {
      if (tok.empty()) return;
      lines += tok + "\n";
      tok.clear();
    };
    for (char c : text) {
      if (c == ',' || c == ' ' || c == '\t' || c == '\n')
        end_token();
      else
        tok += c;
    }
    end_token();
    return flow::NetList::parse(lines, std::string("parameter '") + param + "' entry");
  }

  void publish() {
    const Stats& s = anon_->stats();
    c_.anonymized->set(s.anonymized);
    c_.whitelisted->set(s.whitelisted);
    c_.not_maskable->set(s.not_maskable);
    c_.hits->set(s.cache_hits);
    c_.misses->set(s.cache_misses);
    c_.strings->set(s.strings_cleared);
  }

  struct Counters {
    Counter *records = nullptr, *anonymized = nullptr, *whitelisted = nullptr, *not_maskable = nullptr,
            *hits = nullptr, *misses = nullptr, *rewritten = nullptr, *not_ip = nullptr, *strings = nullptr;
  } c_;
  std::unique_ptr<Anonymizer> anon_;
  bool packets_ = false;
  std::string key_path_;
};

}  // namespace
}  // namespace netloom::privacy

NETLOOM_PLUGIN(netloom::privacy::AnonymizerBlock)
