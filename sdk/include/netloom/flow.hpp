// Flow records: what a flow tracker emits when a connection closes (or
// periodically for long flows). The flow tracker issue fills in Tstat's
// per-direction metrics; the message type exists now so ports can name it.
#pragma once
#include <cstdint>
#include <vector>

#include "netloom/message.hpp"
#include "netloom/packet.hpp"

namespace netloom {

struct FlowKey {
  IpAddr client{}, server{};
  std::uint16_t client_port = 0, server_port = 0;
  std::uint8_t ip_version = 0, l4_proto = 0;
};

struct FlowRecord {
  FlowKey key;
  std::uint64_t id = 0;
  std::uint64_t first_ns = 0, last_ns = 0;
  std::uint64_t packets[2] = {0, 0};  // [0] client->server, [1] server->client
  std::uint64_t bytes[2] = {0, 0};
};

class FlowBatch final : public Message {
 public:
  static constexpr std::string_view kType = "FlowBatch";
  std::vector<FlowRecord> records;

  std::string_view type_name() const noexcept override { return kType; }
  std::size_t items() const noexcept override { return records.size(); }
  MessagePtr clone() const override { return std::make_shared<FlowBatch>(*this); }
};

}  // namespace netloom
