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

}  // namespace netloom::pcapio::detail
