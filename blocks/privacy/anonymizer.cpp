#include "anonymizer.hpp"

#include <cstring>
#include <utility>

#include "packet_rewrite.hpp"

namespace netloom::privacy {
namespace {

// NetList::internal() says "everything" for a family without entries; a
// whitelist or crypto list without entries of that family matches nothing.
bool in_list(const flow::NetList& l, const IpAddr& a, std::uint8_t v) {
  const std::size_t n = v == 6 ? l.v6_entries() : l.v4_entries();
  return n > 0 && l.internal(a, v);
}

}  // namespace

Anonymizer::Anonymizer(Policy p) : policy_(std::move(p)), xor_(policy_.xor_mask), cache_(policy_.cache_size) {
  if (policy_.mode == Mode::cryptopan) cpan_ = std::make_unique<CryptoPan>(policy_.key);
}

IpAddr Anonymizer::translate(const IpAddr& a, std::uint8_t v) {
  IpAddr out = a;
  if (policy_.mode == Mode::xor_mask) {
    if (v == 4) xor_.apply(out.data());
    return out;
  }
  if (const IpAddr* hit = cache_.find(a, v)) {
    ++stats_.cache_hits;
    return *hit;
  }
  ++stats_.cache_misses;
  cpan_->anonymize(out.data(), v == 6 ? 16 : 4);
  cache_.insert(a, v, out);
  return out;
}

bool Anonymizer::apply(IpAddr& a, std::uint8_t v, bool internal) {
  if (v != 4 && v != 6) return false;
  bool target = true;
  switch (policy_.ends) {
    case Ends::internal:
      target = internal;
      break;
    case Ends::all:
      break;
    case Ends::crypto_nets:
      target = in_list(policy_.crypto_nets, a, v);
      break;
  }
  if (!target) return false;
  for (const auto& wl : policy_.whitelists)
    if (in_list(wl, a, v)) {
      ++stats_.whitelisted;
      return false;
    }
  if (policy_.mode == Mode::xor_mask && v != 4) {
    ++stats_.not_maskable;
    return false;
  }
  a = translate(a, v);
  ++stats_.anonymized;
  return true;
}

void Anonymizer::apply(FlowRecord& r) {
  for (int d = 0; d < 2; ++d) {
    if (r.crypto[d]) continue;  // already anonymized upstream: never twice
    IpAddr& a = d == 0 ? r.key.client : r.key.server;
    if (apply(a, r.key.ip_version, r.internal[d])) r.crypto[d] = true;
  }
  if (!policy_.strict) return;
  // Tstat's -0 keeps payload-derived names out of the logs.
  auto clear = [&](std::string& s) {
    if (s.empty()) return;
    s.clear();
    ++stats_.strings_cleared;
  };
  clear(r.l7.http_host);
  clear(r.l7.tls_sni);
  clear(r.l7.tls_cn);
  clear(r.l7.banner[0]);
  clear(r.l7.banner[1]);
}

bool Anonymizer::rewrite_header(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l3, std::uint32_t l4,
                                std::uint8_t l4_proto, bool src_internal, bool dst_internal, IpAddr* src_out,
                                IpAddr* dst_out, std::vector<Edit>* edits, L4Checksum* l4_out) {
  const auto h = ip_header_at(data, caplen, l3);
  if (!h) return false;
  const L4Checksum l4c = l4 ? l4_checksum_at(data, caplen, l4, l4_proto, h->version) : L4Checksum{};
  if (l4_out) *l4_out = l4c;
  const auto n = static_cast<std::uint8_t>(h->addr_len());
  if (edits) {
    begin_edit(*edits, data, static_cast<std::uint32_t>(h->src - data), n);
    begin_edit(*edits, data, static_cast<std::uint32_t>(h->dst - data), n);
    if (h->ip_checksum) begin_edit(*edits, data, static_cast<std::uint32_t>(h->ip_checksum - data), 2);
    if (l4c.field) begin_edit(*edits, data, static_cast<std::uint32_t>(l4c.field - data), 2);
  }
  bool changed = false;
  auto one = [&](std::uint8_t* field, bool internal, IpAddr* out) {
    IpAddr a{};
    std::memcpy(a.data(), field, n);
    if (apply(a, h->version, internal)) {
      replace_address(*h, field, a.data(), l4c);
      changed = true;
    }
    if (out) *out = a;
  };
  one(h->src, src_internal, src_out);
  one(h->dst, dst_internal, dst_out);
  if (edits) finish_edits(*edits, data);
  return changed;
}

std::optional<bool> Anonymizer::apply(Packet& p) {
  if (!p.is_ip() || p.l3_off == kNoOffset) return std::nullopt;
  // The batch owns its bytes and the input port is declared writes(): the
  // runtime hands this block a private copy when the batch is shared.
  auto* data = const_cast<std::uint8_t*>(p.data);
  if (!ip_header_at(data, p.caplen, p.l3_off)) return std::nullopt;
  const std::uint8_t v = p.ip_version;
  bool src_int, dst_int;
  if (p.flow) {
    const int s = p.flow_dir & 1;
    src_int = p.flow->record.internal[s];
    dst_int = p.flow->record.internal[1 - s];
  } else {
    src_int = internal_by_nets(p.src, v);
    dst_int = internal_by_nets(p.dst, v);
  }
  const bool tunneled = p.outer_l3_off != kNoOffset && p.outer_l3_off != p.l3_off;
  edits_.clear();
  const std::uint32_t l4 = p.l4_off != kNoOffset && !p.has(kFragment) ? p.l4_off : 0;
  bool changed = rewrite_header(data, p.caplen, p.l3_off, l4, p.l4_proto, src_int, dst_int, &p.src, &p.dst,
                                tunneled ? &edits_ : nullptr, nullptr);
  // A tunnel's outermost header (VXLAN, GTP-U, GRE, IP-in-IP, Teredo, ...):
  // its endpoints have no flow, so the -N networks decide. Its UDP checksum,
  // if any, also covers the inner bytes just changed.
  if (tunneled) {
    if (const auto o = ip_header_at(data, p.caplen, p.outer_l3_off)) {
      IpAddr s{}, d{};
      std::memcpy(s.data(), o->src, static_cast<std::size_t>(o->addr_len()));
      std::memcpy(d.data(), o->dst, static_cast<std::size_t>(o->addr_len()));
      const std::uint32_t ol4 = o->first_fragment_or_whole ? o->l4_off : 0;
      L4Checksum oc;
      changed |=
          rewrite_header(data, p.caplen, p.outer_l3_off, ol4, o->l4_proto, internal_by_nets(s, o->version),
                         internal_by_nets(d, o->version), nullptr, nullptr, nullptr, &oc);
      if (oc.field && oc.udp) adjust_for_edits(oc.field, true, ol4, edits_);
    }
  }
  return changed;
}

}  // namespace netloom::privacy
