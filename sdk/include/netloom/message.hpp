// The unit that travels on a graph edge. Messages are batches (hundreds of
// packets or records) because a TBB message costs a few hundred ns.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace netloom {

class Message {
 public:
  virtual ~Message() = default;

  // Packet-time clock (ns since the epoch) when the message was produced. The
  // runtime stamps messages a block emits without one, so blocks that only
  // see flow records still get packet-time timers.
  std::uint64_t clock_ns = 0;

  // Stable type name used to type-check ports ("PacketBatch", "FlowBatch"...).
  virtual std::string_view type_name() const noexcept = 0;
  // Number of items (packets, records) for the per-port counters.
  virtual std::size_t items() const noexcept = 0;
  // Deep copy for a consumer that mutates a message other consumers also see.
  virtual std::shared_ptr<Message> clone() const = 0;

  template <class T>
  T& as() noexcept {  // ports are type-checked at validation, so no RTTI here
    return static_cast<T&>(*this);
  }
  template <class T>
  const T& as() const noexcept {
    return static_cast<const T&>(*this);
  }
};

using MessagePtr = std::shared_ptr<Message>;

// Every message type declares its port type name as a static member `kType`.
template <class T>
constexpr std::string_view message_type_name() {
  return T::kType;
}

}  // namespace netloom
