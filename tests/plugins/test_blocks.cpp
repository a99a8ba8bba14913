// Blocks used by the runtime tests: a synthetic source, a recording sink,
// a writer (mutating input) and a timer probe. Loaded as a plugin, exactly
// like the stock blocks.
#include <fstream>
#include <mutex>
#include <netloom/netloom.hpp>
#include <sstream>

namespace {
using namespace netloom;

// Emits `batches` batches of `per_batch` packets; packet i has ts = start + i*step.
class TestSource final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "TestSource";
    i.summary = "synthetic packets with a fixed clock";
    i.outputs = {out<PacketBatch>("out")};
    i.params = {param<int>("batches", 10, "number of batches").range(0, 1e9),
                param<int>("per_batch", 4, "packets per batch").range(0, 100000),
                duration("start", "1000s", "time of the first packet"),
                duration("step", "1ms", "time between packets")};
    i.counters = {{"packets", "packets emitted"}};
    return i;
  }
  void configure(const Params& p, Context& ctx) override {
    batches_ = p.get_int("batches");
    per_ = p.get_int("per_batch");
    t_ = p.get_duration_ns("start");
    step_ = p.get_duration_ns("step");
    if (per_ == 0 && batches_ > 0) throw ConfigError("per_batch must be positive when batches > 0");
    ctx_ = &ctx;
    packets_ = &ctx.counter("packets");
  }
  SourceStatus produce(Emit& emit) override {
    if (done_ >= batches_) return SourceStatus::done;
    auto b = ctx_->new_packet_batch();
    b->buffer.reserve(per_ * 8);
    for (std::int64_t k = 0; k < per_; ++k) {
      std::uint64_t seq = done_ * per_ + k;
      auto& p = b->append(reinterpret_cast<const std::uint8_t*>(&seq), sizeof(seq));
      p.ts_ns = t_;
      p.wirelen = 8;
      t_ += step_;
    }
    b->sequence = done_;
    b->clock_ns = b->packets.empty() ? t_ : b->packets.back().ts_ns;
    packets_->add(per_);
    ++done_;
    emit(0, b);
    return SourceStatus::more;
  }

 private:
  std::int64_t batches_ = 0, per_ = 0, done_ = 0;
  std::uint64_t t_ = 0, step_ = 0;
  Context* ctx_ = nullptr;
  Counter* packets_ = nullptr;
};

// TestSource whose batches go through a parallel prepare stage that marks
// every packet (vlan = 1 + seq % 1000) after a pseudo-random short delay, so
// prepare calls finish out of order and the runtime must restore the order.
class TestPreparingSource final : public Block {
 public:
  static BlockInfo info() {
    auto i = TestSource::info();
    i.type = "TestPreparingSource";
    i.parallel_prepare = true;
    return i;
  }
  void configure(const Params& p, Context& ctx) override { src_.configure(p, ctx); }
  SourceStatus produce(Emit& emit) override { return src_.produce(emit); }
  void prepare(PacketBatch& b) override {
    volatile std::uint64_t spin = (b.sequence * 7919) % 20000;
    while (spin > 0) spin = spin - 1;
    for (auto& p : b.packets) {
      std::uint64_t seq;
      std::memcpy(&seq, p.data, sizeof(seq));
      p.vlan = static_cast<std::uint16_t>(1 + seq % 1000);
    }
  }

 private:
  TestSource src_;
};

// Records what it sees and writes it to `output` at flush: one line per
// packet ("P <seq> <ts>"), per timer ("T <id> <time>"), and "F" at flush.
class TestSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "TestSink";
    i.summary = "records packets, timers and flush for tests";
    i.inputs = {in<PacketBatch>("in")};
    i.outputs = {out<PacketBatch>("out").optional()};
    i.params = {param<std::string>("output", "", "record file"),
                duration("timer", "0s", "timer period (0: none)"),
                param<int>("tag", 0, "value written into the packets' vlan field when writes=true"),
                param<bool>("fail", false, "throw on every batch")};
    i.counters = {{"batches", "batches received"}};
    return i;
  }
  void configure(const Params& p, Context& ctx) override {
    out_ = p.get_string("output");
    tag_ = static_cast<std::uint16_t>(p.get_int("tag"));
    fail_ = p.get_bool("fail");
    if (auto t = p.get_duration_ns("timer"); t > 0) ctx.add_timer(7, t);
    batches_ = &ctx.counter("batches");
  }
  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    if (fail_) throw InputError("asked to fail");
    batches_->add();
    auto& b = msg->as<PacketBatch>();
    for (auto& p : b.packets) {
      std::uint64_t seq;
      std::memcpy(&seq, p.data, sizeof(seq));
      log_ << "P " << seq << " " << p.ts_ns << " " << p.vlan << "\n";
      if (tag_) p.vlan = tag_;
    }
    emit(0, msg);
  }
  void on_timer(unsigned id, std::uint64_t now, Emit&) override { log_ << "T " << id << " " << now << "\n"; }
  void flush(Emit&) override {
    log_ << "F\n";
    if (!out_.empty()) std::ofstream(out_) << log_.str();
  }

 private:
  std::string out_;
  std::ostringstream log_;
  std::uint16_t tag_ = 0;
  bool fail_ = false;
  Counter* batches_ = nullptr;
};

// Same as TestSink but declares that it writes into its input.
class TestWriter final : public Block {
 public:
  static BlockInfo info() {
    auto i = TestSink::info();
    i.type = "TestWriter";
    i.summary = "writes a tag into the packets it receives";
    i.inputs = {in<PacketBatch>("in").writes()};
    return i;
  }
  void configure(const Params& p, Context& ctx) override { sink_.configure(p, ctx); }
  void receive(unsigned port, const MessagePtr& msg, Emit& emit) override { sink_.receive(port, msg, emit); }
  void flush(Emit& e) override { sink_.flush(e); }

 private:
  TestSink sink_;
};

// Forwards packet batches unchanged: a serial block between others.
class TestPass final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "TestPass";
    i.summary = "forwards the packet batches it receives";
    i.inputs = {in<PacketBatch>("in")};
    i.outputs = {out<PacketBatch>("out")};
    return i;
  }
  void receive(unsigned, const MessagePtr& msg, Emit& emit) override { emit(0, msg); }
};

// Breaks the replicable contract on purpose: replica 1 never forwards.
class TestShardDropper final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i = TestPass::info();
    i.type = "TestShardDropper";
    i.summary = "replica 1 drops every batch (a broken replicable block)";
    i.threading = Threading::replicable;
    return i;
  }
  void configure(const Params&, Context& ctx) override { drop_ = ctx.replica_index() == 1; }
  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    if (!drop_) emit(0, msg);
  }

 private:
  bool drop_ = false;
};

// Consumes flow batches: only here to test port type checks.
class TestFlowSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "TestFlowSink";
    i.summary = "accepts flow records";
    i.inputs = {in<FlowBatch>("in")};
    i.threading = Threading::stateless;
    return i;
  }
};

}  // namespace

NETLOOM_PLUGIN(TestSource, TestSink, TestWriter, TestFlowSink, TestPreparingSource, TestPass, TestShardDropper)
