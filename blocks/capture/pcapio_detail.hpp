// Internal glue between the libpcap and libwiretap halves of netloom_pcapio.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "pcapio.hpp"

namespace netloom::pcapio::detail {

// pcapng (plain or gzip-compressed) through libwiretap. `name` prefixes every
// error message; `size` is the on-disk size for progress.
std::unique_ptr<PacketReader> open_wiretap(const std::string& path, const std::string& name,
                                           std::uint64_t size, const ReaderOptions& opts);

// "NAME: record N: " prefix shared by all readers.
std::string record_prefix(const std::string& name, std::uint64_t record);

// The offline BPF check both file readers apply to each record: true if the
// record passes; counts the ones dropped; a filter that cannot apply to the
// record's link type ends the file with one error naming it.
inline bool passes_filter(BpfFilter& filter, const RawRecord& rec, const std::string& name, bool& finished,
                          std::uint64_t& filtered) {
  bool pass;
  try {
    pass = filter.match(rec);
  } catch (const InputError& e) {
    finished = true;
    throw InputError(name + ": " + e.what());
  }
  if (!pass) ++filtered;
  return pass;
}

}  // namespace netloom::pcapio::detail
