// libwiretap half of netloom_pcapio: pcapng files (any mix of interfaces,
// link types and snap lengths; plain or gzip-compressed). libwiretap is
// opened on the first such file (wiretap_lib.hpp).
#include <cstring>
#include <mutex>
#include <vector>

#include "pcapio.hpp"
#include "pcapio_detail.hpp"
#include "wiretap_lib.hpp"

namespace netloom::pcapio::detail {

namespace {

// WTAP_ENCAP_* -> DLT_*. libwiretap exports only the LINKTYPE -> WTAP_ENCAP
// direction; invert it once, keeping the lowest value (the Linux DLT_* one
// where several values map to one encapsulation, e.g. DLT_RAW = 12).
std::vector<std::uint16_t>& encap_table() {
  static std::vector<std::uint16_t> table;
  return table;
}

// The pcapng open routine: the magic number chose pcapng, so wiretap must not
// try its heuristics for other formats (a 4-byte file of just the magic would
// otherwise read as a text capture).
unsigned int g_pcapng_type = WTAP_TYPE_AUTO;

const Libwiretap& init_wiretap() {
  const Libwiretap& wt = libwiretap();  // throws when it cannot be loaded
  static std::once_flag once;
  std::call_once(once, [&wt] {
    // Without ws_log_init the default level prints every DEBUG line.
    wt.log_set_level(LOG_LEVEL_CRITICAL);
    wt.init(FALSE);
    g_pcapng_type = wt.open_info_name_to_type("Wireshark/... - pcapng");  // 4.0's name
    auto& t = encap_table();
    int n = wt.get_num_encap_types();
    t.assign(n > 0 ? static_cast<std::size_t>(n) : 0, kUnknownLinktype);
    for (int lt = 0; lt < 1024; ++lt) {
      int e = wt.pcap_encap_to_wtap_encap(lt);
      if (e >= 0 && static_cast<std::size_t>(e) < t.size() && t[e] == kUnknownLinktype)
        t[e] = static_cast<std::uint16_t>(lt);
    }
  });
  return wt;
}

std::uint16_t to_dlt(int encap) {
  const auto& t = encap_table();
  if (encap < 0 || static_cast<std::size_t>(encap) >= t.size()) return kUnknownLinktype;
  return t[encap];
}

std::string take_err_info(gchar*& ei) {
  std::string s = ei ? ei : "";
  libwiretap().g_free(ei);
  ei = nullptr;
  return s;
}

std::string describe(int err, const std::string& info) {
  switch (err) {
    case WTAP_ERR_SHORT_READ:
      return "truncated (the file ends in the middle of a block)";
    case WTAP_ERR_UNSUPPORTED:
      return "unsupported (" + (info.empty() ? std::string(libwiretap().strerror(err)) : info) + ")";
    case WTAP_ERR_BAD_FILE:
      return "corrupt (" + (info.empty() ? std::string(libwiretap().strerror(err)) : info) + ")";
    default: {
      std::string s = libwiretap().strerror(err);
      if (!info.empty()) s += " (" + info + ")";
      return s;
    }
  }
}

class WiretapReader final : public PacketReader {
 public:
  WiretapReader(const Libwiretap& wt, wtap* w, std::string name, std::uint64_t size,
                const ReaderOptions& opts)
      : wt_(wt), w_(w), name_(std::move(name)), size_(size), iface_base_(opts.iface_base) {
    wt_.rec_init(&rec_);
    wt_.buffer_init(&buf_, 2048);
    if (!opts.filter.empty()) filter_ = std::make_unique<BpfFilter>(opts.filter, opts.snaplen);
  }
  ~WiretapReader() override {
    wt_.rec_cleanup(&rec_);
    wt_.buffer_free(&buf_);
    wt_.close(w_);
  }

  ReadResult next(RawRecord& rec) override {
    if (finished_) return ReadResult::end;
    for (;;) {
      int err = 0;
      gchar* ei = nullptr;
      gint64 offset = 0;
      wt_.rec_reset(&rec_);
      if (!wt_.read(w_, &rec_, &buf_, &err, &ei, &offset)) {
        finished_ = true;
        std::string info = take_err_info(ei);
        if (err == 0) return ReadResult::end;
        throw InputError(record_prefix(name_, records_ + 1) + describe(err, info));
      }
      wt_.g_free(ei);
      if (rec_.rec_type != REC_TYPE_PACKET) continue;
      ++records_;
      const auto& ph = rec_.rec_header.packet_header;
      rec.data = ws_buffer_start_ptr(&buf_);
      rec.caplen = ph.caplen;
      rec.wirelen = ph.len;
      if (rec_.presence_flags & WTAP_HAS_TS) {
        rec.ts_ns = rec_.ts.secs < 0 ? 0
                                     : static_cast<std::uint64_t>(rec_.ts.secs) * 1000000000ull +
                                           static_cast<std::uint64_t>(rec_.ts.nsecs);
      }  // else: keep the previous record's time
      rec.linktype = to_dlt(ph.pkt_encap);
      std::uint32_t id = (rec_.presence_flags & WTAP_HAS_INTERFACE_ID) ? ph.interface_id : 0;
      rec.iface = static_cast<std::uint16_t>(iface_base_ + (id & 0xFF));
      if (filter_ && !detail::passes_filter(*filter_, rec, name_, finished_, filtered_)) continue;
      return ReadResult::record;
    }
  }

  std::uint64_t bytes_done() const override {
    gint64 n = wt_.read_so_far(w_);
    return n < 0 ? 0 : static_cast<std::uint64_t>(n);
  }
  std::uint64_t bytes_total() const override { return size_; }
  std::uint64_t filtered() const override { return filtered_; }

 private:
  const Libwiretap& wt_;
  wtap* w_;
  wtap_rec rec_;
  Buffer buf_;
  std::string name_;
  std::uint64_t size_;
  std::uint16_t iface_base_;
  std::unique_ptr<BpfFilter> filter_;
  std::uint64_t records_ = 0, filtered_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<PacketReader> open_wiretap(const std::string& path, const std::string& name,
                                           std::uint64_t size, const ReaderOptions& opts) {
  const Libwiretap& wt = init_wiretap();
  int err = 0;
  gchar* ei = nullptr;
  wtap* w = wt.open_offline(path.c_str(), g_pcapng_type, &err, &ei, FALSE);
  if (!w) {
    std::string info = take_err_info(ei);
    if (err > 0) throw InputError(name + ": cannot open: " + std::strerror(err));
    if (err == WTAP_ERR_FILE_UNKNOWN_FORMAT)  // the magic said pcapng, the block did not
      throw InputError(name + ": unreadable capture header (invalid pcapng section header block)");
    throw InputError(name + ": unreadable capture header (" + describe(err, info) + ")");
  }
  return std::make_unique<WiretapReader>(wt, w, name, size, opts);
}

}  // namespace netloom::pcapio::detail
