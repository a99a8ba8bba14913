// Tstat's output directory naming, shared by every sink that writes into a
// run directory (logs, histograms, pcap dumps), so that with the same `dir`,
// `layout` and first packet time they all land in the same place:
// layout "tstat" -> <dir>/<YYYY_MM_DD_HH_MM>.out/ (time of the packet that
// opened the directory, local time or UTC), layout "flat" -> <dir>/ itself.
#pragma once
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <string>

namespace netloom::sinks {

inline std::string run_dir_name(std::uint64_t ns, bool utc) {
  std::time_t t = static_cast<std::time_t>(ns / 1'000'000'000ull);
  std::tm tm{};
  if (utc)
    gmtime_r(&t, &tm);
  else
    localtime_r(&t, &tm);
  char b[64];
  std::size_t n = std::strftime(b, sizeof b, "%Y_%m_%d_%H_%M.out", &tm);
  return std::string(b, n);
}

inline std::filesystem::path run_dir(const std::string& base, bool flat, std::uint64_t ns, bool utc) {
  return flat ? std::filesystem::path(base) : std::filesystem::path(base) / run_dir_name(ns, utc);
}

}  // namespace netloom::sinks
