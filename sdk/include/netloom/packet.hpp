// Packets and packet batches. A packet is decoded once, by the capture block;
// every later block reads the metadata below and never re-parses headers.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "netloom/flow.hpp"
#include "netloom/ip.hpp"
#include "netloom/message.hpp"

namespace netloom {

// Decode outcome bits (Packet::flags).
enum PacketFlag : std::uint16_t {
  kMalformed = 1u << 0,      // a header lies about its length or is cut short
  kTruncated = 1u << 1,      // caplen < wirelen (snaplen) — headers still valid
  kFragment = 1u << 2,       // IP fragment other than the first: no L4 header
  kFirstFragment = 1u << 3,  // first fragment of a fragmented datagram
  kTunneled = 1u << 4,       // L3/L4 below are the inner packet of a tunnel
  kVlan = 1u << 5,
  kMpls = 1u << 6,
  kPppoe = 1u << 7,
  kL4Truncated = 1u << 8,   // L4 header not completely captured
  kNotIp = 1u << 9,         // decoded link layer carries something else (ARP...)
  kUnknownLink = 1u << 10,  // link type the decoder does not know
  // In a replicated (flow-sharded) chain: the packet belongs to another
  // replica. It is there for its timestamp only (timeouts are checked at the
  // same stream positions in every replica); replicable blocks skip it.
  kOtherShard = 1u << 11,
};

enum class TunnelType : std::uint8_t { none = 0, gre, vxlan, gtpu, ipip, teredo, capwap };

constexpr std::uint16_t kNoOffset = 0xFFFF;

struct Packet {
  const std::uint8_t* data = nullptr;  // frame start, inside the batch buffer
  std::uint64_t ts_ns = 0;             // packet time, ns since the epoch
  std::uint32_t caplen = 0;            // bytes captured (data has this many)
  std::uint32_t wirelen = 0;           // bytes on the wire
  std::uint32_t payload_len = 0;       // L4 payload bytes captured
  std::uint32_t ip_len = 0;            // IP length claimed by the (inner) header
  std::uint32_t flow_hash = 0;         // symmetric 5-tuple hash, 0 if not IP
  std::uint32_t tunnel_id = 0;         // GRE key, VXLAN VNI, GTP TEID
  std::uint16_t linktype = 0;          // DLT_* of the frame
  std::uint16_t iface = 0;             // capture interface / input file index
  std::uint16_t l3_off = kNoOffset;    // (inner) IP header offset from data
  std::uint16_t l4_off = kNoOffset;    // TCP/UDP/ICMP header offset
  std::uint16_t payload_off = kNoOffset;
  std::uint16_t outer_l3_off = kNoOffset;  // outermost IP header (tunnels)
  std::uint16_t sport = 0, dport = 0;      // host order; ICMP: type, code
  std::uint16_t vlan = 0;                  // outer VLAN id if any
  std::uint16_t flags = 0;                 // PacketFlag bits
  std::uint8_t ip_version = 0;             // 0 (not IP), 4 or 6
  std::uint8_t l4_proto = 0;               // IPPROTO_* of the (inner) packet
  std::uint8_t tcp_flags = 0;
  TunnelType tunnel = TunnelType::none;
  std::uint8_t ttl = 0;  // TTL / hop limit
  IpAddr src{}, dst{};
  FlowContext* flow = nullptr;  // set by a flow tracker: the packet's connection
  std::uint8_t flow_dir = 0;    // set by a flow tracker: 0 client->server, 1 server->client

  bool has(PacketFlag f) const noexcept { return (flags & f) != 0; }
  bool is_ip() const noexcept { return ip_version != 0; }
  const std::uint8_t* payload() const noexcept { return data + payload_off; }
};

// Growable byte storage that does not zero bytes it is about to overwrite
// (std::vector::resize would: a second pass over every captured byte).
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer& o) { *this = o; }
  ByteBuffer& operator=(const ByteBuffer& o) {
    if (this != &o) {
      size_ = 0;
      reserve(o.size_);
      if (o.size_) std::memcpy(data_.get(), o.data_.get(), o.size_);
      size_ = o.size_;
    }
    return *this;
  }
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  // Moves the bytes (and invalidates pointers into them) only when n > capacity.
  void reserve(std::size_t n) {
    if (n <= cap_) return;
    auto fresh = std::make_unique_for_overwrite<std::uint8_t[]>(n);
    if (size_) std::memcpy(fresh.get(), data_.get(), size_);
    data_ = std::move(fresh);
    cap_ = n;
  }
  // n more bytes at the end, uninitialized; grows (moving the bytes) if needed.
  std::uint8_t* extend(std::size_t n) {
    if (size_ + n > cap_) reserve(std::max(size_ + n, cap_ * 2));
    std::uint8_t* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  void clear() noexcept { size_ = 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return cap_; }
  bool empty() const noexcept { return size_ == 0; }
  std::uint8_t* data() noexcept { return data_.get(); }
  const std::uint8_t* data() const noexcept { return data_.get(); }

 private:
  std::unique_ptr<std::uint8_t[]> data_;
  std::size_t size_ = 0, cap_ = 0;
};

