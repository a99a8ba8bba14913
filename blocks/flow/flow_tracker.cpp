// FlowTracker: Tstat's flow model (docs/flow.md). Matches every TCP/UDP
// packet to its connection with one hash-table lookup, annotates the packet
// (Packet::flow, flow_dir), keeps the per-direction counters, closes flows by
// Tstat's rules and emits their records.
//
// Per-flow state: each flow is one heap object (Entry) holding the public
// FlowContext plus the tracker's private state (canonical key, LRU links,
// SYN/FIN bookkeeping, the TCP analyzer). While the flow is open the entry
// owns itself (Entry::self); on close that reference moves into the batch's
// `retired` list as an aliasing shared_ptr<FlowContext>, so the whole entry
// lives as long as any block can still see the close event. No FlowContext
// slot is used.
#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <netloom/netloom.hpp>
#include <string>
#include <vector>

#include "netfile.hpp"
#include "netloom/recycled.hpp"
#include "tcp_engine.hpp"

namespace netloom::flow {
namespace {

constexpr std::uint8_t kTcp = 6, kUdp = 17;
constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

inline std::uint16_t rd16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t rd32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Canonical key: endpoint `a` is the smaller (address, port), so both
// directions of a connection give the same key.
inline std::uint64_t load64(const std::uint8_t* p) {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
// Two addresses equal, as two 64-bit compares (std::array's == calls memcmp:
// 1.5 % of a tstat.xml run went there).
inline bool same_addr(const IpAddr& x, const IpAddr& y) {
  return ((load64(x.data()) ^ load64(y.data())) | (load64(x.data() + 8) ^ load64(y.data() + 8))) == 0;
}
// memcmp(x, y, 16) < 0, i.e. x before y in network byte order, without the call.
inline int compare_addr(const IpAddr& x, const IpAddr& y) {
  const std::uint64_t xh = __builtin_bswap64(load64(x.data())), yh = __builtin_bswap64(load64(y.data()));
  if (xh != yh) return xh < yh ? -1 : 1;
  const std::uint64_t xl = __builtin_bswap64(load64(x.data() + 8)),
                      yl = __builtin_bswap64(load64(y.data() + 8));
  return xl < yl ? -1 : xl > yl ? 1 : 0;
}

struct Key {
  IpAddr a{}, b{};
  std::uint16_t pa = 0, pb = 0;
  std::uint8_t ver = 0, proto = 0;
  bool operator==(const Key& o) const noexcept {
    return pa == o.pa && pb == o.pb && ver == o.ver && proto == o.proto && same_addr(a, o.a) &&
           same_addr(b, o.b);
  }
};

inline std::uint64_t mix(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
  return h * 0xBF58476D1CE4E5B9ULL;
}
std::uint64_t hash_key(const Key& k) {
  std::uint64_t h = mix(0x243F6A8885A308D3ULL, load64(k.a.data()));
  h = mix(h, load64(k.b.data()));
  if (k.ver == 6) {
    h = mix(h, load64(k.a.data() + 8));
    h = mix(h, load64(k.b.data() + 8));
  }
  h = mix(h, static_cast<std::uint64_t>(k.pa) << 32 | static_cast<std::uint64_t>(k.pb) << 16 |
                 static_cast<std::uint64_t>(k.ver) << 8 | k.proto);
  return h ^ (h >> 31);
}

// Allocations of exactly one T from a per-thread recycled list: Entry and
// its shared_ptr control block as one block (allocate_shared), so a flow
// costs one recycled allocation instead of a recycled one and a malloc.
template <class T>
struct RecycledAlloc {
  using value_type = T;
  struct alignas(T) Raw : Recycled<Raw> {
    unsigned char bytes[sizeof(T)];
  };
  RecycledAlloc() = default;
  template <class U>
  RecycledAlloc(const RecycledAlloc<U>&) noexcept {}
  T* allocate(std::size_t n) {
    if (n == 1) return reinterpret_cast<T*>(new Raw);
    return std::allocator<T>{}.allocate(n);
  }
  void deallocate(T* p, std::size_t n) noexcept {
    if (n == 1)
      delete reinterpret_cast<Raw*>(p);
    else
      std::allocator<T>{}.deallocate(p, n);
  }
  template <class U>
  bool operator==(const RecycledAlloc<U>&) const noexcept {
    return true;
  }
};

// Which timeout applies to a flow: the list it sits in (each kept in order
// of last activity, most recent at the head).
enum ListId : std::uint8_t { kTcpSynOnly = 0, kUdpSingle = 1, kTcpOther = 2, kUdpOther = 3, kLists = 4 };

struct Entry {
  // User-provided: allocate_shared's value-initialisation then runs only the
  // member initialisers, without first zeroing the whole ~1.5 KB.
  Entry() noexcept {}
  Key key;  // first: a lookup's key compare touches one cache line
  std::uint64_t hash = 0;
  FlowContext ctx;
  Entry *prev = nullptr, *next = nullptr;
  std::uint8_t list = kLists;
  bool client_is_a = true;
  std::uint8_t syn_seen = 0;               // bit d: a SYN was sent in direction d
  bool midstream = false;                  // opened by a non-SYN segment (tcp_midstream)
  std::uint8_t fin_seen = 0;               // bit d: direction d sent a FIN
  std::uint8_t fin_acked = 0;              // bit d: direction d's FIN was acknowledged
  std::array<std::uint32_t, 2> fin_seq{};  // seq + payload of the (last) FIN
  std::shared_ptr<Entry> self;             // ownership while open
  EnginePool::Ptr tcp;                     // TCP flows only (when the analyzer is built in)
};

struct List {
  Entry *head = nullptr, *tail = nullptr;
  std::size_t n = 0;
  void push_front(Entry* e) {
    e->prev = nullptr;
    e->next = head;
    if (head) head->prev = e;
    head = e;
    if (!tail) tail = e;
    ++n;
  }
  void unlink(Entry* e) {
    (e->prev ? e->prev->next : head) = e->next;
    (e->next ? e->next->prev : tail) = e->prev;
    e->prev = e->next = nullptr;
    --n;
  }
};

// Open addressing, linear probing, backward-shift deletion; grows by
// doubling while the load factor would exceed 1/2.
// Open addressing, linear probing. A slot keeps the entry's hash beside the
// pointer: probing compares hashes in the table without touching an entry
// (each miss into a 1.3 KB entry was a cache miss: a third of the tracker's
// own time).
class Table {
 public:
  Table() : slots_(1024), mask_(1023) {}
  void prefetch(std::uint64_t h) const { __builtin_prefetch(&slots_[h & mask_]); }
  Entry* find(const Key& k, std::uint64_t h) const {
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (!s.e) return nullptr;
      if (s.h == h && s.e->key == k) return s.e;
    }
  }
  void insert(Entry* e) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(Slot{e, e->hash});
    ++size_;
  }
  void erase(Entry* e) {
    std::size_t i = e->hash & mask_;
    while (slots_[i].e != e) i = (i + 1) & mask_;
    slots_[i] = Slot{};
    for (std::size_t j = (i + 1) & mask_; slots_[j].e; j = (j + 1) & mask_) {
      const std::size_t k = slots_[j].h & mask_;
      // Move slots_[j] into the hole unless its home k lies cyclically in (i, j].
      const bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays) {
        slots_[i] = slots_[j];
        slots_[j] = Slot{};
        i = j;
      }
    }
    --size_;
  }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return slots_.size(); }

 private:
  struct Slot {
    Entry* e = nullptr;
    std::uint64_t h = 0;
  };
  void place(const Slot& s) {
    std::size_t i = s.h & mask_;
    while (slots_[i].e) i = (i + 1) & mask_;
    slots_[i] = s;
  }
  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    mask_ = slots_.size() - 1;
    for (const Slot& s : old)
      if (s.e) place(s);
  }
  std::vector<Slot> slots_;
  std::size_t mask_;
  std::size_t size_ = 0;
};

