// The Block contract: a self-description the runtime can print and check,
// and the few calls through which a block receives and emits messages.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netloom/flow.hpp"
#include "netloom/message.hpp"
#include "netloom/packet.hpp"
#include "netloom/params.hpp"

namespace netloom {

struct PortSpec {
  std::string name;
  std::string type;  // message type name; "*" accepts any type
  std::string doc;
  bool required = true;  // inputs only: validation fails if left unconnected
  bool mutates = false;  // inputs only: the block writes into the messages it
                         // receives, so a shared message is copied for it
  PortSpec& optional() {
    required = false;
    return *this;
  }
  PortSpec& writes() {
    mutates = true;
    return *this;
  }
};

template <class T>
PortSpec in(std::string name, std::string doc = {}) {
  PortSpec p;
  p.name = std::move(name);
  p.type = std::string(message_type_name<T>());
  p.doc = std::move(doc);
  return p;
}
template <class T>
PortSpec out(std::string name, std::string doc = {}) {
  PortSpec p = in<T>(std::move(name), std::move(doc));
  p.required = false;  // an output may be left unconnected (what it emits is counted)
  return p;
}

struct CounterSpec {
  std::string name;
  std::string doc;
};

// How the runtime may schedule a block's instances.
enum class Threading {
  serial,      // one instance, one message at a time
  replicable,  // state is per flow: N instances fed by symmetric flow hash;
               // forwards each PacketBatch it receives once, packets unchanged
               // in number and order, and skips packets flagged kOtherShard
  stateless,   // any message to any thread, concurrently
};

struct BlockInfo {
  std::string type;     // unique type name used in compositions
  std::string summary;  // one line
  std::vector<PortSpec> inputs;
  std::vector<PortSpec> outputs;
  std::vector<ParamSpec> params;
  std::vector<CounterSpec> counters;
  Threading threading = Threading::serial;
  std::string description;  // longer text for inspect/docs (optional)
  // Sources only: the runtime calls Block::prepare() on each emitted batch on
  // worker threads, several batches at once, and delivers them in emission
  // order. Lets a source keep only the inherently serial work (reading) on
  // its own thread and push per-packet work (decoding) out to other cores.
  bool parallel_prepare = false;
};

// A monotonically increasing counter. Written by the block's own thread,
// read by stats readers on other threads: relaxed atomics, no lock prefix.
class Counter {
 public:
  void add(std::uint64_t n = 1) noexcept {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // For stateless blocks whose instances run concurrently.
  void add_shared(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
  void set(std::uint64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
  std::uint64_t value() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> v_{0};
};

// Sends a message out of an output port (index into BlockInfo::outputs).
class Emit {
 public:
  virtual ~Emit() = default;
  virtual void operator()(unsigned out_port, MessagePtr msg) = 0;
};

enum class LogLevel { debug, info, warning, error };

// What the runtime offers a block. Implemented by core; blocks see only this.
class Context {
 public:
  virtual ~Context() = default;
  virtual const std::string& block_id() const = 0;
  // A counter declared in BlockInfo::counters (throws ConfigError otherwise).
  virtual Counter& counter(std::string_view name) = 0;
  // A pooled, empty packet batch. Sources call this for every batch; it
  // blocks while too many batches are in flight (back-pressure).
  virtual std::shared_ptr<PacketBatch> new_packet_batch() = 0;
  // Packets per batch the composition asked for.
  virtual std::size_t batch_size() const = 0;
  // Register a periodic packet-time timer; Block::on_timer(id, ...) fires
  // before the first batch whose clock has reached each multiple of period.
  virtual void add_timer(unsigned id, std::uint64_t period_ns) = 0;
  virtual void log(LogLevel level, std::string_view text) = 0;
  // True once the runtime has been asked to stop (signal, end of run).
  virtual bool stopping() const = 0;
  // A FlowContext::state slot of this block's own (0..kFlowSlots-1), unique
  // among the blocks of the running graph. Throws ConfigError when all are taken.
  virtual unsigned flow_slot() = 0;
  // Whether output `port` feeds anything in the running graph now. A block
  // may skip building a message nobody receives (records, events); ask per
  // message, since a reload can connect or disconnect a port.
  virtual bool output_connected(unsigned port) const {
    (void)port;
    return true;
  }
  // Replicated blocks (composition `replicas`): which of how many instances
  // this is. Each sees only its share of the flows (packets of the others
  // carry kOtherShard); ids a block hands out should stay unique across them.
  virtual unsigned replica_index() const { return 0; }
  virtual unsigned replica_count() const { return 1; }
};

enum class SourceStatus {
  more,  // called again right away
  idle,  // nothing available now (live): called again shortly
  done,  // end of input
};

class Block {
 public:
  virtual ~Block() = default;

  // Called once with checked parameters, before anything runs. Throw
  // ConfigError with a plain message for values that are wrong together.
  virtual void configure(const Params& params, Context& ctx) {
    (void)params;
    (void)ctx;
  }
  // Messages arriving on input port `port`. Forward a message unchanged with
  // emit(out, msg); write into it only if the input port is declared writes().
  virtual void receive(unsigned port, const MessagePtr& msg, Emit& emit) {
    (void)port;
    (void)msg;
    (void)emit;
  }
  // Sources (blocks without inputs) produce batches here, on their own thread.
  virtual SourceStatus produce(Emit& emit) {
    (void)emit;
    return SourceStatus::done;
  }
  // Sources with BlockInfo::parallel_prepare: per-batch work run concurrently
  // for different batches, after produce() emitted them and before any
  // consumer sees them. May only touch the batch and counters (add_shared).
  virtual void prepare(PacketBatch& batch) { (void)batch; }
  // Packet-time timer registered with Context::add_timer.
  virtual void on_timer(unsigned id, std::uint64_t now_ns, Emit& emit) {
    (void)id;
    (void)now_ns;
    (void)emit;
  }
  // End of stream: emit everything still held (open flows, partial windows).
  // Called once, after every upstream block has flushed.
  virtual void flush(Emit& emit) { (void)emit; }
  // Change a parameter declared `live` on a running graph.
  virtual void set_param(std::string_view name, const ParamValue& value) {
    (void)value;
    throw ConfigError("parameter '" + std::string(name) + "' cannot change live");
  }
  // Final statistics line for the run summary (optional).
  virtual std::string summary() const { return {}; }
};

}  // namespace netloom