// The packets of a batch. Like std::vector<Packet>, except that storage is
// constructed once per pooled batch and append_raw() reuses an element
// without re-initialising it: the capture path fills every field anyway.
class PacketVector {
 public:
  PacketVector() = default;
  PacketVector(const PacketVector& o) { *this = o; }
  PacketVector& operator=(const PacketVector& o) {
    if (this != &o) {
      size_ = 0;
      reserve(o.size_);
      std::copy(o.begin(), o.end(), data_.get());
      size_ = o.size_;
    }
    return *this;
  }
  PacketVector(PacketVector&&) noexcept = default;
  PacketVector& operator=(PacketVector&&) noexcept = default;

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::size_t capacity() const noexcept { return cap_; }
  Packet* begin() noexcept { return data_.get(); }
  Packet* end() noexcept { return data_.get() + size_; }
  const Packet* begin() const noexcept { return data_.get(); }
  const Packet* end() const noexcept { return data_.get() + size_; }
  Packet& operator[](std::size_t i) noexcept { return data_[i]; }
  const Packet& operator[](std::size_t i) const noexcept { return data_[i]; }
  Packet& front() noexcept { return data_[0]; }
  Packet& back() noexcept { return data_[size_ - 1]; }
  const Packet& front() const noexcept { return data_[0]; }
  const Packet& back() const noexcept { return data_[size_ - 1]; }
  void clear() noexcept { size_ = 0; }
  void reserve(std::size_t n) {
    if (n <= cap_) return;
    auto fresh = std::make_unique<Packet[]>(n);
    std::copy(begin(), end(), fresh.get());
    data_ = std::move(fresh);
    cap_ = n;
  }
  // A new element with every field at its default.
  Packet& emplace_back() {
    Packet& p = append_raw();
    p = Packet{};
    return p;
  }
  void push_back(const Packet& p) { append_raw() = p; }
  // A new element holding whatever a previous use left: the caller sets
  // every field (the capture path: reader fields, then decode_packet()).
  Packet& append_raw() {
    if (size_ == cap_) reserve(cap_ ? cap_ * 2 : 64);
    return data_[size_++];
  }

 private:
  std::unique_ptr<Packet[]> data_;
  std::size_t size_ = 0, cap_ = 0;
};

// A batch owns the bytes of its packets in one buffer, so packets are copied
// once out of the capture library and never again.
class PacketBatch final : public Message {
 public:
  static constexpr std::string_view kType = "PacketBatch";

  PacketVector packets;
  ByteBuffer buffer;  // frame bytes; Packet::data points here
  // clock_ns (from Message): ts of the last packet; live sources advance it
  // with the wall clock on idle links and may emit empty batches to do so.
  std::uint64_t sequence = 0;  // source batch number, for ordering checks
  // Flow events in order with the packets (opened, closed, interim), set by a
  // flow tracker; contexts of flows closed here live as long as the batch.
  std::vector<FlowEvent> events;
  std::vector<std::shared_ptr<FlowContext>> retired;

  std::string_view type_name() const noexcept override { return kType; }
  std::size_t items() const noexcept override { return packets.size(); }
  MessagePtr clone() const override;

  void clear() noexcept {
    packets.clear();
    buffer.clear();
    events.clear();
    retired.clear();
    clock_ns = 0;
  }
  // Append a frame's bytes; returns the packet to fill in. The buffer is
  // reserved by the producer so data pointers stay valid.
  Packet& append(const std::uint8_t* bytes, std::uint32_t caplen) {
    Packet& p = append_raw(bytes, caplen);
    const std::uint8_t* data = p.data;
    p = Packet{};
    p.data = data;
    p.caplen = caplen;
    return p;
  }
  // As append(), but the other fields keep what a previous use of the pooled
  // batch left: for sources whose decoder sets every field (PcapSource).
  Packet& append_raw(const std::uint8_t* bytes, std::uint32_t caplen) {
    std::uint8_t* at = buffer.extend(caplen);
    if (caplen) std::memcpy(at, bytes, caplen);
    Packet& p = packets.append_raw();
    p.data = at;
    p.caplen = caplen;
    return p;
  }
  // Bytes left before the buffer would reallocate (which would move data).
  std::size_t room() const noexcept { return buffer.capacity() - buffer.size(); }
};

inline MessagePtr PacketBatch::clone() const {
  auto c = std::make_shared<PacketBatch>();
  c->buffer = buffer;
  c->packets = packets;
  c->clock_ns = clock_ns;
  c->sequence = sequence;
  c->events = events;    // the copy sees the same flows...
  c->retired = retired;  // ...and keeps their contexts alive as long as it lives
  const std::uint8_t* old_base = buffer.data();
  for (auto& p : c->packets) p.data = c->buffer.data() + (p.data - old_base);
  return c;
}

// Walks a batch in stream order: every flow event just before the packet it
// precedes (FlowEvent::at), then the events placed after the last packet.
// What a classifier needs: a flow's `closed` event comes after its packets.
template <class OnPacket, class OnEvent>
void for_each_in_stream_order(const PacketBatch& b, OnPacket&& on_packet, OnEvent&& on_event) {
  std::size_t ev = 0;
  for (std::size_t i = 0; i < b.packets.size(); ++i) {
    for (; ev < b.events.size() && b.events[ev].at <= i; ++ev) on_event(b.events[ev]);
    on_packet(b.packets[i]);
  }
  for (; ev < b.events.size(); ++ev) on_event(b.events[ev]);
}

}  // namespace netloom