class FlowTracker final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "FlowTracker";
    i.summary = "tracks TCP and UDP connections with Tstat's flow model and emits one record per flow";
    i.description =
        "Matches each TCP/UDP packet to its flow (one hash lookup), sets Packet::flow and flow_dir, and "
        "announces flows opened and closed as FlowEvents in the packet stream. TCP flows start with a "
        "SYN without ACK (its sender is the client) and close on the FIN handshake (complete), a RST "
        "(complete iff SYNs were seen both ways), client payload without a server SYN (half duplex), "
        "idle or singleton timeout, or the end of input (nocomplete). Any UDP datagram starts a flow; "
        "UDP flows close on idle or singleton timeout or at the end of input. Timeouts are checked "
        "every `gc_interval` of packet time. At most `max_flows` flows are open; when the table is full "
        "`eviction` decides which flow is closed (FlowEnd::evicted) or whether the new one is refused. "
        "Closed flows' records go to `records`; flows whose both ends are outside `net_file` are "
        "tracked but their records are dropped (counted) unless `log_external`. See docs/flow.md.";
    i.inputs = {in<PacketBatch>("in", "decoded packets").writes()};
    i.outputs = {out<PacketBatch>("out", "the same packets, with Packet::flow set and flow events"),
                 out<FlowBatch>("records", "a record per closed flow, in close order (and interim records)")};
    i.params = {
        duration("tcp_idle_time", "300s", "a TCP flow idle this long is closed"),
        duration("udp_idle_time", "200s", "a UDP flow idle this long is closed"),
        duration("tcp_singleton_time", "10s",
                 "a TCP flow of client SYNs only, idle this long, is closed (nocomplete)"),
        duration("udp_singleton_time", "10s", "a one-packet UDP flow idle this long is closed"),
        duration("gc_interval", "1s", "how often (packet time) timeouts are checked (gc_trigger=clock)"),
        param<std::string>("gc_trigger", "clock",
                           "clock: check timeouts every gc_interval of packet time; new_flow: only when a "
                           "packet is about to create a flow, as Tstat does (a flow may outlive its timeout "
                           "while no new flow arrives)")
            .one_of({"clock", "new_flow"}),
        param<std::int64_t>("max_flows", 1000000, "open flows at most (TCP and UDP together)").range(1, 1e9),
        param<std::string>("eviction", "half-open-first", "what to do when max_flows flows are open")
            .one_of({"half-open-first", "oldest", "refuse"}),
        param<std::string>("net_file", "", "Tstat -N file of internal networks (empty: everything internal)"),
        param<bool>("log_external", false, "emit records of flows whose both ends are external"),
        param<bool>(
            "tcp_midstream", false,
            "also track TCP connections whose SYN was not seen (a trace that starts mid-connection): "
            "the first segment's sender is the client, the flow is never complete; off = Tstat, which "
            "drops such segments (counter not_tracked)"),
        duration("interim", "0s", "emit an interim record of every open flow this often (0: never)"),
    };
    i.counters = {{"packets", "packets received"},
                  {"tcp_packets", "TCP packets with a complete header"},
                  {"udp_packets", "UDP packets with a complete header"},
                  {"other_packets", "IP packets of another protocol"},
                  {"not_ip", "frames without an IP packet"},
                  {"fragments", "IP fragments other than the first (no L4 header)"},
                  {"malformed", "TCP/UDP packets with a malformed or truncated L4 header"},
                  {"not_tracked", "TCP segments matching no flow and not a SYN (Tstat's trash)"},
                  {"midstream", "TCP flows opened by a segment other than a SYN (tcp_midstream)"},
                  {"flows_opened", "flows created"},
                  {"flows_closed", "flows closed (any reason)"},
                  {"tcp_complete", "TCP flows closed as complete"},
                  {"tcp_nocomplete", "TCP flows closed as nocomplete"},
                  {"udp_flows", "UDP flows closed"},
                  {"evicted", "flows closed because the table was full"},
                  {"refused", "flows not created because the table was full (eviction=refuse)"},
                  {"external_dropped", "closed flows whose records were dropped: both ends external"},
                  {"active_flows", "flows open now"}};
    i.threading = Threading::replicable;
    return i;
  }

  ~FlowTracker() override {
    for (auto& l : lists_)
      for (Entry* e = l.head; e;) {
        Entry* n = e->next;
        e->self.reset();  // frees e
        e = n;
      }
  }

  void configure(const Params& p, Context& ctx) override {
    tcp_idle_ = static_cast<std::uint64_t>(p.get_duration_ns("tcp_idle_time"));
    udp_idle_ = static_cast<std::uint64_t>(p.get_duration_ns("udp_idle_time"));
    tcp_single_ = static_cast<std::uint64_t>(p.get_duration_ns("tcp_singleton_time"));
    udp_single_ = static_cast<std::uint64_t>(p.get_duration_ns("udp_singleton_time"));
    const std::int64_t gc = p.get_duration_ns("gc_interval");
    const std::int64_t interim = p.get_duration_ns("interim");
    if (gc < 1000000) throw ConfigError("parameter 'gc_interval' must be at least 1ms");
    if (interim < 0) throw ConfigError("parameter 'interim' must not be negative");
    for (const char* n : {"tcp_idle_time", "udp_idle_time", "tcp_singleton_time", "udp_singleton_time"})
      if (p.get_duration_ns(n) <= 0) throw ConfigError(std::string("parameter '") + n + "' must be positive");
    interim_ = static_cast<std::uint64_t>(interim);
    gc_interval_ = static_cast<std::uint64_t>(gc);
    max_flows_ = static_cast<std::size_t>(p.get_int("max_flows"));
    const std::string& ev = p.get_string("eviction");
    eviction_ = ev == "oldest"   ? Eviction::oldest
                : ev == "refuse" ? Eviction::refuse
                                 : Eviction::half_open_first;
    log_external_ = p.get_bool("log_external");
    gc_on_new_flow_ = p.get_string("gc_trigger") == "new_flow";
    midstream_ = p.get_bool("tcp_midstream");
    const std::string& nf = p.get_string("net_file");
    if (!nf.empty()) nets_ = NetList::load(nf);

    auto c = [&](const char* n) { return &ctx.counter(n); };
    c_.packets = c("packets");
    c_.tcp = c("tcp_packets");
    c_.udp = c("udp_packets");
    c_.other = c("other_packets");
    c_.not_ip = c("not_ip");
    c_.frag = c("fragments");
    c_.malformed = c("malformed");
    c_.not_tracked = c("not_tracked");
    c_.midstream = c("midstream");
    c_.opened = c("flows_opened");
    c_.closed = c("flows_closed");
    c_.complete = c("tcp_complete");
    c_.nocomplete = c("tcp_nocomplete");
    c_.udp_flows = c("udp_flows");
    c_.evicted = c("evicted");
    c_.refused = c("refused");
    c_.external = c("external_dropped");
    c_.active = c("active_flows");
    id_stride_ = ctx.replica_count();
    id_offset_ = ctx.replica_index();
    if (gc_on_new_flow_ && id_stride_ > 1 && id_offset_ == 0)
      ctx.log(LogLevel::warning,
              "gc_trigger=new_flow with replicas: timeouts are checked when a flow opens in the same "
              "replica, so closes differ from a run with one replica (gc_trigger=clock does not)");
    ctx.add_timer(0, static_cast<std::uint64_t>(gc));
    if (interim_) ctx.add_timer(1, interim_);
    ctx_ = &ctx;
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    want_records_ = ctx_->output_connected(1);  // a FlowRecord copy nobody receives is skipped
    auto& b = msg->as<PacketBatch>();
    Sink sink{b.events, b.retired};
    // Flows the timer closed before this batch: announced before its first packet.
    if (!pending_events_.empty()) {
      for (auto& ev : pending_events_) b.events.push_back(ev);
      for (auto& r : pending_retired_) b.retired.push_back(std::move(r));
      pending_events_.clear();
      pending_retired_.clear();
    }
    std::uint64_t tcp = 0, udp = 0, other = 0, not_ip = 0, frag = 0, bad = 0;
    const std::uint32_t n = static_cast<std::uint32_t>(b.packets.size());
    std::uint32_t own = n;
    // Every packet's key and hash first, so that the table slot of the
    // packet kAhead places on is in cache when its turn comes: at a few
    // hundred thousand open flows the slot read missed at every packet.
    if (pre_.size() < n) pre_.resize(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      const Packet& p = b.packets[i];
      if (!p.is_ip() || (p.l4_proto != kTcp && p.l4_proto != kUdp) || p.has(kOtherShard)) continue;
      Pre& x = pre_[i];
      x.k = key_of(p, x.from_a);
      x.h = hash_key(x.k);
    }
    for (std::uint32_t i = 0; i < n; ++i) {
      if (i + kAhead < n) table_.prefetch(pre_[i + kAhead].h);
      Packet& p = b.packets[i];
      p.flow = nullptr;
      p.flow_dir = 0;
      if (p.has(kOtherShard)) {
        // Another replica's packet: its time still drives the timeout checks,
        // so every replica checks at the same stream positions.
        --own;
        if (!p.is_ip()) continue;
        if (p.ts_ns > now_) now_ = p.ts_ns;
        if (p.ts_ns >= next_gc_ && !gc_on_new_flow_) gc(p.ts_ns, i, sink);
        continue;
      }
      if (!p.is_ip()) {
        ++not_ip;
        continue;
      }
      if (p.ts_ns > now_) now_ = p.ts_ns;
      // Timeouts are checked on packet time every gc_interval, also inside a
      // batch (a batch of a sparse trace may span minutes); closes found here
      // are announced before packet i.
      if (p.ts_ns >= next_gc_ && !gc_on_new_flow_) gc(p.ts_ns, i, sink);
      if (p.has(kFragment)) {
        ++frag;
        continue;
      }
      if (p.l4_proto != kTcp && p.l4_proto != kUdp) {
        ++other;
        continue;
      }
      if (p.has(kMalformed) || p.has(kL4Truncated) || p.l4_off == kNoOffset || p.l3_off == kNoOffset ||
          std::uint32_t{p.l4_off} + (p.l4_proto == kTcp ? 20u : 8u) > p.caplen) {
        ++bad;
        continue;
      }
      if (p.l4_proto == kTcp) {
        ++tcp;
        if (!on_tcp(p, pre_[i], i, sink)) ++bad;
      } else {
        ++udp;
        on_udp(p, pre_[i], i, sink);
      }
    }
    // Closes found by one timeout check are in list order; the canonical
    // order (netloom/flow_order.hpp) is what a replicated run reproduces.
    sort_flow_events(b.events);
    c_.packets->add(own);
    c_.tcp->add(tcp);
    c_.udp->add(udp);
    c_.other->add(other);
    c_.not_ip->add(not_ip);
    c_.frag->add(frag);
    c_.malformed->add(bad);
    c_.active->set(table_.size());
    emit(0, msg);
    emit_records(emit);
  }

  void on_timer(unsigned id, std::uint64_t now, Emit& emit) override {
    want_records_ = ctx_->output_connected(1);
    if (now > now_) now_ = now;
    Sink sink{pending_events_, pending_retired_};
    if (id == 0) {
      if (now >= next_gc_ && !gc_on_new_flow_) gc(now, 0, sink);
    } else if (id == 1 && interim_) {
      for (auto& l : lists_)
        for (Entry* e = l.head; e; e = e->next) {
          if (!want_records_ || !want_record(e->ctx.record)) continue;
          records().records.push_back(e->ctx.record);
          records().records.back().end = FlowEnd::interim;
        }
    }
    c_.active->set(table_.size());
    emit_records(emit);
  }

  void flush(Emit& emit) override {
    want_records_ = ctx_->output_connected(1);
    auto b = std::make_shared<PacketBatch>();
    b->clock_ns = now_;
    for (auto& ev : pending_events_) b->events.push_back(ev);
    for (auto& r : pending_retired_) b->retired.push_back(std::move(r));
    pending_events_.clear();
    pending_retired_.clear();
    Sink sink{b->events, b->retired};
    // Tstat's trace_done: flows meeting a timeout rule at the last packet
    // time close by that rule; every other flow is cut by the end of input.
    expire(now_, 0, sink);
    for (ListId id : {kTcpSynOnly, kTcpOther, kUdpSingle, kUdpOther})
      while (Entry* e = lists_[id].tail) close(e, FlowEnd::end_of_input, e->key.proto == kUdp, 0, sink);
    sort_flow_events(b->events);
    c_.active->set(table_.size());
    if (!b->events.empty()) emit(0, b);
    emit_records(emit);
  }

  std::string summary() const override {
    return std::to_string(c_.opened->value()) + " flows (" + std::to_string(c_.complete->value()) +
           " TCP complete, " + std::to_string(c_.nocomplete->value()) + " TCP nocomplete, " +
           std::to_string(c_.udp_flows->value()) + " UDP), " + std::to_string(c_.evicted->value()) +
           " evicted, " + std::to_string(c_.refused->value()) + " refused";
  }

 private:
  enum class Eviction { half_open_first, oldest, refuse };
  struct Sink {
    std::vector<FlowEvent>& events;
    std::vector<std::shared_ptr<FlowContext>>& retired;
  };

  FlowBatch& records() {
    if (!records_) records_ = std::make_shared<FlowBatch>();
    return *records_;
  }
  void emit_records(Emit& emit) {
    if (records_ && !records_->records.empty()) {
      records_->clock_ns = now_;
      emit(1, std::move(records_));
    }
    records_.reset();
  }
  bool want_record(const FlowRecord& r) const { return log_external_ || r.internal[0] || r.internal[1]; }

  // The packet's canonical key; `from_a` says whether it was sent by endpoint a.
  // A packet's flow key and its hash, computed for the whole batch up front.
  struct Pre {
    Key k;
    std::uint64_t h = 0;
    bool from_a = false;
  };
  static constexpr std::uint32_t kAhead = 6;

  static Key key_of(const Packet& p, bool& from_a) {
    Key k;
    k.ver = p.ip_version;
    k.proto = p.l4_proto;
    const int c = compare_addr(p.src, p.dst);
    from_a = c < 0 || (c == 0 && p.sport <= p.dport);
    if (from_a) {
      k.a = p.src, k.b = p.dst, k.pa = p.sport, k.pb = p.dport;
    } else {
      k.a = p.dst, k.b = p.src, k.pa = p.dport, k.pb = p.sport;
    }
    return k;
  }

  // A new flow for packet i, whose sender becomes the client; null if refused.
  Entry* open(const Packet& p, const Key& k, std::uint64_t h, bool from_a, std::uint32_t i, Sink& sink) {
    // Tstat's trigger: the collector runs only when a flow is about to be created.
    if (gc_on_new_flow_) expire(p.ts_ns, i, sink);
    if (table_.size() >= max_flows_) {
      if (eviction_ == Eviction::refuse) {
        c_.refused->add();
        return nullptr;
      }
      Entry* victim = nullptr;
      auto older = [](Entry* x, Entry* y) {
        if (!x) return y;
        if (!y) return x;
        return y->ctx.record.last_ns < x->ctx.record.last_ns ? y : x;
      };
      if (eviction_ == Eviction::half_open_first)
        victim = older(lists_[kTcpSynOnly].tail, lists_[kUdpSingle].tail);
      if (!victim)
        for (auto& l : lists_) victim = older(victim, l.tail);
      c_.evicted->add();
      close(victim, FlowEnd::evicted, false, i, sink);
    }
    std::shared_ptr<Entry> owner = std::allocate_shared<Entry>(RecycledAlloc<Entry>{});
    Entry* e = owner.get();
    e->self = std::move(owner);
    e->key = k;
    e->hash = h;
    e->client_is_a = from_a;
    e->ctx.flow_hash = p.flow_hash;
    FlowRecord& r = e->ctx.record;
    r.key.client = p.src;
    r.key.server = p.dst;
    r.key.client_port = p.sport;
    r.key.server_port = p.dport;
    r.key.ip_version = p.ip_version;
    r.key.l4_proto = p.l4_proto;
    // Ids stay unique across replicas: instance k of n hands out k+1, k+1+n, ...
    r.id = next_id_++ * id_stride_ + id_offset_ + 1;
    r.first_ns = r.last_ns = p.ts_ns;
    r.internal = {nets_.internal(p.src, p.ip_version), nets_.internal(p.dst, p.ip_version)};
    table_.insert(e);
    e->list = p.l4_proto == kTcp ? kTcpSynOnly : kUdpSingle;
    lists_[e->list].push_front(e);
    c_.opened->add();
    sink.events.push_back({FlowEvent::Kind::opened, i, &e->ctx});
    return e;
  }

  // Closes e; its close event goes at `at` (after packet at-1).
  void close(Entry* e, FlowEnd why, bool complete, std::uint32_t at, Sink& sink) {
    lists_[e->list].unlink(e);
    e->list = kLists;
    table_.erase(e);
    FlowRecord& r = e->ctx.record;
    r.end = why;
    r.complete = complete;
    c_.closed->add();
    if (r.key.l4_proto == kUdp)
      c_.udp_flows->add();
    else
      (complete ? c_.complete : c_.nocomplete)->add();
    if (want_record(r)) {
      if (want_records_) records().records.push_back(r);
    } else
      c_.external->add();
    sink.events.push_back({FlowEvent::Kind::closed, at, &e->ctx});
    std::shared_ptr<Entry> owner = std::move(e->self);
    sink.retired.push_back(std::shared_ptr<FlowContext>(owner, &owner->ctx));
  }

  // Moves e to the head of its (possibly new) list: it just saw a packet.
  void touch(Entry* e, ListId to) {
    lists_[e->list].unlink(e);
    e->list = to;
    lists_[to].push_front(e);
  }

  void gc(std::uint64_t now, std::uint32_t at, Sink& sink) {
    expire(now, at, sink);
    next_gc_ = (now / gc_interval_ + 1) * gc_interval_;
  }

  // Closes every flow idle past its timeout at `now` (Tstat's GC rules).
  void expire(std::uint64_t now, std::uint32_t at, Sink& sink) {
    struct Rule {
      ListId list;
      std::uint64_t timeout;
      FlowEnd end;
    };
    const Rule rules[] = {{kTcpSynOnly, tcp_single_, FlowEnd::singleton},
                          {kUdpSingle, udp_single_, FlowEnd::singleton},
                          {kTcpOther, tcp_idle_, FlowEnd::idle},
                          {kUdpOther, udp_idle_, FlowEnd::idle}};
    for (const Rule& rule : rules) {
      List& l = lists_[rule.list];
      // The list is in order of last activity, so stop at the first live flow.
      // (Out-of-order timestamps only delay a close to a later check.)
      while (l.tail && now > l.tail->ctx.record.last_ns && now - l.tail->ctx.record.last_ns > rule.timeout) {
        Entry* e = l.tail;
        const bool complete = e->key.proto == kUdp || e->syn_seen == 3;
        close(e, rule.end, complete, at, sink);
      }
    }
  }

  // Returns false if the TCP header is cut inside the capture.
  bool on_tcp(Packet& p, const Pre& pre, std::uint32_t i, Sink& sink) {
    const std::uint8_t* th = p.data + p.l4_off;
    const std::uint32_t hl = (th[12] >> 4) * 4u;
    if (hl < 20) return false;
    const std::uint32_t hdrs = (p.l4_off - p.l3_off) + hl;
    SegmentInfo s;
    s.ts_ns = p.ts_ns;
    s.flags = th[13];
    s.seq = rd32(th + 4);
    s.ack = rd32(th + 8);
    s.window = rd16(th + 14);
    s.ttl = p.ttl;
    s.payload_len = p.ip_len > hdrs ? p.ip_len - hdrs : 0;
    if (p.ip_version == 4 && std::uint32_t{p.l3_off} + 6 <= p.caplen) s.ip_id = rd16(p.data + p.l3_off + 4);
    const std::uint32_t opt_end = std::min<std::uint32_t>(p.l4_off + hl, p.caplen);
    s.options = th + 20;
    s.options_len = static_cast<std::uint16_t>(opt_end > p.l4_off + 20u ? opt_end - (p.l4_off + 20u) : 0);
    if (p.payload_off != kNoOffset && p.payload_len) {
      s.payload = p.data + p.payload_off;
      s.payload_caplen = p.payload_len;
    }

    const bool from_a = pre.from_a;
    const Key& k = pre.k;
    const std::uint64_t h = pre.h;
    Entry* e = table_.find(k, h);
    if (!e) {
      const bool syn = (s.flags & (kSyn | kAck)) == kSyn;
      // Without tcp_midstream a flow starts at a client SYN only. With it, a
      // data segment also opens one; pure ACKs, FINs and RSTs never do (they
      // are mostly the tail of a connection already closed, e.g. a FIN after
      // the RST).
      if (!syn && (!midstream_ || (s.flags & kRst) || s.payload_len == 0)) {
        c_.not_tracked->add();
        return true;
      }
      e = open(p, k, h, from_a, i, sink);
      if (!e) return true;
      if (!syn) {
        e->midstream = true;
        e->ctx.record.midstream = true;
        c_.midstream->add();
      }
    }
    const int dir = from_a == e->client_is_a ? 0 : 1;
    p.flow = &e->ctx;
    p.flow_dir = static_cast<std::uint8_t>(dir);
    FlowRecord& r = e->ctx.record;
    if (p.ts_ns > r.last_ns) r.last_ns = p.ts_ns;

    // Per-packet accounting (Tstat's tcp_flow_stat core counters).
    TcpDirStats& d = r.tcp[dir];
    const std::uint8_t f = s.flags;
    ++d.pkts_all;
    if (d.pkts_all == 1) {
      d.ttl_min = d.ttl_max = p.ttl;
    } else {
      d.ttl_min = std::min(d.ttl_min, p.ttl);
      d.ttl_max = std::max(d.ttl_max, p.ttl);
    }
    if (f & kRst) ++d.rst_cnt;
    if (f & kSyn) ++d.syn_cnt;
    if (f & kFin) ++d.fin_cnt;
    if (f & kAck) {
      ++d.ack_cnt;
      if (s.payload_len == 0 && !(f & (kSyn | kFin | kRst))) ++d.ack_cnt_p;
      // Tstat's first ACK time ignores RST segments (an RST|ACK refusal
      // leaves s_first_ack at 0 in its logs) as well as SYNs.
      if (!(f & (kSyn | kRst)) && d.first_ack_ns == 0) d.first_ack_ns = p.ts_ns;
    }
    if (s.payload_len > 0) {
      ++d.pkts_data;
      d.bytes_all += s.payload_len;
      if (d.first_payload_ns == 0) d.first_payload_ns = p.ts_ns;
      d.last_payload_ns = p.ts_ns;
    }
    if (!e->tcp) e->tcp = EnginePool::take();
    e->tcp->on_segment(dir, s, r.tcp);

    // Singleton candidates: nothing but client SYNs so far.
    const bool still_syn_only = e->list == kTcpSynOnly && dir == 0 && (f & kSyn);
    touch(e, still_syn_only ? kTcpSynOnly : kTcpOther);

    if (f & kSyn) e->syn_seen |= static_cast<std::uint8_t>(1u << dir);
    if (f & kFin) {
      e->fin_seen |= static_cast<std::uint8_t>(1u << dir);
      e->fin_seq[dir] = s.seq + s.payload_len + ((f & kSyn) ? 1u : 0u);
    }
    const int other = 1 - dir;
    if ((f & kAck) && (e->fin_seen >> other & 1) &&
        static_cast<std::int32_t>(s.ack - (e->fin_seq[other] + 1)) >= 0)
      e->fin_acked |= static_cast<std::uint8_t>(1u << other);

    if (f & kRst) {
      close(e, FlowEnd::rst, e->syn_seen == 3, i + 1, sink);
    } else if (e->fin_acked == 3) {
      close(e, FlowEnd::fin, !e->midstream, i + 1, sink);
    } else if (dir == 0 && !(f & kSyn) && s.payload_len > 0 && !(e->syn_seen & 2) && !e->midstream) {
      close(e, FlowEnd::half_duplex, false, i + 1, sink);
    }
    return true;
  }

  void on_udp(Packet& p, const Pre& pre, std::uint32_t i, Sink& sink) {
    const std::uint16_t ulen = rd16(p.data + p.l4_off + 4);
    const bool from_a = pre.from_a;
    const Key& k = pre.k;
    const std::uint64_t h = pre.h;
    Entry* e = table_.find(k, h);
    if (!e) {
      e = open(p, k, h, from_a, i, sink);
      if (!e) return;
    } else {
      touch(e, kUdpOther);
    }
    const int dir = from_a == e->client_is_a ? 0 : 1;
    p.flow = &e->ctx;
    p.flow_dir = static_cast<std::uint8_t>(dir);
    FlowRecord& r = e->ctx.record;
    if (p.ts_ns > r.last_ns) r.last_ns = p.ts_ns;
    UdpDirStats& d = r.udp[dir];
    if (d.pkts_all++ == 0) d.first_ns = p.ts_ns;
    d.last_ns = p.ts_ns;
    d.bytes_all += ulen >= 8 ? ulen - 8u : 0u;
  }

  // parameters
  std::uint64_t tcp_idle_ = 0, udp_idle_ = 0, tcp_single_ = 0, udp_single_ = 0, interim_ = 0,
                gc_interval_ = 1;
  std::size_t max_flows_ = 1000000;
  Eviction eviction_ = Eviction::half_open_first;
  bool log_external_ = false, gc_on_new_flow_ = false, midstream_ = false;
  Context* ctx_ = nullptr;
  bool want_records_ = true;
  NetList nets_;
  // state
  Table table_;
  std::vector<Pre> pre_;  // per packet of the batch being received
  std::array<List, kLists> lists_{};
  std::uint64_t next_id_ = 0, now_ = 0, next_gc_ = 0, id_stride_ = 1, id_offset_ = 0;
  std::vector<FlowEvent> pending_events_;
  std::vector<std::shared_ptr<FlowContext>> pending_retired_;
  std::shared_ptr<FlowBatch> records_;
  struct {
    Counter *packets, *tcp, *udp, *other, *not_ip, *frag, *malformed, *not_tracked, *midstream, *opened,
        *closed, *complete, *nocomplete, *udp_flows, *evicted, *refused, *external, *active;
  } c_{};
};

}  // namespace
}  // namespace netloom::flow

NETLOOM_PLUGIN(netloom::flow::FlowTracker)
