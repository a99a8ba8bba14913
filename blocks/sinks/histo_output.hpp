// Histogram files on disk: one directory per window (000, 001, ..., LAST),
// one text file per enabled histogram named after it, plus `addresses`
// with ADX; GLOBAL/ for the whole run. Histogram files are never compressed.
#pragma once
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "histo_adx.hpp"
#include "histo_engine.hpp"

namespace netloom::histo {

// Failures while writing a directory: how many files failed, and the first message.
struct WriteErrors {
  std::size_t count = 0;
  std::string first;
  void note(const std::string& what) {
    if (count++ == 0) first = what;
  }
};

// Creates or truncates `path` with `text`; throws InputError naming the file.
void write_text_file(const std::filesystem::path& path, std::string_view text);

// A window: every non-null histogram's text() and, if given, the address file.
WriteErrors write_window(const std::filesystem::path& dir, const std::vector<std::unique_ptr<Histogram>>& hs,
                         const AddressHits* adx);
// The same from a window message (what HistogramSink's background writer
// gets): every histogram it carries, and the address file's text if given.
WriteErrors write_window(const std::filesystem::path& dir, const HistogramWindow& w,
                         const std::string* adx_text);
// GLOBAL: every non-null, non-pseudo histogram's global_text().
WriteErrors write_global(const std::filesystem::path& dir, const std::vector<std::unique_ptr<Histogram>>& hs);

}  // namespace netloom::histo
