#include "histo_output.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netloom/error.hpp>
#include <system_error>

namespace netloom::histo {
namespace fs = std::filesystem;

void write_text_file(const fs::path& path, std::string_view text) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) throw InputError("cannot create '" + path.string() + "': " + std::strerror(errno));
  const bool wrote = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int werr = errno;
  if (std::fclose(f) != 0 || !wrote)
    throw InputError("cannot write '" + path.string() + "': " + std::strerror(wrote ? errno : werr));
}

namespace {

bool make_dir(const fs::path& dir, WriteErrors& e) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) e.note("cannot create directory '" + dir.string() + "': " + ec.message());
  return !ec;
}

void write_one(const fs::path& p, std::string_view text, WriteErrors& e) {
  try {
    write_text_file(p, text);
  } catch (const InputError& x) {
    e.note(x.what());
  }
}

}  // namespace

WriteErrors write_window(const fs::path& dir, const std::vector<std::unique_ptr<Histogram>>& hs,
                         const AddressHits* adx) {
  WriteErrors e;
  if (!make_dir(dir, e)) return e;
  for (const auto& h : hs)
    if (h) write_one(dir / h->name(), h->text(), e);
  if (adx) write_one(dir / "addresses", adx->text(), e);
  return e;
}

WriteErrors write_window(const fs::path& dir, const HistogramWindow& w, const std::string* adx_text) {
  WriteErrors e;
  if (!make_dir(dir, e)) return e;
  for (const HistogramData& h : w.histograms) write_one(dir / h.name, text(h), e);
  if (adx_text) write_one(dir / "addresses", *adx_text, e);
  return e;
}

WriteErrors write_global(const fs::path& dir, const std::vector<std::unique_ptr<Histogram>>& hs) {
  WriteErrors e;
  if (!make_dir(dir, e)) return e;
  for (const auto& h : hs)
    if (h && !h->pseudo()) write_one(dir / h->name(), h->global_text(), e);
  return e;
}

}  // namespace netloom::histo
