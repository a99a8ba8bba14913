// A capture file as decoded packet batches, the way PcapSource delivers them
// (batches of up to 256 packets, decoded once), for tests that drive blocks
// without the runtime. A damaged tail ends the capture quietly: what was valid
// has been delivered.
#pragma once
#include <algorithm>
#include <filesystem>
#include <functional>
#include <memory>

#include "decode/decode.hpp"
#include "pcapio.hpp"

namespace netloom::test {

inline void for_each_batch(const std::filesystem::path& capture,
                           const std::function<void(std::shared_ptr<PacketBatch>)>& deliver) {
  auto reader = pcapio::open_capture(capture.string());
  pcapio::RawRecord rec;
  auto b = std::make_shared<PacketBatch>();
  auto flush = [&] {
    if (!b->packets.empty()) deliver(b);
    b = std::make_shared<PacketBatch>();
  };
  try {
    while (reader->next(rec) == pcapio::ReadResult::record) {
      if (b->room() < rec.caplen) {
        flush();
        b->buffer.reserve(std::max<std::size_t>(1 << 20, rec.caplen));
      }
      decode::decode_packet(pcapio::append_record(*b, rec));
      if (b->packets.size() == 256) flush();
    }
  } catch (const InputError&) {
  }
  flush();
}

}  // namespace netloom::test
