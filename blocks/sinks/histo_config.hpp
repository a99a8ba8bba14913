// Which histograms are on: Tstat's -H file (spec §8).
//
//   # comment (from '#' to the end of the line)
//   include NAME            one histogram by its full name (ip_len_in)
//   include ALL             every histogram, and the ADX address file
//   include ADX             the ADX address file (hits per external subnet)
//   include_matching SUB    every histogram whose name contains SUB
//   adx_mask LEN|a.b.c.d    ADX subnet mask: prefix length 0..32 or dotted (default /24)
//
// Errors are ConfigError("FILE:LINE: what is wrong"): an unknown keyword or
// histogram name, a pattern matching nothing, a bad mask, missing or extra
// words. Tstat's adx2_mask / adx2_sample / adx3_sample (per-host rate files)
// are refused as not supported rather than silently ignored.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace netloom::histo {

struct Selection {
  std::vector<bool> enabled;             // by definitions() index
  bool adx = false;                      // write the `addresses` file
  std::uint32_t adx_mask = 0xFFFFFF00u;  // host order
  std::size_t count() const;             // histograms enabled
};

// Every histogram and ADX (an empty `config` parameter).
Selection select_all();
// Parses the text of a -H file; `file` names it in errors.
Selection parse_selection(const std::string& text, const std::string& file);
// Reads and parses a file; ConfigError("FILE: cannot open: reason").
Selection load_selection(const std::string& path);

}  // namespace netloom::histo
