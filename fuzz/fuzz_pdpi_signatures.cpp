// Target: the PDPI signature-file parser (blocks/classifiers/pdpi_signatures
// parse()). Input: a dictionary's text. A parse error must be one
// ConfigError "fuzz.sig:LINE: ..." with a line inside the file; a dictionary
// that parses holds what its lines said. Some small dictionaries that parse
// are also compiled with Hyperscan and scanned over the input itself, which
// runs the post-match constraints (lengths, ports, length fields) on odd
// values.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "fuzz_check.hpp"
#include "pdpi_signatures.hpp"

using namespace netloom;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::size_t lines = 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  pdpi::Dictionary d;
  try {
    d = pdpi::parse(text, "fuzz.sig");
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    FUZZ_CHECK(m.rfind("fuzz.sig:", 0) == 0);
    const unsigned long line = std::strtoul(m.c_str() + 9, nullptr, 10);
    FUZZ_CHECK(line >= 1 && line <= lines);
    return 0;
  }
  FUZZ_CHECK(!d.sigs.empty());
  std::set<std::string> names;
  std::size_t pattern_bytes = 0;
  for (const pdpi::Signature& s : d.sigs) {
    FUZZ_CHECK(!s.name.empty() && names.insert(s.name).second);
    FUZZ_CHECK(!s.pattern.empty());
    FUZZ_CHECK(s.line >= 2 && s.line <= lines);
    for (const pdpi::LenField& f : s.lenfields) FUZZ_CHECK(!f.deltas.empty());
    pattern_bytes += s.pattern.size();
  }
  // Hyperscan's compiler is not what is under test, costs milliseconds per
  // dictionary (the parser: microseconds) and seconds on large hostile
  // patterns: compile only small dictionaries, from a quarter of the inputs
  // (by size), so that most of the time goes to the parser.
  if (size % 4 != 0 || d.sigs.size() > 8 || pattern_bytes > 256) return 0;
  std::shared_ptr<const pdpi::Database> db;
  try {
    db = std::make_shared<const pdpi::Database>(std::move(d));
  } catch (const ConfigError& e) {
    FUZZ_CHECK(std::string(e.what()).rfind("fuzz.sig:", 0) == 0);
    return 0;
  }
  pdpi::Scanner scanner(db);
  for (std::uint8_t dir = 0; dir < 2; ++dir) {
    pdpi::PacketView v{data, static_cast<std::uint32_t>(size), dir == 1, dir, 1234, 80};
    const int hit = scanner.match(v);
    FUZZ_CHECK(hit >= -1 && hit < static_cast<int>(db->dictionary().sigs.size()));
    if (hit >= 0) FUZZ_CHECK(db->constraints_hold(static_cast<std::size_t>(hit), v));
  }
  return 0;
}
